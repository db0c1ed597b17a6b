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
