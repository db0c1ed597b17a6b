//! An argument list of any length: JavaScript's `emit("ev", ...args)` and
//! `(...args) => {}`.

use std::{fmt, marker::PhantomData};

use serde::{
    de::{SeqAccess, Visitor},
    ser::SerializeTuple,
    Deserialize, Deserializer, Serialize, Serializer,
};

/// Several arguments whose number is known only at run time: as data to
/// emit, each element is one argument (JavaScript's spread,
/// `emit("ev", ...args)`); as `Data<Spread<T>>`, it receives every
/// argument (a rest parameter, `(...args) => {}`). A `Vec` alone is one
/// argument, an array; see [`encode_event`](super::encode_event).
///
/// ```
/// use bytes::BytesMut;
/// use socketio_protocol::socket::{deserialize_data, encode_event, Spread};
///
/// let args = Spread(vec![serde_json::json!("a"), serde_json::json!(1)]);
/// let p = encode_event(&mut BytesMut::new(), "/", "ev", None, &args).unwrap();
/// assert_eq!(p.text, r#"42["ev","a",1]"#);
///
/// let Spread(all): Spread<serde_json::Value> = deserialize_data(r#""a",1,[2]"#, &[]).unwrap();
/// assert_eq!(all.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spread<T>(pub Vec<T>);

impl<T: Serialize> Serialize for Spread<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A tuple, which the argument encoder spreads into arguments.
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for element in &self.0 {
            tuple.serialize_element(element)?;
        }
        tuple.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spread<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct All<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for All<T> {
            type Value = Spread<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of arguments")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(element) = seq.next_element()? {
                    all.push(element);
                }
                Ok(Spread(all))
            }
        }
        // As a tuple, so that the argument decoder hands over the whole list.
        deserializer.deserialize_tuple(usize::MAX, All(PhantomData))
    }
}
