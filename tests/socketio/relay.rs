//! A relay of arbitrary data with binary inside, with the official client
//! (`tests/node/sio_relay.mjs`): `Data<Value>` keeps each Buffer where it
//! was, and emitting the `Value` sends it as a Buffer again; the same with
//! several arguments as `Data<Spread<Value>>`, broadcast and acked.

use serde_json::json;
use socketio_axum::{
    extract::{AckSender, Data},
    SocketRef, Spread, Value,
};
use socketio_axum_tests::{node_script, sio_config, SioServer};

#[tokio::test]
async fn buffers_in_dynamic_data_reach_the_other_client_in_place() {
    let server = SioServer::start(sio_config()).await;
    server.io.ns("/", |socket: SocketRef| async move {
        socket.on(
            "relay",
            |socket: SocketRef, Data(value): Data<Value>| async move {
                socket
                    .broadcast()
                    .emit("relayed", &value)
                    .expect("broadcast");
            },
        );
        socket.on(
            "relay-spread",
            |socket: SocketRef, Data(all): Data<Spread<Value>>, ack: AckSender| async move {
                socket
                    .broadcast()
                    .emit("relayed-spread", &all)
                    .expect("broadcast");
                ack.send(&all).expect("ack");
            },
        );
    });

    let out = node_script("sio_relay.mjs", &[&server.url()]).await;
    out.assert_success();
    let lines = out.json_lines();
    let got = |event: &str| -> serde_json::Value {
        lines
            .iter()
            .find(|l| l["event"] == event)
            .unwrap_or_else(|| panic!("no {event} in {lines:#?}"))["args"]
            .clone()
    };
    assert_eq!(
        got("relayed"),
        json!([{
            "name": "pic",
            "img": {"binary": [0, 1, 2, 255]},
            "list": [1, {"thumb": {"binary": b"thumb"}}],
        }]),
        "B gets A's object with both Buffers in place"
    );
    let spread = json!(["x", {"binary": [9]}, {"k": [{"binary": []}, true]}, 7]);
    assert_eq!(got("relayed-spread"), spread, "B gets every argument");
    assert_eq!(got("ack"), spread, "A's ack has every argument");
}
