//! Our servers as deployed, with the official `socket.io-client` (Node) as
//! the peer: over TLS (`examples/tls`, a CA made at test time), behind a real
//! nginx (Debian's, started by each test with the configuration of
//! `tests/deploy/nginx.conf`, which docs/deployment.md reproduces), and two
//! servers on Redis behind nginx with sticky sessions.

// A test harness fails the test it serves by panicking, with a message.
#![allow(clippy::panic)]

mod client;
mod cookie;
mod docs;
mod nginx;
mod proxy;
mod servers;
mod sticky;
mod tls;
mod tmp;
