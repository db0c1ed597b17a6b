//! What the tests' servers report back: handlers send what they saw into a
//! channel (given to them as `State`), and the test awaits it, bounded.

use socketio_axum_tests::within;
use tokio::sync::mpsc;

/// The sending end, as server state: `State(seen): State<Seen<T>>`.
#[derive(Debug)]
pub(crate) struct Seen<T>(mpsc::UnboundedSender<T>);

impl<T> Clone for Seen<T> {
    fn clone(&self) -> Self {
        Seen(self.0.clone())
    }
}

impl<T> Seen<T> {
    /// Reports `value`; after the test is over nobody listens, which is fine.
    pub(crate) fn send(&self, value: T) {
        let _ = self.0.send(value);
    }
}

/// The receiving end, kept by the test.
#[derive(Debug)]
pub(crate) struct Observed<T>(mpsc::UnboundedReceiver<T>);

impl<T> Observed<T> {
    /// The next report; fails the test if none comes within the harness's timeout.
    pub(crate) async fn next(&mut self, what: &str) -> T {
        within(what, self.0.recv())
            .await
            .unwrap_or_else(|| panic!("the server is gone while waiting for {what}"))
    }

    /// Every report received so far, without waiting.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        while let Ok(v) = self.0.try_recv() {
            out.push(v);
        }
        out
    }
}

/// A channel from the server's handlers to the test.
pub(crate) fn observe<T>() -> (Seen<T>, Observed<T>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Seen(tx), Observed(rx))
}

/// A Node.js server of `tests/node/` that prints `{"port":N}` once it
/// listens; killed when dropped.
pub(crate) struct NodeServer {
    _child: tokio::process::Child,
    /// `http://127.0.0.1:N`.
    pub(crate) url: String,
}

/// Starts `node tests/node/{script} {args...}` and waits until it listens.
pub(crate) async fn node_server(script: &str, args: &[&str]) -> NodeServer {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut child = tokio::process::Command::new("node")
        .arg(dir.join("node").join(script))
        .args(args)
        .current_dir(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run node");
    let stdout = child.stdout.take().expect("stdout");
    let line = within("Node's server to listen", async {
        BufReader::new(stdout).lines().next_line().await
    })
    .await
    .expect("read")
    .expect("a line");
    let port: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    NodeServer {
        _child: child,
        url: format!("http://127.0.0.1:{}", port["port"]),
    }
}
