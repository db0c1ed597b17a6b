//! `max_payload` (1000 bytes here): POST bodies, WebSocket messages and
//! WebSocket frames over it end the offending session, not the server.

use engineio_tower::{CloseReason, Message, Sid};
use http::StatusCode;
use socketio_axum_tests::{
    assert_raw_ws_closed_with, quiet_config, raw_ws_frame, raw_ws_session, read_raw_ws_frame,
    read_response, Event, TestServer, MAX_PAYLOAD,
};
use tokio::{io::AsyncWriteExt, net::TcpStream};

const LIMIT: usize = MAX_PAYLOAD as usize;

/// Fails the test if the handler got a message from `sid`.
async fn assert_no_message_from(server: &TestServer, sid: Sid) {
    let pending = server.events.pending().await;
    assert!(
        !pending
            .iter()
            .any(|e| matches!(e, Event::Message(s, _) if *s == sid)),
        "a message over the limit was delivered: {pending:?}"
    );
}

fn post_head(server: &TestServer, sid: Sid, framing: &str) -> String {
    format!(
        "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: text/plain;charset=UTF-8\r\n{framing}\r\n",
        server.addr
    )
}

#[tokio::test]
async fn post_declaring_too_large_a_body_is_refused_before_it_is_sent() {
    let server = TestServer::start(quiet_config()).await;
    let bystander = server.polling_session().await;
    let session = server.polling_session().await;
    // Exactly the limit is fine.
    let at_limit = format!("4{}", "x".repeat(LIMIT - 1));
    assert_eq!(session.post(at_limit).await.text(), "ok");

    // Headers only: the body is never sent, so the answer cannot wait for it.
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let head = post_head(
        &server,
        session.sid,
        &format!("Content-Length: {}\r\n", LIMIT + 1),
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let res = read_response(&mut stream).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{res:?}");

    assert_eq!(
        server.events.close(session.sid).await,
        CloseReason::TransportError
    );
    bystander.assert_echoes("unaffected").await;
}

#[tokio::test]
async fn chunked_post_over_the_limit_is_cut_off() {
    let server = TestServer::start(quiet_config()).await;
    let bystander = server.polling_session().await;
    let session = server.polling_session().await;

    // No Content-Length to check up front: the limit applies while reading.
    let mut req = post_head(&server, session.sid, "Transfer-Encoding: chunked\r\n").into_bytes();
    let chunk = format!("4{}", "x".repeat(399));
    for _ in 0..3 {
        req.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(&req).await;
    let res = read_response(&mut stream).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{res:?}");

    assert_eq!(
        server.events.close(session.sid).await,
        CloseReason::TransportError
    );
    assert_no_message_from(&server, session.sid).await;
    bystander.assert_echoes("unaffected").await;
}

#[tokio::test]
async fn websocket_message_over_the_limit_closes_the_connection() {
    let server = TestServer::start(quiet_config()).await;
    let bystander = server.polling_session().await;
    let (mut stream, sid) = raw_ws_session(&server).await;

    // A message of exactly the limit, in two fragments, is fine.
    let first = format!("4{}", "a".repeat(LIMIT / 2 - 1));
    let second = "b".repeat(LIMIT / 2);
    stream
        .write_all(&raw_ws_frame(
            false,
            1,
            first.len() as u64,
            first.as_bytes(),
        ))
        .await
        .expect("write");
    stream
        .write_all(&raw_ws_frame(
            true,
            0,
            second.len() as u64,
            second.as_bytes(),
        ))
        .await
        .expect("write");
    let whole = format!("{first}{second}");
    assert_eq!(
        server.events.message(sid).await,
        Message::Text(whole[1..].to_owned().into())
    );
    let echo = read_raw_ws_frame(&mut stream).await.expect("echo");
    assert_eq!(echo.payload, whole.as_bytes());

    // One byte more, in fragments each well under the limit: the message is too large.
    let second = "b".repeat(LIMIT / 2 + 1);
    let mut bytes = raw_ws_frame(false, 1, first.len() as u64, first.as_bytes());
    bytes.extend(raw_ws_frame(
        true,
        0,
        second.len() as u64,
        second.as_bytes(),
    ));
    stream.write_all(&bytes).await.expect("write");
    assert_raw_ws_closed_with(&mut stream, 1009, "over the limit").await;

    assert_eq!(server.events.close(sid).await, CloseReason::TransportError);
    assert_no_message_from(&server, sid).await;
    bystander.assert_echoes("unaffected").await;
}

#[tokio::test]
async fn websocket_frame_declaring_more_than_the_limit_closes_the_connection() {
    let server = TestServer::start(quiet_config()).await;
    let bystander = server.polling_session().await;
    let (mut stream, sid) = raw_ws_session(&server).await;

    // A header announcing a megabyte, and not one byte of it.
    let header = raw_ws_frame(true, 2, 1 << 20, &[]);
    stream.write_all(&header).await.expect("write");
    assert_raw_ws_closed_with(&mut stream, 1009, "over the limit").await;

    assert_eq!(server.events.close(sid).await, CloseReason::TransportError);
    assert_no_message_from(&server, sid).await;
    bystander.assert_echoes("unaffected").await;
}
