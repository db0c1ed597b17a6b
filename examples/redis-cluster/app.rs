//! The application of `examples/redis-cluster`: one server of a cluster whose
//! servers meet in Redis (ours, and Node.js servers with
//! `@socket.io/redis-adapter` on the same key prefix). Every route acts on
//! the whole cluster, whichever server it is sent to.
//!
//! | request | cluster-wide operation |
//! |---|---|
//! | `GET /servers` | [`server_count`](SocketIo::server_count): the servers in the cluster |
//! | `POST /emit/{event}?to=ROOM` (text body) | [`emit`](socketio_axum::BroadcastOperators::emit) to every socket, or to a room's |
//! | `GET /sockets?in=ROOM` | [`fetch_sockets`](socketio_axum::BroadcastOperators::fetch_sockets): id, rooms and `data` of each socket, on any server |
//! | `POST /sockets/join?in=ROOM&room=NEW` | [`join`](socketio_axum::BroadcastOperators::join) (Node's `socketsJoin`) |
//! | `POST /sockets/leave?in=ROOM&room=OLD` | [`leave`](socketio_axum::BroadcastOperators::leave) (Node's `socketsLeave`) |
//! | `POST /sockets/disconnect?in=ROOM` | [`disconnect`](socketio_axum::BroadcastOperators::disconnect) (Node's `disconnectSockets`) |
//! | `POST /servers/ask` (text body) | [`server_side_emit`](SocketIo::server_side_emit) with an ack: each other server's answer |
//!
//! Without `in`, an operation takes every socket of the cluster. A client
//! gives its name and rooms in its handshake's `auth`
//! (`{"name": "ann", "rooms": ["lobby"]}`); the name is kept as the socket's
//! `data`, which `GET /sockets` shows for the sockets of every server, Node's
//! included. Each server answers the `question` server-side event with its
//! name and the question.

use std::time::Duration;

use axum::{
    extract::{Path, Query},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use socketio_axum::{
    adapter::ServerSideEvent,
    extract::{Data, TryData},
    BroadcastOperators, ClientBundle, SocketIo, SocketIoConfig, SocketRef,
};
use socketio_redis::RedisAdapter;

/// How long `POST /servers/ask` waits for the other servers' answers.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(2);

/// The application of one server of the cluster, named `server` in what it
/// sends. `client`, when given, is served at `/socket.io/socket.io.min.js`
/// for the page at `/`.
pub fn app(
    adapter: RedisAdapter,
    server: &str,
    client: Option<ClientBundle>,
) -> (Router, SocketIo) {
    let mut config = SocketIoConfig::builder();
    if let Some(client) = client {
        config = config.serve_client(client);
    }
    let (layer, io) = SocketIo::builder()
        .config(config.build())
        .adapter(adapter)
        .build_layer();

    let me = server.to_owned();
    io.ns(
        "/",
        move |socket: SocketRef, TryData(auth): TryData<Auth>| {
            let me = me.clone();
            async move {
                // A client without (or with another) auth is welcome too.
                let auth = auth.unwrap_or_default();
                // What other servers see of this socket in `fetch_sockets`,
                // as Node's `socket.data`.
                socket.set_data(json!({ "name": auth.name }));
                socket.join(auth.rooms);
                let _ = socket.emit("welcome", &json!({ "server": me }));
                socket.on(
                    "chat",
                    move |socket: SocketRef, Data(text): Data<String>| async move {
                        // Every client of every server, the sender included.
                        let message =
                            json!({ "server": me, "from": socket.id().to_string(), "text": text });
                        let _ = socket.io().emit("chat", &message);
                    },
                );
            }
        },
    );

    // Answers the other servers' `server_side_emit("question", ..)`.
    let me = server.to_owned();
    io.on_server_side(move |event: ServerSideEvent| {
        tracing::info!(event = event.event(), "server-side event");
        if event.event() == "question" && event.expects_ack() {
            let question = event.data::<String>().unwrap_or_default();
            let _ = event.ack(&json!({ "server": me, "question": question }));
        }
    });

    let me = server.to_owned();
    let page = PAGE.replace("{server}", server);
    let app = Router::new()
        .route("/", get(move || async move { Html(page) }))
        .route("/servers", get(servers))
        .route(
            "/emit/{event}",
            post(
                move |io: SocketIo,
                      Path(event): Path<String>,
                      Query(q): Query<In>,
                      text: String| async move {
                    let message = json!({ "server": me, "from": "http", "text": text });
                    match members(&io, q.to).emit(&event, &message) {
                        Ok(()) => (StatusCode::OK, "sent\n".to_owned()),
                        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("not sent: {e}\n")),
                    }
                },
            ),
        )
        .route("/sockets", get(fetch_sockets))
        .route("/sockets/join", post(sockets_join))
        .route("/sockets/leave", post(sockets_leave))
        .route("/sockets/disconnect", post(disconnect_sockets))
        .route("/servers/ask", post(ask))
        .layer(layer);
    (app, io)
}

/// What a client gives in its handshake's `auth`.
#[derive(Debug, Default, Deserialize)]
struct Auth {
    name: Option<String>,
    #[serde(default)]
    rooms: Vec<String>,
}

/// The query of the routes: the sockets concerned (`in`, or `to` for an
/// emit; none for all), and the room to join or leave.
#[derive(Debug, Deserialize)]
struct In {
    #[serde(rename = "in", alias = "to")]
    to: Option<String>,
    room: Option<String>,
}

/// The sockets of the cluster in `room`, or all of them.
fn members(io: &SocketIo, room: Option<String>) -> BroadcastOperators {
    // No room is every socket, as Node's `io.to([])`.
    io.to(Vec::from_iter(room))
}

/// An adapter failure (Redis unreachable, a server that does not answer).
fn unavailable(e: impl std::fmt::Display) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response()
}

fn room_required() -> Response {
    (StatusCode::BAD_REQUEST, "give the room: ?room=NAME\n").into_response()
}

async fn servers(io: SocketIo) -> Response {
    match io.server_count().await {
        Ok(n) => Json(json!({ "servers": n })).into_response(),
        Err(e) => unavailable(e),
    }
}

async fn fetch_sockets(io: SocketIo, Query(q): Query<In>) -> Response {
    match members(&io, q.to).fetch_sockets().await {
        Ok(sockets) => Json(
            sockets
                .iter()
                .map(|s| json!({ "id": s.id(), "rooms": s.rooms(), "data": s.data() }))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => unavailable(e),
    }
}

async fn sockets_join(io: SocketIo, Query(q): Query<In>) -> Response {
    let Some(room) = q.room else {
        return room_required();
    };
    match members(&io, q.to).join(room) {
        Ok(()) => "joined\n".into_response(),
        Err(e) => unavailable(e),
    }
}

async fn sockets_leave(io: SocketIo, Query(q): Query<In>) -> Response {
    let Some(room) = q.room else {
        return room_required();
    };
    match members(&io, q.to).leave(room) {
        Ok(()) => "left\n".into_response(),
        Err(e) => unavailable(e),
    }
}

async fn disconnect_sockets(io: SocketIo, Query(q): Query<In>) -> Response {
    match members(&io, q.to).disconnect() {
        Ok(()) => "disconnected\n".into_response(),
        Err(e) => unavailable(e),
    }
}

/// Asks every other server `question`; each answers with one value. A
/// server that does not answer within [`ASK_TIMEOUT`] makes the answer a
/// 504 that still lists the answers that came.
async fn ask(io: SocketIo, text: String) -> Response {
    let answers = |replies: &[socketio_axum::extract::RawArgs]| -> Vec<Value> {
        replies
            .iter()
            .map(|r| r.data::<Value>().unwrap_or(Value::Null))
            .collect()
    };
    match io
        .server_side_emit("question", &text, Some(ASK_TIMEOUT))
        .await
    {
        Ok(replies) => Json(json!({ "answers": answers(&replies) })).into_response(),
        Err(e) => (
            StatusCode::GATEWAY_TIMEOUT,
            Json(json!({ "answers": answers(e.replies()), "error": e.error().to_string() })),
        )
            .into_response(),
    }
}

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>redis-cluster: {server}</title>
<h1>Server {server}</h1>
<form id="f"><input id="t" autocomplete="off" placeholder="message"><button>Send</button></form>
<ul id="log"></ul>
<script src="/socket.io/socket.io.min.js"></script>
<script>
  const socket = io({ transports: ["websocket"], auth: { name: "page", rooms: ["lobby"] } });
  const log = (text) => {
    const li = document.createElement("li");
    li.textContent = text;
    document.getElementById("log").prepend(li);
  };
  socket.on("welcome", (m) => log(`connected to ${m.server}`));
  socket.on("chat", (m) => log(`[sent via ${m.server}] ${m.text}`));
  document.getElementById("f").onsubmit = (e) => {
    e.preventDefault();
    const input = document.getElementById("t");
    socket.emit("chat", input.value);
    input.value = "";
  };
</script>
"#;
