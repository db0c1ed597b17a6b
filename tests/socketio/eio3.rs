//! socket.io-client 2.5.0 (Engine.IO v3, Socket.IO protocol v4), driven by
//! `tests/node/sio_v2.mjs`, against our server with `allow_eio3` and against
//! Node's socket.io 4.8 with `allowEIO3` (`tests/node/v2_server.mjs`) in
//! the same test: both give the client the same answers, over polling (with
//! and without `forceBase64`), WebSocket only and the upgrade. With the
//! option off, both refuse the client alike.

use std::time::Duration;

use crate::common::{node_server, NodeServer};
use serde_json::{json, Value};
use socketio_axum::{
    extract::{AckSender, Data, TryData},
    ConnectError, SocketIo, SocketIoConfig, SocketRef, Spread,
};
use socketio_axum_tests::{node_script, SioServer};

/// How a test's servers are set up: `v2_server.mjs`'s argument.
#[derive(Clone, Copy, PartialEq)]
enum Setup {
    /// `allow_eio3`, a heartbeat that never fires during a test.
    On,
    /// `allow_eio3` off.
    Off,
    /// `allow_eio3`, pings every 200 ms with a 200 ms timeout.
    Fast,
}

fn config(setup: Setup) -> SocketIoConfig {
    let ping = match setup {
        Setup::Fast => Duration::from_millis(200),
        _ => Duration::from_secs(60),
    };
    SocketIoConfig::builder()
        .allow_eio3(setup != Setup::Off)
        .ping_interval(ping)
        .ping_timeout(ping)
        .build()
}

/// Our server with the handlers of `tests/node/v2_server.mjs`.
async fn our_server(setup: Setup) -> SioServer {
    let server = SioServer::start_with(
        SocketIo::builder().config(config(setup)),
        axum::Router::new(),
    )
    .await;
    server.io.ns("/", |socket: SocketRef| async move {
        socket.on(
            "echo",
            |ack: AckSender, Data(args): Data<Spread<socketio_axum::Value>>| async move {
                ack.send(&args).expect("ack");
            },
        );
        socket.on("ask", |socket: SocketRef| async move {
            let reply: socketio_axum::Value = socket
                .emit_with_ack("question", &question())
                .await
                .expect("the client answers");
            socket.emit("answer", &reply).expect("emit");
        });
        socket.on("bye", |socket: SocketRef| async move {
            socket.disconnect();
        });
    });
    server
        .io
        .ns(
            "/admin",
            |socket: SocketRef, TryData(auth): TryData<Value>| async move {
                let auth = auth.unwrap_or(Value::Null);
                socket.on("whoami", move |socket: SocketRef, ack: AckSender| {
                    let auth = auth.clone();
                    async move {
                        let nsp = socket.ns().to_string();
                        ack.send(&json!({ "nsp": nsp, "auth": auth })).expect("ack");
                    }
                });
            },
        )
        .with(|TryData(auth): TryData<Value>| async move {
            let token = auth
                .ok()
                .and_then(|a| a["token"].as_str().map(str::to_owned));
            match token.as_deref() {
                Some("ok") => Ok(()),
                Some("nodata") => Err(ConnectError::new("refused")),
                _ => Err(ConnectError::new("refused").with_data(json!({ "code": 42 }))),
            }
        });
    server
}

/// `{"n": 1, "bin": <bytes 1 2>}` as a value that keeps the bytes.
fn question() -> socketio_axum::Value {
    let mut map = std::collections::BTreeMap::new();
    map.insert("n".to_owned(), socketio_axum::Value::Number(1.into()));
    map.insert(
        "bin".to_owned(),
        socketio_axum::Value::Binary(bytes::Bytes::from_static(&[1, 2])),
    );
    socketio_axum::Value::Object(map)
}

/// Node's server (`tests/node/v2_server.mjs`), until dropped.
async fn nodes_server(setup: Setup) -> NodeServer {
    let args: &[&str] = match setup {
        Setup::On => &[],
        Setup::Off => &["off"],
        Setup::Fast => &["fast"],
    };
    node_server("v2_server.mjs", args).await
}

#[tokio::test]
async fn socket_io_client_2_gets_the_same_answers_from_ours_and_nodes() {
    let ours = our_server(Setup::On).await;
    let node = nodes_server(Setup::On).await;
    let want = [
        json!({"step": "echo", "args": [1, {"deep": {"bin": {"$bin": [1, 2, 3]}, "list": [{"$bin": [4]}]}}, "é😀"]}),
        json!({"step": "answer", "args": [{"got": {"n": 1, "bin": {"$bin": [1, 2]}}}]}),
        json!({"step": "whoami", "same_connection": true, "nsp": "/admin", "auth": {"token": "ok"}}),
        json!({"step": "refused", "error": {"code": 42}}),
        json!({"step": "refused-no-data", "error": "refused"}),
        json!({"step": "invalid-namespace", "error": {"message": "Invalid namespace"}}),
        json!({"step": "disconnected", "reason": "io server disconnect"}),
        json!({"event": "end"}),
    ];
    for mode in ["polling", "polling-b64", "websocket", "upgrade"] {
        let transport = if mode.starts_with("polling") {
            "polling"
        } else {
            "websocket"
        };
        for (who, url) in [("ours", ours.url()), ("Node's", node.url.clone())] {
            let out = node_script("sio_v2.mjs", &[&url, mode]).await;
            out.assert_success();
            let lines = out.json_lines();
            assert_eq!(
                lines[0],
                json!({"step": "connected", "transport": transport}),
                "{who}, {mode}"
            );
            assert_eq!(lines[1..], want, "{who}, {mode}");
        }
    }
}

#[tokio::test]
async fn without_allow_eio3_both_refuse_the_client_alike() {
    let ours = our_server(Setup::Off).await;
    let node = nodes_server(Setup::Off).await;
    for (who, url) in [("ours", ours.url()), ("Node's", node.url.clone())] {
        let out = node_script("sio_v2.mjs", &[&url, "refused"]).await;
        out.assert_success();
        assert_eq!(
            out.json_lines()[0],
            json!({"step": "connect_error", "message": "xhr poll error", "status": 400}),
            "{who}"
        );
    }
    // The body says why, in Node's words.
    let req = http::Request::get(format!("{}/socket.io/?EIO=3&transport=polling", ours.url()))
        .body(http_body_util::Full::default())
        .expect("a request");
    ours.request(req).await.assert_error(
        http::StatusCode::BAD_REQUEST,
        5,
        "Unsupported protocol version",
    );
}

#[tokio::test]
async fn the_clients_pings_keep_it_connected_on_ours_and_nodes() {
    let ours = our_server(Setup::Fast).await;
    let node = nodes_server(Setup::Fast).await;
    for transport in ["polling", "websocket"] {
        for (who, url) in [("ours", ours.url()), ("Node's", node.url.clone())] {
            let out = node_script("sio_v2.mjs", &[&url, &format!("heartbeat:{transport}")]).await;
            out.assert_success();
            assert_eq!(
                out.json_lines()[0],
                json!({"step": "heartbeat", "transport": transport, "connected": true}),
                "{who}"
            );
        }
    }
}
