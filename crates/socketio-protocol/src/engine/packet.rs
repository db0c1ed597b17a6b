use bytes::Bytes;

use super::DecodeError;
use crate::Str;

/// The type of an Engine.IO packet, with its wire digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: sent by the server once, with the handshake.
    Open = b'0',
    /// `1`: the transport can be closed.
    Close = b'1',
    /// `2`: heartbeat request (server to client), or upgrade probe.
    Ping = b'2',
    /// `3`: heartbeat answer, or probe answer.
    Pong = b'3',
    /// `4`: application data.
    Message = b'4',
    /// `5`: completes the upgrade to WebSocket.
    Upgrade = b'5',
    /// `6`: releases a pending polling request during an upgrade.
    Noop = b'6',
}

impl PacketType {
    /// The packet type for a wire digit.
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            b'0' => PacketType::Open,
            b'1' => PacketType::Close,
            b'2' => PacketType::Ping,
            b'3' => PacketType::Pong,
            b'4' => PacketType::Message,
            b'5' => PacketType::Upgrade,
            b'6' => PacketType::Noop,
            _ => return None,
        })
    }

    /// The wire digit.
    pub fn as_byte(self) -> u8 {
        self as u8
    }
}

/// One decoded Engine.IO packet.
///
/// ```
/// use socketio_protocol::engine::Packet;
///
/// assert_eq!(Packet::decode_text("2probe".into()), Ok(Packet::Ping("probe".into())));
/// assert_eq!(Packet::decode_text("6".into()), Ok(Packet::Noop));
/// assert!(Packet::decode_text("9".into()).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// The handshake, whose payload is the JSON of an [`OpenPacket`](super::OpenPacket).
    Open(Str),
    /// Close the transport.
    Close,
    /// Ping, with its payload (empty, or `probe` during an upgrade).
    Ping(Str),
    /// Pong, with its payload (empty, or `probe` during an upgrade).
    Pong(Str),
    /// A text message.
    Message(Str),
    /// A binary message (a binary WebSocket frame, or `b`+base64 in a polling payload).
    Binary(Bytes),
    /// Upgrade to the WebSocket transport is complete.
    Upgrade,
    /// No operation.
    Noop,
}

impl Packet {
    /// Decodes a text packet: a WebSocket text frame, or one record of a polling payload
    /// (without the `b` binary prefix, see [`decode_payload`](super::decode_payload)).
    ///
    /// The payload of a close, upgrade or noop packet is ignored, as Node's engine.io does.
    pub fn decode_text(text: Str) -> Result<Packet, DecodeError> {
        let first = *text.as_bytes().first().ok_or(DecodeError::Empty)?;
        let ty = PacketType::from_byte(first).ok_or(DecodeError::UnknownPacketType(first))?;
        // The type is one ASCII byte, so byte 1 is a char boundary.
        let data = || text.slice_from(1);
        Ok(match ty {
            PacketType::Open => Packet::Open(data()),
            PacketType::Close => Packet::Close,
            PacketType::Ping => Packet::Ping(data()),
            PacketType::Pong => Packet::Pong(data()),
            PacketType::Message => Packet::Message(data()),
            PacketType::Upgrade => Packet::Upgrade,
            PacketType::Noop => Packet::Noop,
        })
    }

    /// Decodes a binary WebSocket frame: always a message, sent as is.
    pub fn decode_binary(data: Bytes) -> Packet {
        Packet::Binary(data)
    }

    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Open(_) => PacketType::Open,
            Packet::Close => PacketType::Close,
            Packet::Ping(_) => PacketType::Ping,
            Packet::Pong(_) => PacketType::Pong,
            Packet::Message(_) | Packet::Binary(_) => PacketType::Message,
            Packet::Upgrade => PacketType::Upgrade,
            Packet::Noop => PacketType::Noop,
        }
    }
}
