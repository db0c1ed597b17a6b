use std::{
    collections::HashMap,
    fmt,
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc, Mutex,
    },
};

use socketio_protocol::Str;
use tokio::sync::mpsc;

use crate::{
    config::Config,
    driver::{Command, Driver, ManagerCallback},
    socket::SocketCore,
    ClientBuilder, Error, Socket, Transport,
};

/// What the handles of one client share with its connection task.
///
/// It holds no sender of the command channel: the task ends once every
/// [`Client`] and [`Socket`] handle is gone.
pub(crate) struct Shared {
    pub(crate) config: Arc<Config>,
    sockets: Mutex<HashMap<Str, Arc<SocketCore>>>,
    /// The receiving end of the command channel until the task starts.
    pending: Mutex<Option<mpsc::UnboundedReceiver<Command>>>,
    transport: AtomicU8,
}

impl Shared {
    /// Starts the connection task if it is not running yet.
    pub(crate) fn start(
        self: &Arc<Self>,
        tx: &mpsc::UnboundedSender<Command>,
    ) -> Result<(), Error> {
        let mut pending = crate::lock(&self.pending);
        if pending.is_some() {
            let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::no_runtime())?;
            if let Some(rx) = pending.take() {
                runtime.spawn(Driver::new(self.clone(), rx, tx.downgrade()).run());
            }
        }
        Ok(())
    }

    pub(crate) fn set_transport(&self, transport: Option<Transport>) {
        let n = match transport {
            None => 0,
            Some(Transport::Polling) => 1,
            Some(Transport::WebSocket) => 2,
            Some(Transport::WebTransport) => 3,
        };
        self.transport.store(n, Ordering::Release);
    }

    fn transport(&self) -> Option<Transport> {
        match self.transport.load(Ordering::Acquire) {
            1 => Some(Transport::Polling),
            2 => Some(Transport::WebSocket),
            3 => Some(Transport::WebTransport),
            _ => None,
        }
    }
}

/// A Socket.IO client: one Engine.IO connection to a server, shared by the
/// [`Socket`]s of every namespace (the JS client's `Manager`).
///
/// A cheap [`Clone`] handle. Nothing is opened until a socket
/// [connects](Socket::connect); the connection then runs on a tokio task
/// of its own, reconnecting as configured, until [`disconnect`](Self::disconnect)
/// is called, every socket is disconnected, or every handle is dropped.
///
/// ```no_run
/// use socketio_client::{extract::Data, Client};
///
/// # async fn run() -> Result<(), socketio_client::Error> {
/// let client = Client::builder("http://localhost:3000").build()?;
/// let socket = client.socket("/");
/// socket.on("chat", |Data(text): Data<String>| async move { println!("{text}") });
/// socket.connect().await?;
/// socket.emit("chat", "hello")?;
///
/// let admin = client.socket("/admin"); // same connection
/// admin.connect().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Command>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.transport())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder for a client of the server at `url` (`http://host:port`
    /// or `ws://host:port`).
    ///
    /// ```
    /// let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// ```
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    pub(crate) fn new(config: Config) -> Client {
        let (tx, rx) = mpsc::unbounded_channel();
        Client {
            shared: Arc::new(Shared {
                config: Arc::new(config),
                sockets: Mutex::new(HashMap::new()),
                pending: Mutex::new(Some(rx)),
                transport: AtomicU8::new(0),
            }),
            tx,
        }
    }

    pub(crate) fn from_parts(shared: Arc<Shared>, tx: mpsc::UnboundedSender<Command>) -> Client {
        Client { shared, tx }
    }

    /// The socket of namespace `ns` (`"/"`, `"/chat"`; a missing leading
    /// slash is added). Every call with the same namespace gives a handle
    /// to the same socket.
    ///
    /// ```
    /// let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// let chat = client.socket("/chat");
    /// assert_eq!(chat.ns(), "/chat");
    /// assert_eq!(client.socket("chat").ns(), "/chat");
    /// ```
    pub fn socket(&self, ns: &str) -> Socket {
        let ns = normalize_ns(ns);
        let mut sockets = crate::lock(&self.shared.sockets);
        let slot = sockets.len();
        let core = sockets
            .entry(ns.clone())
            .or_insert_with(|| {
                let core = Arc::new(SocketCore::new(ns, slot));
                // Sent under the lock, so that the task learns of the
                // sockets in slot order.
                let _ = self.tx.send(Command::Register(core.clone()));
                core
            })
            .clone();
        Socket::from_parts(core, self.shared.clone(), self.tx.clone())
    }

    /// Disconnects every socket and closes the connection; no reconnection
    /// follows. A socket may [connect](Socket::connect) again later.
    ///
    /// ```no_run
    /// # async fn demo(client: socketio_client::Client) {
    /// client.disconnect();
    /// # }
    /// ```
    pub fn disconnect(&self) {
        let _ = self.tx.send(Command::CloseAll);
    }

    /// The transport of the open connection, if one is open.
    ///
    /// ```
    /// let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// assert_eq!(client.transport(), None);
    /// ```
    pub fn transport(&self) -> Option<Transport> {
        self.shared.transport()
    }

    /// Calls `f` with the attempt number (from 1) before each reconnection
    /// attempt (the JS `reconnect_attempt` event).
    ///
    /// Like every lifecycle callback, `f` runs on the connection task: keep
    /// it short, and spawn a task for anything that waits.
    ///
    /// ```
    /// # let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// client.on_reconnect_attempt(|n| println!("reconnecting, attempt {n}"));
    /// ```
    pub fn on_reconnect_attempt<F: Fn(u32) + Send + Sync + 'static>(&self, f: F) {
        self.manager(ManagerCallback::ReconnectAttempt(Box::new(f)));
    }

    /// Calls `f` with the number of attempts it took once a reconnection
    /// succeeds (the JS `reconnect` event).
    ///
    /// ```
    /// # let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// client.on_reconnect(|n| println!("reconnected after {n} attempts"));
    /// ```
    pub fn on_reconnect<F: Fn(u32) + Send + Sync + 'static>(&self, f: F) {
        self.manager(ManagerCallback::Reconnect(Box::new(f)));
    }

    /// Calls `f` when a reconnection attempt fails (the JS `reconnect_error` event).
    ///
    /// ```
    /// # let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// client.on_reconnect_error(|e| println!("attempt failed: {e}"));
    /// ```
    pub fn on_reconnect_error<F: Fn(&Error) + Send + Sync + 'static>(&self, f: F) {
        self.manager(ManagerCallback::ReconnectError(Box::new(f)));
    }

    /// Calls `f` when the client gives up after
    /// [`reconnection_attempts`](ClientBuilder::reconnection_attempts)
    /// failed attempts (the JS `reconnect_failed` event).
    ///
    /// ```
    /// # let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// client.on_reconnect_failed(|| println!("giving up"));
    /// ```
    pub fn on_reconnect_failed<F: Fn() + Send + Sync + 'static>(&self, f: F) {
        self.manager(ManagerCallback::ReconnectFailed(Box::new(f)));
    }

    /// Calls `f` with the new transport when the connection has moved
    /// from HTTP long-polling to WebSocket (the JS `upgrade` event of
    /// `socket.io.engine`): once per connection that upgrades, never for
    /// one that starts on WebSocket or stays on polling. When `f` runs,
    /// [`transport`](Self::transport) already reports the new transport.
    ///
    /// ```
    /// # let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// client.on_upgrade(|transport| println!("now on {}", transport.as_str()));
    /// ```
    pub fn on_upgrade<F: Fn(Transport) + Send + Sync + 'static>(&self, f: F) {
        self.manager(ManagerCallback::Upgrade(Box::new(f)));
    }

    fn manager(&self, callback: ManagerCallback) {
        let _ = self.tx.send(Command::Manager(callback));
    }
}

/// `chat` → `/chat`, `` → `/`.
fn normalize_ns(ns: &str) -> Str {
    if ns.starts_with('/') {
        Str::from(ns.to_owned())
    } else {
        Str::from(format!("/{ns}"))
    }
}
