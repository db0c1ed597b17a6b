//! What the server tells an observer of its life: sessions, sockets,
//! rooms, events. The Admin UI instrumentation (`admin/`, feature
//! `admin-ui`) is the one observer; the hooks sit where Node's
//! `@socket.io/admin-ui` listens (engine `connection`, `upgrade`, `close`,
//! `packet`; a namespace's `connection`; a socket's `onAny`,
//! `onAnyOutgoing` and `disconnect`; the adapter's `join-room` and
//! `leave-room`).
//!
//! Without an observer each hook is one atomic load and a branch. An
//! observer must not block and must not call back into the server from a
//! hook (some run under a namespace's map locks): it records, or queues
//! the work for a task of its own.

use std::sync::{Arc, OnceLock};

use engineio_tower::{CloseReason, Sid};
use socketio_protocol::Str;

use crate::{client::Conn, DisconnectReason, SocketRef};

/// The hooks, each a no-op unless implemented.
#[allow(unused_variables)]
pub(crate) trait Observer: Send + Sync + 'static {
    /// An Engine.IO session opened.
    fn connection_opened(&self, conn: &Conn) {}
    /// Whether [`connection_upgraded`](Self::connection_upgraded) is wanted
    /// (it costs a list of the connection's sockets).
    fn wants_upgrades(&self) -> bool {
        false
    }
    /// A session moved from polling to WebSocket; `sockets` are its namespaces' sockets.
    fn connection_upgraded(&self, conn: &Conn, sockets: &[SocketRef]) {}
    /// A session closed.
    fn connection_closed(&self, conn: &Conn, reason: CloseReason) {}
    /// A message of `len` bytes arrived from a client (a text message's
    /// without the Engine.IO type byte `4`).
    fn message_received(&self, len: usize) {}
    /// A socket joined its namespace (its CONNECT answer is queued).
    fn socket_connected(&self, socket: &SocketRef) {}
    /// A socket left its namespace and its rooms.
    fn socket_disconnected(&self, socket: &SocketRef, reason: DisconnectReason) {}
    /// [`SocketRef::set_data`] was called.
    fn data_updated(&self, socket: &SocketRef) {}
    /// A socket of namespace `ns` became a member of `room` (not its own room).
    fn room_joined(&self, ns: &Str, room: &str, sid: Sid) {}
    /// A socket of namespace `ns` stopped being a member of `room`.
    fn room_left(&self, ns: &Str, room: &str, sid: Sid) {}
    /// An event packet from the socket's client, before its handler runs.
    fn event_received(&self, socket: &SocketRef, event: &Str, args: &Str) {}
    /// An event packet (`text`: the Engine.IO message, `4` then the
    /// Socket.IO packet) was queued for socket `sid` of namespace `ns`.
    fn event_sent(&self, ns: &Str, sid: Sid, text: &Str) {}
    /// `data` is the socket's `data` as `fetch_sockets` shows it to other
    /// servers (not to this server's own callers); the observer may add to it.
    fn describe(&self, socket: &SocketRef, data: &mut serde_json::Value) {}
}

/// The server's observer, set at most once.
#[derive(Default)]
pub(crate) struct ObserverCell(OnceLock<Arc<dyn Observer>>);

impl ObserverCell {
    /// The observer, if one is set.
    #[inline]
    pub(crate) fn get(&self) -> Option<&dyn Observer> {
        self.0.get().map(|o| &**o)
    }

    /// Sets the observer; false if one is set already.
    #[cfg_attr(not(feature = "admin-ui"), allow(dead_code))]
    pub(crate) fn set(&self, observer: Arc<dyn Observer>) -> bool {
        self.0.set(observer).is_ok()
    }
}
