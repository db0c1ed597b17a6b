//! Cross-server broadcast latency, Rust → Rust and Node → Rust, measured at
//! a WebSocket client of the receiving Rust server. Not a test: run it with
//!
//! ```text
//! cargo test --release -p socketio-axum-tests --test redis -- --ignored --nocapture latency
//! ```

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::{connect_async, tungstenite::Message, MaybeTlsStream, WebSocketStream};

use crate::harness::{redis_url, unique_prefix, within, NodeServer, RustServer};

const MESSAGES: usize = 1000;

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A bare Socket.IO client over WebSocket: joins `/` and hands on the
/// arguments of each event.
async fn connect(url: &str) -> Ws {
    let url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        url.replace("http://", "ws://")
    );
    let (mut ws, _) = connect_async(url).await.expect("websocket");
    let open = next_text(&mut ws).await;
    assert!(open.starts_with('0'), "{open}");
    ws.send(Message::text("40")).await.expect("send");
    let connected = next_text(&mut ws).await;
    assert!(connected.starts_with("40"), "{connected}");
    ws
}

async fn next_text(ws: &mut Ws) -> String {
    loop {
        match ws.next().await.expect("open").expect("frame") {
            Message::Text(t) if t.as_str() == "2" => {
                ws.send(Message::text("3")).await.expect("pong");
            }
            Message::Text(t) => return t.as_str().to_owned(),
            _ => {}
        }
    }
}

async fn next_event(ws: &mut Ws) -> Value {
    loop {
        let text = next_text(ws).await;
        if let Some(json) = text.strip_prefix("42") {
            let v: Value = serde_json::from_str(json).expect("event JSON");
            return v[1].clone();
        }
    }
}

fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "{what}: n={} p50={:?} p99={:?} max={:?}",
        samples.len(),
        at(0.50),
        at(0.99),
        samples[samples.len() - 1]
    );
}

#[tokio::test]
#[ignore = "a measurement, not a test"]
async fn latency() {
    let prefix = unique_prefix("latency");
    let redis = redis_url();
    let (a, b, mut node) = tokio::join!(
        RustServer::start("a", &prefix, &redis),
        RustServer::start("b", &prefix, &redis),
        NodeServer::start(&prefix, &redis),
    );
    let mut ws = connect(&b.url).await;

    // Rust → Rust: one message at a time, timed with this process's clock.
    let mut samples = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES + 100 {
        let sent = Instant::now();
        a.io.emit("lat", &json!({ "i": i })).unwrap();
        let got = within("a message from a", next_event(&mut ws)).await;
        assert_eq!(got["i"], i);
        if i >= 100 {
            samples.push(sent.elapsed());
        }
    }
    report("Rust -> Rust", samples);

    // Node → Rust: 2 ms apart, timed with the wall clock both processes share.
    node.proc
        .send(json!({"id": "series", "cmd": "emitSeries", "event": "lat", "count": MESSAGES + 100, "intervalMs": 2}))
        .await;
    let mut samples = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES + 100 {
        let got = within("a message from node", next_event(&mut ws)).await;
        let delay = (wall_ms() - got["t"].as_f64().unwrap()).max(0.0);
        assert_eq!(got["i"], i);
        if i >= 100 {
            samples.push(Duration::from_secs_f64(delay / 1000.0));
        }
    }
    report("Node -> Rust", samples);
}
