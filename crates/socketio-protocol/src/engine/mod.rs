//! Engine.IO protocol v4: packets, long-polling payloads and the handshake;
//! [`v3`] the framing of protocol v3 (socket.io-client 2.x).
//!
//! Decoding is separate from I/O: [`Packet::decode_text`] and
//! [`Packet::decode_binary`] read one WebSocket frame,
//! [`decode_payload`] reads a long-polling body, and [`Frame`] /
//! [`encode_payload`] produce what goes on the wire.
//!
//! ```
//! use socketio_protocol::engine::{decode_payload, encode_payload, Frame, Packet};
//! use bytes::{Bytes, BytesMut};
//!
//! // Two packets and a binary message in one polling body.
//! let body = "4hello\x1e2\x1ebAQIDBA==";
//! let packets: Vec<_> = decode_payload(body.into()).collect::<Result<_, _>>().unwrap();
//! assert_eq!(packets, [
//!     Packet::Message("hello".into()),
//!     Packet::Ping("".into()),
//!     Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
//! ]);
//!
//! let mut out = BytesMut::new();
//! let frames = [Frame::message("hello"), Frame::Binary(Bytes::from_static(&[1, 2, 3, 4]))];
//! encode_payload(&frames, &mut out);
//! assert_eq!(&out[..], b"4hello\x1ebAQIDBA==");
//! ```

mod error;
mod frame;
mod handshake;
mod packet;
mod payload;
mod sid;
pub mod v3;

pub use error::DecodeError;
pub use frame::Frame;
pub use handshake::OpenPacket;
pub use packet::{Packet, PacketType};
pub use payload::{
    decode_payload, encode_payload, encoded_payload_len, PayloadDecoder, RECORD_SEPARATOR,
};
pub use sid::{InvalidSid, Sid, SidBuildHasher, SidHasher};

/// The Engine.IO protocol version this module implements (`EIO=4`).
pub const PROTOCOL_VERSION: u8 = 4;
