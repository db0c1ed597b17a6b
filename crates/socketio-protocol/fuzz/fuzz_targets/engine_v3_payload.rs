//! `engine::v3` payload decoders on any body, text and binary: no panic, and
//! the decoded packets encode back to a payload that decodes to the same
//! packets.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use socketio_protocol::engine::{v3, Frame, Packet};
use socketio_protocol::Str;

fn round_trip(packets: Vec<Packet>) {
    let frames: Vec<Frame> = packets.iter().map(Frame::from).collect();
    for supports_binary in [false, true] {
        let mut out = BytesMut::new();
        let again: Result<Vec<Packet>, _> =
            match v3::encode_payload(&frames, supports_binary, &mut out) {
                v3::PayloadKind::Binary => v3::decode_binary_payload(out.freeze()).collect(),
                v3::PayloadKind::Text => {
                    let Ok(text) = Str::try_from(out.freeze()) else {
                        panic!("encoded text payload is not UTF-8");
                    };
                    v3::decode_text_payload(text).collect()
                }
            };
        // An empty list encodes as `0:`, which decodes to nothing.
        assert_eq!(again, Ok(packets.clone()));
    }
}

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(Ok(packets)) = Str::try_from(bytes.clone())
        .map(|body| v3::decode_text_payload(body).collect::<Result<Vec<Packet>, _>>())
    {
        round_trip(packets);
    }
    if let Ok(packets) = v3::decode_binary_payload(bytes).collect::<Result<Vec<Packet>, _>>() {
        round_trip(packets);
    }
});
