//! Checks that every placeholder of a binary packet names an attachment that
//! arrived: a packet passed on unchanged must be one that clients can decode.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::DecodeError;

/// `Err` if some `{"_placeholder":true,"num":N}` in `args` (comma-separated
/// JSON values) has `N >= count`. The walk recurses, bounded by serde_json's
/// own depth limit (128) and the scanner's, which the text already passed.
pub(crate) fn check(args: &str, count: usize) -> Result<(), DecodeError> {
    let text = format!("[{args}]");
    let mut de = serde_json::Deserializer::from_str(&text);
    Walk { count }
        .deserialize(&mut de)
        .map_err(|_| DecodeError::InvalidPlaceholder { attachments: count })
}

#[derive(Clone, Copy)]
struct Walk {
    count: usize,
}

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut placeholder = false;
        let mut num = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "_placeholder" => {
                    placeholder =
                        map.next_value::<serde_json::Value>()? == serde_json::Value::Bool(true)
                }
                "num" => num = Some(map.next_value::<serde_json::Value>()?),
                _ => map.next_value_seed(self)?,
            }
        }
        if placeholder {
            let ok = num
                .as_ref()
                .and_then(serde_json::Value::as_u64)
                .is_some_and(|n| usize::try_from(n).is_ok_and(|n| n < self.count));
            if !ok {
                return Err(de::Error::custom(
                    "placeholder without a matching attachment",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_placeholders_in_range_and_rejects_others() {
        let ok = r#""x",{"_placeholder":true,"num":0},[{"a":{"_placeholder":true,"num":1}}]"#;
        assert_eq!(check(ok, 2), Ok(()));
        assert!(check(ok, 1).is_err());
        assert!(check(r#"{"_placeholder":true,"num":-1}"#, 3).is_err());
        assert!(check(r#"{"_placeholder":true}"#, 3).is_err());
        assert!(check(r#"{"_placeholder":true,"num":"0"}"#, 3).is_err());
        // Not a placeholder: `_placeholder` is not `true`.
        assert_eq!(check(r#"{"_placeholder":false,"num":9}"#, 0), Ok(()));
    }
}
