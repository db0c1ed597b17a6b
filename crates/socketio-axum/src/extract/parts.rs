use bytes::Bytes;
use socketio_protocol::{socket::AckId, Str};

use super::{FromMessageParts, SocketRef};

/// What event extractors read: the event's name, arguments, attachments and ack id.
#[derive(Debug, Clone)]
pub struct MessageParts {
    pub(crate) event: Str,
    pub(crate) args: Str,
    pub(crate) attachments: Vec<Bytes>,
    pub(crate) ack_id: Option<AckId>,
}

impl MessageParts {
    /// The event name.
    pub fn event(&self) -> &Str {
        &self.event
    }

    /// The JSON text of the arguments, comma-separated, without brackets.
    pub fn args(&self) -> &Str {
        &self.args
    }

    /// Binary attachments that placeholders in the arguments refer to.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// Takes the attachments out, leaving none.
    pub fn take_attachments(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.attachments)
    }

    /// The id the client waits for an acknowledgement on, if any.
    pub fn ack_id(&self) -> Option<AckId> {
        self.ack_id
    }
}

/// What connect extractors read: the `auth` payload of the `CONNECT` packet.
#[derive(Debug, Clone, Default)]
pub struct ConnectParts {
    pub(crate) auth: Option<Str>,
}

impl ConnectParts {
    /// The JSON text of the `auth` object the client sent, if any.
    pub fn auth(&self) -> Option<&Str> {
        self.auth.as_ref()
    }
}

/// The name of the event being handled; useful in catch-all handlers.
///
/// ```
/// use socketio_axum::{extract::Event, SocketRef};
///
/// fn register(socket: SocketRef) {
///     socket.on_any(|Event(name): Event| async move { println!("got {name}") });
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event(pub Str);

impl FromMessageParts for Event {
    type Rejection = std::convert::Infallible;

    fn from_message_parts(
        _: &SocketRef,
        parts: &mut MessageParts,
    ) -> Result<Self, Self::Rejection> {
        Ok(Event(parts.event.clone()))
    }
}
