//! Arguments exactly as received, shared by the server and the client.

use bytes::{Bytes, BytesMut};
use serde::{de::DeserializeOwned, Serialize};

use crate::Str;

/// An event's (or acknowledgement's) arguments exactly as received: the
/// JSON text of the list and the binary attachments it refers to. Passed on
/// unchanged (`emit_raw`, `send_raw`), it is neither decoded nor encoded
/// again. The server's and the client's `RawArgs` extractor is this type.
///
/// ```
/// use socketio_protocol::socket::RawArgs;
///
/// let raw = RawArgs::from_data(&(1, "two")).unwrap();
/// assert_eq!(raw.args, r#"1,"two""#);
/// assert!(raw.attachments.is_empty());
/// let (n, s): (u8, String) = raw.data().unwrap();
/// assert_eq!((n, s.as_str()), (1, "two"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawArgs {
    /// The JSON text of the arguments, comma-separated, without brackets.
    pub args: Str,
    /// The binary attachments that placeholders in `args` refer to.
    pub attachments: Vec<Bytes>,
}

impl RawArgs {
    /// `data` encoded as arguments, by the rule of
    /// [`encode_event`](super::encode_event) (a tuple is several arguments,
    /// anything else one), bytes pulled out as attachments.
    pub fn from_data<T: Serialize + ?Sized>(data: &T) -> Result<RawArgs, serde_json::Error> {
        let packet = super::encode_ack(&mut BytesMut::new(), "/", 0, data)?;
        // `430[` + args + `]`: keep what is between the brackets.
        let text = packet.text;
        let start = text.find('[').map_or(text.len(), |i| i + 1);
        let end = text.len().saturating_sub(1).max(start);
        Ok(RawArgs {
            args: text.slice(start..end),
            attachments: packet.attachments,
        })
    }

    /// The arguments deserialized as a `Data<T>` extractor reads them (a
    /// tuple takes one argument per element, any other type the first).
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        super::deserialize_data(&self.args, &self.attachments)
    }
}
