//! An Engine.IO v4 server (HTTP long-polling and WebSocket) as a tower [`Service`](tower_service::Service).
//!
//! Engine.IO is the transport under Socket.IO. This crate answers the
//! handshake, long-polling GETs and POSTs, WebSocket connections and the
//! upgrade from polling to WebSocket, sends heartbeats and enforces size
//! limits; an [`EngineIoHandler`] receives sessions and messages.
//!
//! Mount it in front of any service (such as an axum `Router`) with
//! [`EngineIo::layer`]: requests under the configured path (default
//! `/engine.io/`) are served, all others pass through untouched.
//!
//! ```no_run
//! use engineio_tower::{CloseReason, EngineIo, EngineIoConfig, EngineIoHandler, Message, Socket};
//!
//! struct Echo;
//!
//! impl EngineIoHandler for Echo {
//!     type Data = ();
//!     fn on_open(&self, socket: &Socket) {
//!         println!("open {}", socket.sid());
//!     }
//!     fn on_message(&self, socket: &Socket, msg: Message) {
//!         let _ = match msg {
//!             Message::Text(text) => socket.send_text(&text),
//!             Message::Binary(data) => socket.send_binary(data),
//!         };
//!     }
//!     fn on_close(&self, socket: &Socket, reason: CloseReason) {
//!         println!("close {}: {reason}", socket.sid());
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let engine = EngineIo::builder(Echo).config(EngineIoConfig::default()).build();
//! let app = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "hello" }))
//!     .layer(engine.layer());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! CORS, authentication, tracing and compression come from tower-http layers
//! put in front of it; [`EngineIoBuilder::allow_request`] can refuse a
//! handshake with 403.
//!
//! With the feature `webtransport`, the same engine also serves the third
//! transport, WebTransport over HTTP/3, on a UDP listener of its own
//! ([`EngineIo::serve_webtransport`], the [`webtransport`] module).

mod config;
mod cookie;
mod engine;
mod error;
mod handler;
mod metrics;
mod service;
mod slow;
mod socket;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;
mod trace;
mod transport;
#[cfg(feature = "webtransport")]
pub mod webtransport;

pub use config::{EngineIoConfig, EngineIoConfigBuilder, TransportType};
pub use cookie::{SameSite, SessionCookie};
pub use engine::{AllowRequest, EngineIo, EngineIoBuilder};
pub use handler::{CloseReason, EngineIoHandler, Message};
pub use service::{EngineIoLayer, EngineIoService, NotFound, ResponseBody, ResponseFuture};
pub use socket::{Outbound, SendError, Socket};
pub use socketio_protocol::{
    engine::{Frame, InvalidSid, Sid},
    Str,
};

/// The error type of bodies: any boxed error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
