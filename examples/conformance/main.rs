//! The server the official protocol test suites expect (GitHub
//! `socketio/engine.io-protocol`, folder `test-suite`): Engine.IO at
//! `/engine.io/` on 127.0.0.1:3000, pingInterval 300 ms, pingTimeout 200 ms,
//! maxPayload 1,000,000, CORS origin `*`, every message echoed back.
//!
//! Run with `cargo run --release --example conformance`; see `docs/conformance.md`.

use std::time::Duration;

use engineio_tower::{CloseReason, EngineIo, EngineIoConfig, EngineIoHandler, Message, Socket};
use tower_http::cors::{Any, CorsLayer};

/// Echoes every message back.
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

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let config = EngineIoConfig::builder()
        .path("/engine.io/")
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000)
        .build();
    let engine = EngineIo::builder(Echo).config(config).build();
    let app = axum::Router::new().layer(engine.layer()).layer(
        CorsLayer::new()
            .allow_origin(Any)
            .allow_methods(Any)
            .allow_headers(Any),
    );
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!("conformance server on http://{addr}");
    axum::serve(listener, app).await
}
