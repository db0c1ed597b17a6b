//! A Socket.IO v5 client for tokio, sharing its codecs with the
//! `socketio-axum` server (`socketio-protocol`).
//!
//! It speaks Engine.IO v4 over HTTP long-polling, WebSocket and
//! WebTransport (polling first, then upgrade, like the JS client),
//! multiplexes namespaces on one connection, answers the server's
//! heartbeat, reconnects with the JS client's back-off, buffers what is
//! emitted while disconnected, and resumes sessions on servers with
//! connection state recovery.
//!
//! ```no_run
//! use std::time::Duration;
//! use serde_json::json;
//! use socketio_client::{extract::{AckSender, Data}, Client};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), socketio_client::Error> {
//!     let client = Client::builder("http://localhost:3000")
//!         .auth(json!({"token": "abc"}))
//!         .build()?;
//!     let socket = client.socket("/");
//!
//!     socket.on("chat", |Data(text): Data<String>| async move { println!("chat: {text}") });
//!     socket.on("ping", |ack: AckSender| async move { ack.send("pong") });
//!     socket.on_disconnect(|reason| println!("disconnected: {reason}"));
//!     socket.connect().await?;
//!
//!     socket.emit("chat", "hello")?;
//!     let n: u32 = socket
//!         .emit_with_ack("count", &())
//!         .timeout(Duration::from_secs(2))
//!         .await?;
//!     println!("{n} users online");
//!     Ok(())
//! }
//! ```
//!
//! - [`Client`] (the JS `Manager`): the connection, its options
//!   ([`ClientBuilder`]) and reconnection events.
//! - [`Socket`]: one namespace; `on`, `emit`, `emit_with_ack`, `connect`,
//!   `disconnect`, and lifecycle callbacks.
//! - [`extract`]: handler arguments ([`Data`](extract::Data),
//!   [`AckSender`], ...); [`handler`]: what a handler may be.
//!
//! Cargo features:
//!
//! - `tls`: `https://` and `wss://` URLs (rustls on ring), the platform's
//!   root certificates and custom ones
//!   (`ClientBuilder::add_root_certificate_pem`, `platform_roots`).
//! - `webtransport` (turns `tls` on): the WebTransport transport over
//!   HTTP/3 (`Transports::WebTransportOnly`, or by upgrade from polling,
//!   tried before WebSocket when the server offers it), with pinned
//!   certificate hashes for development
//!   (`ClientBuilder::server_certificate_hashes`).
//! - `msgpack`: the msgpack parser (`Parser::Msgpack`).
//!
//! The repository's `docs/client.md` covers the options, the defaults and
//! how they compare with the JS client's.

mod ack;
mod backoff;
mod builder;
mod client;
mod config;
mod driver;
mod engine;
mod error;
pub mod extract;
pub mod handler;
mod reason;
mod socket;
#[cfg(feature = "tls")]
mod tls;
mod trace;

pub use ack::{AckFuture, AckSender};
pub use builder::ClientBuilder;
pub use client::Client;
pub use config::{Auth, BufferOverflow, Transport, Transports};
pub use error::Error;
pub use reason::DisconnectReason;
pub use socket::{ConnectFuture, Socket, Volatile};
pub use socketio_protocol::{
    socket::{Binary, DecodeLimits, Parser, Spread, Value},
    Str,
};

/// Locks a mutex, recovering from poisoning: no lock here is held across
/// code that can panic.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
