//! socketioxide 0.18.9 with the benchmark handlers (see `docs/benchmarks.md`):
//! `echo` acks its arguments, `broadcast` emits `broadcast` with its
//! arguments to every socket then acks, `join` joins the room given then
//! acks. Default configuration, on `127.0.0.1:$PORT` (default 3000), served
//! by `axum::serve` with `TCP_NODELAY`.

use axum::serve::ListenerExt;
use serde_json::Value;
use socketioxide::{
    extract::{AckSender, Data, SocketRef},
    SocketIo,
};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (layer, io) = SocketIo::new_layer();
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
