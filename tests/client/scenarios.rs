//! What the client must do against any Socket.IO server: each scenario
//! runs against Node's server (`node.rs`) and ours (`own.rs`).

use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use socketio_client::{
    extract::{AckSender, Data},
    Binary, ClientBuilder, DisconnectReason, Transport, Transports,
};
use tokio::sync::mpsc;

use crate::harness::{builder, wait_until, within, Probe, Seen};

const ACK_WAIT: Duration = Duration::from_secs(5);

/// Connects with a client from `builder` over `transports` with a query, a header and an auth payload,
/// all of which the server must see; exchanges an event on the final
/// transport; stays connected across several heartbeats (the server pings
/// every 300 ms and waits 200 ms for the answer); then disconnects.
///
/// `server_reports_transport`: the server answers `transport` with its
/// own view of the transport.
pub(crate) async fn connect_over(
    builder: ClientBuilder,
    transports: Transports,
    server_reports_transport: bool,
) {
    let auth = json!({"token": "good", "n": 1});
    let client = builder
        .transports(transports)
        .query("x", "42")
        .header("x-test", "hello")
        .auth(auth.clone())
        .build()
        .expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_client(&client);
    probe.watch_socket(&socket);
    within("connect", socket.connect()).await.expect("connect");
    assert!(socket.connected());
    assert!(socket.id().is_some());

    let welcome = probe.event("/", "welcome").await;
    assert_eq!(welcome[0]["auth"], auth, "{welcome:?}");
    assert_eq!(welcome[0]["query"], "42", "{welcome:?}");
    assert_eq!(welcome[0]["header"], "hello", "{welcome:?}");

    let expected = match transports {
        Transports::PollingOnly => Transport::Polling,
        _ => Transport::WebSocket,
    };
    if transports == Transports::Upgrade {
        // Told by the `upgrade` callback, after which `transport()` agrees.
        let upgraded = probe
            .find("the upgrade", |s| match s {
                Seen::Upgrade(t) => Some(*t),
                _ => None,
            })
            .await;
        assert_eq!(upgraded, Transport::WebSocket);
    }
    assert_eq!(client.transport(), Some(expected));
    if server_reports_transport {
        let seen: String = socket
            .emit_with_ack("transport", &())
            .timeout(ACK_WAIT)
            .await
            .expect("transport");
        assert_eq!(seen, expected.as_str());
    }

    socket.emit("echo", &("after", 1)).expect("emit");
    assert_eq!(probe.event("/", "echo").await, [json!("after"), json!(1)]);

    // Several pings come and go: the client answers them all.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let unexpected: Vec<Seen> = probe
        .drain()
        .into_iter()
        .filter(|s| {
            matches!(
                s,
                Seen::Disconnect(..) | Seen::Connect(_) | Seen::ReconnectAttempt(_)
            )
        })
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    // One upgrade, if the client started on polling; none otherwise.
    let upgrades = probe
        .history
        .iter()
        .filter(|(_, s)| matches!(s, Seen::Upgrade(_)))
        .count();
    assert_eq!(upgrades, usize::from(transports == Transports::Upgrade));
    assert!(socket.connected());
    assert_eq!(client.transport(), Some(expected));

    client.disconnect();
    let (_, reason) = probe.disconnected("/").await;
    assert_eq!(reason, DisconnectReason::IoClientDisconnect);
    assert!(!socket.connected());
    wait_until("the connection to close", || client.transport().is_none()).await;
}

/// Events and acknowledgements both ways, with a client from `builder`.
pub(crate) async fn events_and_acks(builder: ClientBuilder) {
    let client = builder.build().expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_socket(&socket);
    socket.on(
        "question",
        |Data(q): Data<String>, ack: AckSender| async move { ack.send(&format!("answer to {q}")) },
    );
    within("connect", socket.connect()).await.expect("connect");

    // Client to server, and back as an event.
    // A tuple is the argument list, six arguments here; the server echoes
    // them as it got them.
    let args = json!(["a", 1, {"k": [1, 2]}, null, 2.5, true]);
    let tuple = ("a", 1, json!({"k": [1, 2]}), (), 2.5, true);
    socket.emit("echo", &tuple).expect("emit");
    assert_eq!(Value::from(probe.event("/", "echo").await), args);
    // A JSON array (like a Vec) is one argument, as in JavaScript.
    socket.emit("echo", &args).expect("emit");
    assert_eq!(Value::from(probe.event("/", "echo").await), json!([args]));

    // Client to server with acknowledgements of several shapes.
    let (text, n): (String, u32) = socket
        .emit_with_ack("ack", &("x", 7))
        .timeout(ACK_WAIT)
        .await
        .expect("ack");
    assert_eq!((text.as_str(), n), ("x", 7));
    let one: String = socket
        .emit_with_ack("ack", "solo")
        .timeout(ACK_WAIT)
        .await
        .expect("ack");
    assert_eq!(one, "solo");
    socket
        .emit_with_ack::<_, ()>("ack", &())
        .timeout(ACK_WAIT)
        .await
        .expect("empty ack");
    let decode = socket
        .emit_with_ack::<_, u32>("ack", "not a number")
        .timeout(ACK_WAIT)
        .await
        .expect_err("a string is no u32");
    assert!(decode.is_decode(), "{decode:?}");

    // Server to client with an acknowledgement: the server asks `question`,
    // our handler answers, the server sends the answer back.
    let answer: String = socket
        .emit_with_ack("ask", "why")
        .timeout(ACK_WAIT)
        .await
        .expect("ask");
    assert_eq!(answer, "answer to why");
    // The catch-all handler saw the event too, before the handler that answered.
    assert_eq!(probe.event("/", "question").await, [json!("why")]);

    // Reserved names are refused locally: a server would drop the connection.
    let e = socket.emit("disconnect", &()).expect_err("reserved");
    assert!(e.is_reserved_event());
    assert!(socket.connected());
    client.disconnect();
}

/// Binary arguments both ways, in events and acknowledgements: as
/// base64 in polling payloads, or as binary WebSocket messages.
///
/// The client from `builder` must end on transport `expected`.
pub(crate) async fn binary(builder: ClientBuilder, expected: Transport) {
    let client = builder.build().expect("client");
    let socket = client.socket("/");
    let (tx, mut rx) = mpsc::unbounded_channel();
    socket.on(
        "binary-back",
        move |Data((name, data)): Data<(String, Binary)>| {
            let _ = tx.send((name, data));
            async {}
        },
    );
    within("connect", socket.connect()).await.expect("connect");

    // Bytes that are not UTF-8; several packets in a row.
    for round in 0u8..3 {
        let data = Bytes::from(vec![round, 0, 1, 2, 128, 255]);
        let (len, reversed): (usize, Binary) = socket
            .emit_with_ack("binary", &("file.bin", Binary(data.clone())))
            .timeout(ACK_WAIT)
            .await
            .expect("binary ack");
        assert_eq!(len, data.len());
        let expected: Vec<u8> = data.iter().rev().copied().collect();
        assert_eq!(&reversed[..], &expected[..]);
        let (name, back) = within("binary-back", rx.recv()).await.expect("event");
        assert_eq!(name, "file.bin");
        assert_eq!(back.0, data);
    }
    assert_eq!(client.transport(), Some(expected));
    client.disconnect();
}

/// Two namespaces on one Engine.IO connection.
pub(crate) async fn namespaces(url: &str) {
    let client = builder(url, Transports::default()).build().expect("client");
    let root = client.socket("/");
    let chat = client.socket("/chat");
    let mut probe = Probe::new();
    probe.watch_socket(&root);
    probe.watch_socket(&chat);
    let (a, b) = tokio::join!(root.connect(), chat.connect());
    a.expect("connect /");
    b.expect("connect /chat");

    let welcomes = probe.event_on_each("welcome", &["/", "/chat"]).await;
    assert_eq!(welcomes[0]["ns"], "/");
    assert_eq!(welcomes[1]["ns"], "/chat");
    assert_eq!(
        welcomes[0]["engine"], welcomes[1]["engine"],
        "one Engine.IO connection for both namespaces"
    );
    assert_ne!(root.id(), chat.id());

    chat.emit("echo", "hi").expect("emit");
    assert_eq!(
        probe.event("/chat", "echo").await,
        [json!("chat"), json!("hi")]
    );
    root.emit("echo", "root").expect("emit");
    assert_eq!(probe.event("/", "echo").await, [json!("root")]);

    // Leaving one namespace keeps the connection for the other.
    chat.disconnect();
    let (_, reason) = probe.disconnected("/chat").await;
    assert_eq!(reason, DisconnectReason::IoClientDisconnect);
    root.emit("echo", "still here").expect("emit");
    assert_eq!(probe.event("/", "echo").await, [json!("still here")]);
    assert!(root.connected() && !chat.connected());
    client.disconnect();
}

/// A middleware refusing the connection with `err.data`: the client sees
/// the server's message and data, and other namespaces are unaffected.
pub(crate) async fn connect_error(url: &str) {
    let client = builder(url, Transports::default())
        .auth(json!({"token": "bad"}))
        .build()
        .expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_socket(&socket);
    let e = within("connect", socket.connect())
        .await
        .expect_err("refused");
    assert!(e.is_rejected(), "{e:?}");
    assert_eq!(e.message(), Some("not authorized"));
    assert_eq!(
        e.data(),
        Some(&json!({"code": 4001, "reason": "bad token"}))
    );
    let seen = probe
        .wait_for("connect_error", |s| match s {
            Seen::ConnectError(ns, e) if ns == "/" => Some(e.clone()),
            _ => None,
        })
        .await
        .1;
    assert_eq!(seen.data(), e.data());
    assert!(!socket.connected());

    // A refused namespace next to an accepted one, on one connection.
    let client = builder(url, Transports::default()).build().expect("client");
    let root = client.socket("/");
    let admin = client.socket("/admin");
    let mut probe = Probe::new();
    probe.watch_socket(&root);
    within("connect /", root.connect())
        .await
        .expect("connect /");
    let e = within("connect /admin", admin.connect())
        .await
        .expect_err("refused");
    assert_eq!(e.message(), Some("admins only"));
    assert_eq!(
        e.data(),
        Some(&json!({"code": 403, "reason": "not an admin"}))
    );
    root.emit("echo", "fine").expect("emit");
    assert_eq!(probe.event("/", "echo").await, [json!("fine")]);
    assert!(root.connected() && !admin.connected());
    client.disconnect();
}

/// Dynamic data with binary inside, both ways: a [`socketio_client::Value`]
/// with Buffers at two depths goes out as attachments, comes back (the
/// server echoes and acknowledges with the same arguments) as `Data<Value>`
/// and as an acknowledgement, each Buffer in its place; several such
/// arguments as `Spread<Value>`.
pub(crate) async fn values_with_binary(url: &str) {
    use socketio_client::{Spread, Value as Dynamic};

    let client = builder(url, Transports::WebSocketOnly)
        .build()
        .expect("client");
    let socket = client.socket("/");
    let (tx, mut rx) = mpsc::unbounded_channel();
    socket.on("echo", move |Data(v): Data<Dynamic>| {
        let _ = tx.send(v);
        async {}
    });
    within("connect", socket.connect()).await.expect("connect");

    let img = Bytes::from_static(&[0, 1, 128, 255]);
    let thumb = Bytes::from_static(b"thumb");
    let thumbnail = [("thumb".to_owned(), Dynamic::Binary(thumb.clone()))];
    let value: Dynamic = [
        ("name".to_owned(), Dynamic::from("pic")),
        ("img".to_owned(), Dynamic::Binary(img.clone())),
        (
            "list".to_owned(),
            Dynamic::Array(vec![Dynamic::from(1u64), thumbnail.into_iter().collect()]),
        ),
    ]
    .into_iter()
    .collect();

    socket.emit("echo", &value).expect("emit");
    let echoed = within("echo", rx.recv()).await.expect("event");
    assert_eq!(echoed, value);
    assert_eq!(echoed["list"][1]["thumb"].as_binary(), Some(&thumb));

    let acked: Dynamic = socket
        .emit_with_ack("ack", &value)
        .timeout(ACK_WAIT)
        .await
        .expect("ack");
    assert_eq!(acked, value);

    let several = Spread(vec![Dynamic::from("x"), Dynamic::Binary(img), value]);
    let Spread(back): Spread<Dynamic> = socket
        .emit_with_ack("ack", &several)
        .timeout(ACK_WAIT)
        .await
        .expect("ack");
    assert_eq!(back, several.0);
    client.disconnect();
}

/// With connection state recovery on, the client keeps the server's `pid`
/// and the offset of the last event, sends them when it reconnects, and the
/// server restores the session and replays what was missed.
pub(crate) async fn recovers_after_a_dropped_connection(url: &str) {
    let client = builder(url, Transports::WebSocketOnly)
        .reconnection_delay(Duration::from_millis(300))
        .auth(json!({"token": "good"}))
        .build()
        .expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_client(&client);
    probe.watch_socket(&socket);
    within("connect", socket.connect()).await.expect("connect");
    let welcome = probe.event("/", "welcome").await;
    // The server appends the offset of the event to its arguments.
    assert_eq!(welcome.len(), 2, "{welcome:?}");
    assert!(welcome[1].is_string(), "{welcome:?}");
    assert!(!socket.recovered());
    let first_id = socket.id();

    let answer: String = socket
        .emit_with_ack("drop", &())
        .timeout(Duration::from_secs(5))
        .await
        .expect("drop");
    assert_eq!(answer, "dropping");
    let (_, reason) = probe.disconnected("/").await;
    assert_eq!(reason, DisconnectReason::TransportClose);
    // The server replays what was missed before it confirms the
    // connection; as with the JS client, those events are handled first.
    let missed = probe.event("/", "missed").await;
    assert_eq!(missed[0], "while you were away");
    probe.connected("/").await;
    assert!(socket.recovered(), "the server restored the session");
    assert_eq!(socket.id(), first_id, "a restored session keeps its id");
    client.disconnect();
}
