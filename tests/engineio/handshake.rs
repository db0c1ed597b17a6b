//! The `open` packet, over polling and over WebSocket.

use std::{collections::BTreeSet, time::Duration};

use engineio_tower::EngineIoConfig;
use serde_json::json;
use socketio_axum_tests::{TestServer, WsClient};

/// Values unlike the defaults, so that the handshake must come from the config.
fn config() -> EngineIoConfig {
    EngineIoConfig::builder()
        .ping_interval(Duration::from_millis(12_345))
        .ping_timeout(Duration::from_millis(6_789))
        .max_payload(54_321)
        .build()
}

fn assert_fields(handshake: &serde_json::Value, upgrades: serde_json::Value) {
    let keys: BTreeSet<&str> = handshake
        .as_object()
        .expect("the handshake is a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "sid",
            "upgrades",
            "pingInterval",
            "pingTimeout",
            "maxPayload"
        ]),
        "exactly the keys of protocol v4"
    );
    assert_eq!(handshake["upgrades"], upgrades);
    assert_eq!(handshake["pingInterval"], json!(12_345));
    assert_eq!(handshake["pingTimeout"], json!(6_789));
    assert_eq!(handshake["maxPayload"], json!(54_321));
}

#[tokio::test]
async fn polling_handshake_offers_the_websocket_upgrade() {
    let server = TestServer::start(config()).await;
    let session = server.polling_session().await;
    assert_eq!(
        session.response.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_fields(&session.handshake, json!(["websocket"]));
    assert_eq!(session.sid.as_str().len(), 20);
    assert_eq!(server.engine.session_count(), 1);

    // Polling responses after the handshake are text too.
    server.socket(session.sid).send_text("x").expect("send");
    let res = session.get().await;
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
}

#[tokio::test]
async fn websocket_handshake_offers_no_upgrade() {
    let server = TestServer::start(config()).await;
    let (_ws, sid, handshake) = WsClient::open(&server).await;
    assert_fields(&handshake, json!([]));
    assert!(server.engine.socket(sid).is_some());
}
