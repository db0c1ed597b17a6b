//! The wire parser ([`Parser`]) applied to the Engine.IO side: queue items
//! for outgoing packets, and packets from incoming messages.

use crate::EmitError;
use engineio_tower::{Message, Outbound};
use socketio_protocol::socket::{
    DecodeError, Decoder, EncodedPacket, Packet, PacketFrames, Parser,
};

/// The queue item for a packet encoded as JSON by this crate, in `parser`:
/// its frames stay together. Fails only with the msgpack parser, for data
/// nested deeper than it allows or a reserved event name: nothing is queued.
pub(crate) fn outbound(parser: Parser, packet: EncodedPacket) -> Result<Outbound, EmitError> {
    match parser.frames(packet) {
        Ok(PacketFrames::One(frame)) => Ok(Outbound::Frame(frame)),
        Ok(PacketFrames::Several(frames)) => Ok(Outbound::Frames(frames)),
        Err(e) => {
            let why = match std::error::Error::source(&e) {
                Some(source) => format!("{e}: {source}"),
                None => e.to_string(),
            };
            crate::trace::warn!(error = %why, packet = %e.packet, "socket.io: a packet cannot be written in msgpack, not sent");
            Err(EmitError::Serialize(why))
        }
    }
}

/// `out`, or the same frames never to be compressed when `compress` is
/// false (Node's `compress(false)`).
#[inline]
pub(crate) fn compressed(out: Outbound, compress: bool) -> Outbound {
    if compress {
        return out;
    }
    uncompressed(out)
}

#[cold]
fn uncompressed(out: Outbound) -> Outbound {
    match out {
        Outbound::Frame(f) => Outbound::Uncompressed(vec![f]),
        Outbound::Frames(v) => Outbound::Uncompressed(v),
        out => out,
    }
}

/// Decodes a message of a connection: `Ok(None)` while a JSON binary
/// packet waits for attachments.
pub(crate) fn decode(
    parser: Parser,
    decoder: &mut Decoder,
    msg: Message,
) -> Result<Option<Packet>, DecodeError> {
    match msg {
        Message::Text(text) => parser.decode_text(decoder, text),
        Message::Binary(data) => parser.decode_binary(decoder, data),
    }
}
