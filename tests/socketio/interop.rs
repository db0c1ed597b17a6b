//! Interoperability with the official npm `socket.io-client` (4.8.x), run by
//! `tests/node/sio_interop.mjs` over long-polling, WebSocket, and polling
//! upgraded to WebSocket: JSON and binary arguments both ways, acks both
//! ways, a server-side ack timeout, and the ack error of a refused event.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use socketio_axum::{
    extract::{AckSender, Data, State},
    AckError, Binary, SocketIo, SocketRef,
};
use socketio_axum_tests::{node_script, sio_config, SioServer};

use crate::common::{observe, Observed, Seen};

/// How long the server waits for the ack the client never sends.
const SILENT_TIMEOUT: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Order {
    item: String,
    qty: u32,
    tags: Vec<String>,
}

/// What the server's handlers saw.
#[derive(Debug)]
enum Saw {
    Connected(String),
    Order(Order, u32),
    Blob(Vec<u8>, String),
    Answer(Result<Value, String>),
    Silent { timed_out: bool, elapsed: Duration },
}

async fn on_connect(socket: SocketRef, State(seen): State<Seen<Saw>>) {
    seen.send(Saw::Connected(socket.id().to_string()));
    socket.on(
        "order",
        |State(seen): State<Seen<Saw>>,
         Data((order, round)): Data<(Order, u32)>,
         ack: AckSender| async move {
            let reply = json!({ "item": order.item, "qty": order.qty, "tags": order.tags.len(), "round": round });
            seen.send(Saw::Order(order, round));
            ack.send(&(reply,)).expect("ack the order");
        },
    );
    socket.on(
        "blob",
        |socket: SocketRef,
         State(seen): State<Seen<Saw>>,
         Data((blob, label)): Data<(Binary, String)>,
         ack: AckSender| async move {
            seen.send(Saw::Blob(blob.to_vec(), label.clone()));
            let mut reversed = blob.to_vec();
            reversed.reverse();
            ack.send(&(Binary::from(reversed), label.len()))
                .expect("ack the blob");
            socket
                .emit("blob-back", &(blob, "echo"))
                .expect("emit blob-back");
        },
    );
    socket.on(
        "ask",
        |socket: SocketRef,
         State(seen): State<Seen<Saw>>,
         Data(round): Data<u32>,
         ack: AckSender| async move {
            let answer = socket
                .emit_with_ack::<_, Value>("question", &json!({ "n": 21 }))
                .await
                .map_err(|e| e.to_string());
            seen.send(Saw::Answer(answer));
            let start = Instant::now();
            let silent = socket
                .timeout(SILENT_TIMEOUT)
                .emit_with_ack::<_, Value>("silent", &())
                .await;
            seen.send(Saw::Silent {
                timed_out: matches!(silent, Err(AckError::Timeout(d)) if d == SILENT_TIMEOUT),
                elapsed: start.elapsed(),
            });
            ack.send(&("asked", round)).expect("ack ask");
        },
    );
}

async fn server() -> (SioServer, Observed<Saw>) {
    let (seen, observed) = observe();
    let builder = SocketIo::builder().config(sio_config()).with_state(seen);
    let server = SioServer::start_with(builder, axum::Router::new()).await;
    server.io.ns("/", on_connect);
    (server, observed)
}

/// Runs the script in `mode` for `rounds` rounds; checks what the server
/// saw and what the client printed; returns the client's lines.
async fn run(mode: &str, rounds: u32) -> Vec<Value> {
    let (server, mut saw) = server().await;
    let out = node_script("sio_interop.mjs", &[&server.url(), mode]).await;
    out.assert_success();
    let lines = out.json_lines();
    let of =
        |event: &str| -> Vec<&Value> { lines.iter().filter(|l| l["event"] == event).collect() };

    let Saw::Connected(id) = saw.next("the connection").await else {
        panic!("first report is not the connection")
    };
    assert_eq!(
        of("connect")[0]["id"],
        id.as_str(),
        "the client's socket id"
    );

    for round in 1..=rounds {
        let order = Order {
            item: "tea ✓".into(),
            qty: 3,
            tags: vec!["hot".into(), "green".into()],
        };
        match saw.next("the order").await {
            Saw::Order(o, r) => assert_eq!((o, r), (order, round)),
            other => panic!("expected the order of round {round}, saw {other:?}"),
        }
        let bytes = vec![round as u8, 0, 1, 127, 128, 255];
        match saw.next("the blob").await {
            Saw::Blob(b, label) => assert_eq!((b, label.as_str()), (bytes.clone(), "label")),
            other => panic!("expected the blob of round {round}, saw {other:?}"),
        }
        match saw.next("the client's answer").await {
            Saw::Answer(answer) => assert_eq!(answer, Ok(json!({ "answer": 42 }))),
            other => panic!("expected the answer of round {round}, saw {other:?}"),
        }
        match saw.next("the silent ack's timeout").await {
            Saw::Silent { timed_out, elapsed } => {
                assert!(timed_out, "the silent ack did not end in AckError::Timeout");
                assert!(
                    elapsed >= SILENT_TIMEOUT && elapsed < SILENT_TIMEOUT + Duration::from_secs(2),
                    "timed out after {elapsed:?}, set to {SILENT_TIMEOUT:?}"
                );
            }
            other => panic!("expected the silent timeout of round {round}, saw {other:?}"),
        }

        let i = round as usize - 1;
        assert_eq!(
            of("order-ack")[i]["ack"],
            json!([{ "item": "tea ✓", "qty": 3, "tags": 2, "round": round }]),
            "{lines:#?}"
        );
        let mut reversed = bytes.clone();
        reversed.reverse();
        assert_eq!(of("blob")[i]["ack"], json!([reversed, 5]), "{lines:#?}");
        assert_eq!(of("blob")[i]["back"], json!([bytes, "echo"]), "{lines:#?}");
        assert_eq!(of("question")[i]["q"], json!({ "n": 21 }), "{lines:#?}");
        assert_eq!(of("silent")[i]["acked"], true, "an ack was asked for");
        assert_eq!(
            of("ask-ack")[i]["ack"],
            json!(["asked", round]),
            "{lines:#?}"
        );
        // The refused order: the documented ack error, and the handler did not run.
        let refused = &of("bad-order-ack")[i]["ack"];
        assert!(
            refused[0]["error"]
                .as_str()
                .is_some_and(|e| e.contains("invalid data")),
            "ack of an order with bad data: {refused}"
        );
    }
    assert!(
        saw.drain().iter().all(|s| !matches!(s, Saw::Order(..))),
        "the order handler ran for the bad order"
    );
    lines
}

fn transports(lines: &[Value]) -> Vec<&str> {
    lines
        .iter()
        .filter(|l| l["event"] != "end")
        .map(|l| l["transport"].as_str().unwrap_or("?"))
        .collect()
}

#[tokio::test]
async fn socket_io_client_over_polling() {
    let lines = run("polling", 1).await;
    assert!(
        transports(&lines).iter().all(|t| *t == "polling"),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn socket_io_client_over_websocket() {
    let lines = run("websocket", 1).await;
    assert!(
        transports(&lines).iter().all(|t| *t == "websocket"),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn socket_io_client_upgrades_and_keeps_its_socket() {
    let lines = run("upgrade", 2).await;
    assert_eq!(
        lines[0],
        json!({ "event": "engine-open", "transport": "polling" }),
        "the connection starts on long-polling"
    );
    let upgraded = lines
        .iter()
        .position(|l| l["event"] == "upgraded")
        .expect("the client upgraded");
    assert!(
        transports(&lines[upgraded..])
            .iter()
            .all(|t| *t == "websocket"),
        "round 2 ran over WebSocket: {lines:#?}"
    );
}
