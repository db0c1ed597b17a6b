use std::{
    collections::HashMap,
    fmt,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, RwLock,
    },
    time::Duration,
};

use bytes::BytesMut;
use engineio_tower::SendError;
use serde::{de::DeserializeOwned, Serialize};
use socketio_protocol::{
    engine::Sid,
    socket::{
        encode_ack, encode_ack_raw, encode_disconnect, encode_event, encode_event_raw, AckId,
        EncodedPacket,
    },
    Str,
};
use tokio::sync::oneshot;

mod acks;
mod dispatch;
mod handlers;
mod leaving;

use crate::{
    ack::{AckFuture, AckReply},
    adapter::{BroadcastOptions, Room, SocketData, SocketRooms, Stored},
    client::Conn,
    extract::{Handshake, MessageParts, RawArgs},
    handler::BoxFuture,
    handler::{
        self, BoxedDisconnectHandler, BoxedMessageHandler, DisconnectHandler, MessageHandler,
    },
    ns::Namespace,
    operators::{BroadcastOperators, IntoRooms},
    panic::{CatchPanic, Panic},
    read,
    serial::{self, Job, Serial, SerialOwner},
    socket_operators::SocketOperators,
    trace, write, AckError, DisconnectReason, EmitError, SocketIo,
};

/// A socket: one client connected to one namespace. Cheap to clone; every
/// handler receives one.
///
/// Its id is its own, distinct from the connection's Engine.IO id (as in
/// Node since v3), and it is always in the room named after its id.
#[derive(Clone)]
pub struct SocketRef(pub(crate) Arc<SocketInner>);

// `repr(C)`: what a broadcast reads for each socket (`connected`, `conn`)
// comes first, in one cache line.
#[repr(C)]
pub(crate) struct SocketInner {
    pub(crate) conn: Conn,
    pub(crate) connected: AtomicBool,
    closed: AtomicBool,
    pub(crate) id: Sid,
    pub(crate) ns: Arc<Namespace>,
    handlers: RwLock<Handlers>,
    /// Replaced whole on registration, so an event only clones the `Arc`.
    packet_middlewares: RwLock<Arc<[PacketMiddleware]>>,
    reading_held: AtomicBool,
    pub(crate) serial: Serial,
    any_handler: RwLock<Option<BoxedMessageHandler>>,
    disconnect_handler: Mutex<Option<BoxedDisconnectHandler>>,
    disconnecting_handler: Mutex<Option<BoxedDisconnectHandler>>,
    outgoing_hook: RwLock<Option<OutgoingHook>>,
    acks: Mutex<HashMap<AckId, oneshot::Sender<AckReply>>>,
    extensions: RwLock<http::Extensions>,
    pub(crate) data: RwLock<serde_json::Value>,
    auth: Option<Str>,
    issued: std::time::SystemTime,
    /// The private session id, with connection state recovery on.
    pub(crate) pid: Option<Str>,
    recovered: bool,
    /// The rooms it joined (its own room aside).
    pub(crate) rooms: SocketRooms,
}

/// A socket's event handlers, each with whether it runs concurrently.
///
/// A list rather than a hash map: a socket registers a handful of events,
/// and a scan that compares lengths first touches less memory and code per
/// event than hashing the name.
#[derive(Default)]
struct Handlers(Vec<(Str, BoxedMessageHandler, bool)>);

impl Handlers {
    fn insert(&mut self, event: Str, handler: BoxedMessageHandler, concurrent: bool) {
        match self.0.iter_mut().find(|(e, ..)| *e == event) {
            Some(slot) => *slot = (event, handler, concurrent),
            None => self.0.push((event, handler, concurrent)),
        }
    }

    fn get(&self, event: &str) -> Option<(BoxedMessageHandler, bool)> {
        self.0
            .iter()
            .find(|(e, ..)| e.len() == event.len() && e.as_str() == event)
            .map(|(_, h, c)| (h.clone(), *c))
    }

    fn clear(&mut self) {
        self.0 = Vec::new();
    }
}

type OutgoingHook = Arc<dyn Fn(&SocketRef, &str, &Str) + Send + Sync>;
type PacketMiddleware = Arc<dyn Fn(&SocketRef, &MessageParts) -> Result<(), String> + Send + Sync>;

/// Events queued behind a socket's running handler before its connection
/// stops being read (back-pressure), and the length at which reading resumes.
const MAX_QUEUED_EVENTS: usize = 128;
const RESUME_QUEUED_EVENTS: usize = MAX_QUEUED_EVENTS / 2;

impl SerialOwner for SocketRef {
    fn serial(&self) -> &Serial {
        &self.0.serial
    }

    fn job_panicked(&self, panic: &Panic) {
        crate::panic::panicked(self, "socket job", None, panic);
    }
}

impl fmt::Debug for SocketRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketRef")
            .field("id", &self.0.id)
            .field("ns", &self.0.ns.path)
            .finish_non_exhaustive()
    }
}

impl PartialEq for SocketRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl SocketRef {
    pub(crate) fn new(ns: Arc<Namespace>, conn: Conn, auth: Option<Str>) -> SocketRef {
        let pid = ns
            .sessions()
            .map(|_| Str::from(Sid::from_random_bytes(rand::random()).to_string()));
        let id = Sid::from_random_bytes(rand::random());
        Self::with_ids(ns, conn, auth, id, pid, false)
    }

    /// A socket whose session was recovered: its id and pid as before.
    pub(crate) fn recovered_as(
        ns: Arc<Namespace>,
        conn: Conn,
        auth: Option<Str>,
        id: Sid,
        pid: Str,
    ) -> SocketRef {
        Self::with_ids(ns, conn, auth, id, Some(pid), true)
    }

    fn with_ids(
        ns: Arc<Namespace>,
        conn: Conn,
        auth: Option<Str>,
        id: Sid,
        pid: Option<Str>,
        recovered: bool,
    ) -> SocketRef {
        SocketRef(Arc::new(SocketInner {
            id,
            pid,
            recovered,
            ns,
            conn,
            handlers: RwLock::default(),
            packet_middlewares: RwLock::new(Arc::new([])),
            reading_held: AtomicBool::new(false),
            any_handler: RwLock::default(),
            disconnect_handler: Mutex::default(),
            disconnecting_handler: Mutex::default(),
            outgoing_hook: RwLock::default(),
            acks: Mutex::default(),
            extensions: RwLock::default(),
            data: RwLock::new(serde_json::Value::Null),
            serial: Serial::default(),
            connected: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            auth,
            issued: std::time::SystemTime::now(),
            rooms: SocketRooms::default(),
        }))
    }

    /// The socket id (also the name of its own room).
    pub fn id(&self) -> Sid {
        self.0.id
    }

    /// Whether connection state recovery restored this socket (Node's
    /// `socket.recovered`): same id, rooms and `data` as before its
    /// connection was lost, and the events it missed were sent before its
    /// `CONNECT`. Always false when the option is off.
    pub fn recovered(&self) -> bool {
        self.0.recovered
    }

    /// The namespace path, such as `/` or `/chat`.
    pub fn ns(&self) -> &Str {
        &self.0.ns.path
    }

    /// The Engine.IO id of the underlying connection, shared by this client's
    /// sockets in every namespace.
    pub fn connection_id(&self) -> Sid {
        self.0.conn.sid()
    }

    /// The Engine.IO connection under this socket (Node's `socket.conn`):
    /// its id, transport, and [`close`](crate::Connection::close), after
    /// which the client reconnects by itself.
    pub fn conn(&self) -> crate::Connection {
        crate::Connection(self.0.conn.clone())
    }

    /// The server.
    pub fn io(&self) -> SocketIo {
        self.0.ns.io()
    }

    /// The handshake: request headers, query and `auth` payload.
    pub fn handshake(&self) -> Handshake {
        Handshake {
            conn: self.0.conn.clone(),
            auth: self.0.auth.clone(),
            issued: self.0.issued,
        }
    }

    /// Whether the socket is still in its namespace.
    pub fn connected(&self) -> bool {
        self.0.connected.load(Ordering::Acquire)
    }

    /// Whether the socket left or is leaving (even before it finished joining).
    pub(crate) fn is_closing(&self) -> bool {
        self.0.closed.load(Ordering::Acquire)
    }

    pub(crate) fn server_state(&self) -> &http::Extensions {
        &self.0.ns.shared.state
    }

    // ----- extensions -----

    /// Stores a value on the socket, for the [`Extension`](crate::extract::Extension) extractor.
    pub fn insert_extension<T: Clone + Send + Sync + 'static>(&self, value: T) -> Option<T> {
        write(&self.0.extensions).insert(value)
    }

    /// A clone of the value of type `T` stored on the socket.
    pub fn extension<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        read(&self.0.extensions).get::<T>().cloned()
    }

    /// Removes the value of type `T` stored on the socket.
    pub fn remove_extension<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        write(&self.0.extensions).remove::<T>()
    }

    /// Sets the socket's `data` (Node's `socket.data`): JSON that
    /// [`fetch_sockets`](crate::BroadcastOperators::fetch_sockets) shows, on
    /// other servers too. For typed values used only here, prefer extensions.
    pub fn set_data(&self, data: serde_json::Value) {
        *write(&self.0.data) = data;
        if let Some(o) = self.0.ns.shared.observer.get() {
            o.data_updated(self);
        }
    }

    /// The socket's `data` (`null` until set).
    pub fn data(&self) -> serde_json::Value {
        read(&self.0.data).clone()
    }

    // ----- emitting -----

    /// Emits `event` to this client. `data` maps to arguments by one rule, the same for every emit, ack
    /// and broadcast of the server and the client: a tuple is several
    /// arguments, `()` none, anything else (a struct, a `Vec`, a JSON array)
    /// one, and a [`Spread`](crate::Spread) is a list of any length; see the
    /// table on [`encode_event`](socketio_protocol::socket::encode_event).
    /// Bytes become binary attachments.
    ///
    /// The packet joins the connection's outgoing queue, behind everything
    /// queued before it (broadcasts included), so packets reach the client in
    /// the order they were emitted. The queue is bounded: once it holds
    /// `max_buffered_bytes`, a packet is refused with
    /// [`EmitError::QueueFull`] and the connection is closed as a slow
    /// consumer; a queue that stays at `max_buffered_packets` for
    /// `slow_consumer_timeout` closes it too (see docs/configuration.md).
    ///
    /// With connection state recovery on, the packet carries its offset
    /// and is kept: emitted to a socket whose connection was just lost, it
    /// fails with [`EmitError::Disconnected`] and is still replayed if the
    /// client recovers its session.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        let packet = encode_event(&mut BytesMut::new(), self.ns(), event, None, data)?;
        self.send_event(event, packet, false, true)
    }

    /// Emits `event` with arguments as received (see [`RawArgs`]).
    pub fn emit_raw(&self, event: &str, args: RawArgs) -> Result<(), EmitError> {
        let packet = self.raw_event(event, args);
        self.send_event(event, packet, false, true)
    }

    /// The `EVENT` packet of arguments as received.
    pub(crate) fn raw_event(&self, event: &str, args: RawArgs) -> EncodedPacket {
        encode_event_raw(
            &mut BytesMut::new(),
            self.ns(),
            event,
            None,
            &args.args,
            args.attachments,
        )
    }

    /// Sends an event packet, after the outgoing hook. A volatile one is
    /// dropped (`Ok`, with a `tracing` event) when the client's queue is
    /// full; with `compress` false, it is never compressed.
    pub(crate) fn send_event(
        &self,
        event: &str,
        packet: EncodedPacket,
        volatile: bool,
        compress: bool,
    ) -> Result<(), EmitError> {
        self.hook_outgoing(event, &packet);
        let mut failed = None;
        let packet = match self.0.ns.sessions() {
            // Node stores a socket's own emit as a broadcast to its room.
            Some(store) if !volatile => {
                let own = BroadcastOptions::new(vec![Room::from(self.id().to_string())], vec![]);
                match store.store(packet, &own) {
                    Stored::Now(packet) => packet,
                    // The store delivers it, once stored (as Node's
                    // cluster adapters broadcast it to the socket's room).
                    Stored::Later(_) => return Ok(()),
                    Stored::Failed { packet, error } => {
                        failed = Some(error);
                        packet
                    }
                }
            }
            _ => packet,
        };
        let text = self.0.ns.observed(&packet);
        if !volatile {
            self.send_packet_with(packet, compress)?;
            self.0.ns.metrics.event_sent();
            self.observe_sent(text);
            return match failed {
                Some(error) => Err(EmitError::Adapter(error)),
                None => Ok(()),
            };
        }
        if !self.connected() {
            return Err(EmitError::Disconnected);
        }
        let out = crate::parser::compressed(self.0.ns.outbound(packet)?, compress);
        match self.0.conn.try_send(out) {
            Ok(()) => {
                self.0.ns.metrics.event_sent();
                self.observe_sent(text);
                Ok(())
            }
            Err(SendError::Full(_)) => {
                self.0.ns.metrics.volatile_dropped();
                trace::debug!(sid = %self.id(), event, "socket.io: volatile packet dropped, queue full");
                Ok(())
            }
            Err(e) => Err(send_error(e)),
        }
    }

    /// Emits `event` and waits for the client's acknowledgement, deserialized
    /// as [`Data`](crate::extract::Data) would (a tuple for several
    /// arguments), for at most the server's `ack_timeout` (see
    /// [`timeout`](Self::timeout) for another).
    ///
    /// ```
    /// use socketio_axum::SocketRef;
    ///
    /// async fn ask(socket: SocketRef) {
    ///     match socket.emit_with_ack::<_, String>("question", "ready?").await {
    ///         Ok(answer) => println!("client said {answer}"),
    ///         Err(e) => println!("no answer: {e}"),
    ///     }
    /// }
    /// ```
    pub fn emit_with_ack<T, R>(&self, event: &str, data: &T) -> AckFuture<R>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    {
        let timeout = self.0.ns.shared.config.ack_timeout;
        self.emit_with_ack_timeout(event, data, timeout)
    }

    /// This socket with acknowledgements that wait at most `timeout`
    /// (Node's `socket.timeout(ms)`); chain other flags or an action.
    pub fn timeout(&self, timeout: Duration) -> SocketOperators<'_> {
        SocketOperators::new(self).timeout(timeout)
    }

    /// This socket with volatile packets (Node's `socket.volatile`): dropped
    /// rather than queued when the client's queue is full. Chain an action,
    /// or `to`/`broadcast` for a volatile broadcast to the others.
    pub fn volatile(&self) -> SocketOperators<'_> {
        SocketOperators::new(self).volatile()
    }

    /// With `false`, the packet is not compressed even when WebSocket
    /// per-message compression is on (Node's `socket.compress(false)`; see
    /// the engine's `per_message_deflate`, feature `deflate`).
    pub fn compress(&self, compress: bool) -> SocketOperators<'_> {
        SocketOperators::new(self).compress(compress)
    }

    pub(crate) fn emit_with_ack_timeout<T, R>(
        &self,
        event: &str,
        data: &T,
        timeout: Duration,
    ) -> AckFuture<R>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    {
        let id = self.0.ns.next_ack_id();
        let packet = match encode_event(&mut BytesMut::new(), self.ns(), event, Some(id), data) {
            Ok(p) => p,
            Err(e) => return AckFuture::failed(AckError::Emit(e.into())),
        };
        let rx = self.register_ack(id);
        self.hook_outgoing(event, &packet);
        let text = self.0.ns.observed(&packet);
        if let Err(e) = self.send_packet(packet) {
            self.forget_ack(id);
            return AckFuture::failed(AckError::Emit(e));
        }
        self.0.ns.metrics.event_sent();
        self.observe_sent(text);
        AckFuture::new(rx, timeout, self.clone(), id)
    }

    fn hook_outgoing(&self, event: &str, packet: &EncodedPacket) {
        // Cloned out first: the hook may register hooks (a lock guard in
        // the `if let` would live through the call).
        let hook = read(&self.0.outgoing_hook).clone();
        if let Some(hook) = hook {
            if let Err(p) = crate::panic::catch(|| hook(self, event, &packet.text)) {
                let event = Str::from(event.to_owned());
                crate::panic::panicked(self, "outgoing hook", Some(&event), &p);
            }
        }
    }

    /// Tells the observer of a packet queued; `text` is `None` without one.
    fn observe_sent(&self, text: Option<Str>) {
        if let (Some(o), Some(text)) = (self.0.ns.shared.observer.get(), text) {
            o.event_sent(self.ns(), self.id(), &text);
        }
    }

    pub(crate) fn send_packet(&self, packet: EncodedPacket) -> Result<(), EmitError> {
        self.send_packet_with(packet, true)
    }

    fn send_packet_with(&self, packet: EncodedPacket, compress: bool) -> Result<(), EmitError> {
        if !self.connected() {
            return Err(EmitError::Disconnected);
        }
        let out = crate::parser::compressed(self.0.ns.outbound(packet)?, compress);
        self.0.conn.send(out).map_err(send_error)
    }

    // ----- rooms -----

    /// Joins rooms.
    pub fn join(&self, rooms: impl IntoRooms) {
        // A handle of a socket that left joins nothing: its id may belong
        // to a recovered socket by now.
        if self.is_closing() {
            return;
        }
        let rooms = rooms.into_rooms();
        self.0.ns.join(self, &rooms);
        // Checked after joining: either the leaving socket's clean-up sees
        // this membership, or this sees that it left (Node makes `join` a no-op).
        if self.is_closing() {
            self.0.ns.leave(self, &rooms);
        }
    }

    /// Leaves rooms.
    pub fn leave(&self, rooms: impl IntoRooms) {
        self.0.ns.leave(self, &rooms.into_rooms());
    }

    /// Leaves every room, its own included.
    pub fn leave_all(&self) {
        self.0.ns.leave_all(self, false);
    }

    /// The rooms the socket is in: its own, then those it joined.
    pub fn rooms(&self) -> Vec<Room> {
        let mut rooms = vec![Room::from(self.id().to_string())];
        rooms.extend(self.0.rooms.to_vec());
        rooms
    }

    /// Targets the sockets in `rooms`, except this one (Node's `socket.to`).
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.broadcast().to(rooms)
    }

    /// Same as [`to`](Self::to).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.to(rooms)
    }

    /// Targets every socket of the namespace except those in `rooms` and this one.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.broadcast().except(rooms)
    }

    /// Targets every socket of the namespace but this one (Node's `socket.broadcast`).
    pub fn broadcast(&self) -> BroadcastOperators {
        BroadcastOperators::new(self.0.ns.clone()).except(Room::from(self.id().to_string()))
    }

    /// This socket as [`fetch_sockets`](crate::BroadcastOperators::fetch_sockets)
    /// describes it to other servers, in Node's shape.
    pub(crate) fn describe(&self) -> SocketData {
        crate::describe::describe(self)
    }
}

pub(crate) fn send_error(e: SendError) -> EmitError {
    match e {
        SendError::Full(_) => EmitError::QueueFull,
        SendError::Closed(_) => EmitError::Disconnected,
    }
}
