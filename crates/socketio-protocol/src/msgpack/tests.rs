//! Literal bytes of npm `socket.io-msgpack-parser` 3.0.2 (notepack.io
//! 2.2): each constant is what its `Encoder` printed, in hex, for the
//! packet named in its comment.

use bytes::Bytes;

use super::{decode_packet, encode_packet};
use crate::socket::{Ack, DecodeError, DecodeLimits, Event, Packet, PacketData, PacketType};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn decode(s: &str) -> Result<Packet, DecodeError> {
    decode_packet(&hex(s), &DecodeLimits::default())
}

fn event_packet(
    ns: &'static str,
    name: &'static str,
    args: &'static str,
    ack_id: Option<u64>,
    attachments: &[&[u8]],
) -> Packet {
    Packet {
        ns: ns.into(),
        data: PacketData::Event(Event {
            name: name.into(),
            args: args.into(),
            ack_id,
            attachments: attachments
                .iter()
                .map(|a| Bytes::copy_from_slice(a))
                .collect(),
        }),
    }
}

// {type: 0, nsp: "/"}
const CONNECT: &str = "82a47479706500a36e7370a12f";
// {type: 0, nsp: "/", data: undefined}: what the client sends without auth
const CONNECT_UNDEFINED: &str = "83a47479706500a36e7370a12fa464617461d40000";
// {type: 0, nsp: "/", data: {token: "abc"}}
const CONNECT_AUTH: &str = "83a47479706500a36e7370a12fa46461746181a5746f6b656ea3616263";
// {type: 0, data: {sid: "abc"}, nsp: "/"}
const CONNECT_ANSWER: &str = "83a47479706500a46461746181a3736964a3616263a36e7370a12f";
// {type: 2, data: ["hello", 1, {a: Buffer.from([1, 2])}], nsp: "/chat"}
const EVENT_BINARY: &str =
    "83a47479706502a46461746193a568656c6c6f0181a161c4020102a36e7370a52f63686174";
// {type: 2, data: ["q"], id: 7, nsp: "/"}
const EVENT_ACK: &str = "84a47479706502a46461746191a171a2696407a36e7370a12f";
// {id: 7, type: 3, data: ["ok", 2.5], nsp: "/"}
const ACK: &str = "84a2696407a47479706503a46461746192a26f6bcb4004000000000000a36e7370a12f";
// {type: 1, nsp: "/"}
const DISCONNECT: &str = "82a47479706501a36e7370a12f";
// {type: 4, data: {message: "no", data: {code: 1}}, nsp: "/"}
const CONNECT_ERROR: &str =
    "83a47479706504a46461746182a76d657373616765a26e6fa46461746181a4636f646501a36e7370a12f";

#[test]
fn node_packets_decode() {
    let connect = |auth: Option<&'static str>| Packet {
        ns: "/".into(),
        data: PacketData::Connect(auth.map(Into::into)),
    };
    assert_eq!(decode(CONNECT), Ok(connect(None)));
    assert_eq!(decode(CONNECT_UNDEFINED), Ok(connect(None)));
    assert_eq!(
        decode(CONNECT_AUTH),
        Ok(connect(Some(r#"{"token":"abc"}"#)))
    );
    assert_eq!(
        decode(EVENT_BINARY),
        Ok(event_packet(
            "/chat",
            "hello",
            r#"1,{"a":{"_placeholder":true,"num":0}}"#,
            None,
            &[&[1, 2]]
        ))
    );
    assert_eq!(
        decode(EVENT_ACK),
        Ok(event_packet("/", "q", "", Some(7), &[]))
    );
    assert_eq!(
        decode(ACK),
        Ok(Packet {
            ns: "/".into(),
            data: PacketData::Ack(Ack {
                id: 7,
                args: r#""ok",2.5"#.into(),
                attachments: Vec::new(),
            }),
        })
    );
    assert_eq!(
        decode(DISCONNECT),
        Ok(Packet {
            ns: "/".into(),
            data: PacketData::Disconnect
        })
    );
    assert_eq!(
        decode(CONNECT_ERROR),
        Ok(Packet {
            ns: "/".into(),
            data: PacketData::ConnectError(r#"{"message":"no","data":{"code":1}}"#.into()),
        })
    );
}

#[test]
fn packets_encode_to_nodes_bytes() {
    // Where our key order is Node's (type, data, id, nsp), the bytes are equal.
    for literal in [
        CONNECT,
        CONNECT_ANSWER,
        EVENT_BINARY,
        EVENT_ACK,
        DISCONNECT,
        CONNECT_ERROR,
    ] {
        let packet = decode(literal).unwrap();
        assert_eq!(encode_packet(&packet).unwrap(), hex(literal), "{literal}");
    }
    // Node's server puts an ack's id first; the map is the same.
    let ack = decode(ACK).unwrap();
    let ours = encode_packet(&ack).unwrap();
    assert_eq!(
        ours,
        hex("84a47479706503a46461746192a26f6bcb4004000000000000a2696407a36e7370a12f")
    );
    assert_eq!(decode_packet(&ours, &DecodeLimits::default()), Ok(ack));
}

#[test]
fn malformed_packets_are_refused() {
    let limits = DecodeLimits::default();
    let err = |s: &str| decode(s).unwrap_err();
    // {type: 7, nsp: "/"}
    assert_eq!(
        err("82a47479706507a36e7370a12f"),
        DecodeError::UnknownPacketType(b'7')
    );
    // {type: 2, data: ["x"]}: no namespace
    assert_eq!(
        err("82a47479706502a46461746191a178"),
        DecodeError::InvalidMsgpack("invalid namespace")
    );
    // {type: 2, data: [1], nsp: "/"}: no event name
    assert!(matches!(
        err("83a47479706502a4646174619101a36e7370a12f"),
        DecodeError::InvalidPayload {
            packet_type: PacketType::Event,
            ..
        }
    ));
    // {type: 2, data: ["connect"], nsp: "/"}
    assert_eq!(
        err("83a47479706502a46461746191a7636f6e6e656374a36e7370a12f"),
        DecodeError::ReservedEventName("connect".into())
    );
    // {type: 3, data: [], nsp: "/"}: an ack without id
    assert_eq!(
        err("83a47479706503a46461746190a36e7370a12f"),
        DecodeError::MissingAckId
    );
    // {type: 0, id: 1, nsp: "/"}: the id is ignored, as by Node's server.
    assert_eq!(
        decode("83a47479706500a2696401a36e7370a12f").map(|p| p.data),
        Ok(PacketData::Connect(None))
    );
    // {type: 2.0, data: ["q"], id: 7.0, nsp: "/"}: whole floats are whole
    // numbers to Number.isInteger; 7.5 is not.
    assert_eq!(
        decode(
            "84a474797065cb4000000000000000a46461746191a171a26964cb401c000000000000a36e7370a12f"
        ),
        Ok(event_packet("/", "q", "", Some(7), &[]))
    );
    assert_eq!(
        err("84a474797065cb4000000000000000a46461746191a171a26964cb401e000000000000a36e7370a12f"),
        DecodeError::InvalidAckId
    );
    // {type: 1, data: [], nsp: "/"}
    assert_eq!(
        err("83a47479706501a46461746190a36e7370a12f"),
        DecodeError::UnexpectedPayload(PacketType::Disconnect)
    );
    // A whole packet, then one byte more; a packet cut short; not a map.
    assert_eq!(
        err(&format!("{DISCONNECT}00")),
        DecodeError::InvalidMsgpack("bytes after the packet")
    );
    assert_eq!(
        err(&DISCONNECT[..DISCONNECT.len() - 2]),
        DecodeError::InvalidMsgpack("malformed msgpack")
    );
    assert_eq!(err("90"), DecodeError::InvalidMsgpack("not a map"));
    // An array header that claims 2^32-1 elements allocates nothing for them.
    assert_eq!(
        err("83a47479706502a464617461ddffffffff"),
        DecodeError::InvalidMsgpack("malformed msgpack")
    );

    // Nesting: `data` as deep as max_depth (its array and two more), and
    // one level deeper.
    let nested = |levels: usize| {
        // {type: 2, data: ["x", [[...]]], nsp: "/"}
        let mut s = String::from("83a47479706502a46461746192a178");
        s.push_str(&"91".repeat(levels));
        s.push_str("c0a36e7370a12f");
        hex(&s)
    };
    let tight = DecodeLimits {
        max_depth: 3,
        ..limits
    };
    assert!(decode_packet(&nested(2), &tight).is_ok());
    // The innermost value's kind does not matter: ["x", [["s"]]] is as deep
    // as ["x", [[null]]]; ["x", [[{"k": "v"}]]] is one level deeper.
    let strings = hex("83a47479706502a46461746192a1789191a173a36e7370a12f");
    assert!(decode_packet(&strings, &tight).is_ok());
    let object = hex("83a47479706502a46461746192a178919181a16ba176a36e7370a12f");
    assert_eq!(
        decode_packet(&object, &tight),
        Err(DecodeError::TooDeep { max: 3 })
    );
    // What decodes encodes again: at most 127 levels, even with a larger limit.
    let deep = DecodeLimits {
        max_depth: 1000,
        ..limits
    };
    assert!(decode_packet(&nested(126), &deep).is_ok());
    assert_eq!(
        decode_packet(&nested(127), &deep),
        Err(DecodeError::TooDeep { max: 127 })
    );
    let packet = decode_packet(&nested(126), &deep).unwrap();
    assert!(encode_packet(&packet).is_ok());
    assert_eq!(
        decode_packet(&nested(64), &tight),
        Err(DecodeError::TooDeep { max: 3 })
    );
    assert!(decode_packet(&nested(100_000), &limits).is_err());

    // Binary values count as attachments.
    let few = DecodeLimits {
        max_attachments: 0,
        ..limits
    };
    assert_eq!(
        decode_packet(&hex(EVENT_BINARY), &few),
        Err(DecodeError::TooManyAttachments { max: 0 })
    );
    let small = DecodeLimits {
        max_attachment_bytes: 1,
        ..limits
    };
    assert_eq!(
        decode_packet(&hex(EVENT_BINARY), &small),
        Err(DecodeError::AttachmentsTooLarge { max: 1 })
    );
}

#[test]
fn json_encoded_packets_transcode_to_the_same_packet() {
    use bytes::BytesMut;

    use super::transcode;
    use crate::socket::{encode_ack, encode_connect, encode_event, Binary};

    let mut buf = BytesMut::new();
    let data = (
        "hi",
        Binary(Bytes::from_static(&[1, 2])),
        [Binary(Bytes::from_static(&[3]))],
    );
    let event = encode_event(&mut buf, "/chat", "hello", Some(4), &data).unwrap();
    assert_eq!(
        decode_packet(&transcode(&event).unwrap(), &DecodeLimits::default()),
        Ok(event_packet(
            "/chat",
            "hello",
            r#""hi",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1}]"#,
            Some(4),
            &[&[1, 2], &[3]],
        ))
    );
    let ack = encode_ack(&mut buf, "/", 4, &(1,)).unwrap();
    assert_eq!(
        transcode(&ack).unwrap(),
        hex("84a47479706503a46461746191 01a2696404a36e7370a12f"
            .replace(' ', "")
            .as_str())
    );
    let connect = encode_connect(&mut buf, "/", "abc");
    assert_eq!(transcode(&connect).unwrap(), hex(CONNECT_ANSWER));
}

#[test]
fn doubles_cross_exactly() {
    // Found by the fuzz target: a double that the JSON text in between made
    // one unit in the last place off before serde_json's float_roundtrip.
    // {id: 7, type: 3, data: ["ok", 1.2434497880419909e-14], nsp: "/"}
    let bytes = hex("84a2696407a47479706503a46461746192a26f6bcb3d0c0000002caa00a36e7370a12f");
    let packet = decode_packet(&bytes, &DecodeLimits::default()).unwrap();
    let again = decode_packet(&encode_packet(&packet).unwrap(), &DecodeLimits::default());
    assert_eq!(again, Ok(packet.clone()));
    let PacketData::Ack(ack) = packet.data else {
        panic!()
    };
    let (_, x): (String, f64) = crate::socket::deserialize_data(&ack.args, &[]).unwrap();
    assert_eq!(x, f64::from_bits(0x3d0c_0000_002c_aa00));
}

#[test]
fn notepack_2_2_values_from_node_clients() {
    // {type: 2, data: ["t", V], nsp: "/"} for each V as notepack.io 2.2
    // (socket.io-msgpack-parser 3.0.2's) wrote it in Node.
    let event = |value: &str| {
        decode(&format!(
            "83a47479706502a46461746192a174{value}a36e7370a12f"
        ))
        .map(|p| match p.data {
            PacketData::Event(e) => (e.args.to_string(), e.attachments),
            other => panic!("{other:?}"),
        })
    };
    let placeholder = r#"{"_placeholder":true,"num":0}"#.to_owned();
    // new Date(1700000000123)
    assert_eq!(
        event("d7000000018bcfe5687b"),
        Ok((r#""2023-11-14T22:13:20.123Z""#.to_owned(), vec![]))
    );
    // new Uint8Array([255]).buffer: one byte, not `undefined`
    assert_eq!(
        event("c70100ff"),
        Ok((placeholder.clone(), vec![Bytes::from_static(&[255])]))
    );
    // an ArrayBuffer of 8 bytes: not a Date
    assert_eq!(
        event("c708000102030405060708"),
        Ok((
            placeholder.clone(),
            vec![Bytes::from_static(&[1, 2, 3, 4, 5, 6, 7, 8])]
        ))
    );
    // new Uint8Array([1, 2]) (not a Buffer): an ArrayBuffer too
    assert_eq!(
        event("c702000102"),
        Ok((placeholder, vec![Bytes::from_static(&[1, 2])]))
    );
    // [undefined]
    assert_eq!(event("91d40000"), Ok(("[null]".to_owned(), vec![])));
    // an extension notepack does not know: [type, bytes]
    assert_eq!(
        event("d40509"),
        Ok((
            r#"[5,{"_placeholder":true,"num":0}]"#.to_owned(),
            vec![Bytes::from_static(&[9])]
        ))
    );
}

#[test]
fn keys_that_are_maps_take_linear_time() {
    // Found by the fuzz target (an input of 380 bytes took 25 s): a map
    // whose key is a map whose key is a map...; each level's key was once
    // written as escaped JSON inside the next, doubling the text at each
    // level (26 levels: some 200 MB of backslashes).
    let mut value = String::from("c0");
    for _ in 0..26 {
        value = format!("81{value}c0");
    }
    let bytes = hex(&format!(
        "83a47479706502a46461746192a174{value}a36e7370a12f"
    ));
    let started = std::time::Instant::now();
    let packet = decode_packet(&bytes, &DecodeLimits::default()).unwrap();
    let PacketData::Event(event) = packet.data else {
        panic!()
    };
    assert_eq!(event.args, r#"{"[object Object]":null}"#);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}
