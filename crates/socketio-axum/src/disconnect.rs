use std::fmt;

use engineio_tower::CloseReason;

/// Why a socket left its namespace. The names are those of Node's socket.io.
///
/// ```
/// use socketio_axum::DisconnectReason;
/// assert_eq!(DisconnectReason::PingTimeout.to_string(), "ping timeout");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The connection was closed by the client (or the network).
    TransportClose,
    /// The connection failed (I/O error, payload over the limit, protocol violation).
    TransportError,
    /// The client stopped answering pings.
    PingTimeout,
    /// The client sent a packet that could not be decoded.
    ParseError,
    /// The server disconnected the socket ([`SocketRef::disconnect`](crate::SocketRef::disconnect)).
    ServerNamespaceDisconnect,
    /// The client left the namespace (`socket.disconnect()` on the client).
    ClientNamespaceDisconnect,
    /// The server is shutting down ([`SocketIo::close`](crate::SocketIo::close)).
    ServerShuttingDown,
    /// The client read too slowly: its connection's outgoing queue stayed at
    /// `max_buffered_packets` or more for `slow_consumer_timeout`, or an emit
    /// would have taken it past `max_buffered_bytes`. The connection is
    /// closed (the client sees `transport close` and reconnects).
    SlowConsumer,
    /// The server closed the whole connection.
    ForcedClose,
    /// A handler, extractor, middleware or hook of this socket panicked: the
    /// socket was disconnected (the client got a `DISCONNECT`, as for
    /// [`SocketRef::disconnect`](crate::SocketRef::disconnect)); the
    /// connection and its other sockets go on.
    HandlerPanicked,
}

impl DisconnectReason {
    /// The reason as Node's socket.io names it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::SlowConsumer => "slow consumer",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::HandlerPanicked => "handler panicked",
        }
    }
}

impl DisconnectReason {
    /// Whether connection state recovery keeps the socket's session (Node's
    /// list: the connection was lost or closed by the server, not the
    /// socket disconnected on purpose).
    pub(crate) fn recoverable(self) -> bool {
        matches!(
            self,
            DisconnectReason::TransportClose
                | DisconnectReason::TransportError
                | DisconnectReason::PingTimeout
                | DisconnectReason::ServerShuttingDown
                | DisconnectReason::ForcedClose
        )
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<CloseReason> for DisconnectReason {
    fn from(r: CloseReason) -> Self {
        match r {
            CloseReason::TransportClose => DisconnectReason::TransportClose,
            CloseReason::PingTimeout => DisconnectReason::PingTimeout,
            CloseReason::ParseError => DisconnectReason::ParseError,
            CloseReason::ServerShuttingDown => DisconnectReason::ServerShuttingDown,
            CloseReason::ForcedClose => DisconnectReason::ForcedClose,
            CloseReason::SlowConsumer => DisconnectReason::SlowConsumer,
            _ => DisconnectReason::TransportError,
        }
    }
}
