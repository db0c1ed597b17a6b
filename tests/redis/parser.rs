//! The parser of a server's clients does not matter to the cluster: a Rust
//! server whose clients use the msgpack parser, beside a Node server whose
//! clients use JSON, each reaching the other's clients with binary data.

use serde_json::json;
use socketio_axum::{Parser, SocketIoConfig};
use socketio_client::{extract::Data, Client, Transports, Value};
use tokio::sync::mpsc;

use crate::harness::{config, redis_url, unique_prefix, within, Clients, NodeServer, RustServer};

#[tokio::test]
async fn a_msgpack_server_and_a_json_server_share_a_cluster() {
    let prefix = unique_prefix("parser");
    let redis = redis_url();
    let sio = SocketIoConfig::builder().parser(Parser::Msgpack).build();
    let (m, node, mut clients) = tokio::join!(
        RustServer::start_configured("m", config(&prefix, &redis).build(), sio),
        NodeServer::start(&prefix, &redis),
        Clients::start(),
    );
    clients.connect("n1", &node.url, &["r1"]).await;
    let mut node = node;

    // A Rust client with the msgpack parser, in r1 on the msgpack server.
    let client = Client::builder(&m.url)
        .parser(socketio_client::Parser::Msgpack)
        .transports(Transports::WebSocketOnly)
        .reconnection(false)
        .auth(json!({ "rooms": ["r1"] }))
        .build()
        .expect("client");
    let socket = client.socket("/");
    let (tx, mut files) = mpsc::unbounded_channel();
    socket.on("file", move |Data(v): Data<Value>| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(v);
        }
    });
    within("the msgpack client to connect", socket.connect())
        .await
        .expect("connects");

    // Node's server → Redis → the msgpack server → its msgpack client.
    node.cmd(json!({"cmd": "emit", "event": "file", "rooms": ["r1"], "args": [{"name": "a", "body": {"$bin": [0, 255]}}]}))
        .await;
    let file = within("the file", files.recv()).await.expect("file");
    let mut want = std::collections::BTreeMap::new();
    want.insert("name".to_owned(), Value::from("a"));
    want.insert("body".to_owned(), Value::Binary(vec![0u8, 255].into()));
    assert_eq!(file, Value::Object(want));
    let args = clients.received("n1", "file").await;
    assert_eq!(args, json!([{"name": "a", "body": {"$bin": [0, 255]}}]));

    // The msgpack client → the msgpack server → Redis → Node's JSON client.
    let mut arg = std::collections::BTreeMap::new();
    arg.insert("bin".to_owned(), Value::Binary(vec![7u8].into()));
    let mut relay = std::collections::BTreeMap::new();
    relay.insert("ev".to_owned(), Value::from("file"));
    relay.insert("room".to_owned(), Value::from("r1"));
    relay.insert("arg".to_owned(), Value::Object(arg));
    socket.emit("relay", &Value::Object(relay)).expect("emit");
    let args = clients.received("n1", "file").await;
    assert_eq!(args, json!([{"bin": {"$bin": [7]}}]));
}
