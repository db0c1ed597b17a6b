//! `socket::Packet::decode` on any text: no panic, and a complete packet
//! encodes back to text that decodes to the same packet.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use socketio_protocol::socket::{DecodeLimits, Decoded, Packet};
use socketio_protocol::Str;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = Str::try_from(bytes::Bytes::copy_from_slice(data)) else {
        return;
    };
    let limits = DecodeLimits::default();
    if let Ok(Decoded::Packet(packet)) = Packet::decode(text, &limits) {
        let encoded = packet.encode(&mut BytesMut::new());
        let again = Packet::decode(encoded.text.slice_from(1), &limits);
        assert_eq!(again, Ok(Decoded::Packet(packet)));
    }
});
