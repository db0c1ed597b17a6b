//! WebTransport in headless Chromium with the official client 4.8.4:
//! `tests/browser/webtransport.test.mjs` against
//! `examples/webtransport_conformance`'s application, served in-process
//! with its WebTransport listener on the UDP port of the HTTP port's
//! number, and the same certificate across the restart the script asks
//! for; then the same script against Node's engine
//! (`tests/node/wt_node_server.mjs`), behind an HTTP/3 endpoint of this
//! test that forwards each session's stream to it over TCP.

use std::{net::SocketAddr, time::Duration};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use tokio::runtime::Runtime;

use socketio_axum::{
    webtransport::{Identity, WebTransportConfig},
    SocketIoConfig,
};
use socketio_axum_examples::webtransport_conformance::app;

use socketio_axum_tests::{relay_webtransport_to_tcp, WebTransportListener, WtClient};
use socketio_protocol::engine::Frame;

use crate::{node::run_node, node::tests_dir, process::Node, server::Server};

/// Far above the ~15 s a run takes (the script gives up after 60 s).
const LIMIT: Duration = Duration::from_secs(90);

const CHROMIUM: &str = "/usr/bin/chromium";

/// `examples/webtransport_conformance`'s application with its WebTransport
/// listener on the UDP port of its HTTP port's number, presenting
/// `identity` (again after a restart); heartbeats every second, so that a
/// page notices a restart within 2 s.
fn ours(identity: Identity) -> Server {
    Server::start_at(move |addr| {
        let config = SocketIoConfig::builder()
            .ping_interval(Duration::from_millis(1000))
            .ping_timeout(Duration::from_millis(1000));
        let (router, io) = app(config);
        let wt = io
            .serve_webtransport(WebTransportConfig::new(addr, identity.clone()))
            .unwrap_or_else(|e| panic!("cannot listen on udp {addr}: {e}"));
        tokio::spawn(wt.run());
        router
    })
}

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
    let mut server = ours(identity);
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

/// The same browser scenarios against Node's socket.io 4.8 engine: its
/// answers, upgrades, fallbacks and reconnection match ours.
#[test]
fn nodes_engine_passes_the_same_browser_scenarios() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does it)"
    );
    let mut first = Node::spawn("node/wt_node_server.mjs", &["0", "0"]);
    let ports = first.expect("http");
    let port = |key: &str| u16::try_from(ports[key].as_u64().expect("a port")).expect("a port");
    let (http, stream) = (port("http"), port("stream"));
    let relay = Runtime::new().expect("a runtime");
    let hash = STANDARD.encode(relay_to_tcp(
        &relay,
        SocketAddr::from(([127, 0, 0, 1], http)),
        SocketAddr::from(([127, 0, 0, 1], stream)),
    ));
    // Node offering WebTransport with nothing on its UDP port.
    let mut blocked = Node::spawn("node/wt_node_server.mjs", &["0", "0"]);
    let blocked_url = format!("http://127.0.0.1:{}", blocked.expect("http")["http"]);

    let url = format!("http://127.0.0.1:{http}");
    let script = tests_dir().join("browser/webtransport.test.mjs");
    let (http_arg, stream_arg) = (http.to_string(), stream.to_string());
    let mut node = Some(first);
    let out = run_node(
        &script,
        &[&url, &hash, &blocked_url],
        LIMIT,
        |request| match request {
            // Its standard input closed, the server exits, and with it every
            // session's TCP connection: the relay closes their sessions.
            "stop-server" => drop(node.take()),
            "start-server" => {
                let mut again = Node::spawn("node/wt_node_server.mjs", &[&http_arg, &stream_arg]);
                again.expect("http");
                node = Some(again);
            }
            other => panic!("unknown request {other:?}"),
        },
    );
    out.assert_success();
    let done = out.json_lines().into_iter().any(|l| l["step"] == "done");
    assert!(done, "the script did not finish: {:#?}", out.stdout);
}

/// Our server and Node's engine (behind the relay) answer the same
/// conversation on the stream with the same frames, ids masked: the open
/// packet, CONNECT, an event emitted on connection, acks with text, with
/// an attachment, and the transport's name.
#[test]
fn ours_and_nodes_engine_write_the_same_frames() {
    let identity = Identity::self_signed(["localhost", "127.0.0.1"]).expect("a certificate");
    let certificate_hash = identity.certificate_hash();
    let server = ours(identity);
    let our_listener = WebTransportListener {
        addr: server.addr(),
        certificate_hash,
    };
    let mut node = Node::spawn("node/wt_node_server.mjs", &["0", "0"]);
    let ports = node.expect("http");
    let port = |key: &str| u16::try_from(ports[key].as_u64().expect("a port")).expect("a port");
    let runtime = Runtime::new().expect("a runtime");
    let node_addr = SocketAddr::from(([127, 0, 0, 1], port("http")));
    let node_listener = WebTransportListener {
        addr: node_addr,
        certificate_hash: relay_to_tcp(
            &runtime,
            node_addr,
            SocketAddr::from(([127, 0, 0, 1], port("stream"))),
        ),
    };
    let (from_ours, from_node) = runtime.block_on(async {
        (
            conversation(our_listener).await,
            conversation(node_listener).await,
        )
    });
    assert_eq!(from_ours, from_node);
    assert!(from_ours.len() >= 7, "{from_ours:#?}");
}

/// The frames a server writes for one conversation, as text (binary as
/// `<bin …>`), every sid masked; heartbeats are answered and left out.
async fn conversation(listener: WebTransportListener) -> Vec<String> {
    let (mut client, _, open) = WtClient::open_at(listener, "/socket.io/").await;
    let mut frames = vec![format!(
        "open upgrades={} pingInterval={} pingTimeout={} maxPayload={}",
        open["upgrades"], open["pingInterval"], open["pingTimeout"], open["maxPayload"]
    )];
    let steps: [(&[&str], &[u8], usize); 5] = [
        (&["40"], &[], 2),
        (&[r#"421["echo","hi",{"a":[1,"b"]}]"#], &[], 1),
        (
            &[r#"451-2["echo",{"_placeholder":true,"num":0}]"#],
            &[1, 2, 3],
            2,
        ),
        (&[r#"423["whoami"]"#], &[], 1),
        (&[r#"424["echo"]"#], &[], 1),
    ];
    for (texts, binary, expected) in steps {
        for text in texts {
            client.send_text(text).await;
        }
        if !binary.is_empty() {
            client
                .send(&Frame::Binary(bytes::Bytes::copy_from_slice(binary)))
                .await;
        }
        let (mut got, mut pings) = (0, 0);
        while got < expected {
            match client.recv().await {
                Some(Frame::Text(t)) if t.as_str() == "2" => {
                    // Heartbeats come every second: an answer is overdue.
                    pings += 1;
                    assert!(pings < 5, "no answer to {texts:?} after {frames:#?}");
                    client.send_text("3").await;
                }
                Some(Frame::Text(t)) => {
                    frames.push(mask_sid(t.as_str()));
                    got += 1;
                }
                Some(Frame::Binary(b)) => {
                    frames.push(format!("<bin {:?}>", &b[..]));
                    got += 1;
                }
                None => panic!("the session ended after {frames:#?}"),
            }
        }
    }
    frames
}

/// `text` with every `"sid":"…"` value replaced by `SID`.
fn mask_sid(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(r#""sid":""#) {
        let value = at + r#""sid":""#.len();
        out.push_str(&rest[..value]);
        out.push_str("SID");
        let end = rest[value..].find('"').map_or(rest.len(), |e| value + e);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// [`relay_webtransport_to_tcp`] on `runtime`.
fn relay_to_tcp(runtime: &Runtime, udp: SocketAddr, tcp: SocketAddr) -> [u8; 32] {
    let _inside = runtime.enter();
    relay_webtransport_to_tcp(udp, tcp)
}
