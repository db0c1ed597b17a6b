//! Client frames to messages.
//!
//! A frame's payload is unmasked in place as its bytes arrive, and a text
//! message's UTF-8 is checked then too: invalid text fails at the read
//! that brought the first invalid byte, even inside a frame, and every
//! byte is unmasked and checked once. A whole message's payload is split
//! off the read buffer, so a text message reaches its user without being
//! copied or checked again.

use bytes::{Buf, Bytes, BytesMut};

use super::{
    header::{unmask, Header, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT},
    utf8::{InvalidUtf8, Utf8Check},
    FrameError, Incoming,
};
use crate::Str;

/// The most room made at once for a frame still arriving; the buffer grows
/// by such steps as its bytes come.
const RESERVE_STEP: usize = 64 * 1024;

/// Payloads up to this size are copied out of the read buffer, which then
/// serves the next read as it is, and a message kept by its user holds
/// only its own bytes; larger ones are split off it without a copy.
const COPY_MAX: usize = 4096;

/// Reads a client's frames (RFC 6455 §5) into messages: the state kept
/// between frames, which is the size limit, a fragmented message being
/// joined, and how far the frame in front has been read.
///
/// Feed it the connection's bytes in one [`BytesMut`], appending each read
/// to it; see [`decode`](FrameDecoder::decode).
#[derive(Debug)]
pub struct FrameDecoder {
    max_message: usize,
    /// The first fragments of a data message.
    fragmented: Option<Fragmented>,
    /// Payload bytes of the frame at the front of the buffer already
    /// unmasked (and checked, for text).
    read: usize,
    /// The UTF-8 of the text message being read.
    utf8: Utf8Check,
    /// Whether the message being read is compressed (its UTF-8 is then
    /// checked once inflated).
    compressed: bool,
    /// The decompressor, once permessage-deflate is agreed; made at the
    /// first compressed message.
    #[cfg(feature = "deflate")]
    inflate: Option<Option<Box<super::deflate::Inflater>>>,
}

#[derive(Debug)]
struct Fragmented {
    text: bool,
    bytes: BytesMut,
}

impl FrameDecoder {
    /// A decoder that accepts messages of up to `max_message` bytes,
    /// fragments joined (control frames have their own limit of 125).
    pub fn new(max_message: usize) -> Self {
        FrameDecoder {
            max_message,
            fragmented: None,
            read: 0,
            utf8: Utf8Check::default(),
            compressed: false,
            #[cfg(feature = "deflate")]
            inflate: None,
        }
    }

    /// A decoder for a connection that agreed to permessage-deflate: a
    /// message whose first frame has RSV1 set is inflated, and may take
    /// `max_message` bytes once inflated (a message that would inflate past
    /// it fails with [`FrameError::TooLarge`] as soon as it does, without
    /// being inflated further).
    #[cfg(feature = "deflate")]
    pub fn with_deflate(max_message: usize) -> Self {
        FrameDecoder {
            inflate: Some(None),
            ..FrameDecoder::new(max_message)
        }
    }

    fn deflate_agreed(&self) -> bool {
        #[cfg(feature = "deflate")]
        return self.inflate.is_some();
        #[cfg(not(feature = "deflate"))]
        false
    }

    /// Takes the next whole message off the front of `buf`; `Ok(None)`
    /// when more bytes are needed.
    ///
    /// Between two calls, bytes may only be appended to `buf`: the frame
    /// at its front may be partly unmasked in place already. While that
    /// frame is incomplete, `buf` is given room for more of it, at most
    /// 64 KiB at a time, so a header alone never makes it reserve the
    /// whole declared size.
    ///
    /// Errors come as early as the bytes allow: a frame's header is
    /// checked (size limit included) before its payload arrives, and text
    /// at the first invalid byte. After an error the connection is to be
    /// closed; the decoder is not meant to go on.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Incoming>, FrameError> {
        loop {
            let Some(head) = Header::parse(buf, self.deflate_agreed())? else {
                return Ok(None);
            };
            let text = self.kind(&head)?;
            if head.rsv1 {
                self.compressed = true;
            }
            // A data frame counts with the fragments before it; a control
            // frame is at most 125 bytes (checked with its header).
            let joined = self.fragmented.as_ref().map_or(0, |f| f.bytes.len());
            let size = joined as u64 + head.len;
            let total = usize::try_from(head.len)
                .ok()
                .and_then(|len| head.size.checked_add(len))
                .filter(|_| head.is_control() || size <= self.max_message as u64);
            let Some(total) = total else {
                return Err(FrameError::TooLarge {
                    size,
                    max: self.max_message,
                });
            };
            // What arrived of the payload since the last call.
            let from = head.size + self.read;
            let to = buf.len().min(total);
            if from < to {
                unmask(&mut buf[from..to], head.mask, self.read);
                if text && !self.compressed {
                    self.utf8.feed(&buf[from..to]).map_err(utf8_error)?;
                }
                self.read = to - head.size;
            }
            if buf.len() < total {
                // Room for what is missing, a step at a time.
                buf.reserve((total - buf.len()).min(RESERVE_STEP));
                return Ok(None);
            }
            self.read = 0;
            if let Some(message) = self.complete(&head, text, buf, total)? {
                return Ok(Some(message));
            }
        }
    }

    /// Whether the frame `head` carries text, once its opcode is known to
    /// be one that may come now.
    fn kind(&self, head: &Header) -> Result<bool, FrameError> {
        match (head.opcode, &self.fragmented) {
            (OP_TEXT | OP_BINARY, Some(_)) => Err(FrameError::Protocol(
                "a new message inside a fragmented one",
            )),
            (OP_TEXT, None) => Ok(true),
            (OP_BINARY, None) => Ok(false),
            (OP_CONTINUATION, Some(f)) => Ok(f.text),
            (OP_CONTINUATION, None) => Err(FrameError::Protocol(
                "a continuation frame with no message to continue",
            )),
            (OP_CLOSE | OP_PING | OP_PONG, _) => Ok(false),
            _ => Err(FrameError::Protocol("an unknown opcode")),
        }
    }

    /// Handles the whole frame `head` (unmasked, `total` bytes at the front
    /// of `buf`, taken off it here); a message when one is complete.
    fn complete(
        &mut self,
        head: &Header,
        text: bool,
        buf: &mut BytesMut,
        total: usize,
    ) -> Result<Option<Incoming>, FrameError> {
        let body = head.size..total;
        let message = match head.opcode {
            OP_TEXT | OP_BINARY if head.fin => {
                let payload = take(buf, head.size, total);
                return self.finish(text, payload).map(Some);
            }
            OP_TEXT | OP_BINARY => {
                self.fragmented = Some(Fragmented {
                    text,
                    bytes: BytesMut::from(&buf[body]),
                });
                None
            }
            OP_CONTINUATION => {
                if let Some(f) = self.fragmented.as_mut() {
                    f.bytes.extend_from_slice(&buf[body]);
                }
                match self.fragmented.take_if(|_| head.fin) {
                    Some(f) => Some(self.finish(f.text, f.bytes.freeze())?),
                    None => None,
                }
            }
            OP_CLOSE => Some(close_frame(&buf[body])?),
            OP_PING => return Ok(Some(Incoming::Ping(take(buf, head.size, total)))),
            _ => Some(Incoming::Pong),
        };
        buf.advance(total);
        Ok(message)
    }

    /// The message of a final frame, its payload whole.
    fn finish(&mut self, text: bool, payload: Bytes) -> Result<Incoming, FrameError> {
        if std::mem::take(&mut self.compressed) {
            return self.inflate(text, &payload);
        }
        if !text {
            return Ok(Incoming::Binary(payload));
        }
        self.utf8.finish().map_err(utf8_error)?;
        Ok(Incoming::Text(Str::from_checked_utf8(payload)))
    }
}

impl FrameDecoder {
    // Out of line: inflating dwarfs a call, and `finish` stays small for
    // the uncompressed messages.
    #[cfg(feature = "deflate")]
    #[inline(never)]
    fn inflate(&mut self, text: bool, payload: &[u8]) -> Result<Incoming, FrameError> {
        use super::deflate::{InflateError, Inflater};
        let max = self.max_message;
        let inflater = self
            .inflate
            .as_mut()
            .ok_or(FrameError::Protocol(
                "a compressed message with no extension",
            ))?
            .get_or_insert_with(|| Box::new(Inflater::new()));
        let mut out = Vec::new();
        inflater
            .inflate(payload, max, &mut out)
            .map_err(|e| match e {
                InflateError::TooLarge { max } => FrameError::TooLarge {
                    size: max as u64 + 1,
                    max,
                },
                _ => FrameError::Protocol("a compressed message that does not inflate"),
            })?;
        if !text {
            return Ok(Incoming::Binary(Bytes::from(out)));
        }
        let text = String::from_utf8(out).map_err(|_| FrameError::InvalidUtf8)?;
        Ok(Incoming::Text(Str::from(text)))
    }

    #[cfg(not(feature = "deflate"))]
    #[cold]
    fn inflate(&mut self, _text: bool, _payload: &[u8]) -> Result<Incoming, FrameError> {
        // RSV1 is refused by the header without the extension.
        Err(FrameError::Protocol(
            "a compressed message with no extension",
        ))
    }
}

fn utf8_error(_: InvalidUtf8) -> FrameError {
    FrameError::InvalidUtf8
}

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

/// A close frame: empty, or a status code and a UTF-8 reason (RFC 6455 §5.5.1, §7.4).
fn close_frame(payload: &[u8]) -> Result<Incoming, FrameError> {
    match payload {
        [] => Ok(Incoming::Close(None)),
        [_] => Err(FrameError::Protocol("a close frame of one byte")),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            // 1004-1006 and 1015 are never sent; below 1000 and 1016-2999 are not assigned to peers.
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
mod tests;
