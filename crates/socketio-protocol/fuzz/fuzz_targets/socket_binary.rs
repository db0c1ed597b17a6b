//! `socket::Decoder` fed a sequence of text and binary frames: no panic, and
//! the attachment limits hold.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_protocol::socket::{DecodeLimits, Decoder};
use socketio_protocol::Str;

fuzz_target!(|data: &[u8]| {
    let mut limits = DecodeLimits::default();
    limits.max_attachments = 4;
    limits.max_attachment_bytes = 64;
    let mut decoder = Decoder::new(limits);
    // Frames are separated by 0xff (never in UTF-8); a frame starting with
    // 0xfe is binary, anything else text.
    for frame in data.split(|&b| b == 0xff) {
        let result = match frame.split_first() {
            Some((0xfe, binary)) => decoder.decode_binary(Bytes::copy_from_slice(binary)),
            _ => match Str::try_from(Bytes::copy_from_slice(frame)) {
                Ok(text) => decoder.decode_text(text),
                Err(_) => continue,
            },
        };
        if let Ok(Some(packet)) = result {
            let attachments = packet.attachments();
            assert!(attachments.len() <= 4);
            assert!(attachments.iter().map(Bytes::len).sum::<usize>() <= 64);
        }
    }
});
