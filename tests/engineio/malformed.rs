//! Packets that cannot be decoded close their session with a parse error;
//! the server goes on serving the others.

use engineio_tower::CloseReason;
use http::StatusCode;
use socketio_axum_tests::{
    assert_raw_ws_closed_with, quiet_config, raw_ws_frame, raw_ws_session, TestServer, WsClient,
};
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn malformed_polling_body_closes_the_session() {
    let server = TestServer::start(quiet_config()).await;
    let bystander = server.polling_session().await;
    let bodies: [(&str, &[u8]); 3] = [
        ("unknown packet type", b"abc"),
        ("not UTF-8", b"4\xff\xfe"),
        ("bad base64", b"b!!!"),
    ];
    for (case, body) in bodies {
        let session = server.polling_session().await;
        let res = session.post(body.to_vec()).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{case}: {res:?}");
        assert_eq!(
            server.events.close(session.sid).await,
            CloseReason::ParseError,
            "{case}"
        );
        assert_eq!(
            session.get().await.status,
            StatusCode::BAD_REQUEST,
            "{case}: session still open"
        );
    }
    bystander.assert_echoes("unaffected").await;
}

#[tokio::test]
async fn malformed_websocket_text_closes_the_session() {
    let server = TestServer::start(quiet_config()).await;
    let bystander = server.polling_session().await;
    for text in ["x", ""] {
        let (mut ws, sid, _) = WsClient::open(&server).await;
        ws.send_text(text).await;
        ws.assert_closed_by_server().await;
        assert_eq!(
            server.events.close(sid).await,
            CloseReason::ParseError,
            "{text:?}"
        );
    }
    bystander.assert_echoes("unaffected").await;
}

#[tokio::test]
async fn websocket_protocol_violations_close_with_the_rfc_status_code() {
    let server = TestServer::start(quiet_config()).await;
    let bystander = server.polling_session().await;
    let with_first_byte = |b0: u8, payload: &[u8]| {
        let mut f = raw_ws_frame(true, 1, payload.len() as u64, payload);
        f[0] = b0;
        f
    };
    let mut unmasked = raw_ws_frame(true, 1, 2, b"4x");
    unmasked[1] &= 0x7f;
    unmasked.truncate(2);
    unmasked.extend_from_slice(b"4x");
    let cases: [(&str, Vec<u8>, u16); 6] = [
        ("unmasked frame", unmasked, 1002),
        (
            "reserved bit set",
            with_first_byte(0x80 | 0x40 | 1, b"4x"),
            1002,
        ),
        ("unknown opcode", with_first_byte(0x80 | 3, b""), 1002),
        (
            "continuation with nothing to continue",
            raw_ws_frame(true, 0, 2, b"4x"),
            1002,
        ),
        ("fragmented ping", raw_ws_frame(false, 9, 0, b""), 1002),
        (
            "text that is not UTF-8",
            raw_ws_frame(true, 1, 3, b"4\xff\xfe"),
            1007,
        ),
    ];
    for (case, bytes, code) in cases {
        let (mut stream, sid) = raw_ws_session(&server).await;
        stream.write_all(&bytes).await.expect("write");
        assert_raw_ws_closed_with(&mut stream, code, case).await;
        assert_eq!(
            server.events.close(sid).await,
            CloseReason::TransportError,
            "{case}"
        );
    }
    bystander.assert_echoes("unaffected").await;
}

#[tokio::test]
async fn a_client_close_frame_is_answered_with_its_code() {
    let server = TestServer::start(quiet_config()).await;
    let (mut stream, sid) = raw_ws_session(&server).await;
    let mut payload = 4001u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    stream
        .write_all(&raw_ws_frame(true, 8, payload.len() as u64, &payload))
        .await
        .expect("write");
    assert_raw_ws_closed_with(&mut stream, 4001, "client close").await;
    assert_eq!(server.events.close(sid).await, CloseReason::TransportClose);
}

#[tokio::test]
async fn a_ping_from_the_client_closes_the_session() {
    // Only the server pings in protocol v4: Node closes with a transport
    // error ("invalid heartbeat direction").
    let server = TestServer::start(quiet_config()).await;
    let bystander = server.polling_session().await;
    let (mut ws, sid, _) = WsClient::open(&server).await;
    ws.send_text("2").await;
    ws.assert_closed_by_server().await;
    assert_eq!(server.events.close(sid).await, CloseReason::TransportError);

    let session = server.polling_session().await;
    let res = session.post("2").await;
    assert_eq!(res.status, StatusCode::OK, "{res:?}");
    assert_eq!(
        server.events.close(session.sid).await,
        CloseReason::TransportError
    );
    bystander.assert_echoes("unaffected").await;
}
