//! Against the official Node server (`socket.io` 4.8.4, `tests/node/client_server.mjs`).

use serde_json::json;
use socketio_client::{Transport, Transports};

use crate::{
    harness::{builder, within},
    scenarios,
    servers::{NodeServer, Server},
};

async fn server() -> NodeServer {
    NodeServer::start(0, json!({})).await
}

#[tokio::test]
async fn connects_over_polling() {
    let server = server().await;
    scenarios::connect_over(
        builder(&server.url(), Transports::PollingOnly),
        Transports::PollingOnly,
        true,
    )
    .await;
}

#[tokio::test]
async fn connects_over_websocket() {
    let server = server().await;
    scenarios::connect_over(
        builder(&server.url(), Transports::WebSocketOnly),
        Transports::WebSocketOnly,
        true,
    )
    .await;
}

#[tokio::test]
async fn connects_over_polling_then_upgrades() {
    let server = server().await;
    scenarios::connect_over(
        builder(&server.url(), Transports::Upgrade),
        Transports::Upgrade,
        true,
    )
    .await;
}

#[tokio::test]
async fn events_and_acks_both_ways() {
    let server = server().await;
    scenarios::events_and_acks(builder(&server.url(), Transports::default())).await;
}

#[tokio::test]
async fn binary_both_ways_over_polling() {
    let server = server().await;
    scenarios::binary(
        builder(&server.url(), Transports::PollingOnly),
        Transport::Polling,
    )
    .await;
}

#[tokio::test]
async fn binary_both_ways_over_websocket() {
    let server = server().await;
    scenarios::binary(
        builder(&server.url(), Transports::WebSocketOnly),
        Transport::WebSocket,
    )
    .await;
}

#[tokio::test]
async fn namespaces_share_one_connection() {
    let server = server().await;
    scenarios::namespaces(&server.url()).await;
}

#[tokio::test]
async fn connect_error_carries_the_middleware_data() {
    let server = server().await;
    scenarios::connect_error(&server.url()).await;
}

/// A server whose `allowRequest` refuses every request: the error names
/// the HTTP status and Node's message, over polling (403 with Node's error
/// JSON) and WebSocket (Node answers a refused upgrade with 400 and the
/// message as its body).
#[tokio::test]
async fn a_handshake_refused_by_node_names_the_status_and_message() {
    let server = NodeServer::start(0, json!({"refuse": "no robots today"})).await;
    for (transports, status) in [
        (Transports::PollingOnly, 403),
        (Transports::WebSocketOnly, 400),
    ] {
        let client = builder(&server.url(), transports)
            .reconnection(false)
            .build()
            .expect("client");
        let e = within("connect", client.socket("/").connect())
            .await
            .expect_err("refused");
        assert!(e.is_transport(), "{e:?}");
        assert_eq!(e.status(), Some(status), "{transports:?}: {e:?}");
        let cause = std::error::Error::source(&e).expect("a cause").to_string();
        assert!(
            cause.contains(&format!("HTTP status {status}")) && cause.contains("no robots today"),
            "{transports:?}: {cause}"
        );
    }
}

/// With `connectionStateRecovery` on, the client keeps the server's `pid`
/// and the offset of the last event, sends them when it reconnects, and the
/// server restores the session and replays what was missed.
#[tokio::test]
async fn recovers_the_session_after_a_dropped_connection() {
    let server = NodeServer::start(0, json!({"recovery": true})).await;
    scenarios::recovers_after_a_dropped_connection(&server.url()).await;
}

#[tokio::test]
async fn values_keep_binary_both_ways() {
    let server = server().await;
    scenarios::values_with_binary(&server.url()).await;
}
