//! The Redis adapter (`socketio-redis`) in a mixed cluster: two Rust
//! servers in this process and a Node.js server (`socket.io` 4.8 with
//! `@socket.io/redis-adapter` 8.3), each with socket.io-client clients,
//! behind the Redis at `REDIS_URL` (default `redis://127.0.0.1:6379`). Each
//! test uses a key prefix of its own, so tests share that Redis safely.
//! `example` runs `examples/redis-cluster` in such a cluster; `compress`
//! reads the raw frames of a client that agreed to permessage-deflate.
//! The tests that stop or freeze Redis run a private `redis-server` on a free
//! port each.

// A failed step of a test panics, with a message.
#![allow(clippy::panic, clippy::unwrap_used)]

mod cluster;
mod compress;
mod emitter;
mod example;
mod harness;
mod latency;
mod outage;
mod parser;
mod private;
mod production;
mod sharded;
mod streams;
