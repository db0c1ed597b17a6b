//! The examples of the protocol document, round trips, and hostile input.

use bytes::Bytes;

use super::*;
use crate::Str;

mod allocations;
mod decoding;
mod mutations;
mod spec;
mod typed;
mod value;

fn decode(text: &str) -> Result<Decoded, DecodeError> {
    Packet::decode(Str::from(text.to_owned()), &DecodeLimits::default())
}

fn complete(text: &str) -> Packet {
    match decode(text) {
        Ok(Decoded::Packet(p)) => p,
        other => panic!("{text}: {other:?}"),
    }
}

fn event(ns: &str, name: &str, args: &str, ack_id: Option<AckId>, att: &[&[u8]]) -> Packet {
    Packet {
        ns: Str::from(ns.to_owned()),
        data: PacketData::Event(Event {
            name: Str::from(name.to_owned()),
            args: Str::from(args.to_owned()),
            ack_id,
            attachments: att.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
        }),
    }
}

fn ack(ns: &str, id: AckId, args: &str, att: &[&[u8]]) -> Packet {
    Packet {
        ns: Str::from(ns.to_owned()),
        data: PacketData::Ack(Ack {
            id,
            args: Str::from(args.to_owned()),
            attachments: att.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
        }),
    }
}

fn other(ns: &str, data: PacketData) -> Packet {
    Packet {
        ns: Str::from(ns.to_owned()),
        data,
    }
}

fn raw(s: &str) -> Str {
    Str::from(s.to_owned())
}

/// Decodes a text packet and its binary frames with a [`Decoder`].
fn reassemble(text: &str, frames: &[&[u8]]) -> Packet {
    let mut d = Decoder::default();
    let mut result = d.decode_text(raw(text)).unwrap();
    for f in frames {
        assert!(result.is_none(), "{text}: complete before its attachments");
        result = d.decode_binary(Bytes::copy_from_slice(f)).unwrap();
    }
    result.unwrap_or_else(|| panic!("{text}: incomplete"))
}
