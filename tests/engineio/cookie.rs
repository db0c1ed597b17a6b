//! The session cookie (Node's `cookie` option): off by default, set on the
//! polling handshake only, byte for byte as Node's `engine.io` writes it.

use engineio_tower::{EngineIoConfig, SameSite, SessionCookie};
use http::StatusCode;
use socketio_axum_tests::{quiet_config, within, HttpResponse, TestServer};

fn with_cookie(cookie: SessionCookie) -> EngineIoConfig {
    let quiet = quiet_config();
    EngineIoConfig::builder()
        .ping_interval(quiet.ping_interval())
        .ping_timeout(quiet.ping_timeout())
        .max_payload(quiet.max_payload())
        .cookie(cookie)
        .build()
}

fn set_cookies(res: &HttpResponse) -> Vec<&str> {
    res.headers
        .get_all(http::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ASCII Set-Cookie"))
        .collect()
}

#[tokio::test]
async fn no_cookie_by_default() {
    let server = TestServer::start(quiet_config()).await;
    let session = server.polling_session().await;
    assert_eq!(set_cookies(&session.response), Vec::<&str>::new());
}

#[tokio::test]
async fn default_cookie_is_nodes_cookie_true_and_only_on_the_handshake() {
    let server = TestServer::start(with_cookie(SessionCookie::default())).await;
    let session = server.polling_session().await;
    assert_eq!(
        set_cookies(&session.response),
        [format!(
            "io={}; Path=/; HttpOnly; SameSite=Lax",
            session.sid
        )]
    );
    // The requests of the session that follow carry none (as in Node).
    let post = session.post("4hello").await;
    assert_eq!(post.status, StatusCode::OK);
    assert_eq!(set_cookies(&post), Vec::<&str>::new());
    let get = session.get().await;
    assert_eq!(get.text(), "4hello");
    assert_eq!(set_cookies(&get), Vec::<&str>::new());
}

#[tokio::test]
async fn custom_cookie_attributes() {
    let cookie = SessionCookie::default()
        .name("sticky")
        .path(None)
        .secure(true)
        .same_site(Some(SameSite::Strict));
    let server = TestServer::start(with_cookie(cookie)).await;
    let session = server.polling_session().await;
    assert_eq!(
        set_cookies(&session.response),
        [format!(
            "sticky={}; HttpOnly; Secure; SameSite=Strict",
            session.sid
        )]
    );
}

#[tokio::test]
async fn invalid_cookie_name_sets_none_and_the_handshake_still_works() {
    let server = TestServer::start(with_cookie(SessionCookie::default().name("a;b"))).await;
    let session = server.polling_session().await;
    assert_eq!(set_cookies(&session.response), Vec::<&str>::new());
    session.assert_echoes("still works").await;
}

/// Node's engine.io (checked with 6.6 under socket.io 4.8.4) sets no cookie
/// on the `101` of a WebSocket-only handshake: the session id is made after
/// the upgrade response. Neither do we.
#[tokio::test]
async fn websocket_handshake_sets_no_cookie() {
    let server = TestServer::start(with_cookie(SessionCookie::default())).await;
    let url = format!("ws://{}/engine.io/?EIO=4&transport=websocket", server.addr);
    let (_ws, res) = within(
        "the WebSocket handshake",
        tokio_tungstenite::connect_async(&url),
    )
    .await
    .expect("WebSocket handshake");
    assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(res.headers().get(http::header::SET_COOKIE), None);
}
