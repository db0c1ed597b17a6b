//! The Engine.IO v4 client: the handshake, the transports (polling,
//! WebSocket, and WebTransport with its feature), the upgrade from polling
//! and the heartbeat, as one poll-driven [`Session`] that the connection
//! task drives.

mod endpoint;
mod handshake;
mod net;
mod polling;
mod session;
mod upgrade;
mod websocket;
#[cfg(feature = "webtransport")]
mod webtransport;

pub(crate) use endpoint::Endpoint;
pub(crate) use session::{Closed, Session, SessionEvent};
