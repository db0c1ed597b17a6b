//! How the server ends one client's connection, seen by the official client
//! (`tests/node/sio_kick.mjs`, `sio_reconnect.mjs`) and on the wire:
//! `close_connection` (Node's `socket.disconnect(true)`) sends the
//! DISCONNECT first and the Engine.IO close after it, in separate polling
//! payloads as Node does, so the client reports one `io server disconnect`
//! and stays away; `conn().close()` (Node's `socket.conn.close()`) closes
//! the transport alone, and the client comes back (in `reconnect.rs`).

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::Value;
use socketio_axum::{SocketIo, SocketRef};
use socketio_axum_tests::{node_script, sio_config, SioServer};

fn on_connect(socket: SocketRef) {
    socket.on("kick-me", |socket: SocketRef| async move {
        socket.close_connection()
    });
}

async fn server() -> SioServer {
    let server = SioServer::start_with(
        SocketIo::builder().config(sio_config()),
        axum::Router::new(),
    )
    .await;
    server
        .io
        .ns("/", |socket: SocketRef| async move { on_connect(socket) });
    server
}

async fn kicked(mode: &str) {
    let server = server().await;
    let out = node_script("sio_kick.mjs", &[&server.url(), mode]).await;
    out.assert_success();
    let lines = out.json_lines();
    let disconnects: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "disconnect")
        .collect();
    assert_eq!(disconnects.len(), 1, "{lines:#?}");
    assert_eq!(
        disconnects[0]["reason"], "io server disconnect",
        "{lines:#?}"
    );
    assert_eq!(
        disconnects[0]["active"], false,
        "the client is not to reconnect"
    );
    let settled = lines
        .iter()
        .find(|l| l["event"] == "settled")
        .unwrap_or_else(|| panic!("no settled line in {lines:#?}"));
    assert_eq!(settled["disconnects"], 1, "{lines:#?}");
    assert!(
        !lines.iter().any(|l| l["event"] == "reconnect_attempt"),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn close_connection_gives_one_io_server_disconnect_over_polling() {
    kicked("polling").await;
}

#[tokio::test]
async fn close_connection_gives_one_io_server_disconnect_over_websocket() {
    kicked("websocket").await;
}

fn req(method: Method, uri: &str, body: &'static str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("request")
}

#[tokio::test]
async fn over_polling_the_disconnect_and_the_close_go_in_separate_payloads() {
    let server = server().await;
    let res = server
        .request(req(Method::GET, "/socket.io/?EIO=4&transport=polling", ""))
        .await;
    let open: Value = serde_json::from_str(&res.text()[1..]).expect("open packet");
    let sid = open["sid"].as_str().expect("sid").to_owned();
    let uri = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let post = |body: &'static str| req(Method::POST, &uri, body);
    let get = || req(Method::GET, &uri, "");

    assert_eq!(server.request(post("40")).await.text(), "ok");
    assert!(server.request(get()).await.text().starts_with("40{"));
    assert_eq!(server.request(post(r#"42["kick-me"]"#)).await.text(), "ok");
    // Node: `41` alone, then the close packet in the next response.
    assert_eq!(server.request(get()).await.text(), "41");
    assert_eq!(server.request(get()).await.text(), "1");
    // Then the session is gone.
    let res = server.request(get()).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{res:?}");
}
