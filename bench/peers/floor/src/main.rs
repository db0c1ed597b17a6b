//! The floor: the least a server can do to pass the benchmarks over
//! WebSocket. It answers the Engine.IO open and the Socket.IO connect with
//! fixed text, acks `echo` with its arguments, fans `broadcast` out to every
//! connection (the text built once and shared) and acks it, acks `join`.
//! No parser, no namespaces, no rooms, no heartbeat, no polling: what any
//! Socket.IO server costs above this is the price of its logic.
//!
//! On `127.0.0.1:$PORT` (default 3000), any request path.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use futures_util::{SinkExt, StreamExt};
use tokio::{net::TcpStream, sync::mpsc};
use tokio_tungstenite::tungstenite::{protocol::WebSocketConfig, Message, Utf8Bytes};

type Peers = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Message>>>>;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("floor listening on 127.0.0.1:{port}");
    let peers: Peers = Arc::default();
    let next_id = AtomicU64::new(1);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(serve(stream, id, peers.clone()));
    }
}

async fn serve(stream: TcpStream, id: u64, peers: Peers) {
    // tungstenite reserves its whole read buffer (128 KiB by default) per
    // connection; the floor's messages are small.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let sid = format!("floor{id:015}");
    let _ = tx.send(Message::text(format!(
        r#"0{{"sid":"{sid}","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}}"#
    )));

    // One writer per connection, flushing once per burst of queued messages.
    let writer = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if sink.feed(msg).await.is_err() {
                return;
            }
            while let Ok(msg) = rx.try_recv() {
                if sink.feed(msg).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });

    while let Some(Ok(msg)) = stream.next().await {
        let Message::Text(text) = msg else {
            if msg.is_close() {
                break;
            }
            continue;
        };
        let text = text.as_str();
        if text == "40" || text.starts_with("40{") {
            let _ = tx.send(Message::text(format!(r#"40{{"sid":"{sid}"}}"#)));
            crate::lock(&peers).insert(id, tx.clone());
        } else if let Some(event) = text.strip_prefix("42") {
            // `42<ack id>["name",args...]`
            let open = event.find('[').unwrap_or(event.len());
            let ack_id = &event[..open];
            let body = &event[open..];
            let (name, args) = split_event(body);
            match name {
                "echo" => {
                    let _ = tx.send(Message::text(format!("43{ack_id}[{args}]")));
                }
                "broadcast" => {
                    let out = Message::Text(Utf8Bytes::from(format!(r#"42["broadcast",{args}]"#)));
                    for peer in crate::lock(&peers).values() {
                        let _ = peer.send(out.clone());
                    }
                    let _ = tx.send(Message::text(format!("43{ack_id}[]")));
                }
                _ => {
                    let _ = tx.send(Message::text(format!("43{ack_id}[]")));
                }
            }
        } else if text == "2" {
            let _ = tx.send(Message::text("3"));
        }
    }
    crate::lock(&peers).remove(&id);
    drop(tx);
    let _ = writer.await;
}

/// Splits `["name",a,b]` into `name` and `a,b` (no unescaping: the floor's
/// event names are plain).
fn split_event(body: &str) -> (&str, &str) {
    let inner = body
        .strip_prefix('[')
        .and_then(|b| b.strip_suffix(']'))
        .unwrap_or("");
    let Some(rest) = inner.strip_prefix('"') else {
        return ("", "");
    };
    let Some(end) = rest.find('"') else {
        return ("", "");
    };
    let name = &rest[..end];
    let args = rest[end + 1..].strip_prefix(',').unwrap_or("");
    (name, args)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
