//! The upgrade of a polling session to WebSocket.

use engineio_tower::{Message, TransportType};
use http::StatusCode;
use socketio_axum_tests::{assert_pending, quiet_config, ws_connect, TestServer, PENDING_WINDOW};

#[tokio::test]
async fn polling_session_upgrades_to_websocket() {
    let server = TestServer::start(quiet_config()).await;
    let session = server.polling_session().await;
    let sid = session.sid;

    // A GET is pending while the client probes the WebSocket.
    let mut pending_get = Box::pin(session.get());
    assert_pending(
        "a GET with nothing queued",
        &mut pending_get,
        PENDING_WINDOW,
    )
    .await;

    let mut ws = ws_connect(&server, &session.query().replace("polling", "websocket")).await;
    ws.send_text("2probe").await;
    assert_eq!(ws.recv_text().await, "3probe");

    // The pending GET is released with a noop so that the client can pause polling.
    let res = pending_get.await;
    assert_eq!((res.status, res.text()), (StatusCode::OK, "6"));

    ws.send_text("5").await;
    ws.send_text("4over websocket").await;
    assert_eq!(
        server.events.message(sid).await,
        Message::Text("over websocket".into())
    );
    assert_eq!(ws.recv_text().await, "4over websocket");
    assert_eq!(server.socket(sid).transport(), TransportType::Websocket);
    server.socket(sid).send_text("pushed").expect("send");
    assert_eq!(ws.recv_text().await, "4pushed");

    // Polling is over for this session.
    let res = session.get().await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{res:?}");
    let res = session.post("4late").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{res:?}");
    assert!(!server.socket(sid).is_closed());
}
