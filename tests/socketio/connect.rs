//! Joining namespaces, over literal frames: the refusal of an unknown
//! namespace, socket ids and their rooms, the connect timeout, events sent
//! while the connect handler is still running, and `SocketIo` used from an
//! ordinary axum route.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    extract::Path,
    routing::{get, post},
};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::Value;
use socketio_axum::{
    extract::{AckSender, Data, State},
    SocketIo, SocketIoConfig, SocketRef,
};
use socketio_axum_tests::{sio_config, SioServer, SioWs};
use tokio::sync::Notify;

use crate::common::{observe, Seen};

#[tokio::test]
async fn unknown_namespace_is_refused_with_invalid_namespace() {
    let server = SioServer::start(sio_config()).await;
    let mut client = server.ws().await;
    client.send("40/random,").await;
    assert_eq!(
        client.recv_text().await,
        r#"44/random,{"message":"Invalid namespace"}"#
    );
    // The connection stays usable for other namespaces.
    client.join("/").await;
}

#[derive(Debug)]
struct Joined {
    ns: String,
    id: String,
    connection: String,
    rooms: Vec<String>,
}

#[tokio::test]
async fn sockets_have_their_own_ids_and_rooms() {
    let (seen, mut joined) = observe::<Joined>();
    let builder = SocketIo::builder().config(sio_config()).with_state(seen);
    let server = SioServer::start_with(builder, axum::Router::new()).await;
    let report = |socket: SocketRef, State(seen): State<Seen<Joined>>| async move {
        seen.send(Joined {
            ns: socket.ns().to_string(),
            id: socket.id().to_string(),
            connection: socket.connection_id().to_string(),
            rooms: socket.rooms().iter().map(|r| r.to_string()).collect(),
        });
    };
    server.io.ns("/", report);
    server.io.ns("/chat", report);

    let mut client = server.ws().await;
    let main_id = client.join("/").await;
    let chat_id = client.join("/chat").await;
    for (ns, id) in [("/", &main_id), ("/chat", &chat_id)] {
        let j = joined.next("a connect handler").await;
        assert_eq!((j.ns.as_str(), &j.id), (ns, id), "{j:?}");
        assert_eq!(
            j.connection, client.eio_sid,
            "the connection id is the Engine.IO sid"
        );
        assert_eq!(
            j.rooms,
            std::slice::from_ref(id),
            "a socket starts in its own room only"
        );
    }
    assert_ne!(main_id, client.eio_sid);
    assert_ne!(chat_id, client.eio_sid);
    assert_ne!(main_id, chat_id);
    assert!(server.io.rooms().iter().any(|r| r.as_str() == main_id));

    // The room named after a socket's id reaches that socket.
    server
        .io
        .to(main_id.clone())
        .emit("direct", "main")
        .expect("emit");
    assert_eq!(client.recv_text().await, r#"42["direct","main"]"#);
    server
        .io
        .of("/chat")
        .expect("/chat")
        .to(chat_id)
        .emit("direct", "chat")
        .expect("emit");
    assert_eq!(client.recv_text().await, r#"42/chat,["direct","chat"]"#);
}

/// A server whose main namespace acknowledges `echo` with its argument,
/// with the given `connect_timeout`.
async fn echo_server(connect_timeout: Duration) -> SioServer {
    let config = SocketIoConfig::builder()
        .ping_interval(Duration::from_secs(60))
        .connect_timeout(connect_timeout)
        .build();
    let server = SioServer::start(config).await;
    server.io.ns("/", |socket: SocketRef| async move {
        socket.on("echo", |Data(v): Data<Value>, ack: AckSender| async move {
            ack.send(&(v,)).expect("ack");
        });
    });
    server
}

#[tokio::test]
async fn no_connect_within_connect_timeout_closes_the_connection() {
    let timeout = Duration::from_millis(300);
    let server = echo_server(timeout).await;
    // A client that joins in time, opened first: its own deadline passes
    // before the other's.
    let mut punctual = server.ws().await;
    punctual.join("/").await;

    let start = Instant::now();
    let mut idle = server.ws().await;
    let before = idle.closed_by_server().await;
    let elapsed = start.elapsed();
    assert!(before.is_empty(), "frames before the close: {before:?}");
    assert!(
        elapsed >= timeout && elapsed < timeout + Duration::from_secs(2),
        "closed after {elapsed:?}, connect_timeout {timeout:?}"
    );

    punctual.send(r#"421["echo","on time"]"#).await;
    assert_eq!(punctual.recv_text().await, r#"431["on time"]"#);
}

#[tokio::test]
async fn a_connect_timeout_too_long_to_represent_never_fires() {
    let server = echo_server(Duration::MAX).await;
    let mut client = server.ws().await;
    client.join("/").await;
    client.send(r#"421["echo","still here"]"#).await;
    assert_eq!(client.recv_text().await, r#"431["still here"]"#);
}

#[derive(Debug, PartialEq)]
enum Step {
    Entered,
    Registered,
    Early(u32),
}

#[tokio::test]
async fn events_sent_during_the_connect_handler_are_handled_after_it() {
    let (seen, mut steps) = observe::<Step>();
    let gate = Arc::new(Notify::new());
    let builder = SocketIo::builder()
        .config(sio_config())
        .with_state(seen)
        .with_state(gate.clone());
    let server = SioServer::start_with(builder, axum::Router::new()).await;
    server.io.ns(
        "/",
        |socket: SocketRef, State(seen): State<Seen<Step>>, State(gate): State<Arc<Notify>>| async move {
            seen.send(Step::Entered);
            // Something slow, such as a database lookup; the client's events
            // arrive meanwhile, before their handler exists.
            gate.notified().await;
            socket.on(
                "early",
                |Data(n): Data<u32>, State(seen): State<Seen<Step>>, ack: AckSender| async move {
                    seen.send(Step::Early(n));
                    ack.send(&(n,)).expect("ack");
                },
            );
            seen.send(Step::Registered);
        },
    );

    let mut client: SioWs = server.ws().await;
    // CONNECT and two events in one write.
    client.feed("40".into()).await;
    client.feed(r#"421["early",1]"#.into()).await;
    client.feed(r#"422["early",2]"#.into()).await;
    client.flush().await;
    let connect = client.recv_text().await;
    assert!(connect.starts_with(r#"40{"sid":""#), "{connect}");
    assert_eq!(steps.next("the connect handler").await, Step::Entered);

    gate.notify_one();
    assert_eq!(client.recv_text().await, "431[1]");
    assert_eq!(client.recv_text().await, "432[2]");
    assert_eq!(steps.next("registration").await, Step::Registered);
    assert_eq!(steps.next("early 1").await, Step::Early(1));
    assert_eq!(steps.next("early 2").await, Step::Early(2));
}

async fn notify(io: SocketIo, Path(room): Path<String>, body: String) -> &'static str {
    io.to(room).emit("notify", &body).expect("emit notify");
    io.emit("after", &()).expect("emit after");
    "sent"
}

async fn rooms(io: SocketIo) -> String {
    let mut rooms: Vec<String> = io.rooms().iter().map(|r| r.to_string()).collect();
    rooms.sort();
    rooms.join("\n")
}

#[tokio::test]
async fn an_http_route_reaches_sockets_through_the_socketio_extractor() {
    let routes = axum::Router::new()
        .route("/notify/{room}", post(notify))
        .route("/rooms", get(rooms));
    let server = SioServer::start_with(SocketIo::builder().config(sio_config()), routes).await;
    server.io.ns(
        "/",
        |socket: SocketRef, Data(auth): Data<Value>| async move {
            if auth["vip"] == true {
                socket.join("vip");
            }
        },
    );
    let mut vip = server.ws().await;
    vip.send(r#"40{"vip":true}"#).await;
    let vip_id = connect_sid(&vip.recv_text().await);
    let mut plain = server.ws().await;
    let plain_id = plain.join("/").await;

    let req = Request::post("/notify/vip")
        .body(Full::new(Bytes::from_static(b"hello")))
        .expect("request");
    let res = server.request(req).await;
    assert_eq!((res.status, res.text()), (StatusCode::OK, "sent"));
    assert_eq!(vip.recv_text().await, r#"42["notify","hello"]"#);
    assert_eq!(vip.recv_text().await, r#"42["after"]"#);
    assert_eq!(plain.recv_text().await, r#"42["after"]"#, "not in the room");

    let req = Request::get("/rooms")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let res = server.request(req).await;
    assert_eq!(res.status, StatusCode::OK);
    let mut want = [plain_id, vip_id, "vip".to_owned()];
    want.sort();
    assert_eq!(res.text(), want.join("\n"));
}

/// The socket id in a `CONNECT` answer to the main namespace.
fn connect_sid(frame: &str) -> String {
    let json = frame
        .strip_prefix("40")
        .unwrap_or_else(|| panic!("not a CONNECT: {frame:?}"));
    let body: Value = serde_json::from_str(json).expect("CONNECT JSON");
    body["sid"].as_str().expect("sid").to_owned()
}
