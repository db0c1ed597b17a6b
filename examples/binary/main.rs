//! Binary data both ways. Byte arrays (`ArrayBuffer`, `Buffer`,
//! `Uint8Array`) travel as Socket.IO attachments: as WebSocket binary
//! frames, or base64 in long-polling, never as JSON arrays of numbers.
//!
//! - `upload(name, bytes, ack)`: the server acknowledges with the size and a
//!   checksum, and sends the bytes back reversed in a `reversed` event.
//! - on connect, the server sends `hello` with a few bytes inside an object.
//!
//! ```text
//! cargo run --example binary
//! ```
//!
//! and, with Node's `socket.io-client` (`npm ci --prefix tests` once):
//!
//! ```text
//! cd tests && node --input-type=module -e '
//!   import { io } from "socket.io-client";
//!   const socket = io("http://localhost:3000");
//!   socket.on("hello", (msg) => console.log("hello:", msg));
//!   socket.on("reversed", (name, bytes) => { console.log(name, bytes); socket.close(); });
//!   console.log(await socket.emitWithAck("upload", "data.bin", Buffer.from([1, 2, 3, 255])));'
//! ```

use serde::Serialize;
use socketio_axum::{
    extract::{AckSender, Data},
    Binary, SocketIo, SocketRef,
};

/// A struct with a binary field: `Binary` serializes as an attachment
/// wherever it sits in the data, and the client gets a `Buffer` (Node) or an
/// `ArrayBuffer` (browser) there.
#[derive(Serialize)]
struct Hello {
    text: &'static str,
    magic: Binary,
}

/// The acknowledgement of `upload`.
#[derive(Serialize)]
struct Receipt {
    name: String,
    size: usize,
    /// Sum of the bytes modulo 2^32: enough to show they arrived intact.
    checksum: u32,
}

async fn on_connect(socket: SocketRef) {
    let hello = Hello {
        text: "binary works",
        magic: Binary::from(b"\x00\x01\xfe\xff".to_vec()),
    };
    let _ = socket.emit("hello", &hello);

    // `Data<(String, Binary)>` takes the event's two arguments. `Binary` is
    // a slice of the received attachment: no copy is made.
    socket.on(
        "upload",
        |socket: SocketRef, Data((name, bytes)): Data<(String, Binary)>, ack: AckSender| async move {
            let checksum = bytes
                .iter()
                .fold(0u32, |sum, b| sum.wrapping_add(u32::from(*b)));
            let _ = ack.send(&Receipt {
                name: name.clone(),
                size: bytes.len(),
                checksum,
            });

            let mut reversed = bytes.to_vec();
            reversed.reverse();
            // A tuple is the list of arguments: a string, then an attachment.
            let _ = socket.emit("reversed", &(name, Binary::from(reversed)));
        },
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", on_connect);

    let app = axum::Router::new().layer(layer);
    let listener = socketio_axum_examples::listen(3000).await?;
    let addr = listener.local_addr()?;
    println!("binary on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}
