//! Deserialization of arguments and payloads into Rust types, with binary
//! attachments in place of their placeholders.

use bytes::Bytes;
use serde::de::{self, value::UnitDeserializer, Deserialize, DeserializeSeed, SeqAccess, Visitor};

use super::proxy_de::Proxy;
use super::scan::{ScanError, Scanner};
use super::value::VALUE_TOKEN;

/// How deep arguments may nest, counting the implicit argument array: what
/// serde_json accepts when it parses `[args]` (its recursion limit is 128).
const MAX_DEPTH: usize = 127;

/// Deserializes the text of a list of arguments
/// ([`Event::args`](super::Event::args), [`Ack::args`](super::Ack::args)) as
/// the array `[args]`: into a tuple, a `Vec`, or any type read from a sequence.
///
/// Where `T` wants bytes ([`Binary`](super::Binary), `serde_bytes`, `bytes::Bytes`
/// with its `serde` feature), the argument's placeholder
/// `{"_placeholder":true,"num":N}` gives `attachments[N]`. Strings without
/// escapes can borrow from `args`. Each argument is parsed by serde_json,
/// whose recursion limit (128) bounds the depth; more arguments than `T`
/// takes are an error.
///
/// ```
/// use bytes::Bytes;
/// use socketio_protocol::socket::{deserialize_args, Binary};
///
/// let (n, obj): (u32, serde_json::Value) = deserialize_args(r#"1,{"a":2}"#, &[]).unwrap();
/// assert_eq!((n, obj), (1, serde_json::json!({"a": 2})));
///
/// let all: Vec<serde_json::Value> = deserialize_args(r#""x",true"#, &[]).unwrap();
/// assert_eq!(all.len(), 2);
///
/// let files = [Bytes::from_static(&[1, 2, 3, 4])];
/// let (name, data): (&str, Binary) =
///     deserialize_args(r#""baz",{"_placeholder":true,"num":0}"#, &files).unwrap();
/// assert_eq!((name, &data[..]), ("baz", &[1, 2, 3, 4][..]));
///
/// assert!(deserialize_args::<(u32,)>("1,2", &[]).is_err());
/// ```
pub fn deserialize_args<'de, T: Deserialize<'de>>(
    args: &'de str,
    attachments: &'de [Bytes],
) -> Result<T, serde_json::Error> {
    T::deserialize(Args { args, attachments })
}

/// Deserializes the first of a list of arguments, ignoring any others. With
/// no argument at all, only types that accept nothing (`Option`, `()`)
/// succeed.
///
/// ```
/// use socketio_protocol::socket::deserialize_first_arg;
///
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Point { x: i32, y: i32 }
///
/// let p: Point = deserialize_first_arg(r#"{"x":1,"y":2},"ignored""#, &[]).unwrap();
/// assert_eq!(p, Point { x: 1, y: 2 });
/// assert_eq!(deserialize_first_arg::<Option<Point>>("", &[]).unwrap(), None);
/// assert!(deserialize_first_arg::<Point>("", &[]).is_err());
/// ```
pub fn deserialize_first_arg<'de, T: Deserialize<'de>>(
    args: &'de str,
    attachments: &'de [Bytes],
) -> Result<T, serde_json::Error> {
    let mut list = ArgList::new(args, attachments);
    match list.next_raw()? {
        Some(first) => deserialize_value(first, attachments),
        None => T::deserialize(UnitDeserializer::<serde_json::Error>::new())
            .map_err(|_| de::Error::custom("missing argument")),
    }
}

/// Deserializes one JSON value, such as the `auth` object of a `CONNECT`,
/// with placeholders resolved as by [`deserialize_args`].
///
/// ```
/// use socketio_protocol::socket::deserialize_value;
///
/// #[derive(serde::Deserialize)]
/// struct Auth<'a> { token: &'a str }
///
/// let auth: Auth<'_> = deserialize_value(r#"{"token":"123"}"#, &[]).unwrap();
/// assert_eq!(auth.token, "123");
/// ```
pub fn deserialize_value<'de, T: Deserialize<'de>>(
    json: &'de str,
    attachments: &'de [Bytes],
) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = T::deserialize(Proxy::new(&mut de, attachments))?;
    de.end()?;
    Ok(value)
}

/// Deserializes event arguments the way [`encode_event`](super::encode_event)
/// writes them: a tuple (or tuple struct, or fixed-size array) receives the
/// arguments, one element each; `()` receives no argument; any other type
/// (a struct, a `Vec`, a `serde_json::Value`...) receives the first
/// argument. This is what the `Data<T>` extractors of the server and the
/// client use.
///
/// ```
/// use socketio_protocol::socket::deserialize_data;
///
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Point { x: i32, y: i32 }
///
/// let p: Point = deserialize_data(r#"{"x":1,"y":2}"#, &[]).unwrap();
/// assert_eq!(p, Point { x: 1, y: 2 });
/// let (a, b): (u8, String) = deserialize_data(r#"1,"b""#, &[]).unwrap();
/// assert_eq!((a, b.as_str()), (1, "b"));
/// let list: Vec<u8> = deserialize_data(r#"[1,2,3],"b""#, &[]).unwrap();
/// assert_eq!(list, [1, 2, 3]);
/// let first: serde_json::Value = deserialize_data(r#"[1,2],3"#, &[]).unwrap();
/// assert_eq!(first, serde_json::json!([1, 2]));
/// let none: Option<u8> = deserialize_data("", &[]).unwrap();
/// assert_eq!(none, None);
/// ```
pub fn deserialize_data<'de, T: Deserialize<'de>>(
    args: &'de str,
    attachments: &'de [Bytes],
) -> Result<T, serde_json::Error> {
    T::deserialize(DataArgs { args, attachments })
}

/// Dispatches on what the target type asks for: the list for sequences, the
/// first argument for everything else.
struct DataArgs<'de> {
    args: &'de str,
    attachments: &'de [Bytes],
}

impl<'de> DataArgs<'de> {
    fn list(self) -> Args<'de> {
        Args {
            args: self.args,
            attachments: self.attachments,
        }
    }

    /// Runs `f` on a deserializer of the first argument, checking that all of it was read.
    fn first<V, F>(self, f: F) -> Result<V, serde_json::Error>
    where
        F: FnOnce(
            Proxy<'de, &mut serde_json::Deserializer<serde_json::de::StrRead<'de>>>,
        ) -> Result<V, serde_json::Error>,
    {
        let mut list = ArgList::new(self.args, self.attachments);
        let raw = list
            .next_raw()?
            .ok_or_else(|| <serde_json::Error as de::Error>::custom("missing argument"))?;
        let mut de = serde_json::Deserializer::from_str(raw);
        let value = f(Proxy::new(&mut de, self.attachments))?;
        de.end()?;
        Ok(value)
    }
}

macro_rules! to_first_arg {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                self.first(|d| de::Deserializer::$method(d, visitor))
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for DataArgs<'de> {
    type Error = serde_json::Error;

    to_first_arg!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        if ArgList::new(self.args, self.attachments)
            .next_raw()?
            .is_none()
        {
            return visitor.visit_none();
        }
        self.first(|d| de::Deserializer::deserialize_option(d, visitor))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        de::Deserializer::deserialize_unit(self.list(), visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        de::Deserializer::deserialize_unit(self.list(), visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        if name == VALUE_TOKEN {
            // A `Value` is one argument, resolved by the argument's decoder.
            return self.first(|d| de::Deserializer::deserialize_newtype_struct(d, name, visitor));
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        // A `Vec`: one argument that is an array, as a JavaScript peer sends it.
        self.first(|d| de::Deserializer::deserialize_seq(d, visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        de::Deserializer::deserialize_any(self.list(), visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        de::Deserializer::deserialize_any(self.list(), visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.first(|d| de::Deserializer::deserialize_struct(d, name, fields, visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.first(|d| de::Deserializer::deserialize_enum(d, name, variants, visitor))
    }
}

/// The argument list as a deserializer: always a sequence.
struct Args<'de> {
    args: &'de str,
    attachments: &'de [Bytes],
}

impl<'de> de::Deserializer<'de> for Args<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let mut list = ArgList::new(self.args, self.attachments);
        let value = visitor.visit_seq(&mut list)?;
        if list.next_raw()?.is_some() {
            return Err(de::Error::custom(format_args!(
                "too many arguments: expected {}",
                list.count.saturating_sub(1)
            )));
        }
        Ok(value)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    /// `()` is no arguments, as [`encode_event`](super::encode_event) writes it.
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match ArgList::new(self.args, self.attachments).next_raw()? {
            None => visitor.visit_unit(),
            Some(_) => Err(de::Error::custom("too many arguments: expected 0")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// The arguments one by one: each is found by the scanner, then parsed by serde_json.
///
/// This reads the list in place, where parsing `[` + args + `]` would need a
/// copy of the text for every event.
struct ArgList<'de> {
    args: &'de str,
    pos: usize,
    count: usize,
    attachments: &'de [Bytes],
}

impl<'de> ArgList<'de> {
    fn new(args: &'de str, attachments: &'de [Bytes]) -> Self {
        ArgList {
            args,
            pos: 0,
            count: 0,
            attachments,
        }
    }

    /// The JSON text of the next argument.
    fn next_raw(&mut self) -> Result<Option<&'de str>, serde_json::Error> {
        let mut scan = Scanner::new(self.args.as_bytes(), self.pos, MAX_DEPTH);
        scan.skip_ws();
        if scan.peek().is_none() {
            self.pos = scan.pos();
            return Ok(None);
        }
        if self.count > 0 && !scan.eat(b',') {
            return Err(scan_error(ScanError::Syntax(scan.pos())));
        }
        scan.skip_ws();
        let start = scan.pos();
        scan.value(1).map_err(scan_error)?;
        self.pos = scan.pos();
        self.count += 1;
        // The scanner stops only after ASCII bytes, on char boundaries.
        self.args
            .get(start..self.pos)
            .map(Some)
            .ok_or_else(|| scan_error(ScanError::Syntax(start)))
    }
}

impl<'de> SeqAccess<'de> for ArgList<'de> {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, serde_json::Error> {
        let Some(raw) = self.next_raw()? else {
            return Ok(None);
        };
        let mut de = serde_json::Deserializer::from_str(raw);
        let value = seed.deserialize(Proxy::new(&mut de, self.attachments))?;
        de.end()?;
        Ok(Some(value))
    }
}

fn scan_error(e: ScanError) -> serde_json::Error {
    match e {
        ScanError::Syntax(at) => {
            de::Error::custom(format_args!("invalid JSON at byte {at} of the arguments"))
        }
        ScanError::TooDeep => de::Error::custom("arguments nested too deep"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::Binary;

    #[test]
    fn argument_lists() {
        let v: Vec<serde_json::Value> = deserialize_args("", &[]).unwrap();
        assert!(v.is_empty());
        let v: Vec<i32> = deserialize_args(" 1 , 2 ,3 ", &[]).unwrap();
        assert_eq!(v, [1, 2, 3]);
        deserialize_args::<()>("", &[]).unwrap();
        assert!(deserialize_args::<()>("1", &[]).is_err());
        let v: (String, Option<u8>) = deserialize_args(r#""a\nb",null"#, &[]).unwrap();
        assert_eq!(v, ("a\nb".to_owned(), None));
        let v: Option<(u8,)> = deserialize_args("7", &[]).unwrap();
        assert_eq!(v, Some((7,)));
        let v: serde_json::Value = deserialize_args("1,[2]", &[]).unwrap();
        assert_eq!(v, serde_json::json!([1, [2]]));
    }

    #[test]
    fn bad_argument_lists() {
        for args in ["1,", ",1", "1 2", "[", "1,,2", "{\"a\":}", "\"x"] {
            assert!(
                deserialize_args::<Vec<serde_json::Value>>(args, &[]).is_err(),
                "{args}"
            );
        }
        let err = deserialize_args::<(u8, u8)>("1,2,3", &[]).unwrap_err();
        assert_eq!(err.to_string(), "too many arguments: expected 2");
        assert!(deserialize_args::<(u8, u8)>("1", &[]).is_err());
    }

    #[test]
    fn placeholders_at_any_depth() {
        #[derive(serde::Deserialize)]
        struct File {
            name: String,
            #[serde(with = "serde_bytes")]
            data: Vec<u8>,
            thumbs: Vec<Binary>,
        }
        let att = [
            Bytes::from_static(b"zero"),
            Bytes::from_static(b"one"),
            Bytes::from_static(b"two"),
        ];
        let args = r#"{"name":"f","thumbs":[{"num":2,"_placeholder":true,"x":[1]},{"_placeholder":true,"num":0}],"data":{"_placeholder":true,"num":1}}"#;
        let f: File = deserialize_first_arg(args, &att).unwrap();
        assert_eq!(f.name, "f");
        assert_eq!(f.data, b"one");
        assert_eq!(f.thumbs, [Binary(att[2].clone()), Binary(att[0].clone())]);
        // Zero-copy: the thumbnails share the attachments' memory.
        assert_eq!(f.thumbs[0].as_ptr(), att[2].as_ptr());
    }

    #[test]
    fn bad_placeholders() {
        let att = [Bytes::from_static(b"zero")];
        for args in [
            r#"{"_placeholder":true,"num":1}"#,
            r#"{"_placeholder":false,"num":0}"#,
            r#"{"num":0}"#,
            r#"{"_placeholder":true,"num":-1}"#,
            r#"{"_placeholder":true,"num":18446744073709551616}"#,
            r#"{"_placeholder":"yes","num":0}"#,
            "12",
        ] {
            assert!(
                deserialize_first_arg::<Binary>(args, &att).is_err(),
                "{args}"
            );
        }
        // Plain JSON forms of bytes still work, as with serde_json.
        let b: Binary = deserialize_first_arg("[1,2]", &[]).unwrap();
        assert_eq!(&b[..], [1, 2]);
        let b: Binary = deserialize_first_arg("\"hi\"", &[]).unwrap();
        assert_eq!(&b[..], b"hi");
    }

    #[test]
    fn enums_and_maps_pass_through() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        enum Msg {
            Unit,
            New(Binary),
            Tuple(u8, Binary),
            Struct { b: Binary },
        }
        let att = [Bytes::from_static(b"x")];
        let p = r#"{"_placeholder":true,"num":0}"#;
        let x = Binary(att[0].clone());
        let args = format!(r#""Unit",{{"New":{p}}},{{"Tuple":[1,{p}]}},{{"Struct":{{"b":{p}}}}}"#);
        let v: Vec<Msg> = deserialize_args(&args, &att).unwrap();
        assert_eq!(
            v,
            [
                Msg::Unit,
                Msg::New(x.clone()),
                Msg::Tuple(1, x.clone()),
                Msg::Struct { b: x.clone() }
            ]
        );
        let m: std::collections::BTreeMap<String, Binary> =
            deserialize_first_arg(&format!(r#"{{"k":{p}}}"#), &att).unwrap();
        assert_eq!(m["k"], x);
    }

    #[test]
    fn depth_limit_matches_serde_json_on_the_whole_array() {
        for depth in [125, 126, 127, 128] {
            let arg = "[".repeat(depth) + &"]".repeat(depth);
            let ours = deserialize_args::<Vec<serde_json::Value>>(&arg, &[]);
            let reference = serde_json::from_str::<Vec<serde_json::Value>>(&format!("[{arg}]"));
            assert_eq!(ours.is_ok(), depth <= 126, "{depth}");
            assert_eq!(reference.is_ok(), depth <= 126, "{depth}");
        }
    }

    #[test]
    fn deep_arguments_are_bounded() {
        let deep = "[".repeat(5000) + &"]".repeat(5000);
        assert!(deserialize_args::<Vec<serde_json::Value>>(&deep, &[]).is_err());
        let ok = "[".repeat(100) + &"]".repeat(100);
        assert!(deserialize_args::<Vec<serde_json::Value>>(&ok, &[]).is_ok());
    }
}
