//! WebTransport in headless Chromium with the official client 4.8.4:
//! `tests/browser/webtransport.test.mjs` against
//! `examples/webtransport_conformance`'s application, served in-process
//! with its WebTransport listener on the UDP port of the HTTP port's
//! number, and the same certificate across the restart the script asks
//! for.

use std::time::Duration;

use socketio_axum::{
    webtransport::{Identity, WebTransportConfig},
    SocketIoConfig,
};
use socketio_axum_examples::webtransport_conformance::app;

use crate::{node::run_node, node::tests_dir, server::Server};

/// Far above the ~15 s a run takes (the script gives up after 60 s).
const LIMIT: Duration = Duration::from_secs(90);

const CHROMIUM: &str = "/usr/bin/chromium";

/// Direct sessions, the upgrade from polling, events, acks and binary both
/// ways, broadcasts from WebSocket and polling clients, a wrong certificate
/// hash and an unreachable UDP port each ending on WebSocket, and
/// reconnection after a server restart.
#[test]
fn the_official_client_in_chromium_uses_webtransport() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does it)"
    );
    let identity = Identity::self_signed(["localhost", "127.0.0.1"]).expect("a certificate");
    let hash = identity.certificate_hash_base64();
    let identity_for_blocked = identity.clone();
    let mut server = Server::start_at(move |addr| {
        // Short heartbeats: a page notices the restart within 2 s.
        let config = SocketIoConfig::builder()
            .ping_interval(Duration::from_millis(1000))
            .ping_timeout(Duration::from_millis(1000));
        let (router, io) = app(config);
        let wt = io
            .serve_webtransport(WebTransportConfig::new(addr, identity.clone()))
            .unwrap_or_else(|e| panic!("cannot listen on udp {addr}: {e}"));
        tokio::spawn(wt.run());
        router
    });
    // A server whose WebTransport listener is not where clients look (as
    // if its UDP port were blocked): the same page must end on WebSocket.
    let blocked_identity = identity_for_blocked;
    let blocked = Server::start_at(move |_| {
        let (router, io) = app(SocketIoConfig::builder());
        let elsewhere = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let wt = io
            .serve_webtransport(WebTransportConfig::new(elsewhere, blocked_identity.clone()))
            .expect("udp 127.0.0.1:0");
        tokio::spawn(wt.run());
        router
    });
    let (url, blocked_url) = (server.url(), blocked.url());
    let script = tests_dir().join("browser/webtransport.test.mjs");
    let args = [url.as_str(), hash.as_str(), blocked_url.as_str()];
    let out = run_node(&script, &args, LIMIT, |request| match request {
        "stop-server" => server.stop(),
        "start-server" => server.restart(),
        other => panic!("unknown request {other:?}"),
    });
    out.assert_success();
    let done = out.json_lines().into_iter().any(|l| l["step"] == "done");
    assert!(done, "the script did not finish: {:#?}", out.stdout);
}
