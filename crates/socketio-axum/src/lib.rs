//! Socket.IO for axum: a tower layer that serves the Socket.IO protocol (v5,
//! over Engine.IO v4) next to your routes, with handlers written like axum's.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use socketio_axum::{extract::{AckSender, Data}, SocketIo, SocketRef};
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let (layer, io) = SocketIo::new_layer();
//!     io.ns("/", |socket: SocketRef| async move {
//!         socket.on("chat", |socket: SocketRef, Data(text): Data<String>, ack: AckSender| async move {
//!             let _ = socket.broadcast().emit("chat", &text);
//!             let _ = ack.send("ok");
//!         });
//!     });
//!
//!     let app = Router::new().route("/", get(|| async { "hello" })).layer(layer);
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await
//! }
//! ```
//!
//! - [`SocketIo`]: the server handle; register namespaces, broadcast, list
//!   rooms and sockets. Also an axum extractor for ordinary routes.
//! - [`SocketRef`]: one client in one namespace; `on`, `emit`, `join`...
//! - [`extract`]: handler arguments ([`Data`](extract::Data),
//!   [`AckSender`](extract::AckSender), [`State`](extract::State), ...).
//! - [`BroadcastOperators`]: `to`, `except`, `volatile`, `timeout`, then `emit`
//!   (or `emit_published`, which waits until other servers were reached).
//! - `webtransport` (feature `webtransport`): the third transport,
//!   WebTransport over HTTP/3, on a UDP listener beside the HTTP one
//!   (`SocketIo::serve_webtransport`).

mod ack;
pub mod adapter;
#[cfg(feature = "admin-ui")]
pub mod admin;
mod client;
mod client_bundle;
mod config;
mod connection;
mod describe;
mod disconnect;
mod error;
pub mod extract;
pub mod handler;
mod io;
mod layer;
mod metrics;
mod ns;
mod observe;
mod operators;
mod panic;
mod parser;
mod remote_socket;
mod serial;
mod socket;
mod socket_operators;
mod trace;

pub use ack::{AckFuture, AckReplies, BroadcastAckFuture, BroadcastAckStream};
pub use adapter::Room;
pub use client_bundle::{ClientBundle, ClientBundleError};
pub use config::{ConnectionStateRecovery, SocketIoConfig, SocketIoConfigBuilder};
pub use connection::Connection;
pub use disconnect::DisconnectReason;
pub use engineio_tower::{
    EngineIoConfig, EngineIoConfigBuilder, NotFound, ResponseBody, ResponseFuture, SameSite,
    SessionCookie, Sid, Str, TransportType,
};
pub use error::{AckError, ConnectError, EmitError};
pub use io::{SocketIo, SocketIoBuilder};

/// WebTransport (feature `webtransport`): the listener's configuration and
/// TLS identity, for [`SocketIo::serve_webtransport`].
#[cfg(feature = "webtransport")]
pub mod webtransport {
    pub use engineio_tower::webtransport::{
        Identity, IdentityError, PeerAddr, WebTransportConfig, WebTransportServer,
    };
}
pub use layer::{SocketIoLayer, SocketIoService};
pub use ns::NamespaceRef;
pub use operators::{BroadcastOperators, IntoRooms, PublishFuture};
pub use remote_socket::RemoteSocket;
pub use socket::SocketRef;
pub use socket_operators::SocketOperators;
pub use socketio_protocol::socket::{
    AckId, Binary, DecodeLimits, EncodedPacket, Parser, Spread, Value,
};

/// The README's and guide's examples, compiled as doctests (the guide's
/// WebTransport example only with the feature).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
#[doc = include_str!("../../../docs/guide.md")]
pub struct DocTests;

/// docs/operations.md's examples (the metrics, the Admin UI), compiled as doctests.
#[cfg(all(doctest, feature = "metrics", feature = "admin-ui"))]
#[doc = include_str!("../../../docs/operations.md")]
pub struct OperationsDocTests;

/// Locks a mutex, recovering from poisoning: no lock here is held across
/// code that can panic, and a poisoned flag must not take the server down.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn read<T>(m: &std::sync::RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(m: &std::sync::RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}
