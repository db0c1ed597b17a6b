//! The UDP listener of WebTransport sessions, beside the HTTP one.

use std::{
    fmt,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use wtransport::endpoint::{endpoint_side, IncomingSession};

use super::Identity;
use crate::{engine::Engine, trace, EngineIo, EngineIoHandler};

/// Where the WebTransport listener binds, and the certificate it presents.
///
/// The official client reaches WebTransport at the host and port of the
/// URL given to `io()` (the page's, when none is given): bind the UDP port
/// of the same number as the HTTP listener's TCP port.
#[derive(Debug, Clone)]
pub struct WebTransportConfig {
    addr: SocketAddr,
    identity: Identity,
    receive_buffer: usize,
    max_connections: usize,
}

/// The UDP socket's receive buffer asked for by default: 4 MiB.
const RECEIVE_BUFFER: usize = 4 << 20;

/// Connections served at once by default.
const MAX_CONNECTIONS: usize = 10_000;

impl WebTransportConfig {
    /// A listener on UDP `addr` presenting `identity`.
    pub fn new(addr: SocketAddr, identity: Identity) -> Self {
        WebTransportConfig {
            addr,
            identity,
            receive_buffer: RECEIVE_BUFFER,
            max_connections: MAX_CONNECTIONS,
        }
    }

    /// QUIC connections served at once, from their first packet to the end
    /// of their session, handshakes included (default 10,000). Past it, a
    /// new connection is refused (QUIC's `CONNECTION_REFUSED`; the official
    /// client then stays on, or falls back to, polling or WebSocket), with
    /// a `tracing` warning. A session holds about 77 KiB, mostly the QUIC
    /// stack's (docs/benchmarks.md, "WebTransport"): the default bounds
    /// that at about 750 MiB.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// The receive buffer asked for the UDP socket, in bytes (default
    /// 4 MiB; the kernel's default, 208 KiB on Linux, dropped packets in a
    /// storm of 1,000 handshakes, each loss costing a retransmission
    /// timeout). Linux grants at most `net.core.rmem_max`; the request is
    /// best effort.
    pub fn receive_buffer(mut self, bytes: usize) -> Self {
        self.receive_buffer = bytes;
        self
    }

    /// The address to bind.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The certificate presented.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }
}

/// The client's address of a WebTransport session, kept in the extensions
/// of the session's [`req_parts`](crate::Socket::req_parts) (axum's
/// `ConnectInfo` holds it for the other transports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// What the listener needs of the engine, without its handler type.
pub(crate) trait Sessions: Send + Sync + 'static {
    /// Serves one incoming QUIC connection to its end.
    fn serve(
        self: Arc<Self>,
        incoming: IncomingSession,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>>;
    /// The count of running listeners.
    fn listeners(&self) -> &AtomicUsize;
}

impl<H: EngineIoHandler> Sessions for Engine<H> {
    fn serve(
        self: Arc<Self>,
        incoming: IncomingSession,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(crate::transport::webtransport::serve(self, incoming))
    }

    fn listeners(&self) -> &AtomicUsize {
        &self.webtransport_listeners
    }
}

/// A bound WebTransport listener of an [`EngineIo`]; [`run`](Self::run)
/// serves it. Made by [`EngineIo::serve_webtransport`].
pub struct WebTransportServer {
    endpoint: wtransport::Endpoint<endpoint_side::Server>,
    engine: Arc<dyn Sessions>,
    max_connections: usize,
}

impl fmt::Debug for WebTransportServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebTransportServer")
            .field("local_addr", &self.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl WebTransportServer {
    /// The address bound (its port when the configuration asked for port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Accepts sessions, each on a task of its own, until the future is
    /// dropped. Meanwhile polling handshakes offer the upgrade to
    /// WebTransport. Sessions already open go on after it is dropped.
    ///
    /// # Panics
    ///
    /// If the QUIC endpoint's own task ends (a fatal error of its UDP
    /// socket): wtransport 0.7.2 panics in `accept` then. Spawn it and
    /// watch its `JoinHandle` to hear of it; open sessions are not
    /// affected, and polling stops offering WebTransport.
    pub async fn run(self) {
        struct Listening(Arc<dyn Sessions>);
        impl Drop for Listening {
            fn drop(&mut self) {
                self.0.listeners().fetch_sub(1, Ordering::AcqRel);
            }
        }
        /// One connection served, counted until its task ends.
        struct Serving(Arc<AtomicUsize>);
        impl Drop for Serving {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.engine.listeners().fetch_add(1, Ordering::AcqRel);
        let _listening = Listening(self.engine.clone());
        let serving = Arc::new(AtomicUsize::new(0));
        loop {
            let incoming = self.endpoint.accept().await;
            // Only this loop adds, so the count cannot pass the bound.
            if serving.load(Ordering::Acquire) >= self.max_connections {
                trace::warn!(peer = %incoming.remote_address(), max_connections = self.max_connections, "engine.io: webtransport connection refused, max_connections reached");
                incoming.refuse();
                continue;
            }
            serving.fetch_add(1, Ordering::AcqRel);
            let guard = Serving(serving.clone());
            let session = self.engine.clone().serve(incoming);
            tokio::spawn(async move {
                let _guard = guard;
                session.await
            });
        }
    }
}

impl<H: EngineIoHandler> EngineIo<H> {
    /// Binds a WebTransport (HTTP/3) listener for this engine's sessions;
    /// run it beside the HTTP server with [`WebTransportServer::run`].
    /// Must be called within a tokio runtime.
    ///
    /// Sessions opened there go through the same handler, limits,
    /// heartbeat and [`allow_request`](crate::EngineIoConfigBuilder::allow_request)
    /// (given the CONNECT request: its `:authority`, `:path`, and headers such
    /// as `origin`) as the others.
    ///
    /// ```no_run
    /// # use engineio_tower::{EngineIo, EngineIoHandler, Message, Socket, CloseReason};
    /// # struct H;
    /// # impl EngineIoHandler for H { type Data = ();
    /// #   fn on_open(&self, _: &Socket) {} fn on_message(&self, _: &Socket, _: Message) {}
    /// #   fn on_close(&self, _: &Socket, _: CloseReason) {} }
    /// use engineio_tower::webtransport::{Identity, WebTransportConfig};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let engine = EngineIo::builder(H).build();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// let identity = Identity::self_signed(["localhost", "127.0.0.1"])?;
    /// let wt = engine.serve_webtransport(WebTransportConfig::new(listener.local_addr()?, identity))?;
    /// tokio::spawn(wt.run());
    /// let app = axum::Router::new().layer(engine.layer());
    /// axum::serve(listener, app).await?;
    /// # Ok(()) }
    /// ```
    pub fn serve_webtransport(
        &self,
        config: WebTransportConfig,
    ) -> std::io::Result<WebTransportServer> {
        let cfg = &self.inner.config;
        // QUIC must not end a session the heartbeat still holds alive, and
        // Chromium takes up to half off the idle timeout offered (seen:
        // "No recent network activity after 1000744us. Timeout:1s" for 2 s
        // offered with pings every second): twice the heartbeat's period.
        let idle = 2 * (cfg.ping_interval + cfg.ping_timeout);
        let server = wtransport::ServerConfig::builder()
            .with_bind_socket(udp_socket(config.addr, config.receive_buffer)?)
            .with_custom_transport(config.identity.inner, transport(cfg.max_payload))
            .max_idle_timeout(Some(idle))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?
            .build();
        let endpoint = wtransport::Endpoint::server(server)?;
        trace::debug!(addr = ?endpoint.local_addr().ok(), "engine.io: webtransport listener bound");
        Ok(WebTransportServer {
            endpoint,
            engine: self.inner.clone(),
            max_connections: config.max_connections,
        })
    }
}

/// A UDP socket bound to `addr`, non-blocking, with a receive buffer of
/// `receive_buffer` bytes if the system grants it.
fn udp_socket(addr: SocketAddr, receive_buffer: usize) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if let Err(e) = socket.set_recv_buffer_size(receive_buffer) {
        trace::warn!(error = %e, receive_buffer, "engine.io: webtransport socket's receive buffer not set");
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// QUIC's limits for one session: the streams a WebTransport session of
/// Engine.IO uses, and windows that bound what a peer can make the server
/// hold. quinn's defaults (100 streams each way, 1.25 MB a stream, no
/// bound on the connection) would let a peer park about 250 MB on streams
/// no one reads; a session reads one.
fn transport(max_payload: u64) -> wtransport::quinn::TransportConfig {
    use wtransport::quinn::VarInt;
    // A frame of `max_payload` and its header fit in one stream's window.
    let stream_window = (max_payload + 9).max(64 * 1024);
    let mut transport = wtransport::quinn::TransportConfig::default();
    transport
        // The CONNECT request's stream and the session's one.
        .max_concurrent_bidi_streams(VarInt::from_u32(4))
        // HTTP/3's control stream and QPACK's two.
        .max_concurrent_uni_streams(VarInt::from_u32(4))
        .stream_receive_window(VarInt::from_u64(stream_window).unwrap_or(VarInt::MAX))
        .receive_window(VarInt::from_u64(stream_window + (1 << 20)).unwrap_or(VarInt::MAX))
        // Engine.IO sends no datagrams.
        .datagram_receive_buffer_size(Some(16 * 1024));
    transport
}
