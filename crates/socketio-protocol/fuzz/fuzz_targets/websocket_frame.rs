//! `websocket::FrameDecoder` on any client bytes, in reads of any sizes: no
//! panic; every text is UTF-8, every message within the limit, every ping
//! within 125 bytes, every close code one a peer may send; and the reads'
//! sizes change nothing (the same messages, then the same error or the
//! same wait for more, as when all bytes come in one read).
//!
//! Input: one byte for the limit (its low 7 bits: 0..=1016 bytes, in steps
//! of 8) and whether permessage-deflate was agreed (its top bit: then
//! compressed messages are inflated, within the limit), one for the size
//! of the reads (1..=256 bytes), then the bytes of the connection.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use socketio_protocol::websocket::{FrameDecoder, FrameError, Incoming};

/// The messages decoded, and how decoding ended: `Ok(())` waiting for
/// more bytes, or the error.
type Outcome = (Vec<Incoming>, Result<(), FrameError>);

/// Feeds `bytes` in reads of `read` bytes, decoding after each until the
/// decoder waits for more or fails.
fn decode(bytes: &[u8], read: usize, max: usize, deflate: bool) -> Outcome {
    let mut decoder = match deflate {
        true => FrameDecoder::with_deflate(max),
        false => FrameDecoder::new(max),
    };
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in bytes.chunks(read) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(message)) => {
                    check(&message, max);
                    out.push(message);
                }
                Ok(None) => break,
                Err(e) => {
                    if let FrameError::TooLarge { size, max: limit } = e {
                        assert!(size > limit as u64 && limit == max);
                    }
                    return (out, Err(e));
                }
            }
        }
    }
    (out, Ok(()))
}

fn check(message: &Incoming, max: usize) {
    match message {
        Incoming::Text(text) => {
            // The bytes themselves, not `as_str`, which trusts them.
            assert!(std::str::from_utf8(text.as_bytes()).is_ok());
            assert!(text.len() <= max);
        }
        Incoming::Binary(data) => assert!(data.len() <= max),
        Incoming::Ping(data) => assert!(data.len() <= 125),
        Incoming::Pong | Incoming::Close(None) => {}
        Incoming::Close(Some(code)) => {
            assert!(matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [limit, read, bytes @ ..] = data else {
        return;
    };
    let max = usize::from(*limit & 0x7f) * 8;
    let deflate = *limit & 0x80 != 0;
    let read = usize::from(*read) + 1;
    let whole = decode(bytes, bytes.len().max(1), max, deflate);
    let pieces = decode(bytes, read, max, deflate);
    assert_eq!(whole, pieces);
});
