//! Against our own server (`socketio-axum`).

use std::sync::{
    atomic::{AtomicU32, Ordering},
    Arc,
};

use serde_json::json;
use socketio_client::{Auth, Transport, Transports};

use crate::{
    harness::{builder, Probe},
    scenarios,
    servers::{RustServer, Server},
};

#[tokio::test]
async fn connects_over_polling() {
    let server = RustServer::start(0);
    scenarios::connect_over(
        builder(&server.url(), Transports::PollingOnly),
        Transports::PollingOnly,
        true,
    )
    .await;
}

#[tokio::test]
async fn connects_over_websocket() {
    let server = RustServer::start(0);
    scenarios::connect_over(
        builder(&server.url(), Transports::WebSocketOnly),
        Transports::WebSocketOnly,
        true,
    )
    .await;
}

#[tokio::test]
async fn connects_over_polling_then_upgrades() {
    let server = RustServer::start(0);
    scenarios::connect_over(
        builder(&server.url(), Transports::Upgrade),
        Transports::Upgrade,
        true,
    )
    .await;
}

#[tokio::test]
async fn events_and_acks_both_ways() {
    let server = RustServer::start(0);
    scenarios::events_and_acks(builder(&server.url(), Transports::default())).await;
}

/// Connection state recovery on our server, with our client.
#[tokio::test]
async fn recovers_the_session_after_a_dropped_connection() {
    let server = RustServer::start_with_recovery();
    scenarios::recovers_after_a_dropped_connection(&server.url()).await;
}

#[tokio::test]
async fn binary_both_ways_over_polling() {
    let server = RustServer::start(0);
    scenarios::binary(
        builder(&server.url(), Transports::PollingOnly),
        Transport::Polling,
    )
    .await;
}

#[tokio::test]
async fn binary_both_ways_over_websocket() {
    let server = RustServer::start(0);
    scenarios::binary(
        builder(&server.url(), Transports::WebSocketOnly),
        Transport::WebSocket,
    )
    .await;
}

#[tokio::test]
async fn namespaces_share_one_connection() {
    let server = RustServer::start(0);
    scenarios::namespaces(&server.url()).await;
}

#[tokio::test]
async fn connect_error_carries_the_middleware_data() {
    let server = RustServer::start(0);
    scenarios::connect_error(&server.url()).await;
}

/// A computed `auth` runs again for each connection; a socket's own
/// `auth` replaces the client's.
#[tokio::test]
async fn auth_is_computed_for_each_connection() {
    let server = RustServer::start(0);
    let port = server.port();
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let client = builder(&server.url(), Transports::WebSocketOnly)
        .auth(Auth::from_fn(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move { json!({"token": "good", "call": n}) }
        }))
        .build()
        .expect("client");
    let root = client.socket("/");
    let chat = client.socket("/chat");
    chat.set_auth(json!({"room": "lobby"}));
    let mut probe = Probe::new();
    probe.watch_socket(&root);
    probe.watch_socket(&chat);
    let (a, b) = tokio::join!(root.connect(), chat.connect());
    a.expect("connect /");
    b.expect("connect /chat");
    let welcomes = probe.event_on_each("welcome", &["/", "/chat"]).await;
    assert_eq!(welcomes[0]["auth"], json!({"token": "good", "call": 1}));
    assert_eq!(welcomes[1]["auth"], json!({"room": "lobby"}));

    server.kill();
    probe.disconnected("/").await;
    let _server = RustServer::start(port);
    assert_eq!(
        probe.event("/", "welcome").await[0]["auth"],
        json!({"token": "good", "call": 2})
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    client.disconnect();
}

#[tokio::test]
async fn values_keep_binary_both_ways() {
    let server = RustServer::start(0);
    scenarios::values_with_binary(&server.url()).await;
}
