//! Interoperability with the official npm `engine.io-client` (6.6.8), run by
//! `tests/node/eio_client.mjs`: text and binary both ways, a close by the
//! client seen by both sides, and the upgrade from polling to WebSocket.

use std::time::Duration;

use bytes::Bytes;
use engineio_tower::{CloseReason, EngineIoConfig, Message};
use serde_json::{json, Value};
use socketio_axum_tests::{node_script, TestServer};

/// Pings every 300 ms, so that the client answers some during the test, with
/// a timeout that tolerates a Node process slowed by a busy machine.
fn config() -> EngineIoConfig {
    EngineIoConfig::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_secs(2))
        .build()
}

/// What the script sends in round `n` (see `eio_client.mjs`).
fn round(n: u8) -> [Message; 2] {
    [
        Message::Text(format!("round {n}: héllo ✓").into()),
        Message::Binary(Bytes::from(vec![n, 0, 1, 127, 128, 255])),
    ]
}

/// Runs the script in `mode`; checks what the server saw and returns the
/// script's JSON lines.
async fn run(mode: &str, rounds: u8) -> Vec<Value> {
    let server = TestServer::start(config()).await;
    let url = format!("http://{}", server.addr);
    let out = node_script("eio_client.mjs", &[&url, mode]).await;
    out.assert_success();
    let lines = out.json_lines();

    let sid = server.events.open().await;
    assert_eq!(lines[0]["event"], "open", "{lines:#?}");
    assert_eq!(lines[0]["sid"], sid.as_str(), "the client's sid");
    for n in 1..=rounds {
        for expected in round(n) {
            assert_eq!(server.events.message(sid).await, expected, "round {n}");
        }
    }
    assert_eq!(server.events.close(sid).await, CloseReason::TransportClose);

    let close = lines.iter().find(|l| l["event"] == "close");
    assert_eq!(
        close,
        Some(&json!({ "event": "close", "reason": "forced close" })),
        "{lines:#?}"
    );
    let echoes = lines.iter().filter(|l| l["event"] == "message").count();
    assert_eq!(echoes, 2 * usize::from(rounds), "{lines:#?}");
    lines
}

fn transport_at_end(lines: &[Value]) -> &Value {
    let end = lines.last().expect("output");
    assert_eq!(end["event"], "end", "{lines:#?}");
    &end["transport"]
}

#[tokio::test]
async fn engine_io_client_over_polling() {
    let lines = run("polling", 1).await;
    assert_eq!(lines[0]["transport"], "polling");
    assert_eq!(transport_at_end(&lines), "polling");
}

#[tokio::test]
async fn engine_io_client_over_websocket() {
    let lines = run("websocket", 1).await;
    assert_eq!(lines[0]["transport"], "websocket");
    assert_eq!(transport_at_end(&lines), "websocket");
}

#[tokio::test]
async fn engine_io_client_upgrades_from_polling_to_websocket() {
    let lines = run("upgrade", 2).await;
    assert_eq!(lines[0]["transport"], "polling");
    assert!(
        lines
            .iter()
            .any(|l| *l == json!({ "event": "upgrade", "transport": "websocket" })),
        "{lines:#?}"
    );
    // The second round ran after the upgrade, over the WebSocket.
    let second_round: Vec<_> = lines
        .iter()
        .filter(|l| l["event"] == "message")
        .skip(2)
        .map(|l| &l["transport"])
        .collect();
    assert_eq!(second_round, [&json!("websocket"); 2], "{lines:#?}");
    assert_eq!(transport_at_end(&lines), "websocket");
}
