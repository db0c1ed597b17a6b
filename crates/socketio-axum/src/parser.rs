//! How packets are written on the wire: the default JSON parser, or the
//! msgpack parser of npm `socket.io-msgpack-parser`.

use engineio_tower::{Frame, Message, Outbound};
use socketio_protocol::socket::{DecodeError, Decoder, EncodedPacket, Packet};

/// The Socket.IO parser of a server: how every packet of every connection
/// is written on the wire. Clients must use the same one (Node's `parser`
/// option on both sides).
///
/// ```
/// # #[cfg(feature = "msgpack")] {
/// use socketio_axum::{Parser, SocketIoConfig};
///
/// // For clients created with `io(url, { parser: require("socket.io-msgpack-parser") })`.
/// let config = SocketIoConfig::builder().parser(Parser::Msgpack).build();
/// # let _ = config;
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

impl Parser {
    /// The Engine.IO queue item for a packet, encoded as JSON by this
    /// crate: its frames stay together.
    pub(crate) fn outbound(self, packet: EncodedPacket) -> Outbound {
        match self {
            Parser::Json if packet.attachments.is_empty() => {
                Outbound::Frame(Frame::Text(packet.text))
            }
            Parser::Json => Outbound::Frames(packet.into_frames().collect()),
            #[cfg(feature = "msgpack")]
            Parser::Msgpack => match socketio_protocol::msgpack::transcode(&packet) {
                Ok(bytes) => Outbound::Frame(Frame::Binary(bytes)),
                Err(e) => {
                    // Only what the JSON encoders never make gets here; the
                    // client refuses the JSON text it gets instead.
                    crate::trace::error!(error = %e, packet = %packet.text, "socket.io: a packet cannot be written in msgpack");
                    Parser::Json.outbound(packet)
                }
            },
        }
    }

    /// Decodes a message of the connection: `Ok(None)` while a JSON binary
    /// packet waits for attachments.
    pub(crate) fn decode(
        self,
        decoder: &mut Decoder,
        msg: Message,
    ) -> Result<Option<Packet>, DecodeError> {
        match (self, msg) {
            (Parser::Json, Message::Text(text)) => decoder.decode_text(text),
            (Parser::Json, Message::Binary(data)) => decoder.decode_binary(data),
            #[cfg(feature = "msgpack")]
            (Parser::Msgpack, Message::Binary(data)) => {
                socketio_protocol::msgpack::decode_packet(&data, decoder.limits()).map(Some)
            }
            #[cfg(feature = "msgpack")]
            (Parser::Msgpack, Message::Text(_)) => {
                Err(DecodeError::InvalidMsgpack("a text message"))
            }
        }
    }
}
