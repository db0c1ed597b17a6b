//! The Rust client (`socketio-client`) end to end: against the official
//! Node server and against our own (`socketio-axum`), each started by the
//! test; then reconnection, buffering, timeouts and the heartbeat, with
//! servers killed and restarted on the same port; TLS (`https://`,
//! `wss://`) and WebTransport against ours.

// A failed step stops its test with a message.
#![allow(clippy::panic, clippy::unwrap_used)]

mod harness;
mod node;
mod own;
mod reconnect;
mod scenarios;
mod servers;
mod tls;
mod webtransport;
