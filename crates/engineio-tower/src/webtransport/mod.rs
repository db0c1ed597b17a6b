//! WebTransport, the third transport of Engine.IO (feature `webtransport`):
//! a session over HTTP/3 on a UDP listener of its own, beside the HTTP
//! server that serves polling and WebSocket.
//!
//! The client opens a WebTransport session on the engine's path
//! (`https://host:port/socket.io/`) and one bidirectional stream on it;
//! every Engine.IO packet both ways is a frame on that stream
//! ([`socketio_protocol::webtransport`]). Its first packet is `0` for a new
//! session, or `0{"sid":"…"}` to upgrade a polling session, which then
//! probes as it does for WebSocket. While a listener runs, polling
//! handshakes offer `webtransport` among the upgrades, after `websocket`,
//! as Node does.
//!
//! Start it with [`EngineIo::serve_webtransport`](crate::EngineIo::serve_webtransport).

mod identity;
mod listener;

pub use identity::{Identity, IdentityError};
pub use listener::{PeerAddr, WebTransportConfig, WebTransportServer};
