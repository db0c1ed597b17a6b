//! Sans-IO codecs for the Engine.IO v4 and Socket.IO v5 protocols.
//!
//! Everything here is a pure function over bytes and strings: no I/O, no
//! runtime, no HTTP types. The server (`engineio-tower`, `socketio-axum`) and
//! any client share these codecs.
//!
//! - [`engine`]: Engine.IO packets, long-polling payloads and the handshake.
//! - [`socket`]: Socket.IO packets, binary attachments, and serde for their payloads.
//! - [`websocket`]: WebSocket framing (RFC 6455), the server's side: client
//!   frames to messages, and the header of server frames.
//! - [`webtransport`]: the length-prefixed framing of Engine.IO packets on a
//!   WebTransport stream, both ways.
//! - [`Str`]: a cheaply clonable, immutable UTF-8 string backed by [`bytes::Bytes`],
//!   so that a text frame read from the network can be sliced and shared
//!   without copying.
//!
//! ```
//! use socketio_protocol::engine::{Packet, Frame};
//!
//! let packet = Packet::decode_text("4hello".into()).unwrap();
//! assert_eq!(packet, Packet::Message("hello".into()));
//! assert_eq!(Frame::from(&packet).as_text(), Some("4hello"));
//! ```

pub mod date;
pub mod engine;
#[cfg(feature = "msgpack")]
pub mod msgpack;
pub mod socket;
mod str;
mod tuples;
pub mod websocket;
pub mod webtransport;

pub use crate::str::{Str, Utf8Error};
