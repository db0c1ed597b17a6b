//! The smallest Socket.IO server: every `message` comes back to its sender,
//! and a `message` sent with an acknowledgement callback gets its arguments
//! back through the callback too.
//!
//! ```text
//! cargo run --example echo
//! ```
//!
//! and, with Node's `socket.io-client` (`npm ci --prefix tests` once):
//!
//! ```text
//! cd tests && node --input-type=module -e '
//!   import { io } from "socket.io-client";
//!   const socket = io("http://localhost:3000");
//!   socket.on("message", (...args) => console.log("echo:", ...args));
//!   socket.emit("message", "hello", { n: 1 });
//!   console.log("ack:", await socket.emitWithAck("message", "with ack"));
//!   socket.close();'
//! ```

use socketio_axum::{
    extract::{AckSender, RawArgs},
    SocketIo, SocketRef,
};

/// Runs once for each client that connects to the main namespace `/`; it
/// registers the socket's event handlers.
async fn on_connect(socket: SocketRef) {
    println!("{} connected", socket.id());

    // `RawArgs` is the arguments exactly as received (JSON text and binary
    // attachments): echoing them needs no decoding. `AckSender` answers the
    // client's callback, and does nothing when the client gave none.
    socket.on(
        "message",
        |socket: SocketRef, ack: AckSender, args: RawArgs| async move {
            if ack.is_expected() {
                let _ = ack.send_raw(args);
            } else {
                let _ = socket.emit_raw("message", args);
            }
        },
    );

    socket.on_disconnect(|socket: SocketRef| async move {
        println!("{} disconnected", socket.id());
    });
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The layer serves `/socket.io/`; `io` is the handle to the server.
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", on_connect);

    // Any axum router works; this one has no routes of its own.
    let app = axum::Router::new().layer(layer);
    let listener = socketio_axum_examples::listen(3000).await?;
    let addr = listener.local_addr()?;
    println!("echo on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}
