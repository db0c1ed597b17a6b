//! A Redis adapter for [`socketio_axum`]: Socket.IO servers that share a
//! Redis form one cluster, whose broadcasts, rooms, acknowledgements and
//! server-side events span every server. It speaks the protocol of Node's
//! [`@socket.io/redis-adapter`](https://github.com/socketio/socket.io-redis-adapter)
//! 8.x (or of its sharded and streams siblings), so Rust and Node servers
//! can share one cluster.
//!
//! ```no_run
//! use socketio_axum::{SocketIo, SocketRef, extract::Data};
//! use socketio_redis::{RedisAdapter, RedisAdapterConfig};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let adapter = RedisAdapter::connect(RedisAdapterConfig::default()).await?;
//!     let (layer, io) = SocketIo::builder().adapter(adapter.clone()).build_layer();
//!     io.ns("/", |socket: SocketRef| async move {
//!         socket.on("chat", |socket: SocketRef, Data(text): Data<String>| async move {
//!             // Every client of every server but this one.
//!             let _ = socket.broadcast().emit("chat", &text);
//!         });
//!     });
//!     adapter.ready().await;
//!     println!("{} servers", io.server_count().await?);
//!
//!     let app = axum::Router::new().layer(layer);
//!     let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! What crosses servers, and how (channels per namespace `nsp`, with the
//! key prefix `socket.io` by default):
//!
//! | operation | channel | encoding |
//! |---|---|---|
//! | broadcast (`emit` to all, `to`, `except`) | `socket.io#nsp#`, or `socket.io#nsp#room#` for one room | msgpack |
//! | broadcast with acknowledgements | request, then responses (client counts, acks) | msgpack / JSON |
//! | `fetch_sockets`, all rooms, join, leave, disconnect, server-side emit | `socket.io-request#nsp#`, answers on `socket.io-response#nsp#` | JSON |
//! | server count | `PUBSUB NUMSUB socket.io-request#nsp#` | |
//!
//! Event arguments are mapped as Node's notepack.io maps them: binary
//! attachments become msgpack `bin`, and what Node sends back (Buffers,
//! `undefined`, Dates) arrives as our sockets expect it.
//!
//! On a Redis Cluster, [`RedisAdapterConfigBuilder::sharded`] speaks the
//! protocol of Node's `createShardedAdapter` instead (`SPUBLISH` and
//! `SSUBSCRIBE`, Redis 7+). `redis://user:pass@host` URLs authenticate both
//! connections; `rediss://` (TLS) needs the `tls` feature.
//!
//! [`RedisAdapterConfigBuilder::streams`] speaks the protocol of Node's
//! `@socket.io/redis-streams-adapter` 0.3 instead: a Redis stream that every
//! server reads, and with connection state recovery on, sessions kept in
//! Redis, so that a client recovers on any server of the cluster.

mod adapter;
mod config;
mod emitter;
mod error;
mod link;
mod metrics;
mod protocol;
mod requests;
mod sharded;
#[cfg(feature = "tls")]
mod tls;
mod trace;
mod wire;

// The msgpack values of Node's notepack.io, shared with the msgpack parser.
use socketio_protocol::msgpack as value;

pub use adapter::RedisAdapter;
pub use config::{RedisAdapterConfig, RedisAdapterConfigBuilder, SubscriptionMode};
pub use emitter::{EmitterOperators, RedisEmitter};
pub use error::Error;

/// docs/scaling.md's examples, compiled as doctests (one needs the `tls`
/// feature).
#[cfg(all(doctest, feature = "tls"))]
#[doc = include_str!("../../../docs/scaling.md")]
pub struct ScalingDocTests;
