use std::{
    borrow::Borrow,
    fmt,
    hash::{Hash, Hasher},
    ops::Deref,
};

use bytes::{Bytes, BytesMut};

/// An immutable UTF-8 string backed by [`Bytes`]: cloning and slicing never copy.
///
/// ```
/// use socketio_protocol::Str;
///
/// let s = Str::from("hello world");
/// let hello = s.slice(0..5);
/// assert_eq!(&*hello, "hello");
/// assert!(Str::try_from(bytes::Bytes::from_static(b"\xff")).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Str(Bytes);

/// The bytes given to [`Str::try_from`] are not valid UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utf8Error {
    valid_up_to: usize,
}

impl Utf8Error {
    /// Length of the valid UTF-8 prefix of the rejected input.
    pub fn valid_up_to(&self) -> usize {
        self.valid_up_to
    }
}

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid UTF-8 after byte {}", self.valid_up_to)
    }
}

impl std::error::Error for Utf8Error {}

impl Str {
    /// A string of static text, without allocation.
    pub const fn from_static(s: &'static str) -> Self {
        Str(Bytes::from_static(s.as_bytes()))
    }

    /// Bytes whose UTF-8 the caller checked already: the WebSocket decoder,
    /// which checks a text message's bytes with `std::str::from_utf8` as
    /// they arrive (`websocket::utf8`), and would otherwise check them twice.
    pub(crate) fn from_checked_utf8(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Str(bytes)
    }

    /// The text.
    #[allow(unsafe_code)]
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor takes a `str`/`String` or validates the
        // bytes (`from_checked_utf8`'s caller with `std::str::from_utf8`, in
        // pieces), and `slice` checks char boundaries, so the bytes are UTF-8.
        // Re-validating here would cost O(n) on every access of every frame.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes (UTF-8).
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives back the underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// A sub-string sharing the same buffer.
    ///
    /// # Panics
    /// If the range is out of bounds or does not fall on char boundaries, as
    /// `&str` indexing does. Callers inside this crate only pass boundaries
    /// found by searching for ASCII bytes.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Str {
        assert!(
            self.as_str().is_char_boundary(range.start)
                && self.as_str().is_char_boundary(range.end)
        );
        Str(self.0.slice(range))
    }

    /// The sub-string starting at byte `start`, which must be a char boundary.
    pub fn slice_from(&self, start: usize) -> Str {
        self.slice(start..self.0.len())
    }

    /// A sub-string sharing the same buffer, or `None` if the range is out of
    /// bounds or does not fall on char boundaries: the non-panicking
    /// [`slice`](Str::slice), for offsets computed from untrusted input.
    ///
    /// ```
    /// use socketio_protocol::Str;
    ///
    /// let s = Str::from("héllo");
    /// assert_eq!(s.try_slice(0..1).as_deref(), Some("h"));
    /// assert_eq!(s.try_slice(0..2), None); // inside 'é'
    /// assert_eq!(s.try_slice(3..9), None);
    /// ```
    pub fn try_slice(&self, range: std::ops::Range<usize>) -> Option<Str> {
        self.as_str()
            .get(range.clone())
            .map(|_| Str(self.0.slice(range)))
    }
}

impl Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Str {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

// Hashes as `str` does, as `Borrow<str>` requires: maps keyed by `Str` are
// looked up with `&str`.
impl Hash for Str {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<&'static str> for Str {
    fn from(s: &'static str) -> Self {
        Str::from_static(s)
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Str(Bytes::from(s))
    }
}

impl From<Str> for Bytes {
    fn from(s: Str) -> Self {
        s.0
    }
}

impl TryFrom<Bytes> for Str {
    type Error = Utf8Error;
    fn try_from(b: Bytes) -> Result<Self, Utf8Error> {
        match std::str::from_utf8(&b) {
            Ok(_) => Ok(Str(b)),
            Err(e) => Err(Utf8Error {
                valid_up_to: e.valid_up_to(),
            }),
        }
    }
}

impl TryFrom<BytesMut> for Str {
    type Error = Utf8Error;
    fn try_from(b: BytesMut) -> Result<Self, Utf8Error> {
        Str::try_from(b.freeze())
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for Str {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Str {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Str::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_compares_as_str_so_maps_find_it_by_str() {
        let mut map = std::collections::HashMap::new();
        map.insert(Str::from(String::from("/chat")), 1);
        assert_eq!(map.get("/chat"), Some(&1));
    }

    #[test]
    fn serializes_as_a_json_string() {
        let s = Str::from("room \"1\"");
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#""room \"1\"""#);
        assert_eq!(serde_json::from_str::<Str>(&json).unwrap(), s);
    }
}
