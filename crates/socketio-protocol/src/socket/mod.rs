//! Socket.IO protocol v5: packets, binary attachments, and serde for their payloads.
//!
//! Each Socket.IO packet travels as an Engine.IO message: the text after its
//! `4`, followed, for binary packets, by one binary message per attachment.
//!
//! Decoding is cheap: [`Packet::decode`] (or, for a connection,
//! [`Decoder`]) checks the JSON payload with a non-recursive scanner and keeps
//! it as text sliced from the input. A handler then deserializes the
//! arguments it wants with [`deserialize_args`] or [`deserialize_first_arg`],
//! and can answer with the very text it received ([`encode_ack_raw`]).
//! Encoding goes straight from any `T: Serialize` to the frame text
//! ([`encode_event`], [`encode_ack`], ...), pulling bytes out into
//! attachments.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use socketio_protocol::socket::{
//!     deserialize_args, encode_ack_raw, encode_event, Binary, Decoder, PacketData,
//! };
//!
//! // Decode `socket.emit("echo", 1, {a: 2}, ack)` from a client.
//! let mut decoder = Decoder::default();
//! let packet = decoder.decode_text(r#"2/chat,7["echo",1,{"a":2}]"#.into()).unwrap().unwrap();
//! assert_eq!(packet.ns, "/chat");
//! let PacketData::Event(event) = packet.data else { panic!("not an event") };
//! assert_eq!((&*event.name, &*event.args, event.ack_id), ("echo", r#"1,{"a":2}"#, Some(7)));
//!
//! let (n, obj): (u8, serde_json::Value) = deserialize_args(&event.args, &event.attachments).unwrap();
//! assert_eq!((n, obj["a"].as_u64()), (1, Some(2)));
//!
//! // Acknowledge with the same arguments, without encoding them again.
//! let mut out = BytesMut::new();
//! let ack = encode_ack_raw(&mut out, "/chat", 7, &event.args, Vec::new());
//! assert_eq!(ack.text, r#"43/chat,7[1,{"a":2}]"#);
//!
//! // Emit an event with binary data: it becomes an attachment.
//! let packet = encode_event(&mut out, "/", "baz", None, &(Binary(Bytes::from_static(&[1, 2, 3, 4])),)).unwrap();
//! assert_eq!(packet.text, r#"451-["baz",{"_placeholder":true,"num":0}]"#);
//! assert_eq!(packet.attachments, [Bytes::from_static(&[1, 2, 3, 4])]);
//! ```

mod attachment;
mod binary;
mod de;
mod error;
mod limits;
mod packet;
mod parser;
mod placeholders;
mod proxy_de;
mod proxy_ser;
mod raw_args;
mod scan;
mod ser;
mod spread;
mod value;

pub use attachment::Binary;
pub use binary::{Decoder, PartialPacket};
pub use de::{deserialize_args, deserialize_data, deserialize_first_arg, deserialize_value};
pub use error::DecodeError;
pub use limits::DecodeLimits;
pub use packet::{Ack, AckId, Decoded, Event, Packet, PacketData, PacketType, RESERVED_EVENTS};
pub use parser::{PacketFrames, Parser, ParserError};
pub use raw_args::RawArgs;
pub use ser::{
    encode_ack, encode_ack_raw, encode_connect, encode_connect_error, encode_connect_error_v4,
    encode_connect_v4, encode_connect_with_pid, encode_disconnect, encode_event, encode_event_raw,
    with_offset, EncodedPacket,
};
pub use spread::Spread;
pub use value::Value;

/// The Socket.IO protocol version this module implements.
pub const PROTOCOL_VERSION: u8 = 5;

#[cfg(test)]
mod tests;
