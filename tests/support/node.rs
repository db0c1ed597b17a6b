//! Runs the Node.js peers of `tests/node/` (official npm clients, pinned in
//! `tests/package.json`).

use std::{path::PathBuf, process::Stdio};

/// What a Node script did.
#[derive(Debug)]
pub struct NodeOutput {
    /// Its exit status.
    pub status: std::process::ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl NodeOutput {
    /// Fails the test unless the script exited with 0.
    pub fn assert_success(&self) {
        assert!(
            self.status.success(),
            "node script failed ({}).\n--- stdout\n{}\n--- stderr\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
    }

    /// The lines of standard output, each parsed as JSON.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("script printed a non-JSON line ({e}): {l:?}"))
            })
            .collect()
    }
}

/// Runs `node tests/node/{script} {args...}` and collects its output. Fails
/// the test, saying what to do, if the npm packages are not installed.
pub async fn node_script(script: &str, args: &[&str]) -> NodeOutput {
    node_script_within(script, args, crate::TIMEOUT).await
}

/// [`node_script`] with a time limit of its own, for scripts that start a
/// browser. `script` is relative to `tests/node/` (`../browser/x.mjs` for
/// the browser scripts).
pub async fn node_script_within(
    script: &str,
    args: &[&str],
    limit: std::time::Duration,
) -> NodeOutput {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert!(
        dir.join("node_modules").is_dir(),
        "{}/node_modules is missing: run `npm ci --prefix tests` first",
        dir.display()
    );
    let path = dir.join("node").join(script);
    assert!(path.is_file(), "no script {}", path.display());
    let child = tokio::process::Command::new("node")
        .arg(&path)
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node` (is Node.js installed?): {e}"));
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("timed out after {limit:?} waiting for node {script}"))
        .expect("node output");
    NodeOutput {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
