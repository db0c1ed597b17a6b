//! The msgpack parser. Our codec (`socketio_protocol::msgpack`) beside npm
//! `socket.io-msgpack-parser` 3.0.2 in one run: Node's decoder reads what we
//! encode as the packet we meant, and we decode what Node's encoder writes
//! as the packet it meant. Then the official client with that parser against
//! our server (`Parser::Msgpack`) and against Node's with the same handlers,
//! in the same test: both must give the client the same answers.

use std::{path::PathBuf, time::Duration};

use crate::common::{node_server, NodeServer};
use bytes::Bytes;
use serde_json::{json, Value};
use socketio_axum::{
    extract::{AckSender, Data, TryData},
    ClientBundle, ConnectError, Parser, SocketIo, SocketIoConfig, SocketIoConfigBuilder, SocketRef,
    Spread,
};
use socketio_axum_tests::{node_script, node_script_within, within, SioServer};
use socketio_protocol::{
    msgpack::{decode_packet, encode_packet},
    socket::{Ack, DecodeLimits, Event, Packet, PacketData},
};

fn packet(ns: &'static str, data: PacketData) -> Packet {
    Packet {
        ns: ns.into(),
        data,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn our_msgpack_packets_and_nodes_parser_agree() {
    let ours = [
        (
            packet("/", PacketData::Connect(Some(r#"{"token":"abc"}"#.into()))),
            json!({"type": 0, "nsp": "/", "data": {"token": "abc"}}),
        ),
        (
            packet(
                "/chat",
                PacketData::Event(Event {
                    name: "up".into(),
                    args:
                        r#"{"f":{"_placeholder":true,"num":0}},2.5,{"_placeholder":true,"num":1}"#
                            .into(),
                    ack_id: Some(5),
                    attachments: vec![Bytes::from_static(&[1, 2, 3]), Bytes::new()],
                }),
            ),
            json!({"type": 2, "data": ["up", {"f": {"$bin": [1, 2, 3]}}, 2.5, {"$bin": []}], "id": 5, "nsp": "/chat"}),
        ),
        (
            packet(
                "/",
                PacketData::Ack(Ack {
                    id: 9,
                    args: r#""ok",null"#.into(),
                    attachments: Vec::new(),
                }),
            ),
            json!({"type": 3, "data": ["ok", null], "id": 9, "nsp": "/"}),
        ),
        (
            packet("/x", PacketData::Disconnect),
            json!({"type": 1, "nsp": "/x"}),
        ),
        (
            packet(
                "/",
                PacketData::ConnectError(r#"{"message":"no","data":{"code":1}}"#.into()),
            ),
            json!({"type": 4, "data": {"message": "no", "data": {"code": 1}}, "nsp": "/"}),
        ),
    ];
    let args: Vec<String> = ours
        .iter()
        .map(|(p, _)| hex(&encode_packet(p).expect("encodes")))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = node_script("msgpack_parser.mjs", &args).await;
    out.assert_success();
    let lines = out.json_lines();
    assert_eq!(lines.len(), ours.len() + 1, "{lines:?}");
    for ((_, want), line) in ours.iter().zip(&lines) {
        assert_eq!(line["decoded"], *want, "{line}");
    }

    let encoded: Vec<Vec<u8>> =
        serde_json::from_value(lines[ours.len()]["encoded"].clone()).expect("byte arrays");
    let limits = DecodeLimits::default();
    let decoded: Vec<Packet> = encoded
        .iter()
        .map(|bytes| decode_packet(bytes, &limits).expect("decodes"))
        .collect();
    assert_eq!(
        decoded,
        [
            packet(
                "/admin",
                PacketData::Connect(Some(r#"{"token":"t","n":1.5}"#.into()))
            ),
            packet(
                "/",
                PacketData::Event(Event {
 name: "file".into(),
 args: r#"{"name":"a","body":{"_placeholder":true,"num":0}},[{"_placeholder":true,"num":1}]"#.into(),
 ack_id: Some(12),
 attachments: vec![Bytes::from_static(&[0, 255]), Bytes::from_static(&[7])],
 }),
            ),
            packet(
                "/",
                PacketData::Ack(Ack {
                    id: 12,
                    args: r#"null,"é""#.into(),
                    attachments: Vec::new()
                })
            ),
            packet(
                "/",
                PacketData::ConnectError(r#"{"message":"refused","data":{"retry":false}}"#.into())
            ),
        ]
    );
}

/// The msgpack parser, and a heartbeat that never fires during a test.
fn msgpack_config() -> SocketIoConfigBuilder {
    SocketIoConfig::builder()
        .ping_interval(Duration::from_secs(60))
        .ping_timeout(Duration::from_secs(60))
        .parser(Parser::Msgpack)
}

/// Our server with the handlers of `tests/node/msgpack_server.mjs`.
async fn our_server() -> SioServer {
    our_server_with(msgpack_config().build(), axum::Router::new()).await
}

async fn our_server_with(config: SocketIoConfig, routes: axum::Router) -> SioServer {
    let server = SioServer::start_with(SocketIo::builder().config(config), routes).await;
    server.io.ns(
        "/",
        |socket: SocketRef, TryData(auth): TryData<Value>| async move {
            if let Some(room) = auth
                .ok()
                .and_then(|a| a["room"].as_str().map(str::to_owned))
            {
                socket.join(room);
            }
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
            // Ours only: what msgpack cannot write fails the emit, and the
            // connection goes on (tests below).
            socket.on(
                "try-reserved",
                |socket: SocketRef, ack: AckSender| async move {
                    let failed = socket.emit("disconnect", &()).is_err();
                    ack.send(&failed).expect("ack");
                },
            );
            socket.on(
                "to-room",
                |io: SocketIo, Data(data): Data<socketio_axum::Value>| async move {
                    io.to("r1").emit("room-msg", &data).expect("broadcast");
                },
            );
        },
    );
    server
        .io
        .ns("/admin", || async {})
        .with(|TryData(auth): TryData<Value>| async move {
            match auth {
                Ok(a) if a["token"] == "ok" => Ok(()),
                _ => Err(ConnectError::new("refused").with_data(json!({ "code": 42 }))),
            }
        });
    server
}

/// Node's server with the msgpack parser (`tests/node/msgpack_server.mjs`).
async fn nodes_server() -> NodeServer {
    node_server("msgpack_server.mjs", &[]).await
}

#[tokio::test]
async fn the_official_client_with_the_msgpack_parser_gets_the_same_answers_from_ours_and_nodes() {
    let ours = our_server().await;
    let node = nodes_server().await;
    let want = [
        json!({"step": "echo", "args": [1, {"deep": {"bin": {"$bin": [1, 2, 3]}, "list": [{"$bin": [4]}]}}, "x", "2023-11-14T22:13:20.123Z"]}),
        json!({"step": "answer", "args": [{"got": {"n": 1, "bin": {"$bin": [1, 2]}}}]}),
        json!({"step": "room-msg", "args": [{"hello": {"$bin": [9]}}]}),
        json!({"step": "refused", "message": "refused", "data": {"code": 42}}),
        json!({"step": "admin", "connected": true}),
    ];
    for transport in ["websocket", "polling"] {
        for (who, url) in [("ours", ours.url()), ("Node's", node.url.clone())] {
            let out = node_script("sio_msgpack.mjs", &[&url, transport]).await;
            out.assert_success();
            let lines = out.json_lines();
            assert_eq!(
                lines[0],
                json!({"step": "connected", "transport": transport}),
                "{who}, {transport}"
            );
            assert_eq!(lines[1..=want.len()], want, "{who}, {transport}");
        }
    }
}

/// `{"n": 1, "bin": <bytes 1 2>}` as a value that keeps the bytes.
fn question() -> socketio_axum::Value {
    let mut map = std::collections::BTreeMap::new();
    map.insert("n".to_owned(), socketio_axum::Value::Number(1.into()));
    map.insert(
        "bin".to_owned(),
        socketio_axum::Value::Binary(Bytes::from_static(&[1, 2])),
    );
    socketio_axum::Value::Object(map)
}

#[tokio::test]
async fn the_rust_client_with_the_msgpack_parser_talks_to_ours_and_nodes() {
    use socketio_client::{
        extract::{AckSender, Data as ClientData},
        Client, Transports,
    };

    let ours = our_server().await;
    let node = nodes_server().await;
    for (who, url) in [("ours", ours.url()), ("Node's", node.url.clone())] {
        for transports in [Transports::WebSocketOnly, Transports::PollingOnly] {
            let client = Client::builder(&url)
                .parser(socketio_client::Parser::Msgpack)
                .transports(transports)
                .reconnection(false)
                .auth(json!({ "room": "r1" }))
                .build()
                .expect("client");
            let socket = client.socket("/");
            let (tx, mut answers) = tokio::sync::mpsc::unbounded_channel();
            socket.on(
                "question",
                |ClientData(q): ClientData<socketio_client::Value>, ack: AckSender| async move {
                    // The bytes arrive as bytes; the answer carries them back.
                    let mut answer = std::collections::BTreeMap::new();
                    answer.insert("got".to_owned(), socketio_client::Value::from("it"));
                    answer.insert("bin".to_owned(), q);
                    ack.send(&socketio_client::Value::Object(answer))
                        .expect("ack");
                },
            );
            socket.on(
                "answer",
                move |ClientData(a): ClientData<socketio_client::Value>| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(a);
                    }
                },
            );
            within("the client to connect", socket.connect())
                .await
                .unwrap_or_else(|e| panic!("{who}: {e}"));

            // Binary inside an object, both ways, through an ack.
            let data = (1, socketio_client::Binary::from(vec![7u8, 8]), "x");
            let echoed: (u32, socketio_client::Binary, String) =
                within("the echo", socket.emit_with_ack("echo", &data))
                    .await
                    .expect("echo");
            assert_eq!(
                (echoed.0, echoed.1.to_vec(), echoed.2.as_str()),
                (1, vec![7, 8], "x"),
                "{who}"
            );

            socket.emit("ask", &()).expect("emit");
            let answer = within("the answer", answers.recv()).await.expect("answer");
            // The server's question, bytes included, came back through our answer.
            let mut want = std::collections::BTreeMap::new();
            want.insert("got".to_owned(), socketio_client::Value::from("it"));
            want.insert("bin".to_owned(), question());
            assert_eq!(answer, socketio_client::Value::Object(want), "{who}");

            let admin = client.socket("/admin");
            admin.set_auth(json!({ "token": "bad" }));
            let err = within("the refusal", admin.connect()).await.unwrap_err();
            assert!(err.is_rejected(), "{who}: {err}");
            assert_eq!(
                (err.message(), err.data()),
                (Some("refused"), Some(&json!({ "code": 42 }))),
                "{who}"
            );
        }
    }
}

#[tokio::test]
async fn the_browser_bundle_with_the_msgpack_parser_in_chromium() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: `apt-get install chromium` (.ci/run does it)"
    );
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/socket.io-client/dist");
    let bundle = ClientBundle::from_dir(&dir).expect("socket.io-client's dist/");
    let page = axum::response::Html(
        r#"<!doctype html><meta charset="utf-8"><script src="/socket.io/socket.io.msgpack.min.js"></script>"#,
    );
    let routes = axum::Router::new().route(
        "/msgpack.html",
        axum::routing::get(move || async move { page }),
    );
    let server = our_server_with(msgpack_config().serve_client(bundle).build(), routes).await;
    for transport in ["websocket", "polling"] {
        let out = node_script_within(
            "../browser/msgpack.test.mjs",
            &[&server.url(), transport],
            Duration::from_secs(40),
        )
        .await;
        out.assert_success();
        let lines = out.json_lines();
        let want = [
            json!({"step": "connected", "transport": transport}),
            json!({"step": "echo", "args": [1, {"deep": {"bin": {"$bin": [1, 2, 3]}, "list": [{"$bin": [4]}]}}, "x"]}),
            json!({"step": "answer", "args": [{"got": {"n": 1, "bin": {"$bin": [1, 2]}}}]}),
            json!({"step": "room-msg", "args": [{"hello": {"$bin": [9]}}]}),
            json!({"step": "refused", "message": "refused", "data": {"code": 42}}),
        ];
        assert_eq!(lines, want, "{transport}");
    }
}

#[tokio::test]
async fn what_msgpack_cannot_write_fails_the_emit_and_the_connection_goes_on() {
    use socketio_client::{Client, Transports};

    let ours = our_server().await;
    let client = Client::builder(ours.url())
        .parser(socketio_client::Parser::Msgpack)
        .transports(Transports::PollingOnly)
        .reconnection(false)
        .build()
        .expect("client");
    let socket = client.socket("/");
    within("the client to connect", socket.connect())
        .await
        .expect("connects");
    // A reserved event name: the emit fails, nothing is queued (an empty
    // poll response would end a polling session).
    let failed: bool = within("the answer", socket.emit_with_ack("try-reserved", &()))
        .await
        .expect("answer");
    assert!(failed);
    let echoed: (String,) = within("the echo", socket.emit_with_ack("echo", &("still here",)))
        .await
        .expect("echo");
    assert_eq!(echoed.0, "still here");
    assert!(socket.connected());
}
