use std::{fmt, time::Duration};

use crate::adapter::AdapterError;

/// Why an emit failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmitError {
    /// The data could not be serialized.
    Serialize(String),
    /// The socket is disconnected.
    Disconnected,
    /// The client reads too slowly: its connection's outgoing queue holds
    /// `max_buffered_bytes` already. The packet was not queued, and the
    /// connection is closed as a slow consumer. (A broadcast returns `Ok`
    /// and closes such a connection the same way.)
    QueueFull,
    /// A broadcast reached the targeted sockets of this server, but not the
    /// other servers: the [`Adapter`](crate::adapter::Adapter) could not
    /// send it (for the Redis adapter: no connection to Redis, or its
    /// publish queue is full). The [`AdapterError`], also the
    /// [`source`](std::error::Error::source), says why. Nothing is retried:
    /// emit again to try again.
    Adapter(AdapterError),
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::Serialize(e) => write!(f, "cannot serialize the data: {e}"),
            EmitError::Disconnected => f.write_str("socket is disconnected"),
            EmitError::QueueFull => {
                f.write_str("the client reads too slowly (outgoing queue over max_buffered_bytes); connection closed")
            }
            EmitError::Adapter(_) => f.write_str(
                "sent to the sockets of this server only: the adapter could not send it to the other servers",
            ),
        }
    }
}

impl std::error::Error for EmitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EmitError::Adapter(e) => Some(e),
            _ => None,
        }
    }
}

impl From<AdapterError> for EmitError {
    fn from(e: AdapterError) -> Self {
        EmitError::Adapter(e)
    }
}

impl From<serde_json::Error> for EmitError {
    fn from(e: serde_json::Error) -> Self {
        EmitError::Serialize(e.to_string())
    }
}

/// Why waiting for an acknowledgement failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum AckError {
    /// No acknowledgement came within the timeout.
    Timeout(Duration),
    /// The acknowledgement could not be deserialized into the expected type.
    Decode(serde_json::Error),
    /// The socket disconnected before it acknowledged.
    Disconnected,
    /// The packet could not be sent.
    Emit(EmitError),
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AckError::Timeout(d) => write!(f, "no acknowledgement within {d:?}"),
            AckError::Decode(_) => f.write_str("cannot decode the acknowledgement"),
            AckError::Disconnected => f.write_str("socket disconnected before acknowledging"),
            AckError::Emit(_) => f.write_str("cannot send the packet"),
        }
    }
}

impl std::error::Error for AckError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AckError::Decode(e) => Some(e),
            AckError::Emit(e) => Some(e),
            _ => None,
        }
    }
}

/// An error a connect middleware or handler returns to refuse a client: it
/// reaches the client as `CONNECT_ERROR` with `message` and optional `data`
/// (the `connect_error` event of the JS client, with `err.data`).
///
/// ```
/// use socketio_axum::ConnectError;
/// let err = ConnectError::new("not authorized").with_data(serde_json::json!({"code": 401}));
/// assert_eq!(err.message(), "not authorized");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    message: String,
    data: Option<serde_json::Value>,
}

impl ConnectError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds data, sent to the client as `err.data`.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The data.
    pub fn data(&self) -> Option<&serde_json::Value> {
        self.data.as_ref()
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

impl From<String> for ConnectError {
    fn from(message: String) -> Self {
        ConnectError::new(message)
    }
}

impl From<&str> for ConnectError {
    fn from(message: &str) -> Self {
        ConnectError::new(message)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn an_adapter_failure_says_where_the_packet_went_and_chains_to_its_cause() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let adapter =
            AdapterError::unavailable("redis adapter: not connected to Redis").with_source(io);
        let err = EmitError::from(adapter.clone());

        assert_eq!(
            err.to_string(),
            "sent to the sockets of this server only: the adapter could not send it to the other servers"
        );
        let cause = err.source().map(ToString::to_string);
        assert_eq!(
            cause.as_deref(),
            Some("redis adapter: not connected to Redis")
        );
        let root = err
            .source()
            .and_then(|e| e.source())
            .map(ToString::to_string);
        assert_eq!(
            root,
            Some(std::io::Error::from(std::io::ErrorKind::ConnectionReset).to_string())
        );
        assert_eq!(
            EmitError::Disconnected.source().map(ToString::to_string),
            None
        );
        assert!(adapter.is_unavailable() && !adapter.is_queue_full() && !adapter.is_timeout());
    }

    #[test]
    fn adapter_errors_compare_by_kind_and_message_not_source() {
        let plain = AdapterError::timeout("no answer");
        let caused = AdapterError::timeout("no answer").with_source(std::fmt::Error);
        assert_eq!(plain, caused);
        assert_ne!(plain, AdapterError::new("no answer"));
        assert_ne!(plain, AdapterError::timeout("no reply"));
        assert!(AdapterError::queue_full("full").is_queue_full());
    }
}
