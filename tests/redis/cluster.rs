//! Two Rust servers and a Node server behind one Redis: every operation
//! that spans servers, started from each side.

use std::{collections::BTreeSet, time::Duration};

use serde_json::{json, Value};
use socketio_axum::{AckError, Binary};

use crate::harness::{within, Cluster, ALL};

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// What each client must have received, as event names in order.
fn assert_received(got: &std::collections::HashMap<String, Vec<String>>, want: &[(&str, &[&str])]) {
    for (name, evs) in want {
        let evs: Vec<String> = evs.iter().map(|e| e.to_string()).collect();
        assert_eq!(got[*name], evs, "events received by {name}");
    }
}

#[tokio::test]
async fn broadcasts_from_any_server_reach_each_client_exactly_once() {
    let mut c = Cluster::start("broadcast").await;

    // From Rust server a.
    c.a.io.emit("all", &"from a").unwrap();
    c.a.io.to("r1").emit("room", &1).unwrap();
    c.a.io.except("r1").emit("except", &2).unwrap();
    c.a.io
        .to(["r1", "r2"])
        .except("r2")
        .emit("rooms", &3)
        .unwrap();
    c.a.io.emit("sync", &()).unwrap();
    let got = c.clients.until(&ALL, "sync").await;
    assert_received(
        &got,
        &[
            ("a1", &["all", "room", "rooms"]),
            ("a2", &["all", "except"]),
            ("b1", &["all", "room", "rooms"]),
            ("n1", &["all", "room", "rooms"]),
            ("n2", &["all", "except"]),
        ],
    );

    // From the Node server.
    for cmd in [
        json!({"cmd": "emit", "event": "all", "args": ["from node"]}),
        json!({"cmd": "emit", "event": "room", "args": [1], "rooms": ["r1"]}),
        json!({"cmd": "emit", "event": "except", "args": [2], "except": ["r1"]}),
        json!({"cmd": "emit", "event": "sync", "args": []}),
    ] {
        c.node.cmd(cmd).await;
    }
    let got = c.clients.until(&ALL, "sync").await;
    assert_received(
        &got,
        &[
            ("a1", &["all", "room"]),
            ("a2", &["all", "except"]),
            ("b1", &["all", "room"]),
            ("n1", &["all", "room"]),
            ("n2", &["all", "except"]),
        ],
    );

    // From Rust server b, with socket.broadcast's shape: all but one socket.
    let a1 = c.sid("a1");
    c.b.io.except(a1.as_str()).emit("but-a1", &()).unwrap();
    c.b.io.emit("sync", &()).unwrap();
    let got = c.clients.until(&ALL, "sync").await;
    assert_received(
        &got,
        &[
            ("a1", &[]),
            ("a2", &["but-a1"]),
            ("b1", &["but-a1"]),
            ("n1", &["but-a1"]),
            ("n2", &["but-a1"]),
        ],
    );
}

#[tokio::test]
async fn binary_and_nested_arguments_cross_as_node_maps_them() {
    let mut c = Cluster::start("binary").await;
    let payload = json!({"z": 1, "a": [true, null, 1.5, "é"], "m": {"k": "v"}});

    // Rust → Node and Rust clients: bytes arrive as bytes.
    c.a.io
        .to("r1")
        .emit("file", &(Binary(vec![0u8, 1, 255].into()), payload.clone()))
        .unwrap();
    for name in ["b1", "n1"] {
        let args = c.clients.received(name, "file").await;
        assert_eq!(args, json!([{"$bin": [0, 1, 255]}, payload]), "{name}");
    }

    // Node → Rust clients: a Buffer arrives as an attachment.
    c.node
        .cmd(json!({"cmd": "emit", "event": "file", "args": [{"$bin": [9, 8]}, payload], "rooms": ["r2"]}))
        .await;
    let args = c.clients.received("a2", "file").await;
    assert_eq!(args, json!([{"$bin": [9, 8]}, payload]));
}

#[tokio::test]
async fn broadcasts_with_acks_collect_the_acks_of_every_server() {
    let mut c = Cluster::start("acks").await;

    // From Rust: acks of the clients of b and of the Node server.
    let acks =
        c.a.io
            .timeout(Duration::from_secs(3))
            .emit_with_ack::<_, Value>("ask", &1)
            .unwrap();
    let acks = within("acks", acks).await;
    let names: BTreeSet<String> = acks
        .iter()
        .map(|a| {
            a.as_ref().expect("ack")["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(names, set(&ALL));

    let acks = within(
        "acks of r2",
        c.b.io
            .to("r2")
            .emit_with_ack::<_, Value>("ask", &2)
            .unwrap(),
    )
    .await;
    let names: BTreeSet<String> = acks
        .iter()
        .map(|a| {
            a.as_ref().expect("ack")["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(names, set(&["a2", "n2"]));

    // From Node: acks of the clients of both Rust servers.
    let answer = c
        .node
        .cmd(json!({"cmd": "emitWithAck", "event": "ask", "args": [3], "timeout": 3000}))
        .await;
    assert_eq!(answer["err"], Value::Null, "{answer}");
    let names: BTreeSet<String> = answer["acks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, set(&ALL));

    // Clients that never answer: the wait ends at the timeout, with a
    // timeout for every client of every server (the others report how many
    // clients they reached).
    let started = tokio::time::Instant::now();
    let acks = within(
        "timed-out acks",
        c.a.io
            .timeout(Duration::from_millis(300))
            .emit_with_ack::<_, Value>("noack", &())
            .unwrap(),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(acks.len(), ALL.len(), "{acks:?}");
    assert!(acks.iter().all(|a| matches!(a, Err(AckError::Timeout(_)))));
    let answer = c
        .node
        .cmd(json!({"cmd": "emitWithAck", "event": "noack", "args": [], "timeout": 300}))
        .await;
    assert_eq!(answer["err"], "operation has timed out", "{answer}");
}

#[tokio::test]
async fn fetch_sockets_lists_the_sockets_of_every_server() {
    let mut c = Cluster::start("fetch").await;

    let sockets = within("fetch_sockets", c.a.io.fetch_sockets())
        .await
        .unwrap();
    let ids: BTreeSet<String> = sockets.iter().map(|s| s.id().to_owned()).collect();
    let want: BTreeSet<String> = ALL.iter().map(|n| c.sid(n)).collect();
    assert_eq!(ids, want);
    let n1 = sockets.iter().find(|s| s.id() == c.sid("n1")).unwrap();
    assert!(n1.as_local().is_none());
    assert!(n1.rooms().contains(&"r1".to_owned()));
    assert_eq!(n1.data(), &json!({"name": "n1"}));
    assert_eq!(n1.handshake()["auth"]["name"], "n1");
    let b1 = sockets.iter().find(|s| s.id() == c.sid("b1")).unwrap();
    assert_eq!(b1.handshake()["auth"]["name"], "b1");
    assert!(b1.rooms().contains(&"r1".to_owned()));

    let r2 = within("fetch r2", c.b.io.to("r2").fetch_sockets())
        .await
        .unwrap();
    let ids: BTreeSet<String> = r2.iter().map(|s| s.id().to_owned()).collect();
    assert_eq!(ids, [c.sid("a2"), c.sid("n2")].into_iter().collect());

    // From Node: its fetchSockets and allRooms get the Rust servers' answers.
    let answer = c.node.cmd(json!({"cmd": "fetchSockets"})).await;
    let sockets = answer["sockets"].as_array().unwrap();
    let ids: BTreeSet<String> = sockets
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, want);
    let a1 = sockets
        .iter()
        .find(|s| s["id"] == c.sid("a1").as_str())
        .unwrap();
    assert_eq!(a1["auth"]["name"], "a1");
    let rooms: BTreeSet<String> = serde_json::from_value(a1["rooms"].clone()).unwrap();
    assert_eq!(rooms, set(&["r1", &c.sid("a1")]));

    // The handshake of a Rust-hosted socket has the shape of a Node-hosted
    // one, as a Node app reads it: the same fields, the query decoded.
    let n1 = sockets
        .iter()
        .find(|s| s["id"] == c.sid("n1").as_str())
        .unwrap();
    let (ours, theirs) = (&a1["handshake"], &n1["handshake"]);
    let keys = |h: &Value| -> BTreeSet<String> {
        h.as_object()
            .unwrap_or_else(|| panic!("no handshake in {h}"))
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(keys(ours), keys(theirs), "ours {ours}\ntheirs {theirs}");
    assert_eq!(ours["query"]["who"], "a1 é/&", "{ours}");
    assert_eq!(theirs["query"]["who"], "n1 é/&", "{theirs}");
    assert_eq!(ours["query"]["transport"], theirs["query"]["transport"]);
    for field in ["xdomain", "secure"] {
        assert_eq!(
            ours[field], theirs[field],
            "{field}: ours {ours}\ntheirs {theirs}"
        );
    }
    // Node reports an IPv4 client as `127.0.0.1` or `::ffff:127.0.0.1`.
    assert!(
        theirs["address"]
            .as_str()
            .is_some_and(|a| a.ends_with("127.0.0.1")),
        "{theirs}"
    );
    assert_eq!(ours["address"], "127.0.0.1", "{ours}");
    let time = ours["time"].as_str().expect("time");
    assert!(
        time.ends_with("GMT+0000 (Coordinated Universal Time)"),
        "{time}"
    );
    assert!(theirs["time"].is_string(), "{theirs}");

    let answer = c
        .node
        .cmd(json!({"cmd": "fetchSockets", "rooms": ["r1"], "except": ["r2"]}))
        .await;
    assert_eq!(answer["sockets"].as_array().unwrap().len(), 3);

    let answer = c.node.cmd(json!({"cmd": "allRooms"})).await;
    let rooms: BTreeSet<String> = serde_json::from_value(answer["rooms"].clone()).unwrap();
    assert!(rooms.contains("r1") && rooms.contains("r2"));
    for name in ALL {
        assert!(rooms.contains(&c.sid(name)), "room of {name}");
    }
}

#[tokio::test]
async fn remote_join_leave_and_disconnect_work_both_ways() {
    let mut c = Cluster::start("rooms").await;

    // Rust joins every socket of the cluster to x. Each server gets the
    // join before the broadcast that follows it, on the same connection.
    c.a.io.sockets_join("x").unwrap();
    c.a.io.to("x").emit("in-x", &()).unwrap();
    c.a.io.emit("sync", &()).unwrap();
    let got = c.clients.until(&ALL, "sync").await;
    for name in ALL {
        assert_eq!(got[name], ["in-x"], "{name}");
    }

    // Rust makes the members of r1 leave x.
    c.b.io.to("r1").leave("x").unwrap();
    c.b.io.to("x").emit("still-in-x", &()).unwrap();
    c.b.io.emit("sync", &()).unwrap();
    let got = c.clients.until(&ALL, "sync").await;
    for name in ALL {
        let want: &[&str] = if ["a2", "n2"].contains(&name) {
            &["still-in-x"]
        } else {
            &[]
        };
        assert_eq!(got[name], want, "{name}");
    }

    // Node joins r2's members to y, and makes them leave r2.
    c.node
        .cmd(json!({"cmd": "socketsJoin", "rooms": ["r2"], "join": "y"}))
        .await;
    c.node
        .cmd(json!({"cmd": "socketsLeave", "rooms": ["y"], "leave": "r2"}))
        .await;
    c.node
        .cmd(json!({"cmd": "emit", "event": "in-y", "args": [], "rooms": ["y"]}))
        .await;
    c.node
        .cmd(json!({"cmd": "emit", "event": "in-r2", "args": [], "rooms": ["r2"]}))
        .await;
    c.node
        .cmd(json!({"cmd": "emit", "event": "sync", "args": []}))
        .await;
    let got = c.clients.until(&ALL, "sync").await;
    assert_eq!(got["a2"], ["in-y"]);
    assert_eq!(got["a1"], Vec::<String>::new());
    // Node applies its own join and leave to its sockets only when they
    // come back from Redis, which may be after its next emit: n2 is not
    // checked here.

    // Node disconnects y's members; Rust disconnects r1's.
    c.node
        .cmd(json!({"cmd": "disconnectSockets", "rooms": ["y"]}))
        .await;
    assert_eq!(c.clients.disconnected("a2").await, "io server disconnect");
    assert_eq!(c.clients.disconnected("n2").await, "io server disconnect");
    c.a.io.to("r1").disconnect().unwrap();
    for name in ["a1", "b1", "n1"] {
        assert_eq!(
            c.clients.disconnected(name).await,
            "io server disconnect",
            "{name}"
        );
    }
}

#[tokio::test]
async fn server_side_emit_reaches_every_other_server_with_and_without_acks() {
    let mut c = Cluster::start("server-side").await;

    // Rust → Rust and Node, no ack.
    let none =
        c.a.io
            .server_side_emit("hello", &json!({"n": 1}), None)
            .await
            .unwrap();
    assert!(none.is_empty());
    assert_eq!(
        c.b.next_server_side().await,
        ("hello".into(), json!([{"n": 1}]))
    );
    let line = c
        .node
        .proc
        .expect("hello on node", |l| l["event"] == "serverSide")
        .await;
    assert_eq!(
        (&line["name"], &line["args"]),
        (&json!("hello"), &json!([{"n": 1}]))
    );

    // Rust → others, with acks: one answer per other server.
    let answers =
        c.a.io
            .server_side_emit("question", &(2, "two"), Some(Duration::from_secs(3)))
            .await
            .unwrap();
    // Each answer read as the type it is (RawArgs::data, as Data<T> reads).
    let from: BTreeSet<String> = answers
        .iter()
        .map(|a| a.data::<Value>().unwrap()["from"].to_string())
        .collect();
    assert_eq!(from, set(&["\"b\"", "\"node\""]));
    assert_eq!(
        c.b.next_server_side().await,
        ("question".into(), json!([2, "two"]))
    );
    let line = c
        .node
        .proc
        .expect("question on node", |l| l["event"] == "serverSide")
        .await;
    assert_eq!(line["args"], json!([2, "two"]));

    // A server that does not answer in time: the error keeps the answer
    // that came (Node's), as Node's `(err, responses)` does.
    let partial =
        c.a.io
            .server_side_emit("unanswered", &1, Some(Duration::from_millis(500)))
            .await
            .expect_err("b does not answer");
    assert!(partial.error().is_timeout(), "{partial}");
    let from: Vec<Value> = partial
        .replies()
        .iter()
        .map(|a| serde_json::from_str::<Value>(&a.args).unwrap()["from"].clone())
        .collect();
    assert_eq!(from, [json!("node")], "{partial}");
    assert_eq!(
        c.b.next_server_side().await,
        ("unanswered".into(), json!([1]))
    );
    c.node
        .proc
        .expect("unanswered on node", |l| l["event"] == "serverSide")
        .await;

    // Node → Rust, without then with acks.
    c.node
        .cmd(json!({"cmd": "serverSideEmit", "event": "hello", "args": ["x"]}))
        .await;
    assert_eq!(c.a.next_server_side().await, ("hello".into(), json!(["x"])));
    assert_eq!(c.b.next_server_side().await, ("hello".into(), json!(["x"])));
    let answer = c
        .node
        .cmd(json!({"cmd": "serverSideEmit", "event": "question", "args": [3], "ack": true}))
        .await;
    assert_eq!(answer["err"], Value::Null, "{answer}");
    let from: BTreeSet<String> = answer["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["from"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(from, set(&["a", "b"]));
}
