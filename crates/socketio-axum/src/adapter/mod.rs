//! Where rooms live, and how a namespace spans servers.
//!
//! Each namespace keeps its rooms in an in-memory concurrent index on this
//! server. An [`Adapter`] (set with
//! [`SocketIoBuilder::adapter`](crate::SocketIoBuilder::adapter)) extends a
//! namespace to other servers: every operation that targets sockets
//! (broadcast, broadcast with acks, join, leave, disconnect, fetch) is
//! applied here and handed to the namespace's [`NamespaceAdapter`] to reach
//! the others, unless it is `local`. The adapter applies what other servers
//! send through a [`LocalNamespace`]. Without an adapter, everything is local.

mod local;
mod rooms;

use std::{fmt, time::Duration};

pub use local::{LocalNamespace, ServerSideEvent, WeakLocalNamespace};
pub use rooms::Room;
pub(crate) use rooms::Rooms;
use serde::{Deserialize, Serialize};
use socketio_protocol::socket::EncodedPacket;

use crate::{extract::RawArgs, handler::BoxFuture};

/// Which sockets an operation targets: members of any of `rooms` (every
/// socket when empty), except members of any of `except`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    /// Rooms targeted; none means every socket of the namespace.
    pub rooms: Vec<Room>,
    /// Rooms whose members are left out.
    pub except: Vec<Room>,
    /// The packet may be dropped for a socket that cannot take it at once.
    pub volatile: bool,
    /// Only sockets on this server.
    pub local: bool,
}

/// A socket as another server describes it (Node's `RemoteSocket` data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocketData {
    /// The socket id.
    pub id: String,
    /// The handshake, in Node's shape (`headers`, `query`, `auth`, `url`, `issued`...).
    pub handshake: serde_json::Value,
    /// The rooms the socket is in.
    pub rooms: Vec<String>,
    /// The socket's `data` (Node's `socket.data`).
    #[serde(default)]
    pub data: serde_json::Value,
}

/// The acknowledgements of a broadcast from the other servers' clients.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteAcks {
    /// How many clients the other servers reached (that many acks were expected).
    pub expected: usize,
    /// The acknowledgements that arrived in time.
    pub acks: Vec<RawArgs>,
}

/// An adapter operation that could not reach the other servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterError(String);

impl AdapterError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        AdapterError(message.into())
    }
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AdapterError {}

/// Makes the per-namespace adapters of a server.
pub trait Adapter: Send + Sync + 'static {
    /// Called once for each namespace when it is created on this server.
    fn namespace(&self, ns: LocalNamespace) -> Box<dyn NamespaceAdapter>;
}

/// One namespace's link to the other servers. Methods that return nothing
/// must not block: they queue their work (and log failures).
pub trait NamespaceAdapter: Send + Sync + 'static {
    /// Sends a broadcast to the other servers.
    fn broadcast(&self, packet: &EncodedPacket, opts: &BroadcastOptions);

    /// Sends a broadcast that expects acknowledgements; resolves with every
    /// acknowledgement the other servers' clients sent within `timeout`.
    fn broadcast_with_ack(
        &self,
        packet: &EncodedPacket,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<Result<RemoteAcks, AdapterError>>;

    /// The matching sockets of the other servers.
    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketData>, AdapterError>>;

    /// Makes the matching sockets of the other servers join `rooms`.
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]);

    /// Makes the matching sockets of the other servers leave `rooms`.
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]);

    /// Disconnects the matching sockets of the other servers (their whole
    /// connection if `close`).
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool);

    /// Emits an event to the other servers (not to clients); with `ack`,
    /// resolves with each server's answer within that time.
    fn server_side_emit(
        &self,
        event: &str,
        args: &RawArgs,
        ack: Option<Duration>,
    ) -> BoxFuture<Result<Vec<RawArgs>, AdapterError>>;

    /// The number of servers, this one included.
    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>>;

    /// The rooms of the namespace on every other server.
    fn all_rooms(&self) -> BoxFuture<Result<Vec<Room>, AdapterError>>;
}
