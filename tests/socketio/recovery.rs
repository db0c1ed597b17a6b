//! Connection state recovery (Node's `connectionStateRecovery`): the
//! official client against our server and against Node's
//! (`tests/node/csr_server.mjs`), with the same handlers and the same
//! script (`tests/node/sio_csr.mjs`), which must see the same things; and
//! the wire itself: `pid` in the `CONNECT` answer, the offset as the last
//! argument of an event.

use std::time::Duration;

use crate::common::{node_server, NodeServer};
use serde_json::{json, Value};
use socketio_axum::{
    extract::{AckSender, Data},
    Binary, ConnectionStateRecovery, DisconnectReason, Parser, SocketIo, SocketIoConfig, SocketRef,
};
use socketio_axum_tests::{node_script, within, SioServer};

/// Our server with the handlers of `tests/node/csr_server.mjs` and the same
/// one-second window.
async fn our_server() -> SioServer {
    our_server_with(window(), Duration::from_secs(60)).await
}

fn window() -> ConnectionStateRecovery {
    ConnectionStateRecovery::default().max_disconnection_duration(Duration::from_secs(1))
}

/// `ping` is both the ping interval and the ping timeout.
async fn our_server_with(recovery: ConnectionStateRecovery, ping: Duration) -> SioServer {
    our_server_on(recovery, ping, Parser::Json).await
}

async fn our_server_on(
    recovery: ConnectionStateRecovery,
    ping: Duration,
    parser: Parser,
) -> SioServer {
    let config = SocketIoConfig::builder()
        .ping_interval(ping)
        .ping_timeout(ping)
        .parser(parser)
        .connection_state_recovery(recovery)
        .build();
    let server =
        SioServer::start_with(SocketIo::builder().config(config), axum::Router::new()).await;
    server.io.ns("/", |socket: SocketRef| async move {
        socket.on("bin", |socket: SocketRef| async move {
            socket.emit("b", &Binary::from(vec![1u8, 2])).expect("emit");
        });
        socket.on("setup", |socket: SocketRef, ack: AckSender| async move {
            socket.join(["a", "b"]);
            socket.set_data(json!({ "n": 42 }));
            socket.emit("m", &0).expect("emit");
            ack.send(&()).expect("ack");
        });
        socket.on(
            "cut",
            |socket: SocketRef, io: SocketIo, Data(how): Data<String>| async move {
                if how == "kick" {
                    socket.disconnect();
                } else {
                    socket.conn().close();
                }
                emit_while_away(&socket, &io);
            },
        );
        socket.on_disconnect(|socket: SocketRef, reason: DisconnectReason| async move {
            if reason == DisconnectReason::PingTimeout {
                emit_while_away(&socket, &socket.io());
            }
        });
        socket.on("after", |socket: SocketRef, ack: AckSender| async move {
            socket.emit("m", &100).expect("emit");
            ack.send(&()).expect("ack");
        });
        socket.on("state", |socket: SocketRef, ack: AckSender| async move {
            let id = socket.id().to_string();
            let mut rooms: Vec<String> = socket
                .rooms()
                .into_iter()
                .map(|r| r.to_string())
                .filter(|r| *r != id)
                .collect();
            rooms.sort();
            let state = json!({
                "recovered": socket.recovered(),
                "id": id,
                "rooms": rooms,
                "data": socket.data(),
            });
            ack.send(&state).expect("ack");
        });
    });
    server
}

/// What the server emits once the socket is gone or going: these fail or
/// are dropped live, and are kept for recovery.
fn emit_while_away(socket: &SocketRef, io: &SocketIo) {
    let _ = socket.emit("m", &1);
    io.to("a").emit("m", &2).expect("emit");
    io.to("c").emit("m", &3).expect("emit");
    io.emit("m", &(4, json!({ "x": [1] }))).expect("emit");
    io.to("b").except("a").emit("m", &5).expect("emit");
    io.volatile().emit("m", &6).expect("emit");
    io.to(["a", "b"]).emit("m", &7).expect("emit");
    for i in 0..1000 {
        if i % 2 == 0 {
            let _ = socket.emit("bulk", &i);
        } else {
            io.to("a").emit("bulk", &i).expect("emit");
        }
    }
}

/// Node's server (`tests/node/csr_server.mjs`), until dropped; `args`: the
/// ping interval and timeout in ms, if not 60 s.
async fn nodes_server(args: &[&str]) -> NodeServer {
    node_server("csr_server.mjs", args).await
}

/// The lines of `sio_csr.mjs`, the `state` line without its socket id.
async fn run(url: &str, transport: &str, scenario: &str) -> Vec<Value> {
    run_with(&[url, transport, scenario]).await
}

async fn run_with(args: &[&str]) -> Vec<Value> {
    let out = node_script("sio_csr.mjs", args).await;
    out.assert_success();
    out.json_lines()
        .into_iter()
        .filter(|l| l["event"] != "end")
        .map(|mut l| {
            if let Some(o) = l.as_object_mut() {
                o.remove("id");
            }
            l
        })
        .collect()
}

fn m(n: u32, args: u32) -> Value {
    json!({"event": "m", "n": n, "args": args, "offset": true})
}

#[tokio::test]
async fn the_official_client_recovers_its_state_and_missed_events_on_ours_as_on_nodes() {
    let ours = our_server().await;
    let node = nodes_server(&[]).await;
    let recovered = recovered("transport close");
    let cases = [
        ("recover", recovered),
        // Past the one-second window.
        ("expire", fresh("transport close")),
        // `disconnect()` on the server: nothing is kept.
        ("kick", fresh("io server disconnect")),
    ];
    for transport in ["websocket", "polling"] {
        for (scenario, want) in &cases {
            for (who, url) in [("Node's", node.url.clone()), ("ours", ours.url())] {
                let lines = run(&url, transport, scenario).await;
                assert_eq!(&lines, want, "{who}, {transport}, {scenario}");
            }
        }
    }
}

/// A client that stops answering pings: the server closes the connection
/// ("ping timeout", the client sees "transport close"), emits while it is
/// away, and the client recovers.
#[tokio::test]
async fn a_client_recovers_after_a_ping_timeout_on_ours_as_on_nodes() {
    let ours = our_server_with(window(), Duration::from_millis(300)).await;
    let node = nodes_server(&["300", "300"]).await;
    for (who, url) in [("Node's", node.url.clone()), ("ours", ours.url())] {
        let lines = run(&url, "websocket", "ping").await;
        assert_eq!(lines, recovered("transport close"), "{who}");
    }
}

/// With the msgpack parser the offset is written into each msgpack packet
/// as into the JSON ones.
#[tokio::test]
async fn the_official_client_with_the_msgpack_parser_recovers_on_ours() {
    let ours = our_server_on(window(), Duration::from_secs(60), Parser::Msgpack).await;
    for transport in ["websocket", "polling"] {
        let lines = run_with(&[&ours.url(), transport, "recover", "msgpack"]).await;
        assert_eq!(lines, recovered("transport close"), "{transport}");
    }
}

/// What a recovered client sees, after leaving with `reason`.
fn recovered(reason: &str) -> Vec<Value> {
    vec![
        json!({"event": "connect", "recovered": false}),
        m(0, 2),
        json!({"event": "disconnect", "reason": reason}),
        // Missed, in order, before `connect`: direct, room "a", everyone,
        // rooms "a"/"b"; not room "c", not "b" except "a", not volatile.
        m(1, 2),
        m(2, 2),
        m(4, 3),
        m(7, 2),
        // And the 1,000 "bulk", once each, in order, before `connect`.
        json!({"event": "reconnected", "recovered": true, "sameId": true, "bulk": 1000, "bulkInOrder": true}),
        m(100, 2),
        json!({"event": "state", "recovered": true, "rooms": ["a", "b"], "data": {"n": 42}, "sameId": true}),
    ]
}

/// What a client that is not recovered sees: the events emitted while it
/// was away are lost, as without recovery.
fn fresh(reason: &str) -> Vec<Value> {
    vec![
        json!({"event": "connect", "recovered": false}),
        m(0, 2),
        json!({"event": "disconnect", "reason": reason}),
        json!({"event": "reconnected", "recovered": false, "sameId": false, "bulk": 0, "bulkInOrder": true}),
        m(100, 2),
        json!({"event": "state", "recovered": false, "rooms": [], "data": null, "sameId": false}),
    ]
}

/// Past `max_packets` (1,000 "bulk" and more for a cap of 500) the oldest
/// packets are dropped, and the client that missed them gets a new session,
/// not a recovered one with holes.
#[tokio::test]
async fn a_client_that_missed_packets_dropped_past_the_cap_is_not_recovered() {
    let server = our_server_with(window().max_packets(500), Duration::from_secs(60)).await;
    let lines = run(&server.url(), "websocket", "recover").await;
    assert_eq!(lines, fresh("transport close"));
}

#[tokio::test]
async fn the_connect_answer_carries_a_pid_and_events_their_offset() {
    let server = our_server().await;
    let mut client = server.ws().await;
    client.send("40").await;
    let answer = client.recv_text().await;
    let body: Value = serde_json::from_str(answer.strip_prefix("40").expect("a CONNECT"))
        .unwrap_or_else(|e| panic!("{answer}: {e}"));
    let (Some(sid), Some(pid)) = (body["sid"].as_str(), body["pid"].as_str()) else {
        panic!("no sid and pid in {answer}")
    };
    assert_eq!(answer, format!(r#"40{{"sid":"{sid}","pid":"{pid}"}}"#));
    assert_ne!(sid, pid);

    // `setup` with an ack: the event it triggers carries an offset, the ack none.
    client.send(r#"421["setup"]"#).await;
    let event = client.recv_text().await;
    let args: Value =
        serde_json::from_str(event.strip_prefix("42").expect("an EVENT")).expect("JSON");
    let offset = args[2]
        .as_str()
        .unwrap_or_else(|| panic!("no offset in {event}"));
    assert_eq!(event, format!(r#"42["m",0,"{offset}"]"#));
    assert_eq!(client.recv_text().await, "431[]");

    // A binary event: the offset after its placeholder, the header as it was.
    client.send(r#"42["bin"]"#).await;
    let event = client.recv_text().await;
    let args: Value = serde_json::from_str(event.strip_prefix("451-").expect("a BINARY_EVENT"))
        .unwrap_or_else(|e| panic!("{event}: {e}"));
    let offset = args[2]
        .as_str()
        .unwrap_or_else(|| panic!("no offset in {event}"));
    assert_eq!(
        event,
        format!(r#"451-["b",{{"_placeholder":true,"num":0}},"{offset}"]"#)
    );
    assert_eq!(&client.recv_binary().await[..], &[1, 2]);

    // A second connection presenting that pid and offset is not recovered:
    // the socket is still connected.
    let mut other = server.ws().await;
    other
        .send(&format!(r#"40{{"pid":"{pid}","offset":"{offset}"}}"#))
        .await;
    let answer = other.recv_text().await;
    assert!(!answer.contains(sid), "{answer}");
}

/// A recovery refused by a middleware (with `skip_middlewares(false)`)
/// does not use the session up: the client's next attempt within the
/// window is recovered, as Node keeps a session until it expires.
#[tokio::test]
async fn a_refused_recovery_leaves_the_session_for_the_next_attempt() {
    let config = SocketIoConfig::builder()
        .ping_interval(Duration::from_secs(60))
        .ping_timeout(Duration::from_secs(60))
        .connection_state_recovery(
            ConnectionStateRecovery::default()
                .max_disconnection_duration(Duration::from_secs(30))
                .skip_middlewares(false),
        )
        .build();
    let server =
        SioServer::start_with(SocketIo::builder().config(config), axum::Router::new()).await;
    server
        .io
        .ns("/", |socket: SocketRef| async move {
            socket.on("cut", |socket: SocketRef, ack: AckSender| async move {
                socket.emit("m", &1).expect("emit");
                ack.send(&()).expect("ack");
                socket.conn().close();
            });
        })
        .with(|socket: SocketRef, Data(auth): Data<Value>| async move {
            match auth["refuse"].as_bool() {
                // Says whether it saw a recovered socket.
                Some(true) => Err(socketio_axum::ConnectError::new(if socket.recovered() {
                    "refused recovered"
                } else {
                    "refused fresh"
                })),
                _ => Ok(()),
            }
        });

    let mut first = server.ws().await;
    first.send("40").await;
    let answer = first.recv_text().await;
    let body: Value = serde_json::from_str(&answer[2..]).expect("CONNECT JSON");
    let (sid, pid) = (
        body["sid"].as_str().expect("sid"),
        body["pid"].as_str().expect("pid"),
    );
    first.send(r#"421["cut"]"#).await;
    let event = first.recv_text().await;
    let args: Value = serde_json::from_str(&event[2..]).expect("EVENT JSON");
    let offset = args[2].as_str().expect("an offset").to_owned();
    first.closed_by_server().await;

    // Refused until the session is kept (the socket's clean-up runs on its
    // own task), then refused as a recovered socket.
    let resume =
        |refuse: bool| json!({ "pid": pid, "offset": offset, "refuse": refuse }).to_string();
    within("a refusal of the recovered socket", async {
        loop {
            let mut ws = server.ws().await;
            ws.send(&format!("40{}", resume(true))).await;
            let answer = ws.recv_text().await;
            if answer.contains("refused recovered") {
                break;
            }
            assert!(answer.contains("refused fresh"), "{answer}");
        }
    })
    .await;

    // The next attempt gets the socket back.
    let mut again = server.ws().await;
    again.send(&format!("40{}", resume(false))).await;
    let answer = again.recv_text().await;
    assert!(
        answer.starts_with(&format!(r#"40{{"sid":"{sid}""#)),
        "{answer}"
    );
}
