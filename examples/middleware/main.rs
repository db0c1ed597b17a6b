//! Connect middlewares: who may join a namespace, decided from the
//! handshake (Node's `io.use` and `nsp.use`).
//!
//! - a server-wide middleware logs every attempt, from the request headers;
//! - the main namespace wants `auth: { token }` naming a known user, keeps
//!   the user on the socket, and handlers read it with `Extension`;
//! - `/admin` adds a second middleware: only admins.
//!
//! A refusal reaches the client as a `connect_error` whose `message` and
//! `data` come from the `ConnectError`.
//!
//! ```text
//! cargo run --example middleware
//! ```
//!
//! and, with Node's `socket.io-client` (`npm ci --prefix tests` once):
//!
//! ```text
//! cd tests && node --input-type=module -e '
//!   import { io } from "socket.io-client";
//!   const bad = io("http://localhost:3000", { auth: { token: "nope" } });
//!   bad.on("connect_error", (err) => console.log("refused:", err.message, err.data));
//!   const alice = io("http://localhost:3000", { auth: { token: "alice-token" } });
//!   console.log(await alice.emitWithAck("whoami"));
//!   const admin = io("http://localhost:3000/admin", { auth: { token: "alice-token" } });
//!   admin.on("connect_error", (err) => console.log("/admin:", err.message));'
//! ```

use serde::Deserialize;
use serde_json::json;
use socketio_axum::{
    extract::{AckSender, Data, Extension, Handshake},
    ConnectError, SocketIo, SocketRef,
};

/// A user, found from the token, kept on the socket.
#[derive(Debug, Clone)]
struct User {
    name: &'static str,
    admin: bool,
}

/// The users this demo knows, by token. A real server asks its database, or
/// verifies a signed token.
fn user_for(token: &str) -> Option<User> {
    match token {
        "alice-token" => Some(User {
            name: "alice",
            admin: false,
        }),
        "root-token" => Some(User {
            name: "root",
            admin: true,
        }),
        _ => None,
    }
}

/// The `auth` object of the client's `CONNECT`. `Data` deserializes it; when
/// it does not fit, the client is refused with the reason.
#[derive(Debug, Deserialize)]
struct Auth {
    #[serde(default)]
    token: String,
}

/// Server-wide: runs first, for every namespace. `Handshake` is the HTTP
/// request that opened the connection, and the `auth` payload.
async fn log_attempt(socket: SocketRef, handshake: Handshake) -> Result<(), ConnectError> {
    let agent = handshake
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("?");
    println!("{} wants {} ({agent})", socket.id(), socket.ns());
    Ok(())
}

/// Finds the user from the token, or refuses with a message and data for
/// the client.
async fn authenticate(socket: SocketRef, Data(auth): Data<Auth>) -> Result<(), ConnectError> {
    let user = user_for(&auth.token).ok_or_else(|| {
        ConnectError::new("not authorized").with_data(json!({ "hint": "try alice-token" }))
    })?;
    socket.insert_extension(user);
    Ok(())
}

/// Runs after [`authenticate`], which stored the user.
async fn admins_only(Extension(user): Extension<User>) -> Result<(), ConnectError> {
    if user.admin {
        Ok(())
    } else {
        Err(ConnectError::new(format!("{} is not an admin", user.name)))
    }
}

async fn on_connect(socket: SocketRef, Extension(user): Extension<User>) {
    println!("{} is {} in {}", socket.id(), user.name, socket.ns());
    socket.on(
        "whoami",
        |Extension(user): Extension<User>, ack: AckSender| async move {
            let _ = ack.send(&json!({ "name": user.name, "admin": user.admin }));
        },
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (layer, io) = SocketIo::builder()
        .with_middleware(log_attempt)
        .build_layer();

    // Middlewares run in the order added, after the server-wide ones; the
    // first `Err` refuses the client and the connect handler never runs.
    io.ns("/", on_connect).with(authenticate);
    io.ns("/admin", on_connect)
        .with(authenticate)
        .with(admins_only);

    let app = axum::Router::new().layer(layer);
    let listener = socketio_axum_examples::listen(3000).await?;
    let addr = listener.local_addr()?;
    println!("middleware on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}
