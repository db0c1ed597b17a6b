//! WebSocket per-message compression with the official client:
//! `socket.io-client` 4.8 offers permessage-deflate through `ws`, our
//! server (with `per_message_deflate`) agrees, and large messages both
//! ways, text and binary, come back intact; `compress(false)` too. The
//! wire itself (RSV1, the threshold, a deflate bomb) is checked in
//! `tests/engineio/deflate.rs`.

use socketio_axum::{
    extract::{AckSender, Data},
    SocketIoConfig, SocketRef, Value,
};
use socketio_axum_tests::{node_script, SioServer};

async fn server(deflate: bool) -> SioServer {
    let config = SocketIoConfig::builder()
        // Level 1, zlib's fastest, whose output the client reads like any.
        .engine(|e| e.per_message_deflate(deflate).deflate_level(1))
        .build();
    let server = SioServer::start(config).await;
    server.io.ns("/", |socket: SocketRef| async move {
        socket.on("echo", |Data(v): Data<Value>, ack: AckSender| async move {
            let _ = ack.send(&v);
        });
        socket.on("push", |socket: SocketRef| async move {
            let _ = socket.compress(false).emit("pushed", &"z".repeat(100_000));
        });
    });
    server
}

async fn run(deflate: bool) -> Vec<serde_json::Value> {
    let server = server(deflate).await;
    let out = node_script("sio_deflate.mjs", &[&server.url()]).await;
    out.assert_success();
    out.json_lines()
}

#[tokio::test]
async fn the_official_client_agrees_and_large_messages_survive_compression() {
    let lines = run(true).await;
    assert_eq!(lines[0]["extensions"], "permessage-deflate", "{lines:?}");
    for step in ["text", "binary", "small"] {
        let line = lines.iter().find(|l| l["event"] == step).expect(step);
        assert_eq!(line["same"], true, "{line}");
    }
    assert!(lines.iter().any(|l| l["event"] == "pushed"), "{lines:?}");
}

#[tokio::test]
async fn without_the_option_nothing_is_agreed() {
    let lines = run(false).await;
    assert_eq!(lines[0]["extensions"], "", "{lines:?}");
    assert!(lines.iter().any(|l| l["event"] == "end"), "{lines:?}");
}
