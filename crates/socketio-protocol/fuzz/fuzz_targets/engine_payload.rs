//! `engine::decode_payload` on any long-polling body: no panic, and the
//! decoded packets encode back to a body that decodes to the same packets.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use socketio_protocol::engine::{decode_payload, encode_payload, Frame, Packet};
use socketio_protocol::Str;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = Str::try_from(bytes::Bytes::copy_from_slice(data)) else {
        return;
    };
    let Ok(packets) = decode_payload(body).collect::<Result<Vec<Packet>, _>>() else {
        return;
    };
    let frames: Vec<Frame> = packets.iter().map(Frame::from).collect();
    let mut out = BytesMut::new();
    encode_payload(&frames, &mut out);
    let Ok(again) = Str::try_from(out.freeze()) else {
        panic!("encoded payload is not UTF-8");
    };
    let decoded: Result<Vec<Packet>, _> = decode_payload(again).collect();
    assert_eq!(decoded, Ok(packets));
});
