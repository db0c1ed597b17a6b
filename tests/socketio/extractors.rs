//! Extractor failures: the handler does not run, and a client that asked
//! for an ack gets the documented error `[{"error": "<why>"}]`.

use serde::Deserialize;
use serde_json::Value;
use socketio_axum::{
    extract::{AckSender, Data, Extension, State},
    SocketIo, SocketRef,
};
use socketio_axum_tests::{sio_config, SioServer, SioWs};

use crate::common::{observe, Observed, Seen};

#[derive(Debug, PartialEq, Deserialize)]
struct Order {
    item: String,
    qty: u32,
}

#[derive(Debug, Clone)]
struct User;

/// A server whose "order" handler takes `Data<Order>` and whose "whoami"
/// handler takes an `Extension<User>` that no socket holds; each reports
/// its runs.
async fn server() -> (SioServer, Observed<String>) {
    let (seen, observed) = observe::<String>();
    let builder = SocketIo::builder().config(sio_config()).with_state(seen);
    let server = SioServer::start_with(builder, axum::Router::new()).await;
    server.io.ns("/", |socket: SocketRef| async move {
        socket.on(
            "order",
            |Data(order): Data<Order>, State(seen): State<Seen<String>>, ack: AckSender| async move {
                seen.send(format!("order {} x{}", order.item, order.qty));
                ack.send("ok").expect("ack");
            },
        );
        socket.on(
            "whoami",
            |Extension(_): Extension<User>, State(seen): State<Seen<String>>, ack: AckSender| async move {
                seen.send("whoami".into());
                ack.send("user").expect("ack");
            },
        );
    });
    (server, observed)
}

/// The message of an ack error frame `43<id>[{"error":"..."}]`.
fn ack_error(frame: &str, id: u32) -> String {
    let json = frame
        .strip_prefix(&format!("43{id}"))
        .unwrap_or_else(|| panic!("expected ack {id}, got {frame:?}"));
    let args: Value = serde_json::from_str(json).expect("ack JSON");
    let [arg] = args.as_array().map(Vec::as_slice).unwrap_or_default() else {
        panic!("an ack error has one argument: {frame}")
    };
    let obj = arg.as_object().expect("an object");
    assert_eq!(obj.len(), 1, "only the error field: {frame}");
    obj["error"].as_str().expect("error text").to_owned()
}

async fn joined(server: &SioServer) -> SioWs {
    let mut client = server.ws().await;
    client.join("/").await;
    client
}

#[tokio::test]
async fn bad_data_is_refused_with_an_ack_error_and_the_handler_does_not_run() {
    let (server, mut runs) = server().await;
    let mut client = joined(&server).await;

    client.send(r#"421["order","not an order"]"#).await;
    let error = ack_error(&client.recv_text().await, 1);
    assert!(
        error.starts_with("invalid data: invalid type: string \"not an order\""),
        "{error}"
    );
    client
        .send(r#"422["order",{"item":"tea","qty":"two"}]"#)
        .await;
    let error = ack_error(&client.recv_text().await, 2);
    assert!(error.contains("expected u32"), "{error}");
    // Without an ack id there is nobody to tell; the handler still does not run.
    client.send(r#"42["order",{"item":"tea"}]"#).await;

    client.send(r#"423["order",{"item":"tea","qty":2}]"#).await;
    assert_eq!(client.recv_text().await, r#"433["ok"]"#);
    assert_eq!(runs.next("the valid order").await, "order tea x2");
    assert_eq!(
        runs.drain(),
        Vec::<String>::new(),
        "the handler ran for bad data"
    );
}

#[tokio::test]
async fn missing_extension_is_refused_with_an_ack_error_that_names_no_rust_type() {
    let (server, mut runs) = server().await;
    let mut client = joined(&server).await;

    client.send(r#"427["whoami"]"#).await;
    let error = ack_error(&client.recv_text().await, 7);
    // The server's fault: the client learns that much, the log the rest.
    assert_eq!(error, "internal server error");
    // The connection is still served after the refusal.
    client.send(r#"428["order",{"item":"tea","qty":1}]"#).await;
    assert_eq!(client.recv_text().await, r#"438["ok"]"#);
    assert_eq!(runs.next("the order").await, "order tea x1");
    assert_eq!(
        runs.drain(),
        Vec::<String>::new(),
        "whoami ran without its extension"
    );
}

#[tokio::test]
async fn packet_middleware_refuses_events_before_their_handler() {
    let (seen, mut runs) = observe::<String>();
    let builder = SocketIo::builder().config(sio_config()).with_state(seen);
    let server = SioServer::start_with(builder, axum::Router::new()).await;
    server.io.ns("/", |socket: SocketRef| async move {
        socket.use_packet(|_socket, parts| {
            if parts.event().starts_with("admin:") {
                Err("forbidden".to_owned())
            } else {
                Ok(())
            }
        });
        socket.on_any(
            |socketio_axum::extract::Event(name): socketio_axum::extract::Event,
             State(seen): State<Seen<String>>,
             ack: AckSender| async move {
                seen.send(name.to_string());
                ack.send("done").expect("ack");
            },
        );
    });
    let mut client = joined(&server).await;

    client.send(r#"421["admin:wipe"]"#).await;
    assert_eq!(ack_error(&client.recv_text().await, 1), "forbidden");
    client.send(r#"422["hello"]"#).await;
    assert_eq!(client.recv_text().await, r#"432["done"]"#);
    assert_eq!(runs.next("the allowed event").await, "hello");
    assert_eq!(
        runs.drain(),
        Vec::<String>::new(),
        "the refused event reached its handler"
    );
}

#[tokio::test]
async fn missing_state_in_a_connect_handler_is_a_connect_error_that_names_no_rust_type() {
    let server = SioServer::start(sio_config()).await;
    server.io.ns(
        "/",
        |_: SocketRef, State(_): State<std::sync::Arc<u64>>| async move {},
    );
    let mut client = server.ws().await;
    client.send("40").await;
    assert_eq!(
        client.recv_text().await,
        r#"44{"message":"internal server error"}"#
    );
}
