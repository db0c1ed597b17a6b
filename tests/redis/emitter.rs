//! Emitters: ours (`RedisEmitter`) and Node's `@socket.io/redis-emitter`
//! 5.1, each reaching the clients of a mixed cluster (two Rust servers and
//! a Node one) without being a server.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;
use socketio_axum::Binary;
use socketio_redis::RedisEmitter;

use crate::harness::{config, redis_url, within, Cluster, NodeEmitter, ALL};

/// `ALL` and a client of `/admin` on a Rust server and on the Node one,
/// both in room r1 of `/admin`.
const WITH_ADMIN: [&str; 7] = ["a1", "a2", "b1", "n1", "n2", "a-admin", "n-admin"];

async fn with_admin_clients(c: &mut Cluster) {
    let (a, node) = (
        format!("{}/admin", c.a.url),
        format!("{}/admin", c.node.url),
    );
    c.clients.connect("a-admin", &a, &["r1"]).await;
    c.clients.connect("n-admin", &node, &["r1"]).await;
}

/// What each client got before the sentinel: r1's members (a1, b1, n1) the
/// broadcast to r1, r2's (a2, n2) the one except r1, and `/admin`'s only
/// its own.
fn assert_rooms_and_namespaces(got: &HashMap<String, Vec<String>>) {
    for name in WITH_ADMIN {
        let want: &[&str] = match name {
            "a1" | "b1" | "n1" => &["all", "in-r1"],
            "a2" | "n2" => &["all", "not-r1"],
            _ => &["admin-r1"],
        };
        assert_eq!(got[name], want, "{name}");
    }
}

/// After r2's members joined x, got "in-x", and left x again.
fn assert_only_r2_was_in_x(got: &HashMap<String, Vec<String>>) {
    for name in ALL {
        let want: &[&str] = if ["a2", "n2"].contains(&name) {
            &["in-x"]
        } else {
            &[]
        };
        assert_eq!(got[name], want, "{name}");
    }
}

#[derive(Serialize)]
struct File {
    name: &'static str,
    data: Binary,
}

#[tokio::test]
async fn our_emitter_reaches_every_client_of_a_mixed_cluster() {
    let mut c = Cluster::start("emitter").await;
    with_admin_clients(&mut c).await;
    let io = within(
        "the emitter to connect",
        RedisEmitter::connect(config(&c.prefix, &redis_url()).build()),
    )
    .await
    .expect("emitter connects");

    // Rooms, exceptions and namespaces; "sync" last on each namespace.
    io.emit("all", &()).await.unwrap();
    io.to("r1").emit("in-r1", &()).await.unwrap();
    io.except("r1").emit("not-r1", &()).await.unwrap();
    let admin = io.of("admin");
    admin.clone().to("r1").emit("admin-r1", &()).await.unwrap();
    io.emit("sync", &()).await.unwrap();
    admin.emit("sync", &()).await.unwrap();
    assert_rooms_and_namespaces(&c.clients.until(&WITH_ADMIN, "sync").await);

    // Binary, at the top and inside an object.
    let file = File {
        name: "a.bin",
        data: Binary(vec![7u8, 0, 255].into()),
    };
    io.to("r2")
        .emit("file", &(Binary(vec![0u8, 1].into()), &file))
        .await
        .unwrap();
    for name in ["a2", "n2"] {
        let args = c.clients.received(name, "file").await;
        let want = json!([{"$bin": [0, 1]}, {"name": "a.bin", "data": {"$bin": [7, 0, 255]}}]);
        assert_eq!(args, want, "{name}");
    }

    // Joins and leaves, applied by every server before the emit that follows.
    io.to("r2").sockets_join("x").await.unwrap();
    io.to("x").emit("in-x", &()).await.unwrap();
    io.to("x").sockets_leave("x").await.unwrap();
    io.to("x").emit("still-in-x", &()).await.unwrap();
    io.emit("sync", &()).await.unwrap();
    assert_only_r2_was_in_x(&c.clients.until(&ALL, "sync").await);

    // Server-side events reach every server's handlers.
    io.server_side_emit("hello", "from the emitter")
        .await
        .unwrap();
    for server in [&mut c.a, &mut c.b] {
        let (event, args) = server.next_server_side().await;
        assert_eq!(
            (event.as_str(), args),
            ("hello", json!(["from the emitter"]))
        );
    }
    let line = c
        .node
        .proc
        .expect("Node's server-side event", |l| l["event"] == "serverSide")
        .await;
    assert_eq!(line["args"], json!(["from the emitter"]), "{line}");

    // Reserved names are refused before anything is sent.
    let err = io.emit("disconnect", &()).await.unwrap_err();
    assert!(err.to_string().contains("reserved"), "{err}");

    // Disconnections, in one namespace only.
    io.to("r1").disconnect_sockets(false).await.unwrap();
    for name in ["a1", "b1", "n1"] {
        let reason = c.clients.disconnected(name).await;
        assert_eq!(reason, "io server disconnect", "{name}");
    }
    io.of("/admin").emit("still-here", &()).await.unwrap();
    for name in ["a-admin", "n-admin"] {
        c.clients.received(name, "still-here").await;
    }
}

#[tokio::test]
async fn nodes_emitter_reaches_the_clients_of_our_servers() {
    let mut c = Cluster::start("node-emitter").await;
    with_admin_clients(&mut c).await;
    let mut e = NodeEmitter::start(&c.prefix, &redis_url()).await;

    let file = json!({"name": "a.bin", "data": {"$bin": [7, 0, 255]}});
    e.cmd(
        json!({"cmd": "emit", "event": "file", "args": [{"$bin": [9, 8]}, file], "rooms": ["r2"]}),
    )
    .await;
    for name in ["a2", "n2"] {
        let args = c.clients.received(name, "file").await;
        assert_eq!(args, json!([{"$bin": [9, 8]}, file]), "{name}");
    }

    for cmd in [
        json!({"cmd": "emit", "event": "all"}),
        json!({"cmd": "emit", "event": "in-r1", "rooms": ["r1"]}),
        json!({"cmd": "emit", "event": "not-r1", "except": ["r1"]}),
        json!({"cmd": "emit", "event": "admin-r1", "nsp": "/admin", "rooms": ["r1"]}),
        json!({"cmd": "emit", "event": "sync"}),
        json!({"cmd": "emit", "event": "sync", "nsp": "/admin"}),
    ] {
        e.cmd(cmd).await;
    }
    assert_rooms_and_namespaces(&c.clients.until(&WITH_ADMIN, "sync").await);

    for cmd in [
        json!({"cmd": "socketsJoin", "rooms": ["r2"], "join": "x"}),
        json!({"cmd": "emit", "event": "in-x", "rooms": ["x"]}),
        json!({"cmd": "socketsLeave", "rooms": ["x"], "leave": "x"}),
        json!({"cmd": "emit", "event": "still-in-x", "rooms": ["x"]}),
        json!({"cmd": "emit", "event": "sync"}),
    ] {
        e.cmd(cmd).await;
    }
    assert_only_r2_was_in_x(&c.clients.until(&ALL, "sync").await);

    e.cmd(json!({"cmd": "serverSideEmit", "event": "hello", "args": ["from Node's emitter"]}))
        .await;
    for server in [&mut c.a, &mut c.b] {
        let (event, args) = server.next_server_side().await;
        assert_eq!(
            (event.as_str(), args),
            ("hello", json!(["from Node's emitter"]))
        );
    }

    e.cmd(json!({"cmd": "disconnectSockets", "rooms": ["r1"]}))
        .await;
    for name in ["a1", "b1", "n1"] {
        let reason = c.clients.disconnected(name).await;
        assert_eq!(reason, "io server disconnect", "{name}");
    }
}
