//! Engine.IO v4 conformance of `engineio-tower`, end to end: each test starts
//! its own server (axum + the `EngineIo` layer, see `socketio_axum_tests`)
//! and talks to it with raw HTTP requests, WebSocket clients, hand-written
//! WebSocket frames, or the official npm `engine.io-client`.

mod cookie;
mod cors;
mod deflate;
mod eio3;
mod errors;
mod handshake;
mod heartbeat;
mod limits;
mod malformed;
mod node_client;
mod panics;
mod polling;
mod shutdown;
mod upgrade;
mod websocket;
mod webtransport;
mod ws_echo;
