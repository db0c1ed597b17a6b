use std::{fmt, sync::Arc, time::Duration};

use bytes::BytesMut;
use engineio_tower::{Outbound, SendError};
use serde::{de::DeserializeOwned, Serialize};
use socketio_protocol::socket::{encode_disconnect, encode_event};

use crate::{
    ack::BroadcastAckFuture, adapter::Room, ns::Namespace, socket::outbound, trace,
    DisconnectReason, EmitError, SocketRef,
};

/// Room names: a `&str`, `String`, [`Room`], or an array, slice or `Vec` of them.
pub trait IntoRooms {
    /// The rooms.
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self.to_owned())]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for Room {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}

impl<T: IntoRooms + Clone> IntoRooms for &[T] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter()
            .cloned()
            .flat_map(IntoRooms::into_rooms)
            .collect()
    }
}

impl<T: IntoRooms> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}

impl<T: IntoRooms, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}

/// Selects sockets of a namespace and acts on them: emit, emit with
/// acknowledgements, join, leave, disconnect. Made by
/// [`SocketIo::to`](crate::SocketIo::to), [`SocketRef::broadcast`] and the like.
///
/// A socket in several of the targeted rooms is reached once.
///
/// ```
/// use socketio_axum::SocketIo;
///
/// fn notify(io: &SocketIo) {
///     let _ = io.to("news").except("muted").emit("headline", "Rust 2.0 released");
///     let _ = io.volatile().emit("tick", &42);
/// }
/// ```
#[derive(Clone)]
#[must_use = "operators do nothing until an action such as `emit` is called"]
pub struct BroadcastOperators {
    ns: Arc<Namespace>,
    rooms: Vec<Room>,
    except: Vec<Room>,
    volatile: bool,
    timeout: Option<Duration>,
}

impl fmt::Debug for BroadcastOperators {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastOperators")
            .field("ns", &self.ns.path)
            .field("rooms", &self.rooms)
            .field("except", &self.except)
            .field("volatile", &self.volatile)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl BroadcastOperators {
    pub(crate) fn new(ns: Arc<Namespace>) -> Self {
        BroadcastOperators {
            ns,
            rooms: Vec::new(),
            except: Vec::new(),
            volatile: false,
            timeout: None,
        }
    }

    /// Adds rooms to target (Node's `to`). Without any, every socket is targeted.
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        self.rooms.extend(rooms.into_rooms());
        self
    }

    /// Same as [`to`](Self::to) (Node's `in`).
    pub fn within(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Leaves out the sockets in `rooms`.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        self.except.extend(rooms.into_rooms());
        self
    }

    /// Only sockets on this server (the default until an adapter spans servers).
    pub fn local(self) -> Self {
        self
    }

    /// The packet may be dropped for a socket whose queue is full, instead of waiting.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Accepted for parity with Node; WebSocket per-message compression is
    /// not negotiated, so this changes nothing.
    pub fn compress(self, _compress: bool) -> Self {
        self
    }

    /// How long [`emit_with_ack`](Self::emit_with_ack) waits (default: the server's `ack_timeout`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The targeted sockets on this server.
    pub fn sockets(&self) -> Vec<SocketRef> {
        self.ns
            .rooms
            .targets(&self.rooms, &self.except)
            .into_iter()
            .filter_map(|sid| self.ns.sockets.get(&sid).map(|s| s.clone()))
            .collect()
    }

    /// The targeted sockets (Node's `fetchSockets`).
    pub async fn fetch_sockets(&self) -> Vec<SocketRef> {
        self.sockets()
    }

    /// Emits to every targeted socket; the packet is encoded once and its
    /// bytes shared. See [`SocketRef::emit`] for how `data` becomes arguments.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        let packet = encode_event(&mut BytesMut::new(), &self.ns.path, event, None, data)?;
        let out = outbound(packet);
        for socket in self.sockets() {
            self.deliver(&socket, out.clone());
        }
        Ok(())
    }

    /// Emits to every targeted socket and collects their acknowledgements
    /// until each answered or the timeout passed.
    pub fn emit_with_ack<T, R>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<BroadcastAckFuture<R>, EmitError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    {
        let id = self.ns.next_ack_id();
        let packet = encode_event(&mut BytesMut::new(), &self.ns.path, event, Some(id), data)?;
        let out = outbound(packet);
        let mut waiting = Vec::new();
        for socket in self.sockets() {
            let rx = socket.register_ack(id);
            self.deliver(&socket, out.clone());
            waiting.push((socket, id, rx));
        }
        let timeout = self.timeout.unwrap_or(self.ns.shared.config.ack_timeout);
        Ok(BroadcastAckFuture::new(waiting, timeout))
    }

    /// Makes the targeted sockets join `rooms`.
    pub fn join(&self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        for socket in self.sockets() {
            self.ns.rooms.join(socket.id(), &rooms);
        }
    }

    /// Makes the targeted sockets leave `rooms`.
    pub fn leave(&self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        for socket in self.sockets() {
            self.ns.rooms.leave(socket.id(), &rooms);
        }
    }

    /// Disconnects the targeted sockets from the namespace.
    pub fn disconnect(&self) {
        for socket in self.sockets() {
            socket.disconnect();
        }
    }

    /// Queues a broadcast packet for one socket. A full queue drops a volatile
    /// packet; otherwise the packet waits up to the slow-consumer timeout for
    /// room, after which the socket is disconnected. Nothing is dropped silently.
    fn deliver(&self, socket: &SocketRef, out: Outbound) {
        if !socket.connected() {
            return;
        }
        match socket.0.conn.try_send(out) {
            Ok(()) | Err(SendError::Closed(_)) => {}
            Err(SendError::Full(out)) if self.volatile => {
                let _ = out;
                trace::debug!(ns = %socket.ns(), sid = %socket.id(), "socket.io: volatile packet dropped, queue full");
            }
            Err(SendError::Full(out)) => {
                let socket = socket.clone();
                let wait = self.ns.shared.config.slow_consumer_timeout;
                tokio::spawn(async move {
                    let conn = socket.0.conn.clone();
                    if tokio::time::timeout(wait, conn.send_when_ready(out))
                        .await
                        .is_err()
                    {
                        trace::warn!(ns = %socket.ns(), sid = %socket.id(), ?wait, "socket.io: slow consumer disconnected");
                        let _ = conn.send(outbound(encode_disconnect(
                            &mut BytesMut::new(),
                            socket.ns(),
                        )));
                        socket.close(DisconnectReason::SlowConsumer);
                    }
                });
            }
        }
    }
}
