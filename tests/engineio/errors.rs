//! The JSON error bodies, with Node's codes and messages.

use http::{Request, StatusCode};
use http_body_util::Full;
use socketio_axum_tests::{quiet_config, TestServer};

#[tokio::test]
async fn unknown_transport_is_code_0() {
    let server = TestServer::start(quiet_config()).await;
    for query in ["EIO=4&transport=carrier-pigeon", "EIO=4"] {
        let res = server.get(query).await;
        res.assert_error(StatusCode::BAD_REQUEST, 0, "Transport unknown");
        assert_eq!(res.header("content-type"), Some("application/json"));
    }
}

#[tokio::test]
async fn unknown_sid_is_code_1() {
    let server = TestServer::start(quiet_config()).await;
    // One well-formed sid that was never issued, one malformed.
    for sid in ["AAAAAAAAAAAAAAAAAAAA", "not-a-sid", ""] {
        let query = format!("EIO=4&transport=polling&sid={sid}");
        server
            .get(&query)
            .await
            .assert_error(StatusCode::BAD_REQUEST, 1, "Session ID unknown");
        server.post(&query, "4hi").await.assert_error(
            StatusCode::BAD_REQUEST,
            1,
            "Session ID unknown",
        );
    }
}

#[tokio::test]
async fn handshake_by_post_is_code_2() {
    let server = TestServer::start(quiet_config()).await;
    server
        .post("EIO=4&transport=polling", "4hi")
        .await
        .assert_error(StatusCode::BAD_REQUEST, 2, "Bad handshake method");
    assert_eq!(server.engine.session_count(), 0);
}

#[tokio::test]
async fn unsupported_protocol_version_is_code_5() {
    let server = TestServer::start(quiet_config()).await;
    for query in ["EIO=3&transport=polling", "transport=polling"] {
        server.get(query).await.assert_error(
            StatusCode::BAD_REQUEST,
            5,
            "Unsupported protocol version",
        );
    }
    assert_eq!(server.engine.session_count(), 0);
}

#[tokio::test]
async fn refused_handshake_is_403_code_4_with_the_message() {
    let server = TestServer::builder(quiet_config())
        .engine(|b| {
            b.allow_request(|parts| match parts.headers.get("x-token") {
                Some(t) if t == "let-me-in" => Ok(()),
                _ => Err("no entry without a token".to_owned()),
            })
        })
        .start()
        .await;
    server.get("EIO=4&transport=polling").await.assert_error(
        StatusCode::FORBIDDEN,
        4,
        "no entry without a token",
    );
    assert_eq!(server.engine.session_count(), 0);

    let req = Request::get(server.url("EIO=4&transport=polling"))
        .header("x-token", "let-me-in")
        .body(Full::default())
        .expect("request");
    let res = server.request(req).await;
    assert_eq!(res.status, StatusCode::OK, "{res:?}");
    assert!(res.text().starts_with("0{"), "{res:?}");
    assert_eq!(server.engine.session_count(), 1);
}
