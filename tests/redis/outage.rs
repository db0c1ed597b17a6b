//! Servers and Redis going away or falling behind, and what callers hear of it.

use std::time::Duration;

use socketio_axum::{adapter::AdapterError, AckError, EmitError};

use crate::{
    harness::{config, redis_url, unique_prefix, within, Clients, Cluster, RustServer},
    private::{free_port, PrivateRedis},
};

#[tokio::test]
async fn a_server_that_leaves_is_no_longer_counted_nor_waited_for() {
    let mut c = Cluster::start("leave").await;
    c.node.proc.kill().await;

    // Redis drops the dead server's subscriptions as soon as it sees its
    // connection close; there is no event for that, so watch the count.
    within("the server count to drop", async {
        while c.a.io.server_count().await.unwrap() != 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;

    // Requests wait for the two servers left only (the timeout is 3 s).
    let started = tokio::time::Instant::now();
    let sockets = c.a.io.fetch_sockets().await.unwrap();
    assert_eq!(sockets.len(), 3);
    let answers =
        c.b.io
            .server_side_emit("question", &1, Some(Duration::from_secs(3)))
            .await
            .unwrap();
    assert_eq!(answers.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

fn adapter_error(err: EmitError) -> AdapterError {
    match err {
        EmitError::Adapter(e) => e,
        other => panic!("expected an adapter error, got {other:?}"),
    }
}

// The test runs on one thread: between two calls without an `.await`, the
// adapter's tasks do not run, so a publish queued there is still queued.
#[tokio::test(flavor = "current_thread")]
async fn while_redis_is_down_emits_report_it_and_after_it_restarts_they_cross_servers_again() {
    let port = free_port();
    let mut redis = PrivateRedis::start(port).await;
    let prefix = unique_prefix("restart");
    let url = redis.url();
    let (a, b, mut clients) = tokio::join!(
        RustServer::start("a", &prefix, &url),
        RustServer::start("b", &prefix, &url),
        Clients::start(),
    );
    clients.connect("a1", &a.url, &["r1"]).await;
    clients.connect("b1", &b.url, &["r1"]).await;
    a.io.to("r1")
        .emit_published("before", &1)
        .unwrap()
        .await
        .unwrap();
    clients.received("b1", "before").await;

    // Queued while Redis was up, then Redis dies before it is published:
    // `redis.stop()` sends the kill before the publisher task gets to run.
    let lost = a.io.to("r1").emit_published("lost", &2).unwrap();
    redis.stop().await;
    let err = within("the lost publish to be reported", lost)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Redis"), "{err}");
    within("a to notice", a.adapter.disconnected()).await;
    within("b to notice", b.adapter.disconnected()).await;

    // Local delivery goes on; the emit says the other servers were not reached.
    let err = a.io.to("r1").emit("down", &3).unwrap_err();
    assert!(
        err.to_string().contains("this server only"),
        "the message says where the packet went: {err}"
    );
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    let err = adapter_error(err);
    assert_eq!(cause, Some(err.to_string()));
    assert!(err.is_unavailable(), "{err:?}");
    assert!(err.to_string().contains("not connected to Redis"), "{err}");
    let err =
        a.io.to("r1")
            .emit_published("down-published", &4)
            .unwrap_err();
    assert!(adapter_error(err).is_unavailable());
    for ev in ["lost", "down", "down-published"] {
        clients.received("a1", ev).await;
    }
    // So do joins, leaves and disconnections: done here, refused for the others.
    assert!(a.io.sockets_join("x").unwrap_err().is_unavailable());
    assert_eq!(a.io.to("x").sockets().len(), 1);
    assert!(a.io.to("x").leave("x").unwrap_err().is_unavailable());
    assert!(a.io.to("x").sockets().is_empty());
    assert!(a.io.to("nobody").disconnect().unwrap_err().is_unavailable());
    // A broadcast with acks says the other servers' answers are lost.
    let acks =
        a.io.to("nobody")
            .timeout(Duration::from_millis(300))
            .emit_with_ack::<_, serde_json::Value>("ask", &1)
            .unwrap()
            .await;
    match acks.as_slice() {
        [Err(AckError::Emit(EmitError::Adapter(e)))] => assert!(e.is_unavailable(), "{e:?}"),
        other => panic!("expected the lost answers as one error, got {other:?}"),
    }
    // What never goes to other servers does not fail.
    a.io.to("r1").local().emit("local", &5).unwrap();
    clients.received("a1", "local").await;
    // Nor do requests wait for servers they cannot reach.
    let err = a.io.fetch_sockets().await.unwrap_err();
    assert!(err.to_string().contains("Redis"), "{err}");
    assert!(a.io.server_count().await.unwrap_err().is_unavailable());

    let _redis = PrivateRedis::start(port).await;
    within("a to resubscribe", a.adapter.ready()).await;
    within("b to resubscribe", b.adapter.ready()).await;
    assert_eq!(a.io.server_count().await.unwrap(), 2);
    a.io.to("r1").emit("from-a", &6).unwrap();
    within(
        "a publish once Redis is back",
        a.io.to("r1").emit_published("published", &7).unwrap(),
    )
    .await
    .unwrap();
    b.io.to(clients.sids["a1"].clone())
        .emit("from-b", &8)
        .unwrap();
    assert_eq!(
        clients.received("a1", "from-b").await,
        serde_json::json!([8])
    );
    // b got what was sent once Redis was back, in order, and nothing sent
    // while it was away, not even late.
    a.io.emit("sync", &()).unwrap();
    let got = clients.until(&["b1"], "sync").await;
    assert_eq!(got["b1"], ["from-a", "published"]);
}

// On one thread, so that the publisher task cannot drain the queue while
// the test fills it.
#[tokio::test(flavor = "current_thread")]
async fn a_broadcast_that_finds_the_publish_queue_full_is_refused() {
    let prefix = unique_prefix("queue-full");
    let redis = redis_url();
    let (a, b, mut clients) = tokio::join!(
        RustServer::start_with("a", config(&prefix, &redis).publish_queue(4).build()),
        RustServer::start("b", &prefix, &redis),
        Clients::start(),
    );
    clients.connect("a1", &a.url, &["r1"]).await;
    clients.connect("b1", &b.url, &["r1"]).await;

    // Four fit in the queue (the last one tells when it is published), the
    // fifth does not; none is published before the test awaits.
    for i in 0..3 {
        a.io.to("r1").emit(&format!("e{i}"), &i).unwrap();
    }
    let fourth = a.io.to("r1").emit_published("e3", &3).unwrap();
    let err = adapter_error(a.io.to("r1").emit("e4", &4).unwrap_err());
    assert!(err.is_queue_full(), "{err:?}");
    assert!(err.to_string().contains("publish queue is full"), "{err}");
    within("the queued broadcasts to be published", fourth)
        .await
        .unwrap();

    // The queue drained: broadcasts go out again.
    a.io.emit("sync", &()).unwrap();
    let got = clients.until(&["a1", "b1"], "sync").await;
    assert_eq!(got["a1"], ["e0", "e1", "e2", "e3", "e4"]);
    assert_eq!(got["b1"], ["e0", "e1", "e2", "e3"]);
}

// Redis frozen (SIGSTOP): its connections stay open, so the adapter still
// accepts broadcasts, and only the one that waits for Redis hears that it
// did not answer.
#[tokio::test]
async fn a_publish_that_redis_does_not_answer_reports_a_timeout() {
    let redis = PrivateRedis::start(free_port()).await;
    let config = config(&unique_prefix("frozen"), &redis.url())
        .request_timeout(Duration::from_millis(500))
        .build();
    let a = RustServer::start_with("a", config).await;

    redis.signal("STOP").await;
    a.io.emit("accepted", &1).unwrap();
    let started = tokio::time::Instant::now();
    let published = a.io.emit_published("unconfirmed", &2).unwrap();
    let err = within("the publish to time out", published)
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(500));
    let source = std::error::Error::source(&err).expect("the Redis client's error");
    let redis_err = source
        .downcast_ref::<redis::RedisError>()
        .expect("a RedisError");
    assert!(redis_err.is_timeout(), "{redis_err:?}");
}
