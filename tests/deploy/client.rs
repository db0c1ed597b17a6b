//! The official client in `tests/node/deploy.mjs`, run once to its end
//! ([`session`]) or read line by line while it runs ([`LiveNode`]).

use std::{path::Path, process::Stdio};

use serde_json::{json, Value};
use socketio_axum_tests::{node_script, within, NodeOutput};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Runs `node deploy.mjs session <spec>` to its end; fails the test if it fails.
pub(crate) async fn session(spec: Value) -> NodeOutput {
    let out = node_script("deploy.mjs", &["session", &spec.to_string()]).await;
    out.assert_success();
    out
}

/// The line of `out` whose `event` is `event`.
pub(crate) fn line(out: &NodeOutput, event: &str) -> Value {
    out.json_lines()
        .into_iter()
        .find(|l| l["event"] == event)
        .unwrap_or_else(|| panic!("no {event:?} line in:\n{}\n{}", out.stdout, out.stderr))
}

/// Runs `node deploy.mjs session <spec>`, handing its JSON lines over as
/// they come.
pub(crate) struct LiveNode {
    pub(crate) child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl LiveNode {
    pub(crate) fn spawn(spec: &Value) -> LiveNode {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut child = tokio::process::Command::new("node")
            .arg(dir.join("node/deploy.mjs"))
            .arg("session")
            .arg(spec.to_string())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("run node");
        let stdout = child.stdout.take().expect("stdout");
        LiveNode {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// The next line whose `event` is `event`.
    pub(crate) async fn next(&mut self, event: &str) -> Value {
        within(&format!("node's {event:?} line"), async {
            loop {
                let line = self
                    .lines
                    .next_line()
                    .await
                    .expect("read node")
                    .unwrap_or_else(|| panic!("node ended before a {event:?} line"));
                let v: Value = serde_json::from_str(&line).unwrap_or(json!({ "raw": line }));
                assert_ne!(v["event"], "error", "{v}");
                if v["event"] == event {
                    return v;
                }
            }
        })
        .await
    }
}
