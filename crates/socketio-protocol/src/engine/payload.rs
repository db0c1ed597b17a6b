use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::{BufMut, Bytes, BytesMut};

use super::{DecodeError, Frame, Packet};
use crate::Str;

/// The record separator (`\x1e`) that joins packets in a long-polling payload.
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// Decodes a long-polling body into its packets, lazily and without copying text.
///
/// Records are separated by `\x1e`; a record starting with `b` is a binary
/// message in base64. Each item is one packet or the error that stopped it;
/// a caller should stop at the first error.
///
/// ```
/// use socketio_protocol::engine::{decode_payload, Packet};
///
/// let mut it = decode_payload("4hello\x1e2\x1e4world".into());
/// assert_eq!(it.next(), Some(Ok(Packet::Message("hello".into()))));
/// assert_eq!(it.next(), Some(Ok(Packet::Ping("".into()))));
/// assert_eq!(it.next(), Some(Ok(Packet::Message("world".into()))));
/// assert_eq!(it.next(), None);
/// ```
pub fn decode_payload(body: Str) -> PayloadDecoder {
    PayloadDecoder { rest: Some(body) }
}

/// Iterator over the packets of a long-polling payload, from [`decode_payload`].
#[derive(Debug, Clone)]
pub struct PayloadDecoder {
    rest: Option<Str>,
}

impl Iterator for PayloadDecoder {
    type Item = Result<Packet, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest.take()?;
        let bytes = rest.as_bytes();
        let record = match bytes.iter().position(|&b| b == RECORD_SEPARATOR) {
            Some(i) => {
                // `\x1e` is ASCII, so both sides are char boundaries.
                self.rest = Some(rest.slice_from(i + 1));
                rest.slice(0..i)
            }
            None => rest,
        };
        let result = decode_record(record);
        if result.is_err() {
            self.rest = None;
        }
        Some(result)
    }
}

fn decode_record(record: Str) -> Result<Packet, DecodeError> {
    match record.as_bytes().first() {
        Some(b'b') => STANDARD
            .decode(&record.as_bytes()[1..])
            .map(|v| Packet::Binary(Bytes::from(v)))
            .map_err(|_| DecodeError::InvalidBase64),
        _ => Packet::decode_text(record),
    }
}

/// Appends the long-polling encoding of `frames` to `out`: text frames as they
/// are, binary frames as `b` + base64, joined by `\x1e`.
pub fn encode_payload<'a, I>(frames: I, out: &mut BytesMut)
where
    I: IntoIterator<Item = &'a Frame>,
{
    for (i, frame) in frames.into_iter().enumerate() {
        if i > 0 {
            out.put_u8(RECORD_SEPARATOR);
        }
        match frame {
            Frame::Text(s) => out.put_slice(s.as_bytes()),
            Frame::Binary(b) => {
                out.put_u8(b'b');
                let start = out.len();
                let encoded_len = b.len().div_ceil(3) * 4;
                out.resize(start + encoded_len, 0);
                // The buffer was sized for the padded encoding, so this cannot fail.
                let written = STANDARD.encode_slice(b, &mut out[start..]).unwrap_or(0);
                out.truncate(start + written);
            }
        }
    }
}

/// The number of bytes [`encode_payload`] will write for `frames`.
pub fn encoded_payload_len<'a, I>(frames: I) -> usize
where
    I: IntoIterator<Item = &'a Frame>,
{
    frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            usize::from(i > 0)
                + match f {
                    Frame::Text(s) => s.len(),
                    Frame::Binary(b) => 1 + b.len().div_ceil(3) * 4,
                }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(s: &'static str) -> Result<Vec<Packet>, DecodeError> {
        decode_payload(s.into()).collect()
    }

    #[test]
    fn spec_example_text() {
        assert_eq!(
            decode("4hello\x1e2\x1e4world"),
            Ok(vec![
                Packet::Message("hello".into()),
                Packet::Ping("".into()),
                Packet::Message("world".into())
            ])
        );
    }

    #[test]
    fn spec_example_binary() {
        assert_eq!(
            decode("4hello\x1ebAQIDBA=="),
            Ok(vec![
                Packet::Message("hello".into()),
                Packet::Binary(Bytes::from_static(&[1, 2, 3, 4]))
            ])
        );
    }

    #[test]
    fn utf8_is_counted_in_bytes_not_chars() {
        assert_eq!(
            decode("4€\x1e4é"),
            Ok(vec![
                Packet::Message("€".into()),
                Packet::Message("é".into())
            ])
        );
    }

    #[test]
    fn errors_stop_decoding() {
        let mut it = decode_payload("4a\x1e9x\x1e4b".into());
        assert_eq!(it.next(), Some(Ok(Packet::Message("a".into()))));
        assert_eq!(it.next(), Some(Err(DecodeError::UnknownPacketType(b'9'))));
        assert_eq!(it.next(), None);
        assert_eq!(decode("bnot base64!"), Err(DecodeError::InvalidBase64));
        assert_eq!(decode(""), Err(DecodeError::Empty));
        assert_eq!(decode("4a\x1e"), Err(DecodeError::Empty));
    }

    #[test]
    fn encodes_spec_examples() {
        let frames = [
            Frame::message("hello"),
            Frame::from(&Packet::Ping("".into())),
            Frame::message("world"),
        ];
        let mut out = BytesMut::new();
        encode_payload(&frames, &mut out);
        assert_eq!(&out[..], b"4hello\x1e2\x1e4world");
        assert_eq!(encoded_payload_len(&frames), out.len());

        let frames = [
            Frame::message("hello"),
            Frame::Binary(Bytes::from_static(&[1, 2, 3, 4])),
        ];
        let mut out = BytesMut::new();
        encode_payload(&frames, &mut out);
        assert_eq!(&out[..], b"4hello\x1ebAQIDBA==");
        assert_eq!(encoded_payload_len(&frames), out.len());
    }

    #[test]
    fn binary_round_trip_all_lengths() {
        for n in 0..8u8 {
            let data: Vec<u8> = (0..n).collect();
            let frames = [Frame::Binary(Bytes::from(data.clone()))];
            let mut out = BytesMut::new();
            encode_payload(&frames, &mut out);
            let body = Str::try_from(out.freeze()).unwrap();
            let decoded: Vec<_> = decode_payload(body).collect::<Result<_, _>>().unwrap();
            assert_eq!(decoded, vec![Packet::Binary(Bytes::from(data))]);
        }
    }
}
