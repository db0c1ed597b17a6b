//! The admin namespace: its login, what a UI gets on connecting (`session`,
//! `config`, `all_sockets`), and the UI's actions (Node's
//! `registerFeatureHandlers`), which act on the whole cluster.

use std::sync::Arc;

use serde_json::json;
use socketio_protocol::Str;

use super::{
    auth::{BasicAuth, NewSession},
    serialize, Mode,
};
use crate::{extract::Data, BroadcastOperators, NamespaceRef, SocketIo, SocketRef, Spread, Value};

/// The features the UI may offer (Node's `Feature` names): the actions
/// unless read-only, the aggregated counts, and every event in development.
pub(super) fn features(read_only: bool, mode: Mode) -> Vec<&'static str> {
    let mut out = if read_only {
        Vec::new()
    } else {
        vec![
            "EMIT",
            "JOIN",
            "LEAVE",
            "DISCONNECT",
            "MJOIN",
            "MLEAVE",
            "MDISCONNECT",
        ]
    };
    out.push("AGGREGATED_EVENTS");
    if mode == Mode::Development {
        out.push("ALL_EVENTS");
    }
    out
}

/// Registers the admin namespace, its login in place before any client can
/// join it.
pub(super) fn register(
    io: &SocketIo,
    ns: &Str,
    auth: Option<BasicAuth>,
    features: Vec<&'static str>,
    mode: Mode,
) {
    let features = Arc::new(features);
    let mut reg = NamespaceRef::new(ns.clone(), move |socket: SocketRef| {
        let features = features.clone();
        async move { on_connect(socket, &features, mode).await }
    });
    if let Some(auth) = auth {
        let auth = Arc::new(auth);
        reg = reg.with(move |socket: SocketRef| {
            let auth = auth.clone();
            async move { auth.check(socket).await }
        });
    }
    io.register(reg);
}

async fn on_connect(socket: SocketRef, features: &[&'static str], mode: Mode) {
    if let Some(NewSession(id)) = socket.remove_extension::<NewSession>() {
        let _ = socket.emit("session", &id);
    }
    if features.contains(&"EMIT") {
        socket.on("emit", on_emit);
        socket.on(
            "join",
            |socket: SocketRef, Data(Spread(args)): Data<Spread<Value>>| async move {
                if let Some((ops, room)) = target(&socket.io(), &args) {
                    log_failure("join", ops.join(room));
                }
            },
        );
        socket.on(
            "leave",
            |socket: SocketRef, Data(Spread(args)): Data<Spread<Value>>| async move {
                if let Some((ops, room)) = target(&socket.io(), &args) {
                    log_failure("leave", ops.leave(room));
                }
            },
        );
        socket.on(
            "_disconnect",
            |socket: SocketRef, Data(Spread(args)): Data<Spread<Value>>| async move {
                // `(nsp, close, filter)`: `close` (closing the connections
                // too) is not offered here, the sockets are disconnected.
                if let Some(ops) = namespace(&socket.io(), &args, 2) {
                    log_failure("_disconnect", ops.disconnect());
                }
            },
        );
    }
    let _ = socket.emit("config", &json!({ "supportedFeatures": features }));
    if mode == Mode::Development {
        let sockets = serialize::all_sockets(&socket.io()).await;
        let _ = socket.emit("all_sockets", &(sockets,));
    }
}

/// `emit(nsp, filter, event, ...args)`: the event to the namespace, or to
/// the room `filter` in it.
async fn on_emit(socket: SocketRef, Data(Spread(mut args)): Data<Spread<Value>>) {
    let Some(ops) = namespace(&socket.io(), &args, 1) else {
        return;
    };
    if args.len() < 3 {
        return;
    }
    let rest = args.split_off(3);
    let Some(event) = args[2].as_str() else {
        return;
    };
    if let Err(e) = ops.emit(event, &Spread(rest)) {
        crate::trace::debug!(error = %e, "socket.io admin: emit not sent to every server");
    }
}

/// `(nsp, room, filter)` of `join` and `leave`: the targets and the room.
fn target(io: &SocketIo, args: &[Value]) -> Option<(BroadcastOperators, String)> {
    let room = args.get(1)?.as_str()?.to_owned();
    Some((namespace(io, args, 2)?, room))
}

/// The namespace named by the first argument, narrowed to the room named
/// by the argument at `filter`, if it is a string. A namespace that does
/// not exist here is ignored (Node's `io.of` would create it).
fn namespace(io: &SocketIo, args: &[Value], filter: usize) -> Option<BroadcastOperators> {
    let path = args.first()?.as_str()?;
    let Some(ops) = io.of(path) else {
        crate::trace::debug!(
            ns = path,
            "socket.io admin: action on a namespace this server does not have"
        );
        return None;
    };
    Some(match args.get(filter).and_then(Value::as_str) {
        Some(room) if !room.is_empty() => ops.to(room.to_owned()),
        _ => ops,
    })
}

fn log_failure(action: &str, result: Result<(), crate::adapter::AdapterError>) {
    if let Err(e) = result {
        crate::trace::debug!(action, error = %e, "socket.io admin: action not sent to every server");
    }
}
