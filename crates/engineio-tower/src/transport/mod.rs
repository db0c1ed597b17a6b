//! The transports: HTTP long-polling (`polling`) and WebSocket
//! (`websocket`: the handshake and the upgrade from polling; `ws_session`:
//! the task of an open session; `ws_conn`: its connection; `ws_deflate`:
//! its permessage-deflate). The engine
//! (`engine/`) routes each request to one of them; sessions, heartbeats
//! and limits are the engine's and the socket's, shared by both.

mod packet;
pub(crate) mod polling;
mod upgrade;
pub(crate) mod websocket;
#[cfg(feature = "webtransport")]
pub(crate) mod webtransport;
pub(crate) mod ws_conn;
mod ws_deflate;
mod ws_session;
#[cfg(feature = "webtransport")]
mod wt_session;
