//! Rust types through encoding and decoding, attachments included.

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use super::*;
use crate::engine;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Upload {
    name: String,
    parts: Vec<Binary>,
    #[serde(with = "serde_bytes")]
    checksum: Vec<u8>,
    meta: Option<std::collections::BTreeMap<String, i64>>,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Kind {
    Plain,
    Thumb { of: Binary },
}

#[test]
fn typed_round_trip_with_attachments() {
    let upload = Upload {
        name: "a \"file\"".into(),
        parts: vec![Binary::from(vec![1, 2]), Binary::from(vec![])],
        checksum: vec![9, 9],
        meta: Some([("size".to_owned(), 3)].into_iter().collect()),
        kind: Kind::Thumb {
            of: Binary::from(vec![7]),
        },
    };
    let args = (upload.clone(), 42u8, Kind::Plain);
    let encoded = encode_event(&mut BytesMut::new(), "/files", "upload", Some(5), &args).unwrap();
    assert_eq!(encoded.attachments.len(), 4);
    assert!(encoded.text.starts_with("454-/files,5[\"upload\",{"));

    let mut frames = encoded.into_frames();
    let Some(engine::Frame::Text(text)) = frames.next() else {
        panic!("text first")
    };
    let mut decoder = Decoder::default();
    let mut packet = decoder.decode_text(text.slice_from(1)).unwrap();
    for frame in frames {
        let engine::Frame::Binary(data) = frame else {
            panic!("binary after text")
        };
        assert!(packet.is_none());
        packet = decoder.decode_binary(data).unwrap();
    }
    let PacketData::Event(e) = packet.unwrap().data else {
        panic!("not an event")
    };
    assert_eq!((&*e.name, e.ack_id), ("upload", Some(5)));
    let back: (Upload, u8, Kind) = deserialize_args(&e.args, &e.attachments).unwrap();
    assert_eq!(back, args);
    let first: Upload = deserialize_first_arg(&e.args, &e.attachments).unwrap();
    assert_eq!(first, upload);
    let all: Vec<serde_json::Value> = deserialize_args(&e.args, &e.attachments).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[0]["parts"][1],
        serde_json::json!({"_placeholder": true, "num": 1})
    );
}

#[test]
fn byte_slices_from_serde_bytes_become_attachments() {
    let data = serde_bytes::ByteBuf::from(vec![1, 2, 3]);
    let p = encode_ack(&mut BytesMut::new(), "/", 3, &(&data, "x")).unwrap();
    assert_eq!(p.text, r#"461-3[{"_placeholder":true,"num":0},"x"]"#);
    assert_eq!(p.attachments, [Bytes::from_static(&[1, 2, 3])]);
    let (back, x): (serde_bytes::ByteBuf, String) =
        deserialize_args(r#"{"_placeholder":true,"num":0},"x""#, &p.attachments).unwrap();
    assert_eq!((back, x.as_str()), (data, "x"));
}

#[test]
fn argument_shapes_when_encoding() {
    let out = &mut BytesMut::new();
    let t = |p: Result<EncodedPacket, serde_json::Error>| p.unwrap().text.to_string();
    // A tuple is the argument list; a Vec, a slice or a JSON array is one
    // argument, as in JavaScript.
    assert_eq!(
        t(encode_event(out, "/", "e", None, &Vec::<u8>::new())),
        r#"42["e",[]]"#
    );
    assert_eq!(
        t(encode_event(out, "/", "e", None, &vec![1, 2])),
        r#"42["e",[1,2]]"#
    );
    assert_eq!(
        t(encode_event(out, "/", "e", None, &[1u8, 2][..])),
        r#"42["e",[1,2]]"#
    );
    assert_eq!(
        t(encode_event(
            out,
            "/",
            "e",
            None,
            &serde_json::json!([1, 2])
        )),
        r#"42["e",[1,2]]"#
    );
    assert_eq!(
        t(encode_event(out, "/", "e", None, &(1, 2))),
        r#"42["e",1,2]"#
    );
    assert_eq!(
        t(encode_event(out, "/", "e", None, &(vec![1, 2],))),
        r#"42["e",[1,2]]"#
    );
    // serde_json's Null serializes as unit: no argument, unless wrapped.
    assert_eq!(
        t(encode_event(out, "/", "e", None, &serde_json::json!(null))),
        r#"42["e"]"#
    );
    assert_eq!(
        t(encode_event(
            out,
            "/",
            "e",
            None,
            &(serde_json::json!(null),)
        )),
        r#"42["e",null]"#
    );
    assert_eq!(
        t(encode_event(
            out,
            "/",
            "e",
            None,
            &crate::socket::Value::Null
        )),
        r#"42["e",null]"#
    );
    // serde writes a fixed-size array as a tuple: N arguments.
    assert_eq!(
        t(encode_event(out, "/", "e", None, &[1, 2])),
        r#"42["e",1,2]"#
    );
    assert_eq!(
        t(encode_event(out, "/", "e", None, &None::<u8>)),
        r#"42["e",null]"#
    );
    assert_eq!(
        t(encode_event(out, "/", "e", None, &Kind::Plain)),
        r#"42["e","Plain"]"#
    );
    assert_eq!(t(encode_ack(out, "/", 1, &5)), "431[5]");
    assert_eq!(t(encode_ack(out, "/", 1, &(1, "a"))), r#"431[1,"a"]"#);
    assert_eq!(t(encode_ack(out, "/", 1, &Vec::<u8>::new())), "431[[]]");
    assert_eq!(
        t(encode_ack(out, "/", 1, &vec!["a", "b"])),
        r#"431[["a","b"]]"#
    );
    assert_eq!(t(encode_ack(out, "/", 1, &())), "431[]");
    assert_eq!(
        t(encode_event(out, "/", "q\"\n", None, &())),
        r#"42["q\"\n"]"#
    );
    #[derive(Serialize)]
    struct Pair(u8, u8);
    #[derive(Serialize)]
    struct Wrapped((u8, u8));
    assert_eq!(
        t(encode_event(out, "/", "e", None, &Pair(1, 2))),
        r#"42["e",1,2]"#
    );
    assert_eq!(
        t(encode_event(out, "/", "e", None, &Wrapped((1, 2)))),
        r#"42["e",1,2]"#
    );
    // Serialization errors are reported, not written.
    let bad: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
    assert!(encode_event(out, "/", "e", None, &(bad,)).is_err());
}

#[test]
fn decoded_packets_encode_back_to_their_text() {
    for text in [
        "0",
        "0/admin,",
        r#"0/admin,{"token":"123"}"#,
        r#"4{"message":"Not authorized"}"#,
        r#"2["foo"]"#,
        r#"2/admin,["bar"]"#,
        r#"212["foo"]"#,
        "312[]",
        r#"3/admin,13["bar"]"#,
        "1",
        "1/admin,",
        r#"2["hey","Jude",{"a":[1,2.5e3,null,true]}]"#,
    ] {
        assert_eq!(
            complete(text).encode(&mut BytesMut::new()).text,
            format!("4{text}").as_str()
        );
    }
    let p = reassemble(r#"61-15["bar",{"_placeholder":true,"num":0}]"#, &[&[1]]);
    let encoded = p.encode(&mut BytesMut::new());
    assert_eq!(
        encoded.text,
        r#"461-15["bar",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(encoded.attachments, [Bytes::from_static(&[1])]);
}

#[test]
fn argument_shapes_when_decoding_mirror_encoding() {
    use crate::socket::deserialize_data;
    // A tuple (or tuple struct) takes the arguments, one element each.
    let (a, b): (u8, String) = deserialize_data(r#"1,"b""#, &[]).unwrap();
    assert_eq!((a, b.as_str()), (1, "b"));
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Pair(u8, u8);
    assert_eq!(deserialize_data::<Pair>("1,2", &[]).unwrap(), Pair(1, 2));
    // A Vec or a Value takes the first argument, an array as JavaScript sent it.
    let list: Vec<u8> = deserialize_data("[1,2],3", &[]).unwrap();
    assert_eq!(list, [1, 2]);
    let value: serde_json::Value = deserialize_data("[1,2],3", &[]).unwrap();
    assert_eq!(value, serde_json::json!([1, 2]));
    assert!(
        deserialize_data::<Vec<u8>>("1,2", &[]).is_err(),
        "1 is not an array"
    );
    // What the encoder writes for a Vec comes back as that Vec.
    let out = &mut BytesMut::new();
    let p = encode_event(out, "/", "e", None, &vec![3u8, 4]).unwrap();
    let args = p
        .text
        .strip_prefix(r#"42["e","#)
        .and_then(|a| a.strip_suffix(']'))
        .unwrap();
    assert_eq!(deserialize_data::<Vec<u8>>(args, &[]).unwrap(), [3, 4]);
    // `()` takes no argument.
    deserialize_data::<()>("", &[]).unwrap();
}
