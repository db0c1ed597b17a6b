use bytes::Bytes;

use super::PacketData;
use super::{DecodeError, DecodeLimits, Decoded, Packet};
use crate::Str;

/// A binary packet whose header was decoded, waiting for its attachments.
///
/// Each binary frame that follows the header is one attachment, in order.
/// Only the announced count is accepted, and the header decoder has already
/// checked that count against [`DecodeLimits::max_attachments`], so nothing
/// is allocated in proportion to what a peer merely claims.
///
/// ```
/// use bytes::Bytes;
/// use socketio_protocol::socket::{Decoded, DecodeLimits, Packet};
///
/// let text = r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
/// let Ok(Decoded::Partial(partial)) = Packet::decode(text.into(), &DecodeLimits::default())
/// else { panic!() };
/// let Ok(Decoded::Partial(partial)) = partial.push(Bytes::from_static(&[1, 2])) else { panic!() };
/// let Ok(Decoded::Packet(packet)) = partial.push(Bytes::from_static(&[3, 4])) else { panic!() };
/// assert_eq!(packet.attachments(), [Bytes::from_static(&[1, 2]), Bytes::from_static(&[3, 4])]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialPacket {
    packet: Packet,
    expected: usize,
    received_bytes: usize,
    max_bytes: usize,
}

impl PartialPacket {
    pub(crate) fn new(mut packet: Packet, expected: usize, max_bytes: usize) -> Self {
        if let Some(attachments) = packet.attachments_mut() {
            // `expected` is at most `DecodeLimits::max_attachments`.
            attachments.reserve_exact(expected);
        }
        PartialPacket {
            packet,
            expected,
            received_bytes: 0,
            max_bytes,
        }
    }

    /// The packet so far, with the attachments received.
    pub fn packet(&self) -> &Packet {
        &self.packet
    }

    /// How many attachments the packet announced.
    pub fn expected(&self) -> usize {
        self.expected
    }

    /// How many attachments were received.
    pub fn received(&self) -> usize {
        self.packet.attachments().len()
    }

    /// Adds the next attachment: the packet is complete with the last one.
    pub fn push(mut self, attachment: Bytes) -> Result<Decoded, DecodeError> {
        let max = self.max_bytes;
        self.received_bytes = self
            .received_bytes
            .checked_add(attachment.len())
            .filter(|&n| n <= max)
            .ok_or(DecodeError::AttachmentsTooLarge { max })?;
        let expected = self.expected;
        let Some(attachments) = self.packet.attachments_mut() else {
            // Only events and acks are ever partial.
            return Err(DecodeError::UnexpectedAttachment);
        };
        attachments.push(attachment);
        if attachments.len() < expected {
            return Ok(Decoded::Partial(self));
        }
        let args = match &self.packet.data {
            PacketData::Event(e) => &e.args,
            PacketData::Ack(a) => &a.args,
            _ => return Err(DecodeError::UnexpectedAttachment),
        };
        super::placeholders::check(args, expected)?;
        Ok(Decoded::Packet(self.packet))
    }
}

/// Decodes the Socket.IO packets of one connection, in arrival order,
/// reassembling binary packets from the frames that follow them.
///
/// Feed it each Engine.IO message: text with [`decode_text`](Decoder::decode_text),
/// binary with [`decode_binary`](Decoder::decode_binary). Each returns the
/// packet it completed, or `None` while a binary packet waits for attachments.
/// After an error the decoder is reset; a server closes the connection.
///
/// ```
/// use bytes::Bytes;
/// use socketio_protocol::socket::{Decoder, PacketData};
///
/// let mut decoder = Decoder::default();
/// let header = r#"51-["upload",{"_placeholder":true,"num":0}]"#;
/// assert_eq!(decoder.decode_text(header.into()), Ok(None));
/// let packet = decoder.decode_binary(Bytes::from_static(&[1, 2, 3, 4])).unwrap().unwrap();
/// let PacketData::Event(event) = packet.data else { panic!() };
/// assert_eq!(event.name, "upload");
/// assert_eq!(event.attachments, [Bytes::from_static(&[1, 2, 3, 4])]);
///
/// // A binary frame nobody announced is a protocol error.
/// assert!(decoder.decode_binary(Bytes::from_static(&[0])).is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    limits: DecodeLimits,
    partial: Option<PartialPacket>,
}

impl Decoder {
    /// A decoder with the given limits.
    pub fn new(limits: DecodeLimits) -> Self {
        Decoder {
            limits,
            partial: None,
        }
    }

    /// The decoder's limits.
    pub fn limits(&self) -> &DecodeLimits {
        &self.limits
    }

    /// Whether a binary packet is waiting for attachments.
    pub fn is_awaiting_attachments(&self) -> bool {
        self.partial.is_some()
    }

    /// Decodes a text message (without the Engine.IO `4`). Fails if a binary
    /// packet is still waiting for attachments.
    pub fn decode_text(&mut self, text: Str) -> Result<Option<Packet>, DecodeError> {
        if let Some(partial) = self.partial.take() {
            return Err(DecodeError::MissingAttachments {
                expected: partial.expected(),
                received: partial.received(),
            });
        }
        self.complete(Packet::decode(text, &self.limits)?)
    }

    /// Decodes a binary message: the next attachment of the waiting binary packet.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        let partial = self
            .partial
            .take()
            .ok_or(DecodeError::UnexpectedAttachment)?;
        self.complete(partial.push(data)?)
    }

    fn complete(&mut self, decoded: Decoded) -> Result<Option<Packet>, DecodeError> {
        Ok(match decoded {
            Decoded::Packet(packet) => Some(packet),
            Decoded::Partial(partial) => {
                self.partial = Some(partial);
                None
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::PacketData;

    fn bin(b: &'static [u8]) -> Bytes {
        Bytes::from_static(b)
    }

    #[test]
    fn reassembles_in_order() {
        let mut d = Decoder::default();
        let header =
            r#"62-/admin,15["bar",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#;
        assert_eq!(d.decode_text(header.into()), Ok(None));
        assert!(d.is_awaiting_attachments());
        assert_eq!(d.decode_binary(bin(b"first")), Ok(None));
        let packet = d.decode_binary(bin(b"second")).unwrap().unwrap();
        assert!(!d.is_awaiting_attachments());
        assert_eq!(packet.ns, "/admin");
        let PacketData::Ack(ack) = packet.data else {
            panic!("not an ack: {packet:?}")
        };
        assert_eq!(ack.id, 15);
        assert_eq!(ack.attachments, [bin(b"first"), bin(b"second")]);
    }

    #[test]
    fn a_binary_packet_of_zero_attachments_is_refused() {
        let mut d = Decoder::default();
        for text in [r#"50-["x"]"#, "60-1[]", r#"500-["x"]"#] {
            assert_eq!(
                d.decode_text(text.into()),
                Err(DecodeError::InvalidAttachmentCount),
                "{text}"
            );
            assert!(!d.is_awaiting_attachments());
        }
    }

    #[test]
    fn rejects_frames_out_of_place() {
        let mut d = Decoder::default();
        assert_eq!(
            d.decode_binary(bin(b"x")),
            Err(DecodeError::UnexpectedAttachment)
        );
        assert_eq!(d.decode_text(r#"52-["x"]"#.into()), Ok(None));
        assert_eq!(d.decode_binary(bin(b"1")), Ok(None));
        assert_eq!(
            d.decode_text(r#"2["y"]"#.into()),
            Err(DecodeError::MissingAttachments {
                expected: 2,
                received: 1
            })
        );
        // The decoder was reset by the error.
        assert!(!d.is_awaiting_attachments());
        assert!(d.decode_text(r#"2["y"]"#.into()).unwrap().is_some());
    }

    #[test]
    fn bounds_attachment_count_and_size() {
        let limits = DecodeLimits {
            max_attachments: 2,
            max_attachment_bytes: 5,
            ..DecodeLimits::DEFAULT
        };
        let mut d = Decoder::new(limits);
        assert_eq!(
            d.decode_text(r#"53-["x"]"#.into()),
            Err(DecodeError::TooManyAttachments { max: 2 })
        );
        assert_eq!(d.decode_text(r#"52-["x"]"#.into()), Ok(None));
        assert_eq!(d.decode_binary(bin(b"abc")), Ok(None));
        assert_eq!(
            d.decode_binary(bin(b"def")),
            Err(DecodeError::AttachmentsTooLarge { max: 5 })
        );
        assert!(!d.is_awaiting_attachments());
    }

    #[test]
    fn huge_count_is_rejected_before_allocating() {
        let mut d = Decoder::default();
        for header in [
            r#"54294967296-["x"]"#,
            r#"518446744073709551616-["x"]"#,
            r#"5999999999999999999999999999999-["x"]"#,
            r#"611-1["x"]"#,
        ] {
            assert_eq!(
                d.decode_text(header.into()),
                Err(DecodeError::TooManyAttachments { max: 10 })
            );
        }
    }
}
