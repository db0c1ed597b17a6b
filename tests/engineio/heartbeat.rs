//! Pings: the first one a full interval after the handshake, the next one an
//! interval after the pong, and a session closed when a ping goes unanswered.
//! The server pings every 300 ms and, in the timeout tests, gives 200 ms to
//! answer (`heartbeat_config`).

use std::time::Duration;

use engineio_tower::{CloseReason, EngineIoConfig};
use http::StatusCode;
use socketio_axum_tests::{heartbeat_config, wait_until, TestServer, WsClient};
use tokio::time::Instant;

const PING_INTERVAL: Duration = Duration::from_millis(300);
const PING_TIMEOUT: Duration = Duration::from_millis(200);

/// For the tests that answer pings: a pong timeout that a busy machine
/// cannot miss, since these tests measure the interval only.
fn patient_config() -> EngineIoConfig {
    EngineIoConfig::builder()
        .ping_interval(PING_INTERVAL)
        .ping_timeout(Duration::from_secs(2))
        .build()
}

#[tokio::test]
async fn pings_wait_a_full_interval_over_polling() {
    let server = TestServer::start(patient_config()).await;
    let before_handshake = Instant::now();
    let session = server.polling_session().await;

    let res = session.get().await;
    assert_eq!(res.text(), "2");
    let elapsed = before_handshake.elapsed();
    assert!(elapsed >= PING_INTERVAL, "first ping after {elapsed:?}");

    let before_pong = Instant::now();
    assert_eq!(session.post("3").await.text(), "ok");
    let res = session.get().await;
    assert_eq!(res.text(), "2");
    let elapsed = before_pong.elapsed();
    assert!(
        elapsed >= PING_INTERVAL,
        "second ping {elapsed:?} after the pong"
    );

    // The pong kept the session alive past the first ping's timeout.
    assert!(server.events.pending().await.is_empty());
    session.assert_echoes("alive").await;
}

#[tokio::test]
async fn pings_wait_a_full_interval_over_websocket() {
    let server = TestServer::start(patient_config()).await;
    let before_handshake = Instant::now();
    let (mut ws, sid, _) = WsClient::open(&server).await;

    assert_eq!(ws.recv_text().await, "2");
    let elapsed = before_handshake.elapsed();
    assert!(elapsed >= PING_INTERVAL, "first ping after {elapsed:?}");

    let before_pong = Instant::now();
    ws.send_text("3").await;
    assert_eq!(ws.recv_text().await, "2");
    let elapsed = before_pong.elapsed();
    assert!(
        elapsed >= PING_INTERVAL,
        "second ping {elapsed:?} after the pong"
    );

    assert!(server.events.pending().await.is_empty());
    ws.send_text("4alive").await;
    assert_eq!(ws.recv_text().await, "4alive");
    assert!(!server.socket(sid).is_closed());
}

#[tokio::test]
async fn unanswered_ping_closes_a_polling_session() {
    let server = TestServer::start(heartbeat_config()).await;
    let session = server.polling_session().await;
    assert_eq!(session.get().await.text(), "2");
    let ping_seen = Instant::now();

    assert_eq!(
        server.events.close(session.sid).await,
        CloseReason::PingTimeout
    );
    let elapsed = ping_seen.elapsed();
    assert!(
        elapsed < PING_TIMEOUT + Duration::from_secs(1),
        "closed {elapsed:?} after the ping"
    );
    session
        .get()
        .await
        .assert_error(StatusCode::BAD_REQUEST, 1, "Session ID unknown");
}

#[tokio::test]
async fn unanswered_ping_closes_a_websocket_session() {
    let server = TestServer::start(heartbeat_config()).await;
    let (mut ws, sid, _) = WsClient::open(&server).await;
    assert_eq!(ws.recv_text().await, "2");

    assert_eq!(server.events.close(sid).await, CloseReason::PingTimeout);
    ws.assert_closed_by_server().await;
    wait_until("the session to be removed", || {
        server.engine.socket(sid).is_none()
    })
    .await;
}

#[tokio::test]
async fn abandoned_polling_session_is_reclaimed() {
    let server = TestServer::start(heartbeat_config()).await;
    let before_handshake = Instant::now();
    // The client opens a session, then never polls again.
    let session = server.polling_session().await;
    assert_eq!(server.engine.session_count(), 1);

    assert_eq!(
        server.events.close(session.sid).await,
        CloseReason::PingTimeout
    );
    let elapsed = before_handshake.elapsed();
    assert!(
        elapsed >= PING_INTERVAL + PING_TIMEOUT,
        "reclaimed after {elapsed:?}, before its ping could time out"
    );
    wait_until("the session count to drop to 0", || {
        server.engine.session_count() == 0
    })
    .await;
}
