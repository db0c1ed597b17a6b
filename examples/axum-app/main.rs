//! Socket.IO added to an existing axum application: REST routes with state,
//! `tower-http` layers (trace, CORS, compression), a bearer-token middleware
//! guarding both the API and the Socket.IO handshake, a route that emits to
//! Socket.IO clients, and a graceful shutdown on Ctrl-C.
//!
//! ```text
//! TOKEN=secret cargo run --release --example axum-app
//! ```
//!
//! Environment: `TOKEN` (default `secret`), `CORS_ORIGINS` (the front ends'
//! origins, comma-separated, default `http://localhost:5173`), `ADDR` or
//! `PORT` (default 127.0.0.1:3000), `RUST_LOG` (default `info,tower_http=debug`).
//!
//! Try it from a shell, with Node's `socket.io-client` from `tests/`
//! (`npm ci --prefix tests` once):
//!
//! ```text
//! cd tests && node --input-type=module -e '
//!   import { io } from "socket.io-client";
//!   const s = io("http://localhost:3000", { extraHeaders: { authorization: "Bearer secret" } });
//!   s.on("connect", () => s.emit("join", "news", () => console.log("joined news")));
//!   s.on("broadcast", (m) => console.log("broadcast:", m));'
//! curl -H 'Authorization: Bearer secret' localhost:3000/api/rooms
//! curl -H 'Authorization: Bearer secret' -H 'Content-Type: application/json' \
//!      -d '{"room":"news","message":{"title":"hello"}}' localhost:3000/api/broadcast
//! ```
//!
//! The application is in `axum-app/app.rs`; this file configures, serves
//! and shuts down.

use axum::http::HeaderValue;
use socketio_axum_examples::axum_app::{self, Config};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    socketio_axum_examples::init_tracing("info,tower_http=debug");

    let config = Config {
        token: std::env::var("TOKEN").unwrap_or_else(|_| "secret".to_owned()),
        cors_origins: std::env::var("CORS_ORIGINS")
            .unwrap_or_else(|_| "http://localhost:5173".to_owned())
            .split(',')
            .map(|origin| HeaderValue::from_str(origin.trim()))
            .collect::<Result<_, _>>()?,
    };
    let (app, io) = axum_app::app(config);

    let listener = socketio_axum_examples::listen(3000).await?;
    tracing::info!("axum-app on http://{}", listener.local_addr()?);

    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("Ctrl-C: closing the Socket.IO connections, then the server");
            // Long-polls and WebSockets would keep the graceful shutdown
            // waiting: close them first. The clients see the connection
            // close and, as after any restart, try to reconnect.
            io.close().await;
        })
        .await?;
    tracing::info!("stopped");
    Ok(())
}
