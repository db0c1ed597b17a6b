//! Packets that cannot be decoded close their session with a parse error;
//! the server goes on serving the others.

use engineio_tower::CloseReason;
use http::StatusCode;
use socketio_axum_tests::{quiet_config, TestServer, WsClient};

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
