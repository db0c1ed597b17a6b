//! A serializer wrapped around serde_json's that turns bytes into attachment
//! placeholders, at any depth.
//!
//! serde_json writes bytes as an array of numbers; Socket.IO sends them out
//! of band, leaving `{"_placeholder":true,"num":N}` in the JSON. Every
//! compound value is wrapped too, so that its elements pass through here.

use std::cell::Cell;

use bytes::Bytes;
use serde::ser::{
    Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

use super::attachment::take_lent;

/// Attachments collected while serializing; a `Cell` because serde hands
/// values to serialize by shared reference.
pub(crate) type Attachments = Cell<Vec<Bytes>>;

/// How the value given as event or ack arguments maps to the argument list
/// (the rule is written out on [`encode_event`](super::encode_event)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgsShape {
    /// A tuple (or tuple struct): its elements are the arguments.
    List,
    /// `()`: no argument.
    Nothing,
    /// Anything else: one argument.
    One,
}

/// The serializer for the value of the arguments: records its [`ArgsShape`]
/// and then serializes it as [`Proxy`] does.
pub(crate) struct TopLevel<'a, S> {
    proxy: Proxy<'a, S>,
    shape: &'a Cell<ArgsShape>,
}

impl<'a, S> TopLevel<'a, S> {
    pub(crate) fn new(inner: S, shape: &'a Cell<ArgsShape>, attachments: &'a Attachments) -> Self {
        TopLevel {
            proxy: Proxy { inner, attachments },
            shape,
        }
    }

    fn shaped(self, shape: ArgsShape) -> Proxy<'a, S> {
        self.shape.set(shape);
        self.proxy
    }

    fn into_proxy(self) -> Proxy<'a, S> {
        self.proxy
    }
}

/// A serializer that forwards to `inner`, except for bytes.
pub(crate) struct Proxy<'a, S> {
    inner: S,
    attachments: &'a Attachments,
}

impl<S> Proxy<'_, S> {
    fn into_inner(self) -> S {
        self.inner
    }
}

/// A value to serialize through [`Proxy`].
struct Wrap<'a, T: ?Sized> {
    value: &'a T,
    attachments: &'a Attachments,
}

impl<T: ?Sized + Serialize> Serialize for Wrap<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(Proxy {
            inner: serializer,
            attachments: self.attachments,
        })
    }
}

/// A compound value being serialized, whose elements pass through [`Proxy`].
pub(crate) struct Compound<'a, C> {
    inner: C,
    attachments: &'a Attachments,
}

impl<'a, C> Compound<'a, C> {
    fn wrap<'v, T: ?Sized>(&self, value: &'v T) -> Wrap<'v, T>
    where
        'a: 'v,
    {
        Wrap {
            value,
            attachments: self.attachments,
        }
    }
}

/// Forwards the scalar methods of `Serializer` to `self.$via()`.
macro_rules! forward_scalars {
    ($via:ident) => {
        forward_scalars!($via;
            serialize_bool(v: bool), serialize_i8(v: i8), serialize_i16(v: i16),
            serialize_i32(v: i32), serialize_i64(v: i64), serialize_i128(v: i128),
            serialize_u8(v: u8), serialize_u16(v: u16), serialize_u32(v: u32),
            serialize_u64(v: u64), serialize_u128(v: u128), serialize_f32(v: f32),
            serialize_f64(v: f64), serialize_char(v: char), serialize_str(v: &str),
            serialize_none(),
            serialize_unit_variant(name: &'static str, index: u32, variant: &'static str),
        );
    };
    ($via:ident; $($method:ident($($arg:ident: $ty:ty),*),)*) => {
        $(fn $method(self, $($arg: $ty),*) -> Result<Self::Ok, Self::Error> {
            self.$via().$method($($arg),*)
        })*
    };
}

impl<'a, S: Serializer> Serializer for Proxy<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<'a, S::SerializeSeq>;
    type SerializeTuple = Compound<'a, S::SerializeTuple>;
    type SerializeTupleStruct = Compound<'a, S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<'a, S::SerializeTupleVariant>;
    type SerializeMap = Compound<'a, S::SerializeMap>;
    type SerializeStruct = Compound<'a, S::SerializeStruct>;
    type SerializeStructVariant = Compound<'a, S::SerializeStructVariant>;

    forward_scalars!(into_inner);

    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit()
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_struct(name)
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        let data = take_lent(v).unwrap_or_else(|| Bytes::copy_from_slice(v));
        let mut all = self.attachments.take();
        let num = all.len();
        all.push(data);
        self.attachments.set(all);
        let mut placeholder = self.inner.serialize_struct("Placeholder", 2)?;
        placeholder.serialize_field("_placeholder", &true)?;
        placeholder.serialize_field("num", &num)?;
        placeholder.end()
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<S::Ok, S::Error> {
        let attachments = self.attachments;
        self.inner.serialize_some(&Wrap { value, attachments })
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let attachments = self.attachments;
        self.inner
            .serialize_newtype_struct(name, &Wrap { value, attachments })
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let attachments = self.attachments;
        self.inner
            .serialize_newtype_variant(name, index, variant, &Wrap { value, attachments })
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        let inner = self.inner.serialize_seq(len)?;
        Ok(Compound {
            inner,
            attachments: self.attachments,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        let inner = self.inner.serialize_tuple(len)?;
        Ok(Compound {
            inner,
            attachments: self.attachments,
        })
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        let inner = self.inner.serialize_tuple_struct(name, len)?;
        Ok(Compound {
            inner,
            attachments: self.attachments,
        })
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        let inner = self
            .inner
            .serialize_tuple_variant(name, index, variant, len)?;
        Ok(Compound {
            inner,
            attachments: self.attachments,
        })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        let inner = self.inner.serialize_map(len)?;
        Ok(Compound {
            inner,
            attachments: self.attachments,
        })
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        let inner = self.inner.serialize_struct(name, len)?;
        Ok(Compound {
            inner,
            attachments: self.attachments,
        })
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        let inner = self
            .inner
            .serialize_struct_variant(name, index, variant, len)?;
        Ok(Compound {
            inner,
            attachments: self.attachments,
        })
    }

    fn collect_str<T: ?Sized + std::fmt::Display>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.collect_str(value)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

impl<'a, S: Serializer> Serializer for TopLevel<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<'a, S::SerializeSeq>;
    type SerializeTuple = Compound<'a, S::SerializeTuple>;
    type SerializeTupleStruct = Compound<'a, S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<'a, S::SerializeTupleVariant>;
    type SerializeMap = Compound<'a, S::SerializeMap>;
    type SerializeStruct = Compound<'a, S::SerializeStruct>;
    type SerializeStructVariant = Compound<'a, S::SerializeStructVariant>;

    forward_scalars!(into_proxy);

    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        self.proxy.serialize_bytes(v)
    }

    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.shaped(ArgsShape::Nothing).serialize_unit()
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.shaped(ArgsShape::Nothing).serialize_unit_struct(name)
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.proxy.serialize_some(value)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        // A newtype is its content, as serde_json writes it: `struct Args((A, B))`
        // is a list of arguments.
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.proxy
            .serialize_newtype_variant(name, index, variant, value)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        // A `Vec`, a slice, a JSON array: one argument, as in JavaScript.
        self.proxy.serialize_seq(len)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.shaped(ArgsShape::List).serialize_tuple(len)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.shaped(ArgsShape::List)
            .serialize_tuple_struct(name, len)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.proxy
            .serialize_tuple_variant(name, index, variant, len)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.proxy.serialize_map(len)
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.proxy.serialize_struct(name, len)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.proxy
            .serialize_struct_variant(name, index, variant, len)
    }

    fn collect_str<T: ?Sized + std::fmt::Display>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.proxy.collect_str(value)
    }

    fn is_human_readable(&self) -> bool {
        self.proxy.is_human_readable()
    }
}

impl<C: SerializeSeq> SerializeSeq for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), C::Error> {
        let value = self.wrap(value);
        self.inner.serialize_element(&value)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeTuple> SerializeTuple for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), C::Error> {
        let value = self.wrap(value);
        self.inner.serialize_element(&value)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeTupleStruct> SerializeTupleStruct for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), C::Error> {
        let value = self.wrap(value);
        self.inner.serialize_field(&value)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeTupleVariant> SerializeTupleVariant for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), C::Error> {
        let value = self.wrap(value);
        self.inner.serialize_field(&value)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeMap> SerializeMap for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), C::Error> {
        let key = self.wrap(key);
        self.inner.serialize_key(&key)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), C::Error> {
        let value = self.wrap(value);
        self.inner.serialize_value(&value)
    }
    fn serialize_entry<K: ?Sized + Serialize, V: ?Sized + Serialize>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), C::Error> {
        let (key, value) = (self.wrap(key), self.wrap(value));
        self.inner.serialize_entry(&key, &value)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeStruct> SerializeStruct for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        let value = self.wrap(value);
        self.inner.serialize_field(key, &value)
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.inner.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeStructVariant> SerializeStructVariant for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        let value = self.wrap(value);
        self.inner.serialize_field(key, &value)
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.inner.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}
