use bytes::{Bytes, BytesMut};

use super::*;

/// A cheap fuzzer that runs with the tests: mutations of valid packets must
/// never panic, and whatever decodes must encode to something that decodes
/// to the same packet.
#[test]
fn mutated_packets_never_panic_and_round_trip() {
    let seeds = [
        r#"2/chat,7["echo",1,{"a":[2,"x\"y"]}]"#,
        r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        r#"61-15["bar",{"_placeholder":true,"num":0}]"#,
        r#"0/admin,{"token":"123"}"#,
        r#"4{"message":"Not authorized","data":{"a":-1e5}}"#,
        "1/admin,",
        r#"3/x,13["bar",[],{}]"#,
    ];
    let alphabet = b"0123456-/,[]{}\":.eE+ \\ntrufalsx\x01\xc3\xa9";
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut decoded = 0;
    for i in 0..20_000 {
        let mut bytes = seeds[i % seeds.len()].as_bytes().to_vec();
        for _ in 0..=next() % 4 {
            let at = (next() as usize) % (bytes.len() + 1);
            let b = alphabet[(next() as usize) % alphabet.len()];
            match next() % 3 {
                0 if at < bytes.len() => bytes[at] = b,
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, b),
            }
        }
        let Ok(text) = Str::try_from(Bytes::from(bytes)) else {
            continue;
        };
        if let Ok(Decoded::Packet(packet)) = Packet::decode(text, &DecodeLimits::default()) {
            decoded += 1;
            let again = packet.encode(&mut BytesMut::new()).text.slice_from(1);
            assert_eq!(complete(&again), packet, "{again}");
            if let PacketData::Event(e) = &packet.data {
                let _ = deserialize_args::<Vec<serde_json::Value>>(&e.args, &e.attachments);
            }
        }
    }
    assert!(decoded > 1_000, "only {decoded} mutants decoded");
}
