//! Rooms as extractors: `ToRoom` takes the room from an HTTP route and
//! broadcasts there, `Rooms` reports a namespace's rooms and members in a
//! route and in an event handler, with the namespace named by a type.

use axum::{
    extract::Json,
    routing::{get, post},
};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};
use socketio_axum::{
    extract::{AckSender, Data, NamespacePath, Rooms, ToRoom},
    SocketIo, SocketRef,
};
use socketio_axum_tests::{sio_config, SioServer};

struct Chat;
impl NamespacePath for Chat {
    const PATH: &'static str = "/chat";
}

struct Unregistered;
impl NamespacePath for Unregistered {
    const PATH: &'static str = "/nowhere";
}

async fn say(ToRoom(room): ToRoom, rooms: Rooms, text: String) -> Json<Value> {
    let sent = room.emit("news", &text).is_ok();
    Json(json!({ "sent": sent, "members": rooms.len("blue") }))
}

async fn list<N: NamespacePath>(rooms: Rooms<N>) -> Json<Value> {
    let mut named: Vec<(String, usize)> = rooms
        .names()
        .into_iter()
        .map(|r| (r.to_string(), rooms.len(&r)))
        .collect();
    named.sort();
    Json(json!({ "ns": rooms.namespace(), "rooms": named }))
}

fn on_connect(socket: SocketRef) {
    socket.on(
        "join",
        |socket: SocketRef, Data(room): Data<String>, ack: AckSender| async move {
            socket.join(room);
            ack.send(&()).expect("ack");
        },
    );
    socket.on(
        "census",
        |rooms: Rooms, Data(room): Data<String>, ack: AckSender| async move {
            ack.send(&rooms.len(&room)).expect("ack");
        },
    );
}

async fn request(
    server: &SioServer,
    method: &str,
    uri: &str,
    body: &'static str,
) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("request");
    let res = server.request(req).await;
    (res.status, res.text().to_owned())
}

#[tokio::test]
async fn routes_and_handlers_reach_rooms_through_extractors() {
    let routes = axum::Router::new()
        .route("/rooms/{room}", post(say))
        .route("/rooms", get(list::<socketio_axum::extract::Main>))
        .route("/chat/rooms", get(list::<Chat>))
        .route("/nowhere/rooms", get(list::<Unregistered>));
    let server = SioServer::start_with(SocketIo::builder().config(sio_config()), routes).await;
    server
        .io
        .ns("/", |socket: SocketRef| async move { on_connect(socket) });
    server.io.ns(
        "/chat",
        |socket: SocketRef| async move { socket.join("lobby") },
    );

    let mut blue = server.ws().await;
    let blue_id = blue.join("/").await;
    blue.send(r#"421["join","blue"]"#).await;
    assert_eq!(blue.recv_text().await, "431[]");
    let mut other = server.ws().await;
    let other_id = other.join("/").await;
    let chat_id = other.join("/chat").await;

    // A route broadcasts to the room of its path and reports its members.
    let (status, body) = request(&server, "POST", "/rooms/blue", "hello").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"sent": true, "members": 1})
    );
    assert_eq!(blue.recv_text().await, r#"42["news","hello"]"#);
    // Not the socket outside the room: its next frame is the census answer.
    other.send(r#"427["census","blue"]"#).await;
    assert_eq!(
        other.recv_text().await,
        "437[1]",
        "Rooms in an event handler"
    );

    // The room map of `/` and, typed, of `/chat`.
    let (_, body) = request(&server, "GET", "/rooms", "").await;
    let mut want = vec![(blue_id, 1), (other_id, 1), ("blue".to_owned(), 1)];
    want.sort();
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"ns": "/", "rooms": want})
    );
    let (_, body) = request(&server, "GET", "/chat/rooms", "").await;
    let mut want = vec![(chat_id, 1), ("lobby".to_owned(), 1)];
    want.sort();
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"ns": "/chat", "rooms": want})
    );

    // A namespace nobody registered is the server's mistake: 500, no detail.
    let (status, body) = request(&server, "GET", "/nowhere/rooms", "").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
    );
}
