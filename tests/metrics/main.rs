//! `examples/metrics` end to end: the official `socket.io-client` plays a
//! scripted scenario (`tests/node/ex_metrics.mjs`: N clients connect, M
//! events each, K disconnect), and after each step `/metrics` must say
//! exactly what happened. The text is checked with `promtool check
//! metrics` (Debian's `prometheus` package).
//!
//! A test binary of its own: the Prometheus recorder is the process's
//! global one, so no other test's server may run in this process; the
//! servers of the other tests here are built with recorders of their own.

// A failed test stops at a panic with a message.
#![allow(clippy::panic)]

// The helpers of tests/examples, shared rather than copied; this test
// does not restart its server.
#[path = "../examples/node.rs"]
mod node;
#[allow(dead_code)]
#[path = "../examples/server.rs"]
mod server;

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use socketio_axum_examples::metrics;

use crate::{node::run_node, node::tests_dir, server::Server};

/// Clients, events per client, clients that leave.
const N: usize = 6;
const M: usize = 5;
const K: usize = 2;

/// The body of `GET /metrics`, over a plain HTTP/1.1 connection.
fn fetch_metrics(addr: &str) -> String {
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect to the example");
    write!(
        tcp,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut response = String::new();
    tcp.read_to_string(&mut response)
        .expect("read the response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response: {response:?}"));
    assert!(head.starts_with("HTTP/1.1 200"), "GET /metrics: {head}");
    body.to_owned()
}

/// The samples of a Prometheus text, by `name{labels}`.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (key, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("not a sample: {l:?}"));
            let value = value
                .parse()
                .unwrap_or_else(|e| panic!("not a number in {l:?}: {e}"));
            (key.to_owned(), value)
        })
        .collect()
}

/// Fetches `/metrics` until every sample in `want` has its value, or fails
/// after 10 s showing what differs.
fn wait_for(addr: &str, step: &str, want: &[(&str, f64)]) -> String {
    let started = Instant::now();
    loop {
        let text = fetch_metrics(addr);
        let got = samples(&text);
        let wrong: Vec<_> = want
            .iter()
            .filter(|(key, value)| got.get(*key) != Some(value))
            .map(|(key, value)| format!("{key}: want {value}, got {:?}", got.get(*key)))
            .collect();
        if wrong.is_empty() {
            return text;
        }
        if started.elapsed() > Duration::from_secs(10) {
            panic!(
                "after {step}, /metrics still differs:\n{}\n--- /metrics\n{text}",
                wrong.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `promtool check metrics` accepts `text`.
fn promtool_check(text: &str) {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!(
            "cannot run `promtool` ({e}): install Debian's `prometheus` package \
             (`apt-get install -y prometheus`), which .ci/run does"
        ),
    };
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool's status");
    assert!(
        out.status.success(),
        "promtool check metrics refused the text:\n{}{}\n--- /metrics\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The process's global recorder, installed once for the tests that need it.
fn global_recorder() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| metrics::install_recorder().expect("install the Prometheus recorder"))
        .clone()
}

#[test]
fn counts_follow_a_scripted_scenario() {
    let handle = global_recorder();
    let server = Server::start(move || metrics::app(handle.clone()));
    let url = server.url();
    let addr = url.trim_start_matches("http://").to_owned();
    let (n, m, k) = (N as f64, M as f64, K as f64);
    // Client i is in room-(i % 4); the last K leave.
    let rooms = |clients: usize| {
        (0..clients)
            .map(|i| i % 4)
            .collect::<std::collections::HashSet<_>>()
            .len() as f64
    };
    let mut texts = Vec::new();
    let out = run_node(
        &tests_dir().join("node/ex_metrics.mjs"),
        &[&url, &N.to_string(), &M.to_string(), &K.to_string()],
        Duration::from_secs(60),
        |request| {
            let text = match request {
                // Each client: a `join`, a `welcome`; two on polling, one
                // upgraded from polling to WebSocket.
                "connected" => wait_for(
                    &addr,
                    request,
                    &[
                        (r#"engineio_sessions{transport="polling"}"#, 2.0),
                        (r#"engineio_sessions{transport="websocket"}"#, n - 2.0),
                        (r#"socketio_sockets{namespace="/"}"#, n),
                        (r#"socketio_rooms{namespace="/"}"#, rooms(N)),
                        (r#"socketio_events_received_total{namespace="/"}"#, n),
                        (r#"socketio_events_sent_total{namespace="/"}"#, n),
                        (r#"socketio_acks_pending{namespace="/"}"#, 0.0),
                        (
                            r#"engineio_sessions_closed_total{reason="transport_close"}"#,
                            0.0,
                        ),
                    ],
                ),
                // M echoes each, one `ask` and its unanswered `question`,
                // one refused namespace, one refused handshake.
                "events" => wait_for(
                    &addr,
                    request,
                    &[
                        (
                            r#"socketio_events_received_total{namespace="/"}"#,
                            n + n * m + 1.0,
                        ),
                        (r#"socketio_events_sent_total{namespace="/"}"#, n + 1.0),
                        (r#"socketio_acks_timed_out_total{namespace="/"}"#, 1.0),
                        (r#"socketio_acks_pending{namespace="/"}"#, 0.0),
                        (
                            r#"socketio_connects_refused_total{reason="invalid_namespace"}"#,
                            1.0,
                        ),
                        (
                            r#"engineio_handshakes_refused_total{reason="unsupported_protocol_version"}"#,
                            1.0,
                        ),
                        (r#"engineio_sessions{transport="polling"}"#, 2.0),
                        (r#"engineio_sessions{transport="websocket"}"#, n - 2.0),
                        (r#"socketio_sockets{namespace="/"}"#, n),
                    ],
                ),
                // The last K clients (on WebSocket) closed their connections.
                "left" => wait_for(
                    &addr,
                    request,
                    &[
                        (r#"engineio_sessions{transport="polling"}"#, 2.0),
                        (r#"engineio_sessions{transport="websocket"}"#, n - 2.0 - k),
                        (
                            r#"engineio_sessions_closed_total{reason="transport_close"}"#,
                            k,
                        ),
                        (r#"socketio_sockets{namespace="/"}"#, n - k),
                        (r#"socketio_rooms{namespace="/"}"#, rooms(N - K)),
                        (
                            r#"socketio_events_received_total{namespace="/"}"#,
                            n + n * m + 1.0,
                        ),
                        (r#"socketio_events_sent_total{namespace="/"}"#, n + 1.0),
                    ],
                ),
                other => panic!("unexpected request {other:?}"),
            };
            texts.push(text);
        },
    );
    out.assert_success();
    assert_eq!(texts.len(), 3, "the script made its three requests");
    assert!(
        out.json_lines().iter().any(|l| l["step"] == "done"),
        "the script ran to its end"
    );
    let last = samples(&texts[2]);
    // Bytes: at least the echoes' text went each way.
    for name in ["engineio_received_bytes_total", "engineio_sent_bytes_total"] {
        let bytes = last.get(name).copied().unwrap_or_default();
        assert!(
            bytes >= n * m * 10.0,
            "{name} = {bytes}, below the echoes' own bytes"
        );
    }
    for text in &texts {
        promtool_check(text);
    }
}

/// What a client that does not read yet costs: a queue at
/// `max_buffered_packets` pauses reading (one back-pressure wait) and drops
/// volatile packets; the others are queued. The server is built with a
/// Prometheus recorder of its own, in scope only while it is built: the
/// handles it registers then are the only ones that record into it.
// One thread: the connect handler's emits all queue before the
// connection's task can write one.
#[tokio::test(flavor = "current_thread")]
async fn volatile_drops_and_back_pressure_are_counted() {
    use socketio_axum::{SocketIo, SocketIoConfig, SocketRef};

    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let config = SocketIoConfig::builder()
        .max_buffered_packets(4)
        .ping_interval(Duration::from_secs(60))
        .build();
    let built = ::metrics::with_local_recorder(&recorder, || {
        let (layer, io) = SocketIo::builder().config(config).build_layer();
        io.ns("/", |socket: SocketRef| async move {
            // The CONNECT packet and three events: the queue is at 4.
            for i in 0..3 {
                socket.emit("queued", &i).expect("queued");
            }
            for i in 0..3 {
                socket
                    .volatile()
                    .emit("dropped", &i)
                    .expect("dropped, not an error");
            }
            socket.emit("queued", &3).expect("queued past the limit");
        });
        (layer, io)
    });
    let server = socketio_axum_tests::SioServer::serve(built, axum::Router::new()).await;
    let mut client = server.ws().await;
    client.join("/").await;
    for i in 0..4 {
        assert_eq!(client.recv_text().await, format!(r#"42["queued",{i}]"#));
    }
    let got = samples(&handle.render());
    for (key, want) in [
        (r#"socketio_events_sent_total{namespace="/"}"#, 4.0),
        (r#"socketio_volatile_dropped_total{namespace="/"}"#, 3.0),
        ("engineio_back_pressure_waits_total", 1.0),
        (r#"engineio_sessions{transport="websocket"}"#, 1.0),
        (r#"socketio_sockets{namespace="/"}"#, 1.0),
    ] {
        assert_eq!(got.get(key), Some(&want), "{key} in {got:#?}");
    }
}

/// The Redis adapter times a request to the other servers: `fetch_sockets`
/// between two servers on the Redis of the tests (127.0.0.1:6379). Its
/// metrics are looked up when recorded, in the global recorder; the
/// servers' own are registered with a recorder of their own, so that the
/// scripted scenario's counts stay exact if both tests share a process.
#[tokio::test]
async fn a_request_to_other_servers_is_timed() {
    use socketio_axum::SocketIo;
    use socketio_redis::{RedisAdapter, RedisAdapterConfig};

    let global = global_recorder();
    let prefix = format!("metrics-test-{}", std::process::id());
    let config = || {
        RedisAdapterConfig::builder()
            .key_prefix(prefix.clone())
            .build()
    };
    let a = RedisAdapter::connect(config())
        .await
        .expect("a Redis on 127.0.0.1:6379");
    let b = RedisAdapter::connect(config()).await.expect("Redis");
    let own = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let (io_a, _io_b) = ::metrics::with_local_recorder(&own, || {
        (
            SocketIo::builder().adapter(a.clone()).build_layer().1,
            SocketIo::builder().adapter(b.clone()).build_layer().1,
        )
    });
    a.ready().await;
    b.ready().await;
    let sockets = io_a
        .fetch_sockets()
        .await
        .expect("fetch_sockets across servers");
    assert!(sockets.is_empty(), "no client connected: {}", sockets.len());
    let got = samples(&global.render());
    let count = got
        .iter()
        .find(|(key, _)| {
            key.starts_with("socketio_redis_request_duration_seconds_count{")
                && key.contains(r#"request="fetchSockets""#)
                && key.contains(r#"outcome="complete""#)
        })
        .map(|(_, v)| *v);
    assert_eq!(count, Some(1.0), "one complete fetchSockets in {got:#?}");
}
