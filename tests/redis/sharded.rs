//! The sharded adapter on a Redis Cluster: two Rust servers and a Node one
//! (`createShardedAdapter` over node-redis's `createCluster`, dynamic
//! subscription mode), on a three-master cluster this test starts. One test
//! function, so that the cluster starts once.

use std::time::Duration;

use serde_json::{json, Value};

use socketio_redis::{RedisEmitter, SubscriptionMode};

use crate::{
    harness::{config, unique_prefix, within, Cluster, ALL},
    private::RedisCluster,
};

#[tokio::test]
async fn rust_and_node_servers_share_a_redis_cluster_through_sharded_pub_sub() {
    let cluster = RedisCluster::start().await;
    let url = cluster.url();
    let prefix = unique_prefix("sharded");
    let Cluster {
        a,
        b,
        mut node,
        mut clients,
        ..
    } = Cluster::start_sharded(&prefix, &url).await;

    // Every server subscribes to the namespace's channel, and to the
    // channel of each room it has a member of.
    cluster
        .wait_for_subscribers(&format!("{prefix}#/#"), 3)
        .await;
    cluster
        .wait_for_subscribers(&format!("{prefix}#/#r1#"), 3)
        .await;
    cluster
        .wait_for_subscribers(&format!("{prefix}#/#r2#"), 2)
        .await;
    assert_eq!(a.io.server_count().await.unwrap(), 3);
    assert_eq!(
        node.cmd(json!({"cmd": "serverCount"})).await["count"],
        json!(3)
    );

    // Messages on one channel from one server keep their order: each batch
    // ends with a marker on the same channel, and what a client received
    // before it is all it gets.
    a.io.to("r1").emit("r1-from-a", &1).unwrap();
    a.io.to("r1").emit("end", &()).unwrap();
    let got = clients.until(&["a1", "b1", "n1"], "end").await;
    for name in ["a1", "b1", "n1"] {
        assert_eq!(got[name], ["r1-from-a"], "{name}");
    }
    node.cmd(json!({"cmd": "emit", "rooms": ["r2"], "event": "r2-from-node", "args": [2]}))
        .await;
    node.cmd(json!({"cmd": "emit", "rooms": ["r2"], "event": "end"}))
        .await;
    let got = clients.until(&["a2", "n2"], "end").await;
    assert_eq!(got["a2"], ["r2-from-node"]);
    assert_eq!(got["n2"], ["r2-from-node"]);
    b.io.emit("all-from-b", &3).unwrap();
    b.io.emit("end", &()).unwrap();
    let got = clients.until(&ALL, "end").await;
    for name in ALL {
        assert_eq!(got[name], ["all-from-b"], "{name}");
    }

    // Our emitter, in the sharded protocol: a room's channel, and the
    // namespace's for everyone.
    let config = config(&prefix, &url).sharded(SubscriptionMode::Dynamic);
    let emitter = within(
        "the emitter to connect",
        RedisEmitter::connect(config.build()),
    )
    .await
    .unwrap();
    emitter.to("r1").emit("r1-from-emitter", &4).await.unwrap();
    emitter.to("r1").emit("end", &()).await.unwrap();
    let got = clients.until(&["a1", "b1", "n1"], "end").await;
    for name in ["a1", "b1", "n1"] {
        assert_eq!(got[name], ["r1-from-emitter"], "{name}");
    }
    emitter
        .except("r1")
        .emit("not-r1-from-emitter", &5)
        .await
        .unwrap();
    emitter.emit("end", &()).await.unwrap();
    let got = clients.until(&ALL, "end").await;
    for name in ALL {
        let want: &[&str] = if ["a2", "n2"].contains(&name) {
            &["not-r1-from-emitter"]
        } else {
            &[]
        };
        assert_eq!(got[name], want, "{name}");
    }

    // A client's broadcast, through a Node server and through ours.
    for (from, room, to) in [
        ("n1", Some("r1"), &["a1", "b1"][..]),
        ("a2", None, &["a1", "b1", "n1", "n2"][..]),
        ("b1", Some("r2"), &["a2", "n2"][..]),
    ] {
        let ev = format!("relay-from-{from}");
        clients
            .emit(
                from,
                "relay",
                json!([{"ev": ev, "room": room, "arg": from}]),
            )
            .await;
        clients
            .emit(from, "relay", json!([{"ev": "end", "room": room}]))
            .await;
        let got = clients.until(to, "end").await;
        for name in to {
            assert_eq!(got[*name], [ev.as_str()], "{from} → {name}");
        }
    }

    // Joins reach the sockets of every server. A server subscribes to the
    // channel of a room when it gets its first member there, and drops it
    // with the last.
    a.io.sockets_join("r3").unwrap();
    cluster
        .wait_for_subscribers(&format!("{prefix}#/#r3#"), 3)
        .await;
    node.cmd(json!({"cmd": "emit", "rooms": ["r3"], "event": "r3-from-node"}))
        .await;
    node.cmd(json!({"cmd": "emit", "rooms": ["r3"], "event": "end"}))
        .await;
    let got = clients.until(&ALL, "end").await;
    for name in ALL {
        assert_eq!(got[name], ["r3-from-node"], "{name}");
    }
    node.cmd(json!({"cmd": "socketsLeave", "leave": ["r3"]}))
        .await;
    cluster
        .wait_for_subscribers(&format!("{prefix}#/#r3#"), 0)
        .await;

    // Requests that gather the other servers' answers.
    let sockets = a.io.fetch_sockets().await.unwrap();
    assert_eq!(sockets.len(), 5);
    let in_r2 = a.io.to("r2").fetch_sockets().await.unwrap();
    let mut ids: Vec<_> = in_r2.iter().map(|s| s.id().to_owned()).collect();
    ids.sort();
    let mut want = vec![clients.sids["a2"].clone(), clients.sids["n2"].clone()];
    want.sort();
    assert_eq!(ids, want);
    let fetched = node
        .cmd(json!({"cmd": "fetchSockets", "rooms": ["r1"]}))
        .await;
    assert_eq!(fetched["sockets"].as_array().map(Vec::len), Some(3));

    let answers =
        a.io.server_side_emit("question", &1, Some(Duration::from_secs(3)))
            .await
            .unwrap();
    let mut from: Vec<Value> = answers
        .iter()
        .map(|a| serde_json::from_str::<Value>(&a.args).unwrap()["from"].clone())
        .collect();
    from.sort_by_key(ToString::to_string);
    assert_eq!(from, [json!("b"), json!("node")]);
    let answered = node
        .cmd(json!({"cmd": "serverSideEmit", "event": "question", "args": [2], "ack": true}))
        .await;
    assert_eq!(answered["err"], Value::Null, "{answered}");
    let mut from: Vec<String> = answered["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["from"].to_string())
        .collect();
    from.sort();
    assert_eq!(from, ["\"a\"", "\"b\""]);

    // Broadcasts with acknowledgements, both ways.
    let acks =
        a.io.to("r1")
            .timeout(Duration::from_secs(3))
            .emit_with_ack::<_, Value>("ask", &1)
            .unwrap()
            .await;
    let mut names: Vec<String> = acks
        .into_iter()
        .map(|ack| ack.unwrap()["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a1", "b1", "n1"]);
    let acked = node
        .cmd(json!({"cmd": "emitWithAck", "rooms": ["r2"], "event": "ask", "timeout": 3000}))
        .await;
    assert_eq!(acked["err"], Value::Null, "{acked}");
    let mut names: Vec<String> = acked["acks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a2", "n2"]);

    // Disconnections too.
    node.cmd(json!({"cmd": "disconnectSockets", "rooms": ["r2"]}))
        .await;
    assert_eq!(clients.disconnected("a2").await, "io server disconnect");
    assert_eq!(clients.disconnected("n2").await, "io server disconnect");

    // Node's sharded protocol has no request for the rooms of other servers.
    let err = a.io.all_rooms().await.unwrap_err();
    assert!(err.to_string().contains("sharded"), "{err}");

    // In dynamic mode, a broadcast to one room goes to the room's channel
    // only; the namespace's channel carries the others. (Last: this
    // listener counts as a server.)
    let (main, room) = (format!("{prefix}#/#"), format!("{prefix}#/#r1#"));
    let mut heard = ShardedListener::start(&url, &[&main, &room]).await;
    a.io.to("r1").emit("to-r1", &1).unwrap();
    a.io.emit("to-all", &2).unwrap();
    let on_room = heard.next(&room).await;
    assert!(on_room.contains("to-r1"), "{on_room}");
    // Published after the other by the same server: had that one gone to
    // the namespace's channel, it would come first there.
    let on_main = heard.next(&main).await;
    assert!(on_main.contains("to-all"), "{on_main}");
    within("the node server to stop", node.proc.kill()).await;
}

/// A sharded subscriber of its own on the cluster, that tells which channel
/// carried each message.
struct ShardedListener {
    _conn: redis::cluster_async::ClusterConnection,
    pushes: tokio::sync::mpsc::UnboundedReceiver<redis::PushInfo>,
    /// Messages received, with their channel, not yet taken.
    received: Vec<(String, String)>,
}

impl ShardedListener {
    async fn start(url: &str, channels: &[&str]) -> ShardedListener {
        let (tx, pushes) = tokio::sync::mpsc::unbounded_channel();
        let client = redis::cluster::ClusterClientBuilder::new([url])
            .use_protocol(redis::ProtocolVersion::RESP3)
            .push_sender(tx)
            .build()
            .unwrap();
        let mut conn = client.get_async_connection().await.unwrap();
        for channel in channels {
            conn.ssubscribe(*channel).await.unwrap();
        }
        ShardedListener {
            _conn: conn,
            pushes,
            received: Vec::new(),
        }
    }

    /// The next message on `channel` (channels apart, messages on one
    /// channel come in the order they were published).
    async fn next(&mut self, channel: &str) -> String {
        within(&format!("a message on {channel}"), async {
            loop {
                if let Some(i) = self.received.iter().position(|(on, _)| on == channel) {
                    return self.received.remove(i).1;
                }
                let push = self.pushes.recv().await.expect("the cluster connection");
                if push.kind != redis::PushKind::SMessage {
                    continue;
                }
                let text = |v: &redis::Value| match v {
                    redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                    other => format!("{other:?}"),
                };
                self.received
                    .push((text(&push.data[0]), text(&push.data[1])));
            }
        })
        .await
    }
}
