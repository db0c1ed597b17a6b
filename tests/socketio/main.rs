//! Socket.IO v5 end to end against `socketio-axum`: each test starts its own
//! server (axum + the `SocketIoLayer`, see `socketio_axum_tests::SioServer`)
//! and talks to it with the official npm `socket.io-client` (4.8.x, driven
//! by the `tests/node/sio_*.mjs` scripts) or with literal Socket.IO frames
//! over a WebSocket.

// A test fails by panicking, with a message, also in the helpers.
#![allow(clippy::panic)]

mod admin;
mod broadcast;
mod closing;
mod common;
mod connect;
mod deflate;
mod eio3;
mod extractors;
mod flood;
mod hostile;
mod interop;
mod msgpack;
mod namespaces;
mod options;
mod panics;
mod reconnect;
mod recovery;
mod relay;
mod rooms_extract;
mod serve_client;
mod shapes;
mod slow;
