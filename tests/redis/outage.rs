//! Servers and Redis going away.

use std::{net::TcpListener, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use crate::harness::{unique_prefix, within, Clients, Cluster, RustServer};

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

/// A private redis-server on its own port, so that the tests can stop it.
struct PrivateRedis {
    port: u16,
    child: Child,
}

impl PrivateRedis {
    async fn start(port: u16) -> PrivateRedis {
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server installed");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        within("redis-server to accept connections", async {
            while let Some(line) = lines.next_line().await.expect("redis-server output") {
                if line.contains("Ready to accept connections") {
                    return;
                }
            }
            panic!("redis-server exited");
        })
        .await;
        // Keep reading, so that its output never fills the pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        PrivateRedis { port, child }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}

#[tokio::test]
async fn after_redis_restarts_broadcasts_cross_servers_again() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut redis = PrivateRedis::start(port).await;
    let prefix = unique_prefix("restart");
    let url = redis.url();
    let (a, b, mut clients) = tokio::join!(
        RustServer::start("a", &prefix, &url),
        RustServer::start("b", &prefix, &url),
        Clients::start(),
    );
    clients.connect("a1", &a.url, &[]).await;
    clients.connect("b1", &b.url, &[]).await;
    a.io.emit("before", &1).unwrap();
    clients.received("b1", "before").await;

    redis.stop().await;
    within("a to notice", a.adapter.disconnected()).await;
    within("b to notice", b.adapter.disconnected()).await;

    // Local delivery goes on; what needs the other servers fails clearly.
    a.io.emit("local", &2).unwrap();
    clients.received("a1", "local").await;
    let err = a.io.fetch_sockets().await.unwrap_err();
    assert!(err.to_string().contains("Redis"), "{err}");
    assert!(a.io.server_count().await.is_err());

    let _redis = PrivateRedis::start(port).await;
    within("a to resubscribe", a.adapter.ready()).await;
    within("b to resubscribe", b.adapter.ready()).await;
    assert_eq!(a.io.server_count().await.unwrap(), 2);
    a.io.emit("from-a", &3).unwrap();
    assert_eq!(
        clients.received("b1", "from-a").await,
        serde_json::json!([3])
    );
    b.io.emit("from-b", &4).unwrap();
    assert_eq!(
        clients.received("a1", "from-b").await,
        serde_json::json!([4])
    );
    // Nothing sent while Redis was away arrives late on b.
    let late = clients
        .proc
        .take(|l| l["name"] == "b1" && l["ev"] == "local");
    assert!(late.is_empty());
}
