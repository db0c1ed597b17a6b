//! Encoders: Socket.IO packets written as Engine.IO message text (`4` first),
//! with binary data pulled out into attachments.

use std::cell::Cell;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

use super::proxy_ser::{ArgsShape, TopLevel};
use super::{AckId, Packet, PacketData, PacketType};
use crate::engine::Frame;
use crate::Str;

/// A Socket.IO packet ready for the wire.
///
/// ```
/// use bytes::BytesMut;
/// use socketio_protocol::engine::Frame;
/// use socketio_protocol::socket::encode_event;
///
/// let packet = encode_event(&mut BytesMut::new(), "/", "hey", None, &("Jude",)).unwrap();
/// let frames: Vec<Frame> = packet.into_frames().collect();
/// assert_eq!(frames, [Frame::Text(r#"42["hey","Jude"]"#.into())]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPacket {
    /// The text of the Engine.IO message: `4`, then the Socket.IO packet.
    pub text: Str,
    /// Binary attachments, each sent as a binary message right after the text.
    pub attachments: Vec<Bytes>,
}

impl EncodedPacket {
    /// The Engine.IO frames to send, in order: the text, then the attachments.
    pub fn into_frames(self) -> impl Iterator<Item = Frame> {
        std::iter::once(Frame::Text(self.text))
            .chain(self.attachments.into_iter().map(Frame::Binary))
    }
}

/// Encodes an `EVENT`: `event` followed by `args`. Values that serialize as
/// bytes ([`Binary`](super::Binary), `serde_bytes`, ...) become attachments,
/// and then the packet a `BINARY_EVENT`.
///
/// How `args` maps to the arguments, the rule shared by every emit, ack and
/// broadcast of the server and the client:
///
/// | `args` | arguments | JavaScript equivalent |
/// |---|---|---|
/// | `&()` | none | `emit("ev")` |
/// | a tuple `&(a, b)`, a tuple struct | one per element | `emit("ev", a, b)` |
/// | `&Spread(vec)` | one per element | `emit("ev", ...vec)` |
/// | `&(a,)` | one | `emit("ev", a)` |
/// | anything else: `&a`, a struct, a `Vec`, a slice, a JSON array `Value` | one | `emit("ev", a)` |
///
/// So `&vec![1, 2]` is one argument, the array `[1, 2]`, as a JavaScript
/// peer expects; `&(1, 2)` is two; a list of arguments whose length is known
/// only at run time is a [`Spread`](super::Spread). A fixed-size Rust array `[T; N]` is
/// serialized by serde exactly as a tuple, so it is `N` arguments: use a
/// `Vec` or a slice for one array argument.
///
/// `out` is a scratch buffer: it is cleared, written, and the packet is split
/// off it, so that its spare capacity serves the next packet. `ns` must start
/// with `/`.
///
/// ```
/// use bytes::BytesMut;
/// use socketio_protocol::socket::encode_event;
///
/// let mut out = BytesMut::new();
/// let p = encode_event(&mut out, "/admin", "bar", Some(13), &()).unwrap();
/// assert_eq!(p.text, r#"42/admin,13["bar"]"#);
/// let p = encode_event(&mut out, "/", "point", None, &serde_json::json!({"x": 1})).unwrap();
/// assert_eq!(p.text, r#"42["point",{"x":1}]"#);
/// let p = encode_event(&mut out, "/", "sum", None, &(1, 2, 3)).unwrap();
/// assert_eq!(p.text, r#"42["sum",1,2,3]"#);
/// let p = encode_event(&mut out, "/", "list", None, &vec![1, 2, 3]).unwrap();
/// assert_eq!(p.text, r#"42["list",[1,2,3]]"#);
/// let p = encode_event(&mut out, "/", "list", None, &serde_json::json!([1, 2])).unwrap();
/// assert_eq!(p.text, r#"42["list",[1,2]]"#);
/// ```
pub fn encode_event<T: ?Sized + Serialize>(
    out: &mut BytesMut,
    ns: &str,
    event: &str,
    ack_id: Option<AckId>,
    args: &T,
) -> Result<EncodedPacket, serde_json::Error> {
    out.clear();
    out.reserve(HEADER_MAX + ns.len() + event.len() + ARGS_GUESS);
    put_header(out, PacketType::Event, ns, ack_id);
    out.put_u8(b'[');
    put_json_str(out, event);
    let attachments = put_args(out, args, true)?;
    Ok(finish(out, attachments))
}

/// Encodes an `ACK` answering event `ack_id` with `args` (read as by
/// [`encode_event`]); a `BINARY_ACK` if there are attachments.
///
/// ```
/// use bytes::BytesMut;
/// use socketio_protocol::socket::encode_ack;
///
/// let mut out = BytesMut::new();
/// assert_eq!(encode_ack(&mut out, "/", 12, &()).unwrap().text, "4312[]");
/// assert_eq!(encode_ack(&mut out, "/admin", 13, &("bar",)).unwrap().text, r#"43/admin,13["bar"]"#);
/// ```
pub fn encode_ack<T: ?Sized + Serialize>(
    out: &mut BytesMut,
    ns: &str,
    ack_id: AckId,
    args: &T,
) -> Result<EncodedPacket, serde_json::Error> {
    out.clear();
    out.reserve(HEADER_MAX + ns.len() + ARGS_GUESS);
    put_header(out, PacketType::Ack, ns, Some(ack_id));
    let attachments = put_args(out, args, false)?;
    Ok(finish(out, attachments))
}

/// Encodes an `EVENT` whose arguments are already JSON text, as
/// [`Event::args`](super::Event::args) holds them: to pass an event on
/// without parsing it. `args` is not checked.
///
/// ```
/// use bytes::BytesMut;
/// use socketio_protocol::socket::encode_event_raw;
///
/// let p = encode_event_raw(&mut BytesMut::new(), "/", "echo", Some(1), r#"1,{"a":2}"#, Vec::new());
/// assert_eq!(p.text, r#"421["echo",1,{"a":2}]"#);
/// ```
pub fn encode_event_raw(
    out: &mut BytesMut,
    ns: &str,
    event: &str,
    ack_id: Option<AckId>,
    args: &str,
    attachments: Vec<Bytes>,
) -> EncodedPacket {
    out.clear();
    // Escapes in the name may need more; the rest is exact.
    out.reserve(HEADER_MAX + ns.len() + event.len() + args.len() + 4);
    put_header(out, PacketType::Event, ns, ack_id);
    out.put_u8(b'[');
    put_json_str(out, event);
    if !args.is_empty() {
        out.put_u8(b',');
        out.put_slice(args.as_bytes());
    }
    out.put_u8(b']');
    finish(out, attachments)
}

/// Encodes an `ACK` whose arguments are already JSON text: to answer an event
/// with the arguments it came with, without encoding them again. `args` is
/// not checked.
///
/// ```
/// use bytes::BytesMut;
/// use socketio_protocol::socket::encode_ack_raw;
///
/// let p = encode_ack_raw(&mut BytesMut::new(), "/", 3, r#"1,{"a":2}"#, Vec::new());
/// assert_eq!(p.text, r#"433[1,{"a":2}]"#);
/// ```
pub fn encode_ack_raw(
    out: &mut BytesMut,
    ns: &str,
    ack_id: AckId,
    args: &str,
    attachments: Vec<Bytes>,
) -> EncodedPacket {
    out.clear();
    out.reserve(HEADER_MAX + ns.len() + args.len() + 2);
    put_header(out, PacketType::Ack, ns, Some(ack_id));
    out.put_u8(b'[');
    out.put_slice(args.as_bytes());
    out.put_u8(b']');
    finish(out, attachments)
}

/// Encodes the server's `CONNECT`, accepting a client into namespace `ns`
/// with the socket id `sid`.
///
/// ```
/// use bytes::BytesMut;
/// use socketio_protocol::socket::encode_connect;
///
/// let p = encode_connect(&mut BytesMut::new(), "/admin", "oSO0OpakMV_3jnilAAAA");
/// assert_eq!(p.text, r#"40/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#);
/// ```
pub fn encode_connect(out: &mut BytesMut, ns: &str, sid: &str) -> EncodedPacket {
    out.clear();
    put_header(out, PacketType::Connect, ns, None);
    out.put_slice(b"{\"sid\":");
    put_json_str(out, sid);
    out.put_u8(b'}');
    finish(out, Vec::new())
}

/// Encodes the server's `CONNECT` with the private session id `pid` that
/// connection state recovery gives the client (Node's
/// `{"sid":...,"pid":...}`).
///
/// ```
/// use bytes::BytesMut;
/// use socketio_protocol::socket::encode_connect_with_pid;
///
/// let p = encode_connect_with_pid(&mut BytesMut::new(), "/", "oSO0OpakMV_3jnilAAAA", "Ma3Rq5wLNDpM0q8xAAAB");
/// assert_eq!(p.text, r#"40{"sid":"oSO0OpakMV_3jnilAAAA","pid":"Ma3Rq5wLNDpM0q8xAAAB"}"#);
/// ```
pub fn encode_connect_with_pid(
    out: &mut BytesMut,
    ns: &str,
    sid: &str,
    pid: &str,
) -> EncodedPacket {
    out.clear();
    put_header(out, PacketType::Connect, ns, None);
    out.put_slice(b"{\"sid\":");
    put_json_str(out, sid);
    out.put_slice(b",\"pid\":");
    put_json_str(out, pid);
    out.put_u8(b'}');
    finish(out, Vec::new())
}

/// Appends `offset` as the last argument of an encoded `EVENT` (or
/// `BINARY_EVENT`), as Node's session-aware adapter does for connection
/// state recovery; `None` if the packet's text does not end its argument
/// array (not an event).
///
/// ```
/// use bytes::BytesMut;
/// use socketio_protocol::socket::{encode_event, with_offset};
///
/// let p = encode_event(&mut BytesMut::new(), "/", "news", None, &1).unwrap();
/// let p = with_offset(&p, "0-7").unwrap();
/// assert_eq!(p.text, r#"42["news",1,"0-7"]"#);
/// ```
pub fn with_offset(packet: &EncodedPacket, offset: &str) -> Option<EncodedPacket> {
    let head = packet.text.as_str().strip_suffix(']')?;
    // The header (type, attachment count, namespace, id) stays as it is.
    let mut text = String::with_capacity(head.len() + offset.len() + 4);
    text.push_str(head);
    text.push(',');
    // Offsets are ids (`<ms>-<seq>`, hex...): no escaping to do, as a rule.
    if offset
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        text.push('"');
        text.push_str(offset);
        text.push('"');
    } else {
        text.push_str(&serde_json::to_string(offset).ok()?);
    }
    text.push(']');
    Some(EncodedPacket {
        text: Str::from(text),
        attachments: packet.attachments.clone(),
    })
}

/// Encodes a `CONNECT_ERROR`: `{"message":...}`, with `"data"` if given.
///
/// ```
/// use bytes::BytesMut;
/// use socketio_protocol::socket::encode_connect_error;
///
/// let mut out = BytesMut::new();
/// let p = encode_connect_error(&mut out, "/", "Not authorized", None::<&()>).unwrap();
/// assert_eq!(p.text, r#"44{"message":"Not authorized"}"#);
/// let p = encode_connect_error(&mut out, "/", "Banned", Some(&serde_json::json!({"until": 3}))).unwrap();
/// assert_eq!(p.text, r#"44{"message":"Banned","data":{"until":3}}"#);
/// ```
pub fn encode_connect_error<T: ?Sized + Serialize>(
    out: &mut BytesMut,
    ns: &str,
    message: &str,
    data: Option<&T>,
) -> Result<EncodedPacket, serde_json::Error> {
    #[derive(Serialize)]
    struct Payload<'a, T: ?Sized> {
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<&'a T>,
    }
    out.clear();
    put_header(out, PacketType::ConnectError, ns, None);
    serde_json::to_writer((&mut *out).writer(), &Payload { message, data })?;
    Ok(finish(out, Vec::new()))
}

/// Encodes a `CONNECT` answer of Socket.IO protocol v4, the protocol of
/// socket.io-client 2.x (over Engine.IO v3): no payload, where protocol v5
/// sends the socket id.
///
/// ```
/// use bytes::BytesMut;
/// use socketio_protocol::socket::encode_connect_v4;
///
/// assert_eq!(encode_connect_v4(&mut BytesMut::new(), "/").text, "40");
/// assert_eq!(encode_connect_v4(&mut BytesMut::new(), "/admin").text, "40/admin,");
/// ```
pub fn encode_connect_v4(out: &mut BytesMut, ns: &str) -> EncodedPacket {
    out.clear();
    put_header(out, PacketType::Connect, ns, None);
    finish(out, Vec::new())
}

/// Encodes a `CONNECT_ERROR` of Socket.IO protocol v4 (socket.io-client
/// 2.x), as Node's server writes it for a refusal by a middleware: the
/// error's data if it has data that JavaScript holds true, else its message
/// as a JSON string.
///
/// ```
/// use bytes::BytesMut;
/// use serde_json::json;
/// use socketio_protocol::socket::encode_connect_error_v4;
///
/// let mut out = BytesMut::new();
/// let p = encode_connect_error_v4(&mut out, "/", "Not authorized", None).unwrap();
/// assert_eq!(p.text, r#"44"Not authorized""#);
/// let p = encode_connect_error_v4(&mut out, "/admin", "Banned", Some(&json!({"until": 3}))).unwrap();
/// assert_eq!(p.text, r#"44/admin,{"until":3}"#);
/// let p = encode_connect_error_v4(&mut out, "/", "Banned", Some(&json!(0))).unwrap();
/// assert_eq!(p.text, r#"44"Banned""#);
/// ```
pub fn encode_connect_error_v4(
    out: &mut BytesMut,
    ns: &str,
    message: &str,
    data: Option<&serde_json::Value>,
) -> Result<EncodedPacket, serde_json::Error> {
    use serde_json::Value;
    // `err.data || err.message`, as JavaScript's `||` reads the data.
    let truthy = |v: &&Value| match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    };
    out.clear();
    put_header(out, PacketType::ConnectError, ns, None);
    match data.filter(truthy) {
        Some(d) => serde_json::to_writer((&mut *out).writer(), d)?,
        None => serde_json::to_writer((&mut *out).writer(), message)?,
    }
    Ok(finish(out, Vec::new()))
}

/// Encodes a `DISCONNECT` from namespace `ns`.
///
/// ```
/// use bytes::BytesMut;
/// use socketio_protocol::socket::encode_disconnect;
///
/// assert_eq!(encode_disconnect(&mut BytesMut::new(), "/").text, "41");
/// assert_eq!(encode_disconnect(&mut BytesMut::new(), "/admin").text, "41/admin,");
/// ```
pub fn encode_disconnect(out: &mut BytesMut, ns: &str) -> EncodedPacket {
    out.clear();
    put_header(out, PacketType::Disconnect, ns, None);
    finish(out, Vec::new())
}

impl Packet {
    /// Encodes a decoded packet again, its payloads as they were received.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use socketio_protocol::socket::{Decoded, DecodeLimits, Packet};
    ///
    /// let Ok(Decoded::Packet(packet)) = Packet::decode("2/admin,12[\"foo\"]".into(), &DecodeLimits::default())
    /// else { panic!() };
    /// assert_eq!(packet.encode(&mut BytesMut::new()).text, "42/admin,12[\"foo\"]");
    /// ```
    pub fn encode(&self, out: &mut BytesMut) -> EncodedPacket {
        let ns = &self.ns;
        match &self.data {
            PacketData::Connect(auth) => {
                out.clear();
                put_header(out, PacketType::Connect, ns, None);
                out.put_slice(auth.as_deref().unwrap_or_default().as_bytes());
                finish(out, Vec::new())
            }
            PacketData::Disconnect => encode_disconnect(out, ns),
            PacketData::Event(e) => {
                encode_event_raw(out, ns, &e.name, e.ack_id, &e.args, e.attachments.clone())
            }
            PacketData::Ack(a) => encode_ack_raw(out, ns, a.id, &a.args, a.attachments.clone()),
            PacketData::ConnectError(data) => {
                out.clear();
                put_header(out, PacketType::ConnectError, ns, None);
                out.put_slice(data.as_bytes());
                finish(out, Vec::new())
            }
        }
    }
}

/// Where the Socket.IO type digit is, after the Engine.IO `4`.
const TYPE_AT: usize = 1;

/// Room for a packet's header besides its namespace: `4`, the type, the
/// namespace's comma and an ack id of up to 20 digits.
const HEADER_MAX: usize = 2 + 1 + 20;

/// What an encoder reserves for arguments it serializes, so that a small
/// packet is written into one allocation instead of a few growing ones.
const ARGS_GUESS: usize = 64;

fn put_header(out: &mut BytesMut, ty: PacketType, ns: &str, ack_id: Option<AckId>) {
    out.put_u8(b'4');
    out.put_u8(ty.as_byte());
    if !ns.is_empty() && ns != "/" {
        out.put_slice(ns.as_bytes());
        out.put_u8(b',');
    }
    if let Some(id) = ack_id {
        put_decimal(out, id);
    }
}

/// Makes the packet binary if it has attachments, and splits it off `out`.
fn finish(out: &mut BytesMut, attachments: Vec<Bytes>) -> EncodedPacket {
    if !attachments.is_empty() {
        if let Some(ty) = out.get_mut(TYPE_AT) {
            *ty = match PacketType::from_byte(*ty) {
                Some(PacketType::Event) => PacketType::BinaryEvent.as_byte(),
                Some(PacketType::Ack) => PacketType::BinaryAck.as_byte(),
                _ => *ty,
            };
        }
        // The count is known only now; binary packets are rare enough that
        // moving the text is cheaper than a second buffer for every packet.
        let mut count = BytesMut::with_capacity(21);
        put_decimal(&mut count, attachments.len() as u64);
        count.put_u8(b'-');
        insert(out, TYPE_AT + 1, &count);
    }
    // Everything written is ASCII, JSON written by serde_json, or `&str`, so
    // the check cannot fail.
    let text = Str::try_from(out.split().freeze()).unwrap_or_default();
    EncodedPacket { text, attachments }
}

/// Writes the arguments of an event (after its name, so each argument is
/// preceded by a comma) or of an ack (a whole array), and returns the
/// attachments pulled out of them.
fn put_args<T: ?Sized + Serialize>(
    out: &mut BytesMut,
    args: &T,
    after_name: bool,
) -> Result<Vec<Bytes>, serde_json::Error> {
    let start = out.len();
    let shape = Cell::new(ArgsShape::One);
    let attachments = Cell::new(Vec::new());
    let mut json = serde_json::Serializer::new((&mut *out).writer());
    args.serialize(TopLevel::new(&mut json, &shape, &attachments))?;

    // serde_json wrote the value; shape it into an argument list. Which
    // shape applies is known only once serialization has started.
    let empty = out.get(start..) == Some(b"[]".as_slice());
    match (shape.get(), after_name) {
        (ArgsShape::List, true) if empty => {
            out.truncate(start);
            out.put_u8(b']');
        }
        // `[a,b]` after `["name"` becomes `,a,b]`.
        (ArgsShape::List, true) => {
            if let Some(open) = out.get_mut(start) {
                *open = b',';
            }
        }
        (ArgsShape::List, false) => {}
        (ArgsShape::Nothing, true) => {
            out.truncate(start);
            out.put_u8(b']');
        }
        (ArgsShape::Nothing, false) => {
            out.truncate(start);
            out.put_slice(b"[]");
        }
        (ArgsShape::One, after_name) => {
            insert(out, start, if after_name { b"," } else { b"[" });
            out.put_u8(b']');
        }
    }
    Ok(attachments.take())
}

/// Inserts `bytes` at offset `at` of `out`, moving what follows.
fn insert(out: &mut BytesMut, at: usize, bytes: &[u8]) {
    let len = out.len();
    if at > len {
        return;
    }
    out.resize(len + bytes.len(), 0);
    out.copy_within(at..len, at + bytes.len());
    if let Some(dst) = out.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

fn put_decimal(out: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        start -= 1;
        if n == 0 {
            break;
        }
    }
    out.put_slice(digits.get(start..).unwrap_or_default());
}

/// Writes `s` as a JSON string, escaped as serde_json does.
pub(crate) fn put_json_str(out: &mut BytesMut, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.put_u8(b'"');
    let bytes = s.as_bytes();
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.put_slice(bytes.get(plain..i).unwrap_or_default());
        if short.is_empty() {
            out.put_slice(b"\\u00");
            out.put_u8(HEX[usize::from(b >> 4)]);
            out.put_u8(HEX[usize::from(b & 0xf)]);
        } else {
            out.put_slice(short);
        }
        plain = i + 1;
    }
    out.put_slice(bytes.get(plain..).unwrap_or_default());
    out.put_u8(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_match_serde_json() {
        for s in [
            "",
            "plain",
            "q\"b\\s/",
            "é€😀",
            "\n\r\t\x08\x0c\x00\x1f\x7f",
            "a\u{2028}b",
        ] {
            let mut out = BytesMut::new();
            put_json_str(&mut out, s);
            assert_eq!(&out[..], serde_json::to_string(s).unwrap().as_bytes());
        }
    }

    #[test]
    fn decimals() {
        for n in [0, 7, 10, 12345, u64::MAX] {
            let mut out = BytesMut::new();
            put_decimal(&mut out, n);
            assert_eq!(&out[..], n.to_string().as_bytes());
        }
    }
}

#[cfg(test)]
mod offset_tests {
    use super::*;

    #[test]
    fn an_offset_goes_after_the_last_argument_of_a_binary_event_too() {
        let bin = Bytes::from_static(&[1, 2]);
        let p = encode_event(
            &mut BytesMut::new(),
            "/",
            "f",
            None,
            &serde_bytes_like(&bin),
        )
        .unwrap();
        assert_eq!(p.text, r#"451-["f",{"_placeholder":true,"num":0}]"#);
        let p = with_offset(&p, "1700000000000-3").unwrap();
        assert_eq!(
            p.text,
            r#"451-["f",{"_placeholder":true,"num":0},"1700000000000-3"]"#
        );
        assert_eq!(p.attachments, vec![bin]);
        let p = encode_event(&mut BytesMut::new(), "/chat", "n", None, &1).unwrap();
        assert_eq!(
            with_offset(&p, "a\"b").unwrap().text,
            r#"42/chat,["n",1,"a\"b"]"#
        );
    }

    fn serde_bytes_like(b: &Bytes) -> crate::socket::Binary {
        crate::socket::Binary::from(b.clone())
    }
}
