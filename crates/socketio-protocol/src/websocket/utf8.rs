//! UTF-8 checked as the bytes of a text message arrive, in pieces of any
//! size (RFC 6455 §8.1: an endpoint may fail as soon as invalid bytes come).

/// The state kept between the pieces of one text message: the first bytes
/// of a character whose other bytes have not come yet.
///
/// Each piece is checked with `std::str::from_utf8`; only a character cut
/// by a piece boundary is put together from its bytes (at most four) and
/// checked on its own. So the message is valid when every piece was
/// accepted and [`finish`](Utf8Check::finish) finds no character left open.
#[derive(Debug, Default)]
pub(crate) struct Utf8Check {
    open: [u8; 4],
    open_len: usize,
}

/// The bytes given are not UTF-8, or the message ended inside a character.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct InvalidUtf8;

impl Utf8Check {
    /// Checks `bytes`, which follow every byte fed before; fails at the
    /// first byte that no valid text can have there.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Result<(), InvalidUtf8> {
        if self.open_len > 0 {
            // The open character and at most three bytes more: enough to
            // close it, and a valid prefix of what follows if not.
            let take = bytes.len().min(4 - self.open_len);
            let mut joined = self.open;
            joined[self.open_len..self.open_len + take].copy_from_slice(&bytes[..take]);
            let joined = &joined[..self.open_len + take];
            match std::str::from_utf8(joined) {
                // Closed, and what else was taken is valid on its own.
                Ok(_) => bytes = &bytes[take..],
                Err(e) if e.valid_up_to() > 0 => {
                    // Closed, by the first `valid_up_to` bytes of `joined`;
                    // the rest is checked with what follows.
                    bytes = &bytes[e.valid_up_to() - self.open_len..];
                }
                Err(e) if e.error_len().is_none() => {
                    // Still open: every byte given went into it.
                    self.open_len = joined.len();
                    self.open[..self.open_len].copy_from_slice(joined);
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
            self.open_len = 0;
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let tail = &bytes[e.valid_up_to()..];
                self.open[..tail.len()].copy_from_slice(tail);
                self.open_len = tail.len();
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// At the end of the message: fails if it ended inside a character.
    /// The check is then ready for the next message.
    pub(crate) fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let open = self.open_len;
        self.open_len = 0;
        if open == 0 {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pieces` in order and finishes.
    fn check(pieces: &[&[u8]]) -> Result<(), InvalidUtf8> {
        let mut c = Utf8Check::default();
        for p in pieces {
            c.feed(p)?;
        }
        c.finish()
    }

    #[test]
    fn valid_text_in_one_piece_or_split_at_every_byte() {
        let text = "aé€😀z".as_bytes();
        assert_eq!(check(&[text]), Ok(()));
        for cut in 0..=text.len() {
            assert_eq!(check(&[&text[..cut], &text[cut..]]), Ok(()), "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(check(&bytes), Ok(()));
    }

    #[test]
    fn a_four_byte_character_over_three_pieces_with_empty_ones_between() {
        // U+1F600, F0 9F 98 80.
        assert_eq!(check(&[b"a\xf0", b"", b"\x9f", b"\x98\x80b"]), Ok(()));
    }

    /// Feeds `first` (accepted) and then `second`, which must fail.
    fn fails_with_the_second_piece(first: &[u8], second: &[u8]) {
        let mut c = Utf8Check::default();
        assert_eq!(c.feed(first), Ok(()), "{first:?}");
        assert_eq!(
            c.feed(second),
            Err(InvalidUtf8),
            "{first:?} then {second:?}"
        );
    }

    #[test]
    fn fails_at_the_piece_with_the_first_invalid_byte() {
        fails_with_the_second_piece(b"4he", b"ll\xffo");
        // Invalid as soon as the second byte of a character shows it:
        // 0xCE 0xBA is "κ", 0xCE 0x41 is not UTF-8.
        fails_with_the_second_piece(b"\xce", b"\x41");
        // A surrogate (ED A0 80) fails at its second byte, before the third.
        fails_with_the_second_piece(b"\xed", b"\xa0");
        // Past U+10FFFF (F4 90 ...) fails at the second byte too.
        fails_with_the_second_piece(b"\xf4", b"\x90");
    }

    #[test]
    fn a_character_closed_then_invalid_bytes_in_the_same_piece() {
        // "é" closed by its second byte, then a lone continuation byte.
        fails_with_the_second_piece(b"\xc3", b"\xa9\x80");
        // ... or then a character left open, closed by the next piece.
        assert_eq!(check(&[b"\xc3", b"\xa9\xe2\x82", b"\xac"]), Ok(()));
    }

    #[test]
    fn a_message_that_ends_inside_a_character_fails_at_the_end() {
        assert_eq!(check(&[b"ok\xe2\x82"]), Err(InvalidUtf8));
        assert_eq!(check(&[b"\xf0", b"\x9f\x98"]), Err(InvalidUtf8));
        // The next message starts afresh.
        let mut c = Utf8Check::default();
        c.feed(b"\xe2").unwrap();
        assert_eq!(c.finish(), Err(InvalidUtf8));
        assert_eq!(c.feed(b"\x82"), Err(InvalidUtf8));
    }

    #[test]
    fn overlong_encodings_are_refused() {
        // "/" as C0 AF, and NUL as E0 80 80.
        assert_eq!(check(&[b"\xc0", b"\xaf"]), Err(InvalidUtf8));
        assert_eq!(check(&[b"\xe0\x80", b"\x80"]), Err(InvalidUtf8));
    }
}
