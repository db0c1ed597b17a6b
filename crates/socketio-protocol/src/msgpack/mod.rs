//! msgpack for Socket.IO (feature `msgpack`): the packets of the official
//! alternative parser, `socket.io-msgpack-parser` 3.x ([`encode_packet`],
//! [`decode_packet`]), and the mapping of JavaScript values to msgpack that
//! Node's notepack.io makes, which that parser and Node's Redis adapters
//! share ([`args_to_values`], [`values_to_args`] and the rest).
//!
//! A packet is one msgpack map, sent as one binary Engine.IO message:
//! `{type, data, id?, nsp}`, with the event name and its arguments in
//! `data` and binary values inline (`bin`), so there are no attachment
//! frames and no `BINARY_EVENT`/`BINARY_ACK` types. Decoded, a packet is
//! the same [`Packet`](crate::socket::Packet) the JSON codec gives: its
//! arguments as JSON text, each binary value pulled out into an attachment
//! behind a placeholder, so that everything that reads arguments works the
//! same with either parser.

mod packet;
mod read;
mod value;

#[cfg(test)]
mod tests;

pub use packet::{decode_packet, encode_packet, transcode, MAX_NESTING};
pub use rmpv;
pub use value::{
    args_to_values, is_undefined, parse_json, read_msgpack, to_json, values_to_args, write_msgpack,
    ValueError, MAX_DEPTH,
};
