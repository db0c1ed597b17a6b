//! The examples of the protocol document, decoded and encoded.

use bytes::{Bytes, BytesMut};

use super::*;
use crate::engine;

#[test]
fn spec_examples_decode() {
    assert_eq!(complete("0"), other("/", PacketData::Connect(None)));
    assert_eq!(
        complete("0/admin,"),
        other("/admin", PacketData::Connect(None))
    );
    assert_eq!(
        complete(r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#),
        other(
            "/admin",
            PacketData::Connect(Some(raw(r#"{"sid":"oSO0OpakMV_3jnilAAAA"}"#)))
        )
    );
    assert_eq!(
        complete(r#"0/admin,{"token":"123"}"#),
        other(
            "/admin",
            PacketData::Connect(Some(raw(r#"{"token":"123"}"#)))
        )
    );
    assert_eq!(
        complete(r#"4{"message":"Not authorized"}"#),
        other(
            "/",
            PacketData::ConnectError(raw(r#"{"message":"Not authorized"}"#))
        )
    );
    assert_eq!(complete(r#"2["foo"]"#), event("/", "foo", "", None, &[]));
    assert_eq!(
        complete(r#"2/admin,["bar"]"#),
        event("/admin", "bar", "", None, &[])
    );
    assert_eq!(
        complete(r#"212["foo"]"#),
        event("/", "foo", "", Some(12), &[])
    );
    assert_eq!(complete("312[]"), ack("/", 12, "", &[]));
    assert_eq!(
        complete(r#"3/admin,13["bar"]"#),
        ack("/admin", 13, r#""bar""#, &[])
    );
    assert_eq!(complete("1"), other("/", PacketData::Disconnect));
    assert_eq!(
        complete("1/admin,"),
        other("/admin", PacketData::Disconnect)
    );
}

#[test]
fn spec_examples_binary_decode() {
    let p0 = r#"{"_placeholder":true,"num":0}"#;
    let p1 = r#"{"_placeholder":true,"num":1}"#;
    assert_eq!(
        reassemble(&format!(r#"51-["baz",{p0}]"#), &[&[1, 2, 3, 4]]),
        event("/", "baz", p0, None, &[&[1, 2, 3, 4]])
    );
    assert_eq!(
        reassemble(
            &format!(r#"52-/admin,["baz",{p0},{p1}]"#),
            &[&[1, 2], &[3, 4]]
        ),
        event(
            "/admin",
            "baz",
            &format!("{p0},{p1}"),
            None,
            &[&[1, 2], &[3, 4]]
        )
    );
    assert_eq!(
        reassemble(&format!(r#"61-15["bar",{p0}]"#), &[&[1, 2, 3, 4]]),
        ack("/", 15, &format!(r#""bar",{p0}"#), &[&[1, 2, 3, 4]])
    );
    let packet = reassemble(&format!("61-/admin,1[{p0}]"), &[b"<binary>"]);
    assert_eq!(packet.packet_type(), PacketType::BinaryAck);
    let PacketData::Ack(a) = packet.data else {
        panic!("{packet:?}")
    };
    let (data,): (Binary,) = deserialize_args(&a.args, &a.attachments).unwrap();
    assert_eq!(&data[..], b"<binary>");
}

#[test]
fn spec_examples_encode() {
    let out = &mut BytesMut::new();
    let b = |s: &'static [u8]| Binary(Bytes::from_static(s));
    let p0 = r#"{"_placeholder":true,"num":0}"#;
    let p1 = r#"{"_placeholder":true,"num":1}"#;
    let text = |p: EncodedPacket| p.text.to_string();

    assert_eq!(
        text(encode_connect(out, "/", "wZX3oN0bSVIhsaknAAAI")),
        r#"40{"sid":"wZX3oN0bSVIhsaknAAAI"}"#
    );
    assert_eq!(
        text(encode_connect(out, "/admin", "oSO0OpakMV_3jnilAAAA")),
        r#"40/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#
    );
    assert_eq!(
        text(encode_connect_error(out, "/", "Not authorized", None::<&()>).unwrap()),
        r#"44{"message":"Not authorized"}"#
    );
    assert_eq!(
        text(encode_event(out, "/", "foo", None, &()).unwrap()),
        r#"42["foo"]"#
    );
    assert_eq!(
        text(encode_event(out, "/admin", "bar", None, &()).unwrap()),
        r#"42/admin,["bar"]"#
    );
    assert_eq!(
        text(encode_event(out, "/", "foo", Some(12), &()).unwrap()),
        r#"4212["foo"]"#
    );
    assert_eq!(
        text(encode_event(out, "/", "hey", None, &"Jude").unwrap()),
        r#"42["hey","Jude"]"#
    );
    assert_eq!(
        text(encode_event(out, "/", "hey", None, &("Jude",)).unwrap()),
        r#"42["hey","Jude"]"#
    );
    assert_eq!(text(encode_ack(out, "/", 12, &()).unwrap()), "4312[]");
    assert_eq!(
        text(encode_ack(out, "/admin", 13, &["bar"]).unwrap()),
        r#"43/admin,13["bar"]"#
    );
    assert_eq!(text(encode_disconnect(out, "/")), "41");
    assert_eq!(text(encode_disconnect(out, "/admin")), "41/admin,");

    let p = encode_event(out, "/", "baz", None, &(b(&[1, 2, 3, 4]),)).unwrap();
    assert_eq!(p.text, format!(r#"451-["baz",{p0}]"#).as_str());
    assert_eq!(p.attachments, [Bytes::from_static(&[1, 2, 3, 4])]);

    let p = encode_event(out, "/admin", "baz", None, &(b(&[1, 2]), b(&[3, 4]))).unwrap();
    assert_eq!(p.text, format!(r#"452-/admin,["baz",{p0},{p1}]"#).as_str());
    assert_eq!(
        p.attachments,
        [Bytes::from_static(&[1, 2]), Bytes::from_static(&[3, 4])]
    );

    let p = encode_ack(out, "/", 15, &("bar", b(&[1, 2, 3, 4]))).unwrap();
    assert_eq!(p.text, format!(r#"461-15["bar",{p0}]"#).as_str());

    let p = encode_ack(out, "/admin", 1, &b(b"<binary>")).unwrap();
    assert_eq!(p.text, format!("461-/admin,1[{p0}]").as_str());
    let frames: Vec<_> = p.into_frames().collect();
    assert_eq!(
        frames[1],
        engine::Frame::Binary(Bytes::from_static(b"<binary>"))
    );
}

#[test]
fn sample_session_through_engine_io() {
    // Request n°5 of the sample session: two events in one polling body.
    let mut decoder = Decoder::default();
    let mut names = Vec::new();
    for packet in engine::decode_payload("42[\"hello\"]\x1e42[\"world\"]".into()) {
        let engine::Packet::Message(text) = packet.unwrap() else {
            panic!("not a message")
        };
        let PacketData::Event(e) = decoder.decode_text(text).unwrap().unwrap().data else {
            panic!("not an event")
        };
        names.push(e.name);
    }
    assert_eq!(names, ["hello", "world"]);

    // Request n°4, encoded by the server and decoded again.
    let p = encode_event(&mut BytesMut::new(), "/", "hey", None, &("Jude",)).unwrap();
    let engine::Packet::Message(text) = engine::Packet::decode_text(p.text).unwrap() else {
        panic!("not a message")
    };
    assert_eq!(complete(&text), event("/", "hey", r#""Jude""#, None, &[]));
}
