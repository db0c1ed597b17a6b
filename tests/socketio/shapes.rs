//! The argument shapes, with the official client
//! (`tests/node/sio_shapes.mjs`): a tuple is several arguments, `()` none,
//! anything else (a `Vec`, a JSON array `Value`) one; `Spread` is a list of
//! arguments of any length, both to emit and as `Data<Spread<T>>`.

use serde_json::{json, Value};
use socketio_axum::{
    extract::{AckSender, Data},
    SocketRef, Spread,
};
use socketio_axum_tests::{node_script, sio_config, SioServer};

#[tokio::test]
async fn rust_values_map_to_javascript_arguments_as_a_javascript_peer_expects() {
    let server = SioServer::start(sio_config()).await;
    server.io.ns("/", |socket: SocketRef| async move {
        socket.on("give", |socket: SocketRef| async move {
            socket.emit("vec", &vec![1, 2]).expect("emit");
            socket.emit("tuple", &(1, 2)).expect("emit");
            socket.emit("none", &()).expect("emit");
            socket.emit("value", &json!([1, 2])).expect("emit");
            socket.emit("spread", &Spread(vec![1, 2])).expect("emit");
            socket.emit("done", &()).expect("emit");
        });
        socket.on(
            "nums",
            |Data(list): Data<Vec<u32>>, ack: AckSender| async move {
                ack.send(&list).expect("ack");
            },
        );
        socket.on(
            "relay",
            |Data(Spread(all)): Data<Spread<Value>>, ack: AckSender| async move {
                ack.send(&Spread(all)).expect("ack");
            },
        );
    });

    let out = node_script("sio_shapes.mjs", &[&server.url()]).await;
    out.assert_success();
    let lines = out.json_lines();
    let got = |event: &str, key: &str| -> Value {
        lines
            .iter()
            .find(|l| l["event"] == event)
            .unwrap_or_else(|| panic!("no {event} in {lines:#?}"))[key]
            .clone()
    };
    assert_eq!(got("vec", "args"), json!([[1, 2]]), "a Vec is one argument");
    assert_eq!(
        got("tuple", "args"),
        json!([1, 2]),
        "a tuple is the arguments"
    );
    assert_eq!(got("none", "args"), json!([]), "() is no argument");
    assert_eq!(
        got("value", "args"),
        json!([[1, 2]]),
        "a JSON array is one argument"
    );
    assert_eq!(
        got("spread", "args"),
        json!([1, 2]),
        "Spread is the arguments"
    );
    assert_eq!(
        got("nums", "ack"),
        json!([[1, 2, 3]]),
        "Data<Vec> and ack.send(&vec)"
    );
    assert_eq!(
        got("relay", "ack"),
        json!([[1, "a"], {"x": 1}]),
        "a relay keeps the shape"
    );
}
