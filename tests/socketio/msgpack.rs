//! Our msgpack codec (`socketio_protocol::msgpack`) beside npm
//! `socket.io-msgpack-parser` 3.0.2 in one run: Node's decoder reads what we
//! encode as the packet we meant, and we decode what Node's encoder writes
//! as the packet it meant.

use bytes::Bytes;
use serde_json::json;
use socketio_axum_tests::node_script;
use socketio_protocol::{
    msgpack::{decode_packet, encode_packet},
    socket::{Ack, DecodeLimits, Event, Packet, PacketData},
};

fn packet(ns: &'static str, data: PacketData) -> Packet {
    Packet {
        ns: ns.into(),
        data,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn our_msgpack_packets_and_nodes_parser_agree() {
    let ours = [
        (
            packet("/", PacketData::Connect(Some(r#"{"token":"abc"}"#.into()))),
            json!({"type": 0, "nsp": "/", "data": {"token": "abc"}}),
        ),
        (
            packet(
                "/chat",
                PacketData::Event(Event {
                    name: "up".into(),
                    args:
                        r#"{"f":{"_placeholder":true,"num":0}},2.5,{"_placeholder":true,"num":1}"#
                            .into(),
                    ack_id: Some(5),
                    attachments: vec![Bytes::from_static(&[1, 2, 3]), Bytes::new()],
                }),
            ),
            json!({"type": 2, "data": ["up", {"f": {"$bin": [1, 2, 3]}}, 2.5, {"$bin": []}], "id": 5, "nsp": "/chat"}),
        ),
        (
            packet(
                "/",
                PacketData::Ack(Ack {
                    id: 9,
                    args: r#""ok",null"#.into(),
                    attachments: Vec::new(),
                }),
            ),
            json!({"type": 3, "data": ["ok", null], "id": 9, "nsp": "/"}),
        ),
        (
            packet("/x", PacketData::Disconnect),
            json!({"type": 1, "nsp": "/x"}),
        ),
        (
            packet(
                "/",
                PacketData::ConnectError(r#"{"message":"no","data":{"code":1}}"#.into()),
            ),
            json!({"type": 4, "data": {"message": "no", "data": {"code": 1}}, "nsp": "/"}),
        ),
    ];
    let args: Vec<String> = ours
        .iter()
        .map(|(p, _)| hex(&encode_packet(p).expect("encodes")))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = node_script("msgpack_parser.mjs", &args).await;
    out.assert_success();
    let lines = out.json_lines();
    assert_eq!(lines.len(), ours.len() + 1, "{lines:?}");
    for ((_, want), line) in ours.iter().zip(&lines) {
        assert_eq!(line["decoded"], *want, "{line}");
    }

    let encoded: Vec<Vec<u8>> =
        serde_json::from_value(lines[ours.len()]["encoded"].clone()).expect("byte arrays");
    let limits = DecodeLimits::default();
    let decoded: Vec<Packet> = encoded
        .iter()
        .map(|bytes| decode_packet(bytes, &limits).expect("decodes"))
        .collect();
    assert_eq!(
        decoded,
        [
            packet(
                "/admin",
                PacketData::Connect(Some(r#"{"token":"t","n":1.5}"#.into()))
            ),
            packet(
                "/",
                PacketData::Event(Event {
 name: "file".into(),
 args: r#"{"name":"a","body":{"_placeholder":true,"num":0}},[{"_placeholder":true,"num":1}]"#.into(),
 ack_id: Some(12),
 attachments: vec![Bytes::from_static(&[0, 255]), Bytes::from_static(&[7])],
 }),
            ),
            packet(
                "/",
                PacketData::Ack(Ack {
                    id: 12,
                    args: r#"null,"é""#.into(),
                    attachments: Vec::new()
                })
            ),
            packet(
                "/",
                PacketData::ConnectError(r#"{"message":"refused","data":{"retry":false}}"#.into())
            ),
        ]
    );
}
