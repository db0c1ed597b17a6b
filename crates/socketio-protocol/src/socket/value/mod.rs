//! A dynamic value that, unlike `serde_json::Value`, can hold binary data:
//! what a JavaScript peer sends when it emits an object with Buffers inside.

mod decode;
mod deserializer;

use std::{collections::BTreeMap, ops::Index};

use bytes::Bytes;
use serde::{
    ser::{SerializeMap, SerializeSeq},
    Serialize, Serializer,
};

use super::attachment::lend;

pub(crate) use decode::{hand_over, ValueVisitor};

/// The entries of a [`Value::Object`].
type Map = BTreeMap<String, Value>;

/// Any argument a Socket.IO peer can send: JSON, with binary data (a Node
/// `Buffer`, a browser `ArrayBuffer`) at any depth.
///
/// `serde_json::Value` cannot hold bytes, so as `Data<serde_json::Value>` a
/// Buffer arrives as its placeholder `{"_placeholder":true,"num":0}` and the
/// bytes are lost. `Value` is JSON's six kinds plus [`Value::Binary`]: the
/// argument decoder turns placeholders back into `Binary` wherever they are,
/// and the encoder sends each `Binary` as an attachment again, where it was.
/// So a relay can pass on whatever a client sent, Buffers included. It is
/// its own enum, not `serde_json::Value` with an extra case, because
/// `serde_json::Value` is closed; numbers are `serde_json::Number`, so
/// converting to and from `serde_json::Value` ([`From`]) changes no number.
///
/// It follows the argument rules of [`deserialize_data`](super::deserialize_data)
/// and [`encode_event`](super::encode_event): `Value` is one argument (an
/// [`Array`](Value::Array) is one argument that is an array, [`Null`](Value::Null)
/// is `null`); [`Spread<Value>`](super::Spread) is every argument.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use socketio_protocol::socket::{deserialize_data, encode_event, Value};
///
/// let args = r#"{"name":"a.png","data":{"_placeholder":true,"num":0}}"#;
/// let png = Bytes::from_static(b"\x89PNG");
/// let v: Value = deserialize_data(args, &[png.clone()]).unwrap();
/// assert_eq!(v["name"].as_str(), Some("a.png"));
/// assert_eq!(v["data"].as_binary(), Some(&png));
///
/// let p = encode_event(&mut BytesMut::new(), "/", "file", None, &v).unwrap();
/// assert_eq!(p.text, r#"451-["file",{"data":{"_placeholder":true,"num":0},"name":"a.png"}]"#);
/// assert_eq!(p.attachments, [png]);
/// ```
///
/// Outside the Socket.IO codec (with `serde_json` alone) there are no
/// attachments: a placeholder stays an object, and `Binary` is written as
/// serde_json writes bytes, an array of numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// Binary data, sent as an attachment.
    Binary(Bytes),
    /// An array.
    Array(Vec<Value>),
    /// An object, its keys in order (as in `serde_json::Value` without its
    /// `preserve_order` feature).
    Object(BTreeMap<String, Value>),
}

/// The name of the newtype struct a [`Value`] asks for, so that the
/// argument decoder recognises it and resolves placeholders into it.
pub(crate) const VALUE_TOKEN: &str = "$socketio_protocol::Value";

static NULL: Value = Value::Null;

impl Value {
    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<&serde_json::Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number as an `i64`, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(serde_json::Number::as_i64)
    }

    /// The number as a `u64`, if it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(serde_json::Number::as_u64)
    }

    /// The number as an `f64`, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().and_then(serde_json::Number::as_f64)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, if this is [`Value::Binary`].
    pub fn as_binary(&self) -> Option<&Bytes> {
        match self {
            Value::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The elements, mutably, if this is an array.
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The entries, if this is an object.
    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The entries, mutably, if this is an object.
    pub fn as_object_mut(&mut self) -> Option<&mut BTreeMap<String, Value>> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The value of `key`, if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|o| o.get(key))
    }

    /// Takes the value out, leaving [`Value::Null`].
    pub fn take(&mut self) -> Value {
        std::mem::take(self)
    }
}

/// `value["key"]`: the value of `key`, or `Null` if there is none or this
/// is not an object.
impl Index<&str> for Value {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

/// `value[i]`: element `i`, or `Null` if there is none or this is not an array.
impl Index<usize> for Value {
    type Output = Value;
    fn index(&self, i: usize) -> &Value {
        self.as_array().and_then(|a| a.get(i)).unwrap_or(&NULL)
    }
}

impl From<serde_json::Value> for Value {
    /// The same JSON; a placeholder object stays an object (there are no
    /// attachments to resolve it against).
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<Value> for serde_json::Value {
    /// The same JSON, with each [`Value::Binary`] as an array of its bytes:
    /// what `serde_json::to_value` makes of bytes, so
    /// `serde_json::Value::from(v) == serde_json::to_value(&v)?`.
    fn from(v: Value) -> Self {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Number(n) => serde_json::Value::Number(n),
            Value::String(s) => serde_json::Value::String(s),
            Value::Binary(b) => serde_json::Value::Array(b.iter().map(|&x| x.into()).collect()),
            Value::Array(a) => serde_json::Value::Array(a.into_iter().map(Into::into).collect()),
            Value::Object(o) => {
                serde_json::Value::Object(o.into_iter().map(|(k, v)| (k, v.into())).collect())
            }
        }
    }
}

impl From<Bytes> for Value {
    fn from(b: Bytes) -> Self {
        Value::Binary(b)
    }
}

impl From<super::Binary> for Value {
    fn from(b: super::Binary) -> Self {
        Value::Binary(b.0)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(n.into())
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Number(n.into())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Self {
        Value::Array(a)
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(o: BTreeMap<String, Value>) -> Self {
        Value::Object(o)
    }
}

impl FromIterator<(String, Value)> for Value {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Value::Object(iter.into_iter().collect())
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // `none`, not `unit`: as event data, `()` is no argument at all.
            Value::Null => serializer.serialize_none(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Binary(b) => lend(b, || serializer.serialize_bytes(b)),
            Value::Array(a) => {
                let mut seq = serializer.serialize_seq(Some(a.len()))?;
                for element in a {
                    seq.serialize_element(element)?;
                }
                seq.end()
            }
            Value::Object(o) => {
                let mut map = serializer.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}
