//! `Value`: binary data kept where it was, through decoding and encoding.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use serde::Deserialize;

use super::*;
use crate::Str;

/// Decodes a binary event from its Engine.IO message text (`4` first) and attachments.
fn binary_event(text: &str, attachments: &[&'static [u8]]) -> Event {
    let mut decoder = Decoder::default();
    assert!(decoder
        .decode_text(Str::from(text[1..].to_owned()))
        .unwrap()
        .is_none());
    let mut packet = None;
    for a in attachments {
        packet = decoder.decode_binary(Bytes::from_static(a)).unwrap();
    }
    match packet.map(|p| p.data) {
        Some(PacketData::Event(e)) => e,
        other => panic!("{other:?}"),
    }
}

#[test]
fn nested_buffers_survive_a_round_trip() {
    let text =
        r#"452-["ev",{"a":{"_placeholder":true,"num":0},"b":[1,{"_placeholder":true,"num":1}]}]"#;
    let event = binary_event(text, &[b"\x00\x01\xff", b"second"]);
    let v: Value = deserialize_data(&event.args, &event.attachments).unwrap();

    assert_eq!(v["a"], Value::Binary(Bytes::from_static(b"\x00\x01\xff")));
    assert_eq!(v["b"][0].as_u64(), Some(1));
    assert_eq!(v["b"][1].as_binary().map(|b| &b[..]), Some(&b"second"[..]));
    // Zero-copy: the values share the attachments' memory.
    assert_eq!(
        v["a"].as_binary().unwrap().as_ptr(),
        event.attachments[0].as_ptr()
    );

    let out = encode_event(&mut BytesMut::new(), "/", "ev", None, &v).unwrap();
    assert_eq!(out.text, text);
    assert_eq!(out.attachments, event.attachments);
    assert_eq!(out.attachments[1].as_ptr(), event.attachments[1].as_ptr());

    let ack = encode_ack(&mut BytesMut::new(), "/", 3, &v).unwrap();
    assert_eq!(
        ack.text,
        r#"462-3[{"a":{"_placeholder":true,"num":0},"b":[1,{"_placeholder":true,"num":1}]}]"#
    );
    assert_eq!(ack.attachments, event.attachments);
}

#[test]
fn spread_of_values_is_every_argument() {
    let text = r#"452-["ev","x",{"_placeholder":true,"num":0},[{"k":{"_placeholder":true,"num":1}}],null]"#;
    let event = binary_event(text, &[b"zero", b"one"]);
    let Spread(all): Spread<Value> = deserialize_data(&event.args, &event.attachments).unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].as_str(), Some("x"));
    assert_eq!(all[1].as_binary(), Some(&event.attachments[0]));
    assert_eq!(all[2][0]["k"].as_binary(), Some(&event.attachments[1]));
    assert!(all[3].is_null());

    let out = encode_event(&mut BytesMut::new(), "/", "ev", None, &Spread(all)).unwrap();
    assert_eq!(out.text, text);
    assert_eq!(out.attachments, event.attachments);

    // The whole list as one value, and the first argument alone.
    let list: Value = deserialize_args(&event.args, &event.attachments).unwrap();
    assert_eq!(list[1].as_binary(), Some(&event.attachments[0]));
    let first: Value = deserialize_first_arg(&event.args, &event.attachments).unwrap();
    assert_eq!(first.as_str(), Some("x"));
}

#[test]
fn values_inside_typed_arguments() {
    #[derive(Deserialize)]
    struct Relay {
        room: String,
        payload: Value,
        extra: Option<Value>,
    }
    let args = r#"{"room":"r","payload":{"img":{"_placeholder":true,"num":0}},"extra":{"_placeholder":true,"num":0}},7"#;
    let att = [Bytes::from_static(b"png")];
    let (relay, n): (Relay, Value) = deserialize_data(args, &att).unwrap();
    assert_eq!(relay.room, "r");
    assert_eq!(relay.payload["img"].as_binary(), Some(&att[0]));
    assert_eq!(relay.extra.unwrap().as_binary(), Some(&att[0]));
    assert_eq!(n.as_i64(), Some(7));
}

#[test]
fn bad_placeholders_are_errors_and_near_misses_are_objects() {
    let att = [Bytes::from_static(b"x")];
    for args in [
        r#"{"_placeholder":true,"num":1}"#,
        r#"{"_placeholder":true}"#,
        r#"{"_placeholder":true,"num":"0"}"#,
        r#"{"_placeholder":true,"num":-1}"#,
        r#"[{"_placeholder":true,"num":18446744073709551616}]"#,
    ] {
        assert!(deserialize_data::<Value>(args, &att).is_err(), "{args}");
    }
    let err = deserialize_data::<Value>(r#"{"_placeholder":true,"num":4}"#, &att).unwrap_err();
    assert!(err.to_string().contains("no binary attachment 4"), "{err}");

    for args in [
        r#"{"_placeholder":false,"num":0}"#,
        r#"{"_placeholder":"true","num":0}"#,
        r#"{"num":0}"#,
    ] {
        let v: Value = deserialize_data(args, &att).unwrap();
        assert!(v.as_object().is_some(), "{args}");
    }
}

#[test]
fn null_is_one_argument_and_arrays_are_one_argument() {
    let mut out = BytesMut::new();
    let p = encode_event(&mut out, "/", "ev", None, &Value::Null).unwrap();
    assert_eq!(p.text, r#"42["ev",null]"#);
    let arr = Value::Array(vec![Value::from(1i64), Value::from("a")]);
    let p = encode_event(&mut out, "/", "ev", None, &arr).unwrap();
    assert_eq!(p.text, r#"42["ev",[1,"a"]]"#);
    let v: Value = deserialize_data("null", &[]).unwrap();
    assert!(v.is_null());
    assert!(deserialize_data::<Value>("", &[]).is_err());
}

#[test]
fn json_without_the_codec() {
    // serde_json alone: no attachments, so a placeholder stays an object.
    let json = r#"{"a":{"_placeholder":true,"num":0},"n":[1,-2,0.5,true,null,"s"]}"#;
    let v: Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["a"]["num"].as_u64(), Some(0));
    let j: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(Value::from(j.clone()), v);
    assert_eq!(serde_json::Value::from(v.clone()), j);
    assert_eq!(serde_json::to_string(&v).unwrap(), json);

    // Binary becomes what serde_json makes of bytes, either way.
    let b = Value::Object(BTreeMap::from([(
        "b".to_owned(),
        Value::Binary(Bytes::from_static(&[1, 255])),
    )]));
    let j = serde_json::to_value(&b).unwrap();
    assert_eq!(j, serde_json::json!({"b": [1, 255]}));
    assert_eq!(serde_json::Value::from(b), j);
}

#[test]
fn typed_values_out_of_a_value() {
    #[derive(Deserialize, Debug, PartialEq)]
    enum Kind {
        Plain,
        Thumb { of: Binary },
    }
    #[derive(Deserialize, Debug, PartialEq)]
    struct File {
        name: String,
        data: Binary,
        size: Option<u32>,
        kinds: Vec<Kind>,
    }
    let args = r#"{"name":"f","data":{"_placeholder":true,"num":0},"kinds":["Plain",{"Thumb":{"of":{"_placeholder":true,"num":0}}}]}"#;
    let att = [Bytes::from_static(b"bytes")];
    let v: Value = deserialize_data(args, &att).unwrap();
    let file = File::deserialize(v).unwrap();
    assert_eq!(file.data.as_ptr(), att[0].as_ptr());
    let of = Binary(att[0].clone());
    assert_eq!(
        file,
        File {
            name: "f".into(),
            data: of.clone(),
            size: None,
            kinds: vec![Kind::Plain, Kind::Thumb { of }],
        }
    );
}
