//! A deserializer wrapped around serde_json's that resolves attachment
//! placeholders, at any depth.
//!
//! When the target type asks for bytes, the JSON holds
//! `{"_placeholder":true,"num":N}` and the bytes are attachment `N`. Every
//! compound value is wrapped too, so that its elements pass through here.

use std::fmt;

use bytes::Bytes;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::attachment::lend;
use super::value::{hand_over, ValueVisitor, VALUE_TOKEN};

/// A deserializer that forwards to `inner`, except for bytes.
pub(crate) struct Proxy<'de, D> {
    inner: D,
    attachments: &'de [Bytes],
}

impl<'de, D> Proxy<'de, D> {
    pub(crate) fn new(inner: D, attachments: &'de [Bytes]) -> Self {
        Proxy { inner, attachments }
    }
}

/// A visitor whose compound inputs are wrapped in proxies.
struct Visit<'de, V> {
    inner: V,
    attachments: &'de [Bytes],
}

/// A seed whose deserializer is wrapped in a [`Proxy`].
struct Seed<'de, S> {
    inner: S,
    attachments: &'de [Bytes],
}

/// Sequence, map, enum or variant access whose values pass through [`Proxy`].
struct Access<'de, A> {
    inner: A,
    attachments: &'de [Bytes],
}

/// Forwards `deserialize_*` methods to `inner`, wrapping the visitor.
macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            let attachments = self.attachments;
            self.inner.$method($($arg,)* Visit { inner: visitor, attachments })
        })*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Proxy<'de, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any(); deserialize_bool(); deserialize_i8(); deserialize_i16();
        deserialize_i32(); deserialize_i64(); deserialize_i128(); deserialize_u8();
        deserialize_u16(); deserialize_u32(); deserialize_u64(); deserialize_u128();
        deserialize_f32(); deserialize_f64(); deserialize_char(); deserialize_str();
        deserialize_string(); deserialize_option(); deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_seq(); deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier(); deserialize_ignored_any();
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        if name == VALUE_TOKEN {
            // A `Value`: built here, where the attachments are known, then
            // handed over whole.
            let value = self
                .inner
                .deserialize_any(ValueVisitor::resolving(self.attachments))?;
            return hand_over(value, visitor).map_err(de::Error::custom);
        }
        let attachments = self.attachments;
        self.inner.deserialize_newtype_struct(
            name,
            Visit {
                inner: visitor,
                attachments,
            },
        )
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(Placeholder {
            inner: visitor,
            attachments: self.attachments,
        })
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.deserialize_bytes(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Forwards `visit_*` methods of scalars to `inner`.
macro_rules! forward_visit {
    ($($method:ident($($ty:ty)?);)*) => {
        $(fn $method<E: de::Error>(self, $(v: $ty)?) -> Result<Self::Value, E> {
            self.inner.$method($(forward_visit!(@arg v $ty))?)
        })*
    };
    (@arg $v:ident $ty:ty) => { $v };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Visit<'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit! {
        visit_bool(bool); visit_i8(i8); visit_i16(i16); visit_i32(i32); visit_i64(i64);
        visit_i128(i128); visit_u8(u8); visit_u16(u16); visit_u32(u32); visit_u64(u64);
        visit_u128(u128); visit_f32(f32); visit_f64(f64); visit_char(char);
        visit_str(&str); visit_borrowed_str(&'de str); visit_string(String);
        visit_bytes(&[u8]); visit_borrowed_bytes(&'de [u8]); visit_byte_buf(Vec<u8>);
        visit_none(); visit_unit();
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(Proxy::new(d, self.attachments))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner
            .visit_newtype_struct(Proxy::new(d, self.attachments))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(Access {
            inner: seq,
            attachments: self.attachments,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(Access {
            inner: map,
            attachments: self.attachments,
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(Access {
            inner: data,
            attachments: self.attachments,
        })
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'de, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(Proxy::new(d, self.attachments))
    }
}

impl<'de, A> Access<'de, A> {
    fn seed<S>(&self, inner: S) -> Seed<'de, S> {
        Seed {
            inner,
            attachments: self.attachments,
        }
    }

    fn visit<V>(&self, inner: V) -> Visit<'de, V> {
        Visit {
            inner,
            attachments: self.attachments,
        }
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Access<'de, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let seed = self.seed(seed);
        self.inner.next_element_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Access<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let seed = self.seed(seed);
        self.inner.next_key_seed(seed)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.seed(seed);
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Access<'de, A> {
    type Error = A::Error;
    type Variant = Access<'de, A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let attachments = self.attachments;
        let seed = self.seed(seed);
        let (value, inner) = self.inner.variant_seed(seed)?;
        Ok((value, Access { inner, attachments }))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Access<'de, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.seed(seed);
        self.inner.newtype_variant_seed(seed)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = self.visit(visitor);
        self.inner.tuple_variant(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = self.visit(visitor);
        self.inner.struct_variant(fields, visitor)
    }
}

/// The visitor for a value where bytes are wanted: a placeholder object
/// gives the attachment it names; an array or a string gives what serde_json
/// would (its numbers, its UTF-8).
struct Placeholder<'de, V> {
    inner: V,
    attachments: &'de [Bytes],
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Placeholder<'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a binary attachment placeholder")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V::Value, A::Error> {
        let mut is_placeholder = false;
        let mut num = None;
        while let Some(key) = map.next_key::<PlaceholderKey>()? {
            match key {
                PlaceholderKey::Placeholder => is_placeholder = map.next_value()?,
                PlaceholderKey::Num => num = Some(map.next_value::<u64>()?),
                PlaceholderKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let Some(num) = num.filter(|_| is_placeholder) else {
            return Err(de::Error::custom("invalid binary attachment placeholder"));
        };
        let data = usize::try_from(num)
            .ok()
            .and_then(|n| self.attachments.get(n))
            .ok_or_else(|| de::Error::custom(format_args!("no binary attachment {num}")))?;
        lend(data, || self.inner.visit_borrowed_bytes(data))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(Access {
            inner: seq,
            attachments: self.attachments,
        })
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.inner.visit_borrowed_bytes(v.as_bytes())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.inner.visit_bytes(v.as_bytes())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        self.inner.visit_byte_buf(v.into_bytes())
    }
}

/// A key of a placeholder object, read without allocating.
enum PlaceholderKey {
    Placeholder,
    Num,
    Other,
}

impl<'de> de::Deserialize<'de> for PlaceholderKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = PlaceholderKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a placeholder key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PlaceholderKey, E> {
                Ok(match v {
                    "_placeholder" => PlaceholderKey::Placeholder,
                    "num" => PlaceholderKey::Num,
                    _ => PlaceholderKey::Other,
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}
