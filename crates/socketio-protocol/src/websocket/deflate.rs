//! WebSocket per-message compression, `permessage-deflate` (RFC 7692), the
//! server's side, sans-IO: choosing among a client's offers
//! ([`negotiate`]), and the compressor and decompressor of one connection
//! ([`Deflater`], [`Inflater`]). The frame decoder inflates what a client
//! compressed ([`FrameDecoder::with_deflate`](super::FrameDecoder::with_deflate));
//! the writer of a connection deflates with a [`Deflater`] and marks the
//! frame with [`put_compressed_server_header`](super::put_compressed_server_header).
//!
//! ```
//! use socketio_protocol::websocket::deflate::{negotiate, Deflater, Inflater};
//!
//! // Chromium's offer.
//! let agreed = negotiate(["permessage-deflate; client_max_window_bits"]).unwrap();
//! assert_eq!(agreed.response(), "permessage-deflate");
//! let mut out = Vec::new();
//! Deflater::new(&agreed).deflate(b"hello hello hello hello", &mut out);
//! let mut back = Vec::new();
//! Inflater::new().inflate(&out, 1024, &mut back).unwrap();
//! assert_eq!(back, b"hello hello hello hello");
//! ```

use std::fmt;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The bytes a sync flush ends with, which a message's compressed payload
/// leaves out (RFC 7692 §7.2.1) and the receiver puts back.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// How much the output grows at a time.
const STEP: usize = 16 * 1024;

/// What the server agreed to for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreed {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client said it resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// The server's LZ77 window, 9 to 15 bits (15 unless the client asked
    /// for less).
    pub server_max_window_bits: u8,
    /// Whether the client's offer named `server_max_window_bits`, which the
    /// response must then repeat.
    server_window_named: bool,
}

impl Agreed {
    /// The value of the response's `Sec-WebSocket-Extensions` header.
    pub fn response(&self) -> String {
        let mut out = String::from("permessage-deflate");
        if self.server_no_context_takeover {
            out.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            out.push_str("; client_no_context_takeover");
        }
        if self.server_window_named {
            out.push_str(&format!(
                "; server_max_window_bits={}",
                self.server_max_window_bits
            ));
        }
        out
    }
}

/// Picks the first `permessage-deflate` offer the server can honour from
/// the values of the request's `Sec-WebSocket-Extensions` headers
/// (RFC 7692 §5, §7.1); `None` when there is none, and the connection goes
/// on without compression. An offer with an unknown or repeated parameter,
/// or a window size out of 8..=15, is declined, as is one that asks the
/// server for a window of 8 bits (the deflate implementation's smallest is 9).
pub fn negotiate<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<Agreed> {
    headers
        .into_iter()
        .flat_map(|h| h.split(','))
        .find_map(|offer| {
            let mut parts = offer.split(';').map(str::trim);
            if !parts.next()?.eq_ignore_ascii_case("permessage-deflate") {
                return None;
            }
            accept(parts)
        })
}

/// The parameters of one offer, if the server can honour them.
fn accept<'a>(params: impl Iterator<Item = &'a str>) -> Option<Agreed> {
    let mut agreed = Agreed {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        server_window_named: false,
    };
    let mut seen = [false; 4];
    for param in params {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (param, None),
        };
        let index = match name {
            "server_no_context_takeover" if value.is_none() => {
                agreed.server_no_context_takeover = true;
                0
            }
            "client_no_context_takeover" if value.is_none() => {
                agreed.client_no_context_takeover = true;
                1
            }
            "server_max_window_bits" => {
                let bits = window_bits(value?)?;
                if bits < 9 {
                    return None;
                }
                agreed.server_max_window_bits = bits;
                agreed.server_window_named = true;
                2
            }
            // The client's window is its own business: any size inflates
            // with a window of 15 bits.
            "client_max_window_bits" => {
                if let Some(v) = value {
                    window_bits(v)?;
                }
                3
            }
            _ => return None,
        };
        if std::mem::replace(&mut seen[index], true) {
            return None;
        }
    }
    Some(agreed)
}

fn window_bits(value: &str) -> Option<u8> {
    // Decimal digits only, no sign or leading zero (RFC 7692 §7.1.2).
    if value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().filter(|b| (8..=15).contains(b))
}

/// Compresses one connection's messages.
pub struct Deflater {
    compress: Compress,
    no_context_takeover: bool,
}

impl fmt::Debug for Deflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .finish_non_exhaustive()
    }
}

impl Deflater {
    /// A compressor for what was agreed (its window, and whether it forgets
    /// each message), at zlib's default level (6).
    pub fn new(agreed: &Agreed) -> Deflater {
        Deflater::with_level(agreed, Compression::default().level())
    }

    /// [`new`](Self::new) at `level`, 0 (stored, no compression) to 9
    /// (smallest, slowest); above 9 counts as 9. zlib's levels, as Node's
    /// `perMessageDeflate.zlibDeflateOptions.level`.
    pub fn with_level(agreed: &Agreed, level: u32) -> Deflater {
        Deflater {
            compress: Compress::new_with_window_bits(
                Compression::new(level.min(9)),
                false,
                agreed.server_max_window_bits,
            ),
            no_context_takeover: agreed.server_no_context_takeover,
        }
    }

    /// Appends the compressed payload of the message `input` to `out`.
    pub fn deflate(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        let mut pos = 0;
        loop {
            if out.len() == out.capacity() {
                out.reserve(STEP.max(input.len() / 4));
            }
            let before = self.compress.total_in();
            // Compressing into memory with room to write cannot fail.
            let _ = self
                .compress
                .compress_vec(&input[pos..], out, FlushCompress::Sync);
            pos += (self.compress.total_in() - before) as usize;
            // Done once everything went in and the flush fit in the room left.
            if pos == input.len() && out.len() < out.capacity() {
                break;
            }
        }
        // A sync flush ends with an empty stored block: its four bytes go.
        if out.len() >= start + TAIL.len() && out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.no_context_takeover {
            self.compress.reset();
        }
    }
}

/// A compressed message that inflates past the limit, or is not deflate
/// data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InflateError {
    /// More than `max` bytes once inflated.
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// Not a deflate stream.
    Invalid,
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InflateError::TooLarge { max } => {
                write!(
                    f,
                    "a compressed message larger than {max} bytes once inflated"
                )
            }
            InflateError::Invalid => f.write_str("a compressed message that is not deflate data"),
        }
    }
}

impl std::error::Error for InflateError {}

/// Decompresses one connection's messages, keeping the window between them
/// (which also serves a client that resets its own).
pub struct Inflater {
    decompress: Decompress,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater").finish_non_exhaustive()
    }
}

impl Default for Inflater {
    fn default() -> Self {
        Inflater::new()
    }
}

impl Inflater {
    /// A decompressor with the largest window, which reads any client's.
    pub fn new() -> Inflater {
        Inflater {
            decompress: Decompress::new_with_window_bits(false, 15),
        }
    }

    /// Appends the message whose compressed payload is `input` to `out`,
    /// stopping with [`InflateError::TooLarge`] as soon as it would take
    /// more than `max` bytes: output is made room for as it comes, so a
    /// small message that inflates to gigabytes costs at most `max`.
    pub fn inflate(
        &mut self,
        input: &[u8],
        max: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), InflateError> {
        let start = out.len();
        for chunk in [input, &TAIL[..]] {
            let mut pos = 0;
            loop {
                let produced = out.len() - start;
                if out.len() == out.capacity() {
                    if produced > max {
                        return Err(InflateError::TooLarge { max });
                    }
                    // Doubling, but never past one byte over the limit.
                    let more = produced.max(STEP).min(max + 1 - produced).max(1);
                    out.reserve_exact(more);
                }
                let before = self.decompress.total_in();
                let status = self
                    .decompress
                    .decompress_vec(&chunk[pos..], out, FlushDecompress::Sync)
                    .map_err(|_| InflateError::Invalid)?;
                pos += (self.decompress.total_in() - before) as usize;
                if out.len() - start > max {
                    return Err(InflateError::TooLarge { max });
                }
                if status == Status::StreamEnd {
                    // A final block: what follows starts a new stream.
                    self.decompress.reset(false);
                    return Ok(());
                }
                if pos == chunk.len() && out.len() < out.capacity() {
                    break;
                }
                if status == Status::BufError && pos == chunk.len() {
                    break;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(h: &str) -> Option<String> {
        negotiate([h]).map(|a| a.response())
    }

    #[test]
    fn offers_are_accepted_or_declined_as_rfc_7692_says() {
        assert_eq!(
            offer("permessage-deflate").as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            offer("permessage-deflate; client_max_window_bits").as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            offer("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
                .as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        );
        assert_eq!(
            offer("permessage-deflate; server_max_window_bits=10").as_deref(),
            Some("permessage-deflate; server_max_window_bits=10")
        );
        // Declined: a window of 8 for the server, an unknown or repeated
        // parameter, a bad value; the next offer is taken.
        assert_eq!(offer("permessage-deflate; server_max_window_bits=8"), None);
        assert_eq!(offer("permessage-deflate; x=1"), None);
        assert_eq!(
            offer("permessage-deflate; server_no_context_takeover; server_no_context_takeover"),
            None
        );
        assert_eq!(offer("permessage-deflate; client_max_window_bits=16"), None);
        assert_eq!(
            offer("permessage-deflate; server_max_window_bits=010"),
            None
        );
        assert_eq!(
            offer("permessage-deflate; server_max_window_bits=8, permessage-deflate").as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(offer("x-webkit-deflate-frame"), None);
    }

    #[test]
    fn rfc_7692_examples_inflate() {
        // §7.2.3.1: "Hello" compressed, and the same with context kept.
        let mut inflater = Inflater::new();
        let mut out = Vec::new();
        inflater
            .inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 100, &mut out)
            .unwrap();
        assert_eq!(out, b"Hello");
        out.clear();
        inflater
            .inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], 100, &mut out)
            .unwrap();
        assert_eq!(out, b"Hello");
        // §7.2.3.3: a stored (uncompressed) block.
        let mut out = Vec::new();
        Inflater::new()
            .inflate(
                &[
                    0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
                ],
                100,
                &mut out,
            )
            .unwrap();
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn the_server_s_hello_is_rfc_7692_s() {
        let agreed = negotiate(["permessage-deflate"]).unwrap();
        let mut deflater = Deflater::new(&agreed);
        let mut out = Vec::new();
        deflater.deflate(b"Hello", &mut out);
        assert_eq!(out, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        // The window is kept: the second "Hello" is a back-reference.
        let mut again = Vec::new();
        deflater.deflate(b"Hello", &mut again);
        assert!(again.len() < out.len(), "{again:?}");
        let mut inflater = Inflater::new();
        let mut back = Vec::new();
        inflater.inflate(&out, 10, &mut back).unwrap();
        inflater.inflate(&again, 10, &mut back).unwrap();
        assert_eq!(back, b"HelloHello");
    }

    #[test]
    fn without_context_takeover_each_message_stands_alone() {
        let agreed = negotiate(["permessage-deflate; server_no_context_takeover"]).unwrap();
        let mut deflater = Deflater::new(&agreed);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        deflater.deflate(b"Hello", &mut a);
        deflater.deflate(b"Hello", &mut b);
        assert_eq!(a, b);
        let mut out = Vec::new();
        Inflater::new().inflate(&b, 10, &mut out).unwrap();
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let agreed = negotiate(["permessage-deflate"]).unwrap();
        let mut bomb = Vec::new();
        Deflater::new(&agreed).deflate(&vec![0u8; 10 << 20], &mut bomb);
        assert!(bomb.len() < 20_000, "{}", bomb.len());
        let mut out = Vec::new();
        let err = Inflater::new()
            .inflate(&bomb, 1 << 20, &mut out)
            .unwrap_err();
        assert_eq!(err, InflateError::TooLarge { max: 1 << 20 });
        assert!(out.capacity() <= (1 << 20) + 1, "{}", out.capacity());
        // Exactly at the limit is fine.
        let mut exact = Vec::new();
        Deflater::new(&agreed).deflate(&vec![7u8; 4096], &mut exact);
        let mut out = Vec::new();
        Inflater::new().inflate(&exact, 4096, &mut out).unwrap();
        assert_eq!(out.len(), 4096);
        let mut out = Vec::new();
        assert!(Inflater::new().inflate(&exact, 4095, &mut out).is_err());
    }

    #[test]
    fn every_level_inflates_back_and_higher_levels_are_smaller() {
        let agreed = negotiate(["permessage-deflate"]).unwrap();
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("{{\"id\":{i},\"v\":{}}}", i * 7919 % 1000).into_bytes())
            .collect();
        let mut sizes = Vec::new();
        for level in [0, 1, 6, 9, 99] {
            let mut out = Vec::new();
            Deflater::with_level(&agreed, level).deflate(&text, &mut out);
            let mut back = Vec::new();
            Inflater::new()
                .inflate(&out, text.len(), &mut back)
                .unwrap();
            assert_eq!(back, text, "level {level}");
            sizes.push(out.len());
        }
        // Stored is larger than the input; 1 is smaller; 9 smallest; 99 is 9.
        assert!(sizes[0] > text.len() && sizes[1] < text.len(), "{sizes:?}");
        assert!(sizes[3] <= sizes[2] && sizes[2] < sizes[1], "{sizes:?}");
        assert_eq!(sizes[4], sizes[3]);
    }

    #[test]
    fn garbage_is_invalid() {
        let mut out = Vec::new();
        assert_eq!(
            Inflater::new().inflate(&[0xff, 0xff, 0xff], 100, &mut out),
            Err(InflateError::Invalid)
        );
    }
}
