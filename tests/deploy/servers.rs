//! The Socket.IO servers put behind nginx: `echo` (acknowledged with its
//! arguments, and emitted back as `echoed`), `whoami` (acknowledged with the
//! server's name) and `shout` (broadcast to the others as `news`, through
//! the adapter).

use socketio_axum::{
    extract::{AckSender, Data, RawArgs},
    SocketIo, SocketIoConfig, SocketRef,
};
use socketio_axum_tests::SioServer;
use socketio_redis::RedisAdapter;

/// A server named `name`, on the adapter if one is given.
pub(crate) async fn start(
    name: &'static str,
    config: SocketIoConfig,
    adapter: Option<RedisAdapter>,
) -> SioServer {
    let mut builder = SocketIo::builder().config(config);
    if let Some(adapter) = adapter {
        builder = builder.adapter(adapter);
    }
    let server = SioServer::start_with(builder, axum::Router::new()).await;
    server.io.ns("/", move |socket: SocketRef| async move {
        socket.on(
            "echo",
            |socket: SocketRef, ack: AckSender, args: RawArgs| async move {
                let _ = socket.emit_raw("echoed", args.clone());
                let _ = ack.send_raw(args);
            },
        );
        socket.on("whoami", move |ack: AckSender| async move {
            let _ = ack.send(name);
        });
        socket.on(
            "shout",
            |socket: SocketRef, Data(text): Data<String>| async move {
                let _ = socket.broadcast().emit("news", &text);
            },
        );
    });
    server
}
