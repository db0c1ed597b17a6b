use std::fmt;

use super::PacketType;
use crate::Str;

/// Why a Socket.IO packet, or the binary frames that complete it, could not be decoded.
///
/// Every variant means the peer broke the protocol (or a configured
/// [`DecodeLimits`](super::DecodeLimits)); a server closes the connection.
/// Offsets count bytes from the start of the packet text given to the decoder
/// (the Engine.IO message payload, without its `4`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The packet had no type character.
    Empty,
    /// The first character is not a packet type (`0`..=`6`).
    UnknownPacketType(u8),
    /// A binary packet does not start with a well-formed `<count>-` attachment
    /// count of at least one.
    InvalidAttachmentCount,
    /// A binary packet announces more attachments than allowed.
    TooManyAttachments {
        /// The configured maximum.
        max: usize,
    },
    /// The attachments of one binary packet add up to more bytes than allowed.
    AttachmentsTooLarge {
        /// The configured maximum, in bytes.
        max: usize,
    },
    /// A binary frame arrived while no binary packet was waiting for attachments.
    UnexpectedAttachment,
    /// A text packet arrived before all attachments of the previous binary packet.
    MissingAttachments {
        /// Attachments the binary packet announced.
        expected: usize,
        /// Attachments received before the text packet.
        received: usize,
    },
    /// A placeholder of a binary packet names no attachment that arrived.
    InvalidPlaceholder {
        /// Attachments the packet has.
        attachments: usize,
    },
    /// The acknowledgement id does not fit in a `u64`.
    InvalidAckId,
    /// An `ACK` or `BINARY_ACK` packet has no acknowledgement id.
    MissingAckId,
    /// A packet of this type cannot carry an acknowledgement id.
    UnexpectedAckId(PacketType),
    /// A packet of this type must carry a payload.
    MissingPayload(PacketType),
    /// A packet of this type cannot carry a payload.
    UnexpectedPayload(PacketType),
    /// The payload is valid JSON of the wrong shape for the packet type.
    InvalidPayload {
        /// The packet type.
        packet_type: PacketType,
        /// What the protocol requires, such as `"a non-empty array"`.
        expected: &'static str,
    },
    /// The event name uses one of the names reserved by Socket.IO (`connect`,
    /// `disconnect`, ...), which a peer may not emit.
    ReservedEventName(Str),
    /// The payload is not valid JSON.
    InvalidJson {
        /// Offset of the first byte that is not valid JSON.
        offset: usize,
    },
    /// The payload nests arrays and objects deeper than allowed.
    TooDeep {
        /// The configured maximum depth.
        max: usize,
    },
    /// A packet of the msgpack parser is not one well-formed msgpack map of
    /// the packet's shape (`{type, nsp, data?, id?}`); says what is wrong.
    InvalidMsgpack(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty => f.write_str("empty packet"),
            DecodeError::UnknownPacketType(b) => {
                write!(f, "unknown packet type {:?}", char::from(*b))
            }
            DecodeError::InvalidAttachmentCount => {
                f.write_str("binary packet without a valid attachment count")
            }
            DecodeError::TooManyAttachments { max } => {
                write!(f, "binary packet announces more than {max} attachments")
            }
            DecodeError::AttachmentsTooLarge { max } => {
                write!(f, "binary attachments exceed {max} bytes")
            }
            DecodeError::UnexpectedAttachment => {
                f.write_str("binary frame without a binary packet waiting for it")
            }
            DecodeError::MissingAttachments { expected, received } => write!(
                f,
                "text packet received after {received} of {expected} binary attachments"
            ),
            DecodeError::InvalidPlaceholder { attachments } => write!(
                f,
                "placeholder without a matching attachment (the packet has {attachments})"
            ),
            DecodeError::InvalidAckId => f.write_str("acknowledgement id out of range"),
            DecodeError::MissingAckId => f.write_str("acknowledgement without an id"),
            DecodeError::UnexpectedAckId(ty) => write!(f, "{ty} packet with an acknowledgement id"),
            DecodeError::MissingPayload(ty) => write!(f, "{ty} packet without a payload"),
            DecodeError::UnexpectedPayload(ty) => write!(f, "{ty} packet with a payload"),
            DecodeError::InvalidPayload {
                packet_type,
                expected,
            } => write!(f, "{packet_type} payload must be {expected}"),
            DecodeError::ReservedEventName(name) => write!(f, "reserved event name {name:?}"),
            DecodeError::InvalidJson { offset } => write!(f, "invalid JSON at byte {offset}"),
            DecodeError::TooDeep { max } => write!(f, "JSON nested deeper than {max} levels"),
            DecodeError::InvalidMsgpack(what) => write!(f, "invalid msgpack packet: {what}"),
        }
    }
}

impl std::error::Error for DecodeError {}
