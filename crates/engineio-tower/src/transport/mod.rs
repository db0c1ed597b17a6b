//! The transports, each in its own file: HTTP long-polling (`polling`) and
//! WebSocket (`websocket`, over the connection of `ws_conn`). The engine
//! (`engine.rs`) routes each request to one of them; sessions, heartbeats
//! and limits are the engine's and the socket's, shared by both.

pub(crate) mod polling;
pub(crate) mod websocket;
pub(crate) mod ws_conn;
