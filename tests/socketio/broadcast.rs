//! Rooms and broadcasts to many clients: 120 `socket.io-client` sockets in
//! one Node process (`tests/node/sio_broadcast.mjs`), each on its own
//! connection, a quarter of them over long-polling. Every client must get
//! every message meant for it exactly once, and no other.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use socketio_axum::{
    extract::{Data, State},
    SocketIo, SocketRef,
};
use socketio_axum_tests::{node_script, sio_config, SioServer};
use tokio::sync::Notify;

use crate::common::{observe, Seen};

const CLIENTS: usize = 120;

#[derive(Debug, Deserialize)]
struct Auth {
    i: usize,
}

/// Client `i` is in room "even" if `i` is even and in "three" if `i` is a
/// multiple of 3: multiples of 6 are in both.
fn rooms_of(i: usize) -> Vec<&'static str> {
    let mut rooms = Vec::new();
    if i % 2 == 0 {
        rooms.push("even");
    }
    if i % 3 == 0 {
        rooms.push("three");
    }
    rooms
}

/// The events of the broadcasts that client 0's "go" triggers (each carries
/// its own name), and which clients each must reach.
fn expected(i: usize) -> Vec<(&'static str, bool)> {
    let rooms = rooms_of(i);
    let even = rooms.contains(&"even");
    let three = rooms.contains(&"three");
    vec![
        // io.emit: everyone.
        ("all", true),
        // io.to(["even", "three"]): once, also for those in both.
        ("rooms", even || three),
        // io.to("even").except("three").
        ("even-not-three", even && !three),
        // socket.broadcast() from client 0: everyone but the sender.
        ("others", i != 0),
        // socket.to("even") from client 0, itself in "even": not the sender.
        ("to-even", even && i != 0),
    ]
}

async fn on_go(socket: SocketRef, io: SocketIo, State(gate): State<Arc<Notify>>) {
    // Held until the test has looked at the rooms, while every client is in.
    gate.notified().await;
    io.emit("all", "all").expect("emit all");
    io.to(["even", "three"])
        .emit("rooms", "rooms")
        .expect("emit rooms");
    io.to("even")
        .except("three")
        .emit("even-not-three", "even-not-three")
        .expect("emit even-not-three");
    socket
        .broadcast()
        .emit("others", "others")
        .expect("emit others");
    socket
        .to("even")
        .emit("to-even", "to-even")
        .expect("emit to-even");
    io.emit("end", &()).expect("emit end");
}

#[tokio::test]
async fn broadcasts_reach_each_of_120_clients_exactly_once() {
    let (seen, mut joined) = observe::<(usize, String)>();
    let gate = Arc::new(Notify::new());
    let builder = SocketIo::builder()
        .config(sio_config())
        .with_state(seen)
        .with_state(gate.clone());
    let server = SioServer::start_with(builder, axum::Router::new()).await;
    server.io.ns(
        "/",
        |socket: SocketRef, Data(auth): Data<Auth>, State(seen): State<Seen<(usize, String)>>| async move {
            socket.join(rooms_of(auth.i));
            socket.on("go", on_go);
            seen.send((auth.i, socket.id().to_string()));
        },
    );

    let url = server.url();
    let count = CLIENTS.to_string();
    let node = tokio::spawn(async move { node_script("sio_broadcast.mjs", &[&url, &count]).await });

    // Every socket joined; the rooms are listed with each socket's own room.
    let mut ids = vec![String::new(); CLIENTS];
    for _ in 0..CLIENTS {
        let (i, id) = joined.next("a client to join").await;
        assert!(ids[i].is_empty(), "client {i} joined twice");
        ids[i] = id;
    }
    let rooms = server.io.rooms();
    for room in ["even", "three"]
        .iter()
        .copied()
        .chain(ids.iter().map(String::as_str))
    {
        assert!(
            rooms.iter().any(|r| r == room),
            "room {room} missing from {rooms:?}"
        );
    }
    assert_eq!(rooms.len(), CLIENTS + 2, "{rooms:?}");
    assert_eq!(server.io.sockets().len(), CLIENTS);
    gate.notify_one();

    let out = node.await.expect("node task");
    out.assert_success();
    let lines = out.json_lines();
    let report = lines
        .iter()
        .find(|l| l["event"] == "counts")
        .unwrap_or_else(|| panic!("no counts in {lines:#?}"));
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(report["ids"][i], id.as_str(), "client {i}'s socket id");
        let counts = &report["counts"][i];
        for (event, reached) in expected(i) {
            assert_eq!(
                counts[event],
                if reached { Value::from(1) } else { Value::Null },
                "client {i} (rooms {:?}) got {event:?} {} times; all counts: {counts}",
                rooms_of(i),
                counts[event],
            );
        }
        assert_eq!(
            counts.as_object().map(|c| c.len()),
            Some(expected(i).iter().filter(|(_, r)| *r).count()),
            "client {i} got other events: {counts}"
        );
    }
}

/// Node's flags on one socket, on a namespace other than `/`:
/// `socket.volatile.emit` reaches the socket itself, `socket.volatile.to(r)`
/// and `socket.timeout(ms).broadcast` reach the others in the room, never
/// the sender, and `socket.timeout(ms).emitWithAck` gets the client's answer.
#[tokio::test]
async fn socket_flags_apply_on_any_namespace_and_carry_into_broadcasts() {
    let server = SioServer::start(sio_config()).await;
    server.io.ns("/chat", |socket: SocketRef| async move {
        socket.join("r");
        socket.on("go", |socket: SocketRef| async move {
            socket.volatile().emit("self", &1).expect("volatile emit");
            socket
                .volatile()
                .to("r")
                .emit("room", &2)
                .expect("volatile room broadcast");
            socket
                .timeout(std::time::Duration::from_secs(5))
                .compress(false)
                .broadcast()
                .emit("all", &3)
                .expect("broadcast");
            let answer = socket
                .timeout(std::time::Duration::from_secs(5))
                .emit_with_ack::<_, String>("ask", &())
                .await
                .expect("the client's answer");
            socket.emit("answered", &answer).expect("emit");
        });
    });
    let mut sender = server.ws().await;
    let mut other = server.ws().await;
    sender.join("/chat").await;
    other.join("/chat").await;

    sender.send(r#"42/chat,["go"]"#).await;
    assert_eq!(sender.recv_text().await, r#"42/chat,["self",1]"#);
    let ask = sender.recv_text().await;
    let id = ask
        .strip_prefix("42/chat,")
        .and_then(|rest| rest.strip_suffix(r#"["ask"]"#))
        .unwrap_or_else(|| panic!("expected an ask with an ack id, got {ask:?}"));
    sender.send(&format!(r#"43/chat,{id}["yes"]"#)).await;
    assert_eq!(sender.recv_text().await, r#"42/chat,["answered","yes"]"#);

    assert_eq!(other.recv_text().await, r#"42/chat,["room",2]"#);
    assert_eq!(other.recv_text().await, r#"42/chat,["all",3]"#);
}

/// Broadcast acknowledgements as a stream: in the order the clients answer,
/// each with its socket's id, the silent one as a timeout at the end; the
/// collected future gathers the same answers.
#[tokio::test]
async fn broadcast_acks_stream_in_arrival_order_with_socket_ids() {
    use futures_util::StreamExt;
    use socketio_axum::AckError;

    let server = SioServer::start(sio_config()).await;
    server.io.ns("/", |_: SocketRef| async move {});
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let mut c = server.ws().await;
        ids.push(c.join("/").await);
        clients.push(c);
    }
    let ask = |io: &SocketIo| {
        io.timeout(std::time::Duration::from_millis(600))
            .emit_with_ack::<_, String>("ask", &())
            .expect("emit")
    };
    // The ack id each client was asked with.
    async fn asked(clients: &mut [socketio_axum_tests::SioWs]) -> Vec<String> {
        let mut ids = Vec::new();
        for c in clients.iter_mut() {
            let frame = c.recv_text().await;
            let id = frame
                .strip_prefix("42")
                .and_then(|f| f.strip_suffix(r#"["ask"]"#))
                .unwrap_or_else(|| panic!("expected an ask with an ack id, got {frame:?}"));
            ids.push(id.to_owned());
        }
        ids
    }

    // Client 2 answers first, then client 0; client 1 never does.
    let mut stream = ask(&server.io).into_stream();
    let acks = asked(&mut clients).await;
    clients[2]
        .send(&format!(r#"43{}["from 2"]"#, acks[2]))
        .await;
    let (socket, answer) = stream.next().await.expect("an answer");
    assert_eq!(socket.map(|s| s.to_string()), Some(ids[2].clone()));
    assert_eq!(answer.expect("ok"), "from 2");
    clients[0]
        .send(&format!(r#"43{}["from 0"]"#, acks[0]))
        .await;
    let (socket, answer) = stream.next().await.expect("an answer");
    assert_eq!(socket.map(|s| s.to_string()), Some(ids[0].clone()));
    assert_eq!(answer.expect("ok"), "from 0");
    let (socket, answer) = stream.next().await.expect("the silent one");
    assert_eq!(socket.map(|s| s.to_string()), Some(ids[1].clone()));
    assert!(matches!(answer, Err(AckError::Timeout(_))), "{answer:?}");
    assert!(stream.next().await.is_none(), "the stream ends");

    // The collected future: every answer, once the last is in or the
    // timeout passed (in the order the sockets were reached).
    let collected = ask(&server.io);
    let acks = asked(&mut clients).await;
    for k in [2usize, 0] {
        clients[k]
            .send(&format!(r#"43{}["from {k}"]"#, acks[k]))
            .await;
    }
    let replies = collected.await;
    let mut answers: Vec<String> = replies
        .iter()
        .filter_map(|r| r.as_ref().ok().cloned())
        .collect();
    answers.sort();
    assert_eq!(answers, ["from 0", "from 2"], "{replies:?}");
    let timeouts = replies
        .iter()
        .filter(|r| matches!(r, Err(AckError::Timeout(_))));
    assert_eq!(timeouts.count(), 1, "{replies:?}");
    assert_eq!(replies.len(), 3);
}
