use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use bytes::Bytes;
use dashmap::DashMap;
use http::{Method, Request, Response};
use http_body::Body;
use http_body_util::Full;
use socketio_protocol::engine::{OpenPacket, Sid, SidBuildHasher};

mod heartbeat;
mod query;
mod session;

pub(crate) use heartbeat::Heartbeat;
pub(crate) use query::Query;
pub(crate) use session::{detach_parts, finish};

use crate::{
    error::HttpError,
    handler,
    metrics::{Metrics, Refusal},
    slow::SlowConsumers,
    socket::QueueLimits,
    socket::{lock, UpgradeState, Wire},
    trace,
    transport::{polling, websocket},
    BoxError, CloseReason, EngineIoConfig, EngineIoHandler, EngineIoLayer, EngineIoService,
    NotFound, Socket, TransportType,
};

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// How the engine answers a request: at once, or after waiting.
pub(crate) enum Handled {
    Ready(Response<Full<Bytes>>),
    Pending(BoxFuture<Response<Full<Bytes>>>),
}

fn err(e: HttpError) -> Handled {
    Handled::Ready(e.response(None))
}

/// Decides whether a handshake request may open a session: `Err(message)`
/// refuses it with 403 and `{"code":4,"message":message}`.
pub type AllowRequest =
    Arc<dyn Fn(&http::request::Parts) -> Result<(), String> + Send + Sync + 'static>;

/// An Engine.IO server: its configuration, handler and sessions. Cheap to clone.
///
/// Mount it with [`layer`](EngineIo::layer) in front of another service (an
/// axum `Router`), or use [`service`](EngineIo::service) on its own.
///
/// ```
/// use engineio_tower::{EngineIo, EngineIoConfig, EngineIoHandler, Message, Socket, CloseReason};
///
/// struct Echo;
/// impl EngineIoHandler for Echo {
///     type Data = ();
///     fn on_open(&self, _: &Socket) {}
///     fn on_message(&self, socket: &Socket, msg: Message) {
///         if let Message::Text(t) = msg {
///             let _ = socket.send_text(&t);
///         }
///     }
///     fn on_close(&self, _: &Socket, _: CloseReason) {}
/// }
///
/// let engine = EngineIo::builder(Echo).config(EngineIoConfig::default()).build();
/// let app = axum::Router::<()>::new()
///     .route("/", axum::routing::get(|| async { "hello" }))
///     .layer(engine.layer());
/// ```
pub struct EngineIo<H: EngineIoHandler> {
    pub(crate) inner: Arc<Engine<H>>,
}

impl<H: EngineIoHandler> Clone for EngineIo<H> {
    fn clone(&self) -> Self {
        EngineIo {
            inner: self.inner.clone(),
        }
    }
}

impl<H: EngineIoHandler> fmt::Debug for EngineIo<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineIo")
            .field("config", &self.inner.config)
            .field("sessions", &self.inner.sessions.len())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Engine<H: EngineIoHandler> {
    pub(crate) config: EngineIoConfig,
    pub(crate) handler: H,
    pub(crate) sessions: DashMap<Sid, Socket<H::Data>, SidBuildHasher>,
    /// Watches the sessions whose queue is over `max_buffered_packets`.
    slow: Arc<SlowConsumers>,
    pub(crate) metrics: Metrics,
    /// How many WebTransport listeners run: while one does, polling
    /// handshakes offer the upgrade to WebTransport.
    pub(crate) webtransport_listeners: std::sync::atomic::AtomicUsize,
}

/// Builds an [`EngineIo`] server from a handler.
#[must_use]
pub struct EngineIoBuilder<H> {
    handler: H,
    config: EngineIoConfig,
    allow_request: Option<AllowRequest>,
}

impl<H> fmt::Debug for EngineIoBuilder<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineIoBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<H: EngineIoHandler> EngineIoBuilder<H> {
    /// Sets the configuration (default: [`EngineIoConfig::default`]).
    pub fn config(mut self, config: EngineIoConfig) -> Self {
        self.config = config;
        self
    }

    /// Checks each handshake request; an `Err(message)` refuses it with 403.
    /// The same as [`EngineIoConfigBuilder::allow_request`](crate::EngineIoConfigBuilder::allow_request);
    /// when both are set, this one is used.
    ///
    /// ```
    /// # use engineio_tower::{EngineIo, EngineIoHandler, Message, Socket, CloseReason};
    /// # struct H;
    /// # impl EngineIoHandler for H { type Data = ();
    /// #   fn on_open(&self, _: &Socket) {} fn on_message(&self, _: &Socket, _: Message) {}
    /// #   fn on_close(&self, _: &Socket, _: CloseReason) {} }
    /// let engine = EngineIo::builder(H)
    ///     .allow_request(|parts| match parts.headers.get("x-token") {
    ///         Some(_) => Ok(()),
    ///         None => Err("missing token".into()),
    ///     })
    ///     .build();
    /// ```
    pub fn allow_request<F>(mut self, f: F) -> Self
    where
        F: Fn(&http::request::Parts) -> Result<(), String> + Send + Sync + 'static,
    {
        self.allow_request = Some(Arc::new(f));
        self
    }

    /// The server.
    pub fn build(self) -> EngineIo<H> {
        let mut config = self.config;
        if self.allow_request.is_some() {
            config.allow_request.0 = self.allow_request;
        }
        EngineIo {
            inner: Arc::new(Engine {
                slow: SlowConsumers::new(config.slow_consumer_timeout),
                config,
                handler: self.handler,
                sessions: DashMap::default(),
                metrics: Metrics::register(),
                webtransport_listeners: std::sync::atomic::AtomicUsize::new(0),
            }),
        }
    }
}

impl<H: EngineIoHandler> EngineIo<H> {
    /// A builder with the default configuration.
    pub fn builder(handler: H) -> EngineIoBuilder<H> {
        EngineIoBuilder {
            handler,
            config: EngineIoConfig::default(),
            allow_request: None,
        }
    }

    /// A server with the default configuration.
    pub fn new(handler: H) -> Self {
        Self::builder(handler).build()
    }

    /// A layer that serves Engine.IO requests and passes every other request on.
    pub fn layer(&self) -> EngineIoLayer<H> {
        EngineIoLayer::new(self.clone())
    }

    /// A service that serves Engine.IO requests and answers 404 to others.
    pub fn service(&self) -> EngineIoService<NotFound, H> {
        EngineIoService::new(NotFound, self.clone())
    }

    /// The configuration.
    pub fn config(&self) -> &EngineIoConfig {
        &self.inner.config
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.inner.handler
    }

    /// The open session with this id.
    pub fn socket(&self, sid: Sid) -> Option<Socket<H::Data>> {
        self.inner.sessions.get(&sid).map(|s| s.clone())
    }

    /// Number of open sessions.
    pub fn session_count(&self) -> usize {
        self.inner.sessions.len()
    }

    /// Number of open sessions on HTTP long-polling (those not upgraded).
    /// Walks the sessions: meant for a periodic report, not a hot path.
    pub fn polling_session_count(&self) -> usize {
        self.inner
            .sessions
            .iter()
            .filter(|s| s.transport() == crate::TransportType::Polling)
            .count()
    }

    /// Closes every session with [`CloseReason::ServerShuttingDown`] and
    /// waits until their handlers have seen the close.
    pub async fn close(&self) {
        let sockets: Vec<_> = self.inner.sessions.iter().map(|s| s.clone()).collect();
        for s in &sockets {
            s.close_with(CloseReason::ServerShuttingDown);
        }
        for s in sockets {
            s.closed().await;
        }
        while !self.inner.sessions.is_empty() {
            tokio::task::yield_now().await;
        }
    }
}

impl<H: EngineIoHandler> Engine<H> {
    /// Whether this request is for the Engine.IO server.
    pub(crate) fn matches(&self, path: &str) -> bool {
        let p = self.config.path.as_str();
        path == p || path == &p[..p.len() - 1]
    }

    pub(crate) fn handle<B>(self: Arc<Self>, req: Request<B>) -> Handled
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let (mut parts, body) = req.into_parts();
        let query = Query::parse(parts.uri.query().unwrap_or(""));
        let transport = match query.transport.and_then(TransportType::parse) {
            Some(t) if self.config.allows(t) => t,
            _ => {
                trace::debug!(uri = %parts.uri, "engine.io: unknown transport");
                if query.sid.is_none() {
                    self.metrics.handshake_refused(Refusal::UnknownTransport);
                }
                return err(HttpError::UnknownTransport);
            }
        };

        let Some(sid) = query.sid else {
            // A handshake.
            // As Node: any `EIO` but 4 is protocol v3.
            let wire = match query.eio {
                Some("4") => Wire::default(),
                _ if self.config.allow_eio3() => Wire {
                    v3: true,
                    base64: query.b64,
                },
                _ => {
                    self.metrics
                        .handshake_refused(Refusal::UnsupportedProtocolVersion);
                    return err(HttpError::UnsupportedProtocolVersion);
                }
            };
            if parts.method != Method::GET {
                self.metrics.handshake_refused(Refusal::BadMethod);
                return err(HttpError::BadHandshakeMethod);
            }
            if let Some(allow) = &self.config.allow_request.0 {
                if let Err(message) = allow(&parts) {
                    trace::debug!(%message, "engine.io: handshake refused");
                    self.metrics.handshake_refused(Refusal::Forbidden);
                    return Handled::Ready(HttpError::Forbidden.response(Some(&message)));
                }
            }
            return match transport {
                TransportType::Polling => {
                    Handled::Pending(Box::pin(
                        async move { polling::handshake(&self, parts, wire) },
                    ))
                }
                TransportType::Websocket => {
                    Handled::Ready(websocket::accept(self, &mut parts, None, wire))
                }
                // Never named in a query (`TransportType::parse`): it has a listener of its own.
                TransportType::WebTransport => err(HttpError::UnknownTransport),
            };
        };

        let socket = match sid
            .parse::<Sid>()
            .ok()
            .and_then(|sid| self.sessions.get(&sid).map(|s| s.clone()))
        {
            Some(s) if s.is_usable(transport) => s,
            _ => {
                trace::debug!(sid, "engine.io: unknown sid");
                return err(HttpError::UnknownSid);
            }
        };

        match transport {
            TransportType::Polling => {
                if socket.transport() != TransportType::Polling {
                    trace::debug!(sid, "engine.io: polling request on an upgraded session");
                    return err(HttpError::BadRequest);
                }
                match parts.method {
                    Method::GET => {
                        Handled::Pending(Box::pin(
                            async move { polling::poll(&self, socket).await },
                        ))
                    }
                    Method::POST => Handled::Pending(Box::pin(async move {
                        polling::post(&self, socket, &parts, body).await
                    })),
                    _ => err(HttpError::BadRequest),
                }
            }
            TransportType::Websocket => {
                {
                    let mut state = lock(&socket.session().upgrade);
                    if let Err(e) = websocket::check_upgrade_request(&parts) {
                        return err(e);
                    }
                    if socket.transport() != TransportType::Polling || *state != UpgradeState::None
                    {
                        // As Node does: the connection is accepted, then closed at once.
                        trace::debug!(sid, "engine.io: second websocket for a session, closed");
                        drop(state);
                        return Handled::Ready(websocket::accept_and_close(&mut parts));
                    }
                    *state = UpgradeState::Probing;
                }
                let wire = socket.wire();
                Handled::Ready(websocket::accept(self, &mut parts, Some(socket), wire))
            }
            TransportType::WebTransport => err(HttpError::UnknownTransport),
        }
    }

    /// The `open` packet (`0` and the handshake JSON) for a new session: over
    /// polling it offers the upgrades to WebSocket and to WebTransport (when
    /// a listener runs), in Node's order; over the others nothing.
    pub(crate) fn open_packet(&self, socket: &Socket<H::Data>) -> String {
        let cfg = &self.config;
        let mut upgrades = Vec::new();
        if socket.transport() == TransportType::Polling {
            if cfg.websocket {
                upgrades.push("websocket".to_owned());
            }
            // Protocol v3 has no WebTransport.
            let listening = self
                .webtransport_listeners
                .load(std::sync::atomic::Ordering::Acquire)
                > 0;
            if listening && !socket.wire().v3 {
                upgrades.push("webtransport".to_owned());
            }
        }
        let open = OpenPacket {
            sid: socket.sid(),
            upgrades,
            ping_interval: cfg.ping_interval.as_millis() as u64,
            ping_timeout: cfg.ping_timeout.as_millis() as u64,
            max_payload: cfg.max_payload,
        };
        let mut text = String::with_capacity(160);
        text.push('0');
        text.push_str(&open.to_json());
        text
    }

    /// Registers a new session and starts its heartbeat.
    pub(crate) fn open_session(
        self: &Arc<Self>,
        transport: TransportType,
        parts: http::request::Parts,
        wire: Wire,
    ) -> Socket<H::Data> {
        let sid = loop {
            let sid = Sid::from_random_bytes(rand::random());
            if !self.sessions.contains_key(&sid) {
                break sid;
            }
        };
        self.slow.use_current_runtime();
        let limits = QueueLimits {
            max_packets: self.config.max_buffered_packets,
            max_bytes: self.config.max_buffered_bytes,
            slow: self.slow.clone(),
            metrics: self.metrics.clone(),
        };
        let socket = Socket::new(sid, transport, parts, wire, limits, H::Data::default());
        self.sessions.insert(sid, socket.clone());
        self.metrics
            .session_opened(&socket.session().counted, transport);
        trace::debug!(%sid, transport = transport.as_str(), protocol = socket.protocol(), "engine.io: session opened");
        // A WebSocket-only session's task runs its heartbeat itself; a
        // polling or WebTransport session has a task of its own for it.
        if transport != TransportType::Websocket {
            tokio::spawn(heartbeat::heartbeat(self.clone(), socket.clone()));
        }
        socket
    }
}
