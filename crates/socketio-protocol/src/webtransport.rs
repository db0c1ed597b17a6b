//! The framing of Engine.IO packets on a WebTransport stream, sans-IO: what
//! engine.io-parser's `createPacketEncoderStream` writes and
//! `createPacketDecoderStream` reads.
//!
//! A WebTransport session carries one bidirectional stream, opened by the
//! client, and every Engine.IO packet both ways is one frame on it:
//!
//! | header | payload length |
//! |---|---|
//! | 1 byte, `L` below 126 | `L` |
//! | 1 byte `126`, then 2 bytes big-endian | up to 65,535 |
//! | 1 byte `127`, then 8 bytes big-endian | up to 2^53 − 1 |
//!
//! The top bit of the first byte (`0x80`) marks a binary payload: the raw
//! bytes of a binary message. Without it the payload is the UTF-8 text of a
//! packet, type digit first (`4hello`), as on a WebSocket. The encoder
//! always picks the shortest form.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use socketio_protocol::{engine::Frame, webtransport::{put_frame, FrameDecoder}};
//!
//! let mut wire = BytesMut::new();
//! put_frame(&mut wire, &Frame::message("hi"));
//! put_frame(&mut wire, &Frame::Binary(Bytes::from_static(&[1, 2, 3])));
//! assert_eq!(&wire[..], b"\x034hi\x83\x01\x02\x03");
//!
//! let mut decoder = FrameDecoder::new(1_000_000);
//! assert_eq!(decoder.decode(&mut wire), Ok(Some(Frame::message("hi"))));
//! assert_eq!(decoder.decode(&mut wire), Ok(Some(Frame::Binary(Bytes::from_static(&[1, 2, 3])))));
//! assert_eq!(decoder.decode(&mut wire), Ok(None));
//! ```

use std::fmt;

use bytes::{Buf, BufMut, BytesMut};

use crate::{engine::Frame, Str};

/// The longest header: one byte and a 64-bit length.
pub const MAX_HEADER_LEN: usize = 9;

/// The binary flag of the first header byte.
const BINARY: u8 = 0x80;

/// The largest length the peer's decoder accepts: JavaScript's
/// `Number.MAX_SAFE_INTEGER`.
const MAX_SAFE_LENGTH: u64 = (1 << 53) - 1;

/// The header of a frame whose payload is `len` bytes, binary or text:
/// its bytes and how many of them are used.
pub fn header(binary: bool, len: usize) -> ([u8; MAX_HEADER_LEN], usize) {
    let flag = if binary { BINARY } else { 0 };
    let mut out = [0; MAX_HEADER_LEN];
    match len {
        0..=125 => {
            // The match bounds `len` below 126.
            out[0] = flag | len as u8;
            (out, 1)
        }
        126..=0xffff => {
            out[0] = flag | 126;
            out[1..3].copy_from_slice(&(len as u16).to_be_bytes());
            (out, 3)
        }
        _ => {
            out[0] = flag | 127;
            out[1..9].copy_from_slice(&(len as u64).to_be_bytes());
            (out, 9)
        }
    }
}

/// Writes the header of `frame` into `buf`; its payload is to follow.
pub fn put_header<B: BufMut>(buf: &mut B, frame: &Frame) {
    let (bytes, n) = header(matches!(frame, Frame::Binary(_)), frame.len());
    buf.put_slice(&bytes[..n]);
}

/// Writes `frame` whole, header and payload, into `buf`.
///
/// An empty binary message is written as engine.io-parser writes it
/// (`0x80`), though no decoder reads it: a frame of length 0 is an error
/// to [`FrameDecoder`] and to Node's.
pub fn put_frame<B: BufMut>(buf: &mut B, frame: &Frame) {
    put_header(buf, frame);
    match frame {
        Frame::Text(t) => buf.put_slice(t.as_bytes()),
        Frame::Binary(b) => buf.put_slice(b),
    }
}

/// A frame the peer should not have sent: the session is then to be
/// closed (Node closes with reason `parse error`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// A frame with an empty payload, which engine.io-parser refuses too.
    Empty,
    /// A payload larger than the limit, known from the header alone.
    TooLarge {
        /// The length the header announced.
        size: u64,
        /// The limit.
        max: usize,
    },
    /// A text payload that is not UTF-8. (Node's decoder reads it with
    /// replacement characters; the official clients never send one.)
    InvalidUtf8,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Empty => f.write_str("webtransport frame with an empty payload"),
            FrameError::TooLarge { size, max } => {
                write!(
                    f,
                    "webtransport frame of {size} bytes over the limit of {max}"
                )
            }
            FrameError::InvalidUtf8 => f.write_str("webtransport text frame is not UTF-8"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Reads frames from the bytes of a WebTransport stream, in reads of any
/// size: a frame split across reads waits for the rest, several frames in
/// one read come out one per call.
#[derive(Debug)]
pub struct FrameDecoder {
    max_payload: usize,
    /// The header read, while its payload is not all there.
    pending: Option<(bool, usize)>,
}

impl FrameDecoder {
    /// A decoder that refuses payloads over `max_payload` bytes.
    pub fn new(max_payload: usize) -> FrameDecoder {
        FrameDecoder {
            max_payload,
            pending: None,
        }
    }

    /// The next frame in `buf`, whose bytes are consumed; `Ok(None)` when
    /// more bytes are needed. After an error the stream cannot be read on.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let (binary, len) = match self.pending {
            Some(header) => header,
            None => match self.read_header(buf)? {
                Some(header) => header,
                None => return Ok(None),
            },
        };
        if buf.len() < len {
            self.pending = Some((binary, len));
            buf.reserve(len - buf.len());
            return Ok(None);
        }
        self.pending = None;
        let payload = buf.split_to(len).freeze();
        if binary {
            return Ok(Some(Frame::Binary(payload)));
        }
        Str::try_from(payload)
            .map(|t| Some(Frame::Text(t)))
            .map_err(|_| FrameError::InvalidUtf8)
    }

    /// Takes a whole header from `buf`, or nothing while it is incomplete.
    fn read_header(&self, buf: &mut BytesMut) -> Result<Option<(bool, usize)>, FrameError> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        let binary = first & BINARY != 0;
        let (len, n) = match first & !BINARY {
            126 if buf.len() < 3 => return Ok(None),
            126 => (u64::from(u16::from_be_bytes([buf[1], buf[2]])), 3),
            127 if buf.len() < 9 => return Ok(None),
            127 => {
                let mut be = [0; 8];
                be.copy_from_slice(&buf[1..9]);
                (u64::from_be_bytes(be), 9)
            }
            short => (u64::from(short), 1),
        };
        if len == 0 {
            return Err(FrameError::Empty);
        }
        if len > MAX_SAFE_LENGTH || len > self.max_payload as u64 {
            return Err(FrameError::TooLarge {
                size: len,
                max: self.max_payload,
            });
        }
        buf.advance(n);
        // Within `max_payload`, a usize.
        Ok(Some((binary, len as usize)))
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn encoded(frame: &Frame) -> Vec<u8> {
        let mut out = Vec::new();
        put_frame(&mut out, frame);
        out
    }

    fn text(s: &str) -> Frame {
        Frame::Text(Str::from(s.to_owned()))
    }

    /// Frames captured from Chromium and the official client 4.8.4
    /// (docs/design/webtransport.md §1).
    #[test]
    fn encodes_the_bytes_the_official_client_reads() {
        assert_eq!(encoded(&text("0")), b"\x010");
        assert_eq!(encoded(&text("40")), b"\x0240");
        assert_eq!(encoded(&text("2probe")), b"\x062probe");
        assert_eq!(
            encoded(&Frame::Binary(Bytes::from_static(&[3, 2, 1]))),
            [0x83, 3, 2, 1]
        );
        let long = format!("42[\"long\",\"{}\"]", "x".repeat(200));
        assert_eq!(long.len(), 213);
        assert_eq!(encoded(&text(&long))[..4], [0x7e, 0x00, 0xd5, b'4']);
        let huge = format!("42[\"long\",\"{}\"]", "x".repeat(70_000));
        assert_eq!(
            encoded(&text(&huge))[..10],
            [0x7f, 0, 0, 0, 0, 0, 0x01, 0x11, 0x7d, b'4']
        );
        let bin = Frame::Binary(Bytes::from(vec![7; 300]));
        assert_eq!(encoded(&bin)[..3], [0xfe, 0x01, 0x2c]);
    }

    #[test]
    fn length_forms_switch_at_126_and_65536() {
        for (len, header_len, first) in [
            (125, 1, 125),
            (126, 3, 126),
            (65_535, 3, 126),
            (65_536, 9, 127),
        ] {
            let (bytes, n) = header(false, len);
            assert_eq!((n, bytes[0]), (header_len, first), "length {len}");
            let (bytes, _) = header(true, len);
            assert_eq!(bytes[0], first | 0x80, "binary, length {len}");
        }
    }

    #[test]
    fn decodes_frames_split_and_joined() {
        let frames = [
            text("0{\"sid\":\"x\"}"),
            Frame::Binary(Bytes::from(vec![1; 130])),
            text(&"y".repeat(70_000)),
            text("3"),
        ];
        let mut wire = Vec::new();
        for f in &frames {
            put_frame(&mut wire, f);
        }
        for read in [1, 2, 3, 7, 100, wire.len()] {
            let mut decoder = FrameDecoder::new(100_000);
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            for piece in wire.chunks(read) {
                buf.extend_from_slice(piece);
                while let Some(f) = decoder.decode(&mut buf).unwrap() {
                    out.push(f);
                }
            }
            assert_eq!(out, frames, "reads of {read} bytes");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn refuses_what_the_official_parser_refuses() {
        let decode = |bytes: &[u8], max| FrameDecoder::new(max).decode(&mut BytesMut::from(bytes));
        assert_eq!(decode(&[0x00], 10), Err(FrameError::Empty));
        assert_eq!(decode(&[0x80], 10), Err(FrameError::Empty));
        // Over the limit, known before the payload arrives.
        assert_eq!(
            decode(&[0x0b], 10),
            Err(FrameError::TooLarge { size: 11, max: 10 })
        );
        assert_eq!(decode(&[0x0a], 10), Ok(None));
        let beyond_js = [0x7f, 0, 0x20, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            decode(&beyond_js, usize::MAX),
            Err(FrameError::TooLarge {
                size: 1 << 53,
                max: usize::MAX
            })
        );
        assert_eq!(
            decode(&[0x02, 0xff, 0xfe], 10),
            Err(FrameError::InvalidUtf8)
        );
    }
}
