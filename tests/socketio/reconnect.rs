//! The client's automatic reconnection after the server drops its
//! connection, with the events it emitted while disconnected delivered once
//! it is back (`tests/node/sio_reconnect.mjs`): the connection closed alone
//! with `socket.conn().close()` (Node's `socket.conn.close()`), or with
//! every other by `SocketIo::close`.

use serde_json::{json, Value};
use socketio_axum::{
    extract::{AckSender, Data, State},
    DisconnectReason, SocketIo, SocketRef,
};
use socketio_axum_tests::{node_script, sio_config, SioServer};

use crate::common::{observe, Seen};

#[derive(Debug, PartialEq)]
enum Saw {
    Connected { id: String, connection: String },
    Left(String, DisconnectReason),
    WhileDown(String, u32),
}

async fn on_connect(socket: SocketRef, State(seen): State<Seen<Saw>>) {
    seen.send(Saw::Connected {
        id: socket.id().to_string(),
        connection: socket.connection_id().to_string(),
    });
    socket.on("drop-me", |socket: SocketRef| async move {
        socket.conn().close()
    });
    socket.on("shut-down", |io: SocketIo| async move { io.close().await });
    socket.on(
        "while-down",
        |socket: SocketRef, State(seen): State<Seen<Saw>>, Data(n): Data<u32>, ack: AckSender| async move {
            seen.send(Saw::WhileDown(socket.id().to_string(), n));
            ack.send(&(n, socket.id().to_string())).expect("ack");
        },
    );
    socket.on_disconnect(
        |socket: SocketRef, reason: DisconnectReason, State(seen): State<Seen<Saw>>| async move {
            seen.send(Saw::Left(socket.id().to_string(), reason));
        },
    );
}

async fn run(mode: &str, event: &str, reason: DisconnectReason) {
    let (seen, mut saw) = observe();
    let builder = SocketIo::builder().config(sio_config()).with_state(seen);
    let server = SioServer::start_with(builder, axum::Router::new()).await;
    server.io.ns("/", on_connect);

    let out = node_script("sio_reconnect.mjs", &[&server.url(), mode, event]).await;
    out.assert_success();
    let lines = out.json_lines();
    let find = |event: &str| -> &Value {
        lines
            .iter()
            .find(|l| l["event"] == event)
            .unwrap_or_else(|| panic!("no {event} in {lines:#?}"))
    };

    let Saw::Connected {
        id: first,
        connection: first_conn,
    } = saw.next("the first connection").await
    else {
        panic!("expected the first connection")
    };
    assert_eq!(find("connect")["id"], first.as_str());
    assert_eq!(find("connect")["engineId"], first_conn.as_str());
    assert_eq!(
        saw.next("the first socket's disconnect").await,
        Saw::Left(first.clone(), reason)
    );
    let disconnect = find("disconnect");
    assert_eq!(disconnect["reason"], "transport close", "{disconnect}");
    assert_eq!(disconnect["active"], true, "the client is to reconnect");
    assert_eq!(find("emitted-while-down")["connected"], false);

    let Saw::Connected {
        id: second,
        connection: second_conn,
    } = saw.next("the reconnection").await
    else {
        panic!("expected the reconnection")
    };
    assert_ne!(second, first, "a new socket");
    assert_ne!(second_conn, first_conn, "on a new connection");
    assert_eq!(find("reconnected")["id"], second.as_str());
    assert!(find("reconnect")["n"].as_u64() >= Some(1));

    // The events emitted while down, in order, on the new socket.
    assert_eq!(
        saw.next("while-down 1").await,
        Saw::WhileDown(second.clone(), 1)
    );
    assert_eq!(
        saw.next("while-down 2").await,
        Saw::WhileDown(second.clone(), 2)
    );
    assert_eq!(find("acks")["acks"], json!([[1, second], [2, second]]));
}

#[tokio::test]
async fn after_conn_close_the_client_reconnects_over_websocket_and_sends_what_it_buffered() {
    run("websocket", "drop-me", DisconnectReason::ForcedClose).await;
}

#[tokio::test]
async fn after_conn_close_the_client_reconnects_over_polling_and_sends_what_it_buffered() {
    run("polling", "drop-me", DisconnectReason::ForcedClose).await;
}

#[tokio::test]
async fn after_a_server_close_the_client_reconnects_and_sends_what_it_buffered() {
    run("polling", "shut-down", DisconnectReason::ServerShuttingDown).await;
}
