use std::fmt;

use bytes::Bytes;

use super::scan::{Kind, ScanError, Scanner};
use super::{DecodeError, DecodeLimits, PartialPacket};
use crate::Str;

/// An acknowledgement id: sent with an event whose sender wants an answer,
/// and sent back with the answer.
pub type AckId = u64;

/// Event names a peer may not emit: the reference implementation uses them
/// for its own lifecycle events. A server refuses an event with one of
/// these names (the connection is closed); a client does not send one.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The type of a Socket.IO packet, with its wire digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: connect to a namespace (client), or accept the connection (server).
    Connect = b'0',
    /// `1`: leave a namespace.
    Disconnect = b'1',
    /// `2`: an event with JSON arguments.
    Event = b'2',
    /// `3`: the answer to an event.
    Ack = b'3',
    /// `4`: the connection to a namespace is refused.
    ConnectError = b'4',
    /// `5`: an event whose arguments include binary attachments.
    BinaryEvent = b'5',
    /// `6`: an answer whose arguments include binary attachments.
    BinaryAck = b'6',
}

impl PacketType {
    /// The packet type for a wire digit.
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            b'0' => PacketType::Connect,
            b'1' => PacketType::Disconnect,
            b'2' => PacketType::Event,
            b'3' => PacketType::Ack,
            b'4' => PacketType::ConnectError,
            b'5' => PacketType::BinaryEvent,
            b'6' => PacketType::BinaryAck,
            _ => return None,
        })
    }

    /// The wire digit.
    pub fn as_byte(self) -> u8 {
        self as u8
    }

    /// Whether binary attachments follow packets of this type.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }

    /// The name the protocol document uses (`BINARY_EVENT`).
    pub fn name(self) -> &'static str {
        match self {
            PacketType::Connect => "CONNECT",
            PacketType::Disconnect => "DISCONNECT",
            PacketType::Event => "EVENT",
            PacketType::Ack => "ACK",
            PacketType::ConnectError => "CONNECT_ERROR",
            PacketType::BinaryEvent => "BINARY_EVENT",
            PacketType::BinaryAck => "BINARY_ACK",
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One decoded Socket.IO packet: its namespace and what it carries.
///
/// JSON payloads are kept as text, sliced from the decoded input without
/// copying; [`deserialize_args`](super::deserialize_args) turns arguments into
/// a Rust type when a handler wants them.
///
/// ```
/// use socketio_protocol::socket::{Decoded, DecodeLimits, Packet, PacketData};
///
/// let Ok(Decoded::Packet(packet)) = Packet::decode("2/chat,7[\"echo\",1,{\"a\":2}]".into(), &DecodeLimits::default())
/// else { panic!() };
/// assert_eq!(packet.ns, "/chat");
/// let PacketData::Event(event) = packet.data else { panic!() };
/// assert_eq!(event.name, "echo");
/// assert_eq!(event.args, r#"1,{"a":2}"#);
/// assert_eq!(event.ack_id, Some(7));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The namespace, `/` when the packet names none.
    pub ns: Str,
    /// What the packet carries.
    pub data: PacketData,
}

/// The content of a [`Packet`], by packet type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketData {
    /// `CONNECT`, with the JSON object the client sent (its `auth`), or, from
    /// a server, `{"sid":"..."}`.
    Connect(Option<Str>),
    /// `DISCONNECT`.
    Disconnect,
    /// `EVENT` or `BINARY_EVENT`.
    Event(Event),
    /// `ACK` or `BINARY_ACK`.
    Ack(Ack),
    /// `CONNECT_ERROR`, with its JSON payload: an object
    /// (`{"message":"...","data":...}`), or a string from old peers.
    ConnectError(Str),
}

/// An event: its name, its arguments and, if the sender waits for an answer,
/// the id to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event name, unescaped.
    pub name: Str,
    /// The JSON text of the arguments after the name, separated by commas,
    /// without brackets: `1,{"a":2}` for `["echo",1,{"a":2}]`, empty if none.
    pub args: Str,
    /// The id to acknowledge with, if the sender asked for an answer.
    pub ack_id: Option<AckId>,
    /// Binary attachments, in order, that placeholders in `args` refer to.
    pub attachments: Vec<Bytes>,
}

/// The answer to an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The id of the event answered.
    pub id: AckId,
    /// The JSON text of the arguments, separated by commas, without brackets.
    pub args: Str,
    /// Binary attachments, in order, that placeholders in `args` refer to.
    pub attachments: Vec<Bytes>,
}

/// What decoding a text packet gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A complete packet.
    Packet(Packet),
    /// A binary packet whose attachments follow in the next binary frames.
    Partial(PartialPacket),
}

impl Packet {
    /// Decodes a text packet: an Engine.IO message payload, without its `4`.
    ///
    /// Payloads are checked (valid JSON of the shape the packet type
    /// requires, nested at most `limits.max_depth` deep) but not parsed into
    /// values. A `BINARY_EVENT` or `BINARY_ACK` with attachments comes back as
    /// [`Decoded::Partial`], to be completed with
    /// [`PartialPacket::push`]; [`Decoder`](super::Decoder) does that for a
    /// connection.
    ///
    /// Placeholders are resolved when arguments are deserialized, where one
    /// that names a missing attachment is an error.
    ///
    /// ```
    /// use socketio_protocol::socket::{Decoded, DecodeLimits, Packet, PacketData};
    ///
    /// let limits = DecodeLimits::default();
    /// let Ok(Decoded::Packet(packet)) = Packet::decode("0".into(), &limits) else { panic!() };
    /// assert_eq!(packet.ns, "/");
    /// assert_eq!(packet.data, PacketData::Connect(None));
    ///
    /// let Ok(Decoded::Partial(partial)) = Packet::decode("51-[\"x\",{\"_placeholder\":true,\"num\":0}]".into(), &limits)
    /// else { panic!() };
    /// assert_eq!(partial.expected(), 1);
    ///
    /// assert!(Packet::decode("2[1]".into(), &limits).is_err());
    /// ```
    pub fn decode(text: Str, limits: &DecodeLimits) -> Result<Decoded, DecodeError> {
        let bytes = text.as_bytes();
        let first = *bytes.first().ok_or(DecodeError::Empty)?;
        let ty = PacketType::from_byte(first).ok_or(DecodeError::UnknownPacketType(first))?;
        let mut pos = 1;

        let mut expected = 0;
        if ty.is_binary() {
            let (count, end) = read_number(bytes, pos);
            if end == pos || bytes.get(end) != Some(&b'-') {
                return Err(DecodeError::InvalidAttachmentCount);
            }
            // A binary packet carries at least one attachment: Node's parser
            // refuses `0-` too.
            if count == Some(0) {
                return Err(DecodeError::InvalidAttachmentCount);
            }
            let max = limits.max_attachments;
            expected = count
                .and_then(|n| usize::try_from(n).ok())
                .filter(|&n| n <= max)
                .ok_or(DecodeError::TooManyAttachments { max })?;
            pos = end + 1;
        }

        let ns = if bytes.get(pos) == Some(&b'/') {
            let end = find(bytes, pos, b',').unwrap_or(bytes.len());
            let ns = slice(&text, pos..end)?;
            pos = bytes.len().min(end + 1);
            ns
        } else {
            Str::from_static("/")
        };

        let (id, end) = read_number(bytes, pos);
        let ack_id = match end > pos {
            true => Some(id.ok_or(DecodeError::InvalidAckId)?),
            false => None,
        };
        pos = end;

        let payload = Payload {
            text: &text,
            start: pos,
            ty,
            max_depth: limits.max_depth,
        };
        let has_payload = pos < bytes.len();
        let no_ack_id = || match ack_id {
            Some(_) => Err(DecodeError::UnexpectedAckId(ty)),
            None => Ok(()),
        };
        let data = match ty {
            PacketType::Connect => {
                no_ack_id()?;
                PacketData::Connect(match has_payload {
                    true => Some(payload.value(&[Kind::Object], "an object")?),
                    false => None,
                })
            }
            PacketType::Disconnect => {
                no_ack_id()?;
                if has_payload {
                    return Err(DecodeError::UnexpectedPayload(ty));
                }
                PacketData::Disconnect
            }
            PacketType::ConnectError => {
                no_ack_id()?;
                payload.require(has_payload)?;
                let expected = "an object or a string";
                PacketData::ConnectError(payload.value(&[Kind::Object, Kind::String], expected)?)
            }
            PacketType::Event | PacketType::BinaryEvent => {
                payload.require(has_payload)?;
                let (name, args) = payload.event()?;
                PacketData::Event(Event {
                    name,
                    args,
                    ack_id,
                    attachments: Vec::new(),
                })
            }
            PacketType::Ack | PacketType::BinaryAck => {
                let id = ack_id.ok_or(DecodeError::MissingAckId)?;
                payload.require(has_payload)?;
                PacketData::Ack(Ack {
                    id,
                    args: payload.ack()?,
                    attachments: Vec::new(),
                })
            }
        };

        let packet = Packet { ns, data };
        Ok(match expected {
            0 => Decoded::Packet(packet),
            n => Decoded::Partial(PartialPacket::new(packet, n, limits.max_attachment_bytes)),
        })
    }

    /// The packet's type: binary if it carries attachments.
    pub fn packet_type(&self) -> PacketType {
        match &self.data {
            PacketData::Connect(_) => PacketType::Connect,
            PacketData::Disconnect => PacketType::Disconnect,
            PacketData::Event(e) if e.attachments.is_empty() => PacketType::Event,
            PacketData::Event(_) => PacketType::BinaryEvent,
            PacketData::Ack(a) if a.attachments.is_empty() => PacketType::Ack,
            PacketData::Ack(_) => PacketType::BinaryAck,
            PacketData::ConnectError(_) => PacketType::ConnectError,
        }
    }

    /// The binary attachments (empty unless the packet is a binary event or ack).
    pub fn attachments(&self) -> &[Bytes] {
        match &self.data {
            PacketData::Event(e) => &e.attachments,
            PacketData::Ack(a) => &a.attachments,
            _ => &[],
        }
    }

    pub(crate) fn attachments_mut(&mut self) -> Option<&mut Vec<Bytes>> {
        match &mut self.data {
            PacketData::Event(e) => Some(&mut e.attachments),
            PacketData::Ack(a) => Some(&mut a.attachments),
            _ => None,
        }
    }
}

/// The JSON payload of a packet being decoded: the text from `start` on.
struct Payload<'a> {
    text: &'a Str,
    start: usize,
    ty: PacketType,
    max_depth: usize,
}

impl Payload<'_> {
    fn scanner(&self) -> Scanner<'_> {
        Scanner::new(self.text.as_bytes(), self.start, self.max_depth)
    }

    fn json_error(&self, e: ScanError) -> DecodeError {
        match e {
            ScanError::Syntax(offset) => DecodeError::InvalidJson { offset },
            ScanError::TooDeep => DecodeError::TooDeep {
                max: self.max_depth,
            },
        }
    }

    fn require(&self, present: bool) -> Result<(), DecodeError> {
        match present {
            true => Ok(()),
            false => Err(DecodeError::MissingPayload(self.ty)),
        }
    }

    /// The error for a payload of the wrong shape: the JSON error if it is
    /// not even JSON, else what was `expected`.
    fn shape_error(&self, expected: &'static str) -> DecodeError {
        let mut scan = self.scanner();
        match scan.value(0).and_then(|_| scan.end()) {
            Err(e) => self.json_error(e),
            Ok(()) => DecodeError::InvalidPayload {
                packet_type: self.ty,
                expected,
            },
        }
    }

    /// The whole payload, a single value of one of the `allowed` kinds.
    fn value(&self, allowed: &[Kind], expected: &'static str) -> Result<Str, DecodeError> {
        let mut scan = self.scanner();
        scan.skip_ws();
        let start = scan.pos();
        let kind = scan.value(0).map_err(|e| self.json_error(e))?;
        let end = scan.pos();
        scan.end().map_err(|e| self.json_error(e))?;
        if !allowed.contains(&kind) {
            return Err(self.shape_error(expected));
        }
        slice(self.text, start..end)
    }

    /// The event name and the text of the other arguments.
    fn event(&self) -> Result<(Str, Str), DecodeError> {
        const EXPECTED: &str = "a non-empty array starting with the event name as a string";
        let err = |e| self.json_error(e);
        let mut scan = self.scanner();
        scan.skip_ws();
        if scan.peek() != Some(b'[') {
            return Err(self.shape_error(EXPECTED));
        }
        scan.open_array().map_err(err)?;
        scan.skip_ws();
        let name_start = scan.pos();
        if scan.peek() != Some(b'"') {
            return Err(self.shape_error(EXPECTED));
        }
        let escaped = scan.string().map_err(err)?;
        let name_end = scan.pos();
        scan.skip_ws();
        let args = if scan.eat(b']') {
            Str::default()
        } else if scan.eat(b',') {
            slice(self.text, scan.rest_of_array(1).map_err(err)?)?
        } else {
            return Err(DecodeError::InvalidJson { offset: scan.pos() });
        };
        scan.end().map_err(err)?;

        let quoted = slice(self.text, name_start..name_end)?;
        let name = match escaped {
            true => serde_json::from_str::<String>(&quoted)
                .map(Str::from)
                .map_err(|_| DecodeError::InvalidJson { offset: name_start })?,
            // The quotes are ASCII: the name starts and ends on char boundaries.
            false => slice(&quoted, 1..quoted.len().saturating_sub(1))?,
        };
        if RESERVED_EVENTS.contains(&name.as_str()) {
            return Err(DecodeError::ReservedEventName(name));
        }
        Ok((name, args))
    }

    /// The text of the arguments of an ack.
    fn ack(&self) -> Result<Str, DecodeError> {
        let err = |e| self.json_error(e);
        let mut scan = self.scanner();
        scan.skip_ws();
        if scan.peek() != Some(b'[') {
            return Err(self.shape_error("an array"));
        }
        scan.open_array().map_err(err)?;
        scan.skip_ws();
        let args = match scan.eat(b']') {
            true => Str::default(),
            false => slice(self.text, scan.rest_of_array(1).map_err(err)?)?,
        };
        scan.end().map_err(err)?;
        Ok(args)
    }
}

/// Reads decimal digits from `pos`: the value (`None` on `u64` overflow) and
/// where the digits end.
fn read_number(bytes: &[u8], pos: usize) -> (Option<u64>, usize) {
    let digits = bytes
        .get(pos..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| b.is_ascii_digit());
    let mut value = Some(0u64);
    let mut end = pos;
    for &d in digits {
        value = value
            .and_then(|v| v.checked_mul(10))
            .and_then(|v| v.checked_add(u64::from(d - b'0')));
        end += 1;
    }
    (value, end)
}

fn find(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    let rest = bytes.get(from..)?;
    rest.iter().position(|&b| b == needle).map(|i| from + i)
}

/// A slice of `text` at offsets found by the scanner, which are ASCII
/// positions; an error only if that reasoning is wrong, never a panic.
fn slice(text: &Str, range: std::ops::Range<usize>) -> Result<Str, DecodeError> {
    let offset = range.start;
    text.try_slice(range)
        .ok_or(DecodeError::InvalidJson { offset })
}
