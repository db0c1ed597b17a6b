//! Every Engine.IO option set through `SocketIoConfig::builder()` (and so
//! `SocketIo::builder()`) takes effect on the wire: what the handshake
//! advertises, the path, the transports, the payload limit, the upgrade
//! timeout and the `allow_request` hook. The slow-consumer limits are
//! covered the same way in `slow.rs`.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::Value;
use socketio_axum::{SocketIoConfig, SocketRef};
use socketio_axum_tests::{within, HttpResponse, SioServer};
use tokio_tungstenite::tungstenite::Message;

fn get(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .body(Full::new(Bytes::new()))
        .expect("request")
}

/// The `open` packet of a polling handshake answer (`0{...}`).
fn open_packet(res: &HttpResponse) -> Value {
    assert_eq!(res.status, StatusCode::OK, "{res:?}");
    let text = res.text();
    let json = text
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet: {text:?}"));
    serde_json::from_str(json).expect("open packet JSON")
}

async fn start(config: SocketIoConfig) -> SioServer {
    let server = SioServer::start(config).await;
    server.io.ns("/", |_: SocketRef| async {});
    server
}

#[tokio::test]
async fn path_heartbeat_payload_and_transports_reach_the_engine() {
    let config = SocketIoConfig::builder()
        .path("/realtime")
        .ping_interval(Duration::from_millis(1234))
        .ping_timeout(Duration::from_millis(2345))
        .max_payload(4321)
        .transports(true, false)
        .build();
    let server = start(config).await;

    let open = open_packet(
        &server
            .request(get("/realtime/?EIO=4&transport=polling"))
            .await,
    );
    assert_eq!(open["pingInterval"], 1234);
    assert_eq!(open["pingTimeout"], 2345);
    assert_eq!(open["maxPayload"], 4321);
    assert_eq!(
        open["upgrades"],
        serde_json::json!([]),
        "no WebSocket, no upgrade"
    );

    // The default path is not served any more.
    let res = server
        .request(get("/socket.io/?EIO=4&transport=polling"))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{res:?}");

    // WebSocket is refused as an unknown transport.
    server
        .request(get("/realtime/?EIO=4&transport=websocket"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, 0, "Transport unknown");

    // A POST one byte over max_payload is refused.
    let sid = open["sid"].as_str().expect("sid").to_owned();
    let post = |body: Vec<u8>| {
        Request::builder()
            .method(Method::POST)
            .uri(format!("/realtime/?EIO=4&transport=polling&sid={sid}"))
            .body(Full::new(Bytes::from(body)))
            .expect("request")
    };
    let res = server.request(post(vec![b'4'; 4322])).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{res:?}");
}

#[tokio::test]
async fn allow_request_refuses_handshakes_through_either_builder_method() {
    let direct = SocketIoConfig::builder()
        .allow_request(|parts| match parts.headers.get("x-token") {
            Some(t) if t == "let-me-in" => Ok(()),
            _ => Err("no token".into()),
        })
        .build();
    let via_engine = SocketIoConfig::builder()
        .engine(|e| {
            e.allow_request(|parts| match parts.headers.get("x-token") {
                Some(t) if t == "let-me-in" => Ok(()),
                _ => Err("no token".into()),
            })
        })
        .build();
    for config in [direct, via_engine] {
        let server = start(config).await;
        server
            .request(get("/socket.io/?EIO=4&transport=polling"))
            .await
            .assert_error(StatusCode::FORBIDDEN, 4, "no token");
        let allowed = Request::get("/socket.io/?EIO=4&transport=polling")
            .header("x-token", "let-me-in")
            .body(Full::new(Bytes::new()))
            .expect("request");
        open_packet(&server.request(allowed).await);
        assert_eq!(server.io.connection_count(), 1);
    }
}

#[tokio::test]
async fn an_upgrade_left_unfinished_is_dropped_after_upgrade_timeout() {
    let config = SocketIoConfig::builder()
        .upgrade_timeout(Duration::from_millis(300))
        .ping_interval(Duration::from_secs(60))
        .ping_timeout(Duration::from_secs(60))
        .build();
    let server = start(config).await;
    let open = open_packet(
        &server
            .request(get("/socket.io/?EIO=4&transport=polling"))
            .await,
    );
    let sid = open["sid"].as_str().expect("sid").to_owned();

    let url = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket&sid={sid}",
        server.addr
    );
    let (mut ws, _) = within("websocket", tokio_tungstenite::connect_async(url))
        .await
        .expect("upgrade");
    ws.send(Message::text("2probe")).await.expect("probe");
    let answer = within("3probe", ws.next()).await;
    assert!(
        matches!(&answer, Some(Ok(Message::Text(t))) if t.as_str() == "3probe"),
        "{answer:?}"
    );
    // No `5`: the server gives up after upgrade_timeout and closes the
    // probe, while the polling session goes on.
    let started = std::time::Instant::now();
    match within("the probe to be closed", ws.next()).await {
        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => {}
        Some(Ok(other)) => panic!("unexpected frame on the probe: {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed after {:?}, not after the 300 ms upgrade timeout",
        started.elapsed()
    );
    assert_eq!(
        server.io.connection_count(),
        1,
        "the polling session lives on"
    );
}

#[tokio::test]
async fn the_remaining_engine_options_are_kept_in_the_built_configuration() {
    // Options with no wire-visible effect in a short test: what the engine
    // reads is what was set.
    let config = SocketIoConfig::builder()
        .ws_read_buffer_size(8192)
        .max_buffered_packets(7)
        .max_buffered_bytes(70_000)
        .slow_consumer_timeout(Duration::from_millis(700))
        .build();
    let engine = config.engine();
    assert_eq!(engine.ws_read_buffer_size(), 8192);
    assert_eq!(engine.max_buffered_packets(), 7);
    assert_eq!(engine.max_buffered_bytes(), 70_000);
    assert_eq!(engine.slow_consumer_timeout(), Duration::from_millis(700));
    assert_eq!(engine.path(), "/socket.io/");
}
