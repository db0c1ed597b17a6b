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

use socketio_protocol::Str;
use tokio::sync::{mpsc, oneshot};

mod emit;

pub use emit::Volatile;

use crate::{
    client::Shared,
    config::Auth,
    driver::{Command, NsCallback},
    handler::{self, Handler},
    Client, DisconnectReason, Error,
};

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
