use std::fmt;

/// Why a socket was disconnected, with the names of the JS client.
///
/// ```
/// use socketio_client::DisconnectReason;
///
/// assert_eq!(DisconnectReason::PingTimeout.to_string(), "ping timeout");
/// assert!(DisconnectReason::TransportClose.is_reconnectable());
/// assert!(!DisconnectReason::IoClientDisconnect.is_reconnectable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server disconnected the socket (a `DISCONNECT` packet). The
    /// client does not reconnect this socket by itself.
    IoServerDisconnect,
    /// The socket was disconnected with [`Socket::disconnect`](crate::Socket::disconnect)
    /// or [`Client::disconnect`](crate::Client::disconnect). No reconnection follows.
    IoClientDisconnect,
    /// The server sent no ping within `pingInterval + pingTimeout`.
    PingTimeout,
    /// The connection was closed (by the server, or the network).
    TransportClose,
    /// The connection failed (I/O error, HTTP error status).
    TransportError,
    /// The server sent a packet that could not be decoded.
    ParseError,
}

impl DisconnectReason {
    /// The reason as the JS client names it.
    ///
    /// ```
    /// use socketio_client::DisconnectReason;
    /// assert_eq!(DisconnectReason::IoServerDisconnect.as_str(), "io server disconnect");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::IoServerDisconnect => "io server disconnect",
            DisconnectReason::IoClientDisconnect => "io client disconnect",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::ParseError => "parse error",
        }
    }

    /// Whether the client reconnects after this (when reconnection is
    /// enabled): everything but a deliberate disconnection by either side.
    ///
    /// ```
    /// use socketio_client::DisconnectReason;
    /// assert!(DisconnectReason::PingTimeout.is_reconnectable());
    /// assert!(!DisconnectReason::IoServerDisconnect.is_reconnectable());
    /// ```
    pub fn is_reconnectable(self) -> bool {
        !matches!(
            self,
            DisconnectReason::IoServerDisconnect | DisconnectReason::IoClientDisconnect
        )
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
