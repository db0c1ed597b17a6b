use bytes::{BufMut, Bytes, BytesMut};

use super::{Packet, PacketType};
use crate::Str;

/// An encoded Engine.IO packet, ready for the wire: the text of a packet (type digit
/// first) or the raw bytes of a binary message.
///
/// A frame is encoded once and cloned cheaply, so one broadcast packet can be
/// shared by every target socket. On WebSocket each frame is one WebSocket
/// message; on long-polling, frames are joined by [`encode_payload`](super::encode_payload).
///
/// ```
/// use socketio_protocol::engine::{Frame, Packet};
///
/// assert_eq!(Frame::message("hi").as_text(), Some("4hi"));
/// assert_eq!(Frame::from(&Packet::Ping("probe".into())).as_text(), Some("2probe"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text packet, starting with its type digit (`4hello`).
    Text(Str),
    /// A binary message, without any prefix.
    Binary(Bytes),
}

impl Frame {
    /// A text message frame (`4` followed by `text`).
    pub fn message(text: &str) -> Frame {
        Frame::with_type(PacketType::Message, text)
    }

    /// A frame of the given type with a text payload.
    pub fn with_type(ty: PacketType, payload: &str) -> Frame {
        let mut buf = BytesMut::with_capacity(payload.len() + 1);
        buf.put_u8(ty.as_byte());
        buf.put_slice(payload.as_bytes());
        // A type digit followed by a `str` is UTF-8.
        Frame::Text(Str::try_from(buf.freeze()).unwrap_or_default())
    }

    /// A frame for already encoded packet text, such as `4` followed by a
    /// Socket.IO packet written by an encoder. Returns `None` unless the text
    /// starts with a packet type digit.
    pub fn from_encoded_text(text: Str) -> Option<Frame> {
        let first = *text.as_bytes().first()?;
        PacketType::from_byte(first).map(|_| Frame::Text(text))
    }

    /// The text of a text frame.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Frame::Text(s) => Some(s.as_str()),
            Frame::Binary(_) => None,
        }
    }

    /// Length in bytes on a WebSocket (text, or raw binary).
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(s) => s.len(),
            Frame::Binary(b) => b.len(),
        }
    }

    /// Whether the frame is empty (never true for a valid frame).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<&Packet> for Frame {
    fn from(packet: &Packet) -> Frame {
        const fn fixed(s: &'static str) -> Frame {
            Frame::Text(Str::from_static(s))
        }
        match packet {
            Packet::Open(p) => Frame::with_type(PacketType::Open, p),
            Packet::Close => fixed("1"),
            Packet::Ping(p) if p.is_empty() => fixed("2"),
            Packet::Ping(p) => Frame::with_type(PacketType::Ping, p),
            Packet::Pong(p) if p.is_empty() => fixed("3"),
            Packet::Pong(p) => Frame::with_type(PacketType::Pong, p),
            Packet::Message(p) => Frame::with_type(PacketType::Message, p),
            Packet::Binary(b) => Frame::Binary(b.clone()),
            Packet::Upgrade => fixed("5"),
            Packet::Noop => fixed("6"),
        }
    }
}

impl From<Packet> for Frame {
    fn from(packet: Packet) -> Frame {
        match packet {
            Packet::Binary(b) => Frame::Binary(b),
            other => Frame::from(&other),
        }
    }
}
