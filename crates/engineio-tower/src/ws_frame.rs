//! Reading a client's WebSocket frames (RFC 6455 §5), sans-IO: bytes in,
//! messages out.
//!
//! The server's side of the protocol only: every client frame must be
//! masked, no extension is negotiated (so the reserved bits are zero), and
//! a message is handed over whole, fragments joined. What breaks a rule is
//! an error carrying the close code to answer with.
//!
//! A message's payload is split off the read buffer and unmasked in place:
//! a text message reaches the Engine.IO decoder without being copied, and
//! its UTF-8 is checked once.

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};
use socketio_protocol::Str;

/// A message read from the client.
#[derive(Debug, PartialEq)]
pub(crate) enum Incoming {
    Text(Str),
    Binary(Bytes),
    /// Answered with a pong carrying the same bytes.
    Ping(Bytes),
    Pong,
    /// The client closes, with the status code it gave, if any.
    Close(Option<u16>),
}

/// A frame that breaks the protocol or the size limit.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// A rule of RFC 6455 broken; close code 1002.
    Protocol(&'static str),
    /// A text message or close reason that is not UTF-8; close code 1007.
    InvalidUtf8,
    /// A message larger than the limit; close code 1009.
    TooLarge { size: u64, max: usize },
}

impl FrameError {
    /// The status code of the close frame that answers this error.
    pub(crate) fn close_code(&self) -> u16 {
        match self {
            FrameError::Protocol(_) => 1002,
            FrameError::InvalidUtf8 => 1007,
            FrameError::TooLarge { .. } => 1009,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Protocol(what) => write!(f, "websocket protocol error: {what}"),
            FrameError::InvalidUtf8 => f.write_str("websocket text is not UTF-8"),
            FrameError::TooLarge { size, max } => {
                write!(
                    f,
                    "websocket message of {size} bytes, over the limit of {max}"
                )
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// The most room made at once for a frame still arriving; the buffer grows
/// by such steps as its bytes come.
const RESERVE_STEP: usize = 64 * 1024;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// The state kept between frames: the limit and a fragmented message
/// being joined.
#[derive(Debug)]
pub(crate) struct FrameDecoder {
    max_message: usize,
    /// The first fragments of a message: whether it is text, and its bytes.
    partial: Option<(bool, BytesMut)>,
}

impl FrameDecoder {
    pub(crate) fn new(max_message: usize) -> Self {
        FrameDecoder {
            max_message,
            partial: None,
        }
    }

    /// Takes the next whole message off the front of `buf`; `Ok(None)`
    /// when more bytes are needed. After an error the connection is to be
    /// closed: the decoder's state is not meant to go on.
    ///
    /// While a frame is incomplete, `buf` keeps it and is given room for
    /// more of it, at most [`RESERVE_STEP`] at a time.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Incoming>, FrameError> {
        loop {
            let Some(head) = Header::parse(buf)? else {
                return Ok(None);
            };
            // A data frame counts with the fragments before it; a control
            // frame is at most 125 bytes (checked with its header).
            let joined = self.partial.as_ref().map_or(0, |(_, b)| b.len());
            let control = head.opcode & 0x8 != 0;
            let size = joined as u64 + head.len;
            let total = usize::try_from(head.len)
                .ok()
                .and_then(|len| head.size.checked_add(len))
                .filter(|_| control || size <= self.max_message as u64);
            let Some(total) = total else {
                return Err(FrameError::TooLarge {
                    size,
                    max: self.max_message,
                });
            };
            if buf.len() < total {
                // Room for what is missing, a step at a time: a header alone
                // must not make the connection hold the whole frame's size.
                buf.reserve((total - buf.len()).min(RESERVE_STEP));
                return Ok(None);
            }
            let body = head.size..total;
            unmask(&mut buf[body.clone()], head.mask);
            match (head.opcode, head.fin) {
                (OP_TEXT | OP_BINARY, fin) => {
                    if self.partial.is_some() {
                        return Err(FrameError::Protocol(
                            "a new message inside a fragmented one",
                        ));
                    }
                    let text = head.opcode == OP_TEXT;
                    if fin {
                        return finish(text, take(buf, head.size, total)).map(Some);
                    }
                    self.partial = Some((text, BytesMut::from(&buf[body])));
                }
                (OP_CONTINUATION, fin) => {
                    let Some((_, joined)) = self.partial.as_mut() else {
                        return Err(FrameError::Protocol(
                            "a continuation frame with no message to continue",
                        ));
                    };
                    joined.extend_from_slice(&buf[body]);
                    if fin {
                        buf.advance(total);
                        if let Some((text, joined)) = self.partial.take() {
                            return finish(text, joined.freeze()).map(Some);
                        }
                    }
                }
                (OP_CLOSE, _) => {
                    let close = close_frame(&buf[body]);
                    buf.advance(total);
                    return close.map(Some);
                }
                (OP_PING, _) => return Ok(Some(Incoming::Ping(take(buf, head.size, total)))),
                (OP_PONG, _) => {
                    buf.advance(total);
                    return Ok(Some(Incoming::Pong));
                }
                _ => return Err(FrameError::Protocol("an unknown opcode")),
            }
            buf.advance(total);
        }
    }
}

/// Payloads up to this size are copied out of the read buffer, which then
/// serves the next read as it is, and a message kept by a handler holds
/// only its own bytes; larger ones are split off it without a copy.
const COPY_MAX: usize = 4096;

/// Takes the payload `header..total` off the front of `buf`, with its header.
fn take(buf: &mut BytesMut, header: usize, total: usize) -> Bytes {
    if total - header <= COPY_MAX {
        let payload = Bytes::copy_from_slice(&buf[header..total]);
        buf.advance(total);
        payload
    } else {
        buf.advance(header);
        buf.split_to(total - header).freeze()
    }
}

/// The fixed part of a frame, once all of it arrived.
struct Header {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    /// Payload length, as declared.
    len: u64,
    /// Bytes of the header itself.
    size: usize,
}

impl Header {
    fn parse(buf: &[u8]) -> Result<Option<Header>, FrameError> {
        let [b0, b1, ..] = *buf else {
            return Ok(None);
        };
        if b0 & 0x70 != 0 {
            return Err(FrameError::Protocol(
                "reserved bits set with no extension negotiated",
            ));
        }
        if b1 & 0x80 == 0 {
            return Err(FrameError::Protocol("an unmasked frame from the client"));
        }
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0f;
        let (len, at) = match b1 & 0x7f {
            126 => match buf.get(2..4) {
                Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
                None => return Ok(None),
            },
            127 => match buf.get(2..10) {
                Some(b) => {
                    let mut n = [0; 8];
                    n.copy_from_slice(b);
                    let len = u64::from_be_bytes(n);
                    if len >> 63 != 0 {
                        return Err(FrameError::Protocol("a 64-bit length with its top bit set"));
                    }
                    (len, 10)
                }
                None => return Ok(None),
            },
            n => (u64::from(n), 2),
        };
        if opcode & 0x8 != 0 && (!fin || len > 125) {
            return Err(FrameError::Protocol(
                "a control frame fragmented or over 125 bytes",
            ));
        }
        let Some(m) = buf.get(at..at + 4) else {
            return Ok(None);
        };
        Ok(Some(Header {
            fin,
            opcode,
            mask: [m[0], m[1], m[2], m[3]],
            len,
            size: at + 4,
        }))
    }
}

/// XORs `payload` with the masking key, eight bytes at a time.
fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let m = [mask, mask].concat();
    let mut key = [0; 8];
    key.copy_from_slice(&m);
    let key = u64::from_ne_bytes(key);
    let mut words = payload.chunks_exact_mut(8);
    for w in words.by_ref() {
        let mut b = [0; 8];
        b.copy_from_slice(w);
        w.copy_from_slice(&(u64::from_ne_bytes(b) ^ key).to_ne_bytes());
    }
    // Each word is 8 bytes, so the rest starts at a multiple of 4.
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
}

fn finish(text: bool, payload: Bytes) -> Result<Incoming, FrameError> {
    if text {
        Str::try_from(payload)
            .map(Incoming::Text)
            .map_err(|_| FrameError::InvalidUtf8)
    } else {
        Ok(Incoming::Binary(payload))
    }
}

/// A close frame: empty, or a status code and a UTF-8 reason (RFC 6455 §5.5.1, §7.4).
fn close_frame(payload: &[u8]) -> Result<Incoming, FrameError> {
    match payload {
        [] => Ok(Incoming::Close(None)),
        [_] => Err(FrameError::Protocol("a close frame of one byte")),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            // 1004-1006 and 1015 are never sent; below 1000 and 1015-2999 are not assigned to peers.
            if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
                return Err(FrameError::Protocol(
                    "a close frame with an invalid status code",
                ));
            }
            std::str::from_utf8(reason).map_err(|_| FrameError::InvalidUtf8)?;
            Ok(Incoming::Close(Some(code)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// A masked client frame: `b0` (FIN, RSV, opcode), then the payload.
    fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![b0];
        match payload.len() {
            n @ 0..=125 => out.push(0x80 | n as u8),
            n @ 126..=65_535 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&MASK);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
        out
    }

    fn decode_all(bytes: &[u8], max: usize) -> Result<Vec<Incoming>, FrameError> {
        let mut d = FrameDecoder::new(max);
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(m) = d.decode(&mut buf)? {
            out.push(m);
        }
        Ok(out)
    }

    #[test]
    fn the_rfc_example_masked_hello() {
        // RFC 6455 §5.7: a single-frame masked text message.
        let bytes = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(
            decode_all(&bytes, 100),
            Ok(vec![Incoming::Text(Str::from("Hello"))])
        );
    }

    #[test]
    fn lengths_in_7_16_and_64_bits_and_every_unmasking_remainder() {
        for len in [0, 1, 7, 8, 9, 125, 126, 127, 65_535, 65_536, 70_001] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let got = decode_all(&frame(0x82, &payload), 100_000).unwrap();
            assert_eq!(
                got,
                vec![Incoming::Binary(Bytes::from(payload))],
                "length {len}"
            );
        }
    }

    #[test]
    fn a_message_arriving_byte_by_byte_comes_out_once_whole() {
        let bytes = frame(0x81, "42[\"é\",1]".as_bytes());
        let mut d = FrameDecoder::new(100);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for b in &bytes {
            buf.extend_from_slice(&[*b]);
            if let Some(m) = d.decode(&mut buf).unwrap() {
                out.push(m);
            }
        }
        assert_eq!(out, vec![Incoming::Text(Str::from("42[\"é\",1]"))]);
        assert!(buf.is_empty());
    }

    #[test]
    fn fragments_are_joined_around_control_frames() {
        let mut bytes = frame(0x01, b"4he");
        bytes.extend(frame(0x89, b"hb"));
        bytes.extend(frame(0x00, b"ll"));
        bytes.extend(frame(0x80, b"o"));
        bytes.extend(frame(0x8A, b""));
        assert_eq!(
            decode_all(&bytes, 100),
            Ok(vec![
                Incoming::Ping(Bytes::from_static(b"hb")),
                Incoming::Text(Str::from("4hello")),
                Incoming::Pong,
            ])
        );
    }

    #[test]
    fn utf8_split_across_fragments_is_checked_on_the_whole_message() {
        let e = "é".as_bytes();
        let mut bytes = frame(0x01, &[b'4', e[0]]);
        bytes.extend(frame(0x80, &[e[1]]));
        assert_eq!(
            decode_all(&bytes, 100),
            Ok(vec![Incoming::Text(Str::from("4é"))])
        );
        assert_eq!(
            decode_all(&frame(0x81, &[b'4', 0xff]), 100),
            Err(FrameError::InvalidUtf8)
        );
    }

    #[test]
    fn close_frames_give_their_code() {
        assert_eq!(
            decode_all(&frame(0x88, b""), 100),
            Ok(vec![Incoming::Close(None)])
        );
        assert_eq!(
            decode_all(&frame(0x88, &[0x03, 0xe8, b'b', b'y', b'e']), 100),
            Ok(vec![Incoming::Close(Some(1000))])
        );
        assert_eq!(
            decode_all(&frame(0x88, &[0x0f, 0xa0]), 100),
            Ok(vec![Incoming::Close(Some(4000))])
        );
        // Registered with IANA after RFC 6455: Service Restart, Try Again Later, Bad Gateway.
        for code in [1012u16, 1013, 1014] {
            assert_eq!(
                decode_all(&frame(0x88, &code.to_be_bytes()), 100),
                Ok(vec![Incoming::Close(Some(code))])
            );
        }
        for bad in [
            &[0x03][..],
            &[0x03, 0xed],
            &[0x03, 0xe7],
            &[0x03, 0xf7],
            &[0x0b, 0xb7],
        ] {
            assert!(
                matches!(
                    decode_all(&frame(0x88, bad), 100),
                    Err(FrameError::Protocol(_))
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            decode_all(&frame(0x88, &[0x03, 0xe8, 0xff]), 100),
            Err(FrameError::InvalidUtf8)
        );
    }

    #[test]
    fn protocol_violations_are_errors_with_code_1002() {
        let mut unmasked = frame(0x81, b"4x");
        unmasked[1] &= 0x7f;
        let mut continuation_in_the_middle = frame(0x01, b"4");
        continuation_in_the_middle.extend(frame(0x81, b"4"));
        let cases: [(&str, Vec<u8>); 7] = [
            ("unmasked", unmasked),
            ("reserved bit", frame(0xC1, b"4x")),
            ("unknown opcode", frame(0x83, b"")),
            ("fragmented ping", frame(0x09, b"")),
            ("long ping", frame(0x89, &[0; 126])),
            ("orphan continuation", frame(0x80, b"x")),
            (
                "new message inside a fragmented one",
                continuation_in_the_middle,
            ),
        ];
        for (name, bytes) in cases {
            let err = decode_all(&bytes, 1000).expect_err(name);
            assert_eq!(err.close_code(), 1002, "{name}: {err}");
        }
        let mut top_bit = vec![0x82, 0xff];
        top_bit.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 1]);
        assert!(matches!(
            decode_all(&top_bit, 1000),
            Err(FrameError::Protocol(_))
        ));
    }

    #[test]
    fn the_limit_holds_for_a_frame_before_its_payload_and_for_joined_fragments() {
        // Only the header of a 1 MiB frame: refused at once, with no room reserved for it.
        let header = &frame(0x82, &vec![0; 1 << 20])[..14];
        let mut d = FrameDecoder::new(1000);
        let mut buf = BytesMut::from(header);
        assert_eq!(
            d.decode(&mut buf),
            Err(FrameError::TooLarge {
                size: 1 << 20,
                max: 1000
            })
        );
        assert!(buf.capacity() < 1000);

        // Within the limit, a header alone makes room a step at a time.
        let mut d = FrameDecoder::new(10 << 20);
        let mut buf = BytesMut::from(header);
        assert_eq!(d.decode(&mut buf), Ok(None));
        assert!(buf.capacity() <= 14 + RESERVE_STEP, "{}", buf.capacity());

        assert_eq!(
            decode_all(&frame(0x82, &[0; 1000]), 1000).map(|v| v.len()),
            Ok(1)
        );
        let mut bytes = frame(0x02, &[0; 600]);
        bytes.extend(frame(0x80, &[0; 401]));
        assert_eq!(
            decode_all(&bytes, 1000),
            Err(FrameError::TooLarge {
                size: 1001,
                max: 1000
            })
        );
    }
}
