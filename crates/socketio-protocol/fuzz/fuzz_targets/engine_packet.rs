//! `engine::Packet::decode_text` on any text: no panic, and what decodes
//! encodes back to a frame that decodes to the same packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio_protocol::engine::{Frame, Packet};
use socketio_protocol::Str;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = Str::try_from(bytes::Bytes::copy_from_slice(data)) else {
        return;
    };
    if let Ok(packet) = Packet::decode_text(text) {
        if let Frame::Text(encoded) = Frame::from(&packet) {
            assert_eq!(Packet::decode_text(encoded), Ok(packet));
        }
    }
});
