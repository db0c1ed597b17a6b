//! Long-polling: GETs that wait, payloads joined by `\x1e`, POSTs in order,
//! binary as `b` + base64, and one GET at a time.

use bytes::Bytes;
use engineio_tower::{CloseReason, Message};
use http::StatusCode;
use socketio_axum_tests::{assert_pending, quiet_config, TestServer, PENDING_WINDOW};

#[tokio::test]
async fn get_waits_until_the_server_sends() {
    let server = TestServer::start(quiet_config()).await;
    let session = server.polling_session().await;

    let mut get = Box::pin(session.get());
    assert_pending("a GET with nothing queued", &mut get, PENDING_WINDOW).await;
    server.socket(session.sid).send_text("late").expect("send");
    let res = get.await;
    assert_eq!((res.status, res.text()), (StatusCode::OK, "4late"));
}

#[tokio::test]
async fn queued_messages_come_at_once_joined_by_record_separator() {
    let server = TestServer::start(quiet_config()).await;
    let session = server.polling_session().await;
    let socket = server.socket(session.sid);
    for text in ["one", "two", "three"] {
        socket.send_text(text).expect("send");
    }
    let res = session.get().await;
    assert_eq!(res.text(), "4one\x1e4two\x1e4three");
}

#[tokio::test]
async fn post_answers_ok_and_packets_reach_the_handler_in_order() {
    let server = TestServer::start(quiet_config()).await;
    let session = server.polling_session().await;
    let res = session.post("4one\x1e4two\x1e4three").await;
    assert_eq!((res.status, res.text()), (StatusCode::OK, "ok"));
    for text in ["one", "two", "three"] {
        assert_eq!(
            server.events.message(session.sid).await,
            Message::Text(text.into())
        );
    }
    // The echoes, queued by the handler, come back in the same order.
    assert_eq!(session.get().await.text(), "4one\x1e4two\x1e4three");
}

#[tokio::test]
async fn binary_travels_as_base64_both_ways() {
    let server = TestServer::start(quiet_config()).await;
    let session = server.polling_session().await;

    // Client to server: [0, 1, 2, 255], mixed with text; the handler echoes.
    let res = session.post("bAAEC/w==\x1e4text").await;
    assert_eq!(res.text(), "ok");
    assert_eq!(
        server.events.message(session.sid).await,
        Message::Binary(Bytes::from_static(&[0, 1, 2, 255]))
    );
    assert_eq!(
        server.events.message(session.sid).await,
        Message::Text("text".into())
    );
    assert_eq!(session.get().await.text(), "bAAEC/w==\x1e4text");

    // Server to client.
    server
        .socket(session.sid)
        .send_binary(Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]))
        .expect("send");
    assert_eq!(session.get().await.text(), "b3q2+7w==");
}

#[tokio::test]
async fn concurrent_get_is_refused_and_closes_the_session() {
    let server = TestServer::start(quiet_config()).await;
    let session = server.polling_session().await;

    let mut first = Box::pin(session.get());
    assert_pending("the first GET", &mut first, PENDING_WINDOW).await;
    let second = session.get().await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST, "{second:?}");
    let first = first.await;
    assert_eq!(
        (first.status, first.text()),
        (StatusCode::OK, "1"),
        "the pending GET is told the session closed"
    );
    assert_eq!(
        server.events.close(session.sid).await,
        CloseReason::TransportError
    );
    assert_eq!(session.get().await.status, StatusCode::BAD_REQUEST);
}
