//! `msgpack::decode_packet` on any bytes: no panic, and a packet that
//! decodes encodes back to bytes that decode to the same packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio_protocol::{msgpack, socket::DecodeLimits};

fuzz_target!(|data: &[u8]| {
    let limits = DecodeLimits::default();
    if let Ok(packet) = msgpack::decode_packet(data, &limits) {
        let encoded = msgpack::encode_packet(&packet).expect("a decoded packet encodes");
        assert_eq!(msgpack::decode_packet(&encoded, &limits), Ok(packet));
    }
});
