//! `examples/chat` in headless Chromium: `tests/browser/chat.test.mjs`
//! drives two pages (see the script for the steps).
//!
//! The screenshot the first test takes goes to `target/tmp/`; with
//! `UPDATE_SCREENSHOT=1` it replaces `docs/screenshot-chat.png` instead, so
//! that an ordinary test run leaves the work tree as it was.

use std::{path::PathBuf, time::Duration};

use bytes::Bytes;
use socketio_axum_examples::chat;

use crate::{node::run_node, node::tests_dir, server::Server};

/// Far above the ~10 s a run takes, for a machine busy compiling.
const LIMIT: Duration = Duration::from_secs(90);

const CHROMIUM: &str = "/usr/bin/chromium";

fn chat_server() -> Server {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does it)"
    );
    let path = chat::client_bundle_path();
    let bundle =
        Bytes::from(std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; run `npm ci --prefix tests` first", path.display())
        }));
    Server::start(move || chat::app(bundle.clone()).0)
}

fn script() -> PathBuf {
    tests_dir().join("browser/chat.test.mjs")
}

fn screenshot_path() -> PathBuf {
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        tests_dir().join("../docs/screenshot-chat.png")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshot-chat.png")
    }
}

/// A refused nickname, two pages chatting in a room (message, tick,
/// "typing…"), then the server restarted: both pages show it, reconnect,
/// rejoin their room and chat again.
#[test]
fn two_pages_chat_and_survive_a_server_restart() {
    let mut server = chat_server();
    let url = server.url();
    let shot = screenshot_path();
    let shot = shot.to_str().expect("a UTF-8 path");
    let out = run_node(
        &script(),
        &[&url, "--screenshot", shot],
        LIMIT,
        |request| match request {
            "stop-server" => server.stop(),
            "start-server" => server.restart(),
            other => panic!("unknown request {other:?}"),
        },
    );
    out.assert_success();
    let done = out.json_lines().into_iter().any(|l| l["step"] == "done");
    assert!(done, "the script did not finish: {:#?}", out.stdout);
}

/// The same chat with the pages kept on HTTP long-polling.
#[test]
fn two_pages_chat_over_long_polling() {
    let server = chat_server();
    let url = server.url();
    let out = run_node(&script(), &[&url, "--polling"], LIMIT, |request| {
        panic!("unexpected request {request:?}")
    });
    out.assert_success();
    let done = out.json_lines().into_iter().any(|l| l["step"] == "done");
    assert!(done, "the script did not finish: {:#?}", out.stdout);
}
