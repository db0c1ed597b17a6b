//! The session cookie set through the Socket.IO builder (the Engine.IO
//! option and its exact header are tested in tests/engineio/cookie.rs).

use bytes::Bytes;
use http::{header, Request, StatusCode};
use http_body_util::Full;
use socketio_axum::{SessionCookie, SocketIoConfig};
use socketio_axum_tests::SioServer;

#[tokio::test]
async fn socketio_builder_sets_the_cookie_on_the_polling_handshake() {
    let config = SocketIoConfig::builder()
        .cookie(SessionCookie::default().name("sio"))
        .build();
    let server = SioServer::start(config).await;
    let req = Request::get(format!(
        "{}/socket.io/?EIO=4&transport=polling",
        server.url()
    ))
    .body(Full::new(Bytes::new()))
    .expect("request");
    let res = server.request(req).await;
    assert_eq!(res.status, StatusCode::OK);
    let open: serde_json::Value =
        serde_json::from_str(res.text().strip_prefix('0').expect("open packet")).expect("JSON");
    let sid = open["sid"].as_str().expect("sid");
    assert_eq!(
        res.header(header::SET_COOKIE),
        Some(format!("sio={sid}; Path=/; HttpOnly; SameSite=Lax").as_str())
    );
}
