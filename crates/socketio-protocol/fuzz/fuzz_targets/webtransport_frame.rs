//! `webtransport::FrameDecoder` on any peer bytes, in reads of any sizes: no
//! panic; every frame within the limit and non-empty; the reads' sizes
//! change nothing (the same frames, then the same error or the same wait
//! for more, as when all bytes come in one read); and every frame decoded
//! reads back the same once written again.
//!
//! Input: one byte for the limit (0..=1020 bytes, in steps of 4), one for
//! the size of the reads (1..=256 bytes), then the bytes of the stream.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use socketio_protocol::{
    engine::Frame,
    webtransport::{put_frame, FrameDecoder, FrameError},
};

/// The frames decoded, and how decoding ended: `Ok(())` waiting for more
/// bytes, or the error.
type Outcome = (Vec<Frame>, Result<(), FrameError>);

fn decode(bytes: &[u8], read: usize, max: usize) -> Outcome {
    let mut decoder = FrameDecoder::new(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in bytes.chunks(read) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(frame.len() > 0 && frame.len() <= max);
                    out.push(frame);
                }
                Ok(None) => break,
                Err(e) => return (out, Err(e)),
            }
        }
    }
    (out, Ok(()))
}

fuzz_target!(|data: &[u8]| {
    let [limit, read, bytes @ ..] = data else {
        return;
    };
    let max = usize::from(*limit) * 4;
    let read = usize::from(*read) + 1;
    let whole = decode(bytes, bytes.len().max(1), max);
    assert_eq!(decode(bytes, read, max), whole);
    // Every frame read, written again (in the shortest form), reads back the same.
    let mut again = Vec::new();
    for f in &whole.0 {
        put_frame(&mut again, f);
    }
    assert_eq!(decode(&again, again.len().max(1), max), (whole.0, Ok(())));
});
