//! The transports: HTTP long-polling (`polling`) and WebSocket
//! (`websocket`: the handshake and the upgrade from polling; `ws_session`:
//! the task of an open session; `ws_conn`: its connection; `ws_deflate`:
//! its permessage-deflate). The engine
//! (`engine/`) routes each request to one of them; sessions, heartbeats
//! and limits are the engine's and the socket's, shared by both.

pub(crate) mod polling;
pub(crate) mod websocket;
pub(crate) mod ws_conn;
mod ws_deflate;
mod ws_session;
