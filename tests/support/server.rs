//! The server under test: axum with the `EngineIo` layer on 127.0.0.1:0, and
//! a handler that echoes every message and records every event.

use std::{collections::VecDeque, net::SocketAddr, time::Duration};

use engineio_tower::{
    webtransport::{Identity, WebTransportConfig},
    CloseReason, EngineIo, EngineIoBuilder, EngineIoConfig, EngineIoHandler, Message, Sid, Socket,
};
use tokio::sync::{mpsc, Mutex};

use crate::within;

/// The `max_payload` of the test configurations, in bytes: small, so that
/// the limit tests need little data.
pub const MAX_PAYLOAD: u64 = 1000;

/// A configuration with fast heartbeats (ping every 300 ms, 200 ms to
/// answer), for the tests of pings and timeouts.
pub fn heartbeat_config() -> EngineIoConfig {
    EngineIoConfig::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(MAX_PAYLOAD)
        .build()
}

/// A configuration whose heartbeat never fires during a test, for tests that
/// compare exact response bodies (a ping would add a `2` packet to them).
pub fn quiet_config() -> EngineIoConfig {
    EngineIoConfig::builder()
        .ping_interval(Duration::from_secs(60))
        .ping_timeout(Duration::from_secs(60))
        .max_payload(MAX_PAYLOAD)
        .build()
}

/// What the handler saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `on_open` for this session.
    Open(Sid),
    /// `on_message`: a message from this session.
    Message(Sid, Message),
    /// `on_close` for this session, with the reason.
    Close(Sid, CloseReason),
}

impl Event {
    /// The session the event belongs to.
    pub fn sid(&self) -> Sid {
        match self {
            Event::Open(sid) | Event::Message(sid, _) | Event::Close(sid, _) => *sid,
        }
    }
}

/// The message that makes the test handler panic (after recording it).
pub const PANIC_MESSAGE: &str = "panic (a test's request)";

/// The test handler: echoes every message back to its sender and records
/// every callback as an [`Event`]; [`PANIC_MESSAGE`] makes it panic.
#[derive(Debug)]
pub struct Recorder {
    tx: mpsc::UnboundedSender<Event>,
}

impl Recorder {
    fn record(&self, event: Event) {
        // The receiver lives as long as the `TestServer`; a send after the
        // test is over has nobody to tell.
        let _ = self.tx.send(event);
    }
}

impl EngineIoHandler for Recorder {
    type Data = ();

    fn on_open(&self, socket: &Socket) {
        self.record(Event::Open(socket.sid()));
    }

    fn on_message(&self, socket: &Socket, msg: Message) {
        self.record(Event::Message(socket.sid(), msg.clone()));
        if msg == Message::Text(PANIC_MESSAGE.into()) {
            panic!("{PANIC_MESSAGE}");
        }
        let _ = match msg {
            Message::Text(text) => socket.send_text(&text),
            Message::Binary(data) => socket.send_binary(data),
        };
    }

    fn on_close(&self, socket: &Socket, reason: CloseReason) {
        self.record(Event::Close(socket.sid(), reason));
    }
}

/// The events recorded by the server's handler. Waiting for the event of
/// one session keeps the events of other sessions for later waits.
#[derive(Debug)]
pub struct Events {
    inner: Mutex<EventsInner>,
}

#[derive(Debug)]
struct EventsInner {
    rx: mpsc::UnboundedReceiver<Event>,
    backlog: VecDeque<Event>,
}

impl Events {
    /// Waits for the first event (oldest first) for which `pick` returns
    /// `Some`, and removes it; `what` names it in the timeout message.
    pub async fn wait_for<T>(&self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let mut inner = self.inner.lock().await;
        let inner = &mut *inner;
        if let Some((i, found)) = inner
            .backlog
            .iter()
            .enumerate()
            .find_map(|(i, e)| pick(e).map(|t| (i, t)))
        {
            inner.backlog.remove(i);
            return found;
        }
        within(what, async {
            loop {
                let Some(event) = inner.rx.recv().await else {
                    panic!("the handler is gone while waiting for {what}");
                };
                if let Some(found) = pick(&event) {
                    return found;
                }
                inner.backlog.push_back(event);
            }
        })
        .await
    }

    /// The next session opened.
    pub async fn open(&self) -> Sid {
        self.wait_for("a session to open", |e| match e {
            Event::Open(sid) => Some(*sid),
            _ => None,
        })
        .await
    }

    /// Waits for the `on_open` of `sid`.
    pub async fn opened(&self, sid: Sid) {
        self.wait_for(&format!("on_open of {sid}"), |e| {
            (*e == Event::Open(sid)).then_some(())
        })
        .await;
    }

    /// The next message from `sid`.
    pub async fn message(&self, sid: Sid) -> Message {
        self.wait_for(&format!("a message from {sid}"), |e| match e {
            Event::Message(s, m) if *s == sid => Some(m.clone()),
            _ => None,
        })
        .await
    }

    /// Waits for the close of `sid` and returns its reason.
    pub async fn close(&self, sid: Sid) -> CloseReason {
        self.wait_for(&format!("on_close of {sid}"), |e| match e {
            Event::Close(s, reason) if *s == sid => Some(*reason),
            _ => None,
        })
        .await
    }

    /// Every event received and not yet waited for, without waiting.
    pub async fn pending(&self) -> Vec<Event> {
        let mut inner = self.inner.lock().await;
        while let Ok(e) = inner.rx.try_recv() {
            inner.backlog.push_back(e);
        }
        inner.backlog.iter().cloned().collect()
    }
}

/// A running server; it stops accepting connections when dropped.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The Engine.IO server, to send from the server side or count sessions.
    pub engine: EngineIo<Recorder>,
    /// What its handler saw.
    pub events: Events,
    /// Its WebTransport listener, when asked for ([`ServerBuilder::webtransport`]).
    pub webtransport: Option<WebTransportListener>,
    task: tokio::task::JoinHandle<()>,
}

/// Where a test server's WebTransport listener is, and the hash of its
/// self-signed certificate.
#[derive(Debug, Clone, Copy)]
pub struct WebTransportListener {
    /// Its UDP address.
    pub addr: SocketAddr,
    /// The SHA-256 of its certificate, for the client to pin.
    pub certificate_hash: [u8; 32],
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Customise = Box<dyn FnOnce(EngineIoBuilder<Recorder>) -> EngineIoBuilder<Recorder> + Send>;
type Wrap = Box<dyn FnOnce(axum::Router) -> axum::Router + Send>;
type WtConfig = Box<dyn FnOnce(WebTransportConfig) -> WebTransportConfig + Send>;

/// Configures a [`TestServer`] beyond its [`EngineIoConfig`].
#[must_use]
pub struct ServerBuilder {
    config: EngineIoConfig,
    customise: Option<Customise>,
    wrap: Option<Wrap>,
    webtransport: bool,
    webtransport_config: Option<WtConfig>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// Changes the `EngineIo` builder, e.g. to set `allow_request`.
    pub fn engine(
        mut self,
        f: impl FnOnce(EngineIoBuilder<Recorder>) -> EngineIoBuilder<Recorder> + Send + 'static,
    ) -> Self {
        self.customise = Some(Box::new(f));
        self
    }

    /// Wraps the app (a `Router` with the Engine.IO layer), e.g. in tower-http layers.
    pub fn wrap(mut self, f: impl FnOnce(axum::Router) -> axum::Router + Send + 'static) -> Self {
        self.wrap = Some(Box::new(f));
        self
    }

    /// Also serves WebTransport, on UDP 127.0.0.1:0 with a fresh
    /// self-signed certificate.
    pub fn webtransport(mut self) -> Self {
        self.webtransport = true;
        self
    }

    /// [`webtransport`](Self::webtransport), with the listener's
    /// configuration changed by `f`.
    pub fn webtransport_with(
        mut self,
        f: impl FnOnce(WebTransportConfig) -> WebTransportConfig + Send + 'static,
    ) -> Self {
        self.webtransport = true;
        self.webtransport_config = Some(Box::new(f));
        self
    }

    /// Binds 127.0.0.1:0 and serves.
    pub async fn start(self) -> TestServer {
        init_tracing();
        let (tx, rx) = mpsc::unbounded_channel();
        let mut builder = EngineIo::builder(Recorder { tx }).config(self.config);
        if let Some(customise) = self.customise {
            builder = customise(builder);
        }
        let engine = builder.build();
        let mut app = axum::Router::new().layer(engine.layer());
        if let Some(wrap) = self.wrap {
            app = wrap(app);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let mut webtransport = None;
        let wt_server = self.webtransport.then(|| {
            let identity = Identity::self_signed(["localhost", "127.0.0.1"]).expect("certificate");
            let certificate_hash = identity.certificate_hash();
            let bind = SocketAddr::from(([127, 0, 0, 1], 0));
            let mut config = WebTransportConfig::new(bind, identity);
            if let Some(f) = self.webtransport_config {
                config = f(config);
            }
            let server = engine
                .serve_webtransport(config)
                .expect("bind udp 127.0.0.1:0");
            webtransport = Some(WebTransportListener {
                addr: server.local_addr().expect("local address"),
                certificate_hash,
            });
            server
        });
        let task = tokio::spawn(async move {
            if let Some(wt) = wt_server {
                tokio::spawn(wt.run());
            }
            if let Err(e) = axum::serve(listener, app).await {
                panic!("server failed: {e}");
            }
        });
        TestServer {
            addr,
            engine,
            events: Events {
                inner: Mutex::new(EventsInner {
                    rx,
                    backlog: VecDeque::new(),
                }),
            },
            webtransport,
            task,
        }
    }
}

impl TestServer {
    /// A server with this configuration and nothing else.
    pub async fn start(config: EngineIoConfig) -> TestServer {
        TestServer::builder(config).start().await
    }

    /// A builder, for servers with `allow_request` or extra layers.
    pub fn builder(config: EngineIoConfig) -> ServerBuilder {
        ServerBuilder {
            config,
            customise: None,
            wrap: None,
            webtransport: false,
            webtransport_config: None,
        }
    }

    /// The server-side handle of an open session.
    pub fn socket(&self, sid: Sid) -> Socket {
        self.engine
            .socket(sid)
            .unwrap_or_else(|| panic!("session {sid} is not open"))
    }
}

/// Logs to the test output when `RUST_LOG` is set.
pub(crate) fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}
