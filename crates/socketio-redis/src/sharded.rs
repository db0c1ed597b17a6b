//! The messages of Node's sharded Redis adapter (`createShardedAdapter` of
//! `@socket.io/redis-adapter` 8.x, built on socket.io-adapter's
//! `ClusterAdapter`): every message is `{type, data, uid, nsp}`, JSON, or
//! msgpack when it holds bytes. Pure functions over values; the channels
//! are in [`Channels`](crate::wire::Channels).

use std::time::Duration;

use rmpv::Value;
use socketio_axum::adapter::{BroadcastOptions, SocketData};
use socketio_protocol::Str;

use crate::{
    value,
    wire::{self, field, map, RequestType},
};

/// Message types, as numbered by socket.io-adapter's `ClusterAdapter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageType {
    Broadcast = 3,
    SocketsJoin = 4,
    SocketsLeave = 5,
    DisconnectSockets = 6,
    FetchSockets = 7,
    FetchSocketsResponse = 8,
    ServerSideEmit = 9,
    ServerSideEmitResponse = 10,
    BroadcastClientCount = 11,
    BroadcastAck = 12,
}

impl MessageType {
    pub(crate) fn of(v: &Value) -> Option<Self> {
        use MessageType::*;
        Some(match field(v, "type")?.as_u64()? {
            3 => Broadcast,
            4 => SocketsJoin,
            5 => SocketsLeave,
            6 => DisconnectSockets,
            7 => FetchSockets,
            8 => FetchSocketsResponse,
            9 => ServerSideEmit,
            10 => ServerSideEmitResponse,
            11 => BroadcastClientCount,
            12 => BroadcastAck,
            // Heartbeats and ADAPTER_CLOSE (1, 2, 13) belong to adapters
            // that count servers by heartbeat; Node's sharded one ignores
            // them too.
            _ => return None,
        })
    }
}

/// Whether a value holds bytes anywhere.
fn has_binary(v: &Value) -> bool {
    match v {
        Value::Binary(_) => true,
        Value::Array(items) => items.iter().any(has_binary),
        Value::Map(entries) => entries.iter().any(|(_, v)| has_binary(v)),
        _ => false,
    }
}

/// A message of socket.io-adapter's `ClusterAdapter`, `{type, data, uid,
/// nsp}`, before it is encoded for one of the protocols that carry it.
#[derive(Debug)]
pub(crate) struct Message<'a> {
    uid: &'a str,
    nsp: &'a str,
    pub(crate) ty: MessageType,
    data: Value,
}

/// `{type, data, uid, nsp}`.
pub(crate) fn message<'a>(
    uid: &'a str,
    nsp: &'a str,
    ty: MessageType,
    data: Vec<(&str, Value)>,
) -> Message<'a> {
    Message {
        uid,
        nsp,
        ty,
        data: map(data),
    }
}

impl Message<'_> {
    fn whole(self) -> Value {
        map(vec![
            ("type", Value::from(self.ty as u8)),
            ("data", self.data),
            ("uid", Value::from(self.uid)),
            ("nsp", Value::from(self.nsp)),
        ])
    }

    /// As Node's sharded adapter sends it: msgpack if `data` holds bytes,
    /// JSON otherwise.
    pub(crate) fn sharded(self) -> Vec<u8> {
        if has_binary(&self.data) {
            value::write_msgpack(&self.whole())
        } else {
            wire::json(self.whole())
        }
    }

    /// msgpack, as Node's streams adapter publishes every message.
    pub(crate) fn msgpack(self) -> Vec<u8> {
        value::write_msgpack(&self.whole())
    }

    /// For the channels' protocol: sharded or streams.
    pub(crate) fn encode(self, channels: &wire::Channels) -> Vec<u8> {
        if channels.is_streams() {
            self.msgpack()
        } else {
            self.sharded()
        }
    }

    /// The fields of a stream entry, as Node's streams adapter appends
    /// them: `uid`, `nsp`, `type` (in decimal), and `data` as JSON text, or
    /// as base64 (standard, padded) of msgpack when it holds bytes.
    pub(crate) fn stream_fields(self) -> Vec<(&'static str, Vec<u8>)> {
        use base64::Engine as _;
        let data = if has_binary(&self.data) {
            base64::engine::general_purpose::STANDARD
                .encode(value::write_msgpack(&self.data))
                .into_bytes()
        } else {
            wire::json(self.data)
        };
        vec![
            ("uid", self.uid.as_bytes().to_vec()),
            ("nsp", self.nsp.as_bytes().to_vec()),
            ("type", (self.ty as u8).to_string().into_bytes()),
            ("data", data),
        ]
    }
}

/// A stream entry read back into `{type, data, uid, nsp}`; `None` when a
/// field is missing or `data` cannot be decoded.
pub(crate) fn from_stream_fields(get: impl Fn(&str) -> Option<Vec<u8>>) -> Option<Value> {
    use base64::Engine as _;
    let text = |name| get(name).and_then(|v| String::from_utf8(v).ok());
    let uid = text("uid")?;
    let nsp = text("nsp")?;
    let ty: u8 = text("type")?.parse().ok()?;
    let mut entries = vec![("type", Value::from(ty))];
    if let Some(data) = get("data") {
        let data = if data.first() == Some(&b'{') {
            value::parse_json(std::str::from_utf8(&data).ok()?).ok()?
        } else {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&data)
                .ok()?;
            value::read_msgpack(&bytes).ok()?
        };
        entries.push(("data", data));
    }
    entries.push(("uid", Value::from(uid)));
    entries.push(("nsp", Value::from(nsp)));
    Some(map(entries))
}

/// A broadcast; with a request id and timeout, one that expects
/// acknowledgements.
pub(crate) fn broadcast<'a>(
    uid: &'a str,
    nsp: &'a str,
    (event, args): (&str, Vec<Value>),
    opts: &BroadcastOptions,
    ack: Option<(&str, Duration)>,
) -> Message<'a> {
    // Node's cluster adapter publishes the packet before its namespace is
    // set on it: the message's `nsp` names it.
    let mut data = vec![("packet", wire::cluster_packet_value(event, args))];
    match ack {
        Some((request_id, timeout)) => {
            data.push(("requestId", Value::from(request_id)));
            data.push(("opts", wire::opts_value(opts, Some(timeout))));
        }
        None => data.push(("opts", wire::opts_value(opts, None))),
    }
    message(uid, nsp, MessageType::Broadcast, data)
}

/// `SOCKETS_JOIN` or `SOCKETS_LEAVE`.
pub(crate) fn sockets_rooms<'a>(
    uid: &'a str,
    nsp: &'a str,
    join: bool,
    opts: &BroadcastOptions,
    rooms: &[Str],
) -> Message<'a> {
    let ty = if join {
        MessageType::SocketsJoin
    } else {
        MessageType::SocketsLeave
    };
    let data = vec![
        ("opts", wire::opts_value(opts, None)),
        ("rooms", wire::rooms(rooms)),
    ];
    message(uid, nsp, ty, data)
}

/// `DISCONNECT_SOCKETS`.
pub(crate) fn disconnect_sockets<'a>(
    uid: &'a str,
    nsp: &'a str,
    opts: &BroadcastOptions,
    close: bool,
) -> Message<'a> {
    let data = vec![
        ("opts", wire::opts_value(opts, None)),
        ("close", Value::Boolean(close)),
    ];
    message(uid, nsp, MessageType::DisconnectSockets, data)
}

/// `FETCH_SOCKETS`.
pub(crate) fn fetch_sockets<'a>(
    uid: &'a str,
    nsp: &'a str,
    request_id: &str,
    opts: &BroadcastOptions,
) -> Message<'a> {
    let data = vec![
        ("opts", wire::opts_value(opts, None)),
        ("requestId", Value::from(request_id)),
    ];
    message(uid, nsp, MessageType::FetchSockets, data)
}

/// `SERVER_SIDE_EMIT`: `packet` is `[event, ...args]`.
pub(crate) fn server_side_emit<'a>(
    uid: &'a str,
    nsp: &'a str,
    request_id: Option<&str>,
    event: &str,
    args: Vec<Value>,
) -> Message<'a> {
    let mut packet = vec![Value::from(event)];
    packet.extend(args);
    let mut data = Vec::with_capacity(2);
    if let Some(id) = request_id {
        data.push(("requestId", Value::from(id)));
    }
    data.push(("packet", Value::Array(packet)));
    message(uid, nsp, MessageType::ServerSideEmit, data)
}

/// A response: `data` is `{requestId, ...}`.
fn response<'a>(
    uid: &'a str,
    nsp: &'a str,
    ty: MessageType,
    request_id: &str,
    rest: Vec<(&str, Value)>,
) -> Message<'a> {
    let mut data = vec![("requestId", Value::from(request_id))];
    data.extend(rest);
    message(uid, nsp, ty, data)
}

/// How many of our clients a broadcast with acknowledgements reached.
pub(crate) fn client_count<'a>(
    uid: &'a str,
    nsp: &'a str,
    request_id: &str,
    count: usize,
) -> Message<'a> {
    let rest = vec![("clientCount", Value::from(count as u64))];
    response(
        uid,
        nsp,
        MessageType::BroadcastClientCount,
        request_id,
        rest,
    )
}

/// One client's acknowledgement (its first argument, if any).
pub(crate) fn broadcast_ack<'a>(
    uid: &'a str,
    nsp: &'a str,
    request_id: &str,
    ack: Option<Value>,
) -> Message<'a> {
    let rest = ack.map(|a| vec![("packet", a)]).unwrap_or_default();
    response(uid, nsp, MessageType::BroadcastAck, request_id, rest)
}

/// The answer to `FETCH_SOCKETS`.
pub(crate) fn fetch_answer<'a>(
    uid: &'a str,
    nsp: &'a str,
    request_id: &str,
    sockets: &[SocketData],
) -> Message<'a> {
    let sockets = serde_json::to_string(sockets)
        .ok()
        .and_then(|json| value::parse_json(&json).ok())
        .unwrap_or(Value::Array(Vec::new()));
    let rest = vec![("sockets", sockets)];
    response(
        uid,
        nsp,
        MessageType::FetchSocketsResponse,
        request_id,
        rest,
    )
}

/// The answer to a `SERVER_SIDE_EMIT` (its first argument, if any).
pub(crate) fn server_side_answer<'a>(
    uid: &'a str,
    nsp: &'a str,
    request_id: &str,
    data: Option<Value>,
) -> Message<'a> {
    let rest = data.map(|d| vec![("packet", d)]).unwrap_or_default();
    response(
        uid,
        nsp,
        MessageType::ServerSideEmitResponse,
        request_id,
        rest,
    )
}

/// A response, in the shape of the classic adapter's answers that the
/// requests waiting for it read (`{type?, requestId, clientCount | packet |
/// sockets | data}`), with its request id.
pub(crate) fn as_classic_answer(msg: &Value) -> Option<(String, Value)> {
    let data = field(msg, "data")?;
    let id = wire::str_field(data, "requestId")?.to_owned();
    let get = |name| field(data, name).cloned();
    let (ty, key, value) = match MessageType::of(msg)? {
        MessageType::BroadcastClientCount => (
            Some(RequestType::BroadcastClientCount),
            "clientCount",
            get("clientCount"),
        ),
        MessageType::BroadcastAck => (Some(RequestType::BroadcastAck), "packet", get("packet")),
        MessageType::FetchSocketsResponse => (None, "sockets", get("sockets")),
        MessageType::ServerSideEmitResponse => {
            (Some(RequestType::ServerSideEmit), "data", get("packet"))
        }
        _ => return None,
    };
    let mut entries = Vec::with_capacity(3);
    if let Some(ty) = ty {
        entries.push(("type", Value::from(ty as u8)));
    }
    entries.push(("requestId", Value::from(id.as_str())));
    if let Some(value) = value {
        entries.push((key, value));
    }
    Some((id, map(entries)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(rooms: &[&str]) -> BroadcastOptions {
        BroadcastOptions::new(
            rooms.iter().map(|r| Str::from(r.to_string())).collect(),
            Vec::new(),
        )
    }

    #[test]
    fn messages_are_the_json_node_sends() {
        let b = broadcast(
            "u1",
            "/",
            ("hello", vec![Value::from(1)]),
            &opts(&["r"]),
            None,
        )
        .sharded();
        assert_eq!(
            String::from_utf8(b).unwrap(),
            r#"{"type":3,"data":{"packet":{"type":2,"data":["hello",1]},"opts":{"rooms":["r"],"except":[],"flags":{}}},"uid":"u1","nsp":"/"}"#
        );
        let f = fetch_sockets("u1", "/", "q", &opts(&[])).sharded();
        assert_eq!(
            String::from_utf8(f).unwrap(),
            r#"{"type":7,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"requestId":"q"},"uid":"u1","nsp":"/"}"#
        );
        let c = client_count("u2", "/", "q", 3).sharded();
        assert_eq!(
            String::from_utf8(c).unwrap(),
            r#"{"type":11,"data":{"requestId":"q","clientCount":3},"uid":"u2","nsp":"/"}"#
        );
    }

    #[test]
    fn a_message_with_bytes_is_msgpack() {
        let b = broadcast(
            "u",
            "/",
            ("file", vec![Value::Binary(vec![1])]),
            &opts(&[]),
            None,
        )
        .sharded();
        assert_ne!(b[0], b'{');
        let v = wire::decode(&b).unwrap();
        assert_eq!(MessageType::of(&v), Some(MessageType::Broadcast));
    }

    #[test]
    fn responses_become_the_classic_answers() {
        let answer = server_side_answer("u", "/", "q", Some(Value::from("hi"))).sharded();
        let (id, classic) = as_classic_answer(&wire::decode(&answer).unwrap()).unwrap();
        assert_eq!(id, "q");
        assert_eq!(RequestType::of(&classic), Some(RequestType::ServerSideEmit));
        assert_eq!(field(&classic, "data"), Some(&Value::from("hi")));
    }
}
