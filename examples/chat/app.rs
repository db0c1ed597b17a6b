//! The chat of `examples/chat`: a page and its script, the official browser
//! client, and the Socket.IO handlers behind them.
//!
//! What the client can do, and what the server does with it:
//!
//! | client | server |
//! |---|---|
//! | connect with `auth: { name }` | the `nickname` middleware refuses an empty or long name (the page shows why) and keeps it on the socket |
//! | `join` a room, acknowledged | leaves the previous room, joins the new one, tells both rooms, sends everyone the room list |
//! | `message`, acknowledged | sends it to the others in the room, then acknowledges: the sender's tick |
//! | `typing` | tells the others in the room, *volatile*: dropped rather than queued for a slow client |
//! | disconnects | everyone gets the new room list |
//!
//! The server keeps no state of its own: rooms and their members are
//! Socket.IO's, and the nickname is an extension on each socket.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    http::header::{CACHE_CONTROL, CONTENT_TYPE},
    response::{Html, IntoResponse},
    routing::get,
    Router,
};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;
use socketio_axum::{
    extract::{AckSender, Data, Extension},
    ConnectError, Room, SocketIo, SocketRef,
};

const INDEX_HTML: &str = include_str!("static/index.html");
const CHAT_JS: &str = include_str!("static/chat.js");
const STYLE_CSS: &str = include_str!("static/style.css");

/// The room every client starts in. Leaving a room means going back to it.
pub const LOBBY: &str = "lobby";
const MAX_NICKNAME: usize = 24;
const MAX_ROOM: usize = 32;
const MAX_MESSAGE: usize = 500;

/// Where the official browser client, `socket.io-client`'s
/// `dist/socket.io.min.js`, is once `npm ci --prefix tests` has run: the
/// version is pinned by `tests/package-lock.json`, shared with the tests.
pub fn client_bundle_path() -> PathBuf {
    tests_dir().join("node_modules/socket.io-client/dist/socket.io.min.js")
}

/// Reads the browser client, installing the pinned npm packages first when
/// they are missing.
pub fn load_client_bundle() -> Result<Bytes, String> {
    let path = client_bundle_path();
    let tests_dir = tests_dir();
    let install = format!("npm ci --prefix {}", tests_dir.display());
    if !path.is_file() {
        eprintln!("socket.io-client is not installed; running `{install}`");
        let ok = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tests_dir)
            .status()
            .is_ok_and(|status| status.success());
        if !ok {
            return Err(format!(
                "could not install socket.io-client: run `{install}`, then start the example again"
            ));
        }
    }
    std::fs::read(&path)
        .map(Bytes::from)
        .map_err(|e| format!("{}: {e} (run `{install}`)", path.display()))
}

/// The repository's `tests/` folder, where `package.json` pins the npm packages.
pub fn tests_dir() -> PathBuf {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR"));
    examples.parent().unwrap_or(examples).join("tests")
}

/// The chat: its page at `/`, its assets, and Socket.IO at `/socket.io/`.
/// `client_js` is the browser client to serve (see [`client_bundle_path`]).
///
/// The [`SocketIo`] handle is returned too, to close the connections on
/// shutdown.
pub fn app(client_js: Bytes) -> (Router, SocketIo) {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", on_connect).with(nickname);

    let router = Router::new()
        .route("/", get(|| async { Html(INDEX_HTML) }))
        .route(
            "/chat.js",
            get(|| async { asset("text/javascript", CHAT_JS) }),
        )
        .route("/style.css", get(|| async { asset("text/css", STYLE_CSS) }))
        .route(
            "/socket.io.min.js",
            get(move || {
                let js = client_js.clone();
                async move { asset("text/javascript", js) }
            }),
        )
        .layer(layer);
    (router, io)
}

fn asset(content_type: &'static str, body: impl IntoResponse) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")],
        body,
    )
}

/// The nickname a socket chose, stored on it by [`nickname`].
#[derive(Debug, Clone)]
struct Nickname(Arc<str>);

/// The `auth` object the client connects with.
#[derive(Debug, Deserialize)]
struct Auth {
    #[serde(default)]
    name: String,
}

/// Connect middleware: a client without a proper nickname is refused with
/// a `CONNECT_ERROR`, whose message the page shows. One with a nickname
/// keeps it on its socket, for the handlers' [`Extension`] extractor.
async fn nickname(socket: SocketRef, Data(auth): Data<Auth>) -> Result<(), ConnectError> {
    let name = auth.name.trim();
    if name.is_empty() {
        return Err(ConnectError::new("Please choose a nickname."));
    }
    if name.chars().count() > MAX_NICKNAME {
        return Err(ConnectError::new(format!(
            "A nickname has at most {MAX_NICKNAME} characters."
        )));
    }
    socket.insert_extension(Nickname(name.into()));
    Ok(())
}

/// Runs for each client that passed the middleware. The page joins a room
/// (the lobby, or the one it was in before a reconnection) right after.
async fn on_connect(socket: SocketRef) {
    socket.on("join", join);
    socket.on("message", message);
    socket.on("typing", typing);
    // The socket has left its rooms by then: the counts are right.
    socket.on_disconnect(|io: SocketIo| async move { send_room_list(&io) });
}

/// `join(room, ack)`: moves the socket to `room` and acknowledges with
/// `{ room }`, or `{ error }`.
async fn join(
    socket: SocketRef,
    Extension(nick): Extension<Nickname>,
    Data(room): Data<String>,
    ack: AckSender,
) {
    let room = room.trim();
    if room.is_empty() || room.chars().count() > MAX_ROOM {
        let _ =
            ack.send(&json!({ "error": format!("A room name has 1 to {MAX_ROOM} characters.") }));
        return;
    }
    match chat_room(&socket) {
        Some(current) if current == room => {}
        Some(current) => {
            socket.leave(current.clone());
            let _ = socket
                .to(current)
                .emit("notice", &format!("{} left", nick.0));
            enter(&socket, &nick, room);
        }
        None => enter(&socket, &nick, room),
    }
    let _ = ack.send(&json!({ "room": room }));
    send_room_list(&socket.io());
}

fn enter(socket: &SocketRef, nick: &Nickname, room: &str) {
    socket.join(room.to_owned());
    let _ = socket
        .to(room)
        .emit("notice", &format!("{} joined", nick.0));
}

/// A chat message as the others in the room receive it.
#[derive(Debug, Serialize)]
struct ChatMessage<'a> {
    from: &'a str,
    text: &'a str,
    /// Milliseconds since the Unix epoch, when the server got it.
    at: u64,
}

/// `message(text, ack)`: sends the text to the others in the room, then
/// acknowledges with `{ at }` (the page ticks the message), or `{ error }`.
async fn message(
    socket: SocketRef,
    Extension(nick): Extension<Nickname>,
    Data(text): Data<String>,
    ack: AckSender,
) {
    let text = text.trim();
    let Some(room) = chat_room(&socket) else {
        let _ = ack.send(&json!({ "error": "Join a room first." }));
        return;
    };
    if text.is_empty() || text.chars().count() > MAX_MESSAGE {
        let _ =
            ack.send(&json!({ "error": format!("A message has 1 to {MAX_MESSAGE} characters.") }));
        return;
    }
    let msg = ChatMessage {
        from: &nick.0,
        text,
        at: now_ms(),
    };
    match socket.to(room).emit("message", &msg) {
        Ok(()) => {
            let _ = ack.send(&json!({ "at": msg.at }));
        }
        Err(e) => {
            let _ = ack.send(&json!({ "error": e.to_string() }));
        }
    }
}

/// `typing()`: "alice is typing…" for the others in the room. Volatile: a
/// client whose queue is full misses it instead of receiving it late.
async fn typing(socket: SocketRef, Extension(nick): Extension<Nickname>) {
    if let Some(room) = chat_room(&socket) {
        let _ = socket.to(room).volatile().emit("typing", &*nick.0);
    }
}

/// The chat room a socket is in: any of its rooms but the one named after
/// its id, which every socket has.
fn chat_room(socket: &SocketRef) -> Option<Room> {
    let own = socket.id().to_string();
    socket
        .rooms()
        .into_iter()
        .find(|room| *room != own.as_str())
}

/// A room and how many are in it, as the room list shows it.
#[derive(Debug, Serialize)]
struct RoomInfo {
    name: String,
    users: usize,
}

/// Sends everyone the rooms that have members, and the lobby, with their
/// member counts.
fn send_room_list(io: &SocketIo) {
    let own_rooms: HashSet<String> = io.sockets().iter().map(|s| s.id().to_string()).collect();
    let mut rooms: Vec<RoomInfo> = io
        .rooms()
        .into_iter()
        .filter(|room| !own_rooms.contains(room.as_str()))
        .map(|room| RoomInfo {
            users: io.to(room.clone()).sockets().len(),
            name: room.to_string(),
        })
        .collect();
    if !rooms.iter().any(|r| r.name == LOBBY) {
        rooms.push(RoomInfo {
            name: LOBBY.to_owned(),
            users: 0,
        });
    }
    rooms.sort_by(|a, b| (a.name != LOBBY, &a.name).cmp(&(b.name != LOBBY, &b.name)));
    let _ = io.emit("rooms", &(rooms,));
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
