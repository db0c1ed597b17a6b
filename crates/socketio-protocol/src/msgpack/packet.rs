//! Packets of `socket.io-msgpack-parser` 3.x: one msgpack map each.

use bytes::Bytes;
use rmpv::Value;

use super::read::ReadError;
use super::value::{args_to_values, is_undefined, parse_json, to_json, values_to_args, ValueError};
use crate::{
    socket::{
        Ack, DecodeError, DecodeLimits, Decoded, EncodedPacket, Event, Packet, PacketData,
        PacketType, RESERVED_EVENTS,
    },
    Str,
};

/// Encodes a packet as `socket.io-msgpack-parser` does: a map of `type`,
/// `data` (when the packet has a payload), `id` (an event that asks for an
/// acknowledgement, or an acknowledgement) and `nsp`, each binary argument
/// inline as `bin`. The result is one binary Engine.IO message.
///
/// Fails only when the packet's JSON text is malformed or a placeholder
/// names a missing attachment (which a packet from this crate's encoders
/// or decoders never has).
///
/// ```
/// use socketio_protocol::{msgpack, socket::{Event, Packet, PacketData}};
///
/// let packet = Packet {
///     ns: "/".into(),
///     data: PacketData::Event(Event {
///         name: "hello".into(),
///         args: "1".into(),
///         ack_id: None,
///         attachments: Vec::new(),
///     }),
/// };
/// let bytes = msgpack::encode_packet(&packet)?;
/// // {"type":2,"data":["hello",1],"nsp":"/"}
/// assert_eq!(bytes[0], 0x83);
/// # Ok::<(), msgpack::ValueError>(())
/// ```
pub fn encode_packet(packet: &Packet) -> Result<Bytes, ValueError> {
    let (ty, data, id) = match &packet.data {
        PacketData::Connect(auth) => {
            let data = auth.as_deref().map(parse_json).transpose()?;
            (PacketType::Connect, data, None)
        }
        PacketData::Disconnect => (PacketType::Disconnect, None, None),
        PacketData::Event(event) => {
            let mut data = Vec::with_capacity(1 + event.args.len() / 8);
            data.push(Value::from(event.name.as_str()));
            data.extend(args_to_values(&event.args, &event.attachments)?);
            (PacketType::Event, Some(Value::Array(data)), event.ack_id)
        }
        PacketData::Ack(ack) => {
            let data = args_to_values(&ack.args, &ack.attachments)?;
            (PacketType::Ack, Some(Value::Array(data)), Some(ack.id))
        }
        PacketData::ConnectError(error) => {
            (PacketType::ConnectError, Some(parse_json(error)?), None)
        }
    };
    let mut map = Vec::with_capacity(4);
    map.push((Value::from("type"), Value::from(ty.as_byte() - b'0')));
    if let Some(data) = data {
        map.push((Value::from("data"), data));
    }
    if let Some(id) = id {
        map.push((Value::from("id"), Value::from(id)));
    }
    map.push((Value::from("nsp"), Value::from(packet.ns.as_str())));
    Ok(Bytes::from(super::write_msgpack(&Value::Map(map))))
}

/// The msgpack message of a packet made by the JSON encoders of
/// [`socket`](crate::socket) ([`encode_event`](crate::socket::encode_event)
/// and the rest): a server or client encodes once, and writes this for the
/// peers that use the msgpack parser. Fails only for what those encoders
/// never make (JSON nested more than 128 levels, a reserved event name).
pub fn transcode(packet: &EncodedPacket) -> Result<Bytes, ValueError> {
    let limits = DecodeLimits {
        max_attachments: usize::MAX,
        max_attachment_bytes: usize::MAX,
        ..DecodeLimits::DEFAULT
    };
    let text = packet.text.slice_from(1);
    let mut decoded = Packet::decode(text, &limits).map_err(ValueError::Packet)?;
    for attachment in &packet.attachments {
        decoded = match decoded {
            Decoded::Partial(partial) => partial
                .push(attachment.clone())
                .map_err(ValueError::Packet)?,
            Decoded::Packet(_) => {
                return Err(ValueError::Packet(DecodeError::UnexpectedAttachment))
            }
        };
    }
    match decoded {
        Decoded::Packet(packet) => encode_packet(&packet),
        Decoded::Partial(partial) => Err(ValueError::Packet(DecodeError::MissingAttachments {
            expected: partial.expected(),
            received: partial.received(),
        })),
    }
}

/// Decodes a packet of `socket.io-msgpack-parser` (one binary Engine.IO
/// message), checking what that parser's decoder checks: a map whose
/// `type` is 0 to 4, whose `nsp` is a string, whose `data` has the shape of
/// the type, and whose `id`, if any, is a whole number (an id on other
/// packets than events and acknowledgements is ignored, as by Node's
/// server); an event's first element must also be a name that is not
/// reserved, as in the JSON codec.
///
/// Nesting is bounded by `limits.max_depth` and at most [`MAX_NESTING`]
/// (127; the JSON codec's default is 128), and binary values, which come
/// back as attachments, by `limits.max_attachments` and
/// `limits.max_attachment_bytes`. The input's size is the Engine.IO
/// message's, which `max_payload` bounds; nothing is allocated for a
/// length that the input announces but does not hold, though each decoded
/// value takes some 40 bytes while the packet is converted (a message of
/// small values costs up to about 80 times its size for that moment).
///
/// ```
/// use socketio_protocol::{msgpack, socket::{DecodeLimits, PacketData}};
///
/// // socket.io-msgpack-parser's {type: 2, data: ["hi", Buffer.from([1])], nsp: "/"}
/// let bytes = [
///     0x83, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa4, b'd', b'a', b't', b'a', 0x92,
///     0xa2, b'h', b'i', 0xc4, 0x01, 0x01, 0xa3, b'n', b's', b'p', 0xa1, b'/',
/// ];
/// let packet = msgpack::decode_packet(&bytes, &DecodeLimits::default())?;
/// let PacketData::Event(event) = packet.data else { panic!() };
/// assert_eq!(event.name, "hi");
/// assert_eq!(event.args, r#"{"_placeholder":true,"num":0}"#);
/// assert_eq!(event.attachments, [vec![1u8]]);
/// # Ok::<(), socketio_protocol::socket::DecodeError>(())
/// ```
pub fn decode_packet(bytes: &[u8], limits: &DecodeLimits) -> Result<Packet, DecodeError> {
    // What the payload (`data`, its array being level 1) may nest: the
    // limit, and at most what JSON text of the arguments can hold once
    // wrapped in brackets (serde_json stops at 128 levels).
    let max = limits.max_depth.min(MAX_NESTING);
    // The packet's own map, then `data` and what it holds.
    let (value, rest) =
        super::read::read_value(bytes, max.saturating_add(1)).map_err(|e| match e {
            ReadError::TooDeep => DecodeError::TooDeep { max },
            ReadError::Malformed => DecodeError::InvalidMsgpack("malformed msgpack"),
        })?;
    if !rest.is_empty() {
        return Err(DecodeError::InvalidMsgpack("bytes after the packet"));
    }
    let Value::Map(entries) = value else {
        return Err(DecodeError::InvalidMsgpack("not a map"));
    };
    let mut fields = Fields::default();
    for (key, value) in entries {
        match key.as_str() {
            Some("type") => fields.ty = Some(value),
            Some("nsp") => fields.nsp = Some(value),
            Some("data") => fields.data = Some(value).filter(|v| !is_undefined(v)),
            Some("id") => fields.id = Some(value).filter(|v| !is_undefined(v)),
            // Other keys are ignored, as by the parser's decoder.
            _ => {}
        }
    }
    let ty = match fields.ty.as_ref().and_then(whole) {
        Some(t @ 0..=4) => PacketType::from_byte(b'0' + t as u8)
            .ok_or(DecodeError::InvalidMsgpack("invalid packet type"))?,
        Some(t @ 5..=9) => return Err(DecodeError::UnknownPacketType(b'0' + t as u8)),
        _ => return Err(DecodeError::InvalidMsgpack("invalid packet type")),
    };
    let ns = match fields.nsp {
        Some(Value::String(s)) => match s.into_str() {
            Some(s) => Str::from(s),
            None => return Err(DecodeError::InvalidMsgpack("invalid namespace")),
        },
        _ => return Err(DecodeError::InvalidMsgpack("invalid namespace")),
    };
    let id = match fields.id {
        // Node's server reads an id only on events and acknowledgements.
        Some(_) if !matches!(ty, PacketType::Event | PacketType::Ack) => None,
        Some(id) => Some(whole(&id).ok_or(DecodeError::InvalidAckId)?),
        None => None,
    };
    let data = match (ty, fields.data) {
        (PacketType::Connect, None) => PacketData::Connect(None),
        (PacketType::Connect, Some(auth @ Value::Map(_))) => {
            PacketData::Connect(Some(Str::from(to_json(&auth))))
        }
        (PacketType::Disconnect, None) => PacketData::Disconnect,
        (PacketType::Disconnect, Some(_)) => return Err(DecodeError::UnexpectedPayload(ty)),
        (PacketType::Event, Some(Value::Array(items))) => {
            let mut items = items.into_iter();
            let name = match items.next() {
                Some(Value::String(name)) => name
                    .into_str()
                    .ok_or(DecodeError::InvalidMsgpack("invalid event name"))?,
                _ => {
                    return Err(DecodeError::InvalidPayload {
                        packet_type: ty,
                        expected: "an array that starts with the event name",
                    })
                }
            };
            if RESERVED_EVENTS.contains(&name.as_str()) {
                return Err(DecodeError::ReservedEventName(Str::from(name)));
            }
            let (args, attachments) = arguments(items.collect(), limits)?;
            PacketData::Event(Event {
                name: Str::from(name),
                args,
                ack_id: id,
                attachments,
            })
        }
        (PacketType::Ack, Some(Value::Array(items))) => {
            let id = id.ok_or(DecodeError::MissingAckId)?;
            let (args, attachments) = arguments(items, limits)?;
            PacketData::Ack(Ack {
                id,
                args,
                attachments,
            })
        }
        (PacketType::ConnectError, Some(error @ (Value::String(_) | Value::Map(_)))) => {
            PacketData::ConnectError(Str::from(to_json(&error)))
        }
        (_, None) => return Err(DecodeError::MissingPayload(ty)),
        (_, Some(_)) => {
            return Err(DecodeError::InvalidPayload {
                packet_type: ty,
                expected: match ty {
                    PacketType::Connect => "an object",
                    PacketType::ConnectError => "an object or a string",
                    _ => "an array",
                },
            })
        }
    };
    Ok(Packet { ns, data })
}

/// The deepest a packet's payload may nest with this parser.
pub const MAX_NESTING: usize = 127;

/// A whole number as JavaScript's `Number.isInteger` sees one (an integer,
/// or a float without a fraction), if it fits a `u64`.
fn whole(v: &Value) -> Option<u64> {
    match v {
        Value::F32(f) => whole(&Value::F64(f64::from(*f))),
        Value::F64(f) if f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(f) => {
            Some(*f as u64)
        }
        other => other.as_u64(),
    }
}

#[derive(Default)]
struct Fields {
    ty: Option<Value>,
    nsp: Option<Value>,
    data: Option<Value>,
    id: Option<Value>,
}

/// Arguments as JSON text and attachments, within the attachment limits.
fn arguments(values: Vec<Value>, limits: &DecodeLimits) -> Result<(Str, Vec<Bytes>), DecodeError> {
    let (json, attachments) = values_to_args(&values);
    if attachments.len() > limits.max_attachments {
        return Err(DecodeError::TooManyAttachments {
            max: limits.max_attachments,
        });
    }
    let bytes: usize = attachments.iter().map(Bytes::len).sum();
    if bytes > limits.max_attachment_bytes {
        return Err(DecodeError::AttachmentsTooLarge {
            max: limits.max_attachment_bytes,
        });
    }
    Ok((Str::from(json), attachments))
}
