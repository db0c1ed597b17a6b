//! The application of `examples/axum-app`: an ordinary axum `Router` with
//! REST routes and state, to which Socket.IO is added as one more layer.
//!
//! | request | answer |
//! |---|---|
//! | `GET /`, `GET /health` | public |
//! | `GET /api/rooms` | the rooms with members, and how many (bearer token) |
//! | `POST /api/broadcast` `{"room", "message"}` | emits `broadcast` with `message` to the room's sockets (bearer token) |
//! | `/socket.io/` | Socket.IO (bearer token); a socket `join`s and `leave`s rooms |
//!
//! The layers, outermost first, and why in that order:
//!
//! 1. `TraceLayer`: sees every request, refused ones included.
//! 2. `CorsLayer`: answers preflights before authentication (a browser
//!    never sends credentials with one) and adds its headers to every
//!    answer, a 401 included, so that the browser lets the page read it.
//! 3. `CompressionLayer`: gzip for clients that ask (long-polling answers too).
//! 4. [`require_token`]: one check for the REST API and the Socket.IO handshake.
//! 5. [`SocketIoLayer`](socketio_axum::SocketIoLayer): serves `/socket.io/`
//!    and hands the [`SocketIo`] handle to the routes, which extract it.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use axum::{
    extract::{Request, State},
    http::{
        header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE},
        HeaderValue, Method, StatusCode,
    },
    middleware::{self, Next},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use socketio_axum::{
    extract::{self as sio, AckSender, Data},
    SocketIo, SocketRef,
};
use tower::ServiceBuilder;
use tower_http::{
    compression::CompressionLayer,
    cors::{AllowOrigin, CorsLayer},
    trace::TraceLayer,
};

/// What the application is started with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The bearer token that the API and the Socket.IO handshake require.
    /// Give it URL-safe characters: browsers send it in the query string.
    pub token: String,
    /// The origins of the web front ends allowed to call the API and to
    /// connect to Socket.IO from a browser (CORS).
    pub cors_origins: Vec<HeaderValue>,
}

/// The application's state, shared by the REST routes (axum's `State`) and
/// the Socket.IO handlers (socketio-axum's `State`).
#[derive(Debug, Clone)]
pub struct AppState {
    token: Arc<str>,
    broadcasts: Arc<AtomicU64>,
}

/// The application: routes, Socket.IO, and the layers around them; and the
/// [`SocketIo`] handle, to close the connections on shutdown.
pub fn app(config: Config) -> (Router, SocketIo) {
    let state = AppState {
        token: config.token.into(),
        broadcasts: Arc::default(),
    };

    let (io_layer, io) = SocketIo::builder().with_state(state.clone()).build_layer();
    io.ns("/", on_connect);

    let api = Router::new()
        .route("/rooms", get(list_rooms))
        .route("/broadcast", post(broadcast));

    // A list, not one exact origin: the header is then sent only to the
    // origins in it, not to every page that asks.
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(config.cors_origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE]);

    let router = Router::new()
        .route("/", get(index))
        .route("/health", get(|| async { "ok" }))
        .nest("/api", api)
        .with_state(state.clone())
        .layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http())
                .layer(cors)
                .layer(CompressionLayer::new())
                .layer(middleware::from_fn_with_state(state, require_token))
                .layer(io_layer),
        );
    (router, io)
}

// ----- authentication -----

/// Refuses requests to `/api/` and `/socket.io/` without the bearer token,
/// with 401. Socket.IO clients may also send it as `?token=`, for a
/// browser's WebSocket cannot carry an `Authorization` header: set it with
/// the client's `query` option, or `extraHeaders` where headers are possible
/// (a query shows in access logs, `TraceLayer`'s included).
///
/// Every long-polling request is checked; a WebSocket once, when it opens.
/// A real application compares tokens in constant time, or verifies signed
/// ones.
pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !needs_token(req.uri().path()) || carries_token(&req, &state.token) {
        return next.run(req).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(WWW_AUTHENTICATE, "Bearer")],
        "missing or wrong bearer token\n",
    )
        .into_response()
}

fn is_socket_io(path: &str) -> bool {
    path == "/socket.io" || path.starts_with("/socket.io/")
}

fn needs_token(path: &str) -> bool {
    is_socket_io(path) || path.starts_with("/api/")
}

/// Whether the request has `Authorization: Bearer <token>` or, for
/// Socket.IO, `token=<token>` in its query.
fn carries_token(req: &Request, token: &str) -> bool {
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer == Some(token) {
        return true;
    }
    is_socket_io(req.uri().path())
        && req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .any(|pair| pair.strip_prefix("token=") == Some(token))
}

// ----- REST routes -----

async fn index() -> Html<&'static str> {
    Html(
        "<!doctype html><title>axum-app</title>\
         <h1>axum + socketio-axum</h1>\
         <p>REST under <code>/api/</code>, Socket.IO under <code>/socket.io/</code>; \
         both want <code>Authorization: Bearer &lt;token&gt;</code>.</p>",
    )
}

/// A room with members, in `GET /api/rooms`.
#[derive(Debug, Serialize)]
struct RoomInfo {
    room: String,
    sockets: usize,
}

/// `GET /api/rooms`: the rooms joined with `join`, leaving out the room
/// that every socket has, named after its id.
async fn list_rooms(io: SocketIo) -> Json<Vec<RoomInfo>> {
    let own_rooms: HashSet<String> = io.sockets().iter().map(|s| s.id().to_string()).collect();
    let mut rooms: Vec<RoomInfo> = io
        .rooms()
        .into_iter()
        .filter(|room| !own_rooms.contains(room.as_str()))
        .map(|room| RoomInfo {
            sockets: io.to(room.clone()).sockets().len(),
            room: room.to_string(),
        })
        .collect();
    rooms.sort_by(|a, b| a.room.cmp(&b.room));
    Json(rooms)
}

/// The body of `POST /api/broadcast`.
#[derive(Debug, Deserialize)]
struct BroadcastRequest {
    room: String,
    message: serde_json::Value,
}

/// The answer of `POST /api/broadcast`.
#[derive(Debug, Serialize)]
struct BroadcastResponse {
    room: String,
    /// How many sockets the message was sent to.
    sockets: usize,
    /// Broadcasts since the server started.
    total: u64,
}

/// `POST /api/broadcast`: an HTTP request reaching Socket.IO clients. The
/// [`SocketIo`] extractor is the server handle the layer puts in every
/// request it passes on.
async fn broadcast(
    State(state): State<AppState>,
    io: SocketIo,
    Json(req): Json<BroadcastRequest>,
) -> Result<Json<BroadcastResponse>, (StatusCode, String)> {
    let to = io.to(req.room.clone());
    let sockets = to.sockets().len();
    to.emit("broadcast", &req.message)
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let total = state.broadcasts.fetch_add(1, Ordering::Relaxed) + 1;
    Ok(Json(BroadcastResponse {
        room: req.room,
        sockets,
        total,
    }))
}

// ----- Socket.IO -----

/// The authentication happened on the HTTP request (see [`require_token`]):
/// a socket that gets here is authorized. It is greeted with the number of
/// broadcasts so far, read from the state shared with the REST routes.
async fn on_connect(socket: SocketRef, sio::State(state): sio::State<AppState>) {
    let broadcasts = state.broadcasts.load(Ordering::Relaxed);
    let _ = socket.emit("welcome", &serde_json::json!({ "broadcasts": broadcasts }));
    socket.on(
        "join",
        |socket: SocketRef, Data(room): Data<String>, ack: AckSender| async move {
            socket.join(room.clone());
            let _ = ack.send(&room);
        },
    );
    socket.on(
        "leave",
        |socket: SocketRef, Data(room): Data<String>, ack: AckSender| async move {
            socket.leave(room.clone());
            let _ = ack.send(&room);
        },
    );
}
