use std::{
    collections::HashSet,
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, OnceLock, RwLock, Weak,
    },
};

use dashmap::DashMap;
use socketio_protocol::{
    engine::{Sid, SidBuildHasher},
    socket::{AckId, EncodedPacket},
    Str,
};

use engineio_tower::{Outbound, SendError};

use crate::metrics::NsMetrics;

use crate::{
    adapter::{
        Adapter, AdapterError, BroadcastOptions, LocalNamespace, MemorySessionStore,
        NamespaceAdapter, Room, Rooms, ServerSideEvent, SessionStore, SocketRooms, Stored,
    },
    extract::ConnectParts,
    handler::{
        self, BoxFuture, BoxedConnectHandler, BoxedMiddleware, ConnectHandler, ConnectMiddleware,
    },
    io::ServerInner,
    read, trace, write, SocketIo, SocketIoConfig, SocketRef,
};

/// What the server shares with its namespaces.
pub(crate) struct Shared {
    pub(crate) config: SocketIoConfig,
    pub(crate) state: http::Extensions,
    pub(crate) middlewares: RwLock<Vec<BoxedMiddleware>>,
    pub(crate) adapter: Option<Arc<dyn Adapter>>,
    /// The handler of server-side events of the main namespace.
    pub(crate) server_side: RwLock<Option<ServerSideHandler>>,
    pub(crate) metrics: crate::metrics::Metrics,
    pub(crate) observer: crate::observe::ObserverCell,
}

pub(crate) type ServerSideHandler = Arc<dyn Fn(ServerSideEvent) + Send + Sync>;

/// The handlers of a namespace; a dynamic namespace's children share them.
pub(crate) struct NsHandlers {
    pub(crate) connect: BoxedConnectHandler,
    pub(crate) middlewares: RwLock<Vec<BoxedMiddleware>>,
}

/// A namespace on this server: its sockets and rooms.
pub(crate) struct Namespace {
    pub(crate) path: Str,
    pub(crate) handlers: Arc<NsHandlers>,
    pub(crate) sockets: DashMap<Sid, SocketRef, SidBuildHasher>,
    pub(crate) rooms: Rooms,
    pub(crate) shared: Arc<Shared>,
    pub(crate) server: Weak<ServerInner>,
    /// Whether this is a child of a dynamic namespace, removed when empty if configured.
    pub(crate) dynamic: bool,
    pub(crate) metrics: NsMetrics,
    next_ack: AtomicU64,
    remote: OnceLock<Box<dyn NamespaceAdapter>>,
    /// Connection state recovery's store, set when it is on.
    sessions: OnceLock<Arc<dyn SessionStore>>,
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("path", &self.path)
            .field("sockets", &self.sockets.len())
            .finish_non_exhaustive()
    }
}

impl Namespace {
    /// The queue item for a packet, in the server's parser.
    pub(crate) fn outbound(&self, packet: EncodedPacket) -> Result<Outbound, crate::EmitError> {
        crate::parser::outbound(self.shared.config.parser, packet)
    }

    pub(crate) fn new(
        path: Str,
        handlers: Arc<NsHandlers>,
        shared: Arc<Shared>,
        server: Weak<ServerInner>,
        dynamic: bool,
    ) -> Arc<Namespace> {
        let adapter = shared.adapter.clone();
        let metrics = shared.metrics.namespace(&path);
        let ns = Arc::new(Namespace {
            path,
            handlers,
            sockets: DashMap::default(),
            rooms: Rooms::new(metrics.clone()),
            metrics,
            shared,
            server,
            dynamic,
            next_ack: AtomicU64::new(0),
            remote: OnceLock::new(),
            sessions: OnceLock::new(),
        });
        if let Some(adapter) = adapter {
            let _ = ns.remote.set(adapter.namespace(LocalNamespace(ns.clone())));
        }
        if let Some(recovery) = ns.shared.config.recovery {
            let store = ns
                .remote()
                .and_then(|r| r.session_store(&recovery))
                .unwrap_or_else(|| Arc::new(MemorySessionStore::new(recovery)));
            let _ = ns.sessions.set(store);
        }
        ns
    }

    /// Connection state recovery's store, when it is on.
    pub(crate) fn sessions(&self) -> Option<&dyn SessionStore> {
        self.sessions.get().map(|s| &**s)
    }

    /// Emits an event packet (without acknowledgement) to the sockets on
    /// this server that `opts` targets. With connection state recovery on,
    /// a non-volatile one goes through the store first, which gives it its
    /// offset, or takes it over ([`Stored::Later`]: the future of its
    /// storing comes back, and the store delivers it itself).
    pub(crate) fn emit_here(
        &self,
        packet: EncodedPacket,
        opts: &BroadcastOptions,
    ) -> Result<Option<BoxFuture<Result<(), AdapterError>>>, crate::EmitError> {
        let packet = match self.sessions.get() {
            Some(store) if !opts.volatile => match store.store(packet, opts) {
                Stored::Now(packet) => packet,
                Stored::Later(stored) => return Ok(Some(stored)),
                Stored::Failed { packet, error } => {
                    self.emit_stored(packet, opts)?;
                    return Err(crate::EmitError::Adapter(error));
                }
            },
            _ => packet,
        };
        self.emit_stored(packet, opts)?;
        Ok(None)
    }

    /// Emits an event packet to the sockets on this server that `opts`
    /// targets, as it is (with its offset if it has one), uncompressed when
    /// `opts` says so.
    pub(crate) fn emit_stored(
        &self,
        packet: EncodedPacket,
        opts: &BroadcastOptions,
    ) -> Result<(), crate::EmitError> {
        let text = self.observed(&packet);
        let out = crate::parser::compressed(self.outbound(packet)?, !opts.uncompressed);
        self.broadcast_local(&out, opts, text.as_ref());
        Ok(())
    }

    /// The link to other servers, if an adapter is configured.
    pub(crate) fn remote(&self) -> Option<&dyn NamespaceAdapter> {
        self.remote.get().map(|r| &**r)
    }

    /// The sockets on this server that `opts` targets.
    pub(crate) fn targets(&self, opts: &BroadcastOptions) -> Vec<SocketRef> {
        let mut out = Vec::new();
        self.for_each_target(opts, |_, s| out.push(s.clone()));
        out
    }

    /// The sockets on this server that `opts` targets join `rooms` (a
    /// server-side join, Node's `socketsJoin`): each target's own list of
    /// rooms is written as the targets are walked, then each room's set
    /// once for all of them.
    pub(crate) fn join_targets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        let targets = |add: &mut dyn FnMut(Sid, &SocketRooms)| {
            self.for_each_target(opts, |sid, socket| add(sid, &socket.0.rooms));
        };
        let listed = |sid: Sid, room: &str| {
            self.sockets
                .get(&sid)
                .is_some_and(|socket| socket.0.rooms.contains(room))
        };
        match self.shared.observer.get() {
            None => self.rooms.join_many(rooms, targets, listed, |_, _| {}),
            Some(o) => self.rooms.join_many(rooms, targets, listed, |room, fresh| {
                for sid in fresh {
                    o.room_joined(&self.path, room, *sid);
                }
            }),
        }
    }

    /// The sockets on this server that `opts` targets leave `rooms`.
    pub(crate) fn leave_targets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        let mut sockets = Vec::new();
        self.for_each_target(opts, |_, socket| sockets.push(socket.clone()));
        for socket in &sockets {
            self.leave(socket, rooms);
        }
    }

    /// Calls `f` with each socket on this server that `opts` targets, and
    /// its id, without collecting them first. `f` runs under the maps' read
    /// locks: it must not join, leave or add sockets, which lock them
    /// (delivering is fine, and so is a socket's own list of rooms, which
    /// no map holds).
    pub(crate) fn for_each_target(
        &self,
        opts: &BroadcastOptions,
        mut f: impl FnMut(Sid, &SocketRef),
    ) {
        // Members of the `except` rooms; none collected in the common case of
        // no exception, and no room lookup for `socket.broadcast()`, whose
        // exception is the sender's own room.
        let excluded: Option<HashSet<Sid>> = (!opts.except.is_empty()).then(|| {
            let mut out = HashSet::new();
            for room in &opts.except {
                if let Ok(sid) = room.parse::<Sid>() {
                    out.insert(sid);
                }
                self.rooms.for_each_member(room, |sid| {
                    out.insert(sid);
                });
            }
            out
        });
        let kept = |sid: &Sid| !excluded.as_ref().is_some_and(|x| x.contains(sid));
        if opts.rooms.is_empty() {
            for entry in self.sockets.iter() {
                if kept(entry.key()) {
                    f(*entry.key(), entry.value());
                }
            }
            return;
        }
        let mut visit = |sid: Sid| {
            if kept(&sid) {
                if let Some(socket) = self.sockets.get(&sid) {
                    f(sid, &socket);
                }
            }
        };
        if let [room] = opts.rooms.as_slice() {
            let own = self.own_room(room);
            if let Some(sid) = own {
                visit(sid);
            }
            self.rooms.for_each_member(room, |sid| {
                if Some(sid) != own {
                    visit(sid);
                }
            });
            return;
        }
        let mut seen = HashSet::new();
        for room in &opts.rooms {
            if let Some(sid) = self.own_room(room) {
                if seen.insert(sid) {
                    visit(sid);
                }
            }
            self.rooms.for_each_member(room, |sid| {
                if seen.insert(sid) {
                    visit(sid);
                }
            });
        }
    }

    /// Delivers an encoded packet to every socket on this server that `opts` targets.
    /// `text` is the packet's text, for the observer (`None` when no
    /// observer is set, see [`observed`](Self::observed)).
    pub(crate) fn broadcast_local(
        &self,
        out: &Outbound,
        opts: &BroadcastOptions,
        text: Option<&Str>,
    ) {
        match (self.shared.observer.get(), text) {
            (Some(o), Some(text)) => self.for_each_target(opts, |_, socket| {
                if self.deliver(socket, out.clone(), opts.volatile) {
                    o.event_sent(&self.path, socket.id(), text);
                }
            }),
            _ => self.for_each_target(opts, |_, socket| {
                self.deliver(socket, out.clone(), opts.volatile);
            }),
        }
    }

    /// A copy of a packet's text (a reference count) when an observer
    /// wants it, `None` otherwise.
    pub(crate) fn observed(&self, packet: &EncodedPacket) -> Option<Str> {
        self.shared.observer.get().map(|_| packet.text.clone())
    }

    /// Queues a broadcast packet for one socket, behind whatever its
    /// connection has queued (so packets leave in the order they were
    /// emitted). A volatile packet is dropped when `max_buffered_packets` are
    /// queued; any packet that would take the queue past `max_buffered_bytes`
    /// closes the connection as a slow consumer (the engine does, and says
    /// so). Nothing waits per packet.
    /// Whether the packet was queued.
    pub(crate) fn deliver(&self, socket: &SocketRef, out: Outbound, volatile: bool) -> bool {
        if !socket.connected() {
            return false;
        }
        let conn = &socket.0.conn;
        let sent = if volatile {
            conn.try_send(out)
        } else {
            conn.send(out)
        };
        match sent {
            Ok(()) => {
                self.metrics.event_sent();
                return true;
            }
            Err(SendError::Full(_)) if volatile => {
                self.metrics.volatile_dropped();
                trace::debug!(ns = %socket.ns(), sid = %socket.id(), "socket.io: volatile packet dropped, queue full");
            }
            Err(_) => {}
        }
        false
    }

    /// An event from another server.
    pub(crate) fn on_server_side_event(&self, event: ServerSideEvent) {
        // Only the main namespace has a handler (`SocketIo::on_server_side`).
        let handler = match self.path.as_str() {
            "/" => read(&self.shared.server_side).clone(),
            _ => None,
        };
        match handler {
            Some(handler) => {
                let name = event.event.clone();
                // Called from the adapter's task: a panic must not end it.
                if let Err(p) = crate::panic::catch(|| handler(event)) {
                    trace::error!(ns = %self.path, event = %name, panic = %p, "socket.io: a server-side event handler panicked");
                }
            }
            None => {
                trace::debug!(ns = %self.path, event = event.event(), "socket.io: server-side event with no handler")
            }
        }
    }

    /// Acknowledgement ids come from the namespace, as in Node, so that a
    /// broadcast with acks and a socket's own emits never share one.
    pub(crate) fn next_ack_id(&self) -> AckId {
        self.next_ack.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn io(&self) -> SocketIo {
        match self.server.upgrade() {
            Some(inner) => SocketIo { inner },
            // Only reachable while the server is being dropped.
            None => SocketIo::detached(self.shared.clone()),
        }
    }

    /// The socket passed the middlewares: it joins the namespace, and so
    /// the room named after its id.
    pub(crate) fn insert(&self, socket: &SocketRef) {
        if self.sockets.insert(socket.id(), socket.clone()).is_none() {
            self.metrics.sockets(1.0);
        }
    }

    /// The socket whose own room `room` is, if it is in this namespace here.
    fn own_room(&self, room: &str) -> Option<Sid> {
        room.parse::<Sid>()
            .ok()
            .filter(|sid| self.sockets.contains_key(sid))
    }

    /// Every room with a member here: those joined, and each socket's own.
    pub(crate) fn all_rooms(&self) -> Vec<Room> {
        let mut rooms = self.rooms.all();
        rooms.extend(self.sockets.iter().map(|s| Room::from(s.key().to_string())));
        rooms
    }

    /// How many sockets of this server are in `room` (a socket's own room
    /// holds that socket).
    pub(crate) fn room_len(&self, room: &str) -> usize {
        match self.rooms.len_of(room) {
            0 => usize::from(self.own_room(room).is_some()),
            n => n,
        }
    }

    /// Whether `room` has a member here.
    pub(crate) fn has_room(&self, room: &str) -> bool {
        self.rooms.contains(room) || self.own_room(room).is_some()
    }

    /// `socket` joins `rooms` (the observer hears of each new membership).
    pub(crate) fn join(&self, socket: &SocketRef, rooms: &[Room]) {
        let (sid, own) = (socket.id(), &socket.0.rooms);
        match self.shared.observer.get() {
            None => self.rooms.join(sid, own, rooms, |_| {}),
            Some(o) => self
                .rooms
                .join(sid, own, rooms, |room| o.room_joined(&self.path, room, sid)),
        }
    }

    /// `socket` leaves `rooms` (the observer hears of each membership
    /// ended).
    pub(crate) fn leave(&self, socket: &SocketRef, rooms: &[Room]) {
        let (sid, own) = (socket.id(), &socket.0.rooms);
        match self.shared.observer.get() {
            None => self.rooms.leave(sid, own, rooms, |_| {}),
            Some(o) => self
                .rooms
                .leave(sid, own, rooms, |room| o.room_left(&self.path, room, sid)),
        }
    }

    /// `socket` leaves every room it joined; once it is `closing` (it left
    /// for good), it joins none again.
    pub(crate) fn leave_all(&self, socket: &SocketRef, closing: bool) {
        let (sid, own) = (socket.id(), &socket.0.rooms);
        match self.shared.observer.get() {
            None => self.rooms.leave_all(sid, own, closing, |_| {}),
            Some(o) => self
                .rooms
                .leave_all(sid, own, closing, |room| o.room_left(&self.path, room, sid)),
        }
    }

    /// The socket left: it leaves the namespace and every room.
    pub(crate) fn remove(&self, socket: &SocketRef) {
        self.leave_all(socket, true);
        if self.sockets.remove(&socket.id()).is_some() {
            self.metrics.sockets(-1.0);
        }
        if self.dynamic && self.shared.config.cleanup_empty_children && self.sockets.is_empty() {
            if let Some(server) = self.server.upgrade() {
                server
                    .namespaces
                    .remove_if(&self.path, |_, ns| ns.sockets.is_empty() && ns.dynamic);
            }
        }
    }

    /// Runs the server's then the namespace's middlewares, in order.
    pub(crate) async fn run_middlewares(
        &self,
        socket: &SocketRef,
        parts: &ConnectParts,
    ) -> Result<(), crate::ConnectError> {
        let chain: Vec<BoxedMiddleware> = read(&self.shared.middlewares)
            .iter()
            .chain(read(&self.handlers.middlewares).iter())
            .cloned()
            .collect();
        for mw in chain {
            mw.call(socket.clone(), parts.clone()).await?;
        }
        Ok(())
    }
}

/// A namespace registered with [`SocketIo::ns`]: add middlewares to it.
#[derive(Clone)]
pub struct NamespaceRef {
    pub(crate) handlers: Arc<NsHandlers>,
    pub(crate) path: Str,
}

impl fmt::Debug for NamespaceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamespaceRef")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl NamespaceRef {
    pub(crate) fn new<H: ConnectHandler<T>, T: 'static>(path: Str, handler: H) -> Self {
        NamespaceRef {
            handlers: Arc::new(NsHandlers {
                connect: handler::boxed_connect(handler),
                middlewares: RwLock::default(),
            }),
            path,
        }
    }

    /// Adds a connect middleware (Node's `nsp.use`): it runs, after the
    /// server's middlewares and those added before it, for every client that
    /// joins; an `Err` refuses the client with a `CONNECT_ERROR`.
    ///
    /// ```
    /// use socketio_axum::{extract::Handshake, ConnectError, SocketIo, SocketRef};
    ///
    /// let (_layer, io) = SocketIo::new_layer();
    /// io.ns("/admin", |socket: SocketRef| async move {})
    ///     .with(|handshake: Handshake| async move {
    ///         match handshake.headers().get("x-admin") {
    ///             Some(_) => Ok(()),
    ///             None => Err(ConnectError::new("admins only")),
    ///         }
    ///     });
    /// ```
    pub fn with<M: ConnectMiddleware<T>, T: 'static>(self, middleware: M) -> Self {
        write(&self.handlers.middlewares).push(handler::boxed_middleware(middleware));
        self
    }

    /// The path, or the pattern's description for a dynamic namespace.
    pub fn path(&self) -> &str {
        &self.path
    }
}
