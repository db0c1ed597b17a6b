//! Losing and regaining the connection: the back-off between attempts,
//! what is emitted meanwhile, acknowledgement timeouts, deliberate
//! disconnections that must not reconnect, and a server that goes silent.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use socketio_client::{
    extract::Data, BufferOverflow, Client, DisconnectReason, Socket, Transport, Transports,
};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    harness::{builder, count_logs, lock, wait_until, within, Probe, Seen},
    servers::{NodeServer, RustServer, Server},
};

/// What a loaded machine may add to a timer, on top of its delay.
const SLACK: Duration = Duration::from_millis(250);

/// Kills the server and watches the reconnection attempts: with `restart`,
/// the server comes back on the same port once `restart` attempts have
/// failed, and the next attempt must succeed; without, the client must give
/// up after `attempts`. Returns each attempt's delay, measured from the
/// disconnection (first attempt) or from the failure of the previous
/// attempt to its start.
async fn reconnection_delays(jitter: f64, attempts: u32, restart: Option<u32>) -> Vec<Duration> {
    let server = RustServer::start(0);
    let port = server.port();
    let client = builder(&server.url(), Transports::WebSocketOnly)
        .reconnection_delay(Duration::from_millis(40))
        .reconnection_delay_max(Duration::from_millis(320))
        .randomization_factor(jitter)
        .reconnection_attempts(attempts)
        .build()
        .expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_client(&client);
    probe.watch_socket(&socket);
    within("connect", socket.connect()).await.expect("connect");
    server.kill();
    let (mut last, reason) = probe.disconnected("/").await;
    assert!(reason.is_reconnectable(), "{reason}");

    let mut delays = Vec::new();
    let mut failed = 0;
    let mut restarted = None;
    loop {
        let (at, seen) = probe.next().await;
        match seen {
            Seen::ReconnectAttempt(n) => {
                assert_eq!(n as usize, delays.len() + 1, "attempts are numbered from 1");
                delays.push(at - last);
            }
            Seen::ReconnectError(_) => {
                last = at;
                failed += 1;
                if Some(failed) == restart {
                    restarted = Some(RustServer::start(port));
                }
            }
            Seen::ReconnectFailed => break,
            Seen::Reconnect(n) => {
                assert!(restarted.is_some(), "reconnected to a dead server");
                assert_eq!(n as usize, delays.len(), "reconnected at the last attempt");
                break;
            }
            Seen::ConnectError(..) | Seen::Event(..) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    match restart {
        Some(failed) => {
            assert_eq!(delays.len(), failed as usize + 1);
            probe.connected("/").await;
            assert!(socket.connected());
        }
        None => {
            assert_eq!(delays.len(), attempts as usize);
            assert!(!socket.connected());
        }
    }
    client.disconnect();
    delays
}

/// Without jitter, the delays double from the minimum up to the maximum;
/// after `reconnection_attempts` failures the client gives up.
#[tokio::test]
async fn reconnection_delays_double_up_to_the_maximum() {
    let delays = reconnection_delays(0.0, 6, None).await;
    let expected = [40, 80, 160, 320, 320, 320].map(Duration::from_millis);
    for (n, (d, e)) in delays.iter().zip(expected).enumerate() {
        assert!(
            *d >= e && *d <= e + SLACK,
            "attempt {}: waited {d:?}, expected {e:?} (all: {delays:?})",
            n + 1
        );
    }
}

/// With the JS client's jitter, each delay stays within
/// `[base * (1 - f), min(base * (1 + f), max)]`, `base = min * 2^n`; the
/// server restarted on its port after five failures, the sixth attempt
/// reconnects.
#[tokio::test]
async fn reconnection_delays_stay_within_the_jitter_bounds() {
    let delays = reconnection_delays(0.5, u32::MAX, Some(5)).await;
    assert_eq!(delays.len(), 6);
    for (n, d) in delays.iter().enumerate() {
        let base = 40u64 << n;
        let low = Duration::from_millis((base - base / 2).min(320));
        let high = Duration::from_millis((base + base / 2).min(320));
        assert!(
            *d >= low && *d <= high + SLACK,
            "attempt {}: waited {d:?}, not in [{low:?}, {high:?}] (all: {delays:?})",
            n + 1
        );
    }
}

/// Emits made while the server is down: buffered, sent once reconnected,
/// in order, once; volatile ones dropped; one whose acknowledgement timed
/// out meanwhile never sent.
async fn emit_while_down(socket: &Socket, probe: &mut Probe) {
    let (_, reason) = probe.disconnected("/").await;
    assert!(reason.is_reconnectable(), "{reason}");
    assert!(!socket.connected());
    for i in 0..20 {
        socket.emit("record", &i).expect("buffered");
        socket
            .volatile()
            .emit("record", &format!("volatile {i}"))
            .expect("dropped");
    }
    let started = Instant::now();
    let e = socket
        .emit_with_ack::<_, ()>("record", "timed out while buffered")
        .timeout(Duration::from_millis(100))
        .await
        .expect_err("no server to answer");
    assert!(e.is_timeout(), "{e:?}");
    assert!(started.elapsed() >= Duration::from_millis(100));
}

async fn server_log(socket: &Socket) -> Vec<Value> {
    // One argument that is an array: a 1-tuple (a `Vec` would take the
    // list of arguments).
    let (log,): (Vec<Value>,) = socket
        .emit_with_ack("log", &())
        .timeout(Duration::from_secs(5))
        .await
        .expect("log");
    log
}

fn expected_log() -> Vec<Value> {
    (0..20).map(Value::from).collect()
}

#[tokio::test]
async fn emits_while_down_arrive_once_in_order_after_a_restart() {
    let server = RustServer::start(0);
    let port = server.port();
    let client = builder(&server.url(), Transports::Upgrade)
        .build()
        .expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_client(&client);
    probe.watch_socket(&socket);
    within("connect", socket.connect()).await.expect("connect");
    socket.emit("record", "before").expect("emit");
    assert_eq!(server_log(&socket).await, [json!("before")]);

    server.kill();
    emit_while_down(&socket, &mut probe).await;
    let _server = RustServer::start(port);
    let (_, attempts) = probe
        .wait_for("reconnect", |s| match s {
            Seen::Reconnect(n) => Some(*n),
            _ => None,
        })
        .await;
    assert!(attempts >= 1, "{attempts}");
    probe.connected("/").await;
    assert_eq!(server_log(&socket).await, expected_log());
    client.disconnect();
}

/// A Node server, and a client connected to it over WebSocket whose
/// socket `/` a probe watches.
async fn connected_to_node() -> (NodeServer, Client, Socket, Probe) {
    let server = NodeServer::start(0, json!({})).await;
    let client = builder(&server.url(), Transports::WebSocketOnly)
        .build()
        .expect("client");
    let socket = client.socket("/");
    let probe = Probe::new();
    probe.watch_socket(&socket);
    within("connect", socket.connect()).await.expect("connect");
    (server, client, socket, probe)
}

#[tokio::test]
async fn emits_while_down_arrive_once_in_order_after_a_node_restart() {
    let (server, client, socket, mut probe) = connected_to_node().await;
    let port = server.port();
    server.kill().await;
    emit_while_down(&socket, &mut probe).await;
    let _server = NodeServer::start(port, json!({})).await;
    probe.connected("/").await;
    assert_eq!(server_log(&socket).await, expected_log());
    client.disconnect();
}

/// An emit with an acknowledgement is sent whether its future is kept or
/// dropped, as the JS client sends an emit whose callback nobody waits for:
/// at once while connected, from the buffer after a reconnection while
/// not. Dropping only forgets the answer: the client forgets the
/// acknowledgement at once (it logs the answer, when it comes, as one
/// nobody waits for, instead of keeping an entry for it).
#[tokio::test]
async fn an_emit_whose_ack_future_is_dropped_is_still_sent() {
    let (_guard, orphans) = count_logs("socket.io client: acknowledgement nobody waits for");
    let (server, client, socket, mut probe) = connected_to_node().await;
    let port = server.port();

    drop(socket.emit_with_ack::<_, String>("record", "dropped while connected"));
    // The server answers `record` before `log`, on the same connection.
    assert_eq!(
        server_log(&socket).await,
        [json!("dropped while connected")]
    );
    assert_eq!(orphans.load(Ordering::SeqCst), 1);

    server.kill().await;
    let (_, reason) = probe.disconnected("/").await;
    assert!(reason.is_reconnectable(), "{reason}");
    drop(socket.emit_with_ack::<_, String>("record", "dropped while down"));
    let kept = socket.emit_with_ack::<_, String>("record", "kept while down");
    let _server = NodeServer::start(port, json!({})).await;
    probe.connected("/").await;
    assert_eq!(
        within("the kept acknowledgement", kept)
            .await
            .expect("answered"),
        "kept while down"
    );
    assert_eq!(
        server_log(&socket).await,
        [json!("dropped while down"), json!("kept while down")]
    );
    assert_eq!(orphans.load(Ordering::SeqCst), 2);
    assert!(socket.connected());
    client.disconnect();
}

/// The `io::Error` in an error's source chain, if there is one.
fn io_error_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cause = e.source();
    }
    None
}

/// A server that cannot be reached: the first attempt's error and each
/// reconnection attempt's carry the cause, an `io::Error` of kind
/// `ConnectionRefused`, in their source chain, over polling and WebSocket.
#[tokio::test]
async fn a_refused_connection_carries_its_cause() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    for transports in [Transports::Upgrade, Transports::WebSocketOnly] {
        let client = builder(&format!("http://127.0.0.1:{port}"), transports)
            .reconnection_attempts(1)
            .build()
            .expect("client");
        let socket = client.socket("/");
        let mut probe = Probe::new();
        probe.watch_client(&client);
        let e = within("connect", socket.connect())
            .await
            .expect_err("nothing listens");
        assert!(e.is_transport(), "{e:?}");
        assert_eq!(e.status(), None);
        assert_eq!(
            io_error_kind(&e),
            Some(std::io::ErrorKind::ConnectionRefused),
            "{transports:?}: {e:?}"
        );
        let (_, e) = probe
            .wait_for("a failed reconnection", |s| match s {
                Seen::ReconnectError(e) => Some(e.clone()),
                _ => None,
            })
            .await;
        assert_eq!(
            io_error_kind(&e),
            Some(std::io::ErrorKind::ConnectionRefused),
            "{transports:?}: {e:?}"
        );
        client.disconnect();
    }
}

/// A client started while the server is down fails its first connect, and
/// connects in the background once the server is up.
#[tokio::test]
async fn connects_once_the_server_comes_up() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let client = builder(&format!("http://127.0.0.1:{port}"), Transports::Upgrade)
        .build()
        .expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_client(&client);
    probe.watch_socket(&socket);
    let e = within("connect", socket.connect())
        .await
        .expect_err("no server yet");
    assert!(e.is_transport(), "{e:?}");
    socket
        .emit("record", "queued before the server existed")
        .expect("buffered");
    probe
        .wait_for("a failed attempt", |s| {
            matches!(s, Seen::ReconnectError(_)).then_some(())
        })
        .await;
    let _server = RustServer::start(port);
    probe.connected("/").await;
    assert_eq!(
        server_log(&socket).await,
        [json!("queued before the server existed")]
    );
    client.disconnect();
}

#[tokio::test]
async fn ack_timeouts_fire_on_time() {
    let server = RustServer::start(0);
    let client = builder(&server.url(), Transports::WebSocketOnly)
        .ack_timeout(Duration::from_millis(150))
        .build()
        .expect("client");
    let socket = client.socket("/");
    within("connect", socket.connect()).await.expect("connect");

    let started = Instant::now();
    let e = socket
        .emit_with_ack::<_, Value>("never", &())
        .timeout(Duration::from_millis(200))
        .await
        .expect_err("never answered");
    let waited = started.elapsed();
    assert!(e.is_timeout(), "{e:?}");
    assert!(
        waited >= Duration::from_millis(200) && waited <= Duration::from_millis(200) + SLACK,
        "{waited:?}"
    );

    // The client's default applies without `.timeout`.
    let started = Instant::now();
    let e = socket
        .emit_with_ack::<_, Value>("never", &())
        .await
        .expect_err("never answered");
    let waited = started.elapsed();
    assert!(e.is_timeout(), "{e:?}");
    assert!(
        waited >= Duration::from_millis(150) && waited <= Duration::from_millis(150) + SLACK,
        "{waited:?}"
    );

    // An answer after the timeout is ignored; the next ones still arrive.
    let e = socket
        .emit_with_ack::<_, Value>("slow", "late")
        .timeout(Duration::from_millis(100))
        .await
        .expect_err("too slow");
    assert!(e.is_timeout());
    let on_time: String = socket
        .emit_with_ack("slow", "on time")
        .timeout(Duration::from_secs(5))
        .await
        .expect("answered");
    assert_eq!(on_time, "on time");
    assert!(socket.connected());
    client.disconnect();
}

/// Neither side's deliberate disconnection leads to a reconnection.
#[tokio::test]
async fn deliberate_disconnections_do_not_reconnect() {
    let server = RustServer::start(0);
    let client = builder(&server.url(), Transports::WebSocketOnly)
        .reconnection_delay(Duration::from_millis(10))
        .reconnection_delay_max(Duration::from_millis(10))
        .build()
        .expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_client(&client);
    probe.watch_socket(&socket);

    // By the client.
    within("connect", socket.connect()).await.expect("connect");
    socket.disconnect();
    let (_, reason) = probe.disconnected("/").await;
    assert_eq!(reason, DisconnectReason::IoClientDisconnect);
    wait_until("the connection to close", || client.transport().is_none()).await;

    // By the server; connecting again works after a deliberate disconnection.
    within("connect", socket.connect())
        .await
        .expect("connect again");
    socket.emit("kick", &()).expect("emit");
    let (_, reason) = probe.disconnected("/").await;
    assert_eq!(reason, DisconnectReason::IoServerDisconnect);
    wait_until("the connection to close", || client.transport().is_none()).await;

    // Twenty reconnection delays later, nothing has happened.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after: Vec<Seen> = probe
        .drain()
        .into_iter()
        .filter(|s| !matches!(s, Seen::Event(..)))
        .collect();
    assert!(after.is_empty(), "{after:?}");
    assert!(!socket.connected());
}

#[tokio::test]
async fn no_reconnection_when_disabled() {
    let server = RustServer::start(0);
    let client = builder(&server.url(), Transports::PollingOnly)
        .reconnection(false)
        .build()
        .expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_client(&client);
    probe.watch_socket(&socket);
    within("connect", socket.connect()).await.expect("connect");
    server.kill();
    let (_, reason) = probe.disconnected("/").await;
    assert!(reason.is_reconnectable(), "{reason}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after: Vec<Seen> = probe
        .drain()
        .into_iter()
        .filter(|s| !matches!(s, Seen::Event(..)))
        .collect();
    assert!(after.is_empty(), "{after:?}");
}

/// A server that completes the handshake and then never pings: the client
/// gives up on it after `pingInterval + pingTimeout` and reconnects.
#[tokio::test]
async fn a_silent_server_is_detected_and_left() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let accepted = connections.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let n = accepted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let open = format!(
                    r#"0{{"sid":"silent{n:015}","upgrades":[],"pingInterval":100,"pingTimeout":100,"maxPayload":1000000}}"#
                );
                let _ = ws.send(Message::text(open)).await;
                while let Some(Ok(message)) = ws.next().await {
                    if message.to_text().is_ok_and(|t| t.starts_with("40")) {
                        let _ = ws
                            .send(Message::text(format!(r#"40{{"sid":"s{n}"}}"#)))
                            .await;
                    }
                }
            });
        }
    });

    let client = builder(
        &format!("http://127.0.0.1:{port}"),
        Transports::WebSocketOnly,
    )
    .build()
    .expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_client(&client);
    probe.watch_socket(&socket);
    let started = Instant::now();
    within("connect", socket.connect()).await.expect("connect");
    let (lost, reason) = probe.disconnected("/").await;
    assert_eq!(reason, DisconnectReason::PingTimeout);
    let waited = lost - started;
    assert!(
        waited >= Duration::from_millis(200) && waited <= Duration::from_millis(200) + SLACK,
        "{waited:?}"
    );
    probe.connected("/").await;
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    client.disconnect();
}

/// The buffer of a socket that is not connected is bounded: past the
/// bound an emit fails, or the oldest packet is dropped, as configured.
#[tokio::test]
async fn the_buffer_is_bounded() {
    let server = RustServer::start(0);

    let client = builder(&server.url(), Transports::WebSocketOnly)
        .max_buffered_packets(3)
        .build()
        .expect("client");
    let socket = client.socket("/");
    for i in 0..3 {
        socket.emit("record", &i).expect("buffered");
    }
    let e = socket.emit("record", &3).expect_err("full");
    assert!(e.is_buffer_full(), "{e:?}");
    within("connect", socket.connect()).await.expect("connect");
    assert_eq!(server_log(&socket).await, [json!(0), json!(1), json!(2)]);
    client.disconnect();

    let client = builder(&server.url(), Transports::WebSocketOnly)
        .max_buffered_packets(3)
        .buffer_overflow(BufferOverflow::DropOldest)
        .build()
        .expect("client");
    let socket = client.socket("/");
    let dropped = socket.emit_with_ack::<_, ()>("record", "oldest");
    for i in 3..6 {
        socket.emit("record", &i).expect("buffered");
    }
    // Connecting starts the connection task, which meets the full buffer.
    let connecting = socket.connect();
    let e = within("the dropped packet's ack", dropped)
        .await
        .expect_err("dropped");
    assert!(e.is_buffer_full(), "{e:?}");
    within("connect", connecting).await.expect("connect");
    // The log of the server holds those of the first client too.
    assert_eq!(
        server_log(&socket).await,
        [0, 1, 2, 3, 4, 5].map(Value::from)
    );
    client.disconnect();
}

/// Handlers of one socket run one after another, in arrival order, even
/// when an earlier one waits; a handler that panics or fails is reported
/// and the next events are still handled.
#[tokio::test]
async fn handlers_run_in_order_and_survive_failures() {
    let server = RustServer::start(0);
    let client = builder(&server.url(), Transports::WebSocketOnly)
        .build()
        .expect("client");
    let socket = client.socket("/");
    let order: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = order.clone();
    socket.on("echo", move |Data(x): Data<Value>| {
        let seen = seen.clone();
        async move {
            match x.as_str() {
                Some("slow") => tokio::time::sleep(Duration::from_millis(100)).await,
                Some("panic") => panic!("a handler panicked on purpose"),
                Some("fail") => return Err("a handler failed on purpose"),
                _ => {}
            }
            lock(&seen).push(x);
            Ok(())
        }
    });
    within("connect", socket.connect()).await.expect("connect");
    for x in ["slow", "panic", "fail", "fast", "last"] {
        socket.emit("echo", x).expect("emit");
    }
    wait_until("the last event", || lock(&order).len() == 3).await;
    assert_eq!(*lock(&order), ["slow", "fast", "last"]);
    assert!(socket.connected());
    assert_eq!(client.transport(), Some(Transport::WebSocket));
    client.disconnect();
}
