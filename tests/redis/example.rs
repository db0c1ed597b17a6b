//! `examples/redis-cluster` beside a Node server in one cluster: each of the
//! example's cluster-wide routes acts on the Node server's sockets too, and
//! the two servers answer each other's server-side questions.

use std::{collections::BTreeMap, net::SocketAddr};

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Full;
use serde_json::{json, Value};
use socketio_axum_examples::redis_cluster;
use socketio_axum_tests::{request, HttpResponse};
use socketio_redis::RedisAdapter;

use crate::harness::{config, redis_url, unique_prefix, within, Clients, NodeServer};

const ALL: [&str; 4] = ["r1", "r2", "n1", "n2"];

/// The example's application on 127.0.0.1:0, in the cluster of `prefix`.
async fn start_example(prefix: &str, redis: &str) -> SocketAddr {
    let adapter = within(
        "the adapter to connect",
        RedisAdapter::connect(config(prefix, redis).build()),
    )
    .await
    .expect("connect to Redis");
    let (app, _io) = redis_cluster::app(adapter.clone(), "rust", None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    within("the adapter to subscribe", adapter.ready()).await;
    addr
}

async fn call(addr: SocketAddr, method: Method, path: &str, body: &str) -> HttpResponse {
    let req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("valid request");
    let res = request(addr, req).await;
    assert!(res.status.is_success(), "{path}: {res:?}");
    res
}

/// `GET /sockets{query}`: each socket's `data.name`, with its id and rooms.
async fn sockets(addr: SocketAddr, query: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let list = call(addr, Method::GET, &format!("/sockets{query}"), "")
        .await
        .json();
    let list = list.as_array().expect("a JSON array");
    list.iter()
        .map(|s| {
            let name = s["data"]["name"].as_str().expect("data.name").to_owned();
            let id = s["id"].as_str().expect("id").to_owned();
            let rooms = serde_json::from_value(s["rooms"].clone()).expect("rooms");
            (name, (id, rooms))
        })
        .collect()
}

#[tokio::test]
async fn every_cluster_wide_route_of_the_example_reaches_a_node_server() {
    let prefix = unique_prefix("example");
    let redis = redis_url();
    let (addr, node, mut clients) = tokio::join!(
        start_example(&prefix, &redis),
        NodeServer::start(&prefix, &redis),
        Clients::start(),
    );
    let mut node = node;
    let url = format!("http://{addr}");
    clients.connect("r1", &url, &["lobby"]).await;
    clients.connect("r2", &url, &[]).await;
    clients.connect("n1", &node.url, &["lobby"]).await;
    clients.connect("n2", &node.url, &[]).await;
    for name in ["r1", "r2"] {
        let welcome = clients.received(name, "welcome").await;
        assert_eq!(welcome, json!([{ "server": "rust" }]), "{name}");
    }

    let servers = call(addr, Method::GET, "/servers", "").await.json();
    assert_eq!(servers, json!({ "servers": 2 }));

    // fetch_sockets: the sockets of both servers, with their data (set by
    // the example on ours, by Node's `socket.data.name` on Node's).
    let all = sockets(addr, "").await;
    assert_eq!(all.keys().collect::<Vec<_>>(), ["n1", "n2", "r1", "r2"]);
    for name in ALL {
        let (id, rooms) = &all[name];
        assert_eq!(*id, clients.sids[name], "{name}'s id");
        let in_lobby = rooms.iter().any(|r| r == "lobby");
        assert_eq!(in_lobby, ["r1", "n1"].contains(&name), "{name}: {rooms:?}");
    }
    let lobby = sockets(addr, "?in=lobby").await;
    assert_eq!(lobby.keys().collect::<Vec<_>>(), ["n1", "r1"]);

    // sockets_join: the lobby's members join vip, on both servers; the
    // join reaches Node before the emit that follows it.
    call(addr, Method::POST, "/sockets/join?in=lobby&room=vip", "").await;
    call(addr, Method::POST, "/emit/in-vip?to=vip", "for vips").await;
    call(addr, Method::POST, "/emit/sync", "").await;
    let got = clients.until(&ALL, "sync").await;
    for name in ALL {
        let want: &[&str] = if ["r1", "n1"].contains(&name) {
            &["in-vip"]
        } else {
            &[]
        };
        assert_eq!(got[name], want, "{name}");
    }
    let vip = sockets(addr, "?in=vip").await;
    assert_eq!(vip.keys().collect::<Vec<_>>(), ["n1", "r1"]);

    // sockets_leave: they leave it again.
    call(addr, Method::POST, "/sockets/leave?in=lobby&room=vip", "").await;
    call(addr, Method::POST, "/emit/in-vip?to=vip", "for vips").await;
    call(addr, Method::POST, "/emit/sync", "").await;
    let got = clients.until(&ALL, "sync").await;
    for name in ALL {
        assert_eq!(got[name], Vec::<String>::new(), "{name}");
    }

    // server_side_emit with an ack, both ways.
    let asked = call(addr, Method::POST, "/servers/ask", "ready?").await;
    assert_eq!(asked.json(), json!({ "answers": [{ "from": "node" }] }));
    let answer = node
        .cmd(json!({"cmd": "serverSideEmit", "event": "question", "args": ["ready?"], "ack": true}))
        .await;
    assert_eq!(answer["err"], Value::Null, "{answer}");
    assert_eq!(
        answer["responses"],
        json!([{ "server": "rust", "question": "ready?" }])
    );

    // disconnect_sockets: the lobby's members, on both servers.
    call(addr, Method::POST, "/sockets/disconnect?in=lobby", "").await;
    for name in ["r1", "n1"] {
        assert_eq!(
            clients.disconnected(name).await,
            "io server disconnect",
            "{name}"
        );
    }
    let left = sockets(addr, "").await;
    assert_eq!(left.keys().collect::<Vec<_>>(), ["n2", "r2"]);
}
