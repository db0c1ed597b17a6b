use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    task::{Context, Poll},
};

use bytes::BytesMut;
use serde::{de::DeserializeOwned, Serialize};
use socketio_protocol::{
    socket::{encode_ack, encode_event, AckId},
    Str,
};
use tokio::sync::{mpsc, oneshot};

use crate::{
    ack::AckFuture,
    client::Shared,
    config::{Auth, BufferOverflow},
    driver::{Command, NsCallback},
    handler::{self, Handler},
    Client, DisconnectReason, Error,
};

/// Event names the JS client refuses to emit: Socket.IO uses them itself,
/// and a server drops the connection of a client that sends one.
const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The state of a socket that its handles read and the connection task writes.
#[derive(Debug)]
pub(crate) struct SocketCore {
    pub(crate) ns: Str,
    pub(crate) slot: usize,
    pub(crate) connected: AtomicBool,
    pub(crate) recovered: AtomicBool,
    pub(crate) id: Mutex<Option<Str>>,
    next_ack: AtomicU64,
    /// Packets emitted while disconnected and not yet sent or dropped.
    pub(crate) buffered: AtomicUsize,
}

impl SocketCore {
    pub(crate) fn new(ns: Str, slot: usize) -> Self {
        SocketCore {
            ns,
            slot,
            connected: AtomicBool::new(false),
            recovered: AtomicBool::new(false),
            id: Mutex::new(None),
            next_ack: AtomicU64::new(0),
            buffered: AtomicUsize::new(0),
        }
    }
}

/// What the connection task keeps of a socket to hand a [`Socket`] to
/// handlers: without a strong sender, so that dropping every handle ends it.
pub(crate) struct SocketContext {
    pub(crate) core: Arc<SocketCore>,
    shared: Arc<Shared>,
    tx: mpsc::WeakUnboundedSender<Command>,
}

impl SocketContext {
    pub(crate) fn new(
        core: Arc<SocketCore>,
        shared: Arc<Shared>,
        tx: mpsc::WeakUnboundedSender<Command>,
    ) -> Self {
        SocketContext { core, shared, tx }
    }

    pub(crate) fn ns(&self) -> &str {
        &self.core.ns
    }

    pub(crate) fn socket(&self) -> Option<Socket> {
        let tx = self.tx.upgrade()?;
        Some(Socket::from_parts(
            self.core.clone(),
            self.shared.clone(),
            tx,
        ))
    }
}

/// A client's socket in one namespace: register handlers, connect, emit.
///
/// A cheap [`Clone`] handle, from [`Client::socket`]. Sockets of one client
/// share its connection.
///
/// ```no_run
/// use std::time::Duration;
/// use socketio_client::{extract::{AckSender, Data}, Client};
///
/// # async fn run() -> Result<(), socketio_client::Error> {
/// let client = Client::builder("http://localhost:3000").build()?;
/// let socket = client.socket("/");
///
/// socket.on("greet", |Data(name): Data<String>, ack: AckSender| async move {
///     ack.send(&format!("hello {name}"))
/// });
/// socket.on_disconnect(|reason| println!("disconnected: {reason}"));
/// socket.connect().await?;
///
/// socket.emit("chat", &("room 1", "hi"))?;
/// let answer: String = socket
///     .emit_with_ack("question", "ready?")
///     .timeout(Duration::from_secs(2))
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Socket {
    core: Arc<SocketCore>,
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Command>,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("ns", &self.core.ns)
            .field("id", &self.id())
            .field("connected", &self.connected())
            .finish()
    }
}

impl Socket {
    pub(crate) fn from_parts(
        core: Arc<SocketCore>,
        shared: Arc<Shared>,
        tx: mpsc::UnboundedSender<Command>,
    ) -> Self {
        Socket { core, shared, tx }
    }

    pub(crate) fn slot(&self) -> usize {
        self.core.slot
    }

    pub(crate) fn send(&self, command: Command) -> Result<(), Error> {
        self.tx.send(command).map_err(|_| Error::closed())
    }

    /// The namespace.
    ///
    /// ```
    /// # let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// assert_eq!(client.socket("/admin").ns(), "/admin");
    /// ```
    pub fn ns(&self) -> &str {
        &self.core.ns
    }

    /// The socket's id in its namespace, given by the server, while connected.
    ///
    /// ```
    /// # let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// assert_eq!(client.socket("/").id(), None);
    /// ```
    pub fn id(&self) -> Option<String> {
        crate::lock(&self.core.id).as_ref().map(|id| id.to_string())
    }

    /// Whether the socket is connected to its namespace.
    ///
    /// ```
    /// # let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// assert!(!client.socket("/").connected());
    /// ```
    pub fn connected(&self) -> bool {
        self.core.connected.load(Ordering::Acquire)
    }

    /// Whether the last connection restored the previous session (the
    /// server supports connection state recovery and the session was still
    /// there): missed events then follow.
    ///
    /// ```
    /// # let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// assert!(!client.socket("/").recovered());
    /// ```
    pub fn recovered(&self) -> bool {
        self.core.recovered.load(Ordering::Acquire)
    }

    /// The client this socket belongs to.
    ///
    /// ```
    /// # let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// let other = client.socket("/").client().socket("/other");
    /// # let _ = other;
    /// ```
    pub fn client(&self) -> Client {
        Client::from_parts(self.shared.clone(), self.tx.clone())
    }

    // ----- handlers -----

    /// Handles the event `event` with `handler`, replacing any earlier one.
    ///
    /// Events of one socket are handled one after another, in the order
    /// they arrived: a handler that awaits holds back the next event of
    /// this socket (not those of other sockets, nor the connection itself).
    /// See [`handler`] for what a handler may be.
    ///
    /// ```
    /// use socketio_client::{extract::{AckSender, Data}, Socket};
    ///
    /// # fn register(socket: Socket) {
    /// socket.on("echo", |socket: Socket, Data(text): Data<String>| async move {
    ///     socket.emit("echo-back", &text)
    /// });
    /// # }
    /// ```
    pub fn on<H, T>(&self, event: impl Into<Str>, handler: H)
    where
        H: Handler<T>,
        T: 'static,
    {
        let _ = self.send(Command::On {
            slot: self.slot(),
            event: event.into(),
            handler: handler::boxed(handler),
        });
    }

    /// Handles every event (the JS client's `onAny`), before the event's
    /// own handler if it has one; use the [`Event`](crate::extract::Event)
    /// extractor for the name. Replaces any earlier catch-all handler.
    ///
    /// Only one of the two handlers can answer an acknowledgement: the
    /// first to take an [`AckSender`](crate::AckSender).
    ///
    /// ```
    /// use socketio_client::extract::{Event, RawArgs};
    ///
    /// # fn register(socket: socketio_client::Socket) {
    /// socket.on_any(|Event(name): Event, raw: RawArgs| async move { println!("{name} [{}]", raw.args) });
    /// # }
    /// ```
    pub fn on_any<H, T>(&self, handler: H)
    where
        H: Handler<T>,
        T: 'static,
    {
        let _ = self.send(Command::OnAny {
            slot: self.slot(),
            handler: Some(handler::boxed(handler)),
        });
    }

    /// Removes the handler of `event`.
    ///
    /// ```
    /// # fn register(socket: socketio_client::Socket) {
    /// socket.off("chat");
    /// # }
    /// ```
    pub fn off(&self, event: impl Into<Str>) {
        let _ = self.send(Command::Off {
            slot: self.slot(),
            event: event.into(),
        });
    }

    /// Removes the catch-all handler.
    ///
    /// ```
    /// # fn register(socket: socketio_client::Socket) {
    /// socket.off_any();
    /// # }
    /// ```
    pub fn off_any(&self) {
        let _ = self.send(Command::OnAny {
            slot: self.slot(),
            handler: None,
        });
    }

    /// Calls `f` each time the socket connects to its namespace (the JS
    /// `connect` event), after the packets buffered meanwhile were sent.
    ///
    /// Lifecycle callbacks run on the connection task: keep them short (an
    /// emit is fine) and spawn a task for anything that waits.
    ///
    /// ```
    /// # fn register(socket: socketio_client::Socket) {
    /// let s = socket.clone();
    /// socket.on_connect(move || println!("connected as {:?}", s.id()));
    /// # }
    /// ```
    pub fn on_connect<F: Fn() + Send + Sync + 'static>(&self, f: F) {
        self.callback(NsCallback::Connect(Box::new(f)));
    }

    /// Calls `f` when a connection attempt fails (the JS `connect_error`
    /// event): the server refused it ([`Error::is_rejected`], with the
    /// server's [`data`](Error::data)), or could not be reached.
    ///
    /// ```
    /// # fn register(socket: socketio_client::Socket) {
    /// socket.on_connect_error(|e| println!("cannot connect: {e} {:?}", e.data()));
    /// # }
    /// ```
    pub fn on_connect_error<F: Fn(&Error) + Send + Sync + 'static>(&self, f: F) {
        self.callback(NsCallback::ConnectError(Box::new(f)));
    }

    /// Calls `f` with the reason when the socket disconnects (the JS
    /// `disconnect` event).
    ///
    /// ```
    /// # fn register(socket: socketio_client::Socket) {
    /// socket.on_disconnect(|reason| {
    ///     if reason.is_reconnectable() {
    ///         println!("lost the connection ({reason}); reconnecting");
    ///     }
    /// });
    /// # }
    /// ```
    pub fn on_disconnect<F: Fn(DisconnectReason) + Send + Sync + 'static>(&self, f: F) {
        self.callback(NsCallback::Disconnect(Box::new(f)));
    }

    fn callback(&self, callback: NsCallback) {
        let _ = self.send(Command::Callback {
            slot: self.slot(),
            callback,
        });
    }

    /// Sets this socket's `auth` payload, replacing the client's
    /// ([`ClientBuilder::auth`](crate::ClientBuilder::auth)) from the next
    /// connection attempt on.
    ///
    /// ```
    /// # fn register(socket: socketio_client::Socket) {
    /// socket.set_auth(serde_json::json!({"token": "admin-token"}));
    /// # }
    /// ```
    pub fn set_auth(&self, auth: impl Into<Auth>) {
        let _ = self.send(Command::SetAuth {
            slot: self.slot(),
            auth: auth.into(),
        });
    }

    // ----- connecting -----

    /// Connects to the namespace, opening the client's connection if
    /// needed. Register handlers first: events may follow at once.
    ///
    /// The connection starts when this is called; the future resolves at
    /// the first outcome: `Ok` once connected, or the error of the first
    /// failed attempt. After a failure to reach the server the client keeps
    /// trying in the background (when reconnection is on); after a refusal
    /// by the server ([`Error::is_rejected`]) it does not.
    ///
    /// ```no_run
    /// # async fn demo(socket: socketio_client::Socket) {
    /// if let Err(e) = socket.connect().await {
    ///     eprintln!("connect_error: {e}");
    /// }
    /// # }
    /// ```
    pub fn connect(&self) -> ConnectFuture {
        let (done, rx) = oneshot::channel();
        let started = self
            .send(Command::Connect {
                slot: self.slot(),
                done,
            })
            .and_then(|()| self.shared.start(&self.tx));
        ConnectFuture {
            rx,
            error: started.err(),
        }
    }

    /// Leaves the namespace (sending `DISCONNECT` if connected); no
    /// reconnection follows for this socket. Its `disconnect` callback gets
    /// [`DisconnectReason::IoClientDisconnect`]. The connection closes when
    /// no socket of the client is left.
    ///
    /// ```no_run
    /// # fn demo(socket: socketio_client::Socket) {
    /// socket.disconnect();
    /// assert!(!socket.connected());
    /// # }
    /// ```
    pub fn disconnect(&self) {
        self.core.connected.store(false, Ordering::Release);
        let _ = self.send(Command::Disconnect { slot: self.slot() });
    }

    // ----- emitting -----

    /// Emits `event` with `data`. `data` maps to arguments by one rule, the same for every emit, ack
    /// and broadcast of the server and the client: a tuple is several
    /// arguments, `()` none, anything else (a struct, a `Vec`, a JSON array)
    /// one, and a [`Spread`](crate::Spread) is a list of any length; see the
    /// table on [`encode_event`](socketio_protocol::socket::encode_event).
    /// Bytes ([`Binary`](crate::Binary)) become binary attachments.
    ///
    /// While the socket is not connected, the packet is buffered and sent,
    /// in order, once it is; when the buffer is full this fails or drops
    /// the oldest packet, as configured
    /// ([`ClientBuilder::buffer_overflow`](crate::ClientBuilder::buffer_overflow)).
    ///
    /// ```
    /// use socketio_client::Binary;
    ///
    /// # fn demo(socket: socketio_client::Socket) -> Result<(), socketio_client::Error> {
    /// socket.emit("ping", &())?;                          // 42["ping"]
    /// socket.emit("chat", "hi")?;                         // 42["chat","hi"]
    /// socket.emit("move", &(1, 2))?;                      // 42["move",1,2]
    /// socket.emit("file", &("a.bin", Binary::from(vec![1, 2])))?; // binary attachment
    /// # Ok(()) }
    /// ```
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), Error> {
        let packet = self.encode(event, None, data)?;
        let counted = self.reserve()?;
        self.send(Command::Emit {
            slot: self.slot(),
            packet,
            ack: None,
            volatile: false,
            counted,
        })
    }

    /// Emits `event` with `data` (as [`emit`](Self::emit)) and waits for
    /// the server's acknowledgement, for at most the client's
    /// [`ack_timeout`](crate::ClientBuilder::ack_timeout) unless
    /// [`AckFuture::timeout`] sets another.
    ///
    /// If the socket disconnects after the packet was sent, the future fails
    /// ([`Error::is_disconnected`]); a packet still buffered keeps waiting
    /// for the reconnection.
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// # async fn demo(socket: socketio_client::Socket) -> Result<(), socketio_client::Error> {
    /// let (status, count): (String, u32) = socket
    ///     .emit_with_ack("stats", &())
    ///     .timeout(Duration::from_secs(1))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn emit_with_ack<T, R>(&self, event: &str, data: &T) -> AckFuture<R>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let id = self.core.next_ack.fetch_add(1, Ordering::Relaxed);
        let emitted = self.encode(event, Some(id), data).and_then(|packet| {
            let counted = self.reserve()?;
            let (tx, rx) = oneshot::channel();
            self.send(Command::Emit {
                slot: self.slot(),
                packet,
                ack: Some((id, tx)),
                volatile: false,
                counted,
            })?;
            Ok(rx)
        });
        match emitted {
            Ok(rx) => AckFuture::waiting(rx, self.clone(), id, self.shared.config.ack_timeout),
            Err(e) => AckFuture::failed(e),
        }
    }

    /// The volatile flag: the next emit is dropped, instead of buffered,
    /// if the socket is not connected.
    ///
    /// ```
    /// # fn demo(socket: socketio_client::Socket) -> Result<(), socketio_client::Error> {
    /// socket.volatile().emit("cursor", &(10, 20))?;
    /// # Ok(()) }
    /// ```
    pub fn volatile(&self) -> Volatile<'_> {
        Volatile { socket: self }
    }

    fn encode<T: Serialize + ?Sized>(
        &self,
        event: &str,
        ack: Option<AckId>,
        data: &T,
    ) -> Result<socketio_protocol::socket::EncodedPacket, Error> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(Error::reserved_event(event));
        }
        encode_event(&mut BytesMut::new(), &self.core.ns, event, ack, data)
            .map_err(Error::serialize)
    }

    /// Counts a packet emitted while disconnected against the buffer's
    /// bound; whether it was counted.
    fn reserve(&self) -> Result<bool, Error> {
        if self.connected() {
            return Ok(false);
        }
        let config = &self.shared.config;
        let before = self.core.buffered.fetch_add(1, Ordering::AcqRel);
        if config.buffer_overflow == BufferOverflow::Reject && before >= config.max_buffered_packets
        {
            self.core.buffered.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::buffer_full(config.max_buffered_packets));
        }
        Ok(true)
    }

    /// Answers the server's event `id`.
    pub(crate) fn send_ack<T: Serialize + ?Sized>(&self, id: AckId, data: &T) -> Result<(), Error> {
        let packet =
            encode_ack(&mut BytesMut::new(), &self.core.ns, id, data).map_err(Error::serialize)?;
        self.send(Command::Ack {
            slot: self.slot(),
            packet,
        })
    }
}

/// A [`Socket`] whose next emit is dropped if the socket is not connected;
/// from [`Socket::volatile`].
///
/// ```
/// # fn demo(socket: socketio_client::Socket) -> Result<(), socketio_client::Error> {
/// socket.volatile().emit("position", &(1.5, 2.5))?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Volatile<'a> {
    socket: &'a Socket,
}

impl Volatile<'_> {
    /// Emits as [`Socket::emit`] does if the socket is connected; else
    /// drops the packet (and returns `Ok`).
    ///
    /// ```
    /// # let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// let socket = client.socket("/");
    /// // Not connected: dropped, not buffered.
    /// assert!(socket.volatile().emit("cursor", &(1, 2)).is_ok());
    /// ```
    pub fn emit<T: Serialize + ?Sized>(self, event: &str, data: &T) -> Result<(), Error> {
        let socket = self.socket;
        let packet = socket.encode(event, None, data)?;
        if !socket.connected() {
            return Ok(());
        }
        socket.send(Command::Emit {
            slot: socket.slot(),
            packet,
            ack: None,
            volatile: true,
            counted: false,
        })
    }
}

/// Resolves when a socket connects, or at its first `connect_error`;
/// returned by [`Socket::connect`].
///
/// Dropping it does not cancel the connection.
///
/// ```no_run
/// # async fn demo(socket: socketio_client::Socket) -> Result<(), socketio_client::Error> {
/// let connecting = socket.connect(); // connecting already
/// connecting.await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ConnectFuture {
    rx: oneshot::Receiver<Result<(), Error>>,
    error: Option<Error>,
}

impl Future for ConnectFuture {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(e) = self.error.take() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|_| Err(Error::closed())))
    }
}
