//! The base framing header (RFC 6455 §5.2): parsed from a client's frame,
//! written for a server's.

use bytes::BufMut;

use super::FrameError;

pub(super) const OP_CONTINUATION: u8 = 0x0;
pub(super) const OP_TEXT: u8 = 0x1;
pub(super) const OP_BINARY: u8 = 0x2;
pub(super) const OP_CLOSE: u8 = 0x8;
pub(super) const OP_PING: u8 = 0x9;
pub(super) const OP_PONG: u8 = 0xA;

/// The kind of a frame that a server writes (RFC 6455 §5.2, §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// A text message (0x1).
    Text,
    /// A binary message (0x2).
    Binary,
    /// A close frame (0x8): empty, or a status code and a UTF-8 reason.
    Close,
    /// A ping (0x9).
    Ping,
    /// A pong (0xA), answering a ping with its payload.
    Pong,
}

impl OpCode {
    /// The opcode's four bits.
    pub const fn bits(self) -> u8 {
        match self {
            OpCode::Text => OP_TEXT,
            OpCode::Binary => OP_BINARY,
            OpCode::Close => OP_CLOSE,
            OpCode::Ping => OP_PING,
            OpCode::Pong => OP_PONG,
        }
    }
}

/// Appends the header of a final, unmasked frame carrying `len` bytes of
/// payload: what a server writes before the payload (RFC 6455 §5.2; a
/// server does not mask). The length takes 7, 16 or 64 bits, the shortest
/// that holds it.
///
/// ```
/// use socketio_protocol::websocket::{put_server_header, OpCode};
///
/// let mut out = Vec::new();
/// put_server_header(&mut out, OpCode::Text, 5);
/// out.extend_from_slice(b"Hello");
/// // RFC 6455 §5.7: "A single-frame unmasked text message".
/// assert_eq!(out, [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
/// ```
pub fn put_server_header(buf: &mut impl BufMut, opcode: OpCode, len: usize) {
    put_header(buf, opcode.bits(), len);
}

/// [`put_server_header`] for a message compressed with permessage-deflate:
/// the same, with the RSV1 bit set (RFC 7692 §6).
///
/// ```
/// use socketio_protocol::websocket::{put_compressed_server_header, OpCode};
///
/// let mut out = Vec::new();
/// put_compressed_server_header(&mut out, OpCode::Text, 7);
/// // RFC 7692 §7.2.3.1: "Hello" in one compressed frame.
/// out.extend_from_slice(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
/// assert_eq!(out[..2], [0xc1, 0x07]);
/// ```
pub fn put_compressed_server_header(buf: &mut impl BufMut, opcode: OpCode, len: usize) {
    const RSV1: u8 = 0x40;
    put_header(buf, RSV1 | opcode.bits(), len);
}

fn put_header(buf: &mut impl BufMut, bits: u8, len: usize) {
    const FIN: u8 = 0x80;
    buf.put_u8(FIN | bits);
    if len < 126 {
        buf.put_u8(len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        buf.put_u8(126);
        buf.put_u16(len);
    } else {
        buf.put_u8(127);
        buf.put_u64(len as u64);
    }
}

/// The fixed part of a client's frame, once all of it arrived.
#[derive(Debug)]
pub(super) struct Header {
    pub(super) fin: bool,
    /// The first frame of a compressed message (permessage-deflate).
    pub(super) rsv1: bool,
    pub(super) opcode: u8,
    pub(super) mask: [u8; 4],
    /// Payload length, as declared.
    pub(super) len: u64,
    /// Bytes of the header itself.
    pub(super) size: usize,
}

impl Header {
    /// The header at the front of `buf`; `Ok(None)` while part of it is
    /// missing. Checks the rules a frame breaks on its own: unmasked,
    /// reserved bits set, a control frame fragmented or long, a length
    /// with its top bit set.
    pub(super) fn parse(buf: &[u8], rsv1_allowed: bool) -> Result<Option<Header>, FrameError> {
        let [b0, b1, ..] = *buf else {
            return Ok(None);
        };
        let rsv1 = b0 & 0x40 != 0;
        if b0 & 0x30 != 0 || (rsv1 && !rsv1_allowed) {
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
        // permessage-deflate marks a message's first frame (RFC 7692 §6.1).
        if rsv1 && (opcode & 0x8 != 0 || opcode == OP_CONTINUATION) {
            return Err(FrameError::Protocol(
                "a compressed control or continuation frame",
            ));
        }
        let Some(m) = buf.get(at..at + 4) else {
            return Ok(None);
        };
        Ok(Some(Header {
            fin,
            rsv1,
            opcode,
            mask: [m[0], m[1], m[2], m[3]],
            len,
            size: at + 4,
        }))
    }

    /// Whether this is a control frame (close, ping, pong or reserved).
    pub(super) fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }
}

/// XORs `payload`, which starts `offset` bytes into a frame's payload, with
/// the masking key, eight bytes at a time.
pub(super) fn unmask(payload: &mut [u8], mut mask: [u8; 4], offset: usize) {
    mask.rotate_left(offset % 4);
    let mut key = [0; 8];
    key[..4].copy_from_slice(&mask);
    key[4..].copy_from_slice(&mask);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn header(opcode: OpCode, len: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        put_server_header(&mut buf, opcode, len);
        buf
    }

    #[test]
    fn server_headers_with_7_16_and_64_bit_lengths() {
        assert_eq!(header(OpCode::Text, 0), [0x81, 0x00]);
        assert_eq!(header(OpCode::Text, 7), [0x81, 0x07]);
        assert_eq!(header(OpCode::Binary, 125), [0x82, 125]);
        assert_eq!(header(OpCode::Binary, 126), [0x82, 126, 0x00, 0x7e]);
        assert_eq!(header(OpCode::Binary, 65_535), [0x82, 126, 0xff, 0xff]);
        assert_eq!(
            header(OpCode::Binary, 65_536),
            [0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]
        );
    }

    #[test]
    fn server_control_headers() {
        assert_eq!(header(OpCode::Close, 2), [0x88, 0x02]);
        assert_eq!(header(OpCode::Ping, 0), [0x89, 0x00]);
        assert_eq!(header(OpCode::Pong, 3), [0x8a, 0x03]);
    }

    #[test]
    fn unmasking_in_pieces_at_any_offset_equals_unmasking_at_once() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let data: Vec<u8> = (0..40u8).collect();
        let mut whole = data.clone();
        unmask(&mut whole, mask, 0);
        assert_eq!(whole[..4], [0x37, 0xfa ^ 1, 0x21 ^ 2, 0x3d ^ 3]);
        for cut in 0..data.len() {
            let mut pieces = data.clone();
            let (a, b) = pieces.split_at_mut(cut);
            unmask(a, mask, 0);
            unmask(b, mask, cut);
            assert_eq!(pieces, whole, "cut at {cut}");
        }
    }
}
