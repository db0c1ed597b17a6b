//! The Engine.IO v4 client: the handshake, the two transports, the upgrade
//! from polling to WebSocket and the heartbeat, as one poll-driven
//! [`Session`] that the connection task drives.

mod endpoint;
mod handshake;
mod polling;
mod session;
mod websocket;

pub(crate) use endpoint::Endpoint;
pub(crate) use session::{Closed, Session, SessionEvent};
