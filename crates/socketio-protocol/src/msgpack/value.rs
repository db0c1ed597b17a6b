//! JavaScript values in msgpack, mapped the way Node's notepack.io maps
//! them (Node's Redis adapters and `socket.io-msgpack-parser` both use it).
//!
//! Our sockets hold event arguments as JSON text with binary placeholders
//! (`{"_placeholder":true,"num":N}`) and a list of attachments; Node puts
//! JavaScript values into msgpack, with each `Buffer` as `bin`. Values here
//! are [`rmpv::Value`]s, parsed from JSON with object keys kept in order (a
//! client sees the keys in the order the sender wrote them) and written back
//! to JSON as `JSON.stringify` would write what notepack decodes:
//! `undefined` (`d4 00 00`) becomes `null` in an array and disappears from an
//! object, a timestamp becomes an ISO-8601 string, any other extension type
//! becomes `[type, bytes]`, and an ext of type 0 that is not `undefined` is
//! an old notepack `ArrayBuffer`, so bytes.

use std::fmt::{self, Write as _};

use bytes::Bytes;
use rmpv::Value;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// How deep [`read_msgpack`] lets arrays and maps nest (as deep as JSON may
/// in the Socket.IO codec by default), give or take the kind of the
/// innermost values.
pub const MAX_DEPTH: usize = 128;

/// A value could not be mapped.
#[derive(Debug)]
#[non_exhaustive]
pub enum ValueError {
    /// Malformed JSON text.
    Json(serde_json::Error),
    /// Malformed msgpack.
    Msgpack(rmpv::decode::Error),
    /// A binary placeholder names an attachment that is not there.
    MissingAttachment(u64),
    /// A packet to [`transcode`](super::transcode) does not decode.
    Packet(crate::socket::DecodeError),
}

impl std::error::Error for ValueError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ValueError::Json(e) => Some(e),
            ValueError::Msgpack(e) => Some(e),
            ValueError::MissingAttachment(_) => None,
            ValueError::Packet(e) => Some(e),
        }
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::Json(_) => f.write_str("malformed JSON"),
            ValueError::Msgpack(_) => f.write_str("malformed msgpack"),
            ValueError::MissingAttachment(n) => {
                write!(f, "binary placeholder {n} has no attachment")
            }
            ValueError::Packet(_) => f.write_str("the packet does not decode"),
        }
    }
}

/// Parses JSON text, keeping object keys in order. JSON numbers become
/// integers when they are whole (as in JavaScript, where `1.0` is `1`).
pub fn parse_json(text: &str) -> Result<Value, ValueError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let JsonValue(value) = JsonValue::deserialize(&mut de).map_err(ValueError::Json)?;
    de.end().map_err(ValueError::Json)?;
    Ok(value)
}

/// Decodes one msgpack value.
pub fn read_msgpack(mut bytes: &[u8]) -> Result<Value, ValueError> {
    // rmpv counts two units per array or map and up to three for a leaf: a
    // budget that lets containers nest MAX_DEPTH levels, whatever the leaves.
    rmpv::decode::read_value_with_max_depth(&mut bytes, MAX_DEPTH * 2 + 8)
        .map_err(ValueError::Msgpack)
}

/// Encodes one msgpack value.
pub fn write_msgpack(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, value);
    out
}

/// Event arguments as a socket holds them (JSON text without brackets, and
/// attachments) → values, each placeholder replaced by its bytes.
pub fn args_to_values(args: &str, attachments: &[Bytes]) -> Result<Vec<Value>, ValueError> {
    let values = match parse_json(&format!("[{args}]"))? {
        Value::Array(values) => values,
        other => vec![other],
    };
    values
        .into_iter()
        .map(|v| fill_placeholders(v, attachments))
        .collect()
}

/// Values → event arguments: JSON text without brackets, every binary
/// pulled out into an attachment behind a placeholder.
pub fn values_to_args(values: &[Value]) -> (String, Vec<Bytes>) {
    let mut out = String::new();
    let mut bins = Binaries::Attach(Vec::new());
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json(&mut out, v, &mut bins);
    }
    let attachments = match bins {
        Binaries::Attach(a) => a,
        Binaries::NodeBuffer => Vec::new(),
    };
    (out, attachments)
}

/// A value → JSON text, for the JSON messages of the protocol: bytes are
/// written as `JSON.stringify` writes a Node `Buffer`.
pub fn to_json(value: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, value, &mut Binaries::NodeBuffer);
    out
}

/// Whether `v` is notepack's `undefined`.
pub fn is_undefined(v: &Value) -> bool {
    matches!(v, Value::Ext(0, data) if data.len() == 1)
}

fn fill_placeholders(v: Value, attachments: &[Bytes]) -> Result<Value, ValueError> {
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|v| fill_placeholders(v, attachments))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Value::Map(entries) => {
            if let Some(num) = placeholder_num(&entries) {
                let bytes = usize::try_from(num)
                    .ok()
                    .and_then(|n| attachments.get(n))
                    .ok_or(ValueError::MissingAttachment(num))?;
                return Ok(Value::Binary(bytes.to_vec()));
            }
            entries
                .into_iter()
                .map(|(k, v)| Ok((k, fill_placeholders(v, attachments)?)))
                .collect::<Result<_, _>>()
                .map(Value::Map)
        }
        other => Ok(other),
    }
}

/// The attachment number of a placeholder, as socket.io-parser recognizes
/// one: `_placeholder` is `true` and `num` a number.
fn placeholder_num(entries: &[(Value, Value)]) -> Option<u64> {
    let get = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    };
    match (get("_placeholder"), get("num")) {
        (Some(Value::Boolean(true)), Some(num)) => num.as_u64(),
        _ => None,
    }
}

/// A value as JavaScript converts it to a property key (`String(v)`): an
/// object is `[object Object]`, an array its elements' keys joined with
/// commas (null and undefined empty). Linear in the value's size.
fn js_key(out: &mut String, v: &Value) {
    match v {
        Value::Nil | Value::Boolean(_) | Value::Integer(_) | Value::F32(_) | Value::F64(_) => {
            write_scalar(out, v)
        }
        Value::String(s) => out.push_str(&String::from_utf8_lossy(s.as_bytes())),
        // A Buffer's text.
        Value::Binary(bytes) => out.push_str(&String::from_utf8_lossy(bytes)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !matches!(item, Value::Nil) && !is_undefined(item) {
                    js_key(out, item);
                }
            }
        }
        Value::Map(_) => out.push_str("[object Object]"),
        Value::Ext(..) if is_undefined(v) => out.push_str("undefined"),
        Value::Ext(ty, data) => {
            let _ = write!(out, "{ty},{}", String::from_utf8_lossy(data));
        }
    }
}

/// null, a boolean or a number, as JSON and JavaScript both write it.
fn write_scalar(out: &mut String, v: &Value) {
    match v {
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Value::F32(f) => write_float(out, f64::from(*f)),
        Value::F64(f) => write_float(out, *f),
        _ => out.push_str("null"),
    }
}

enum Binaries {
    /// Pull bytes out into attachments, behind placeholders.
    Attach(Vec<Bytes>),
    /// Write bytes as `{"type":"Buffer","data":[..]}`.
    NodeBuffer,
}

fn write_json(out: &mut String, v: &Value, bins: &mut Binaries) {
    match v {
        Value::Nil | Value::Boolean(_) | Value::Integer(_) | Value::F32(_) | Value::F64(_) => {
            write_scalar(out, v)
        }
        Value::String(s) => match s.as_str() {
            Some(s) => write_str(out, s),
            None => write_str(out, &String::from_utf8_lossy(s.as_bytes())),
        },
        Value::Binary(bytes) => write_bytes(out, bytes, bins),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item, bins);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            let mut first = true;
            for (k, v) in entries.iter().filter(|(_, v)| !is_undefined(v)) {
                if !first {
                    out.push(',');
                }
                first = false;
                match k {
                    Value::String(_) => write_json(out, k, bins),
                    // JavaScript object keys are strings: what the key
                    // converts to in JavaScript (never JSON escaped into
                    // JSON again, which doubled the text at each level).
                    other => {
                        let mut key = String::new();
                        js_key(&mut key, other);
                        write_str(out, &key);
                    }
                }
                out.push(':');
                write_json(out, v, bins);
            }
            out.push('}');
        }
        Value::Ext(ty, data) => match (*ty, data.len()) {
            (0, 1) => out.push_str("null"),
            (0, _) => write_bytes(out, data, bins),
            (-1, _) => match timestamp_ms(data) {
                Some(ms) => write_str(out, &iso_8601(ms)),
                None => out.push_str("null"),
            },
            (ty, _) => {
                let _ = write!(out, "[{ty},");
                write_bytes(out, data, bins);
                out.push(']');
            }
        },
    }
}

fn write_str(out: &mut String, s: &str) {
    // Serializing a str to JSON cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// Numbers as JavaScript writes them: whole ones without a fraction, and
/// `NaN` or infinities as `null`.
fn write_float(out: &mut String, f: f64) {
    if !f.is_finite() {
        out.push_str("null");
    } else if f.fract() == 0.0 && f.abs() < 9_223_372_036_854_775_808.0 {
        // A whole number as an integer, as notepack writes it and as
        // `parse_json` reads it back: the same double in JavaScript.
        let _ = write!(out, "{}", f as i64);
    } else {
        out.push_str(&serde_json::to_string(&f).unwrap_or_else(|_| "null".into()));
    }
}

fn write_bytes(out: &mut String, bytes: &[u8], bins: &mut Binaries) {
    match bins {
        Binaries::Attach(attachments) => {
            let _ = write!(
                out,
                r#"{{"_placeholder":true,"num":{}}}"#,
                attachments.len()
            );
            attachments.push(Bytes::copy_from_slice(bytes));
        }
        Binaries::NodeBuffer => {
            out.push_str(r#"{"type":"Buffer","data":["#);
            for (i, b) in bytes.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{b}");
            }
            out.push_str("]}");
        }
    }
}

/// Milliseconds since the epoch of a msgpack timestamp (ext type -1), as
/// JavaScript's `Date` keeps them (whole milliseconds).
fn timestamp_ms(data: &[u8]) -> Option<i64> {
    let be32 = |b: &[u8]| -> Option<u32> { Some(u32::from_be_bytes(b.try_into().ok()?)) };
    let (secs, nanos): (i64, u32) = match data.len() {
        4 => (i64::from(be32(data)?), 0),
        8 => {
            let hi = be32(&data[..4])?;
            let lo = be32(&data[4..])?;
            ((i64::from(hi & 0x3) << 32) | i64::from(lo), hi >> 2)
        }
        12 => (
            i64::from_be_bytes(data[4..].try_into().ok()?),
            be32(&data[..4])?,
        ),
        _ => return None,
    };
    secs.checked_mul(1000)?
        .checked_add(i64::from(nanos / 1_000_000))
}

/// `Date.prototype.toISOString`, as Node writes a date in JSON.
fn iso_8601(ms: i64) -> String {
    crate::date::to_iso_string(ms)
}

/// A JSON value read straight into a msgpack value, object keys in order.
struct JsonValue(Value);

impl<'de> Deserialize<'de> for JsonValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor).map(JsonValue)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Boolean(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // notepack writes a whole number as an integer.
        Ok(
            if v.fract() == 0.0 && v.abs() < 9_223_372_036_854_775_808.0 {
                Value::from(v as i64)
            } else {
                Value::F64(v)
            },
        )
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(JsonValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let JsonValue(v) = map.next_value()?;
            entries.push((Value::from(key), v));
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_keep_key_order_and_binaries_become_bin() {
        let attachments = [Bytes::from_static(&[1, 2, 3])];
        let values = args_to_values(
            r#"{"z":1,"a":[true,null,1.5]},{"_placeholder":true,"num":0}"#,
            &attachments,
        )
        .unwrap();
        assert_eq!(values[1], Value::Binary(vec![1, 2, 3]));
        let (json, out) = values_to_args(&values);
        assert_eq!(
            json,
            r#"{"z":1,"a":[true,null,1.5]},{"_placeholder":true,"num":0}"#
        );
        assert_eq!(out, attachments);
    }

    #[test]
    fn a_placeholder_without_attachment_is_an_error() {
        let err = args_to_values(r#"{"_placeholder":true,"num":1}"#, &[]).unwrap_err();
        assert!(matches!(err, ValueError::MissingAttachment(1)));
    }

    #[test]
    fn notepack_bytes_decode_as_json_stringify_would_write_them() {
        // notepack.encode([undefined, {a: undefined, b: 1}, new Date(0), 2.0, Buffer.from([7])])
        // with `undefined` in its old form d4 00 00.
        let bytes = [
            0x95, 0xd4, 0x00, 0x00, 0x82, 0xa1, b'a', 0xd4, 0x00, 0x00, 0xa1, b'b', 0x01, 0xd6,
            0xff, 0, 0, 0, 0, 0xcb, 0x40, 0, 0, 0, 0, 0, 0, 0, 0xc4, 0x01, 0x07,
        ];
        let v = read_msgpack(&bytes).unwrap();
        let Value::Array(values) = v else { panic!() };
        let (json, attachments) = values_to_args(&values);
        assert_eq!(
            json,
            r#"null,{"b":1},"1970-01-01T00:00:00.000Z",2,{"_placeholder":true,"num":0}"#
        );
        assert_eq!(attachments, [Bytes::from_static(&[7])]);
    }

    #[test]
    fn whole_numbers_are_integers_in_msgpack() {
        let v = parse_json("[1.0, -0.0, 3.25, 18446744073709551615]").unwrap();
        assert_eq!(
            write_msgpack(&v),
            [
                0x94, 0x01, 0x00, 0xcb, 0x40, 0x0a, 0, 0, 0, 0, 0, 0, 0xcf, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff
            ]
        );
    }

    #[test]
    fn node_buffers_in_json_messages() {
        let v = Value::Array(vec![Value::Binary(vec![1, 255])]);
        assert_eq!(to_json(&v), r#"[{"type":"Buffer","data":[1,255]}]"#);
    }

    #[test]
    fn timestamps_of_every_width() {
        // 2024-02-29T12:34:56.789Z = 1709210096789 ms
        let secs: u64 = 1_709_210_096;
        let nanos: u64 = 789_000_000;
        let ts64 = ((nanos << 34) | secs).to_be_bytes();
        assert_eq!(
            iso_8601(timestamp_ms(&ts64).unwrap()),
            "2024-02-29T12:34:56.789Z"
        );
        let mut ts96 = (nanos as u32).to_be_bytes().to_vec();
        ts96.extend_from_slice(&(-1_i64).to_be_bytes());
        assert_eq!(
            iso_8601(timestamp_ms(&ts96).unwrap()),
            "1969-12-31T23:59:59.789Z"
        );
        assert_eq!(iso_8601(253_402_300_800_000), "+010000-01-01T00:00:00.000Z");
    }

    #[test]
    fn other_extensions_are_type_and_bytes() {
        let v = Value::Ext(5, vec![9]);
        assert_eq!(to_json(&v), r#"[5,{"type":"Buffer","data":[9]}]"#);
        let (json, att) = values_to_args(&[Value::Ext(0, vec![1, 2])]);
        assert_eq!(
            (json.as_str(), att.len()),
            (r#"{"_placeholder":true,"num":0}"#, 1)
        );
    }
}
