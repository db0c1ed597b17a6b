//! Engine.IO protocol v3, the protocol of socket.io-client 2.x (Node's
//! `allowEIO3`): its long-polling payloads and its binary packets.
//!
//! The packets are those of v4 (the same type digits); what differs is how
//! they are framed:
//!
//! - A text payload joins packets as `<length>:<packet>`, the length counted
//!   in UTF-16 units as JavaScript counts a string's length. A binary message
//!   in a text payload (a client that asked for `b64=1`) is `b4` and base64.
//!   An empty payload is `0:`.
//! - A binary payload (a client without `b64`, when some packet is binary)
//!   is, for each packet, a byte `0` (text) or `1` (binary), the decimal
//!   digits of its length as bytes `0..=9`, a byte `255`, then the packet: a
//!   text packet as UTF-8 (its length in bytes), a binary one as the type
//!   byte `4` and the data.
//! - A binary WebSocket message carries the type byte `4` before the data.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use socketio_protocol::engine::{v3, Frame, Packet};
//!
//! let frames = [Frame::message("hello"), Frame::Binary(Bytes::from_static(&[1, 2, 3]))];
//! let mut out = BytesMut::new();
//! assert_eq!(v3::encode_payload(&frames, false, &mut out), v3::PayloadKind::Text);
//! assert_eq!(&out[..], b"6:4hello6:b4AQID");
//!
//! out.clear();
//! assert_eq!(v3::encode_payload(&frames, true, &mut out), v3::PayloadKind::Binary);
//! assert_eq!(&out[..], b"\x00\x06\xff4hello\x01\x04\xff\x04\x01\x02\x03");
//!
//! let packets: Vec<_> = v3::decode_text_payload("6:4hello6:b4AQID".into())
//!     .collect::<Result<_, _>>()
//!     .unwrap();
//! assert_eq!(packets, [Packet::Message("hello".into()), Packet::Binary(Bytes::from_static(&[1, 2, 3]))]);
//! ```

use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::{BufMut, Bytes, BytesMut};

use super::{DecodeError, Frame, Packet};
use crate::Str;

/// The protocol version of this module (`EIO=3`).
pub const PROTOCOL_VERSION: u8 = 3;

/// The type byte of a binary message: a WebSocket binary message and a
/// binary packet of a binary payload start with it.
pub const BINARY_MESSAGE_TYPE: u8 = 4;

/// Most decimal digits a length may have: more cannot be a length of
/// anything held in memory (Node gives up past 310).
const MAX_LENGTH_DIGITS: usize = 16;

/// Which of the two payload formats [`encode_payload`] wrote: the HTTP
/// response's content type depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// `<length>:<packet>` text (`text/plain; charset=UTF-8`).
    Text,
    /// The binary payload format (`application/octet-stream`).
    Binary,
}

/// Decodes a text packet of v3: a WebSocket text message, or one packet of
/// a text payload. `b` and a type digit then base64 is a binary message, as
/// in Node's parser; otherwise the packet is read as in v4
/// ([`Packet::decode_text`]).
///
/// ```
/// use bytes::Bytes;
/// use socketio_protocol::engine::{v3, Packet};
///
/// assert_eq!(v3::decode_text_packet("2".into()), Ok(Packet::Ping("".into())));
/// assert_eq!(v3::decode_text_packet("b4AQID".into()), Ok(Packet::Binary(Bytes::from_static(&[1, 2, 3]))));
/// ```
pub fn decode_text_packet(text: Str) -> Result<Packet, DecodeError> {
    match text.as_bytes().first() {
        Some(b'b') => {
            let bytes = &text.as_bytes()[1..];
            let ty = *bytes.first().ok_or(DecodeError::Empty)?;
            let data = STANDARD
                .decode(&bytes[1..])
                .map_err(|_| DecodeError::InvalidBase64)?;
            if !ty.is_ascii_digit() {
                return Err(DecodeError::UnknownPacketType(ty));
            }
            with_binary_data(ty - b'0', Bytes::from(data)).ok_or(DecodeError::UnknownPacketType(ty))
        }
        _ => Packet::decode_text(text),
    }
}

/// Decodes a binary packet of v3: a binary WebSocket message, or one binary
/// packet of a binary payload. The first byte is the type (`4`, a message;
/// the data of another type is dropped, as nothing reads it).
///
/// ```
/// use bytes::Bytes;
/// use socketio_protocol::engine::{v3, Packet};
///
/// assert_eq!(
///     v3::decode_binary_packet(Bytes::from_static(&[4, 1, 2, 3])),
///     Ok(Packet::Binary(Bytes::from_static(&[1, 2, 3])))
/// );
/// assert!(v3::decode_binary_packet(Bytes::from_static(&[9])).is_err());
/// ```
pub fn decode_binary_packet(data: Bytes) -> Result<Packet, DecodeError> {
    let ty = *data.first().ok_or(DecodeError::Empty)?;
    with_binary_data(ty, data.slice(1..)).ok_or(DecodeError::UnknownPacketType(ty))
}

/// A packet of type `ty` (a number) with binary data.
fn with_binary_data(ty: u8, data: Bytes) -> Option<Packet> {
    const DIGITS: [&str; 7] = ["0", "1", "2", "3", "4", "5", "6"];
    match ty {
        BINARY_MESSAGE_TYPE => Some(Packet::Binary(data)),
        t => DIGITS
            .get(usize::from(t))
            .and_then(|d| Packet::decode_text(Str::from_static(d)).ok()),
    }
}

/// Decodes a text payload (`<length>:<packet>…`), lazily. Each item is one
/// packet or the error that stopped decoding; packets of length 0 are
/// skipped, as in Node.
///
/// ```
/// use socketio_protocol::engine::{v3, Packet};
///
/// let mut it = v3::decode_text_payload("6:4hello1:22:4é".into());
/// assert_eq!(it.next(), Some(Ok(Packet::Message("hello".into()))));
/// assert_eq!(it.next(), Some(Ok(Packet::Ping("".into()))));
/// assert_eq!(it.next(), Some(Ok(Packet::Message("é".into()))));
/// assert_eq!(it.next(), None);
/// assert!(v3::decode_text_payload("7:4hello".into()).next().unwrap().is_err());
/// ```
pub fn decode_text_payload(body: Str) -> TextPayloadDecoder {
    TextPayloadDecoder {
        started: false,
        rest: Some(body),
    }
}

/// Iterator over the packets of a v3 text payload, from [`decode_text_payload`].
#[derive(Debug, Clone)]
pub struct TextPayloadDecoder {
    started: bool,
    rest: Option<Str>,
}

impl Iterator for TextPayloadDecoder {
    type Item = Result<Packet, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.rest.take()?;
            if rest.is_empty() {
                // An empty body is an error; the end of one is not.
                return (!std::mem::replace(&mut self.started, true))
                    .then_some(Err(DecodeError::Empty));
            }
            self.started = true;
            let record = match split_record(&rest) {
                Some(r) => r,
                None => return Some(Err(DecodeError::InvalidLength)),
            };
            let (packet, after) = record;
            // Both ends were found by walking chars: boundaries.
            let packet_text = rest.slice(packet);
            self.rest = Some(rest.slice_from(after));
            if packet_text.is_empty() {
                continue;
            }
            let result = decode_text_packet(packet_text);
            if result.is_err() {
                self.rest = None;
            }
            return Some(result);
        }
    }
}

/// Finds the first record of a text payload: the byte range of its packet,
/// and where the next record starts.
fn split_record(s: &str) -> Option<(std::ops::Range<usize>, usize)> {
    let colon = s.bytes().position(|b| b == b':')?;
    let digits = &s.as_bytes()[..colon];
    if digits.is_empty()
        || digits.len() > MAX_LENGTH_DIGITS
        || !digits.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let units: usize = s[..colon].parse().ok()?;
    let start = colon + 1;
    let mut counted = 0;
    let mut end = start;
    for c in s[start..].chars() {
        if counted >= units {
            break;
        }
        counted += c.len_utf16();
        end += c.len_utf8();
    }
    // Short, or a length that ends inside a surrogate pair.
    (counted == units).then_some((start..end, end))
}

/// Decodes a binary payload, lazily. Each item is one packet or the error
/// that stopped decoding.
///
/// ```
/// use bytes::Bytes;
/// use socketio_protocol::engine::{v3, Packet};
///
/// // Node's example: a binary packet of 3 bytes (the type byte and two of data).
/// let mut it = v3::decode_binary_payload(Bytes::from_static(&[1, 3, 255, 4, 1, 2]));
/// assert_eq!(it.next(), Some(Ok(Packet::Binary(Bytes::from_static(&[1, 2])))));
/// assert_eq!(it.next(), None);
/// ```
pub fn decode_binary_payload(body: Bytes) -> BinaryPayloadDecoder {
    BinaryPayloadDecoder { rest: body }
}

/// Iterator over the packets of a v3 binary payload, from [`decode_binary_payload`].
#[derive(Debug, Clone)]
pub struct BinaryPayloadDecoder {
    rest: Bytes,
}

impl Iterator for BinaryPayloadDecoder {
    type Item = Result<Packet, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let result = self.next_packet();
        if result.is_err() {
            self.rest = Bytes::new();
        }
        Some(result)
    }
}

impl BinaryPayloadDecoder {
    fn next_packet(&mut self) -> Result<Packet, DecodeError> {
        let b = &self.rest;
        let is_text = b[0] == 0;
        let end = b
            .iter()
            .skip(1)
            .take(MAX_LENGTH_DIGITS + 1)
            .position(|&d| d == 255)
            .ok_or(DecodeError::InvalidLength)?
            + 1;
        let digits = &b[1..end];
        if digits.is_empty() || digits.iter().any(|&d| d > 9) {
            return Err(DecodeError::InvalidLength);
        }
        let len = digits.iter().fold(0usize, |n, &d| n * 10 + usize::from(d));
        let start = end + 1;
        let stop = start
            .checked_add(len)
            .filter(|&s| s <= b.len())
            .ok_or(DecodeError::InvalidLength)?;
        let data = b.slice(start..stop);
        self.rest = b.slice(stop..);
        if is_text {
            let text = Str::try_from(data).map_err(|_| DecodeError::InvalidUtf8)?;
            if text.is_empty() {
                return Err(DecodeError::Empty);
            }
            decode_text_packet(text)
        } else {
            decode_binary_packet(data)
        }
    }
}

/// Appends the v3 payload of `frames` to `out`: the binary format when the
/// client takes binary (`supports_binary`, no `b64` in its query) and a
/// frame is binary, otherwise text. Says which it wrote.
pub fn encode_payload(frames: &[Frame], supports_binary: bool, out: &mut BytesMut) -> PayloadKind {
    if supports_binary && frames.iter().any(|f| matches!(f, Frame::Binary(_))) {
        for frame in frames {
            match frame {
                Frame::Text(s) => {
                    out.put_u8(0);
                    put_length_digits(out, s.len());
                    out.put_slice(s.as_bytes());
                }
                Frame::Binary(b) => {
                    out.put_u8(1);
                    put_length_digits(out, b.len() + 1);
                    out.put_u8(BINARY_MESSAGE_TYPE);
                    out.put_slice(b);
                }
            }
        }
        return PayloadKind::Binary;
    }
    if frames.is_empty() {
        out.put_slice(b"0:");
    }
    for frame in frames {
        match frame {
            Frame::Text(s) => {
                put_decimal(out, utf16_len(s));
                out.put_u8(b':');
                out.put_slice(s.as_bytes());
            }
            Frame::Binary(b) => {
                put_decimal(out, 2 + b.len().div_ceil(3) * 4);
                out.put_u8(b':');
                put_base64_message(out, b);
            }
        }
    }
    PayloadKind::Text
}

/// Appends a binary message as v3 text: `b4` and the data in base64 (a
/// polling client that asked for `b64=1`, or such a WebSocket client).
pub fn put_base64_message(out: &mut BytesMut, data: &[u8]) {
    out.put_slice(b"b4");
    let start = out.len();
    out.resize(start + data.len().div_ceil(3) * 4, 0);
    // Sized for the padded encoding, so this cannot fail.
    let written = STANDARD.encode_slice(data, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
}

/// The length of `s` as JavaScript counts it: UTF-16 code units.
///
/// ```
/// assert_eq!(socketio_protocol::engine::v3::utf16_len("4é😀"), 4);
/// ```
pub fn utf16_len(s: &str) -> usize {
    // A char takes two units when it takes four bytes: count the bytes that
    // start a char, and once more those that start a four-byte one.
    s.bytes()
        .map(|b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0))
        .sum()
}

fn put_decimal(out: &mut BytesMut, n: usize) {
    let mut buf = itoa_buf(n);
    for d in &mut buf.0[buf.1..] {
        *d += b'0';
    }
    out.put_slice(&buf.0[buf.1..]);
}

fn put_length_digits(out: &mut BytesMut, n: usize) {
    let buf = itoa_buf(n);
    out.put_slice(&buf.0[buf.1..]);
    out.put_u8(255);
}

/// The decimal digits of `n` (as numbers 0..=9), right-aligned, and where
/// they start.
fn itoa_buf(mut n: usize) -> ([u8; 20], usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return (buf, i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &'static str) -> Result<Vec<Packet>, DecodeError> {
        decode_text_payload(s.into()).collect()
    }

    fn binary(b: &'static [u8]) -> Result<Vec<Packet>, DecodeError> {
        decode_binary_payload(Bytes::from_static(b)).collect()
    }

    fn encode(frames: &[Frame], supports_binary: bool) -> (PayloadKind, Vec<u8>) {
        let mut out = BytesMut::new();
        let kind = encode_payload(frames, supports_binary, &mut out);
        (kind, out.to_vec())
    }

    #[test]
    fn text_payload_examples() {
        // engine.io-parser 2.x's example, with the type digits of real packets.
        assert_eq!(
            text("12:4hello world3:4hi"),
            Ok(vec![
                Packet::Message("hello world".into()),
                Packet::Message("hi".into())
            ])
        );
        assert_eq!(text("0:"), Ok(vec![]));
        assert_eq!(
            text("1:20:1:6"),
            Ok(vec![Packet::Ping("".into()), Packet::Noop])
        );
        assert_eq!(
            text("6:b4AQID"),
            Ok(vec![Packet::Binary(Bytes::from_static(&[1, 2, 3]))])
        );
    }

    #[test]
    fn text_lengths_count_utf16_units() {
        // "4€" is one unit of type and one of euro; "😀" is two units.
        assert_eq!(
            text("2:4€3:4😀"),
            Ok(vec![
                Packet::Message("€".into()),
                Packet::Message("😀".into())
            ])
        );
        // A length that ends inside the surrogate pair.
        assert_eq!(text("2:4😀"), Err(DecodeError::InvalidLength));
        let (_, out) = encode(&[Frame::message("€😀")], true);
        assert_eq!(out, "4:4€😀".as_bytes());
    }

    #[test]
    fn text_payload_errors() {
        assert_eq!(text(""), Err(DecodeError::Empty));
        assert_eq!(text("5:4hi"), Err(DecodeError::InvalidLength));
        assert_eq!(text("x:4hi"), Err(DecodeError::InvalidLength));
        assert_eq!(text(":4hi"), Err(DecodeError::InvalidLength));
        assert_eq!(text("3:4hi2"), Err(DecodeError::InvalidLength));
        assert_eq!(text("99999999999999999:4"), Err(DecodeError::InvalidLength));
        assert_eq!(text("2:9x"), Err(DecodeError::UnknownPacketType(b'9')));
        assert_eq!(text("3:b4!"), Err(DecodeError::InvalidBase64));
        let mut it = decode_text_payload("2:4a2:9x2:4b".into());
        assert_eq!(it.next(), Some(Ok(Packet::Message("a".into()))));
        assert!(matches!(it.next(), Some(Err(_))));
        assert_eq!(it.next(), None);
    }

    #[test]
    fn binary_payload_examples() {
        // engine.io-parser 2.x's example: `1 3 255 1 2 3` with the type byte first.
        assert_eq!(
            binary(&[1, 4, 255, 4, 1, 2, 3]),
            Ok(vec![Packet::Binary(Bytes::from_static(&[1, 2, 3]))])
        );
        // A text packet of 12 bytes ("4" + 11), then a binary one.
        let body: &[u8] = b"\x00\x01\x02\xff4hello world\x01\x02\xff\x04\xaa";
        assert_eq!(
            binary(body),
            Ok(vec![
                Packet::Message("hello world".into()),
                Packet::Binary(Bytes::from_static(&[0xaa]))
            ])
        );
        // Text lengths in a binary payload are UTF-8 bytes.
        assert_eq!(
            binary(b"\x00\x04\xff4\xe2\x82\xac"),
            Ok(vec![Packet::Message("€".into())])
        );
        assert_eq!(binary(b""), Ok(vec![]));
    }

    #[test]
    fn binary_payload_errors() {
        assert_eq!(binary(&[0, 5, 255, b'4']), Err(DecodeError::InvalidLength));
        assert_eq!(binary(&[0, 1]), Err(DecodeError::InvalidLength));
        assert_eq!(binary(&[0, 255, b'4']), Err(DecodeError::InvalidLength));
        assert_eq!(binary(&[0, 12, 255, b'4']), Err(DecodeError::InvalidLength));
        assert_eq!(binary(&[0, 1, 255, 0xff]), Err(DecodeError::InvalidUtf8));
        assert_eq!(binary(&[0, 0, 255]), Err(DecodeError::Empty));
        assert_eq!(
            binary(&[1, 1, 255, 9]),
            Err(DecodeError::UnknownPacketType(9))
        );
        assert_eq!(binary(&[1; 40]), Err(DecodeError::InvalidLength));
    }

    #[test]
    fn encodes_text_and_binary_payloads() {
        let frames = [
            Frame::message("hello"),
            Frame::Binary(Bytes::from_static(&[1, 2, 3])),
        ];
        assert_eq!(
            encode(&frames, false),
            (PayloadKind::Text, b"6:4hello6:b4AQID".to_vec())
        );
        assert_eq!(
            encode(&frames, true),
            (
                PayloadKind::Binary,
                b"\x00\x06\xff4hello\x01\x04\xff\x04\x01\x02\x03".to_vec()
            )
        );
        // Text only: text even when the client takes binary.
        assert_eq!(
            encode(&[Frame::message("x")], true),
            (PayloadKind::Text, b"2:4x".to_vec())
        );
        assert_eq!(encode(&[], true), (PayloadKind::Text, b"0:".to_vec()));
        // A length of two digits in the binary format.
        let big = Frame::Binary(Bytes::from(vec![7u8; 10]));
        let (_, out) = encode(&[big], true);
        assert_eq!(&out[..4], &[1, 1, 1, 255]);
    }

    #[test]
    fn round_trips() {
        let frames = [
            Frame::message("héllo 😀"),
            Frame::from(&Packet::Pong("".into())),
            Frame::Binary(Bytes::from_static(&[0, 255, 4])),
            Frame::Binary(Bytes::new()),
        ];
        let want: Vec<Packet> = vec![
            Packet::Message("héllo 😀".into()),
            Packet::Pong("".into()),
            Packet::Binary(Bytes::from_static(&[0, 255, 4])),
            Packet::Binary(Bytes::new()),
        ];
        let (_, t) = encode(&frames, false);
        let t = Str::try_from(Bytes::from(t)).unwrap();
        assert_eq!(
            decode_text_payload(t).collect::<Result<Vec<_>, _>>(),
            Ok(want.clone())
        );
        let (_, b) = encode(&frames, true);
        assert_eq!(
            decode_binary_payload(Bytes::from(b)).collect::<Result<Vec<_>, _>>(),
            Ok(want)
        );
    }
}
