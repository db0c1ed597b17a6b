//! Private `redis-server` processes on free ports, for the tests that stop
//! Redis, or need it configured (passwords, TLS, cluster mode). Each is
//! killed when dropped.

use std::{net::TcpListener, process::Stdio};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use crate::harness::within;

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
