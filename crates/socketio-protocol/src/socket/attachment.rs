use std::{cell::Cell, fmt, ops::Deref};

use bytes::Bytes;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// Binary data sent as a Socket.IO attachment, without copying it.
///
/// Any value that serializes with `serialize_bytes` (such as `bytes::Bytes`
/// with its `serde` feature, or `serde_bytes::ByteBuf`) becomes an
/// attachment, but serde only lends its bytes as a slice, which must then be
/// copied. `Binary` hands its [`Bytes`] to the encoder, and, when decoded, is
/// a cheap slice of the attachment received.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use socketio_protocol::socket::{deserialize_args, encode_event, Binary};
///
/// let file = Bytes::from_static(b"\x89PNG");
/// let mut out = BytesMut::new();
/// let packet = encode_event(&mut out, "/", "upload", None, &("logo.png", Binary(file.clone()))).unwrap();
/// assert_eq!(packet.text, r#"451-["upload","logo.png",{"_placeholder":true,"num":0}]"#);
/// assert_eq!(packet.attachments, [file.clone()]);
///
/// let args = r#""logo.png",{"_placeholder":true,"num":0}"#;
/// let (name, data): (String, Binary) = deserialize_args(args, &packet.attachments).unwrap();
/// assert_eq!(data.0, file);
/// assert_eq!(data.as_ptr(), file.as_ptr()); // the same memory
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Binary(pub Bytes);

impl Binary {
    /// The bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for Binary {
    type Target = Bytes;
    fn deref(&self) -> &Bytes {
        &self.0
    }
}

impl From<Bytes> for Binary {
    fn from(b: Bytes) -> Self {
        Binary(b)
    }
}

impl From<Vec<u8>> for Binary {
    fn from(v: Vec<u8>) -> Self {
        Binary(Bytes::from(v))
    }
}

impl From<Binary> for Bytes {
    fn from(b: Binary) -> Self {
        b.0
    }
}

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        lend(&self.0, || serializer.serialize_bytes(&self.0))
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_byte_buf(BinaryVisitor)
    }
}

struct BinaryVisitor;

impl<'de> de::Visitor<'de> for BinaryVisitor {
    type Value = Binary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("binary data")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Binary, E> {
        Ok(Binary(
            take_lent(v).unwrap_or_else(|| Bytes::copy_from_slice(v)),
        ))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Binary, E> {
        Ok(Binary(Bytes::from(v)))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Binary, A::Error> {
        // Plain JSON has no bytes: serde_json writes them as an array of numbers.
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(b) = seq.next_element::<u8>()? {
            v.push(b);
        }
        Ok(Binary(Bytes::from(v)))
    }
}

thread_local! {
    /// The [`Bytes`] behind the slice being passed through serde, if its
    /// owner lent it: serde's data model carries bytes only as `&[u8]`, and
    /// this lets the encoder and [`Binary`] share the buffer instead.
    static LENT: Cell<Option<Bytes>> = const { Cell::new(None) };
}

/// Runs `f` with `bytes` lent to whoever receives a slice of exactly its
/// memory ([`take_lent`]), and takes it back afterwards.
pub(crate) fn lend<R>(bytes: &Bytes, f: impl FnOnce() -> R) -> R {
    struct Return;
    impl Drop for Return {
        fn drop(&mut self) {
            let _ = LENT.try_with(Cell::take);
        }
    }
    let _ = LENT.try_with(|lent| lent.set(Some(bytes.clone())));
    let _return = Return;
    f()
}

/// The lent [`Bytes`] if `slice` is its memory. Anyone else gets `None` and
/// copies the slice, which is always correct.
pub(crate) fn take_lent(slice: &[u8]) -> Option<Bytes> {
    LENT.try_with(Cell::take)
        .ok()
        .flatten()
        .filter(|b| b.as_ptr() == slice.as_ptr() && b.len() == slice.len())
}
