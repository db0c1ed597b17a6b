use std::{fmt, time::Duration};

use http::{HeaderMap, HeaderName, HeaderValue};
use socketio_protocol::socket::{DecodeLimits, Parser};

use crate::{
    config::{Auth, BufferOverflow, Config, Transports},
    engine::Endpoint,
    Client, Error,
};

/// Configures a [`Client`]. Defaults are those of the JS client.
///
/// | option | default | JS client option |
/// |---|---|---|
/// | [`transports`](Self::transports) | polling, then upgrade (to WebTransport, with its feature, or WebSocket) | `transports`, `upgrade` |
/// | [`path`](Self::path) | `/socket.io/` | `path` |
/// | [`query`](Self::query) | none | `query` |
/// | [`header`](Self::header) | none | `extraHeaders` |
/// | [`auth`](Self::auth) | none | `auth` |
/// | [`reconnection`](Self::reconnection) | `true` | `reconnection` |
/// | [`reconnection_attempts`](Self::reconnection_attempts) | infinite | `reconnectionAttempts` |
/// | [`reconnection_delay`](Self::reconnection_delay) | 1 s | `reconnectionDelay` |
/// | [`reconnection_delay_max`](Self::reconnection_delay_max) | 5 s | `reconnectionDelayMax` |
/// | [`randomization_factor`](Self::randomization_factor) | 0.5 | `randomizationFactor` |
/// | [`connect_timeout`](Self::connect_timeout) | 20 s | `timeout` |
/// | [`ack_timeout`](Self::ack_timeout) | none | `ackTimeout` |
/// | [`max_buffered_packets`](Self::max_buffered_packets) | 1024 | (unbounded) |
/// | [`buffer_overflow`](Self::buffer_overflow) | reject | (none) |
/// | `add_root_certificate_pem`, `add_root_certificate_der` (feature `tls`) | none | `ca` (Node) |
/// | `platform_roots` (feature `tls`) | on | (the platform's) |
/// | `server_certificate_hashes` (feature `webtransport`) | none | `transportOptions.webtransport.serverCertificateHashes` |
///
/// ```
/// use std::time::Duration;
/// use serde_json::json;
/// use socketio_client::{Client, Transports};
///
/// // The defaults...
/// let client = Client::builder("http://localhost:3000").build().unwrap();
///
/// // ...and a customised client.
/// let client = Client::builder("http://localhost:3000")
///     .transports(Transports::WebSocketOnly)
///     .path("/realtime/")
///     .query("room", "lobby")
///     .header("x-api-key", "secret")
///     .auth(json!({"token": "abc"}))
///     .reconnection_delay(Duration::from_millis(500))
///     .reconnection_delay_max(Duration::from_secs(10))
///     .ack_timeout(Duration::from_secs(5))
///     .build()
///     .unwrap();
/// ```
#[must_use]
pub struct ClientBuilder {
    url: String,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    pub(crate) error: Option<Error>,
    #[cfg(feature = "tls")]
    pub(crate) tls: crate::tls::TlsSettings,
    transports: Transports,
    auth: Auth,
    reconnection: bool,
    reconnection_attempts: u32,
    reconnection_delay: Duration,
    reconnection_delay_max: Duration,
    randomization_factor: f64,
    connect_timeout: Duration,
    ack_timeout: Option<Duration>,
    max_buffered_packets: usize,
    buffer_overflow: BufferOverflow,
    decode_limits: DecodeLimits,
    parser: Parser,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.url)
            .field("path", &self.path)
            .field("transports", &self.transports)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    pub(crate) fn new(url: impl Into<String>) -> Self {
        ClientBuilder {
            url: url.into(),
            path: "/socket.io/".to_owned(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            error: None,
            #[cfg(feature = "tls")]
            tls: crate::tls::TlsSettings::default(),
            transports: Transports::default(),
            auth: Auth::none(),
            reconnection: true,
            reconnection_attempts: u32::MAX,
            reconnection_delay: Duration::from_secs(1),
            reconnection_delay_max: Duration::from_secs(5),
            randomization_factor: 0.5,
            connect_timeout: Duration::from_secs(20),
            ack_timeout: None,
            max_buffered_packets: 1024,
            buffer_overflow: BufferOverflow::default(),
            decode_limits: DecodeLimits::default(),
            parser: Parser::Json,
        }
    }

    /// The transports to use (default: polling, then upgrade to WebTransport or WebSocket;
    /// see [`Transports::Upgrade`](crate::Transports::Upgrade)).
    ///
    /// ```
    /// # use socketio_client::{Client, Transports};
    /// let builder = Client::builder("http://localhost:3000").transports(Transports::PollingOnly);
    /// ```
    pub fn transports(mut self, transports: Transports) -> Self {
        self.transports = transports;
        self
    }

    /// The Engine.IO path on the server (default `/socket.io/`); slashes
    /// are added at both ends if missing.
    ///
    /// ```
    /// # use socketio_client::Client;
    /// let builder = Client::builder("http://localhost:3000").path("/realtime");
    /// ```
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Adds a query parameter to every request (the server sees it in its
    /// handshake). May be called several times.
    ///
    /// ```
    /// # use socketio_client::Client;
    /// let builder = Client::builder("http://localhost:3000").query("room", "lobby").query("v", "2");
    /// ```
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Adds a header to every HTTP request and to the WebSocket handshake.
    /// An invalid name or value makes [`build`](Self::build) fail.
    ///
    /// ```
    /// # use socketio_client::Client;
    /// let client = Client::builder("http://localhost:3000").header("x-api-key", "secret").build();
    /// assert!(client.is_ok());
    /// let invalid = Client::builder("http://localhost:3000").header("bad name", "v").build();
    /// assert!(invalid.unwrap_err().is_config());
    /// ```
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        HeaderValue: TryFrom<V>,
    {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => {
                self.error
                    .get_or_insert_with(|| Error::config("invalid header name or value"));
            }
        }
        self
    }

    /// The `auth` payload of every namespace's `CONNECT` (default none): a
    /// JSON object, or an [`Auth::from_fn`] computed per attempt. A
    /// [`Socket::set_auth`](crate::Socket::set_auth) overrides it for one namespace.
    ///
    /// ```
    /// # use socketio_client::{Auth, Client};
    /// let fixed = Client::builder("http://localhost:3000").auth(serde_json::json!({"token": "abc"}));
    /// let fresh = Client::builder("http://localhost:3000")
    ///     .auth(Auth::from_fn(|| async { serde_json::json!({"token": "new"}) }));
    /// ```
    pub fn auth(mut self, auth: impl Into<Auth>) -> Self {
        self.auth = auth.into();
        self
    }

    /// Whether to reconnect after the connection is lost or cannot be
    /// opened (default `true`).
    ///
    /// ```
    /// # use socketio_client::Client;
    /// let builder = Client::builder("http://localhost:3000").reconnection(false);
    /// ```
    pub fn reconnection(mut self, yes: bool) -> Self {
        self.reconnection = yes;
        self
    }

    /// How many reconnection attempts in a row before giving up with
    /// `reconnect_failed` (default: no limit).
    ///
    /// ```
    /// # use socketio_client::Client;
    /// let builder = Client::builder("http://localhost:3000").reconnection_attempts(10);
    /// ```
    pub fn reconnection_attempts(mut self, attempts: u32) -> Self {
        self.reconnection_attempts = attempts;
        self
    }

    /// The delay before the first reconnection attempt (default 1 s); it
    /// doubles with each attempt, as with the JS client.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use socketio_client::Client;
    /// let builder = Client::builder("http://localhost:3000").reconnection_delay(Duration::from_millis(500));
    /// ```
    pub fn reconnection_delay(mut self, delay: Duration) -> Self {
        self.reconnection_delay = delay;
        self
    }

    /// The longest delay between two reconnection attempts (default 5 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use socketio_client::Client;
    /// let builder = Client::builder("http://localhost:3000").reconnection_delay_max(Duration::from_secs(30));
    /// ```
    pub fn reconnection_delay_max(mut self, delay: Duration) -> Self {
        self.reconnection_delay_max = delay;
        self
    }

    /// How much each delay varies at random, from 0 (not at all) to 1
    /// (between none and twice the delay); default 0.5.
    ///
    /// ```
    /// # use socketio_client::Client;
    /// let exact = Client::builder("http://localhost:3000").randomization_factor(0.0);
    /// ```
    pub fn randomization_factor(mut self, factor: f64) -> Self {
        self.randomization_factor = factor;
        self
    }

    /// The longest one connection attempt (the Engine.IO handshake) may
    /// take (default 20 s, the JS client's `timeout`).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use socketio_client::Client;
    /// let builder = Client::builder("http://localhost:3000").connect_timeout(Duration::from_secs(5));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long [`Socket::emit_with_ack`](crate::Socket::emit_with_ack)
    /// waits when no [`AckFuture::timeout`](crate::AckFuture::timeout) is
    /// given (default: until the acknowledgement or a disconnection).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use socketio_client::Client;
    /// let builder = Client::builder("http://localhost:3000").ack_timeout(Duration::from_secs(5));
    /// ```
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = Some(timeout);
        self
    }

    /// How many packets each socket keeps while it is disconnected, to send
    /// once it is connected again (default 1024); see [`buffer_overflow`](Self::buffer_overflow).
    ///
    /// ```
    /// # use socketio_client::Client;
    /// let client = Client::builder("http://localhost:3000").max_buffered_packets(2).build().unwrap();
    /// let socket = client.socket("/"); // not connected: emits are buffered
    /// socket.emit("a", &()).unwrap();
    /// socket.emit("b", &()).unwrap();
    /// assert!(socket.emit("c", &()).unwrap_err().is_buffer_full());
    /// ```
    pub fn max_buffered_packets(mut self, max: usize) -> Self {
        self.max_buffered_packets = max;
        self
    }

    /// What an emit does when the buffer is full (default: fail with an error).
    ///
    /// ```
    /// # use socketio_client::{BufferOverflow, Client};
    /// let builder = Client::builder("http://localhost:3000").buffer_overflow(BufferOverflow::DropOldest);
    /// ```
    pub fn buffer_overflow(mut self, policy: BufferOverflow) -> Self {
        self.buffer_overflow = policy;
        self
    }

    /// Bounds on the packets the server may send (attachments per packet,
    /// their size, JSON depth).
    ///
    /// ```
    /// # use socketio_client::{Client, DecodeLimits};
    /// let mut limits = DecodeLimits::default();
    /// limits.max_attachments = 2;
    /// let builder = Client::builder("http://localhost:3000").decode_limits(limits);
    /// ```
    pub fn decode_limits(mut self, limits: DecodeLimits) -> Self {
        self.decode_limits = limits;
        self
    }

    /// How packets are written on the wire (default [`Parser::Json`]); the
    /// server must use the same parser. `Parser::Msgpack` (feature
    /// `msgpack`) is npm `socket.io-msgpack-parser`.
    ///
    /// ```
    /// # use socketio_client::{Client, Parser};
    /// let builder = Client::builder("http://localhost:3000").parser(Parser::Json);
    /// ```
    pub fn parser(mut self, parser: Parser) -> Self {
        self.parser = parser;
        self
    }

    /// The client. Nothing is opened until a socket connects.
    ///
    /// Fails if the URL is not `http://` or `ws://` (or, with feature
    /// `tls`, `https://` or `wss://`) with a host and no path, or if a
    /// header or a certificate was invalid.
    ///
    /// ```
    /// # use socketio_client::Client;
    /// assert!(Client::builder("ws://127.0.0.1:3000").build().is_ok());
    /// assert!(Client::builder("ftp://example.com").build().unwrap_err().is_config());
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let endpoint = Endpoint::new(&self.url, &self.path, &self.query)?;
        let config = Config {
            endpoint,
            transports: self.transports,
            headers: self.headers,
            auth: self.auth,
            reconnection: self.reconnection,
            reconnection_attempts: self.reconnection_attempts,
            reconnection_delay: self.reconnection_delay,
            reconnection_delay_max: self.reconnection_delay_max.max(self.reconnection_delay),
            randomization_factor: self.randomization_factor,
            connect_timeout: self.connect_timeout,
            ack_timeout: self.ack_timeout,
            max_buffered_packets: self.max_buffered_packets,
            buffer_overflow: self.buffer_overflow,
            decode_limits: self.decode_limits,
            parser: self.parser,
            #[cfg(feature = "tls")]
            tls: self.tls,
        };
        Ok(Client::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_parts_fail_the_build() {
        assert!(Client::builder("http://h")
            .header("bad header", "v")
            .build()
            .unwrap_err()
            .is_config());
        assert_eq!(
            Client::builder("https://h").build().is_ok(),
            cfg!(feature = "tls")
        );
        assert!(Client::builder("http://h:1").build().is_ok());
    }
}
