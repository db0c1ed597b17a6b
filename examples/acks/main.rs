//! Acknowledgements in both directions, with timeouts.
//!
//! - client to server: `add(a, b, callback)` calls the callback with the
//!   sum; `slow(ms, callback)` answers after `ms` milliseconds, for the
//!   client's own timeout to fire.
//! - server to one client: on connect, the server asks `question` and waits
//!   3 s at most for the answer.
//! - server to many clients: every 10 s the server sends `poll` to every
//!   socket and collects their answers, or errors, within 2 s.
//!
//! ```text
//! cargo run --example acks
//! ```
//!
//! and, with Node's `socket.io-client` (`npm ci --prefix tests` once):
//!
//! ```text
//! cd tests && node --input-type=module -e '
//!   import { io } from "socket.io-client";
//!   const socket = io("http://localhost:3000");
//!   socket.on("question", (text, callback) => callback("forty-two"));
//!   socket.on("poll", (callback) => callback(process.pid));
//!   console.log("2 + 3 =", await socket.emitWithAck("add", 2, 3));
//!   try { await socket.timeout(500).emitWithAck("slow", 2000); }
//!   catch (err) { console.log("slow:", err.message); }'
//! ```

use std::time::Duration;

use socketio_axum::{
    extract::{AckSender, Data},
    AckError, SocketIo, SocketRef,
};

async fn on_connect(socket: SocketRef) {
    // Client to server. `Data<(i64, i64)>` takes the two arguments; if they
    // are not two integers, the handler does not run and the client's
    // callback gets `{ error }` instead.
    socket.on(
        "add",
        |Data((a, b)): Data<(i64, i64)>, ack: AckSender| async move {
            let _ = ack.send(&a.saturating_add(b));
        },
    );

    // Events of one socket are handled in order, one at a time: a handler
    // that waits would hold back the next ones. Waiting in a task of its own
    // lets them through; the `AckSender` goes along.
    socket.on("slow", |Data(ms): Data<u64>, ack: AckSender| async move {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms.min(10_000))).await;
            let _ = ack.send("done");
        });
    });

    // Server to client, with a timeout of its own (without `timeout`, the
    // server's `ack_timeout`, 5 s by default, applies). Spawned so that the
    // client's events are handled meanwhile.
    let asking = socket.clone();
    tokio::spawn(async move {
        let answer = asking
            .timeout(Duration::from_secs(3))
            .emit_with_ack::<_, String>("question", "the answer?")
            .await;
        match answer {
            Ok(answer) => println!("{} answered {answer:?}", asking.id()),
            Err(AckError::Timeout(after)) => {
                println!("{} did not answer in {after:?}", asking.id())
            }
            Err(e) => println!("{}: no answer: {e}", asking.id()),
        }
    });
}

/// Every 10 s, asks every socket and prints each answer or error.
async fn poll_everyone(io: SocketIo) {
    let mut every = tokio::time::interval(Duration::from_secs(10));
    loop {
        every.tick().await;
        // `()` as data: the event has no arguments besides the callback.
        let replies = match io
            .timeout(Duration::from_secs(2))
            .emit_with_ack::<_, serde_json::Value>("poll", &())
        {
            Ok(replies) => replies.await,
            Err(e) => {
                println!("poll not sent: {e}");
                continue;
            }
        };
        // One result per socket reached: its answer, or why there is none.
        for reply in replies {
            match reply {
                Ok(value) => println!("poll: answered {value}"),
                Err(e) => println!("poll: {e}"),
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", on_connect);
    tokio::spawn(poll_everyone(io));

    let app = axum::Router::new().layer(layer);
    let listener = socketio_axum_examples::listen(3000).await?;
    let addr = listener.local_addr()?;
    println!("acks on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}
