//! Engine.IO protocol v3 clients with `allow_eio3`, on raw wire bytes: the
//! length-prefixed text payloads (UTF-16 lengths, `b4` base64 binary with
//! `b64=1`), the binary payload format, binary WebSocket messages with
//! their type byte, the heartbeat in which the client pings, and the
//! upgrade. (The refusal of `EIO=3` when the option is off is in `errors`.)

use std::time::Duration;

use bytes::Bytes;
use engineio_tower::{CloseReason, EngineIoConfig, Message, Sid};
use http::{header, Method, Request, StatusCode};
use http_body_util::Full;
use socketio_axum_tests::{ws_connect, HttpResponse, TestServer};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const PING_INTERVAL: Duration = Duration::from_millis(300);
const PING_TIMEOUT: Duration = Duration::from_millis(200);

fn config() -> EngineIoConfig {
    EngineIoConfig::builder()
        .allow_eio3(true)
        .ping_interval(PING_INTERVAL)
        .ping_timeout(PING_TIMEOUT)
        .build()
}

/// A config whose heartbeat outlasts the test.
fn quiet() -> EngineIoConfig {
    EngineIoConfig::builder()
        .allow_eio3(true)
        .ping_interval(Duration::from_secs(60))
        .build()
}

/// Opens a v3 polling session (`extra` adds to the query); returns its sid
/// and query string.
async fn handshake(server: &TestServer, extra: &str) -> (Sid, String) {
    let res = server.get(&format!("EIO=3&transport=polling{extra}")).await;
    assert_eq!(res.status, StatusCode::OK, "{res:?}");
    assert_eq!(
        res.header(header::CONTENT_TYPE),
        Some("text/plain; charset=UTF-8")
    );
    // One packet, length-prefixed: `<n>:0{...}`.
    let (len, open) = res.text().split_once(':').expect("a v3 payload");
    assert_eq!(
        len.parse::<usize>().expect("a length"),
        open.encode_utf16().count()
    );
    let json: serde_json::Value =
        serde_json::from_str(open.strip_prefix('0').expect("an open packet")).expect("JSON");
    assert_eq!(json["upgrades"], serde_json::json!(["websocket"]));
    // As Node's server, which sends the same open packet to both protocols.
    assert!(
        json["pingInterval"].is_u64() && json["maxPayload"].is_u64(),
        "{json}"
    );
    let sid: Sid = json["sid"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a sid");
    server.events.opened(sid).await;
    let query = format!("EIO=3&transport=polling&sid={sid}{extra}");
    (sid, query)
}

async fn post(server: &TestServer, query: &str, content_type: &str, body: &[u8]) -> HttpResponse {
    let req = Request::builder()
        .method(Method::POST)
        .uri(server.url(query))
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::copy_from_slice(body)))
        .expect("a request");
    server.request(req).await
}

#[tokio::test]
async fn text_payloads_count_utf16_units() {
    let server = TestServer::start(quiet()).await;
    let (sid, query) = handshake(&server, "").await;
    assert_eq!(server.socket(sid).protocol(), 3);

    // "😀" is two UTF-16 units (four bytes); the empty packet is skipped.
    let res = post(
        &server,
        &query,
        "text/plain;charset=UTF-8",
        "6:4hello0:3:4😀".as_bytes(),
    )
    .await;
    assert_eq!((res.status, res.text()), (StatusCode::OK, "ok"));
    assert_eq!(
        server.events.message(sid).await,
        Message::Text("hello".into())
    );
    assert_eq!(server.events.message(sid).await, Message::Text("😀".into()));
    // The echoes come back in one text payload.
    let res = server.get(&query).await;
    assert_eq!(
        res.header(header::CONTENT_TYPE),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(res.text(), "6:4hello3:4😀");

    // A length past the end is a parse error.
    let res = post(&server, &query, "text/plain;charset=UTF-8", b"9:4hello").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(server.events.close(sid).await, CloseReason::ParseError);
}

#[tokio::test]
async fn binary_payloads_without_b64() {
    let server = TestServer::start(quiet()).await;
    let (sid, query) = handshake(&server, "").await;

    // A text packet and a binary one, in the binary payload format.
    let body = b"\x00\x03\xff4hi\x01\x04\xff\x04\x01\x02\x03";
    let res = post(&server, &query, "application/octet-stream", body).await;
    assert_eq!((res.status, res.text()), (StatusCode::OK, "ok"));
    assert_eq!(server.events.message(sid).await, Message::Text("hi".into()));
    assert_eq!(
        server.events.message(sid).await,
        Message::Binary(Bytes::from_static(&[1, 2, 3]))
    );
    let res = server.get(&query).await;
    assert_eq!(
        res.header(header::CONTENT_TYPE),
        Some("application/octet-stream")
    );
    assert_eq!(&res.body[..], &body[..]);
}

#[tokio::test]
async fn base64_binary_with_b64() {
    let server = TestServer::start(quiet()).await;
    let (sid, query) = handshake(&server, "&b64=1").await;

    let res = post(&server, &query, "text/plain;charset=UTF-8", b"6:b4AQID").await;
    assert_eq!((res.status, res.text()), (StatusCode::OK, "ok"));
    assert_eq!(
        server.events.message(sid).await,
        Message::Binary(Bytes::from_static(&[1, 2, 3]))
    );
    let res = server.get(&query).await;
    assert_eq!(
        res.header(header::CONTENT_TYPE),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(res.text(), "6:b4AQID");
}

#[tokio::test]
async fn the_client_pings_and_the_server_answers() {
    let server = TestServer::start(config()).await;
    let (sid, query) = handshake(&server, "").await;

    // Pings kept coming for longer than interval + timeout: the session lives.
    let start = Instant::now();
    // When the last ping was sent: the server got it no earlier.
    let mut last_ping = start;
    while start.elapsed() < (PING_INTERVAL + PING_TIMEOUT) * 2 {
        tokio::time::sleep(PING_INTERVAL / 2).await;
        last_ping = Instant::now();
        let res = post(&server, &query, "text/plain;charset=UTF-8", b"1:2").await;
        assert_eq!((res.status, res.text()), (StatusCode::OK, "ok"));
        // The answer, and no ping of the server's own.
        assert_eq!(server.get(&query).await.text(), "1:3");
    }
    assert!(server.events.pending().await.is_empty());

    // Then the pings stop: closed once interval + timeout have passed.
    assert_eq!(server.events.close(sid).await, CloseReason::PingTimeout);
    let elapsed = last_ping.elapsed();
    assert!(
        elapsed >= PING_INTERVAL + PING_TIMEOUT,
        "closed after {elapsed:?}"
    );
}

#[tokio::test]
async fn a_pong_from_a_v3_client_closes_the_session() {
    let server = TestServer::start(quiet()).await;
    let (sid, query) = handshake(&server, "").await;
    post(&server, &query, "text/plain;charset=UTF-8", b"1:3").await;
    assert_eq!(server.events.close(sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn websocket_only_session() {
    let server = TestServer::start(config()).await;
    let mut ws = ws_connect(&server, "EIO=3&transport=websocket").await;
    // No length prefix on a WebSocket.
    let open = ws.recv_text().await;
    let json: serde_json::Value =
        serde_json::from_str(open.strip_prefix('0').expect("an open packet")).expect("JSON");
    let sid: Sid = json["sid"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a sid");
    server.events.opened(sid).await;

    ws.send_text("2").await;
    assert_eq!(ws.recv_text().await, "3");
    ws.send_text("4hello").await;
    assert_eq!(ws.recv_text().await, "4hello");
    // Binary messages carry the type byte 4, both ways.
    ws.send_binary(&[4, 1, 2, 3]).await;
    assert_eq!(
        server.events.message(sid).await,
        Message::Text("hello".into())
    );
    assert_eq!(
        server.events.message(sid).await,
        Message::Binary(Bytes::from_static(&[1, 2, 3]))
    );
    assert_eq!(ws.recv().await, Some(WsMessage::binary(vec![4u8, 1, 2, 3])));

    // Without pings the session ends after interval + timeout.
    assert_eq!(server.events.close(sid).await, CloseReason::PingTimeout);
}

#[tokio::test]
async fn upgrade_from_polling() {
    let server = TestServer::start(quiet()).await;
    let (sid, query) = handshake(&server, "").await;
    let mut ws = ws_connect(&server, &format!("EIO=3&transport=websocket&sid={sid}")).await;
    ws.send_text("2probe").await;
    assert_eq!(ws.recv_text().await, "3probe");
    // The pending poll is released with a noop, in a v3 payload.
    assert_eq!(server.get(&query).await.text(), "1:6");
    ws.send_text("5").await;
    ws.send_binary(&[4, 9]).await;
    assert_eq!(
        server.events.message(sid).await,
        Message::Binary(Bytes::from_static(&[9]))
    );
    assert_eq!(ws.recv().await, Some(WsMessage::binary(vec![4u8, 9])));
    // The heartbeat goes on over the WebSocket.
    ws.send_text("2").await;
    assert_eq!(ws.recv_text().await, "3");
}
