//! Node's flags on one socket: `socket.volatile.emit`,
//! `socket.timeout(ms).emitWithAck`, `socket.compress(false).emit`, and
//! the chains that turn into broadcasts (`socket.volatile.to(room).emit`).

use std::time::Duration;

use bytes::BytesMut;
use serde::{de::DeserializeOwned, Serialize};
use socketio_protocol::socket::encode_event;

use crate::{extract::RawArgs, AckFuture, BroadcastOperators, EmitError, IntoRooms, SocketRef};

/// One socket with Node's emit flags set: made by [`SocketRef::volatile`],
/// [`SocketRef::timeout`] and [`SocketRef::compress`], chainable like
/// Node's `socket.volatile.timeout(ms)`. An action (`emit`,
/// `emit_with_ack`) sends to this socket; [`to`](Self::to),
/// [`except`](Self::except) and [`broadcast`](Self::broadcast) turn it into
/// a broadcast to the others that keeps the flags.
///
/// ```
/// use std::time::Duration;
/// use socketio_axum::SocketRef;
///
/// async fn on_tick(socket: SocketRef) {
///     // Dropped rather than queued when this client's queue is full.
///     let _ = socket.volatile().emit("position", &(10, 20));
///     // To the room but this socket, dropped for the slow ones.
///     let _ = socket.volatile().to("map").emit("moved", &(10, 20));
///     let answer = socket.timeout(Duration::from_secs(2)).emit_with_ack::<_, bool>("ready?", &()).await;
///     # let _ = answer;
/// }
/// ```
#[derive(Debug, Clone)]
#[must_use = "operators do nothing until an action such as `emit` is called"]
pub struct SocketOperators<'a> {
    socket: &'a SocketRef,
    volatile: bool,
    compress: bool,
    timeout: Option<Duration>,
}

impl<'a> SocketOperators<'a> {
    pub(crate) fn new(socket: &'a SocketRef) -> Self {
        SocketOperators {
            socket,
            volatile: false,
            compress: true,
            timeout: None,
        }
    }

    /// The packet is dropped instead of queued when this client's outgoing
    /// queue is at `max_buffered_packets` (Node's `socket.volatile`: for
    /// data whose next value replaces this one, such as positions).
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// How long [`emit_with_ack`](Self::emit_with_ack) waits (default: the
    /// server's `ack_timeout`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// With `false`, the packet is sent uncompressed even when WebSocket
    /// per-message compression is on (Node's `socket.compress(false)`); it
    /// carries over to [`broadcast`](Self::broadcast) and its kin.
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Emits `event` to this socket (see [`SocketRef::emit`] for the shape
    /// of `data`). A volatile packet that finds the queue full is dropped,
    /// with a `tracing` event, and the call returns `Ok`, as Node's does.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        let packet = encode_event(&mut BytesMut::new(), self.socket.ns(), event, None, data)?;
        self.socket
            .send_event(event, packet, self.volatile, self.compress)
    }

    /// Emits `event` with arguments as received (see [`RawArgs`]).
    pub fn emit_raw(&self, event: &str, args: RawArgs) -> Result<(), EmitError> {
        let packet = self.socket.raw_event(event, args);
        self.socket
            .send_event(event, packet, self.volatile, self.compress)
    }

    /// Emits `event` and waits for the acknowledgement, for the time set
    /// with [`timeout`](Self::timeout) or the server's `ack_timeout`; see
    /// [`SocketRef::emit_with_ack`]. (Volatile does not apply: a packet
    /// that waits for an answer is never dropped.)
    pub fn emit_with_ack<T, R>(&self, event: &str, data: &T) -> AckFuture<R>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    {
        let timeout = self
            .timeout
            .unwrap_or(self.socket.0.ns.shared.config.ack_timeout);
        self.socket.emit_with_ack_timeout(event, data, timeout)
    }

    /// Targets the sockets in `rooms` but this one, with these flags (Node's
    /// `socket.volatile.to(room)`).
    pub fn to(self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.broadcast().to(rooms)
    }

    /// Same as [`to`](Self::to).
    pub fn within(self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.to(rooms)
    }

    /// Targets every socket of the namespace but those in `rooms` and this
    /// one, with these flags.
    pub fn except(self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.broadcast().except(rooms)
    }

    /// Targets every socket of the namespace but this one, with these flags
    /// (Node's `socket.volatile.broadcast`).
    pub fn broadcast(self) -> BroadcastOperators {
        let mut ops = self.socket.broadcast();
        if self.volatile {
            ops = ops.volatile();
        }
        if let Some(t) = self.timeout {
            ops = ops.timeout(t);
        }
        ops.compress(self.compress)
    }
}
