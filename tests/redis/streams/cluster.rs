//! Recovery off: a mixed cluster on one stream.

use std::time::Duration;

use serde_json::{json, Value};
use socketio_axum::{Binary, Spread};

use super::{set, Names};
use crate::harness::{redis_url, within, Clients, Cluster, ALL};

/// For each client of `names`, the events it received before `sentinel`,
/// as `[event, args]`: once each has the sentinel, nothing sent before it
/// is still on its way.
async fn until(clients: &mut Clients, names: &[&str], sentinel: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for name in names {
        clients.received(name, sentinel).await;
    }
    for name in names {
        let events: Vec<Value> = clients
            .proc
            .take(|l| l["event"] == "message" && l["name"] == *name)
            .into_iter()
            .map(|l| json!([l["ev"], l["args"]]))
            .collect();
        out.push((name.to_string(), Value::Array(events)));
    }
    out
}

/// Checks what [`until`] returned against what each client must have got.
fn assert_got(got: &[(String, Value)], want: &[(&str, Value)], step: &str) {
    for ((name, evs), (want_name, want_evs)) in got.iter().zip(want) {
        assert_eq!(name, want_name);
        assert_eq!(evs, want_evs, "{step}: events received by {name}");
    }
}

/// Every entry of the test's stream, its fields in order (`XRANGE - +`).
async fn stream_entries(names: &Names) -> Vec<Vec<(String, String)>> {
    let mut conn = redis::Client::open(redis_url().as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg(&names.stream)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    entries
        .into_iter()
        .map(|(_, flat)| {
            flat.chunks(2)
                .map(|kv| (kv[0].clone(), kv.get(1).cloned().unwrap_or_default()))
                .collect()
        })
        .collect()
}

/// Recovery off: every operation that spans servers, between two of ours
/// and Node's, on one stream; started from each side.
#[tokio::test]
async fn a_mixed_cluster_on_one_stream_spans_node_and_rust_servers() {
    let names = Names::new("streams-mixed");
    let redis = redis_url();
    let mut c = Cluster::connect(
        &names.channels,
        tokio::join!(
            names.ours("a", &redis, None),
            names.ours("b", &redis, None),
            names.node(&redis, None),
            Clients::start(),
        ),
    )
    .await;

    // Each server counts the subscribers of the namespace's channel.
    assert_eq!(c.a.io.server_count().await.unwrap(), 3);
    assert_eq!(c.b.io.server_count().await.unwrap(), 3);
    let answer = c.node.cmd(json!({"cmd": "serverCount"})).await;
    assert_eq!(answer["count"], 3, "{answer}");

    // Broadcasts from each server: to all, to a room, to rooms except one,
    // to all except a room, to all except a socket. Exactly once each, and
    // without an offset (recovery is off).
    let a1 = c.sid("a1");
    for from in ["a", "node", "b"] {
        let sent = [
            (json!("all"), json!([from]), json!([]), json!([])),
            (json!("room"), json!([1]), json!(["r1"]), json!([])),
            (
                json!("rooms"),
                json!([{"x": from}]),
                json!(["r1", "r2"]),
                json!(["r2"]),
            ),
            (json!("except"), json!([2]), json!([]), json!(["r1"])),
            (json!("but-a1"), json!([3]), json!([]), json!([a1])),
            (json!("sync"), json!([]), json!([]), json!([])),
        ];
        for (ev, args, rooms, except) in sent {
            let ev = ev.as_str().unwrap();
            match from {
                "node" => {
                    c.node
                        .cmd(json!({"cmd": "emit", "event": ev, "args": args, "rooms": rooms, "except": except}))
                        .await;
                }
                _ => {
                    let server = if from == "a" { &c.a } else { &c.b };
                    let rooms: Vec<String> = serde_json::from_value(rooms).unwrap();
                    let except: Vec<String> = serde_json::from_value(except).unwrap();
                    let args: Vec<Value> = serde_json::from_value(args).unwrap();
                    server
                        .io
                        .to(rooms)
                        .except(except)
                        .emit(ev, &Spread(args))
                        .unwrap();
                }
            }
        }
        let got = until(&mut c.clients, &ALL, "sync").await;
        let all = json!(["all", [from]]);
        let room = json!(["room", [1]]);
        let rooms = json!(["rooms", [{"x": from}]]);
        let except = json!(["except", [2]]);
        let but = json!(["but-a1", [3]]);
        assert_got(
            &got,
            &[
                ("a1", json!([all, room, rooms])),
                ("a2", json!([all, except, but])),
                ("b1", json!([all, room, rooms, but])),
                ("n1", json!([all, room, rooms, but])),
                ("n2", json!([all, except, but])),
            ],
            &format!("broadcasts from {from}"),
        );
    }

    // The same broadcast from ours and from Node's: the same stream entry
    // but for the sender's uid, and the packet's `nsp`, which ours adds
    // (as its sharded protocol does) and Node's leaves out; Node reads the
    // namespace from the entry, so either does.
    let same = json!([1, {"k": [1, "é"]}]);
    c.a.io
        .to(["r1", "r2"])
        .except("r2")
        .emit_published("same", &(1, json!({"k": [1, "é"]})))
        .unwrap()
        .await
        .unwrap();
    c.node
        .cmd(json!({"cmd": "emit", "event": "same", "args": [1, {"k": [1, "é"]}], "rooms": ["r1", "r2"], "except": ["r2"]}))
        .await;
    let entries = stream_entries(&names).await;
    let mut sames = entries.iter().filter(|fields| {
        fields
            .iter()
            .any(|(k, v)| k == "data" && v.contains("\"same\""))
    });
    let (ours, theirs) = (sames.next().unwrap(), sames.next().unwrap());
    // Everything but the sender's id, to the byte.
    let comparable = |fields: &[(String, String)]| -> Vec<(String, String)> {
        fields.iter().filter(|(k, _)| k != "uid").cloned().collect()
    };
    assert_eq!(comparable(ours), comparable(theirs), "ours, then Node's");
    assert_eq!(
        ours.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["uid", "nsp", "type", "data"]
    );
    for name in ["a1", "b1", "n1"] {
        for _ in 0..2 {
            assert_eq!(c.clients.received(name, "same").await, same, "{name}");
        }
    }

    // Broadcasts with acks (published, answered on the sender's channel),
    // from each side: every client of every server answers.
    let acks = within(
        "acks",
        c.a.io
            .timeout(Duration::from_secs(3))
            .emit_with_ack::<_, Value>("ask", &1)
            .unwrap(),
    )
    .await;
    let names_acked = set(acks.iter().map(|a| {
        a.as_ref().expect("ack")["name"]
            .as_str()
            .unwrap()
            .to_owned()
    }));
    assert_eq!(names_acked, set(ALL));
    let answer = c
        .node
        .cmd(json!({"cmd": "emitWithAck", "event": "ask", "args": [2], "rooms": ["r2"], "timeout": 3000}))
        .await;
    assert_eq!(answer["err"], Value::Null, "{answer}");
    let names_acked = set(answer["acks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned()));
    assert_eq!(names_acked, set(["a2", "n2"]));
    for name in ALL {
        c.clients.received(name, "ask").await;
    }
    for name in ["a2", "n2"] {
        c.clients.received(name, "ask").await;
    }

    // Entries no server can read: dropped, and the readers go on.
    names.append_malformed(&redis).await;

    // Binary arguments, both ways (in the stream: base64 of msgpack).
    let payload = json!({"z": 1, "a": [true, null, 1.5, "é"], "m": {"k": "v"}});
    c.a.io
        .to("r1")
        .emit("file", &(Binary(vec![0u8, 1, 255].into()), payload.clone()))
        .unwrap();
    for name in ["a1", "b1", "n1"] {
        let args = c.clients.received(name, "file").await;
        assert_eq!(args, json!([{"$bin": [0, 1, 255]}, payload]), "{name}");
    }
    c.node
        .cmd(json!({"cmd": "emit", "event": "file", "args": [{"$bin": [9, 8]}, payload], "rooms": ["r2"]}))
        .await;
    for name in ["a2", "n2"] {
        let args = c.clients.received(name, "file").await;
        assert_eq!(args, json!([{"$bin": [9, 8]}, payload]), "{name}");
    }

    // fetchSockets, both ways: ids, rooms, data and auth of the other side's sockets.
    let want = set(ALL.map(|n| c.sid(n)));
    let sockets = within("fetch_sockets", c.a.io.fetch_sockets())
        .await
        .unwrap();
    assert_eq!(set(sockets.iter().map(|s| s.id().to_string())), want);
    let n1 = sockets.iter().find(|s| s.id() == c.sid("n1")).unwrap();
    assert!(n1.as_local().is_none());
    assert_eq!(set(n1.rooms()), set(["r1".to_owned(), c.sid("n1")]));
    assert_eq!(n1.data(), &json!({"name": "n1"}));
    assert_eq!(n1.handshake()["auth"]["name"], "n1");
    let r2 = within("fetch r2", c.b.io.to("r2").fetch_sockets())
        .await
        .unwrap();
    assert_eq!(
        set(r2.iter().map(|s| s.id().to_string())),
        set([c.sid("a2"), c.sid("n2")])
    );
    let answer = c.node.cmd(json!({"cmd": "fetchSockets"})).await;
    let sockets = answer["sockets"].as_array().unwrap();
    assert_eq!(
        set(sockets.iter().map(|s| s["id"].as_str().unwrap())),
        want,
        "{answer}"
    );
    let theirs_a1 = sockets
        .iter()
        .find(|s| s["id"] == c.sid("a1").as_str())
        .unwrap();
    let rooms: Vec<String> = serde_json::from_value(theirs_a1["rooms"].clone()).unwrap();
    assert_eq!(set(rooms), set(["r1".to_owned(), c.sid("a1")]));
    assert_eq!(theirs_a1["data"], json!({"name": "a1"}));
    assert_eq!(theirs_a1["auth"]["name"], "a1");
    let answer = c
        .node
        .cmd(json!({"cmd": "fetchSockets", "rooms": ["r1"], "except": ["r2"]}))
        .await;
    assert_eq!(answer["sockets"].as_array().unwrap().len(), 3, "{answer}");

    // serverSideEmit with acks, both ways.
    let answers =
        c.a.io
            .server_side_emit("question", &(2, "two"), Some(Duration::from_secs(3)))
            .await
            .unwrap();
    let from = set(answers.iter().map(|a| {
        a.data::<Value>().unwrap()["from"]
            .as_str()
            .unwrap()
            .to_owned()
    }));
    assert_eq!(from, set(["b", "node"]));
    assert_eq!(
        c.b.next_server_side().await,
        ("question".into(), json!([2, "two"]))
    );
    let line = c
        .node
        .proc
        .expect("question on node", |l| l["event"] == "serverSide")
        .await;
    assert_eq!(
        (&line["name"], &line["args"]),
        (&json!("question"), &json!([2, "two"]))
    );
    let answer = c
        .node
        .cmd(json!({"cmd": "serverSideEmit", "event": "question", "args": [3], "ack": true}))
        .await;
    assert_eq!(answer["err"], Value::Null, "{answer}");
    let from = set(answer["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["from"].as_str().unwrap().to_owned()));
    assert_eq!(from, set(["a", "b"]));
    assert_eq!(
        c.a.next_server_side().await,
        ("question".into(), json!([3]))
    );
    assert_eq!(
        c.b.next_server_side().await,
        ("question".into(), json!([3]))
    );

    // Another namespace, both ways (Node's packets do not name it: the
    // entry's `nsp` does).
    c.clients
        .connect("a-admin", &format!("{}/admin", c.a.url), &[])
        .await;
    c.clients
        .connect("n-admin", &format!("{}/admin", c.node.url), &[])
        .await;
    c.node
        .cmd(json!({"cmd": "emit", "nsp": "/admin", "event": "adm", "args": ["node"]}))
        .await;
    c.a.io
        .of("/admin")
        .unwrap()
        .emit_published("adm", "a")
        .unwrap()
        .await
        .unwrap();
    for name in ["a-admin", "n-admin"] {
        assert_eq!(
            c.clients.received(name, "adm").await,
            json!(["node"]),
            "{name}"
        );
        assert_eq!(
            c.clients.received(name, "adm").await,
            json!(["a"]),
            "{name}"
        );
    }

    // Ours joins every socket of the cluster to x.
    c.a.io.sockets_join("x").unwrap();
    c.a.io.to("x").emit("in-x", &()).unwrap();
    c.a.io.emit("sync", &()).unwrap();
    let got = until(&mut c.clients, &ALL, "sync").await;
    for (name, evs) in &got {
        assert_eq!(evs, &json!([["in-x", []]]), "{name}");
    }

    // Ours makes the members of r1 (n1 among them) leave x.
    c.b.io.to("r1").leave("x").unwrap();
    c.b.io.to("x").emit("still-in-x", &()).unwrap();
    c.b.io.emit("sync", &()).unwrap();
    let got = until(&mut c.clients, &ALL, "sync").await;
    let in_x = json!([["still-in-x", []]]);
    assert_got(
        &got,
        &[
            ("a1", json!([])),
            ("a2", in_x.clone()),
            ("b1", json!([])),
            ("n1", json!([])),
            ("n2", in_x),
        ],
        "after b's leave",
    );

    // Node joins r2's members (a2 among them) to y, then makes y's leave r2.
    for cmd in [
        json!({"cmd": "socketsJoin", "rooms": ["r2"], "join": "y"}),
        json!({"cmd": "socketsLeave", "rooms": ["y"], "leave": "r2"}),
        json!({"cmd": "emit", "event": "in-y", "args": [], "rooms": ["y"]}),
        json!({"cmd": "emit", "event": "in-r2", "args": [], "rooms": ["r2"]}),
        json!({"cmd": "emit", "event": "sync", "args": []}),
    ] {
        c.node.cmd(cmd).await;
    }
    let got = until(&mut c.clients, &ALL, "sync").await;
    let in_y = json!([["in-y", []]]);
    assert_got(
        &got,
        &[
            ("a1", json!([])),
            ("a2", in_y.clone()),
            ("b1", json!([])),
            ("n1", json!([])),
            ("n2", in_y),
        ],
        "after node's join and leave",
    );

    // Node disconnects y's members (a2 among them); ours r1's (n1 among them).
    c.node
        .cmd(json!({"cmd": "disconnectSockets", "rooms": ["y"]}))
        .await;
    for name in ["a2", "n2"] {
        assert_eq!(
            c.clients.disconnected(name).await,
            "io server disconnect",
            "{name}"
        );
    }
    c.a.io.to("r1").disconnect().unwrap();
    for name in ["a1", "b1", "n1"] {
        assert_eq!(
            c.clients.disconnected(name).await,
            "io server disconnect",
            "{name}"
        );
    }
}
