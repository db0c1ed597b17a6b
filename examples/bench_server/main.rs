//! The server the benchmarks (`bench/`, `docs/benchmarks.md`) measure: the
//! default configuration and three handlers, the same as in the peers'
//! servers under `bench/peers/`, served by `axum::serve` with `TCP_NODELAY`.
//!
//! - `echo` acknowledges with its arguments, untouched ([`RawArgs`]);
//! - `broadcast` emits `broadcast` with its arguments to every socket of the
//!   main namespace (the sender too), then acknowledges with no argument;
//! - `join` joins the room named by its argument, then acknowledges.
//!
//! ```text
//! PORT=3000 cargo run --release --example bench_server
//! ```

use axum::serve::ListenerExt;
use socketio_axum::{
    extract::{AckSender, Data, RawArgs},
    SocketIo, SocketRef,
};

async fn on_connect(socket: SocketRef) {
    socket.on("echo", |ack: AckSender, args: RawArgs| async move {
        let _ = ack.send_raw(args);
    });
    // The arguments go out as they came in; the packet is encoded once and
    // shared by every socket.
    socket.on(
        "broadcast",
        |socket: SocketRef, ack: AckSender, args: RawArgs| async move {
            let _ = socket.io().emit_raw("broadcast", args);
            let _ = ack.send(&());
        },
    );
    socket.on(
        "join",
        |socket: SocketRef, ack: AckSender, Data(room): Data<String>| async move {
            socket.join(room);
            let _ = ack.send(&());
        },
    );
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", on_connect);

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
    println!("socketio-axum listening on 127.0.0.1:{port}");
    axum::serve(listener, app).await
}
