//! Decoding details and hostile input.

use bytes::BytesMut;

use super::*;

#[test]
fn args_are_raw_text_of_the_input() {
    let text = raw(r#"2/chat,7[ "echo" , 1 ,{"a":2} ]"#);
    let Ok(Decoded::Packet(p)) = Packet::decode(text.clone(), &DecodeLimits::default()) else {
        panic!()
    };
    let PacketData::Event(e) = p.data else {
        panic!()
    };
    assert_eq!(e.args, r#"1 ,{"a":2}"#);
    // Slices of the input, not copies.
    let inside = text.as_bytes().as_ptr_range();
    assert!(inside.contains(&e.args.as_ptr()) && inside.contains(&e.name.as_ptr()));
    assert!(inside.contains(&p.ns.as_ptr()));
    // An ack with the same arguments.
    let a = encode_ack_raw(&mut BytesMut::new(), &p.ns, 7, &e.args, Vec::new());
    assert_eq!(a.text, r#"43/chat,7[1 ,{"a":2}]"#);
}

#[test]
fn escaped_event_names() {
    assert_eq!(complete(r#"2["a\"b"]"#), event("/", "a\"b", "", None, &[]));
    assert_eq!(
        complete(r#"2["\u00e9t\u00e9",1]"#),
        event("/", "été", "1", None, &[])
    );
    assert_eq!(complete(r#"2["😀"]"#), event("/", "😀", "", None, &[]));
    assert!(matches!(
        decode(r#"2["\ud800"]"#),
        Err(DecodeError::InvalidJson { .. })
    ));
}

#[test]
fn namespaces() {
    assert_eq!(complete("1/admin"), other("/admin", PacketData::Disconnect));
    assert_eq!(complete(r#"2/é,["x"]"#), event("/é", "x", "", None, &[]));
    assert_eq!(complete(r#"2/,["x"]"#), event("/", "x", "", None, &[]));
    assert_eq!(
        complete(r#"2/a,12["x"]"#),
        event("/a", "x", "", Some(12), &[])
    );
}

#[test]
fn payload_shapes() {
    use DecodeError::*;
    let shape = |ty, expected| InvalidPayload {
        packet_type: ty,
        expected,
    };
    let ev = "a non-empty array starting with the event name as a string";
    let cases: &[(&str, DecodeError)] = &[
        ("", Empty),
        ("7", UnknownPacketType(b'7')),
        ("0[1]", shape(PacketType::Connect, "an object")),
        ("0\"x\"", shape(PacketType::Connect, "an object")),
        ("4", MissingPayload(PacketType::ConnectError)),
        (
            "4[1]",
            shape(PacketType::ConnectError, "an object or a string"),
        ),
        ("1{}", UnexpectedPayload(PacketType::Disconnect)),
        ("2", MissingPayload(PacketType::Event)),
        ("2/admin,", MissingPayload(PacketType::Event)),
        ("2[]", shape(PacketType::Event, ev)),
        ("2[1]", shape(PacketType::Event, ev)),
        ("2[null,\"x\"]", shape(PacketType::Event, ev)),
        ("2[[\"x\"]]", shape(PacketType::Event, ev)),
        ("2{}", shape(PacketType::Event, ev)),
        ("2\"foo\"", shape(PacketType::Event, ev)),
        ("51-[2]", shape(PacketType::BinaryEvent, ev)),
        ("312{}", shape(PacketType::Ack, "an array")),
        ("2[\"connect\"]", ReservedEventName(Str::from("connect"))),
        (
            "2[\"disconnect\",1]",
            ReservedEventName(Str::from("disconnect")),
        ),
        (
            "2[\"newListener\"]",
            ReservedEventName(Str::from("newListener")),
        ),
    ];
    for (text, err) in cases {
        assert_eq!(decode(text), Err(err.clone()), "{text}");
    }
    assert_eq!(
        complete("4\"Not authorized\""),
        other("/", PacketData::ConnectError(raw("\"Not authorized\"")))
    );
}

#[test]
fn ack_ids() {
    use DecodeError::*;
    assert_eq!(
        complete(r#"218446744073709551615["x"]"#),
        event("/", "x", "", Some(u64::MAX), &[])
    );
    assert_eq!(complete("3007[]"), ack("/", 7, "", &[]));
    let cases: &[(&str, DecodeError)] = &[
        (r#"218446744073709551616["x"]"#, InvalidAckId),
        (r#"299999999999999999999999["x"]"#, InvalidAckId),
        ("3[]", MissingAckId),
        ("3/admin,[]", MissingAckId),
        ("61-[]", MissingAckId),
        ("0/admin,1{}", UnexpectedAckId(PacketType::Connect)),
        ("11", UnexpectedAckId(PacketType::Disconnect)),
        ("42{}", UnexpectedAckId(PacketType::ConnectError)),
        ("31", MissingPayload(PacketType::Ack)),
        ("451-[\"x\"]", UnexpectedAckId(PacketType::ConnectError)),
        (r#"2-1["x"]"#, InvalidJson { offset: 3 }),
    ];
    for (text, err) in cases {
        assert_eq!(decode(text), Err(err.clone()), "{text}");
    }
}

#[test]
fn truncated_and_malformed_packets() {
    use DecodeError::*;
    for text in ["5", "51", "5-[\"x\"]", "5x-[\"x\"]", "6", "61", "51[\"x\"]"] {
        assert_eq!(decode(text), Err(InvalidAttachmentCount), "{text}");
    }
    for text in [
        r#"2["foo""#,
        r#"2["foo","#,
        r#"2["foo",1"#,
        r#"2["foo",]"#,
        r#"2["foo"]]"#,
        r#"2["foo"] x"#,
        r#"2["fo"#,
        "2[",
        r#"0/admin,{"a":"#,
        "0{",
        "312[1,]",
        "312[",
        r#"51-["x",{"_placeholder":true,"num":0}"#,
        "2[\"a\u{1}\"]",
        r#"2["x"1]"#,
    ] {
        assert!(
            matches!(decode(text), Err(InvalidJson { .. })),
            "{text}: {:?}",
            decode(text)
        );
    }
}

#[test]
fn huge_attachment_counts_are_rejected_at_the_header() {
    for text in [
        r#"5451-["x"]"#,
        r#"511-["x"]"#,
        r#"54294967296-["x"]"#,
        r#"518446744073709551616-["x"]"#,
        &format!(r#"5{}-["x"]"#, "9".repeat(10_000)),
    ] {
        assert_eq!(
            decode(text),
            Err(DecodeError::TooManyAttachments { max: 10 }),
            "{text}"
        );
    }
    let limits = DecodeLimits {
        max_attachments: 0,
        ..DecodeLimits::DEFAULT
    };
    assert_eq!(
        Packet::decode(r#"51-["x"]"#.into(), &limits),
        Err(DecodeError::TooManyAttachments { max: 0 })
    );
}

#[test]
fn deep_nesting_is_rejected_without_recursion() {
    // A small stack: any recursion per nesting level would overflow it.
    let run = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(|| {
            let deep = |n| format!(r#"2["x",{}0{}]"#, "[{\"a\":".repeat(n), "}]".repeat(n));
            let limits = DecodeLimits::default();
            for (n, ok) in [(63, true), (64, false), (10_000, false), (200_000, false)] {
                let result = Packet::decode(Str::from(deep(n)), &limits);
                match ok {
                    true => assert!(result.is_ok(), "{n}"),
                    false => assert_eq!(result, Err(DecodeError::TooDeep { max: 128 }), "{n}"),
                }
            }
            // Even with no depth limit at all, scanning does not recurse.
            let unlimited = DecodeLimits {
                max_depth: usize::MAX,
                ..DecodeLimits::DEFAULT
            };
            assert!(Packet::decode(Str::from(deep(200_000)), &unlimited).is_ok());
            let flat = Str::from(format!("2[\"x\",{}]", "[".repeat(10_000)));
            assert!(matches!(
                Packet::decode(flat, &unlimited),
                Err(DecodeError::InvalidJson { .. })
            ));
            // The argument deserializer stops deep input before serde_json sees it.
            let args = "[".repeat(100_000) + &"]".repeat(100_000);
            assert!(deserialize_args::<Vec<serde_json::Value>>(&args, &[]).is_err());
        })
        .unwrap();
    run.join().unwrap();
}

#[test]
fn deepest_arguments_accepted_fit_in_a_small_stack() {
    // serde_json recurses once per level, within its limit; the proxies
    // around it add frames. A quarter of a Tokio worker's 2 MiB is enough even
    // without optimizations.
    let run = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(|| {
            let args = "[".repeat(126) + &"]".repeat(126);
            assert!(deserialize_args::<Vec<serde_json::Value>>(&args, &[]).is_ok());
            let objects = "{\"a\":".repeat(126) + "0" + &"}".repeat(126);
            assert!(deserialize_first_arg::<serde_json::Value>(&objects, &[]).is_ok());
        })
        .unwrap();
    run.join().unwrap();
}

#[test]
fn error_messages() {
    use DecodeError::*;
    let cases = [
        (Empty, "empty packet"),
        (UnknownPacketType(b'9'), "unknown packet type '9'"),
        (
            InvalidAttachmentCount,
            "binary packet without a valid attachment count",
        ),
        (
            TooManyAttachments { max: 10 },
            "binary packet announces more than 10 attachments",
        ),
        (
            AttachmentsTooLarge { max: 5 },
            "binary attachments exceed 5 bytes",
        ),
        (
            UnexpectedAttachment,
            "binary frame without a binary packet waiting for it",
        ),
        (
            MissingAttachments {
                expected: 2,
                received: 1,
            },
            "text packet received after 1 of 2 binary attachments",
        ),
        (InvalidAckId, "acknowledgement id out of range"),
        (MissingAckId, "acknowledgement without an id"),
        (
            UnexpectedAckId(PacketType::Connect),
            "CONNECT packet with an acknowledgement id",
        ),
        (
            MissingPayload(PacketType::Event),
            "EVENT packet without a payload",
        ),
        (
            UnexpectedPayload(PacketType::Disconnect),
            "DISCONNECT packet with a payload",
        ),
        (
            InvalidPayload {
                packet_type: PacketType::BinaryAck,
                expected: "an array",
            },
            "BINARY_ACK payload must be an array",
        ),
        (
            ReservedEventName(Str::from("connect")),
            "reserved event name \"connect\"",
        ),
        (InvalidJson { offset: 3 }, "invalid JSON at byte 3"),
        (TooDeep { max: 128 }, "JSON nested deeper than 128 levels"),
    ];
    for (err, message) in cases {
        assert_eq!(err.to_string(), message);
    }
    let boxed: Box<dyn std::error::Error> = Box::new(Empty);
    assert!(boxed.source().is_none());
}
