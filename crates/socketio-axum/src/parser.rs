//! The wire parser ([`Parser`]) applied to the Engine.IO side: queue items
//! for outgoing packets, and packets from incoming messages.

use engineio_tower::{Message, Outbound};
use socketio_protocol::socket::{
    DecodeError, Decoder, EncodedPacket, Packet, PacketFrames, Parser,
};

/// The queue item for a packet encoded as JSON by this crate, in `parser`:
/// its frames stay together.
pub(crate) fn outbound(parser: Parser, packet: EncodedPacket) -> Outbound {
    match parser.frames(packet) {
        Ok(PacketFrames::One(frame)) => Outbound::Frame(frame),
        Ok(PacketFrames::Several(frames)) => Outbound::Frames(frames),
        Err(e) => {
            // Only what the JSON encoders never make gets here; the client
            // of the msgpack parser cannot read the JSON instead.
            crate::trace::error!(error = %e, packet = %e.packet, "socket.io: a packet cannot be written in msgpack, not sent");
            Outbound::Frames(Vec::new())
        }
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
