//! The chat of `examples/chat`: a page and its script, the official browser
//! client, and the Socket.IO handlers behind them.
//!
//! What the client can do, and what the server does with it:
//!
//! | client | server |
//! |---|---|
//! | connect with `auth: { name, room, rejoin, since }` | the `nickname` middleware refuses an empty or long name or room (the page shows why); the connect handler puts the socket in `room` and tells the room "alice joined" or, when `rejoin` says the page was there before its connection dropped, "alice reconnected", and sends it the room's messages it missed (those since `since`) |
//! | `join` a room, acknowledged | leaves the previous room, joins the new one, tells both rooms, sends everyone the room list |
//! | `message` `{ id, text }`, acknowledged | sends it to the others in the room, then acknowledges with `{ at }`: the sender's tick. The same `id` again (a resend after a lost ack) is acknowledged again, not delivered twice |
//! | `typing` | tells the others in the room, *volatile*: dropped rather than queued for a slow client |
//! | disconnects | everyone gets the new room list |
//!
//! Messages written while the server is away are delivered after the
//! reconnection, in order: the page's client keeps each one until its ack
//! (`retries`), and sends the room it is in with every handshake (`auth` is
//! a function), so that the connect handler has put the socket back in its
//! room before the first of those messages is handled (a socket's events
//! wait for its connect handler). Whoever comes back later gets them from
//! the room's recent messages.
//!
//! Rooms and their members are Socket.IO's, and the nickname is an
//! extension on each socket; the server's own state is the last
//! [`MAX_HISTORY`] messages of each room that has members.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    http::header::{CACHE_CONTROL, CONTENT_TYPE},
    response::{Html, IntoResponse},
    routing::get,
    Router,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use socketio_axum::{
    extract::{AckSender, Data, Extension, State},
    ClientBundle, ConnectError, Room, SocketIo, SocketIoConfig, SocketRef,
};

const INDEX_HTML: &str = include_str!("static/index.html");
const CHAT_JS: &str = include_str!("static/chat.js");
const STYLE_CSS: &str = include_str!("static/style.css");

/// The room every client starts in. Leaving a room means going back to it.
pub const LOBBY: &str = "lobby";
const MAX_NICKNAME: usize = 24;
const MAX_ROOM: usize = 32;
const MAX_MESSAGE: usize = 500;
/// The longest message id accepted, in bytes (the page's are 24).
const MAX_MESSAGE_ID: usize = 64;
/// How many messages of each room the server keeps, for those who come
/// back after a dropped connection, and to recognise one sent again.
pub const MAX_HISTORY: usize = 200;

/// Where the official browser client, `socket.io-client`'s `dist/`
/// directory, is once `npm ci --prefix tests` has run: the version is pinned
/// by `tests/package-lock.json`, shared with the tests.
pub fn client_bundle_dir() -> PathBuf {
    tests_dir().join("node_modules/socket.io-client/dist")
}

/// Reads the browser client, installing the pinned npm packages first when
/// they are missing.
pub fn load_client_bundle() -> Result<ClientBundle, String> {
    let path = client_bundle_dir().join("socket.io.min.js");
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
    ClientBundle::from_dir(client_bundle_dir()).map_err(|e| {
        let cause = std::error::Error::source(&e)
            .map(|c| format!(": {c}"))
            .unwrap_or_default();
        format!("{e}{cause} (run `{install}`)")
    })
}

/// The repository's `tests/` folder, where `package.json` pins the npm packages.
pub fn tests_dir() -> PathBuf {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR"));
    examples.parent().unwrap_or(examples).join("tests")
}

/// The chat: its page at `/`, its assets, and Socket.IO at `/socket.io/`,
/// which also serves `client`, the official browser client, at
/// `/socket.io/socket.io.min.js` (see [`client_bundle_dir`]), as Node's
/// server does.
///
/// The [`SocketIo`] handle is returned too, to close the connections on
/// shutdown.
pub fn app(client: ClientBundle) -> (Router, SocketIo) {
    app_with(client, None)
}

/// [`app`], with the hash of the WebTransport listener's certificate when
/// one runs: the page then offers WebTransport to the client, with that
/// hash (`GET /webtransport` gives it, base64; 204 and no body without a
/// listener).
pub fn app_with(client: ClientBundle, webtransport_hash: Option<String>) -> (Router, SocketIo) {
    let config = SocketIoConfig::builder().serve_client(client).build();
    let (layer, io) = SocketIo::builder()
        .config(config)
        .with_state(History::default())
        .build_layer();
    io.ns("/", on_connect).with(nickname);

    let router = Router::new()
        .route("/", get(|| async { Html(INDEX_HTML) }))
        .route(
            "/chat.js",
            get(|| async { asset("text/javascript", CHAT_JS) }),
        )
        .route("/style.css", get(|| async { asset("text/css", STYLE_CSS) }))
        .route(
            "/webtransport",
            get(move || {
                let hash = webtransport_hash.clone();
                async move {
                    match hash {
                        Some(hash) => asset("text/plain", hash).into_response(),
                        None => axum::http::StatusCode::NO_CONTENT.into_response(),
                    }
                }
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
    /// The room the page is in: the lobby at first, then the one it was
    /// in when its connection dropped.
    #[serde(default = "lobby")]
    room: String,
    /// Whether the page was connected before: this handshake is a
    /// reconnection of a user already in `room`.
    #[serde(default)]
    rejoin: bool,
    /// On a rejoin, the time of the last message the page has (`at`).
    #[serde(default)]
    since: u64,
}

fn lobby() -> String {
    LOBBY.to_owned()
}

/// Where the handshake asked to be, checked by [`nickname`], for the
/// connect handler.
#[derive(Debug, Clone)]
struct Arrival {
    room: String,
    rejoin: bool,
    since: u64,
}

/// Connect middleware: a client without a proper nickname, or asking for a
/// room with an improper name, is refused with a `CONNECT_ERROR`, whose
/// message the page shows. Otherwise the nickname is kept on its socket, for
/// the handlers' [`Extension`] extractor, and the room for [`on_connect`].
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
    let room = room_name(&auth.room).map_err(ConnectError::new)?;
    socket.insert_extension(Nickname(name.into()));
    socket.insert_extension(Arrival {
        room: room.to_owned(),
        rejoin: auth.rejoin,
        since: auth.since,
    });
    Ok(())
}

/// A room name, trimmed, or why it is not one.
fn room_name(room: &str) -> Result<&str, String> {
    let room = room.trim();
    if room.is_empty() || room.chars().count() > MAX_ROOM {
        return Err(format!("A room name has 1 to {MAX_ROOM} characters."));
    }
    Ok(room)
}

/// Runs for each client that passed the middleware, before any event of
/// its socket is handled: the messages a page wrote while disconnected,
/// which its client sends as soon as the connection is back, find the
/// socket in its room. The page hears which room it is in (`room`, with the
/// server's time), and if it comes back, what the others wrote there meanwhile.
async fn on_connect(
    socket: SocketRef,
    Extension(nick): Extension<Nickname>,
    Extension(arrival): Extension<Arrival>,
    State(history): State<History>,
) {
    socket.remove_extension::<Arrival>();
    socket.on("join", join);
    socket.on("message", message);
    socket.on("typing", typing);
    // The socket has left its rooms by then: the counts are right.
    socket.on_disconnect(|io: SocketIo, State(history): State<History>| async move {
        rooms_changed(&io, &history)
    });
    let room = arrival.room.as_str();
    let rooms = history.lock();
    let _ = socket.emit("room", &json!({ "name": room, "at": now_ms() }));
    if arrival.rejoin {
        enter(&socket, &nick, room, "reconnected");
        // Under the lock a message is either here or sent to the room after
        // the join above, never both.
        let missed = rooms.get(room).into_iter().flatten();
        for msg in missed.filter(|m| m.at >= arrival.since && *m.from != *nick.0) {
            let _ = socket.emit("message", msg);
        }
    } else {
        enter(&socket, &nick, room, "joined");
    }
    drop(rooms);
    rooms_changed(&socket.io(), &history);
}

/// `join(room, ack)`: moves the socket to `room` and acknowledges with
/// `{ room, at }` (the server's time), or `{ error }`.
async fn join(
    socket: SocketRef,
    Extension(nick): Extension<Nickname>,
    State(history): State<History>,
    Data(room): Data<String>,
    ack: AckSender,
) {
    let room = match room_name(&room) {
        Ok(room) => room,
        Err(error) => {
            let _ = ack.send(&json!({ "error": error }));
            return;
        }
    };
    match chat_room(&socket) {
        Some(current) if current == room => {}
        Some(current) => {
            socket.leave(current.clone());
            let _ = socket
                .to(current)
                .emit("notice", &format!("{} left", nick.0));
            enter(&socket, &nick, room, "joined");
        }
        None => enter(&socket, &nick, room, "joined"),
    }
    let _ = ack.send(&json!({ "room": room, "at": now_ms() }));
    rooms_changed(&socket.io(), &history);
}

/// Puts the socket in `room` and tells the others there "NICK `verb`".
fn enter(socket: &SocketRef, nick: &Nickname, room: &str, verb: &str) {
    socket.join(room.to_owned());
    let _ = socket
        .to(room)
        .emit("notice", &format!("{} {verb}", nick.0));
}

/// A chat message as the page sends it.
#[derive(Debug, Deserialize)]
struct Outgoing {
    /// Chosen by the page, the same when its client sends the message again.
    id: String,
    text: String,
}

/// A chat message as the others in the room receive it, and as the room's
/// history keeps it.
#[derive(Debug, Serialize)]
struct ChatMessage {
    id: String,
    from: String,
    text: String,
    /// Milliseconds since the Unix epoch, when the server got it.
    at: u64,
    /// The transport the sender was on: `polling`, `websocket` or `webtransport`.
    via: &'static str,
}

/// `message({ id, text }, ack)`: sends the text to the others in the room,
/// then acknowledges with `{ at }` (the page ticks the message), or
/// `{ error }`. A message of this user with an id the room's history has is
/// acknowledged with its first `at` and not sent again: the client resent
/// it because the first ack was lost with the connection (the resend comes
/// right after the reconnection, before any later message or `join`).
async fn message(
    socket: SocketRef,
    Extension(nick): Extension<Nickname>,
    State(history): State<History>,
    Data(msg): Data<Outgoing>,
    ack: AckSender,
) {
    let text = msg.text.trim();
    if msg.id.is_empty() || msg.id.len() > MAX_MESSAGE_ID {
        let _ =
            ack.send(&json!({ "error": format!("A message id has 1 to {MAX_MESSAGE_ID} bytes.") }));
        return;
    }
    let Some(room) = chat_room(&socket) else {
        let _ = ack.send(&json!({ "error": "Join a room first." }));
        return;
    };
    if text.is_empty() || text.chars().count() > MAX_MESSAGE {
        let _ =
            ack.send(&json!({ "error": format!("A message has 1 to {MAX_MESSAGE} characters.") }));
        return;
    }
    let reply = {
        let mut rooms = history.lock();
        let kept = rooms.entry(room.to_string()).or_default();
        let sent_before = kept.iter().find(|m| m.id == msg.id && *m.from == *nick.0);
        match sent_before {
            Some(first) => json!({ "at": first.at }),
            None => {
                let out = ChatMessage {
                    id: msg.id,
                    from: nick.0.to_string(),
                    text: text.to_owned(),
                    at: now_ms(),
                    via: socket.conn().transport().as_str(),
                };
                match socket.to(room).emit("message", &out) {
                    Ok(()) => {
                        let reply = json!({ "at": out.at });
                        if kept.len() == MAX_HISTORY {
                            kept.pop_front();
                        }
                        kept.push_back(out);
                        reply
                    }
                    Err(e) => json!({ "error": e.to_string() }),
                }
            }
        }
    };
    let _ = ack.send(&reply);
}

/// The last [`MAX_HISTORY`] messages of each room that has members.
#[derive(Debug, Clone, Default)]
struct History(Arc<Mutex<HashMap<String, VecDeque<ChatMessage>>>>);

impl History {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, VecDeque<ChatMessage>>> {
        // Each change is one push or pop: consistent even if a holder panicked.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
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

/// Members came or went: forgets the history of the rooms left empty, and
/// sends everyone the new room list.
fn rooms_changed(io: &SocketIo, history: &History) {
    let rooms = room_list(io);
    history
        .lock()
        .retain(|name, _| rooms.iter().any(|r| r.name == *name && r.users > 0));
    let _ = io.emit("rooms", &(rooms,));
}

/// The rooms that have members, and the lobby, with their member counts.
fn room_list(io: &SocketIo) -> Vec<RoomInfo> {
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
    rooms
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
