use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::BytesMut;
use serde::{de::DeserializeOwned, Serialize};
use socketio_protocol::socket::{encode_event, encode_event_raw, EncodedPacket};

use crate::{
    ack::BroadcastAckFuture,
    adapter::{AdapterError, BroadcastOptions, NamespaceAdapter, Room},
    extract::RawArgs,
    handler::BoxFuture,
    ns::Namespace,
    remote_socket::RemoteSocket,
    EmitError, SocketRef,
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
/// A socket in several of the targeted rooms is reached once. With an
/// [`Adapter`](crate::adapter::Adapter), every action also reaches the other
/// servers unless [`local`](Self::local) is set.
///
/// An action is always applied to this server's sockets. When the adapter
/// cannot pass it on to the other servers (for the Redis adapter: Redis is
/// unreachable, or its publish queue is full), the action returns the
/// adapter's error: [`EmitError::Adapter`] from [`emit`](Self::emit), an
/// [`AdapterError`] from [`join`](Self::join), [`leave`](Self::leave) and
/// [`disconnect`](Self::disconnect). Without an adapter, or with `local`,
/// these never fail for that reason. [`emit_published`](Self::emit_published)
/// also waits until the adapter has sent the packet.
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
    opts: BroadcastOptions,
    timeout: Option<Duration>,
}

impl fmt::Debug for BroadcastOperators {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastOperators")
            .field("ns", &self.ns.path)
            .field("opts", &self.opts)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl BroadcastOperators {
    pub(crate) fn new(ns: Arc<Namespace>) -> Self {
        BroadcastOperators {
            ns,
            opts: BroadcastOptions::default(),
            timeout: None,
        }
    }

    /// Adds rooms to target (Node's `to`). Without any, every socket is targeted.
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.rooms.extend(rooms.into_rooms());
        self
    }

    /// Same as [`to`](Self::to) (Node's `in`).
    pub fn within(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Leaves out the sockets in `rooms`.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.except.extend(rooms.into_rooms());
        self
    }

    /// Only sockets on this server.
    pub fn local(mut self) -> Self {
        self.opts.local = true;
        self
    }

    /// The packet may be dropped for a socket whose queue is full, instead of waiting.
    pub fn volatile(mut self) -> Self {
        self.opts.volatile = true;
        self
    }

    /// With `false`, the packet is sent uncompressed even when WebSocket
    /// per-message compression is on (Node's `compress(false)`): to this
    /// server's sockets, and, through the adapter, to those of the other
    /// servers (see [`BroadcastOptions::uncompressed`]).
    pub fn compress(mut self, compress: bool) -> Self {
        self.opts.uncompressed = !compress;
        self
    }

    /// How long [`emit_with_ack`](Self::emit_with_ack) waits (default: the server's `ack_timeout`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    fn remote(&self) -> Option<&dyn NamespaceAdapter> {
        if self.opts.local {
            None
        } else {
            self.ns.remote()
        }
    }

    /// The targeted sockets on this server.
    pub fn sockets(&self) -> Vec<SocketRef> {
        self.ns.targets(&self.opts)
    }

    /// The targeted sockets on every server (Node's `fetchSockets`).
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        let mut out: Vec<RemoteSocket> = self
            .sockets()
            .into_iter()
            .map(|s| RemoteSocket::local(self.ns.clone(), s))
            .collect();
        if let Some(remote) = self.remote() {
            let others = remote.fetch_sockets(&self.opts).await?;
            out.extend(
                others
                    .into_iter()
                    .map(|d| RemoteSocket::remote(self.ns.clone(), d)),
            );
        }
        Ok(out)
    }

    /// Emits to every targeted socket; the packet is encoded once and its
    /// bytes shared. See [`SocketRef::emit`] for how `data` becomes arguments.
    ///
    /// Fails with [`EmitError::Serialize`] before anything is sent, or with
    /// [`EmitError::Adapter`] when the adapter could not send the packet to
    /// the other servers: this server's targeted sockets got it all the
    /// same. `Ok` means the packet was delivered here and handed to the
    /// adapter, which may still lose it (for example if Redis goes away
    /// before the packet is published); [`emit_published`](Self::emit_published)
    /// says when it was sent.
    ///
    /// ```
    /// use socketio_axum::{EmitError, SocketIo};
    ///
    /// fn headline(io: &SocketIo, text: &str) {
    ///     match io.to("news").emit("headline", text) {
    ///         Ok(()) => {}
    ///         // Members of "news" on this server got it, those on other servers did not.
    ///         Err(EmitError::Adapter(e)) => eprintln!("headline not sent to other servers: {e}"),
    ///         Err(e) => eprintln!("headline not sent: {e}"),
    ///     }
    /// }
    /// ```
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        let packet = encode_event(&mut BytesMut::new(), &self.ns.path, event, None, data)?;
        self.send(packet)
    }

    /// Emits `event` to every targeted socket with arguments as received
    /// (see [`RawArgs`]), without decoding or encoding them. Fails as
    /// [`emit`](Self::emit) does.
    pub fn emit_raw(&self, event: &str, args: RawArgs) -> Result<(), EmitError> {
        let packet = encode_event_raw(
            &mut BytesMut::new(),
            &self.ns.path,
            event,
            None,
            &args.args,
            args.attachments,
        );
        self.send(packet)
    }

    fn send(&self, packet: EncodedPacket) -> Result<(), EmitError> {
        let remote = self.remote().map(|r| r.broadcast(&packet, &self.opts));
        // A store that takes the packet over reports its own failures.
        let _stored = self.ns.emit_here(packet, &self.opts)?;
        match remote {
            Some(Err(e)) => Err(EmitError::Adapter(e)),
            _ => Ok(()),
        }
    }

    /// Emits like [`emit`](Self::emit), and returns a future that resolves
    /// once the adapter has sent the packet to the other servers (for the
    /// Redis adapter: once Redis accepted the `PUBLISH`), or with the
    /// [`AdapterError`] that kept it from them. Without an adapter, or with
    /// [`local`](Self::local), it resolves at once.
    ///
    /// Errors known at once come back at once, as from `emit`:
    /// [`EmitError::Adapter`] means this server's sockets got the packet and
    /// the other servers did not. An error from the future means the same,
    /// except for a timeout ([`AdapterError::is_timeout`]): the message may
    /// still reach them. The packet is sent whether or not the future is
    /// awaited. With an adapter, this costs a channel and a boxed future
    /// per call that `emit` does not make.
    ///
    /// ```
    /// use socketio_axum::{EmitError, SocketIo};
    ///
    /// async fn announce(io: &SocketIo) -> Result<(), EmitError> {
    ///     io.to("ops").emit_published("deploy", "v2")?.await?;
    ///     Ok(()) // on every server's transport
    /// }
    /// ```
    pub fn emit_published<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<PublishFuture, EmitError> {
        let packet = encode_event(&mut BytesMut::new(), &self.ns.path, event, None, data)?;
        let remote = self
            .remote()
            .map(|r| r.broadcast_published(&packet, &self.opts));
        let stored = self.ns.emit_here(packet, &self.opts)?;
        match remote {
            Some(Err(e)) => Err(EmitError::Adapter(e)),
            // A store shared by servers publishes the packet itself.
            _ if stored.is_some() => Ok(PublishFuture { inner: stored }),
            None => Ok(PublishFuture { inner: None }),
            Some(Ok(published)) => Ok(PublishFuture {
                inner: Some(published),
            }),
        }
    }

    /// Emits to every targeted socket and collects their acknowledgements
    /// (on every server) until each answered or the timeout passed.
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
        let timeout = self.timeout.unwrap_or(self.ns.shared.config.ack_timeout);
        let remote = self
            .remote()
            .map(|r| r.broadcast_with_ack(&packet, &self.opts, timeout));
        let text = self.ns.observed(&packet);
        let out = crate::parser::compressed(self.ns.outbound(packet)?, !self.opts.uncompressed);
        let mut waiting = Vec::new();
        for socket in self.sockets() {
            let rx = socket.register_ack(id);
            if self.ns.deliver(&socket, out.clone(), self.opts.volatile) {
                if let (Some(o), Some(text)) = (self.ns.shared.observer.get(), &text) {
                    o.event_sent(&self.ns.path, socket.id(), text);
                }
            }
            waiting.push((socket, id, rx));
        }
        Ok(BroadcastAckFuture::new(waiting, remote, timeout))
    }

    /// Makes the targeted sockets join `rooms`. The sockets of this server
    /// always join; `Err` says that the adapter could not ask the other
    /// servers to do the same (never without an adapter).
    pub fn join(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        let rooms = rooms.into_rooms();
        let remote = self.remote().map(|r| r.add_sockets(&self.opts, &rooms));
        self.ns.join_targets(&self.opts, &rooms);
        remote.unwrap_or(Ok(()))
    }

    /// Makes the targeted sockets leave `rooms`. The sockets of this server
    /// always leave; `Err` says that the adapter could not ask the other
    /// servers to do the same (never without an adapter).
    pub fn leave(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        let rooms = rooms.into_rooms();
        let remote = self.remote().map(|r| r.del_sockets(&self.opts, &rooms));
        self.ns.leave_targets(&self.opts, &rooms);
        remote.unwrap_or(Ok(()))
    }

    /// Disconnects the targeted sockets from the namespace. The sockets of
    /// this server are always disconnected; `Err` says that the adapter
    /// could not ask the other servers to do the same (never without an
    /// adapter).
    pub fn disconnect(&self) -> Result<(), AdapterError> {
        let remote = self
            .remote()
            .map(|r| r.disconnect_sockets(&self.opts, false));
        for socket in self.sockets() {
            socket.disconnect();
        }
        remote.unwrap_or(Ok(()))
    }
}

/// Resolves once the adapter has sent a broadcast made with
/// [`BroadcastOperators::emit_published`] to the other servers, or with the
/// [`AdapterError`] that kept it from them. Dropping it does not cancel the
/// broadcast.
#[must_use = "the result says whether the other servers were reached"]
pub struct PublishFuture {
    inner: Option<BoxFuture<Result<(), AdapterError>>>,
}

impl fmt::Debug for PublishFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishFuture")
            .field("remote", &self.inner.is_some())
            .finish()
    }
}

impl Future for PublishFuture {
    type Output = Result<(), AdapterError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.inner.as_mut() {
            Some(published) => published.as_mut().poll(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}
