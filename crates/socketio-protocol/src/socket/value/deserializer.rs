//! [`Value`] as a deserializer: a typed value read out of a dynamic one.

use serde::de::{
    self,
    value::{MapAccessDeserializer, MapDeserializer, SeqDeserializer},
    IntoDeserializer, Visitor,
};

use super::Value;
use crate::socket::attachment::lend;

/// `T::deserialize(value)` reads a `T` out of a [`Value`], as
/// `serde_json::from_value` does out of a `serde_json::Value`; where `T`
/// wants bytes ([`Binary`](crate::socket::Binary)), a [`Value::Binary`] gives them
/// without a copy.
///
/// ```
/// use bytes::Bytes;
/// use serde::Deserialize;
/// use socketio_protocol::socket::{Binary, Value};
///
/// #[derive(Deserialize)]
/// struct File { name: String, data: Binary }
///
/// let v: Value = [("name".to_owned(), "a.png".into()), ("data".to_owned(), Bytes::from_static(b"\x89PNG").into())]
///     .into_iter()
///     .collect();
/// let file = File::deserialize(v).unwrap();
/// assert_eq!((file.name.as_str(), &file.data[..]), ("a.png", &b"\x89PNG"[..]));
/// ```
impl<'de> de::Deserializer<'de> for Value {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (_, Some(i), _) => visitor.visit_i64(i),
                (_, _, Some(f)) => visitor.visit_f64(f),
                _ => Err(de::Error::custom("unrepresentable number")),
            },
            Value::String(s) => visitor.visit_string(s),
            Value::Binary(b) => lend(&b, || visitor.visit_bytes(&b)),
            Value::Array(a) => {
                let mut seq = SeqDeserializer::new(a.into_iter());
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Value::Object(o) => {
                let mut map = MapDeserializer::new(o.into_iter());
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // As serde_json writes enums: `"Unit"` or `{"Variant": content}`.
        match self {
            Value::String(s) => visitor.visit_enum(s.into_deserializer()),
            Value::Object(o) => visitor.visit_enum(MapAccessDeserializer::new(
                MapDeserializer::new(o.into_iter()),
            )),
            _ => Err(de::Error::custom("expected an enum variant")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, serde_json::Error> for Value {
    type Deserializer = Value;

    fn into_deserializer(self) -> Value {
        self
    }
}
