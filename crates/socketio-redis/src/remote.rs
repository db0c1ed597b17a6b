//! What other servers send: broadcasts to deliver here, requests to apply
//! here (and answer), and answers to this server's requests.

use std::sync::Arc;

use rmpv::Value;
use socketio_axum::{
    adapter::{BroadcastOptions, LocalNamespace},
    Str,
};
use tokio::sync::oneshot;

use crate::{
    adapter::{raw_args, Core},
    trace,
    value::{self, is_undefined},
    wire::{self, field, str_field, Channels, RequestType},
};

/// Handles one message of the subscribed connection.
pub(crate) fn on_message(core: &Arc<Core>, channel: &str, pattern: Option<&str>, payload: &[u8]) {
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
                let opts = BroadcastOptions {
                    rooms: wire::rooms_field(req, "rooms"),
                    ..Default::default()
                };
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
                answer(wire::fetch_answer(id, &ns.fetch_sockets(&opts)));
            }
        }
        RequestType::ServerSideEmit => on_server_side_emit(core, ns, channels, req),
        RequestType::Broadcast => {
            let (Some(id), Some(packet)) = (request_id, field(req, "packet")) else {
                return;
            };
            let Some((_, event, args)) = wire::event_of_packet(packet) else {
                return;
            };
            let timeout = timeout.unwrap_or(core.config.request_timeout());
            let (count, mut acks) = ns.broadcast_with_ack(event, raw_args(args), &opts, timeout);
            answer(wire::client_count(id, count));
            let (core, id, channel) = (core.clone(), id.to_owned(), channels.response.clone());
            tokio::spawn(async move {
                while let Some(ack) = acks.recv().await {
                    let first = value::args_to_values(&ack.args, &ack.attachments)
                        .ok()
                        .and_then(|v| v.into_iter().next());
                    let _ = core
                        .link
                        .publish(channel.clone(), wire::broadcast_ack(&id, first));
                }
            });
        }
        RequestType::BroadcastClientCount | RequestType::BroadcastAck => {}
    }
}

/// The target of an old single-socket request (`{sid, room}`).
fn single_socket(req: &Value) -> Option<BroadcastOptions> {
    let sid = str_field(req, "sid")?;
    Some(BroadcastOptions {
        rooms: vec![Str::from(sid.to_owned())],
        ..Default::default()
    })
}

fn on_server_side_emit(core: &Arc<Core>, ns: &LocalNamespace, channels: &Channels, req: &Value) {
    let Some(Value::Array(data)) = field(req, "data") else {
        return;
    };
    let Some((event, args)) = data.split_first() else {
        return;
    };
    let Some(event) = event.as_str() else {
        return;
    };
    let args = raw_args(args);
    let Some(id) = str_field(req, "requestId") else {
        ns.server_side_event(Str::from(event.to_owned()), args, None);
        return;
    };
    let (tx, rx) = oneshot::channel();
    ns.server_side_event(Str::from(event.to_owned()), args, Some(tx));
    let (core, id, channel) = (core.clone(), id.to_owned(), channels.response.clone());
    tokio::spawn(async move {
        // The requester gives up after its own timeout; so does this wait.
        let wait = core.config.request_timeout();
        let Ok(Ok(reply)) = tokio::time::timeout(wait, rx).await else {
            return;
        };
        let first = value::args_to_values(&reply.args, &reply.attachments)
            .ok()
            .and_then(|v| v.into_iter().next())
            .filter(|v| !is_undefined(v));
        let _ = core
            .link
            .publish(channel, wire::server_side_answer(&id, first));
    });
}
