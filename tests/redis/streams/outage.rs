//! Redis going away or falling behind, under servers in streams mode.

use std::time::Duration;

use serde_json::{json, Value};

use super::{ours_with, Names};
use crate::{
    harness::{redis_url, within, Clients},
    private::{free_port, PrivateRedis},
};

/// Redis restarts under two of ours, `a` with connection state recovery
/// (its broadcasts go through the session store, and carry offsets), `b`
/// without: while Redis is away, a broadcast reaches the sockets of its
/// server and the emit says the others were not reached; once each adapter
/// is back, a broadcast from either reaches the other's client through the
/// stream.
#[tokio::test]
async fn broadcasts_cross_servers_again_after_a_redis_restart() {
    let port = free_port();
    let mut redis = PrivateRedis::start(port).await;
    let url = redis.url();
    let names = Names::new("streams-restart");
    let (a, b, mut clients) = tokio::join!(
        names.ours("a", &url, Some(Duration::from_secs(10))),
        names.ours("b", &url, None),
        Clients::start(),
    );
    clients.connect("a1", &a.url, &["r1"]).await;
    clients.connect("b1", &b.url, &["r1"]).await;
    a.io.to("r1")
        .emit_published("before", &1)
        .unwrap()
        .await
        .unwrap();
    assert_eq!(clients.received("b1", "before").await, json!([1]));
    assert_offset(&clients.received("a1", "before").await, 1);

    redis.stop().await;
    within("a to notice", a.adapter.disconnected()).await;
    within("b to notice", b.adapter.disconnected()).await;
    let err = a.io.to("r1").emit("down", &2).unwrap_err();
    assert!(err.to_string().contains("this server only"), "{err}");
    // Delivered here, without an offset: nothing keeps it for recovery.
    assert_eq!(clients.received("a1", "down").await, json!([2]));
    let _redis = PrivateRedis::start(port).await;
    within("a to be back", a.adapter.ready()).await;
    within("b to be back", b.adapter.ready()).await;

    a.io.to("r1")
        .emit_published("from-a", &3)
        .unwrap()
        .await
        .unwrap();
    assert_eq!(clients.received("b1", "from-a").await, json!([3]));
    assert_offset(&clients.received("a1", "from-a").await, 3);
    b.io.to("r1")
        .emit_published("from-b", &4)
        .unwrap()
        .await
        .unwrap();
    assert_eq!(clients.received("b1", "from-b").await, json!([4]));
    assert_offset(&clients.received("a1", "from-b").await, 4);

    // Nothing else came: not "down" to b1, nothing twice.
    a.io.emit("sync", &()).unwrap();
    let got = clients.until(&["a1", "b1"], "sync").await;
    assert!(got.values().all(Vec::is_empty), "{got:?}");
}

/// `args` is `[n, offset]`.
fn assert_offset(args: &Value, n: u32) {
    assert_eq!(args[0], n, "{args}");
    assert!(
        args[1].is_string() && args.as_array().unwrap().len() == 2,
        "{args}"
    );
}

/// With recovery on, a broadcast goes through the session store: one that
/// finds the publish queue full reaches this server's sockets (without an
/// offset) and the emit says the others were not reached.
// On one thread, so that the publisher task cannot drain the queue while
// the test fills it.
#[tokio::test(flavor = "current_thread")]
async fn a_kept_broadcast_that_finds_the_publish_queue_full_is_refused() {
    let names = Names::new("streams-queue-full");
    let redis = redis_url();
    let window = Some(Duration::from_secs(10));
    let (a, b, mut clients) = tokio::join!(
        ours_with("a", names.adapter(&redis).publish_queue(2).build(), window),
        names.ours("b", &redis, window),
        Clients::start(),
    );
    clients.connect("a1", &a.url, &["r1"]).await;
    clients.connect("b1", &b.url, &["r1"]).await;

    a.io.to("r1").emit("e0", &0).unwrap();
    let second = a.io.to("r1").emit_published("e1", &1).unwrap();
    let err = a.io.to("r1").emit("e2", &2).unwrap_err();
    assert!(err.to_string().contains("this server only"), "{err}");
    within("the queued broadcasts", second).await.unwrap();
    assert_offset(&clients.received("a1", "e0").await, 0);
    assert_offset(&clients.received("a1", "e1").await, 1);
    assert_eq!(clients.received("a1", "e2").await, json!([2]));

    a.io.emit("sync", &()).unwrap();
    let got = clients.until(&["a1", "b1"], "sync").await;
    assert!(got["a1"].is_empty(), "{got:?}");
    assert_eq!(got["b1"], ["e0", "e1"]);
}
