//! socketioxide 0.18.9 with the benchmark handlers (see `docs/benchmarks.md`):
//! `echo` acks its arguments, `broadcast` emits `broadcast` with its
//! arguments to every socket then acks, `join` joins the room given then
//! acks. Default configuration, on `127.0.0.1:$PORT` (default 3000), served
//! by `axum::serve` with `TCP_NODELAY`. `PING_INTERVAL_MS` and
//! `PING_TIMEOUT_MS` set the heartbeat (default 25,000 and 20,000), as in
//! `bench_server`, for the idle-connections run.

use std::time::Duration;

use axum::serve::ListenerExt;
use serde_json::Value;
use socketioxide::{
    extract::{AckSender, Data, SocketRef},
    SocketIo,
};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut builder = SocketIo::builder();
    if let Some(d) = env_ms("PING_INTERVAL_MS")? {
        builder = builder.ping_interval(d);
    }
    if let Some(d) = env_ms("PING_TIMEOUT_MS")? {
        builder = builder.ping_timeout(d);
    }
    let (layer, io) = builder.build_layer();
    io.ns("/", async |socket: SocketRef| {
        socket.on("echo", async |ack: AckSender, Data(args): Data<Value>| {
            let _ = ack.send(&args);
        });
        socket.on(
            "broadcast",
            async |io: SocketIo, ack: AckSender, Data(args): Data<Value>| {
                let _ = io.emit("broadcast", &args).await;
                let _ = ack.send(&());
            },
        );
        socket.on(
            "join",
            async |socket: SocketRef, ack: AckSender, Data(room): Data<String>| {
                socket.join(room);
                let _ = ack.send(&());
            },
        );
    });

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let app = axum::Router::new().layer(layer);
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
