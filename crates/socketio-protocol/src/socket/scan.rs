//! An iterative JSON scanner: it checks syntax and finds where values start and
//! end, without building them and without recursion.
//!
//! The packet decoder only needs to know that the payload is JSON of the right
//! shape and where the event name and the arguments are; the arguments are
//! parsed later, into the user's type. A recursive descent parser would let
//! the peer choose how deep the stack grows, so open containers are kept in a
//! bit stack whose height is bounded by the configured depth limit.

use std::ops::Range;

/// A scanning failure, before it is given the packet context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScanError {
    /// Not JSON: the offset of the first unexpected byte (or the end of input).
    Syntax(usize),
    /// Arrays and objects nested deeper than the limit.
    TooDeep,
}

/// The type of a scanned JSON value, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

/// A cursor over JSON text.
#[derive(Debug)]
pub(crate) struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner reading `bytes` from `pos`, allowing at most `max_depth`
    /// nested arrays and objects.
    pub(crate) fn new(bytes: &'a [u8], pos: usize, max_depth: usize) -> Self {
        Scanner {
            bytes,
            pos,
            max_depth,
        }
    }

    /// The offset of the next byte.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The next byte, not consumed.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Consumes `b` if it is the next byte.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Skips JSON whitespace.
    pub(crate) fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Checks that only whitespace is left.
    pub(crate) fn end(&mut self) -> Result<(), ScanError> {
        self.skip_ws();
        if self.pos < self.bytes.len() {
            return Err(ScanError::Syntax(self.pos));
        }
        Ok(())
    }

    /// Consumes the next byte, or fails at the end of input.
    fn bump(&mut self) -> Result<u8, ScanError> {
        let b = self.peek().ok_or(ScanError::Syntax(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    /// Consumes the next byte, which must be `expected`.
    fn expect(&mut self, expected: u8) -> Result<(), ScanError> {
        let at = self.pos;
        if self.bump()? == expected {
            Ok(())
        } else {
            Err(ScanError::Syntax(at))
        }
    }

    /// Consumes `[` (after whitespace), the opening of an array at the top level.
    pub(crate) fn open_array(&mut self) -> Result<(), ScanError> {
        self.skip_ws();
        self.expect(b'[')?;
        if self.max_depth == 0 {
            return Err(ScanError::TooDeep);
        }
        Ok(())
    }

    /// Scans the rest of an array whose `[` and any earlier elements (with
    /// their trailing `,`) were consumed: one or more values separated by
    /// commas, then `]`. `depth` counts the arrays and objects around the
    /// elements. Returns the range from the first byte of the first element to
    /// the last byte of the last one.
    pub(crate) fn rest_of_array(&mut self, depth: usize) -> Result<Range<usize>, ScanError> {
        self.skip_ws();
        let start = self.pos;
        loop {
            self.value(depth)?;
            let end = self.pos;
            self.skip_ws();
            let at = self.pos;
            match self.bump()? {
                b',' => {}
                b']' => return Ok(start..end),
                _ => return Err(ScanError::Syntax(at)),
            }
        }
    }

    /// Scans a string whose opening quote is the next byte. Returns whether it
    /// contains escape sequences (if not, its text is the bytes between the quotes).
    pub(crate) fn string(&mut self) -> Result<bool, ScanError> {
        self.expect(b'"')?;
        self.string_body()
    }

    /// Scans one value after optional whitespace; `depth` counts the arrays
    /// and objects already open around it.
    pub(crate) fn value(&mut self, depth: usize) -> Result<Kind, ScanError> {
        self.skip_ws();
        let kind = match self.peek() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b'-' | b'0'..=b'9') => Kind::Number,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'n') => Kind::Null,
            _ => return Err(ScanError::Syntax(self.pos)),
        };
        let mut open = Stack::default();
        loop {
            // Here a value starts; whitespace is already skipped.
            let at = self.pos;
            match self.bump()? {
                b @ (b'{' | b'[') => {
                    if depth.saturating_add(open.len()) >= self.max_depth {
                        return Err(ScanError::TooDeep);
                    }
                    let is_object = b == b'{';
                    open.push(is_object);
                    self.skip_ws();
                    if self.eat(if is_object { b'}' } else { b']' }) {
                        open.pop();
                    } else {
                        if is_object {
                            self.key()?;
                        }
                        self.skip_ws();
                        continue;
                    }
                }
                b'"' => {
                    self.string_body()?;
                }
                b'-' => {
                    let at = self.pos;
                    match self.bump()? {
                        d @ b'0'..=b'9' => self.number_rest(d)?,
                        _ => return Err(ScanError::Syntax(at)),
                    }
                }
                d @ b'0'..=b'9' => self.number_rest(d)?,
                b't' => self.literal(b"rue")?,
                b'f' => self.literal(b"alse")?,
                b'n' => self.literal(b"ull")?,
                _ => return Err(ScanError::Syntax(at)),
            }
            // A value is complete: close the containers it ends, up to one
            // that continues with another element.
            loop {
                let Some(is_object) = open.top() else {
                    return Ok(kind);
                };
                self.skip_ws();
                let at = self.pos;
                match self.bump()? {
                    b',' => {
                        if is_object {
                            self.key()?;
                        }
                        self.skip_ws();
                        break;
                    }
                    b'}' if is_object => open.pop(),
                    b']' if !is_object => open.pop(),
                    _ => return Err(ScanError::Syntax(at)),
                }
            }
        }
    }

    /// Scans `"key" :` (with whitespace).
    fn key(&mut self) -> Result<(), ScanError> {
        self.skip_ws();
        self.string()?;
        self.skip_ws();
        self.expect(b':')
    }

    /// Scans the rest of a string after its opening quote.
    fn string_body(&mut self) -> Result<bool, ScanError> {
        let mut escaped = false;
        loop {
            let rest = self.bytes.get(self.pos..).unwrap_or_default();
            let plain = plain_len(rest).ok_or(ScanError::Syntax(self.bytes.len()))?;
            self.pos += plain;
            let at = self.pos;
            match self.bump()? {
                b'"' => return Ok(escaped),
                b'\\' => {
                    escaped = true;
                    let at = self.pos;
                    match self.bump()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            for _ in 0..4 {
                                let at = self.pos;
                                if !self.bump()?.is_ascii_hexdigit() {
                                    return Err(ScanError::Syntax(at));
                                }
                            }
                        }
                        _ => return Err(ScanError::Syntax(at)),
                    }
                }
                // A raw control character.
                _ => return Err(ScanError::Syntax(at)),
            }
        }
    }

    /// Scans the rest of a number whose first digit `first` was consumed.
    fn number_rest(&mut self, first: u8) -> Result<(), ScanError> {
        // JSON forbids leading zeros: after `0` the integer part is over.
        if first != b'0' {
            self.digits();
        }
        if self.eat(b'.') {
            self.some_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.some_digits()?;
        }
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn some_digits(&mut self) -> Result<(), ScanError> {
        match self.digits() {
            0 => Err(ScanError::Syntax(self.pos)),
            _ => Ok(()),
        }
    }

    /// Scans the rest of `true`, `false` or `null` after its first letter.
    fn literal(&mut self, rest: &[u8]) -> Result<(), ScanError> {
        let tail = self.bytes.get(self.pos..).unwrap_or_default();
        if tail.starts_with(rest) {
            self.pos += rest.len();
            Ok(())
        } else {
            Err(ScanError::Syntax(self.pos))
        }
    }
}

/// The kinds of the open containers, one bit each (set for an object).
///
/// 128 levels, the default limit, fit in the inline word; deeper levels,
/// possible only with a higher configured limit, spill to the heap.
#[derive(Debug, Default)]
struct Stack {
    len: usize,
    inline: u128,
    spill: Vec<bool>,
}

impl Stack {
    const INLINE: usize = u128::BITS as usize;

    fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, is_object: bool) {
        if self.len < Self::INLINE {
            let bit = 1u128 << self.len;
            if is_object {
                self.inline |= bit;
            } else {
                self.inline &= !bit;
            }
        } else {
            self.spill.push(is_object);
        }
        self.len += 1;
    }

    fn top(&self) -> Option<bool> {
        let i = self.len.checked_sub(1)?;
        if i < Self::INLINE {
            Some(self.inline >> i & 1 == 1)
        } else {
            self.spill.last().copied()
        }
    }

    fn pop(&mut self) {
        if self.len > Self::INLINE {
            self.spill.pop();
        }
        self.len = self.len.saturating_sub(1);
    }
}

/// The length of the run of bytes that a string holds as they are: up to
/// the first `"`, `\\` or control character, if any.
///
/// Eight bytes at a time: a byte equal to `c` is a zero byte of `w ^ c…c`,
/// and `(x - 0x01…01) & !x & 0x80…80` marks the zero bytes of `x` (and
/// `(w - 0x20…20) & !w & 0x80…80` the bytes below 0x20). A mark can be
/// spurious only above a true one, so the lowest mark is exact.
fn plain_len(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in words.by_ref() {
        let mut w = [0; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        let marks = zero_bytes(w ^ (ONES * u64::from(b'"')))
            | zero_bytes(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH);
        if marks != 0 {
            return Some(at + (marks.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str, max_depth: usize) -> Result<Kind, ScanError> {
        let mut s = Scanner::new(text.as_bytes(), 0, max_depth);
        let kind = s.value(0)?;
        s.end()?;
        Ok(kind)
    }

    #[test]
    fn plain_runs_end_at_the_first_special_byte_at_any_offset() {
        let naive = |b: &[u8]| b.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        for special in [b'"', b'\\', 0x00, 0x1f] {
            for len in 0..40 {
                for at in 0..=len {
                    // Multi-byte UTF-8 and bytes just above the limits around the special byte.
                    let mut bytes: Vec<u8> = "aé€ !#[]\x7f".bytes().cycle().take(len).collect();
                    if at < len {
                        bytes[at] = special;
                        // A second special byte after the first never hides it.
                        if at + 3 < len {
                            bytes[at + 3] = b'"';
                        }
                    }
                    assert_eq!(
                        plain_len(&bytes),
                        naive(&bytes),
                        "{special:#x} at {at} of {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn accepts_what_serde_json_accepts() {
        let valid = [
            "0",
            "-0",
            "12.5e-3",
            "1E+2",
            "-1.0",
            "true",
            "false",
            "null",
            r#""""#,
            r#""a\"b\\c\/\b\f\n\r\t\u00e9\uD83D\uDE00""#,
            "\"é€😀\"",
            "[]",
            "{}",
            " [ 1 , { \"a\" : [ ] , \"b\" : { } } , \"x\" ] ",
            r#"{"a":{"b":{"c":[1,2,[3]]}}}"#,
        ];
        for text in valid {
            assert!(serde_json::from_str::<serde_json::Value>(text).is_ok());
            assert!(scan(text, 128).is_ok(), "{text}");
        }
        assert_eq!(scan("{}", 1), Ok(Kind::Object));
        assert_eq!(scan("[1]", 1), Ok(Kind::Array));
        assert_eq!(scan("\"x\"", 0), Ok(Kind::String));
        assert_eq!(scan("-5", 0), Ok(Kind::Number));
        assert_eq!(scan("true", 0), Ok(Kind::Bool));
        assert_eq!(scan("null", 0), Ok(Kind::Null));
    }

    #[test]
    fn rejects_what_serde_json_rejects() {
        let invalid = [
            "",
            " ",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "+1",
            "tru",
            "nul",
            "True",
            "[",
            "]",
            "[1,]",
            "[,1]",
            "[1 2]",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{1:2}",
            "{\"a\" 1}",
            "\"abc",
            "\"\\x\"",
            "\"\\u12g4\"",
            "\"a\nb\"",
            "[1}",
            "{\"a\":1]",
            "1 2",
            "[]]",
            "nulll",
            "\"\\u12\"",
        ];
        for text in invalid {
            assert!(serde_json::from_str::<serde_json::Value>(text).is_err());
            assert!(
                matches!(scan(text, 128), Err(ScanError::Syntax(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn reports_the_offending_offset() {
        assert_eq!(scan("[1,]", 128), Err(ScanError::Syntax(3)));
        assert_eq!(scan("\"abc", 128), Err(ScanError::Syntax(4)));
        assert_eq!(scan("[1] x", 128), Err(ScanError::Syntax(4)));
    }

    #[test]
    fn bounds_depth() {
        let nested = |n| "[".repeat(n) + &"]".repeat(n);
        assert_eq!(scan(&nested(128), 128), Ok(Kind::Array));
        assert_eq!(scan(&nested(129), 128), Err(ScanError::TooDeep));
        let objects = "{\"a\":".repeat(3) + "1" + &"}".repeat(3);
        assert_eq!(scan(&objects, 3), Ok(Kind::Object));
        assert_eq!(scan(&objects, 2), Err(ScanError::TooDeep));
        assert_eq!(scan("[]", 0), Err(ScanError::TooDeep));
        // Above 128 levels the stack spills to the heap and still matches brackets.
        let mixed = "[{\"k\":".repeat(150) + "0" + &"}]".repeat(150);
        assert_eq!(scan(&mixed, 300), Ok(Kind::Array));
        let wrong = "[{\"k\":".repeat(150) + "0" + &"]}".repeat(150);
        assert!(matches!(scan(&wrong, 300), Err(ScanError::Syntax(_))));
    }

    #[test]
    fn finds_array_elements() {
        let text = br#"[ "a" , 1 ,{"b":[2]} ] "#;
        let mut s = Scanner::new(text, 0, 128);
        s.open_array().unwrap();
        let range = s.rest_of_array(1).unwrap();
        assert_eq!(&text[range], br#""a" , 1 ,{"b":[2]}"#);
        s.end().unwrap();
    }

    #[test]
    fn reports_escapes() {
        let mut s = Scanner::new(br#""plain" "esc\n""#, 0, 128);
        assert_eq!(s.string(), Ok(false));
        s.skip_ws();
        assert_eq!(s.string(), Ok(true));
    }
}
