//! The application of `examples/admin-ui`: a small chat (namespaces `/`
//! and `/chat`, a client's `auth.room` joined, `chat` broadcast to the
//! room) instrumented for the official Socket.IO Admin UI, whose built files
//! (npm `@socket.io/admin-ui`, `ui/dist`) it serves at `/admin-ui/`.

use std::path::{Path, PathBuf};

use axum::{response::Redirect, routing::get, Router};
use serde::Deserialize;
use socketio_axum::{
    admin::{AdminUi, AdminUiError},
    extract::{Data, TryData},
    SocketIo, SocketRef,
};
use tower_http::services::ServeDir;

/// A bcrypt hash (cost 10) of the password `admin`: the example's default,
/// for development only.
pub const ADMIN_HASH: &str = "$2a$10$JgkG9uEFy7wIgslncR09be0625qk7HQoA0Z0awf8OATT8PxKK2LaW";

/// The login of the UI.
#[derive(Debug, Clone)]
pub struct Login {
    /// The username.
    pub username: String,
    /// The bcrypt hash of the password.
    pub password_hash: String,
}

/// Where the UI's files are unless `ADMIN_UI_DIST` says: the copy npm put
/// in `tests/node_modules` (`npm ci --prefix tests`).
pub fn default_dist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/node_modules/@socket.io/admin-ui/ui/dist")
}

#[derive(Debug, Deserialize, Default)]
struct Auth {
    room: Option<String>,
}

async fn on_connect(socket: SocketRef, TryData(auth): TryData<Auth>) {
    if let Some(room) = auth.ok().and_then(|a| a.room) {
        socket.join(room);
    }
    socket.on(
        "chat",
        |socket: SocketRef, Data(text): Data<String>| async move {
            for room in socket.rooms() {
                if room.as_str() != socket.id().to_string() {
                    let _ = socket.within(room).emit("chat", &text);
                }
            }
        },
    );
}

/// Registers the namespaces on `io`, instruments it, and returns the router
/// that serves the UI at `/admin-ui/` beside Socket.IO's layer. Call it
/// inside a tokio runtime.
pub fn app(
    layer: socketio_axum::SocketIoLayer,
    io: &SocketIo,
    login: Login,
    server_id: &str,
    dist: &Path,
) -> Result<Router, AdminUiError> {
    io.ns("/", on_connect);
    io.ns("/chat", on_connect);
    AdminUi::basic_auth(login.username, login.password_hash)
        .server_id(server_id)
        .instrument(io)?;
    Ok(Router::new()
        .route(
            "/admin-ui",
            get(|| async { Redirect::permanent("/admin-ui/") }),
        )
        .nest_service("/admin-ui/", ServeDir::new(dist))
        .layer(layer))
}
