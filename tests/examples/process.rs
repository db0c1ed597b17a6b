//! A Node process that runs beside a test (a reference server, a browser
//! script driven step by step): its JSON lines read as they come, commands
//! written to its standard input.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, ChildStdin, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::node::tests_dir;

/// What one wait for a line may take, on a machine busy compiling.
const STEP: Duration = Duration::from_secs(60);

/// A Node process whose standard output is read line by line, driven by
/// JSON lines on its standard input; it ends when that input closes.
pub(crate) struct Node {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Node {
    /// Starts `node script args...` in `tests/`.
    pub(crate) fn spawn(script: &str, args: &[&str]) -> Node {
        let dir = tests_dir();
        assert!(
            dir.join("node_modules").is_dir(),
            "{}/node_modules is missing: run `npm ci --prefix tests` first",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg(script)
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `node`: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("{line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Node {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Writes `command` as a line on the script's standard input.
    pub(crate) fn send(&mut self, command: Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{command}").expect("the script reads its commands");
    }

    /// The next JSON line whose `step` is `step`, or which has a number
    /// under the key `step` (`"port"`); fails on an `error` step, on exit,
    /// or after [`STEP`].
    pub(crate) fn expect(&mut self, step: &str) -> Value {
        let deadline = Instant::now() + STEP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|e| {
                panic!(
                    "no {step:?} step ({e:?}); the script printed:\n{}",
                    self.seen.join("\n")
                )
            });
            self.seen.push(line.clone());
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            assert_ne!(
                v["step"],
                "error",
                "the script failed:\n{}",
                self.seen.join("\n")
            );
            if v["step"] == step || v[step].is_u64() {
                return v;
            }
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Closing stdin ends both scripts; the kill is for one that hangs.
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
