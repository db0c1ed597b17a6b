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
//!
//! When the adapter cannot reach the other servers, the operation still
//! happens on this server and its caller gets an [`AdapterError`]
//! ([`EmitError::Adapter`](crate::EmitError::Adapter) from an emit).

mod local;
mod rooms;
mod server_side;
mod session;

use std::{fmt, sync::Arc, time::Duration};

pub use local::{LocalNamespace, ServerSideEvent, WeakLocalNamespace};
pub use rooms::Room;
pub(crate) use rooms::{Rooms, SocketRooms};
use serde::{Deserialize, Serialize};
pub use server_side::ServerSideEmitError;
pub use session::{MemorySessionStore, RestoredSession, Session, SessionStore, Stored};
use socketio_protocol::socket::EncodedPacket;

use crate::{extract::RawArgs, handler::BoxFuture};

/// Which sockets an operation targets: members of any of `rooms` (every
/// socket when empty), except members of any of `except`.
///
/// New fields may be added: build one with [`new`](Self::new) (or
/// `Default`) and the `with_` methods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastOptions {
    /// Rooms targeted; none means every socket of the namespace.
    pub rooms: Vec<Room>,
    /// Rooms whose members are left out.
    pub except: Vec<Room>,
    /// The packet may be dropped for a socket that cannot take it at once.
    pub volatile: bool,
    /// Only sockets on this server.
    pub local: bool,
    /// Sent without WebSocket per-message compression, even where it is on
    /// (Node's `compress(false)`, `flags.compress` of its adapters'
    /// messages). False, the default, lets each server compress as it is
    /// configured.
    pub uncompressed: bool,
}

/// A socket as another server describes it (Node's `RemoteSocket` data).
/// New fields may be added: build one with [`new`](Self::new).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
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
/// New fields may be added: build one with [`new`](Self::new).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteAcks {
    /// How many clients the other servers reached (that many acks were expected).
    pub expected: usize,
    /// The acknowledgements that arrived in time.
    pub acks: Vec<RawArgs>,
}

impl BroadcastOptions {
    /// The members of any of `rooms` (every socket when empty), except the
    /// members of any of `except`.
    pub fn new(rooms: Vec<Room>, except: Vec<Room>) -> Self {
        BroadcastOptions {
            rooms,
            except,
            ..Default::default()
        }
    }

    /// Sets [`volatile`](Self::volatile).
    pub fn with_volatile(mut self, volatile: bool) -> Self {
        self.volatile = volatile;
        self
    }

    /// Sets [`local`](Self::local).
    pub fn with_local(mut self, local: bool) -> Self {
        self.local = local;
        self
    }

    /// Sets [`uncompressed`](Self::uncompressed): `true` is Node's
    /// `compress(false)`.
    pub fn with_uncompressed(mut self, uncompressed: bool) -> Self {
        self.uncompressed = uncompressed;
        self
    }
}

impl SocketData {
    /// A socket's description: its id, handshake (Node's shape), rooms and `data`.
    pub fn new(
        id: String,
        handshake: serde_json::Value,
        rooms: Vec<String>,
        data: serde_json::Value,
    ) -> Self {
        SocketData {
            id,
            handshake,
            rooms,
            data,
        }
    }
}

impl RemoteAcks {
    /// `acks` out of `expected` answers.
    pub fn new(expected: usize, acks: Vec<RawArgs>) -> Self {
        RemoteAcks { expected, acks }
    }
}

/// An adapter operation that could not reach the other servers.
///
/// An opaque error: [`is_unavailable`](Self::is_unavailable),
/// [`is_queue_full`](Self::is_queue_full) and [`is_timeout`](Self::is_timeout)
/// say what kind of failure it is, `Display` says what failed in the
/// adapter's words, and [`source`](std::error::Error::source) gives the
/// underlying error (for the Redis adapter, the Redis client's) when there
/// is one. Cheap to clone. Two errors are equal when they are of the same
/// kind with the same message; their sources are not compared.
///
/// An adapter (an implementation of [`NamespaceAdapter`]) makes them:
///
/// ```
/// use std::error::Error as _;
/// use socketio_axum::adapter::AdapterError;
///
/// let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
/// let err = AdapterError::unavailable("not connected to the broker").with_source(io);
/// assert!(err.is_unavailable());
/// assert_eq!(err.to_string(), "not connected to the broker");
/// assert!(err.source().is_some());
/// ```
#[derive(Clone)]
pub struct AdapterError {
    kind: AdapterErrorKind,
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AdapterErrorKind {
    Other,
    Unavailable,
    QueueFull,
    Timeout,
}

impl AdapterError {
    /// An error with a message, of no particular kind.
    pub fn new(message: impl Into<String>) -> Self {
        AdapterError {
            kind: AdapterErrorKind::Other,
            message: message.into(),
            source: None,
        }
    }

    /// The other servers cannot be reached at the moment (for example, the
    /// connection to the broker is down).
    pub fn unavailable(message: impl Into<String>) -> Self {
        AdapterError {
            kind: AdapterErrorKind::Unavailable,
            ..AdapterError::new(message)
        }
    }

    /// The adapter's queue of outgoing messages is full: this one was not
    /// sent.
    pub fn queue_full(message: impl Into<String>) -> Self {
        AdapterError {
            kind: AdapterErrorKind::QueueFull,
            ..AdapterError::new(message)
        }
    }

    /// No answer or confirmation came in time: what was sent may still
    /// arrive, or not.
    pub fn timeout(message: impl Into<String>) -> Self {
        AdapterError {
            kind: AdapterErrorKind::Timeout,
            ..AdapterError::new(message)
        }
    }

    /// The error that caused this one, returned by
    /// [`source`](std::error::Error::source).
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Made with [`unavailable`](Self::unavailable).
    pub fn is_unavailable(&self) -> bool {
        self.kind == AdapterErrorKind::Unavailable
    }

    /// Made with [`queue_full`](Self::queue_full).
    pub fn is_queue_full(&self) -> bool {
        self.kind == AdapterErrorKind::QueueFull
    }

    /// Made with [`timeout`](Self::timeout).
    pub fn is_timeout(&self) -> bool {
        self.kind == AdapterErrorKind::Timeout
    }
}

impl fmt::Debug for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("AdapterError");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AdapterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl PartialEq for AdapterError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for AdapterError {}

/// Makes the per-namespace adapters of a server.
pub trait Adapter: Send + Sync + 'static {
    /// Called once for each namespace when it is created on this server.
    fn namespace(&self, ns: LocalNamespace) -> Box<dyn NamespaceAdapter>;
}

/// One namespace's link to the other servers.
///
/// The operations that send without waiting for an answer (`broadcast`,
/// `add_sockets`, `del_sockets`, `disconnect_sockets`) must not block nor
/// wait: an adapter that sends later queues the message. They return `Err`
/// when the adapter knows at once that the message will not leave (no
/// connection, queue full); the caller has already applied the operation
/// to this server's sockets and passes the error on to the user. `Ok` means
/// the message was sent or queued, not that it arrived:
/// [`broadcast_published`](Self::broadcast_published) waits for that.
pub trait NamespaceAdapter: Send + Sync + 'static {
    /// Sends a broadcast to the other servers, or queues it.
    fn broadcast(
        &self,
        packet: &EncodedPacket,
        opts: &BroadcastOptions,
    ) -> Result<(), AdapterError>;

    /// Sends a broadcast to the other servers like
    /// [`broadcast`](Self::broadcast), and returns a future that resolves
    /// once the message was handed to the other servers' transport (for
    /// Redis: once Redis answered the `PUBLISH`), or with the error that
    /// kept it from them. The message is sent whether or not the future is
    /// polled.
    ///
    /// The default calls `broadcast` and resolves at once, which is right
    /// for an adapter that sends before `broadcast` returns; an adapter that
    /// queues must override it.
    fn broadcast_published(
        &self,
        packet: &EncodedPacket,
        opts: &BroadcastOptions,
    ) -> Result<BoxFuture<Result<(), AdapterError>>, AdapterError> {
        self.broadcast(packet, opts)?;
        Ok(Box::pin(std::future::ready(Ok(()))))
    }

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
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError>;

    /// Makes the matching sockets of the other servers leave `rooms`.
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError>;

    /// Disconnects the matching sockets of the other servers (their whole
    /// connection if `close`).
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) -> Result<(), AdapterError>;

    /// Emits an event to the other servers (not to clients); with `ack`,
    /// resolves with each server's answer within that time, or with the
    /// error and the answers that did arrive.
    fn server_side_emit(
        &self,
        event: &str,
        args: &RawArgs,
        ack: Option<Duration>,
    ) -> BoxFuture<Result<Vec<RawArgs>, ServerSideEmitError>>;

    /// The number of servers, this one included.
    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>>;

    /// The rooms of the namespace on every other server.
    fn all_rooms(&self) -> BoxFuture<Result<Vec<Room>, AdapterError>>;

    /// Where connection state recovery keeps sessions and packets when it
    /// is on; `None` (the default) for this server's memory
    /// ([`MemorySessionStore`]). An adapter that shares them between servers
    /// returns its own, with the server's `recovery` settings (called once
    /// per namespace, when recovery is on).
    fn session_store(
        &self,
        recovery: &crate::ConnectionStateRecovery,
    ) -> Option<Arc<dyn SessionStore>> {
        let _ = recovery;
        None
    }
}
