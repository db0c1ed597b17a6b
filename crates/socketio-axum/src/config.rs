use std::time::Duration;

use engineio_tower::{EngineIoConfig, EngineIoConfigBuilder};
use socketio_protocol::socket::DecodeLimits;

use socketio_protocol::socket::Parser;

use crate::ClientBundle;

/// Configuration of a Socket.IO server. Defaults equal those of Node's `socket.io`.
///
/// | option | default | meaning |
/// |---|---|---|
/// | `engine` | see [`EngineIoConfig`], path `/socket.io/` | transport settings |
/// | `connect_timeout` | 45 s | a client that joins no namespace within it is closed |
/// | `ack_timeout` | 5 s | default wait for a client's acknowledgement when none is set |
/// | `max_attachments` | 10 | binary attachments per packet |
/// | `max_attachment_bytes` | `max_payload` | total bytes of attachments per packet |
/// | `max_depth` | 128 | nesting depth of packet JSON |
/// | `cleanup_empty_child_namespaces` | false | remove a dynamic namespace's child once its last socket leaves |
/// | `serve_client` | none | a [`ClientBundle`] served at `<path>socket.io.min.js` and its siblings (Node's `serveClient`) |
/// | `parser` | [`Parser::Json`] | how packets are written on the wire (Node's `parser`); `Parser::Msgpack` with the `msgpack` feature |
/// | `connection_state_recovery` | off | see [`ConnectionStateRecovery`] (Node's `connectionStateRecovery`) |
#[derive(Debug, Clone)]
pub struct SocketIoConfig {
    pub(crate) engine: EngineIoConfig,
    pub(crate) connect_timeout: Duration,
    pub(crate) ack_timeout: Duration,
    pub(crate) limits: DecodeLimits,
    pub(crate) cleanup_empty_children: bool,
    pub(crate) client_bundle: Option<ClientBundle>,
    pub(crate) parser: Parser,
    pub(crate) recovery: Option<ConnectionStateRecovery>,
}

/// Connection state recovery (Node's `connectionStateRecovery`): a client
/// whose connection was lost (transport closed or failed, ping timeout,
/// server-side `conn().close()`, shutdown) and that reconnects within
/// `max_disconnection_duration` gets back its socket id, rooms and `data`,
/// and the events emitted to it meanwhile, before its `connect` event;
/// [`SocketRef::recovered`](crate::SocketRef::recovered) is then true.
/// Every non-volatile event without acknowledgement sent to a socket then
/// carries an offset as its last argument, as Node's server sends it.
///
/// The packets are kept in memory per namespace
/// ([`MemorySessionStore`](crate::adapter::MemorySessionStore)), for the
/// window and within `max_packets` and `max_bytes`; past a bound the oldest
/// are dropped (a `tracing` warning says so), and a client that missed a
/// dropped packet gets a new session instead of a recovered one.
///
/// ```
/// use std::time::Duration;
/// use socketio_axum::{ConnectionStateRecovery, SocketIoConfig};
///
/// let config = SocketIoConfig::builder()
///     .connection_state_recovery(
///         ConnectionStateRecovery::default().max_disconnection_duration(Duration::from_secs(30)),
///     )
///     .build();
/// assert!(config.connection_state_recovery().is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionStateRecovery {
    /// How long a session and the packets are kept (default 2 minutes).
    pub max_disconnection_duration: Duration,
    /// Whether a recovered socket skips the connect middlewares (default true).
    pub skip_middlewares: bool,
    /// Packets kept per namespace at most (default 100,000).
    pub max_packets: usize,
    /// Bytes of packets kept per namespace at most, payloads plus 64 bytes
    /// a packet (default 64 MiB).
    pub max_bytes: usize,
}

impl Default for ConnectionStateRecovery {
    fn default() -> Self {
        ConnectionStateRecovery {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_packets: 100_000,
            max_bytes: 64 << 20,
        }
    }
}

impl ConnectionStateRecovery {
    /// Sets [`max_disconnection_duration`](Self::max_disconnection_duration).
    pub fn max_disconnection_duration(mut self, d: Duration) -> Self {
        self.max_disconnection_duration = d;
        self
    }

    /// Sets [`skip_middlewares`](Self::skip_middlewares).
    pub fn skip_middlewares(mut self, skip: bool) -> Self {
        self.skip_middlewares = skip;
        self
    }

    /// Sets [`max_packets`](Self::max_packets).
    pub fn max_packets(mut self, packets: usize) -> Self {
        self.max_packets = packets;
        self
    }

    /// Sets [`max_bytes`](Self::max_bytes).
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        let engine = EngineIoConfig::builder().path("/socket.io/").build();
        SocketIoConfig {
            limits: limits_for(&engine, DecodeLimits::default()),
            engine,
            connect_timeout: Duration::from_secs(45),
            ack_timeout: Duration::from_secs(5),
            cleanup_empty_children: false,
            client_bundle: None,
            parser: Parser::Json,
            recovery: None,
        }
    }
}

fn limits_for(engine: &EngineIoConfig, mut limits: DecodeLimits) -> DecodeLimits {
    limits.max_attachment_bytes = usize::try_from(engine.max_payload()).unwrap_or(usize::MAX);
    limits
}

impl SocketIoConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> SocketIoConfigBuilder {
        SocketIoConfigBuilder {
            config: SocketIoConfig::default(),
            engine: EngineIoConfig::builder().path("/socket.io/"),
            limits_set: false,
        }
    }

    /// The Engine.IO configuration.
    pub fn engine(&self) -> &EngineIoConfig {
        &self.engine
    }

    /// Time a client has to join a namespace.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// Default acknowledgement timeout.
    pub fn ack_timeout(&self) -> Duration {
        self.ack_timeout
    }

    /// Connection state recovery's settings, if it is on.
    pub fn connection_state_recovery(&self) -> Option<&ConnectionStateRecovery> {
        self.recovery.as_ref()
    }

    /// How packets are written on the wire.
    pub fn parser(&self) -> Parser {
        self.parser
    }

    /// Decoding limits of incoming packets.
    pub fn limits(&self) -> &DecodeLimits {
        &self.limits
    }

    /// The client bundle served under the path, if any.
    pub fn client_bundle(&self) -> Option<&ClientBundle> {
        self.client_bundle.as_ref()
    }
}

/// Builds a [`SocketIoConfig`]. Transport options are forwarded to the Engine.IO configuration.
///
/// ```
/// use std::time::Duration;
/// use socketio_axum::SocketIoConfig;
///
/// let config = SocketIoConfig::builder()
///     .ping_interval(Duration::from_millis(300))
///     .ping_timeout(Duration::from_millis(200))
///     .connect_timeout(Duration::from_secs(1))
///     .build();
/// assert_eq!(config.engine().path(), "/socket.io/");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SocketIoConfigBuilder {
    config: SocketIoConfig,
    engine: EngineIoConfigBuilder,
    limits_set: bool,
}

impl SocketIoConfigBuilder {
    /// Request path (default `/socket.io/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.engine = self.engine.path(path);
        self
    }

    /// Time between two pings (default 25 s).
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.engine = self.engine.ping_interval(d);
        self
    }

    /// Time a client has to answer a ping (default 20 s).
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.engine = self.engine.ping_timeout(d);
        self
    }

    /// Time a client has to finish upgrading to WebSocket (default 10 s).
    pub fn upgrade_timeout(mut self, d: Duration) -> Self {
        self.engine = self.engine.upgrade_timeout(d);
        self
    }

    /// Largest HTTP body or WebSocket message in bytes (default 1,000,000; Node's `maxHttpBufferSize`).
    pub fn max_payload(mut self, bytes: u64) -> Self {
        self.engine = self.engine.max_payload(bytes);
        self
    }

    /// Per-connection outgoing queue length (default 1024 packets); see
    /// [`EngineIoConfigBuilder::max_buffered_packets`].
    pub fn max_buffered_packets(mut self, packets: usize) -> Self {
        self.engine = self.engine.max_buffered_packets(packets);
        self
    }

    /// Per-connection outgoing queue size in bytes (default 16 MiB);
    /// see [`EngineIoConfigBuilder::max_buffered_bytes`].
    pub fn max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.engine = self.engine.max_buffered_bytes(bytes);
        self
    }

    /// Accepted transports (default both).
    pub fn transports(mut self, polling: bool, websocket: bool) -> Self {
        self.engine = self.engine.transports(polling, websocket);
        self
    }

    /// Size of each WebSocket read buffer, and of each read (default 1024
    /// bytes); see [`EngineIoConfigBuilder::ws_read_buffer_size`].
    pub fn ws_read_buffer_size(mut self, bytes: usize) -> Self {
        self.engine = self.engine.ws_read_buffer_size(bytes);
        self
    }

    /// Checks each handshake request (Node's `allowRequest`); an
    /// `Err(message)` refuses it with 403. See
    /// [`EngineIoConfigBuilder::allow_request`].
    ///
    /// ```
    /// use socketio_axum::SocketIoConfig;
    ///
    /// let config = SocketIoConfig::builder()
    ///     .allow_request(|parts| match parts.headers.get("origin") {
    ///         Some(o) if o == "https://example.com" => Ok(()),
    ///         _ => Err("origin not allowed".into()),
    ///     })
    ///     .build();
    /// assert!(config.engine().allow_request().is_some());
    /// ```
    pub fn allow_request<F>(mut self, f: F) -> Self
    where
        F: Fn(&http::request::Parts) -> Result<(), String> + Send + Sync + 'static,
    {
        self.engine = self.engine.allow_request(f);
        self
    }

    /// Also serves socket.io-client 2.x (Engine.IO protocol v3, Socket.IO
    /// protocol v4), as Node's `allowEIO3` (default off: refused with
    /// `Unsupported protocol version`). Such a client is joined to `/` at
    /// the handshake, as Node does, and a namespace's query
    /// (`io("/admin?token=abc")`) is its auth payload
    /// (`{"token":"abc"}`). See [`EngineIoConfigBuilder::allow_eio3`].
    ///
    /// ```
    /// use socketio_axum::SocketIoConfig;
    ///
    /// let config = SocketIoConfig::builder().allow_eio3(true).build();
    /// assert!(config.engine().allow_eio3());
    /// ```
    #[cfg(feature = "eio3")]
    pub fn allow_eio3(mut self, allow: bool) -> Self {
        self.engine = self.engine.allow_eio3(allow);
        self
    }

    /// Any other Engine.IO option: `f` gets the Engine.IO builder as set so
    /// far (path `/socket.io/` and the options above) and returns it.
    /// Every method of [`EngineIoConfigBuilder`] is reachable this way,
    /// including options added after this builder's own forwarding methods.
    ///
    /// ```
    /// use socketio_axum::SocketIoConfig;
    ///
    /// let config = SocketIoConfig::builder()
    ///     .engine(|e| e.ws_read_buffer_size(4096))
    ///     .build();
    /// assert_eq!(config.engine().ws_read_buffer_size(), 4096);
    /// ```
    pub fn engine(
        mut self,
        f: impl FnOnce(EngineIoConfigBuilder) -> EngineIoConfigBuilder,
    ) -> Self {
        self.engine = f(self.engine);
        self
    }

    /// Turns connection state recovery on (default off); see
    /// [`ConnectionStateRecovery`].
    pub fn connection_state_recovery(mut self, recovery: ConnectionStateRecovery) -> Self {
        self.config.recovery = Some(recovery);
        self
    }

    /// Time a client has to join a namespace after the handshake (default 45 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.config.connect_timeout = d;
        self
    }

    /// Default acknowledgement timeout for `emit_with_ack` (default 5 s).
    pub fn ack_timeout(mut self, d: Duration) -> Self {
        self.config.ack_timeout = d;
        self
    }

    /// How packets are written on the wire (default [`Parser::Json`]);
    /// clients must use the same parser. The msgpack parser needs the
    /// `msgpack` feature. Its limits are those of
    /// [`decode_limits`](Self::decode_limits): nesting depth, and binary
    /// values counted as attachments.
    pub fn parser(mut self, parser: Parser) -> Self {
        self.config.parser = parser;
        self
    }

    /// Limits applied when decoding packets (attachment count and size, JSON depth).
    pub fn decode_limits(mut self, limits: DecodeLimits) -> Self {
        self.config.limits = limits;
        self.limits_set = true;
        self
    }

    /// How long a connection's outgoing queue may stay at
    /// `max_buffered_packets` or more before the connection is closed as a
    /// slow consumer (default 5 s); see
    /// [`EngineIoConfigBuilder::slow_consumer_timeout`].
    pub fn slow_consumer_timeout(mut self, d: Duration) -> Self {
        self.engine = self.engine.slow_consumer_timeout(d);
        self
    }

    /// Remove a dynamic namespace's child once its last socket leaves (default false).
    pub fn cleanup_empty_child_namespaces(mut self, yes: bool) -> Self {
        self.config.cleanup_empty_children = yes;
        self
    }

    /// Serves the official browser client under the path (Node's
    /// `serveClient`, which is on by default there; here it needs the
    /// bundle's files, see [`ClientBundle`]).
    pub fn serve_client(mut self, bundle: ClientBundle) -> Self {
        self.config.client_bundle = Some(bundle);
        self
    }

    /// The configuration.
    pub fn build(self) -> SocketIoConfig {
        let mut config = self.config;
        config.engine = self.engine.build();
        if !self.limits_set {
            config.limits = limits_for(&config.engine, config.limits);
        }
        config
    }

    /// Sets a cookie holding the session id on the response to each polling
    /// handshake (default: none), like Node's `cookie` option, for load
    /// balancers that stick clients by cookie; see
    /// [`EngineIoConfigBuilder::cookie`] and docs/deployment.md.
    ///
    /// ```
    /// use socketio_axum::{SessionCookie, SocketIoConfig};
    ///
    /// // Node's `cookie: true`: `Set-Cookie: io=<sid>; Path=/; HttpOnly; SameSite=Lax`.
    /// let config = SocketIoConfig::builder().cookie(SessionCookie::default()).build();
    /// assert!(config.engine().cookie().is_some());
    /// ```
    pub fn cookie(mut self, cookie: crate::SessionCookie) -> Self {
        self.engine = self.engine.cookie(cookie);
        self
    }
}
