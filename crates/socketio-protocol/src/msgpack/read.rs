//! Reading the msgpack that `socket.io-msgpack-parser` 3.x peers write (its
//! notepack.io 2.2) into values, told apart as that decoder tells them:
//!
//! | bytes | notepack 2.2 | value here |
//! |---|---|---|
//! | `d4 00 xx` (fixext 1, type 0) | `undefined` | `undefined` (see [`is_undefined`](super::is_undefined)) |
//! | `d7 00` + 8 bytes (fixext 8, type 0) | a `Date` of those milliseconds | its ISO text, as `JSON.stringify` writes it |
//! | `c7`/`c8`/`c9` with type 0 (ext 8/16/32) | an `ArrayBuffer` | bytes |
//! | any other extension | `[type, Buffer]` | `[type, bytes]` |
//!
//! rmpv's reader gives the same value for `d4 00 ff` and `c7 01 00 ff`, and
//! for `d7 00 …` and `c7 08 00 …`, which is why this one exists. It counts
//! nesting exactly (arrays and maps), never allocates for a length the
//! input does not hold, and recurses at most `max` levels.

use rmpv::{Utf8String, Value};

/// Why a value could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// Not msgpack, or cut short.
    Malformed,
    /// Arrays and maps nested deeper than allowed.
    TooDeep,
}

/// Reads one value from the start of `bytes`, with arrays and maps nested
/// at most `max` levels; returns it and what follows it.
pub(crate) fn read_value(bytes: &[u8], max: usize) -> Result<(Value, &[u8]), ReadError> {
    let mut cursor = Cursor(bytes);
    let value = cursor.value(max)?;
    Ok((value, cursor.0))
}

/// The largest distance from 1970 of a valid JavaScript `Date`, in ms.
const MAX_DATE_MS: i64 = 8_640_000_000_000_000;

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        if self.0.len() < n {
            return Err(ReadError::Malformed);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, ReadError> {
        Ok(self.take(1)?[0])
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A length of `width` bytes (1, 2 or 4), big-endian.
    fn len(&mut self, width: usize) -> Result<usize, ReadError> {
        let n = match width {
            1 => u32::from(self.u8()?),
            2 => u32::from(u16::from_be_bytes(self.be()?)),
            _ => u32::from_be_bytes(self.be()?),
        };
        usize::try_from(n).map_err(|_| ReadError::Malformed)
    }

    fn value(&mut self, depth_left: usize) -> Result<Value, ReadError> {
        let marker = self.u8()?;
        Ok(match marker {
            0x00..=0x7f => Value::from(marker),
            0x80..=0x8f => self.map(usize::from(marker & 0x0f), depth_left)?,
            0x90..=0x9f => self.array(usize::from(marker & 0x0f), depth_left)?,
            0xa0..=0xbf => self.str(usize::from(marker & 0x1f))?,
            0xc0 => Value::Nil,
            0xc2 => Value::Boolean(false),
            0xc3 => Value::Boolean(true),
            0xc4..=0xc6 => {
                let n = self.len(1 << (marker - 0xc4))?;
                Value::Binary(self.take(n)?.to_vec())
            }
            0xc7..=0xc9 => {
                let n = self.len(1 << (marker - 0xc7))?;
                let ty = self.u8()? as i8;
                let data = self.take(n)?;
                match ty {
                    // An ArrayBuffer.
                    0 => Value::Binary(data.to_vec()),
                    _ => other_extension(ty, data),
                }
            }
            0xca => Value::F32(f32::from_be_bytes(self.be()?)),
            0xcb => Value::F64(f64::from_be_bytes(self.be()?)),
            0xcc => Value::from(self.u8()?),
            0xcd => Value::from(u16::from_be_bytes(self.be()?)),
            0xce => Value::from(u32::from_be_bytes(self.be()?)),
            0xcf => Value::from(u64::from_be_bytes(self.be()?)),
            0xd0 => Value::from(self.u8()? as i8),
            0xd1 => Value::from(i16::from_be_bytes(self.be()?)),
            0xd2 => Value::from(i32::from_be_bytes(self.be()?)),
            0xd3 => Value::from(i64::from_be_bytes(self.be()?)),
            0xd4..=0xd8 => {
                let n = 1 << (marker - 0xd4);
                let ty = self.u8()? as i8;
                let data = self.take(n)?;
                match (ty, n) {
                    // `undefined`.
                    (0, 1) => Value::Ext(0, vec![0]),
                    // A Date: milliseconds, a signed high and an unsigned
                    // low half, as notepack 2.2 writes them.
                    (0, 8) => {
                        let hi =
                            i64::from(i32::from_be_bytes([data[0], data[1], data[2], data[3]]));
                        let lo =
                            i64::from(u32::from_be_bytes([data[4], data[5], data[6], data[7]]));
                        match hi.checked_mul(1 << 32).and_then(|h| h.checked_add(lo)) {
                            Some(ms) if ms.abs() <= MAX_DATE_MS => {
                                Value::from(crate::date::to_iso_string(ms))
                            }
                            // An invalid Date: `JSON.stringify` writes null.
                            _ => Value::Nil,
                        }
                    }
                    _ => other_extension(ty, data),
                }
            }
            0xd9..=0xdb => {
                let n = self.len(1 << (marker - 0xd9))?;
                self.str(n)?
            }
            0xdc | 0xdd => {
                let n = self.len(if marker == 0xdc { 2 } else { 4 })?;
                self.array(n, depth_left)?
            }
            0xde | 0xdf => {
                let n = self.len(if marker == 0xde { 2 } else { 4 })?;
                self.map(n, depth_left)?
            }
            0xe0..=0xff => Value::from(marker as i8),
            // 0xc1: never used.
            _ => return Err(ReadError::Malformed),
        })
    }

    fn str(&mut self, n: usize) -> Result<Value, ReadError> {
        // Invalid UTF-8 decodes with replacement characters, as in Node.
        let text = String::from_utf8_lossy(self.take(n)?).into_owned();
        Ok(Value::String(Utf8String::from(text)))
    }

    fn array(&mut self, n: usize, depth_left: usize) -> Result<Value, ReadError> {
        let depth_left = depth_left.checked_sub(1).ok_or(ReadError::TooDeep)?;
        // Each element takes at least a byte: no more room than the input holds.
        if n > self.0.len() {
            return Err(ReadError::Malformed);
        }
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.value(depth_left)?);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, n: usize, depth_left: usize) -> Result<Value, ReadError> {
        let depth_left = depth_left.checked_sub(1).ok_or(ReadError::TooDeep)?;
        if n.saturating_mul(2) > self.0.len() {
            return Err(ReadError::Malformed);
        }
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let key = self.value(depth_left)?;
            let value = self.value(depth_left)?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

/// notepack 2.2's `[type, Buffer]` for an extension it does not know.
fn other_extension(ty: i8, data: &[u8]) -> Value {
    Value::Array(vec![Value::from(ty), Value::Binary(data.to_vec())])
}
