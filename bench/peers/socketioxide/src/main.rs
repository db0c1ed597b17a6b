//! socketioxide 0.18.9 with the benchmark handlers (see `docs/benchmarks.md`):
//! `echo` acks its arguments, `broadcast` emits `broadcast` with its
//! arguments to every socket then acks, `join` joins the room given then
//! acks; for the rooms run, `leave` leaves the room given then acks,
//! `to_room` (room, payload) emits `room` with the payload to that room then
//! acks, and `join_all` joins every socket of `/` to the room given
//! (`io.join`) and acks with the time that took, in microseconds, as in
//! `bench_server`. Default configuration, on `127.0.0.1:$PORT` (default 3000), served
//! by `axum::serve` with `TCP_NODELAY`. `PING_INTERVAL_MS` and
//! `PING_TIMEOUT_MS` set the heartbeat (default 25,000 and 20,000), as in
//! `bench_server`, for the idle-connections run.
//!
//! For the cluster fan-out run, `REDIS_URL` puts the server in a cluster
//! behind `socketioxide-redis` 0.4.4 (its `redis` driver, which speaks
//! RESP3), with `REDIS_PREFIX` as its channel prefix (default `socket.io`);
//! the server listens once the adapter has subscribed. Without `REDIS_URL`
//! the server is the one of the other runs, on the local adapter.

use std::time::{Duration, Instant};

use axum::serve::ListenerExt;
use serde_json::Value;
use socketioxide::{
    adapter::{Adapter, Emitter},
    extract::{AckSender, Data, SocketRef},
    layer::SocketIoLayer,
    SocketIo, SocketIoBuilder,
};
use socketioxide_redis::{RedisAdapter, RedisAdapterConfig, RedisAdapterCtr};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut builder = SocketIo::builder();
    if let Some(d) = env_ms("PING_INTERVAL_MS")? {
        builder = builder.ping_interval(d);
    }
    if let Some(d) = env_ms("PING_TIMEOUT_MS")? {
        builder = builder.ping_timeout(d);
    }
    // The layer's type names the adapter; the router's does not.
    let app = match std::env::var("REDIS_URL") {
        Err(_) => axum::Router::new().layer(local(builder)),
        Ok(url) => axum::Router::new().layer(clustered(builder, &url).await?),
    };

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    // TCP_NODELAY, as Node's HTTP server and the floor have: without it,
    // Nagle's algorithm holds an answer until the client acknowledges the
    // previous one, milliseconds at moderate load (docs/benchmarks.md).
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await?
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    println!("socketioxide listening on 127.0.0.1:{port}");
    axum::serve(listener, app).await
}

/// The server of every run but the cluster's: the local adapter.
fn local(builder: SocketIoBuilder) -> SocketIoLayer {
    let (layer, io) = builder.build_layer();
    io.ns("/", on_connect);
    layer
}

/// A server of a cluster behind Redis at `url`.
async fn clustered(
    builder: SocketIoBuilder,
    url: &str,
) -> std::io::Result<SocketIoLayer<RedisAdapter<Emitter>>> {
    // The adapter's driver uses RESP3 push messages for its subscriptions.
    let url = if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    };
    let client = redis::Client::open(url).map_err(std::io::Error::other)?;
    let mut config = RedisAdapterConfig::new();
    if let Ok(prefix) = std::env::var("REDIS_PREFIX") {
        config = config.with_prefix(prefix);
    }
    let adapter = RedisAdapterCtr::new_with_redis_config(&client, config)
        .await
        .map_err(std::io::Error::other)?;
    let (layer, io) = builder
        .with_adapter::<RedisAdapter<_>>(adapter)
        .build_layer();
    io.ns("/", on_connect)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(layer)
}

/// The handlers, for any adapter.
async fn on_connect<A: Adapter>(socket: SocketRef<A>) {
    socket.on(
        "echo",
        async |ack: AckSender<A>, Data(args): Data<Value>| {
            let _ = ack.send(&args);
        },
    );
    socket.on(
        "broadcast",
        async |io: SocketIo<A>, ack: AckSender<A>, Data(args): Data<Value>| {
            let _ = io.emit("broadcast", &args).await;
            let _ = ack.send(&());
        },
    );
    socket.on(
        "join",
        async |socket: SocketRef<A>, ack: AckSender<A>, Data(room): Data<String>| {
            socket.join(room);
            let _ = ack.send(&());
        },
    );
    socket.on(
        "leave",
        async |socket: SocketRef<A>, ack: AckSender<A>, Data(room): Data<String>| {
            socket.leave(room);
            let _ = ack.send(&());
        },
    );
    socket.on(
        "to_room",
        async |io: SocketIo<A>, ack: AckSender<A>, Data((room, payload)): Data<(String, Value)>| {
            let _ = io.to(room).emit("room", &payload).await;
            let _ = ack.send(&());
        },
    );
    socket.on(
        "join_all",
        async |io: SocketIo<A>, ack: AckSender<A>, Data(room): Data<String>| {
            let started = Instant::now();
            let _ = io.join(room).await;
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let _ = ack.send(&micros);
        },
    );
}

/// A duration in milliseconds from the environment variable `name`.
fn env_ms(name: &str) -> std::io::Result<Option<Duration>> {
    let Ok(v) = std::env::var(name) else {
        return Ok(None);
    };
    let ms = v.parse().map_err(|e| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{name}={v}: {e}"))
    })?;
    Ok(Some(Duration::from_millis(ms)))
}
