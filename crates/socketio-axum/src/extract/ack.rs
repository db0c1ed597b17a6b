use std::fmt;

use serde::Serialize;
use socketio_protocol::socket::AckId;

use super::{FromMessageParts, MessageParts, RawArgs};
use crate::{EmitError, SocketRef};

/// Answers the client's acknowledgement callback, once.
///
/// If the client asked for no acknowledgement, sending does nothing.
///
/// ```
/// use socketio_axum::extract::{AckSender, Data};
///
/// async fn add(Data((a, b)): Data<(i64, i64)>, ack: AckSender) {
///     let _ = ack.send(&(a + b,));
/// }
/// ```
pub struct AckSender {
    socket: SocketRef,
    id: Option<AckId>,
}

impl fmt::Debug for AckSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckSender")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl AckSender {
    /// Whether the client waits for an acknowledgement.
    pub fn is_expected(&self) -> bool {
        self.id.is_some()
    }

    /// Sends the acknowledgement. `data` maps to arguments by one rule, the same for every emit, ack
    /// and broadcast of the server and the client: a tuple is several
    /// arguments, `()` none, anything else (a struct, a `Vec`, a JSON array)
    /// one, and a [`Spread`](crate::Spread) is a list of any length; see the
    /// table on [`encode_event`](socketio_protocol::socket::encode_event).
    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), EmitError> {
        match self.id {
            Some(id) => self.socket.send_ack(id, data),
            None => Ok(()),
        }
    }

    /// Sends arguments as received, unchanged.
    pub fn send_raw(self, args: RawArgs) -> Result<(), EmitError> {
        match self.id {
            Some(id) => self.socket.send_ack_raw(id, args),
            None => Ok(()),
        }
    }
}

impl FromMessageParts for AckSender {
    type Rejection = std::convert::Infallible;

    fn from_message_parts(
        socket: &SocketRef,
        parts: &mut MessageParts,
    ) -> Result<Self, Self::Rejection> {
        Ok(AckSender {
            socket: socket.clone(),
            id: parts.ack_id,
        })
    }
}
