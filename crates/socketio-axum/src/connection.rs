//! The Engine.IO connection under a socket: Node's `socket.conn`.

use std::fmt;

use engineio_tower::{Sid, TransportType};

use crate::client::Conn;

/// The Engine.IO connection a socket runs on (Node's `socket.conn`), shared
/// by the client's sockets in every namespace. Got from
/// [`SocketRef::conn`](crate::SocketRef::conn); cheap to clone.
///
/// Its [`close`](Connection::close) is Node's `socket.conn.close()`: the
/// transport goes away without a Socket.IO `DISCONNECT`, so the official
/// client reports `"transport close"` and reconnects by itself, sending what
/// it buffered meanwhile; use it to shed load or to move clients after a
/// deploy. [`SocketRef::close_connection`](crate::SocketRef::close_connection)
/// (Node's `socket.disconnect(true)`) instead tells the client not to come back.
#[derive(Clone)]
pub struct Connection(pub(crate) Conn);

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.0.sid())
            .field("transport", &self.0.transport())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// The Engine.IO session id (Node's `socket.conn.id`).
    pub fn id(&self) -> Sid {
        self.0.sid()
    }

    /// The transport in use now: polling, or WebSocket after an upgrade
    /// (Node's `socket.conn.transport.name`).
    pub fn transport(&self) -> TransportType {
        self.0.transport()
    }

    /// Whether the connection is closed or closing.
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }

    /// Closes the connection without a Socket.IO `DISCONNECT` (Node's
    /// `socket.conn.close()`): what was already queued is still sent, then
    /// the transport closes; every socket of this client leaves with
    /// [`DisconnectReason::ForcedClose`](crate::DisconnectReason::ForcedClose),
    /// and the client, seeing `"transport close"`, reconnects.
    pub fn close(&self) {
        self.0.close();
    }
}
