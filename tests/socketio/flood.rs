//! A client that pipelines thousands of events with acks, without waiting
//! for any: every ack must come back, once, in order.

use socketio_axum::{
    extract::{AckSender, Data},
    SocketRef,
};
use socketio_axum_tests::{sio_config, SioServer};

const EVENTS: u32 = 5_000;

#[tokio::test]
async fn five_thousand_pipelined_events_are_all_acked_in_order() {
    let server = SioServer::start(sio_config()).await;
    server.io.ns("/", |socket: SocketRef| async move {
        socket.on(
            "add",
            |Data((a, b)): Data<(u32, u32)>, ack: AckSender| async move {
                ack.send(&(a + b,)).expect("ack");
            },
        );
    });
    let mut client = server.ws().await;
    client.join("/").await;

    // Ack id n carries n + 1, so that an ack sent for the wrong event shows.
    let frames = (0..EVENTS)
        .map(|n| format!("42{n}[\"add\",{n},1]"))
        .collect();
    let replies = client.pipeline(frames, EVENTS as usize).await;
    for (n, reply) in (0..EVENTS).zip(&replies) {
        assert_eq!(reply, &format!("43{n}[{}]", n + 1), "reply {n}");
    }
}

/// The first event's handler waits until another connection releases it,
/// while 400 more events of the same socket arrive: past 128 events queued
/// behind it the connection stops being read, and it must be read again
/// once the queue drains, so that every event is answered, in order.
#[tokio::test]
async fn events_behind_a_waiting_handler_are_all_handled_in_order_after_it() {
    const QUEUED: u32 = 400;
    let server = SioServer::start(sio_config()).await;
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    server.io.ns("/", move |socket: SocketRef| {
        let gate = gate.clone();
        async move {
            let wait = gate.clone();
            socket.on("work", move |Data(n): Data<u32>, ack: AckSender| {
                let wait = wait.clone();
                async move {
                    if n == 0 {
                        wait.acquire().await.expect("gate open").forget();
                    }
                    ack.send(&(n,)).expect("ack");
                }
            });
            socket.on("release", move || {
                gate.add_permits(1);
                async {}
            });
        }
    });
    let mut worker = server.ws().await;
    worker.join("/").await;
    for n in 0..=QUEUED {
        worker.feed(format!("42{n}[\"work\",{n}]")).await;
    }
    worker.flush().await;

    let mut releaser = server.ws().await;
    releaser.join("/").await;
    releaser.send("42[\"release\"]").await;

    for n in 0..=QUEUED {
        assert_eq!(worker.recv_text().await, format!("43{n}[{n}]"), "reply {n}");
    }
}
