//! The server the official protocol test suites expect (GitHub
//! `socketio/engine.io-protocol` and `socketio/socket.io-protocol`, folder
//! `test-suite`), on 127.0.0.1:3000 with CORS origin `*`:
//!
//! - Engine.IO at `/engine.io/`: pingInterval 300 ms, pingTimeout 200 ms,
//!   maxPayload 1,000,000; every message echoed back.
//! - Socket.IO at `/socket.io/`: the same, and connectTimeout 1000 ms;
//!   namespaces `/` and `/custom` emit `auth` with the handshake's auth on
//!   connect; `/` answers `message` with `message-back` and the same
//!   arguments, and acknowledges `message-with-ack` with its arguments.
//!
//! Run with `cargo run --release --example conformance`; see `docs/conformance.md`.

use std::time::Duration;

use engineio_tower::{CloseReason, EngineIo, EngineIoConfig, EngineIoHandler, Message, Socket};
use socketio_axum::{
    extract::{AckSender, Data, RawArgs},
    SocketIo, SocketIoConfig, SocketRef,
};
use tower_http::cors::{Any, CorsLayer};

/// Echoes every Engine.IO message back.
struct Echo;

impl EngineIoHandler for Echo {
    type Data = ();

    fn on_open(&self, _socket: &Socket) {}

    fn on_message(&self, socket: &Socket, msg: Message) {
        let _ = match msg {
            Message::Text(text) => socket.send_text(&text),
            Message::Binary(data) => socket.send_binary(data),
        };
    }

    fn on_close(&self, _socket: &Socket, _reason: CloseReason) {}
}

async fn on_connect(socket: SocketRef, Data(auth): Data<serde_json::Value>) {
    let _ = socket.emit("auth", &(auth,));
    if socket.ns() == "/" {
        socket.on("message", |socket: SocketRef, args: RawArgs| async move {
            let _ = socket.emit_raw("message-back", args);
        });
        socket.on(
            "message-with-ack",
            |ack: AckSender, args: RawArgs| async move {
                let _ = ack.send_raw(args);
            },
        );
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let ping_interval = Duration::from_millis(300);
    let ping_timeout = Duration::from_millis(200);

    let engine_config = EngineIoConfig::builder()
        .path("/engine.io/")
        .ping_interval(ping_interval)
        .ping_timeout(ping_timeout)
        .max_payload(1_000_000)
        .build();
    let engine = EngineIo::builder(Echo).config(engine_config).build();

    let io_config = SocketIoConfig::builder()
        .ping_interval(ping_interval)
        .ping_timeout(ping_timeout)
        .max_payload(1_000_000)
        .connect_timeout(Duration::from_millis(1000))
        .build();
    let (io_layer, io) = SocketIo::builder().config(io_config).build_layer();
    io.ns("/", on_connect);
    io.ns("/custom", on_connect);

    let app = axum::Router::new()
        .layer(engine.layer())
        .layer(io_layer)
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods(Any)
                .allow_headers(Any),
        );
    let listener = socketio_axum_examples::listen(3000).await?;
    let addr = listener.local_addr()?;
    tracing::info!("conformance server on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}
