//! The messages of Node's `@socket.io/redis-adapter` 8.x (classic pub/sub):
//! channel names, and the broadcasts, requests and responses that travel on
//! them. Pure functions over values; the I/O is elsewhere.

use std::time::Duration;

use bytes::BytesMut;
use rmpv::Value;
use socketio_axum::{
    adapter::{BroadcastOptions, SocketData},
    extract::RawArgs,
};
use socketio_protocol::{
    socket::{encode_event_raw, DecodeLimits, Decoded, EncodedPacket, Packet, PacketData},
    Str,
};

mod channels;

pub(crate) use channels::Channels;

use crate::value::{self, ValueError};

/// Request types, as numbered by the Node adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestType {
    Sockets = 0,
    AllRooms = 1,
    RemoteJoin = 2,
    RemoteLeave = 3,
    RemoteDisconnect = 4,
    RemoteFetch = 5,
    ServerSideEmit = 6,
    Broadcast = 7,
    BroadcastClientCount = 8,
    BroadcastAck = 9,
}

impl RequestType {
    pub(crate) fn of(v: &Value) -> Option<Self> {
        use RequestType::*;
        Some(match field(v, "type")?.as_u64()? {
            0 => Sockets,
            1 => AllRooms,
            2 => RemoteJoin,
            3 => RemoteLeave,
            4 => RemoteDisconnect,
            5 => RemoteFetch,
            6 => ServerSideEmit,
            7 => Broadcast,
            8 => BroadcastClientCount,
            9 => BroadcastAck,
            _ => return None,
        })
    }
}

/// A field of a map value.
pub(crate) fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// A string field.
pub(crate) fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    field(v, key).and_then(Value::as_str)
}

/// Decodes a message: JSON if it starts with `{`, msgpack otherwise.
pub(crate) fn decode(payload: &[u8]) -> Result<Value, ValueError> {
    match payload.first() {
        Some(b'{') => value::parse_json(&String::from_utf8_lossy(payload)),
        _ => value::read_msgpack(payload),
    }
}

pub(crate) fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

pub(crate) fn rooms(rooms: &[Str]) -> Value {
    Value::Array(rooms.iter().map(|r| Value::from(&**r)).collect())
}

/// The rooms of a value: strings, or numbers as JavaScript prints them.
fn rooms_of(v: Option<&Value>) -> Vec<Str> {
    let Some(Value::Array(items)) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|r| match r {
            Value::String(s) => s.as_str().map(|s| Str::from(s.to_owned())),
            Value::Nil => None,
            other => Some(Str::from(value::to_json(other))),
        })
        .collect()
}

/// `{rooms, except, flags}` as Node sends them.
pub(crate) fn opts_value(opts: &BroadcastOptions, timeout: Option<Duration>) -> Value {
    let mut flags = Vec::new();
    if opts.volatile {
        flags.push(("volatile", Value::Boolean(true)));
    }
    // Node's `compress(false)`; Node leaves the flag out unless it is set.
    if opts.uncompressed {
        flags.push(("compress", Value::Boolean(false)));
    }
    if let Some(t) = timeout {
        flags.push(("timeout", Value::from(t.as_millis() as u64)));
    }
    map(vec![
        ("rooms", rooms(&opts.rooms)),
        ("except", rooms(&opts.except)),
        ("flags", map(flags)),
    ])
}

/// `{rooms, except}` of a request, for join, leave, disconnect and fetch.
pub(crate) fn target_value(opts: &BroadcastOptions) -> Value {
    map(vec![
        ("rooms", rooms(&opts.rooms)),
        ("except", rooms(&opts.except)),
    ])
}

/// The options of a received broadcast or request, and its `flags.timeout`.
pub(crate) fn opts_of(v: Option<&Value>) -> (BroadcastOptions, Option<Duration>) {
    let Some(v) = v else {
        return (BroadcastOptions::default(), None);
    };
    let flags = field(v, "flags");
    let flag = |name| flags.and_then(|f| field(f, name));
    let opts = BroadcastOptions::new(rooms_of(field(v, "rooms")), rooms_of(field(v, "except")))
        .with_volatile(flag("volatile").and_then(Value::as_bool).unwrap_or(false))
        // Only `false` turns compression off, as in Node's engine.
        .with_uncompressed(flag("compress").and_then(Value::as_bool) == Some(false));
    let timeout = flag("timeout")
        .and_then(Value::as_f64)
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| Duration::from_millis(ms as u64));
    (opts, timeout)
}

/// An event our socket layer encoded: its name and argument values.
pub(crate) fn event_of_encoded(packet: &EncodedPacket) -> Option<(Str, Vec<Value>)> {
    let text = packet.text.slice(1..packet.text.len());
    let mut limits = DecodeLimits::default();
    limits.max_attachments = usize::MAX;
    limits.max_attachment_bytes = usize::MAX;
    let decoded = match Packet::decode(text, &limits).ok()? {
        Decoded::Packet(p) => p,
        Decoded::Partial(p) => p.packet().clone(),
    };
    let PacketData::Event(event) = decoded.data else {
        return None;
    };
    let args = value::args_to_values(&event.args, &packet.attachments).ok()?;
    Some((event.name, args))
}

/// The `{type: 2, data: [event, ...args], nsp}` packet Node puts in broadcasts.
pub(crate) fn packet_value(nsp: &str, event: &str, args: Vec<Value>) -> Value {
    let mut packet = cluster_packet_value(event, args);
    if let Value::Map(entries) = &mut packet {
        entries.push((Value::from("nsp"), Value::from(nsp)));
    }
    packet
}

/// `{type: 2, data: [event, ...args]}`: the packet of the cluster
/// protocol (Node's sharded and streams adapters), without its namespace.
pub(crate) fn cluster_packet_value(event: &str, args: Vec<Value>) -> Value {
    let mut data = Vec::with_capacity(args.len() + 1);
    data.push(Value::from(event));
    data.extend(args);
    map(vec![("type", Value::from(2)), ("data", Value::Array(data))])
}

/// The namespace, event name and arguments of a received packet; the
/// namespace is `/` when missing. `None` unless it is an event.
pub(crate) fn event_of_packet(packet: &Value) -> Option<(&str, &str, &[Value])> {
    let nsp = str_field(packet, "nsp").unwrap_or("/");
    // Old emitters send BINARY_EVENT (5) when there are buffers.
    if !matches!(field(packet, "type")?.as_u64()?, 2 | 5) {
        return None;
    }
    let Value::Array(data) = field(packet, "data")? else {
        return None;
    };
    let (name, args) = data.split_first()?;
    Some((nsp, name.as_str()?, args))
}

/// Arguments from another server, as our sockets hold them.
pub(crate) fn raw_args(values: &[Value]) -> RawArgs {
    let (json, attachments) = value::values_to_args(values);
    RawArgs {
        args: Str::from(json),
        attachments,
    }
}

/// Our encoded packet of an event from another server.
pub(crate) fn local_packet(nsp: &str, event: &str, args: &[Value]) -> EncodedPacket {
    let (json, attachments) = value::values_to_args(args);
    encode_event_raw(&mut BytesMut::new(), nsp, event, None, &json, attachments)
}

/// A broadcast: msgpack `[uid, packet, opts]`.
pub(crate) fn broadcast(
    uid: &str,
    nsp: &str,
    event: &str,
    args: Vec<Value>,
    opts: &BroadcastOptions,
) -> Vec<u8> {
    value::write_msgpack(&Value::Array(vec![
        Value::from(uid),
        packet_value(nsp, event, args),
        opts_value(opts, None),
    ]))
}

/// A broadcast that expects acknowledgements: a msgpack request.
pub(crate) fn broadcast_request(
    uid: &str,
    request_id: &str,
    nsp: &str,
    (event, args): (&str, Vec<Value>),
    opts: &BroadcastOptions,
    timeout: Duration,
) -> Vec<u8> {
    value::write_msgpack(&map(vec![
        ("uid", Value::from(uid)),
        ("requestId", Value::from(request_id)),
        ("type", Value::from(RequestType::Broadcast as u8)),
        ("packet", packet_value(nsp, event, args)),
        ("opts", opts_value(opts, Some(timeout))),
    ]))
}

pub(crate) fn json(v: Value) -> Vec<u8> {
    value::to_json(&v).into_bytes()
}

/// `ALL_ROOMS` or `REMOTE_FETCH`: a JSON request that expects responses.
pub(crate) fn query(
    uid: &str,
    request_id: &str,
    ty: RequestType,
    opts: &BroadcastOptions,
) -> Vec<u8> {
    let mut entries = vec![
        ("uid", Value::from(uid)),
        ("requestId", Value::from(request_id)),
        ("type", Value::from(ty as u8)),
    ];
    if ty == RequestType::RemoteFetch {
        entries.push(("opts", target_value(opts)));
    }
    json(map(entries))
}

/// `REMOTE_JOIN` or `REMOTE_LEAVE`.
pub(crate) fn rooms_request(
    uid: &str,
    ty: RequestType,
    opts: &BroadcastOptions,
    rooms_: &[Str],
) -> Vec<u8> {
    json(map(vec![
        ("uid", Value::from(uid)),
        ("type", Value::from(ty as u8)),
        ("opts", target_value(opts)),
        ("rooms", rooms(rooms_)),
    ]))
}

/// `REMOTE_DISCONNECT`.
pub(crate) fn disconnect_request(uid: &str, opts: &BroadcastOptions, close: bool) -> Vec<u8> {
    json(map(vec![
        ("uid", Value::from(uid)),
        ("type", Value::from(RequestType::RemoteDisconnect as u8)),
        ("opts", target_value(opts)),
        ("close", Value::Boolean(close)),
    ]))
}

/// `SERVER_SIDE_EMIT`, with a request id when answers are expected.
pub(crate) fn server_side_emit(
    uid: &str,
    request_id: Option<&str>,
    event: &str,
    args: Vec<Value>,
) -> Vec<u8> {
    let mut data = vec![Value::from(event)];
    data.extend(args);
    let mut entries = vec![
        ("uid", Value::from(uid)),
        ("type", Value::from(RequestType::ServerSideEmit as u8)),
        ("data", Value::Array(data)),
    ];
    if let Some(id) = request_id {
        entries.push(("requestId", Value::from(id)));
    }
    json(map(entries))
}

/// The answer to a `SERVER_SIDE_EMIT`: `data` is the first argument.
pub(crate) fn server_side_answer(request_id: &str, data: Option<Value>) -> Vec<u8> {
    let mut entries = vec![
        ("type", Value::from(RequestType::ServerSideEmit as u8)),
        ("requestId", Value::from(request_id)),
    ];
    if let Some(data) = data {
        entries.push(("data", data));
    }
    json(map(entries))
}

/// How many of our clients a broadcast with acknowledgements reached (JSON).
pub(crate) fn client_count(request_id: &str, count: usize) -> Vec<u8> {
    json(map(vec![
        ("type", Value::from(RequestType::BroadcastClientCount as u8)),
        ("requestId", Value::from(request_id)),
        ("clientCount", Value::from(count as u64)),
    ]))
}

/// One client's acknowledgement (msgpack; `packet` is its first argument,
/// left out when there is none, as notepack leaves out `undefined`).
pub(crate) fn broadcast_ack(request_id: &str, ack: Option<Value>) -> Vec<u8> {
    let mut entries = vec![
        ("type", Value::from(RequestType::BroadcastAck as u8)),
        ("requestId", Value::from(request_id)),
    ];
    if let Some(ack) = ack {
        entries.push(("packet", ack));
    }
    value::write_msgpack(&map(entries))
}

/// The answer to `REMOTE_FETCH`.
pub(crate) fn fetch_answer(request_id: &str, sockets: &[SocketData]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "requestId": request_id, "sockets": sockets }))
        .unwrap_or_default()
}

/// The answer to the old `SOCKETS` request: socket ids.
pub(crate) fn sockets_answer(request_id: &str, ids: &[String]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "requestId": request_id, "sockets": ids }))
        .unwrap_or_default()
}

/// The answer to `ALL_ROOMS`.
pub(crate) fn rooms_answer(request_id: &str, rooms_: &[Str]) -> Vec<u8> {
    json(map(vec![
        ("requestId", Value::from(request_id)),
        ("rooms", rooms(rooms_)),
    ]))
}

/// An answer to an old single-socket request (`{requestId}`).
pub(crate) fn empty_answer(request_id: &str) -> Vec<u8> {
    json(map(vec![("requestId", Value::from(request_id))]))
}

/// The rooms of a received request (join, leave, all-rooms answer).
pub(crate) fn rooms_field(v: &Value, key: &str) -> Vec<Str> {
    rooms_of(field(v, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use socketio_protocol::socket::encode_event;

    use super::channels::tests::opts;

    #[test]
    fn a_broadcast_is_the_msgpack_node_sends() {
        let packet = encode_event(&mut BytesMut::new(), "/", "hello", None, &("world",)).unwrap();
        let (event, args) = event_of_encoded(&packet).unwrap();
        let bytes = broadcast("abc123", "/", &event, args, &opts(&["r"], &["x"]));
        // notepack.encode(["abc123", {type: 2, data: ["hello", "world"], nsp: "/"},
        //   {rooms: ["r"], except: ["x"], flags: {}}])
        let mut want = vec![0x93, 0xa6];
        want.extend_from_slice(b"abc123");
        want.extend_from_slice(&[0x83, 0xa4]);
        want.extend_from_slice(b"type");
        want.extend_from_slice(&[0x02, 0xa4]);
        want.extend_from_slice(b"data");
        want.extend_from_slice(&[0x92, 0xa5]);
        want.extend_from_slice(b"hello");
        want.push(0xa5);
        want.extend_from_slice(b"world");
        want.push(0xa3);
        want.extend_from_slice(b"nsp");
        want.extend_from_slice(&[0xa1, b'/', 0x83, 0xa5]);
        want.extend_from_slice(b"rooms");
        want.extend_from_slice(&[0x91, 0xa1, b'r', 0xa6]);
        want.extend_from_slice(b"except");
        want.extend_from_slice(&[0x91, 0xa1, b'x', 0xa5]);
        want.extend_from_slice(b"flags");
        want.push(0x80);
        assert_eq!(bytes, want);
    }

    #[test]
    fn compress_false_is_the_flag_node_sends_and_reads() {
        let sent = opts(&["r"], &[])
            .with_volatile(true)
            .with_uncompressed(true);
        // notepack.encode({rooms: ["r"], except: [],
        //   flags: {volatile: true, compress: false}})
        let mut want = vec![0x83, 0xa5];
        want.extend_from_slice(b"rooms");
        want.extend_from_slice(&[0x91, 0xa1, b'r', 0xa6]);
        want.extend_from_slice(b"except");
        want.extend_from_slice(&[0x90, 0xa5]);
        want.extend_from_slice(b"flags");
        want.extend_from_slice(&[0x82, 0xa8]);
        want.extend_from_slice(b"volatile");
        want.extend_from_slice(&[0xc3, 0xa8]);
        want.extend_from_slice(b"compress");
        want.push(0xc2);
        assert_eq!(value::write_msgpack(&opts_value(&sent, None)), want);
        let (read, _) = opts_of(Some(&decode(&want).unwrap()));
        assert_eq!(read, sent);

        // `compress: true` (Node's `compress(true)`), or no flag: compressed
        // as the receiving server is configured.
        for flags in [r#"{"compress":true}"#, "{}"] {
            let json = format!(r#"{{"rooms":[],"except":[],"flags":{flags}}}"#);
            let (read, _) = opts_of(Some(&decode(json.as_bytes()).unwrap()));
            assert!(!read.uncompressed, "{json}");
        }
        let json = r#"{"rooms":[],"except":[],"flags":{"compress":false}}"#;
        let (read, _) = opts_of(Some(&decode(json.as_bytes()).unwrap()));
        assert!(read.uncompressed);
    }

    #[test]
    fn a_received_binary_broadcast_becomes_a_binary_event() {
        let bytes = broadcast(
            "u",
            "/chat",
            "file",
            vec![Value::Binary(vec![1, 2]), Value::from("name")],
            &opts(&[], &[]),
        );
        let Value::Array(msg) = decode(&bytes).unwrap() else {
            panic!()
        };
        let (nsp, event, args) = event_of_packet(&msg[1]).unwrap();
        assert_eq!((nsp, event), ("/chat", "file"));
        let packet = local_packet(nsp, event, args);
        assert_eq!(
            packet.text,
            r#"451-/chat,["file",{"_placeholder":true,"num":0},"name"]"#
        );
        assert_eq!(&packet.attachments[0][..], &[1, 2]);
        let (o, timeout) = opts_of(msg.get(2));
        assert_eq!((o, timeout), (BroadcastOptions::default(), None));
    }

    #[test]
    fn requests_are_the_json_node_sends() {
        let fetch = query("u", "r1", RequestType::RemoteFetch, &opts(&["a"], &[]));
        assert_eq!(
            String::from_utf8(fetch).unwrap(),
            r#"{"uid":"u","requestId":"r1","type":5,"opts":{"rooms":["a"],"except":[]}}"#
        );
        let join = rooms_request(
            "u",
            RequestType::RemoteJoin,
            &opts(&[], &["b"]),
            &["c".into()],
        );
        assert_eq!(
            String::from_utf8(join).unwrap(),
            r#"{"uid":"u","type":2,"opts":{"rooms":[],"except":["b"]},"rooms":["c"]}"#
        );
        let emit = server_side_emit("u", Some("r2"), "ping", vec![Value::from(1)]);
        assert_eq!(
            String::from_utf8(emit).unwrap(),
            r#"{"uid":"u","type":6,"data":["ping",1],"requestId":"r2"}"#
        );
    }

    #[test]
    fn the_timeout_flag_of_a_broadcast_with_acks() {
        let bytes = broadcast_request(
            "u",
            "r",
            "/",
            ("e", vec![]),
            &opts(&[], &[]),
            Duration::from_millis(1500),
        );
        let v = decode(&bytes).unwrap();
        assert_eq!(RequestType::of(&v), Some(RequestType::Broadcast));
        let (_, timeout) = opts_of(field(&v, "opts"));
        assert_eq!(timeout, Some(Duration::from_millis(1500)));
    }
}
