//! `Value::deserialize`: through the argument decoder, placeholders resolved
//! to [`Value::Binary`] at any depth.

use std::{cell::Cell, fmt};

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{Map, Value, VALUE_TOKEN};
use crate::socket::attachment::take_lent;

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A newtype with a name the argument decoder knows: it builds the
        // value with `ValueVisitor::resolving` and its attachments, then
        // `hand_over`s it. Any other deserializer hands its content to
        // `visit_newtype_struct`.
        deserializer.deserialize_newtype_struct(VALUE_TOKEN, ValueVisitor { attachments: None })
    }
}

/// Builds a [`Value`]; with `attachments`, placeholder objects become
/// [`Value::Binary`].
#[derive(Clone, Copy)]
pub(crate) struct ValueVisitor<'a> {
    attachments: Option<&'a [Bytes]>,
}

impl<'a> ValueVisitor<'a> {
    /// The visitor for a value whose placeholders name `attachments`.
    pub(crate) fn resolving(attachments: &'a [Bytes]) -> Self {
        ValueVisitor {
            attachments: Some(attachments),
        }
    }
}

impl<'de> DeserializeSeed<'de> for ValueVisitor<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self.attachments {
            Some(_) => d.deserialize_any(self),
            // Through `Value::deserialize`, so that a decoder met on the
            // way (inside a struct, in a `Spread`) can supply attachments.
            None => Value::deserialize(d),
        }
    }
}

impl<'de> Visitor<'de> for ValueVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity; serde_json::Value makes them null too.
        Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_bytes<E>(self, b: &[u8]) -> Result<Value, E> {
        Ok(Value::Binary(
            take_lent(b).unwrap_or_else(|| Bytes::copy_from_slice(b)),
        ))
    }

    fn visit_byte_buf<E>(self, b: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Binary(b.into()))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.attachments.is_none() {
            if let Some(built) = take_built() {
                return Ok(built);
            }
        }
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(element) = seq.next_element_seed(self)? {
            all.push(element);
        }
        Ok(Value::Array(all))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            object.insert(key, value);
        }
        match self.attachments {
            Some(attachments) => resolve(object, attachments).map_err(de::Error::custom),
            None => Ok(Value::Object(object)),
        }
    }
}

/// The attachment an object names if it is a placeholder (as in Node's
/// parser: `_placeholder` is `true`; other keys are ignored), else the object.
fn resolve(object: Map, attachments: &[Bytes]) -> Result<Value, String> {
    if object.get("_placeholder") != Some(&Value::Bool(true)) {
        return Ok(Value::Object(object));
    }
    let num = object.get("num");
    num.and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .and_then(|n| attachments.get(n))
        .map(|data| Value::Binary(data.clone()))
        .ok_or_else(|| match num {
            Some(Value::Number(n)) => format!("no binary attachment {n}"),
            _ => "invalid binary attachment placeholder".to_owned(),
        })
}

thread_local! {
    /// A [`Value`] the argument decoder built, on its way to the visitor of
    /// `Value::deserialize`: a deserializer can hand a visitor only parts,
    /// and rebuilding the tree from them would allocate every node twice.
    static BUILT: Cell<Option<Value>> = const { Cell::new(None) };
}

/// Gives `value` to `visitor`: whole if it is `Value::deserialize`'s (which
/// takes it from [`BUILT`] first thing), else through `value`'s
/// `Deserializer` implementation.
pub(crate) fn hand_over<'de, V: Visitor<'de>>(
    value: Value,
    visitor: V,
) -> Result<V::Value, serde_json::Error> {
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            let _ = BUILT.try_with(Cell::take);
        }
    }
    let mut value = Some(value);
    let _ = BUILT.try_with(|built| built.set(value.take()));
    let _clear = Clear;
    match value {
        // No thread-local storage (a thread being torn down): the slow way.
        Some(value) => visitor.visit_newtype_struct(value),
        None => visitor.visit_newtype_struct(HandedOver),
    }
}

fn take_built() -> Option<Value> {
    BUILT.try_with(Cell::take).ok().flatten()
}

/// The deserializer [`hand_over`] gives a visitor: the value in [`BUILT`].
struct HandedOver;

impl<'de> Deserializer<'de> for HandedOver {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        take_built()
            .ok_or_else(|| de::Error::custom("the decoded value was already taken"))?
            .deserialize_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}
