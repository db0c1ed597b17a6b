//! Clients that read slowly, or not at all: packets reach them in the order
//! they were emitted, whichever path they took, and the memory they can hold
//! on the server is bounded (`max_buffered_packets` for
//! `slow_consumer_timeout`, `max_buffered_bytes` at any time).

use std::time::Duration;

use serde_json::Value;
use socketio_axum::{DisconnectReason, EmitError, SocketIoConfig, SocketRef};
use socketio_axum_tests::{wait_until, within, SioServer};
use tokio::sync::mpsc;

fn config(packets: usize, bytes: usize, timeout: Duration) -> SocketIoConfig {
    SocketIoConfig::builder()
        .ping_interval(Duration::from_secs(60))
        .ping_timeout(Duration::from_secs(60))
        .max_buffered_packets(packets)
        .max_buffered_bytes(bytes)
        .slow_consumer_timeout(timeout)
        .build()
}

/// A server whose "/" reports each socket and why it left.
async fn server(
    config: SocketIoConfig,
) -> (
    SioServer,
    mpsc::UnboundedReceiver<SocketRef>,
    mpsc::UnboundedReceiver<DisconnectReason>,
) {
    let server = SioServer::start(config).await;
    let (joined_tx, joined) = mpsc::unbounded_channel();
    let (left_tx, left) = mpsc::unbounded_channel();
    server.io.ns("/", move |socket: SocketRef| {
        let left_tx = left_tx.clone();
        let _ = joined_tx.send(socket.clone());
        async move {
            socket.on_disconnect(move |reason: DisconnectReason| async move {
                let _ = left_tx.send(reason);
            });
        }
    });
    (server, joined, left)
}

// One thread: while the test emits, the connection's task cannot write, so
// everything past the first packets queues, as for a client that stalls.
#[tokio::test(flavor = "current_thread")]
async fn a_client_that_stalls_then_reads_gets_ten_thousand_broadcasts_in_order() {
    let (server, mut joined, _left) = server(config(64, 64 << 20, Duration::from_secs(30))).await;
    let mut client = server.ws().await;
    client.join("/").await;
    let socket = within("the socket", joined.recv()).await.expect("socket");
    // Broadcasts, direct emits and volatile-free room broadcasts interleaved:
    // every path joins the same queue.
    socket.join("room");
    for i in 0..10_000u32 {
        let sent = match i % 3 {
            0 => server.io.emit("n", &i),
            1 => socket.emit("n", &i),
            _ => server.io.to("room").emit("n", &i),
        };
        sent.unwrap_or_else(|e| panic!("emit {i}: {e}"));
    }
    for i in 0..10_000u32 {
        let frame = client.recv_text().await;
        let n: Value = serde_json::from_str(frame.strip_prefix("42").expect("an event"))
            .unwrap_or_else(|e| panic!("{frame}: {e}"));
        assert_eq!(n, serde_json::json!(["n", i]), "packet {i}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_queue_over_max_buffered_packets_for_the_timeout_closes_the_connection() {
    let (server, mut joined, mut left) =
        server(config(16, 64 << 20, Duration::from_millis(200))).await;
    let mut client = server.ws().await;
    client.join("/").await;
    let socket = within("the socket", joined.recv()).await.expect("socket");
    // More than the kernel's buffers take: the client reads nothing, so the
    // connection's task blocks in its write and the queue stays over 16.
    let chunk = "x".repeat(64 << 10);
    for _ in 0..400 {
        socket
            .emit("big", &chunk)
            .expect("under max_buffered_bytes");
    }
    let reason = within("the slow consumer to be disconnected", left.recv()).await;
    assert_eq!(reason, Some(DisconnectReason::SlowConsumer));
    assert_eq!(reason.map(|r| r.as_str()), Some("slow consumer"));
    // The connection's task left its blocked write and the session is gone.
    wait_until("the connection to be closed", || {
        server.io.connection_count() == 0
    })
    .await;
    assert!(server.io.sockets().is_empty());
    assert_eq!(socket.emit("big", "x"), Err(EmitError::Disconnected));
    drop(client);
}

#[tokio::test(flavor = "current_thread")]
async fn an_emit_past_max_buffered_bytes_is_refused_and_closes_the_connection() {
    let (server, mut joined, mut left) =
        server(config(1024, 1 << 20, Duration::from_secs(30))).await;
    let mut client = server.ws().await;
    client.join("/").await;
    let socket = within("the socket", joined.recv()).await.expect("socket");
    let chunk = "x".repeat(64 << 10);
    // Each packet counts 64 KiB and 75 bytes (its framing, and 64 for its
    // place in the queue): after 16 the queue holds over 1 MiB, and the
    // 17th is refused.
    let mut accepted = 0;
    let refused = loop {
        match socket.emit("big", &chunk) {
            Ok(()) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted < 100, "never refused");
    };
    assert_eq!(refused, EmitError::QueueFull);
    assert_eq!(accepted, 16);
    let reason = within("the disconnect", left.recv()).await;
    assert_eq!(reason, Some(DisconnectReason::SlowConsumer));
    wait_until("the connection to be closed", || {
        server.io.connection_count() == 0
    })
    .await;
    drop(client);
}

/// Volatile packets (even numbers, sent by `volatile`) alternate with
/// ordinary ones to a client that does not read yet.
async fn volatile_run(volatile: impl Fn(&SioServer, &SocketRef, u32) -> Result<(), EmitError>) {
    let (server, mut joined, _left) = server(config(8, 64 << 20, Duration::from_secs(30))).await;
    let mut client = server.ws().await;
    client.join("/").await;
    let socket = within("the socket", joined.recv()).await.expect("socket");
    for i in 0..40u32 {
        if i % 2 == 0 {
            volatile(&server, &socket, i).expect("volatile emit");
        } else {
            server.io.emit("n", &i).expect("emit");
        }
    }
    // The queue holds 8 before volatile ones are dropped; the others all come.
    let mut got = Vec::new();
    let mut n = 0;
    while n < 20 {
        let frame = client.recv_text().await;
        if frame.starts_with(r#"42["n","#) {
            n += 1;
        }
        got.push(frame);
    }
    let volatile = got.iter().filter(|f| f.starts_with(r#"42["v","#)).count();
    assert_eq!(volatile, 4, "{got:?}");
    let order: Vec<u32> = got
        .iter()
        .map(|f| {
            let v: Value = serde_json::from_str(&f[2..]).expect("json");
            v[1].as_u64().expect("number") as u32
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn volatile_broadcasts_are_dropped_at_max_buffered_packets_and_the_rest_kept_in_order() {
    volatile_run(|server, _, i| server.io.volatile().emit("v", &i)).await;
}

#[tokio::test(flavor = "current_thread")]
async fn volatile_emits_to_one_socket_are_dropped_at_max_buffered_packets_and_the_rest_kept_in_order(
) {
    volatile_run(|_, socket, i| socket.volatile().emit("v", &i)).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_queue_back_under_the_limit_in_time_is_not_closed() {
    let (server, mut joined, mut left) =
        server(config(16, 64 << 20, Duration::from_millis(300))).await;
    let mut client = server.ws().await;
    client.join("/").await;
    let socket = within("the socket", joined.recv()).await.expect("socket");
    for i in 0..64u32 {
        socket.emit("n", &i).expect("emit");
    }
    // Read at once: the queue is back under 16 well before 300 ms.
    for _ in 0..64 {
        client.recv_text().await;
    }
    // Past the deadline of the crossing, the socket is still there. (A
    // window, not a synchronisation: a close, if it came, would come by then.)
    let closed = tokio::time::timeout(Duration::from_millis(800), left.recv()).await;
    assert!(
        closed.is_err(),
        "closed though it drained in time: {closed:?}"
    );
    socket.emit("still", &1).expect("emit");
    assert_eq!(client.recv_text().await, r#"42["still",1]"#);
}

#[tokio::test]
async fn the_heartbeat_runs_while_a_write_to_a_client_that_does_not_read_blocks() {
    // Few packets, far under both limits, but more bytes than the kernel's
    // buffers take: the write blocks, the ping waits behind it, and the
    // session ends with a ping timeout rather than never.
    let config = SocketIoConfig::builder()
        .ping_interval(Duration::from_millis(200))
        .ping_timeout(Duration::from_millis(200))
        .slow_consumer_timeout(Duration::from_secs(60))
        .build();
    let (server, mut joined, mut left) = server(config).await;
    let mut client = server.ws().await;
    client.join("/").await;
    let socket = within("the socket", joined.recv()).await.expect("socket");
    let chunk = "x".repeat(4 << 20);
    for _ in 0..3 {
        socket.emit("big", &chunk).expect("emit");
    }
    let reason = within("the ping timeout", left.recv()).await;
    assert_eq!(reason, Some(DisconnectReason::PingTimeout));
    wait_until("the connection to be closed", || {
        server.io.connection_count() == 0
    })
    .await;
    drop(client);
}

#[tokio::test]
async fn a_close_by_the_server_during_a_blocked_write_still_delivers_what_was_queued() {
    let (server, mut joined, _left) = server(config(1024, 64 << 20, Duration::from_secs(30))).await;
    let mut client = server.ws().await;
    client.join("/").await;
    let socket = within("the socket", joined.recv()).await.expect("socket");
    // More than the kernel's buffers take while the client does not read.
    let big = "x".repeat(8 << 20);
    socket.emit("big", &big).expect("emit");
    // Most likely the connection's task is inside that write when the close
    // comes; if not, the close's drain writes it. Either way it must arrive,
    // then the DISCONNECT (Node's `socket.disconnect(true)` flushes too).
    tokio::time::sleep(Duration::from_millis(200)).await;
    socket.close_connection();
    let first = client.recv_text().await;
    assert!(
        first.starts_with(r#"42["big","xxx"#),
        "{}",
        &first[..first.len().min(40)]
    );
    assert_eq!(first.len(), big.len() + 12);
    assert_eq!(client.recv_text().await, "41");
}
