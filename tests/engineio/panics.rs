//! A handler that panics on a message ends that one session, over either
//! transport: the session is closed ("forced close") and unregistered, its
//! `on_close` runs, and other sessions are served as before.

use engineio_tower::{CloseReason, Message};
use http::StatusCode;
use socketio_axum_tests::{quiet_config, wait_until, TestServer, WsClient, PANIC_MESSAGE};

/// Keeps the panics these tests cause off stderr, and lets others through.
fn quiet_test_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<String>().map(String::as_str) != Some(PANIC_MESSAGE) {
            previous(info);
        }
    }));
}

#[tokio::test]
async fn a_panic_on_a_websocket_message_closes_that_session_only() {
    quiet_test_panics();
    let server = TestServer::start(quiet_config()).await;
    let (mut other, _, _) = WsClient::open(&server).await;
    let (mut client, sid, _) = WsClient::open(&server).await;
    client.send_text(&format!("4{PANIC_MESSAGE}")).await;
    assert_eq!(
        server.events.message(sid).await,
        Message::Text(PANIC_MESSAGE.into())
    );
    assert_eq!(server.events.close(sid).await, CloseReason::ForcedClose);
    assert_eq!(client.recv().await, None, "the connection is closed");
    wait_until("the session to be unregistered", || {
        server.engine.session_count() == 1
    })
    .await;
    other.send_text("4still here").await;
    assert_eq!(other.recv_text().await, "4still here");
}

#[tokio::test]
async fn a_panic_on_a_polling_message_closes_that_session_only() {
    quiet_test_panics();
    let server = TestServer::start(quiet_config()).await;
    let other = server.polling_session().await;
    let session = server.polling_session().await;
    let res = session.post(format!("4{PANIC_MESSAGE}")).await;
    assert_eq!(res.status, StatusCode::OK, "{res:?}");
    assert_eq!(
        server.events.close(session.sid).await,
        CloseReason::ForcedClose
    );
    wait_until("the session to be unregistered", || {
        server.engine.session_count() == 1
    })
    .await;
    other.assert_echoes("still here").await;
}
