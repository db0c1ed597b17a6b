//! The wire parser of a connection: npm `socket.io-parser` (JSON) or
//! `socket.io-msgpack-parser`, for servers and clients alike.

use bytes::Bytes;

use super::{DecodeError, Decoder, EncodedPacket, Packet};
use crate::{engine::Frame, Str};

/// How packets are written on the wire (Node's `parser` option). Both
/// peers must use the same one.
///
/// ```
/// # #[cfg(feature = "msgpack")] {
/// use bytes::BytesMut;
/// use socketio_protocol::socket::{encode_event, Parser, PacketFrames};
///
/// let packet = encode_event(&mut BytesMut::new(), "/", "hi", None, &(1,)).unwrap();
/// let PacketFrames::One(frame) = Parser::Msgpack.frames(packet).unwrap() else { panic!() };
/// // One binary message: {"type":2,"data":["hi",1],"nsp":"/"}
/// # let _ = frame;
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Parser {
    /// npm `socket.io-parser`, Node's default: JSON text, each binary value
    /// a separate binary message after it.
    #[default]
    Json,
    /// npm `socket.io-msgpack-parser` 3.x (cargo feature `msgpack`): each
    /// packet one binary message of msgpack, binary values inline. Event
    /// data may nest at most 128 levels.
    #[cfg(feature = "msgpack")]
    Msgpack,
}

/// The Engine.IO messages of one packet, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketFrames {
    /// One message (a packet without binary attachments, or any msgpack packet).
    One(Frame),
    /// A JSON packet with binary attachments: its text, then each attachment.
    Several(Vec<Frame>),
}

impl Parser {
    /// The messages of a packet made by this crate's JSON encoders
    /// ([`encode_event`](super::encode_event) and the rest), in this parser.
    /// Fails only with the msgpack parser, for what those encoders never make
    /// (JSON nested more than 128 levels, a reserved event name).
    pub fn frames(self, packet: EncodedPacket) -> Result<PacketFrames, ParserError> {
        match self {
            Parser::Json if packet.attachments.is_empty() => {
                Ok(PacketFrames::One(Frame::Text(packet.text)))
            }
            Parser::Json => Ok(PacketFrames::Several(packet.into_frames().collect())),
            #[cfg(feature = "msgpack")]
            Parser::Msgpack => crate::msgpack::transcode(&packet)
                .map(|bytes| PacketFrames::One(Frame::Binary(bytes)))
                .map_err(|e| ParserError {
                    packet: packet.text,
                    source: e,
                }),
        }
    }

    /// Decodes a text message of the connection (without the Engine.IO
    /// `4`): `Ok(None)` when a JSON binary packet now waits for its
    /// attachments. The msgpack parser refuses text.
    pub fn decode_text(
        self,
        decoder: &mut Decoder,
        text: Str,
    ) -> Result<Option<Packet>, DecodeError> {
        match self {
            Parser::Json => decoder.decode_text(text),
            #[cfg(feature = "msgpack")]
            Parser::Msgpack => Err(DecodeError::InvalidMsgpack("a text message")),
        }
    }

    /// Decodes a binary message of the connection: a JSON packet's next
    /// attachment, or a whole msgpack packet (within `decoder`'s limits).
    pub fn decode_binary(
        self,
        decoder: &mut Decoder,
        data: Bytes,
    ) -> Result<Option<Packet>, DecodeError> {
        match self {
            Parser::Json => decoder.decode_binary(data),
            #[cfg(feature = "msgpack")]
            Parser::Msgpack => crate::msgpack::decode_packet(&data, decoder.limits()).map(Some),
        }
    }
}

/// A packet that the msgpack parser cannot write (see [`Parser::frames`]).
#[derive(Debug)]
pub struct ParserError {
    /// The packet's JSON text.
    pub packet: Str,
    #[cfg(feature = "msgpack")]
    source: crate::msgpack::ValueError,
}

impl std::fmt::Display for ParserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the packet cannot be written in msgpack")
    }
}

impl std::error::Error for ParserError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        #[cfg(feature = "msgpack")]
        return Some(&self.source);
        #[cfg(not(feature = "msgpack"))]
        None
    }
}
