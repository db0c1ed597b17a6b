//! The examples, end to end: the chat in a real browser (headless Chromium
//! driven by `playwright-core`) and `axum-app` with the official Node
//! `socket.io-client` and `fetch`.
//!
//! Each test starts the example's own application (`examples/*/app.rs`, the
//! library of the `socketio-axum-examples` package) in this process, on a
//! free port of 127.0.0.1, and runs a Node script against it: no example
//! binary to build or find, no port to share, and a server that the test can
//! stop and start again on the same port (see [`server`]). The scripts are
//! `tests/browser/*.test.mjs` and `tests/node/ex_*.mjs`; each exits non-zero
//! on failure, and prints its steps as JSON lines (with their times, in ms),
//! which a failing test shows.

// A failed test stops at a panic with a message.
#![allow(clippy::panic)]

mod admin_ui;
mod axum_app;
mod chat;
mod node;
mod process;
mod server;
mod webtransport;
