//! A socket as the UI wants it (Node's `serialize`): `{ id, clientId,
//! transport, nsp, data, handshake, rooms }`, from a socket here or from
//! what another server answered to `fetch_sockets`.

use serde_json::{json, Map, Value};

use crate::{adapter::SocketData, RemoteSocket, SocketIo, SocketRef};

/// The key under which a socket's connection id and transport travel in
/// its `data` to other servers, as Node's instrumentation puts them.
pub(super) const ADMIN_KEY: &str = "_admin";

pub(super) fn from_data(nsp: &str, s: &SocketData) -> Value {
    socket(nsp, &s.id, &s.handshake, &s.rooms, &s.data)
}

/// A socket of this server carries no `_admin` in its data (only the
/// answers to other servers do): it is added here.
fn from_remote(nsp: &str, s: &RemoteSocket) -> Value {
    match s.as_local() {
        Some(local) => {
            let mut data = s.data().clone();
            decorate(local, &mut data);
            socket(nsp, s.id(), s.handshake(), s.rooms(), &data)
        }
        None => socket(nsp, s.id(), s.handshake(), s.rooms(), s.data()),
    }
}

fn socket(nsp: &str, id: &str, handshake: &Value, rooms: &[String], data: &Value) -> Value {
    let admin = data.get(ADMIN_KEY);
    let field = |name| {
        admin
            .and_then(|a| a.get(name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let header = |name| handshake.get("headers").and_then(|h| h.get(name)).cloned();
    let address = header("cf-connecting-ip")
        .or_else(|| header("x-forwarded-for"))
        .or_else(|| handshake.get("address").cloned())
        .unwrap_or(Value::Null);
    let mut shown = Map::new();
    shown.insert("address".into(), address);
    for key in [
        "headers", "query", "issued", "secure", "time", "url", "xdomain",
    ] {
        if let Some(v) = handshake.get(key) {
            shown.insert(key.into(), v.clone());
        }
    }
    json!({
        "id": id,
        "clientId": field("clientId"),
        "transport": field("transport"),
        "nsp": nsp,
        "data": user_data(data),
        "handshake": shown,
        "rooms": rooms,
    })
}

/// `data` without the instrumentation's key (Node's `serializeData`).
pub(super) fn user_data(data: &Value) -> Value {
    match data {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != ADMIN_KEY)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        Value::Null => Value::Object(Map::new()),
        other => other.clone(),
    }
}

/// Every socket of every namespace, on every server (Node's
/// `fetchAllSockets`). A namespace whose servers did not all answer in
/// time is left out, with a `tracing` warning.
pub(super) async fn all_sockets(io: &SocketIo) -> Vec<Value> {
    // Every namespace at once, as Node's `Promise.all`: a server that does
    // not answer costs one timeout, not one per namespace.
    let fetches = io.namespaces().into_iter().filter_map(|nsp| {
        let ops = io.of(&nsp)?;
        Some(async move { (ops.fetch_sockets().await, nsp) })
    });
    let mut out = Vec::new();
    for (fetched, nsp) in futures_util::future::join_all(fetches).await {
        match fetched {
            Ok(sockets) => out.extend(sockets.iter().map(|s| from_remote(&nsp, s))),
            Err(e) => {
                crate::trace::warn!(ns = %nsp, error = %e, "socket.io admin: fetching the sockets failed");
            }
        }
    }
    out
}

/// Adds the connection id and transport under `_admin` to a socket's data,
/// as Node's instrumentation keeps them there for other servers' UIs.
pub(super) fn decorate(socket: &SocketRef, data: &mut Value) {
    let admin = json!({
        "clientId": client_id(socket),
        "transport": socket.conn().transport().as_str(),
    });
    match data {
        Value::Object(m) => {
            m.insert(ADMIN_KEY.into(), admin);
        }
        Value::Null => *data = json!({ ADMIN_KEY: admin }),
        // Data that is not an object cannot carry the key (in Node
        // neither: the instrumentation replaces it with an object).
        _ => {}
    }
}

/// The first 12 characters of the connection's id, as Node shows it ("this
/// information is quite sensitive").
fn client_id(socket: &SocketRef) -> String {
    socket
        .connection_id()
        .to_string()
        .chars()
        .take(12)
        .collect()
}
