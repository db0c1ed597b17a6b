//! The outcome of a server-side emit that waited for answers.

use std::fmt;

use super::AdapterError;
use crate::extract::RawArgs;

/// A [`server_side_emit`](crate::SocketIo::server_side_emit) with
/// acknowledgements that did not get every server's answer: why, and the
/// answers that did arrive (Node's `(err, responses)`).
///
/// ```
/// use socketio_axum::adapter::{AdapterError, ServerSideEmitError};
///
/// let e = ServerSideEmitError::new(AdapterError::timeout("1 of 2 answered"), Vec::new());
/// assert!(e.error().is_timeout());
/// assert!(e.replies().is_empty());
/// ```
#[derive(Debug)]
pub struct ServerSideEmitError {
    error: AdapterError,
    replies: Vec<RawArgs>,
}

impl ServerSideEmitError {
    /// `error`, with the answers received before it.
    pub fn new(error: AdapterError, replies: Vec<RawArgs>) -> Self {
        ServerSideEmitError { error, replies }
    }

    /// What went wrong (`is_timeout()` when some server did not answer in time).
    pub fn error(&self) -> &AdapterError {
        &self.error
    }

    /// The answers that arrived, one per server, in arrival order.
    pub fn replies(&self) -> &[RawArgs] {
        &self.replies
    }

    /// The answers that arrived.
    pub fn into_replies(self) -> Vec<RawArgs> {
        self.replies
    }
}

impl From<AdapterError> for ServerSideEmitError {
    fn from(error: AdapterError) -> Self {
        ServerSideEmitError::new(error, Vec::new())
    }
}

impl fmt::Display for ServerSideEmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} answers arrived)", self.error, self.replies.len())
    }
}

impl std::error::Error for ServerSideEmitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
