use std::fmt;

use serde::{Deserialize, Serialize};

/// An Engine.IO session id: 20 characters of URL-safe base64, as Node sends.
///
/// ```
/// use socketio_protocol::engine::Sid;
///
/// let sid = Sid::from_random_bytes([7; 15]);
/// assert_eq!(sid.as_str().len(), 20);
/// assert_eq!(sid.as_str().parse::<Sid>(), Ok(sid));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid([u8; 20]);

impl Sid {
    /// Builds a sid from 15 random bytes (120 bits).
    pub fn from_random_bytes(bytes: [u8; 15]) -> Sid {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = [0u8; 20];
        for (chunk, o) in bytes.chunks_exact(3).zip(out.chunks_exact_mut(4)) {
            let n = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
            for (i, c) in o.iter_mut().enumerate() {
                *c = ALPHABET[(n >> (18 - 6 * i) & 63) as usize];
            }
        }
        Sid(out)
    }

    /// The sid as text.
    pub fn as_str(&self) -> &str {
        // Only built from the ASCII alphabet above (or checked in `from_str`).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// A string that is not a valid [`Sid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidSid;

impl fmt::Display for InvalidSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid session id")
    }
}

impl std::error::Error for InvalidSid {}

impl std::str::FromStr for Sid {
    type Err = InvalidSid;
    fn from_str(s: &str) -> Result<Sid, InvalidSid> {
        let bytes: [u8; 20] = s.as_bytes().try_into().map_err(|_| InvalidSid)?;
        if bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        {
            Ok(Sid(bytes))
        } else {
            Err(InvalidSid)
        }
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Sid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Sid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Sid, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The JSON payload of the `open` packet sent at the handshake.
///
/// ```
/// use socketio_protocol::engine::{OpenPacket, Sid};
///
/// let open = OpenPacket {
///     sid: "lv_VI97HAXpY6yYWAAAC".parse().unwrap(),
///     upgrades: vec!["websocket".into()],
///     ping_interval: 25000,
///     ping_timeout: 20000,
///     max_payload: 1000000,
/// };
/// let json = open.to_json();
/// assert_eq!(json, r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#);
/// assert_eq!(serde_json::from_str::<OpenPacket>(&json).unwrap(), open);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPacket {
    /// The session id.
    pub sid: Sid,
    /// Transports the client may upgrade to (`["websocket"]` over polling, `[]` over WebSocket).
    pub upgrades: Vec<String>,
    /// Milliseconds between two pings from the server.
    pub ping_interval: u64,
    /// Milliseconds the client has to answer a ping.
    pub ping_timeout: u64,
    /// The largest payload, in bytes, the server accepts.
    pub max_payload: u64,
}

impl OpenPacket {
    /// The JSON text of the packet (without the `0` type digit).
    pub fn to_json(&self) -> String {
        // Serializing plain strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
