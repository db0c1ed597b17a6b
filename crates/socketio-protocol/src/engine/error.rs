use std::fmt;

/// Why an Engine.IO packet or payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The packet had no type character.
    Empty,
    /// The first character is not a packet type (`0`..=`6`).
    UnknownPacketType(u8),
    /// A `b`-prefixed packet of a polling payload is not valid base64.
    InvalidBase64,
    /// A polling body or text frame is not valid UTF-8.
    InvalidUtf8,
    /// A length prefix of a protocol v3 payload is not a length, or the
    /// payload ends before the packet it announces.
    InvalidLength,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty => f.write_str("empty packet"),
            DecodeError::UnknownPacketType(b) => write!(f, "unknown packet type {:?}", *b as char),
            DecodeError::InvalidBase64 => f.write_str("invalid base64 in binary packet"),
            DecodeError::InvalidUtf8 => f.write_str("payload is not valid UTF-8"),
            DecodeError::InvalidLength => f.write_str("invalid packet length in payload"),
        }
    }
}

impl std::error::Error for DecodeError {}
