//! `examples/chat` in headless Chromium: `tests/browser/chat.test.mjs`
//! drives two pages, one of phone width (see the script for the steps),
//! and asks this test to stop the server and start it again on the same
//! port, once over WebSocket and once over long-polling.
//!
//! The screenshots the WebSocket run takes go to `target/tmp/`; with
//! `UPDATE_SCREENSHOT=1` they replace `docs/screenshot-chat.png` and
//! `docs/screenshot-chat-phone.png` instead, so that an ordinary test run
//! leaves the work tree as it was.

use std::{path::PathBuf, time::Duration};

use socketio_axum_examples::chat;

use crate::{node::run_node, node::tests_dir, server::Server};

/// Far above the ~20 s a run takes, for a machine busy compiling (the
/// script gives up after 80 s by itself).
const LIMIT: Duration = Duration::from_secs(120);

const CHROMIUM: &str = "/usr/bin/chromium";

fn chat_server() -> Server {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does it)"
    );
    let dir = chat::client_bundle_dir();
    let bundle = socketio_axum::ClientBundle::from_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; run `npm ci --prefix tests` first", dir.display()));
    Server::start(move || chat::app(bundle.clone()).0)
}

fn script() -> PathBuf {
    tests_dir().join("browser/chat.test.mjs")
}

/// Where the screenshot `name` goes: `docs/` with `UPDATE_SCREENSHOT`, else
/// the test's temporary folder.
pub(crate) fn screenshot_path(name: &str) -> String {
    let path = if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        tests_dir().join("../docs").join(name)
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
    };
    path.to_str().expect("a UTF-8 path").to_owned()
}

/// Runs the script against a fresh chat server, stopping and starting the
/// server when it asks.
fn run_chat(args: &[&str]) {
    let mut server = chat_server();
    let url = server.url();
    let args: Vec<&str> = std::iter::once(url.as_str())
        .chain(args.iter().copied())
        .collect();
    let out = run_node(&script(), &args, LIMIT, |request| match request {
        "stop-server" => server.stop(),
        "start-server" => server.restart(),
        other => panic!("unknown request {other:?}"),
    });
    out.assert_success();
    let done = out.json_lines().into_iter().any(|l| l["step"] == "done");
    assert!(done, "the script did not finish: {:#?}", out.stdout);
}

/// A refused nickname, two pages chatting in a room (message, tick,
/// "typing…", a message sent twice shown once), then the server stopped:
/// two messages written meanwhile reach the other page once each, in order,
/// after the server is back, and are ticked; the counts are refreshed and
/// the rejoin announced as a reconnection. Takes the screenshots.
#[test]
fn two_pages_chat_and_survive_a_server_restart() {
    let shot = screenshot_path("screenshot-chat.png");
    let phone = screenshot_path("screenshot-chat-phone.png");
    run_chat(&["--screenshot", &shot, "--phone-screenshot", &phone]);
}

/// The same with the pages kept on HTTP long-polling.
#[test]
fn two_pages_chat_and_survive_a_server_restart_over_long_polling() {
    run_chat(&["--polling"]);
}

/// `--webtransport`: two pages upgrade from polling to WebTransport, their
/// statuses say so, and a message each way shows its sender's transport
/// and is ticked (`tests/browser/chat_webtransport.test.mjs`).
#[test]
fn two_pages_chat_over_webtransport() {
    let dir = chat::client_bundle_dir();
    let bundle = socketio_axum::ClientBundle::from_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; run `npm ci --prefix tests` first", dir.display()));
    let identity = socketio_axum::webtransport::Identity::self_signed(["localhost", "127.0.0.1"])
        .expect("a certificate");
    let hash = identity.certificate_hash_base64();
    let server = Server::start_at(move |addr| {
        let (router, io) = chat::app_with(bundle.clone(), Some(hash.clone()));
        let config = socketio_axum::webtransport::WebTransportConfig::new(addr, identity.clone());
        let wt = io
            .serve_webtransport(config)
            .unwrap_or_else(|e| panic!("cannot listen on udp {addr}: {e}"));
        tokio::spawn(wt.run());
        router
    });
    let script = tests_dir().join("browser/chat_webtransport.test.mjs");
    let out = run_node(&script, &[&server.url()], LIMIT, |request| {
        panic!("unexpected request {request:?}")
    });
    out.assert_success();
    let done = out.json_lines().into_iter().any(|l| l["step"] == "done");
    assert!(done, "the script did not finish: {:#?}", out.stdout);
}
