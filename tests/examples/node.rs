//! Runs a Node script and answers its requests: a line such as
//! `{"request":"stop-server"}` on its standard output is handed to the
//! test, which acts and writes `ok` on the script's standard input.

use std::{
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// The `tests/` folder.
pub(crate) fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What a script printed, and how it ended.
#[derive(Debug)]
pub(crate) struct Transcript {
    /// Its exit status.
    pub(crate) status: std::process::ExitStatus,
    /// Its standard output, line by line.
    pub(crate) stdout: Vec<String>,
    /// Its standard error.
    pub(crate) stderr: String,
    /// How long it ran.
    pub(crate) elapsed: Duration,
}

impl Transcript {
    /// Fails the test, showing everything the script printed, unless it
    /// exited with 0.
    pub(crate) fn assert_success(&self) {
        assert!(
            self.status.success(),
            "node script failed ({}) after {:?}.\n--- stdout\n{}\n--- stderr\n{}",
            self.status,
            self.elapsed,
            self.stdout.join("\n"),
            self.stderr
        );
    }

    /// The lines of standard output that parse as JSON objects.
    pub(crate) fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// Runs `node script args...` from `tests/`, calling `on_request` for each
/// request line, and kills it if it runs past `limit`.
pub(crate) fn run_node(
    script: &Path,
    args: &[&str],
    limit: Duration,
    mut on_request: impl FnMut(&str),
) -> Transcript {
    let dir = tests_dir();
    assert!(
        dir.join("node_modules").is_dir(),
        "{}/node_modules is missing: run `npm ci --prefix tests` first",
        dir.display()
    );
    let started = Instant::now();
    let mut child = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node` (is Node.js installed?): {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");

    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let mut stdout_lines = Vec::new();
    let deadline = started + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                // Shown by `cargo test -- --nocapture`, with the steps' times.
                println!("{line}");
                let request = serde_json::from_str::<serde_json::Value>(&line)
                    .ok()
                    .and_then(|v| v["request"].as_str().map(str::to_owned));
                stdout_lines.push(line);
                if let Some(request) = request {
                    on_request(&request);
                    // The script may have died meanwhile; its status says why.
                    let _ = writeln!(stdin, "ok");
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "node {} ran past {limit:?}; it printed:\n{}",
                    script.display(),
                    stdout_lines.join("\n")
                );
            }
        }
    }
    drop(stdin);
    let status = child.wait().expect("node's exit status");
    Transcript {
        status,
        stdout: stdout_lines,
        stderr: stderr_reader.join().unwrap_or_default(),
        elapsed: started.elapsed(),
    }
}
