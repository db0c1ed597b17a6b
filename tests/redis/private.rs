//! Private `redis-server` processes on free ports, for the tests that stop
//! Redis, or need it configured (passwords, TLS, cluster mode). Each is
//! killed when dropped.

use std::{net::TcpListener, path::PathBuf, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use crate::harness::{unique_prefix, within};

/// A `redis-server` on its own port.
pub(crate) struct PrivateRedis {
    pub(crate) port: u16,
    child: Child,
}

impl PrivateRedis {
    /// A plain one on `port`.
    pub(crate) async fn start(port: u16) -> PrivateRedis {
        PrivateRedis::start_with(port, &[]).await
    }

    /// One on `port` with more command-line options (`--requirepass`...);
    /// for TLS, `args` holds `--port 0 --tls-port <port>`.
    pub(crate) async fn start_with(port: u16, args: &[&str]) -> PrivateRedis {
        let mut cmd = Command::new("redis-server");
        if !args.contains(&"--port") {
            cmd.args(["--port", &port.to_string()]);
        }
        let mut child = cmd
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(args)
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
            panic!("redis-server {args:?} exited");
        })
        .await;
        // Keep reading, so that its output never fills the pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        PrivateRedis { port, child }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it; the signal is sent before this first yields.
    pub(crate) async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Sends it `SIGSTOP` (freezes it) or `SIGCONT` (lets it go on).
    pub(crate) async fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("redis-server running");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .await
            .expect("kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }
}

/// A free port for a private redis-server.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A directory of its own under the system's temporary one, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(unique_prefix(name));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// A path in it, as a string.
    pub(crate) fn path(&self, file: &str) -> String {
        self.0.join(file).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A Redis Cluster of three masters (no replicas) on free ports, its
/// slots spread by `redis-cli --cluster create`.
pub(crate) struct RedisCluster {
    pub(crate) nodes: Vec<PrivateRedis>,
    _dir: TempDir,
}

impl RedisCluster {
    pub(crate) async fn start() -> RedisCluster {
        let dir = TempDir::new("cluster");
        // Client and cluster-bus ports, all distinct.
        let mut ports: Vec<u16> = Vec::new();
        while ports.len() < 6 {
            let port = free_port();
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        let starts = (0..3).map(|i| {
            let (port, bus) = (ports[i], ports[i + 3]);
            let conf = dir.path(&format!("nodes-{port}.conf"));
            async move {
                let bus = bus.to_string();
                let args = [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    &conf,
                    "--cluster-port",
                    &bus,
                ];
                PrivateRedis::start_with(port, &args).await
            }
        });
        let nodes = futures_util::future::join_all(starts).await;
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for node in &nodes {
            create.arg(format!("127.0.0.1:{}", node.port));
        }
        let out = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .await
            .expect("redis-cli installed");
        assert!(
            out.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = RedisCluster { nodes, _dir: dir };
        // Each node says so once it knows every slot's owner.
        within("the cluster to be ok", async {
            for node in &cluster.nodes {
                let mut conn = node_connection(&node.url()).await;
                loop {
                    let info: String = redis::cmd("CLUSTER")
                        .arg("INFO")
                        .query_async(&mut conn)
                        .await
                        .unwrap();
                    if info.contains("cluster_state:ok") {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        })
        .await;
        cluster
    }

    /// The URL of one node, from which a client finds the others.
    pub(crate) fn url(&self) -> String {
        self.nodes[0].url()
    }

    /// `PUBSUB SHARDNUMSUB channel`, summed over the nodes.
    pub(crate) async fn shard_numsub(&self, channel: &str) -> i64 {
        let mut sum = 0;
        for node in &self.nodes {
            let mut conn = node_connection(&node.url()).await;
            let (_, n): (String, i64) = redis::cmd("PUBSUB")
                .arg("SHARDNUMSUB")
                .arg(channel)
                .query_async(&mut conn)
                .await
                .unwrap();
            sum += n;
        }
        sum
    }

    /// Waits until `n` connections are subscribed to the sharded `channel`.
    pub(crate) async fn wait_for_subscribers(&self, channel: &str, n: i64) {
        within(&format!("{n} subscribers of {channel}"), async {
            // No event tells when another process's SSUBSCRIBE is applied:
            // watch the count.
            while self.shard_numsub(channel).await != n {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }
}

async fn node_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}
