//! What other servers send: broadcasts to deliver here, requests to apply
//! here (and answer), and answers to this server's requests.

use std::sync::Arc;

use rmpv::Value;
use socketio_axum::{
    adapter::{BroadcastOptions, LocalNamespace, SocketData},
    Str,
};
use tokio::sync::oneshot;

use super::shared::Core;
use crate::{
    sharded::{self, MessageType},
    trace,
    value::{self, is_undefined},
    wire::{self, field, raw_args, str_field, Channels, RequestType},
};

/// Handles one message of the subscribed connection.
pub(crate) fn on_message(core: &Arc<Core>, channel: &str, pattern: Option<&str>, payload: &[u8]) {
    if core.config.sharded().is_some() || core.config.streams().is_some() {
        return match wire::decode(payload) {
            Ok(msg) => on_cluster_message(core, Some(channel), &msg, None),
            Err(e) => {
                trace::debug!(%channel, error = %e, "redis adapter: malformed message ignored")
            }
        };
    }
    let routes = core.routes.read().unwrap_or_else(|e| e.into_inner());
    let route = match pattern {
        Some(p) => routes.by_pattern(p),
        None => routes.by_channel(channel),
    };
    let Some(route) = route else {
        return;
    };
    let Some(ns) = route.ns.upgrade() else {
        return;
    };
    let channels = route.channels.clone();
    drop(routes);

    if pattern.is_some() {
        let Some(room) = channels.room_of(channel) else {
            return;
        };
        // A broadcast to one room this server has no member of.
        if !room.is_empty() && !ns.has_room(room) {
            return;
        }
        return match wire::decode(payload) {
            Ok(msg) => on_broadcast(core, &ns, &msg),
            Err(e) => {
                trace::debug!(%channel, error = %e, "redis adapter: malformed broadcast ignored")
            }
        };
    }
    let msg = match wire::decode(payload) {
        Ok(msg) => msg,
        Err(e) => {
            return trace::debug!(%channel, error = %e, "redis adapter: malformed message ignored")
        }
    };
    if channel == channels.request {
        on_request(core, &ns, &channels, &msg);
    } else if let Some(id) = str_field(&msg, "requestId") {
        // An answer: to one of our requests, or to another server's.
        core.requests.answer(id, msg.clone());
    }
}

/// `[uid, packet, opts]`, from another server or an emitter.
fn on_broadcast(core: &Core, ns: &LocalNamespace, msg: &Value) {
    let Value::Array(parts) = msg else {
        return;
    };
    let [uid, packet, rest @ ..] = parts.as_slice() else {
        return;
    };
    if uid.as_str() == Some(core.uid.as_str()) {
        return;
    }
    let Some((nsp, event, args)) = wire::event_of_packet(packet) else {
        return;
    };
    if nsp != ns.path() {
        return;
    }
    let (opts, _) = wire::opts_of(rest.first());
    ns.broadcast(wire::local_packet(nsp, event, args), &opts);
}

fn on_request(core: &Arc<Core>, ns: &LocalNamespace, channels: &Channels, req: &Value) {
    if str_field(req, "uid") == Some(core.uid.as_str()) {
        return;
    }
    let request_id = str_field(req, "requestId");
    // An answer that cannot be sent is logged by the link; the requester
    // stops waiting at its timeout.
    let answer = |payload: Vec<u8>| {
        let _ = core.link.publish(channels.response.clone(), payload);
    };
    let (opts, timeout) = wire::opts_of(field(req, "opts"));
    let Some(ty) = RequestType::of(req) else {
        return trace::debug!(ns = %ns.path(), "redis adapter: request of unknown type ignored");
    };
    match ty {
        RequestType::Sockets => {
            if let Some(id) = request_id {
                let opts = BroadcastOptions::new(wire::rooms_field(req, "rooms"), Vec::new());
                let ids: Vec<String> = ns.fetch_sockets(&opts).into_iter().map(|s| s.id).collect();
                answer(wire::sockets_answer(id, &ids));
            }
        }
        RequestType::AllRooms => {
            if let Some(id) = request_id {
                answer(wire::rooms_answer(id, &ns.rooms()));
            }
        }
        RequestType::RemoteJoin | RequestType::RemoteLeave => {
            let (opts, rooms) = match (field(req, "opts"), single_socket(req)) {
                (Some(_), _) => (opts, wire::rooms_field(req, "rooms")),
                (None, Some(one)) => match str_field(req, "room") {
                    Some(room) => (one, vec![Str::from(room.to_owned())]),
                    None => return,
                },
                (None, None) => return,
            };
            if ty == RequestType::RemoteJoin {
                ns.add_sockets(&opts, &rooms);
            } else {
                ns.del_sockets(&opts, &rooms);
            }
            if let (None, Some(id)) = (field(req, "opts"), request_id) {
                answer(wire::empty_answer(id));
            }
        }
        RequestType::RemoteDisconnect => {
            let close = field(req, "close")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            match (field(req, "opts"), single_socket(req)) {
                (Some(_), _) => ns.disconnect_sockets(&opts, close),
                (None, Some(one)) => {
                    ns.disconnect_sockets(&one, close);
                    if let Some(id) = request_id {
                        answer(wire::empty_answer(id));
                    }
                }
                (None, None) => {}
            }
        }
        RequestType::RemoteFetch => {
            if let Some(id) = request_id {
                replier(core, ns, channels, "").send(id, Reply::Sockets(ns.fetch_sockets(&opts)));
            }
        }
        RequestType::ServerSideEmit => {
            if let Some(Value::Array(data)) = field(req, "data") {
                on_server_side_emit(ns, replier(core, ns, channels, ""), request_id, data);
            }
        }
        RequestType::Broadcast => {
            let (Some(id), Some(packet)) = (request_id, field(req, "packet")) else {
                return;
            };
            let replier = replier(core, ns, channels, "");
            on_broadcast_with_ack(ns, replier, id, packet, &opts, timeout);
        }
        RequestType::BroadcastClientCount | RequestType::BroadcastAck => {}
    }
}

/// An entry of the streams protocol's stream: a message of the cluster
/// protocol whose offset is the entry's id.
pub(crate) fn on_stream_entry(core: &Arc<Core>, entry: &crate::link::Entry) {
    match sharded::from_stream_fields(|name| entry.get(name).map(<[u8]>::to_vec)) {
        Some(msg) => on_cluster_message(core, None, &msg, Some(&entry.id)),
        None => trace::debug!(id = %entry.id, "redis adapter: malformed stream entry ignored"),
    }
}

/// A message of socket.io-adapter's cluster protocol (Node's sharded and
/// streams adapters): `{type, data, uid, nsp}`, on the namespace's channel,
/// a room's, or this server's response channel; or read from the stream,
/// with its entry's id as `offset`.
fn on_cluster_message(core: &Arc<Core>, channel: Option<&str>, msg: &Value, offset: Option<&str>) {
    let channel = channel.unwrap_or("stream");
    let Some(nsp) = str_field(msg, "nsp") else {
        return trace::debug!(%channel, "redis adapter: message without a namespace ignored");
    };
    let routes = core.routes.read().unwrap_or_else(|e| e.into_inner());
    let Some(route) = routes.by_path(nsp) else {
        return;
    };
    let Some(ns) = route.ns.upgrade() else {
        return;
    };
    let channels = route.channels.clone();
    let recovery = route.recovery.load(std::sync::atomic::Ordering::Acquire);
    drop(routes);

    let Some(ty) = MessageType::of(msg) else {
        return trace::debug!(%channel, "redis adapter: message of an unknown type ignored");
    };
    let requester = str_field(msg, "uid").unwrap_or_default();
    let answer = matches!(
        ty,
        MessageType::FetchSocketsResponse
            | MessageType::ServerSideEmitResponse
            | MessageType::BroadcastClientCount
            | MessageType::BroadcastAck
    );
    if answer || channel == channels.own_response {
        if let Some((id, answer)) = sharded::as_classic_answer(msg) {
            core.requests.answer(&id, answer);
        }
        return;
    }
    if requester == core.uid {
        return;
    }
    let Some(data) = field(msg, "data") else {
        return;
    };
    let request_id = str_field(data, "requestId");
    let (opts, timeout) = wire::opts_of(field(data, "opts"));
    let replier = replier(core, &ns, &channels, requester);
    match ty {
        MessageType::Broadcast => {
            let Some(packet) = field(data, "packet") else {
                return;
            };
            match request_id {
                Some(id) => on_broadcast_with_ack(&ns, replier, id, packet, &opts, timeout),
                None => {
                    // The message names the namespace: Node's cluster
                    // adapter writes the packet without one.
                    let Some((_, event, args)) = wire::event_of_packet(packet) else {
                        return;
                    };
                    let nsp = ns.path();
                    // With recovery on, the stream's entry id is the
                    // offset (Node's `addOffsetIfNecessary`).
                    match offset {
                        Some(offset)
                            if recovery && !opts.volatile && field(packet, "id").is_none() =>
                        {
                            let mut args = args.to_vec();
                            args.push(Value::from(offset));
                            ns.broadcast_stored(wire::local_packet(nsp, event, &args), &opts);
                        }
                        // From the stream, or by pub/sub to servers whose
                        // store is the stream: never stored again.
                        _ if offset.is_some() || channels.is_streams() => {
                            ns.broadcast_stored(wire::local_packet(nsp, event, args), &opts)
                        }
                        _ => ns.broadcast(wire::local_packet(nsp, event, args), &opts),
                    }
                }
            }
        }
        MessageType::SocketsJoin => ns.add_sockets(&opts, &wire::rooms_field(data, "rooms")),
        MessageType::SocketsLeave => ns.del_sockets(&opts, &wire::rooms_field(data, "rooms")),
        MessageType::DisconnectSockets => {
            let close = field(data, "close").and_then(Value::as_bool);
            ns.disconnect_sockets(&opts, close.unwrap_or(false));
        }
        MessageType::FetchSockets => {
            if let Some(id) = request_id {
                replier.send(id, Reply::Sockets(ns.fetch_sockets(&opts)));
            }
        }
        MessageType::ServerSideEmit => {
            if let Some(Value::Array(packet)) = field(data, "packet") {
                on_server_side_emit(&ns, replier, request_id, packet);
            }
        }
        _ => {}
    }
}

/// An answer to another server's request.
enum Reply {
    ClientCount(usize),
    /// A client's acknowledgement (its first argument).
    Ack(Option<Value>),
    Sockets(Vec<SocketData>),
    /// A server-side handler's answer (its first argument).
    ServerSide(Option<Value>),
}

/// Sends the answers to one request, in the namespace's protocol.
#[derive(Clone)]
struct Replier {
    core: Arc<Core>,
    channel: String,
    nsp: String,
    channels: Channels,
}

/// The replier of a request from `requester` (the classic protocol answers
/// every server on one channel, and ignores it).
fn replier(core: &Arc<Core>, ns: &LocalNamespace, channels: &Channels, requester: &str) -> Replier {
    Replier {
        core: core.clone(),
        channel: channels.response_to(requester),
        nsp: ns.path().to_owned(),
        channels: channels.clone(),
    }
}

impl Replier {
    fn send(&self, id: &str, reply: Reply) {
        let (uid, nsp) = (self.core.uid.as_str(), self.nsp.as_str());
        let encode = |m: sharded::Message<'_>| m.encode(&self.channels);
        let payload = match (self.channels.is_sharded(), reply) {
            (false, Reply::ClientCount(n)) => wire::client_count(id, n),
            (false, Reply::Ack(v)) => wire::broadcast_ack(id, v),
            (false, Reply::Sockets(s)) => wire::fetch_answer(id, &s),
            (false, Reply::ServerSide(v)) => wire::server_side_answer(id, v),
            (true, Reply::ClientCount(n)) => encode(sharded::client_count(uid, nsp, id, n)),
            (true, Reply::Ack(v)) => encode(sharded::broadcast_ack(uid, nsp, id, v)),
            (true, Reply::Sockets(s)) => encode(sharded::fetch_answer(uid, nsp, id, &s)),
            (true, Reply::ServerSide(v)) => encode(sharded::server_side_answer(uid, nsp, id, v)),
        };
        // An answer that cannot be sent is logged by the link; the
        // requester stops waiting at its timeout.
        let _ = self.core.link.publish(self.channel.clone(), payload);
    }
}

/// Delivers a broadcast that expects acknowledgements to the sockets here,
/// answers how many it reached, then each acknowledgement.
fn on_broadcast_with_ack(
    ns: &LocalNamespace,
    replier: Replier,
    id: &str,
    packet: &Value,
    opts: &BroadcastOptions,
    timeout: Option<std::time::Duration>,
) {
    let Some((_, event, args)) = wire::event_of_packet(packet) else {
        return;
    };
    let timeout = timeout.unwrap_or(replier.core.config.request_timeout());
    let (count, mut acks) = ns.broadcast_with_ack(event, raw_args(args), opts, timeout);
    replier.send(id, Reply::ClientCount(count));
    let id = id.to_owned();
    tokio::spawn(async move {
        while let Some(ack) = acks.recv().await {
            let first = value::args_to_values(&ack.args, &ack.attachments)
                .ok()
                .and_then(|v| v.into_iter().next());
            replier.send(&id, Reply::Ack(first));
        }
    });
}

/// The target of an old single-socket request (`{sid, room}`).
fn single_socket(req: &Value) -> Option<BroadcastOptions> {
    let sid = str_field(req, "sid")?;
    Some(BroadcastOptions::new(
        vec![Str::from(sid.to_owned())],
        Vec::new(),
    ))
}

/// Hands a server-side event (`data` is `[event, ...args]`) to the
/// handler here, and sends its answer when the request has an id.
fn on_server_side_emit(
    ns: &LocalNamespace,
    replier: Replier,
    request_id: Option<&str>,
    data: &[Value],
) {
    let Some((event, args)) = data.split_first() else {
        return;
    };
    let Some(event) = event.as_str() else {
        return;
    };
    let args = raw_args(args);
    let Some(id) = request_id else {
        ns.server_side_event(Str::from(event.to_owned()), args, None);
        return;
    };
    let (tx, rx) = oneshot::channel();
    ns.server_side_event(Str::from(event.to_owned()), args, Some(tx));
    let id = id.to_owned();
    tokio::spawn(async move {
        // The requester gives up after its own timeout; so does this wait.
        let wait = replier.core.config.request_timeout();
        let Ok(Ok(reply)) = tokio::time::timeout(wait, rx).await else {
            return;
        };
        let first = value::args_to_values(&reply.args, &reply.attachments)
            .ok()
            .and_then(|v| v.into_iter().next())
            .filter(|v| !is_undefined(v));
        replier.send(&id, Reply::ServerSide(first));
    });
}
