use std::{fmt, time::Duration};

use crate::{AllowRequest, SessionCookie};

/// The transports a server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportType {
    /// HTTP long-polling (`transport=polling`).
    Polling,
    /// WebSocket (`transport=websocket`).
    Websocket,
    /// WebTransport over HTTP/3 (feature `webtransport`): a session on a
    /// UDP listener of its own, not an HTTP request to this service.
    WebTransport,
}

impl TransportType {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportType::Polling => "polling",
            TransportType::Websocket => "websocket",
            TransportType::WebTransport => "webtransport",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "polling" => Some(TransportType::Polling),
            "websocket" => Some(TransportType::Websocket),
            _ => None,
        }
    }
}

/// Configuration of an Engine.IO server. Defaults equal those of Node's `engine.io`.
///
/// | option | default | meaning |
/// |---|---|---|
/// | `path` | `/engine.io/` | request path the server answers |
/// | `ping_interval` | 25 s | time between two pings |
/// | `ping_timeout` | 20 s | time the client has to answer a ping |
/// | `upgrade_timeout` | 10 s | time a client has to finish the upgrade to WebSocket |
/// | `max_payload` | 1,000,000 bytes | largest POST body, WebSocket message or frame (Node's `maxHttpBufferSize`) |
/// | `max_buffered_packets` | 1024 | per-session outgoing queue length past which the peer is not read and the slow-consumer clock runs |
/// | `max_buffered_bytes` | 16 MiB | per-session outgoing queue size (payload bytes plus 64 per item) at which the session is closed as a slow consumer |
/// | `slow_consumer_timeout` | 5 s | how long a queue may stay at `max_buffered_packets` or more before the session is closed as a slow consumer |
/// | `transports` | polling, websocket | transports accepted |
/// | `ws_read_buffer_size` | 1024 bytes | size of each WebSocket read buffer, and of each read |
/// | `allow_request` | none | a hook that may refuse a handshake with 403 (Node's `allowRequest`) |
/// | `cookie` | none | session cookie set on the polling handshake, for sticky sessions (Node's `cookie`) |
/// | `per_message_deflate` | off | WebSocket per-message compression (feature `deflate`, Node's `perMessageDeflate`), from `deflate_threshold` (1024 bytes) up |
/// | `allow_eio3` | false | also serve Engine.IO protocol v3 clients (socket.io-client 2.x; Node's `allowEIO3`; feature `eio3`) |
///
/// ```
/// use std::time::Duration;
/// use engineio_tower::EngineIoConfig;
///
/// let config = EngineIoConfig::builder()
///     .path("/realtime/")
///     .ping_interval(Duration::from_millis(300))
///     .ping_timeout(Duration::from_millis(200))
///     .max_payload(1_000_000)
///     .build();
/// assert_eq!(config.path(), "/realtime/");
/// ```
#[derive(Debug, Clone)]
pub struct EngineIoConfig {
    pub(crate) path: String,
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) upgrade_timeout: Duration,
    pub(crate) max_payload: u64,
    pub(crate) max_buffered_packets: usize,
    pub(crate) max_buffered_bytes: usize,
    pub(crate) slow_consumer_timeout: Duration,
    pub(crate) polling: bool,
    pub(crate) websocket: bool,
    pub(crate) ws_read_buffer_size: usize,
    pub(crate) cookie: Option<SessionCookie>,
    pub(crate) allow_request: AllowRequestHook,
    /// permessage-deflate's threshold when it is on.
    #[cfg(feature = "deflate")]
    pub(crate) per_message_deflate: Option<usize>,
    /// zlib's compression level of permessage-deflate.
    #[cfg(feature = "deflate")]
    pub(crate) deflate_level: u32,
    #[cfg(feature = "eio3")]
    pub(crate) allow_eio3: bool,
}

/// Node's `perMessageDeflate.threshold`: smaller messages go uncompressed.
#[cfg(feature = "deflate")]
const DEFLATE_THRESHOLD: usize = 1024;

/// The `allow_request` hook, if any, with a `Debug` that names no closure.
#[derive(Clone, Default)]
pub(crate) struct AllowRequestHook(pub(crate) Option<AllowRequest>);

impl fmt::Debug for AllowRequestHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

impl Default for EngineIoConfig {
    fn default() -> Self {
        EngineIoConfig {
            path: "/engine.io/".to_owned(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            max_buffered_packets: 1024,
            max_buffered_bytes: 16 << 20,
            slow_consumer_timeout: Duration::from_secs(5),
            polling: true,
            websocket: true,
            ws_read_buffer_size: 1024,
            allow_request: AllowRequestHook(None),
            cookie: None,
            #[cfg(feature = "deflate")]
            per_message_deflate: None,
            #[cfg(feature = "deflate")]
            deflate_level: 6,
            #[cfg(feature = "eio3")]
            allow_eio3: false,
        }
    }
}

impl EngineIoConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> EngineIoConfigBuilder {
        EngineIoConfigBuilder {
            config: EngineIoConfig::default(),
        }
    }

    /// The request path, always with a trailing `/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Time between two pings.
    pub fn ping_interval(&self) -> Duration {
        self.ping_interval
    }

    /// Time the client has to answer a ping.
    pub fn ping_timeout(&self) -> Duration {
        self.ping_timeout
    }

    /// Time a client has to complete an upgrade.
    pub fn upgrade_timeout(&self) -> Duration {
        self.upgrade_timeout
    }

    /// Largest accepted payload in bytes.
    pub fn max_payload(&self) -> u64 {
        self.max_payload
    }

    /// Per-session outgoing queue length.
    pub fn max_buffered_packets(&self) -> usize {
        self.max_buffered_packets
    }

    /// Per-session outgoing queue size, in payload bytes.
    pub fn max_buffered_bytes(&self) -> usize {
        self.max_buffered_bytes
    }

    /// How long a queue may stay at `max_buffered_packets` or more.
    pub fn slow_consumer_timeout(&self) -> Duration {
        self.slow_consumer_timeout
    }

    /// Size of each WebSocket read buffer, in bytes.
    pub fn ws_read_buffer_size(&self) -> usize {
        self.ws_read_buffer_size
    }

    /// The size from which WebSocket messages are compressed, when
    /// per-message compression is on (feature `deflate`).
    #[cfg(feature = "deflate")]
    pub fn per_message_deflate(&self) -> Option<usize> {
        self.per_message_deflate
    }

    /// zlib's compression level of per-message compression (feature `deflate`).
    #[cfg(feature = "deflate")]
    pub fn deflate_level(&self) -> u32 {
        self.deflate_level
    }

    /// The hook that checks handshake requests, if one is set.
    pub fn allow_request(&self) -> Option<&AllowRequest> {
        self.allow_request.0.as_ref()
    }

    /// Whether clients of Engine.IO protocol v3 are served (always false
    /// without the `eio3` feature).
    pub fn allow_eio3(&self) -> bool {
        #[cfg(feature = "eio3")]
        return self.allow_eio3;
        #[cfg(not(feature = "eio3"))]
        false
    }

    /// Whether `transport` is accepted. Always true for WebTransport, which
    /// has no switch here: it is served, and offered to polling sessions,
    /// while a listener of `EngineIo::serve_webtransport` runs (feature
    /// `webtransport`), and never without one.
    pub fn allows(&self, transport: TransportType) -> bool {
        match transport {
            TransportType::Polling => self.polling,
            TransportType::Websocket => self.websocket,
            // Served while `EngineIo::serve_webtransport` runs.
            TransportType::WebTransport => true,
        }
    }

    /// The session cookie set on polling handshakes, if any.
    pub fn cookie(&self) -> Option<&SessionCookie> {
        self.cookie.as_ref()
    }
}

/// Builds an [`EngineIoConfig`]; every method takes and returns the builder.
#[derive(Debug, Clone)]
#[must_use]
pub struct EngineIoConfigBuilder {
    config: EngineIoConfig,
}

impl EngineIoConfigBuilder {
    /// The request path (default `/engine.io/`). A trailing `/` is added if missing.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        self.config.path = path;
        self
    }

    /// Time between two pings (default 25 s). The first ping is sent one
    /// interval after the handshake, never at once.
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.config.ping_interval = d;
        self
    }

    /// Time the client has to answer a ping before the session is closed (default 20 s).
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.config.ping_timeout = d;
        self
    }

    /// Time a client has to complete the upgrade to WebSocket (default 10 s).
    pub fn upgrade_timeout(mut self, d: Duration) -> Self {
        self.config.upgrade_timeout = d;
        self
    }

    /// Largest POST body, WebSocket message or WebSocket frame, in bytes
    /// (default 1,000,000). Advertised to clients as `maxPayload`.
    pub fn max_payload(mut self, bytes: u64) -> Self {
        self.config.max_payload = bytes;
        self
    }

    /// Length of the per-session outgoing queue (default 1024 packets). At
    /// or past it the peer's packets are not read,
    /// [`Socket::try_send`](crate::Socket::try_send) refuses (volatile
    /// packets are dropped), and the session is closed as a slow consumer if
    /// the queue stays there for [`slow_consumer_timeout`](Self::slow_consumer_timeout).
    pub fn max_buffered_packets(mut self, packets: usize) -> Self {
        self.config.max_buffered_packets = packets.max(1);
        self
    }

    /// Bytes a session's outgoing queue may hold (default 16 MiB; payloads,
    /// plus 64 per queued item): once it holds that much, a frame is refused
    /// and the session closed as a slow consumer at once, so memory per
    /// session stays bounded (by this plus one frame) whatever the server
    /// emits to a peer that does not read.
    pub fn max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.config.max_buffered_bytes = bytes.max(1);
        self
    }

    /// How long a session's outgoing queue may stay at
    /// [`max_buffered_packets`](Self::max_buffered_packets) or more before the
    /// session is closed as a slow consumer (default 5 s).
    pub fn slow_consumer_timeout(mut self, d: Duration) -> Self {
        self.config.slow_consumer_timeout = d;
        self
    }

    /// Which transports are accepted (default both). With only WebSocket, the
    /// handshake advertises no upgrade.
    pub fn transports(mut self, polling: bool, websocket: bool) -> Self {
        self.config.polling = polling;
        self.config.websocket = websocket;
        self
    }

    /// Size of each WebSocket read buffer, and of each read (default 1024
    /// bytes). It is allocated per connection, so a small one keeps idle
    /// connections lean; it grows to hold a larger frame, but a larger value
    /// reads large messages in fewer system calls.
    pub fn ws_read_buffer_size(mut self, bytes: usize) -> Self {
        self.config.ws_read_buffer_size = bytes.max(256);
        self
    }

    /// WebSocket per-message compression, RFC 7692's `permessage-deflate`
    /// (Node's `perMessageDeflate`; feature `deflate`; off by default, as
    /// in Node). When a client offers it, messages of at least 1024 bytes
    /// (see [`deflate_threshold`](Self::deflate_threshold)) are sent
    /// compressed, and the client's compressed messages are read, each
    /// bounded by `max_payload` once inflated: one that would inflate past
    /// it closes the connection with 1009 as soon as it does.
    #[cfg(feature = "deflate")]
    pub fn per_message_deflate(mut self, on: bool) -> Self {
        self.config.per_message_deflate = on.then_some(DEFLATE_THRESHOLD);
        self
    }

    /// Turns per-message compression on, compressing messages of `bytes`
    /// and more (Node's `perMessageDeflate.threshold`, default 1024).
    #[cfg(feature = "deflate")]
    pub fn deflate_threshold(mut self, bytes: usize) -> Self {
        self.config.per_message_deflate = Some(bytes);
        self
    }

    /// zlib's compression level for per-message compression: 1 (fastest)
    /// to 9 (smallest), 0 to send stored blocks; default 6, zlib's and
    /// Node's (`perMessageDeflate.zlibDeflateOptions.level`). The CPU a
    /// compressed broadcast costs depends on it: docs/benchmarks.md.
    #[cfg(feature = "deflate")]
    pub fn deflate_level(mut self, level: u32) -> Self {
        self.config.deflate_level = level.min(9);
        self
    }

    /// Checks each handshake request (Node's `allowRequest`): an
    /// `Err(message)` refuses it with 403 and `{"code":4,"message":message}`,
    /// before any session exists. Requests of an open session are not checked.
    ///
    /// ```
    /// use engineio_tower::EngineIoConfig;
    ///
    /// let config = EngineIoConfig::builder()
    ///     .allow_request(|parts| match parts.headers.get("x-token") {
    ///         Some(_) => Ok(()),
    ///         None => Err("missing token".into()),
    ///     })
    ///     .build();
    /// assert!(config.allow_request().is_some());
    /// ```
    pub fn allow_request<F>(mut self, f: F) -> Self
    where
        F: Fn(&http::request::Parts) -> Result<(), String> + Send + Sync + 'static,
    {
        self.config.allow_request = AllowRequestHook(Some(std::sync::Arc::new(f)));
        self
    }

    /// Sets a cookie holding the session id on the response to each polling
    /// handshake (default: no cookie), like Node's `cookie` option; for load
    /// balancers that stick a client to a server by cookie. Node's
    /// `cookie: true` is `.cookie(SessionCookie::default())`. See
    /// [`SessionCookie`].
    pub fn cookie(mut self, cookie: SessionCookie) -> Self {
        self.config.cookie = Some(cookie);
        self
    }

    /// Also serves clients of Engine.IO protocol v3 (`EIO=3`: socket.io-client
    /// 2.x, engine.io-client 3.x), as Node's `allowEIO3` does (default off:
    /// they are refused with 400 and `{"code":5,"message":"Unsupported
    /// protocol version"}`). Their sessions use v3's polling payloads and
    /// its heartbeat, in which the client pings and the server answers;
    /// [`Socket::protocol`](crate::Socket::protocol) tells them apart.
    ///
    /// ```
    /// let config = engineio_tower::EngineIoConfig::builder().allow_eio3(true).build();
    /// assert!(config.allow_eio3());
    /// ```
    #[cfg(feature = "eio3")]
    pub fn allow_eio3(mut self, allow: bool) -> Self {
        self.config.allow_eio3 = allow;
        self
    }

    /// The configuration.
    pub fn build(self) -> EngineIoConfig {
        self.config
    }
}
