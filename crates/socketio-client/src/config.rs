use std::{fmt, future::Future, sync::Arc, time::Duration};

use http::HeaderMap;
use serde::Serialize;
use socketio_protocol::socket::{DecodeLimits, Parser};

use crate::{engine::Endpoint, handler::BoxFuture, Error};

/// Which transports the client uses.
///
/// ```
/// use socketio_client::{Client, Transports};
///
/// let client = Client::builder("http://localhost:3000")
///     .transports(Transports::WebSocketOnly)
///     .build()
///     .unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Transports {
    /// Start with HTTP long-polling, then upgrade to the best transport
    /// the server offers: the JS client's default (`["polling",
    /// "websocket", "webtransport"]`).
    ///
    /// With feature `webtransport`, when the server offers WebTransport,
    /// the client tries it first and WebSocket 200 ms later, both at once,
    /// as the JS client does: the first to answer the probe wins, so a
    /// WebTransport that fails (a blocked UDP port, a certificate that
    /// does not match) ends on WebSocket, and one that answers is not
    /// beaten by WebSocket. If both fail, the session stays on polling.
    #[default]
    Upgrade,
    /// Start with HTTP long-polling, then upgrade to WebSocket only
    /// (`["polling", "websocket"]`): never WebTransport, even when the
    /// server offers it.
    UpgradeToWebSocket,
    /// HTTP long-polling only (`["polling"]`).
    PollingOnly,
    /// WebSocket only, without the polling handshake (`["websocket"]`).
    WebSocketOnly,
    /// WebTransport only, without the polling handshake
    /// (`["webtransport"]`; feature `webtransport`).
    #[cfg(feature = "webtransport")]
    WebTransportOnly,
}

/// The transport a connection uses now; see [`Client::transport`](crate::Client::transport).
///
/// ```
/// use socketio_client::Transport;
/// assert_eq!(Transport::WebSocket.as_str(), "websocket");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
    /// WebTransport (feature `webtransport`).
    WebTransport,
}

impl Transport {
    /// The transport's name in the protocol.
    ///
    /// ```
    /// assert_eq!(socketio_client::Transport::Polling.as_str(), "polling");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Polling => "polling",
            Transport::WebSocket => "websocket",
            Transport::WebTransport => "webtransport",
        }
    }
}

/// What an emit does when the buffer of packets waiting for a connection is
/// full (see [`ClientBuilder::max_buffered_packets`](crate::ClientBuilder::max_buffered_packets)).
///
/// ```
/// use socketio_client::{BufferOverflow, Client};
///
/// // Keep the most recent packets: the oldest is dropped (its
/// // acknowledgement, if any, fails with `is_buffer_full()`).
/// let client = Client::builder("http://localhost:3000")
///     .max_buffered_packets(100)
///     .buffer_overflow(BufferOverflow::DropOldest)
///     .build()
///     .unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BufferOverflow {
    /// The emit fails with an error for which
    /// [`Error::is_buffer_full`] is true; nothing already buffered is lost.
    #[default]
    Reject,
    /// The emit is buffered and the oldest buffered packet is dropped.
    DropOldest,
}

type AuthFn = dyn Fn() -> BoxFuture<serde_json::Value> + Send + Sync;

/// The `auth` payload sent with each `CONNECT`: a fixed JSON object, or one
/// computed anew for every attempt (a token that expires, say).
///
/// ```
/// use serde_json::json;
/// use socketio_client::{Auth, Client};
///
/// let fixed = Auth::from(json!({"token": "abc"}));
/// let fresh = Auth::from_fn(|| async { json!({"token": "minted just now"}) });
/// let client = Client::builder("http://localhost:3000").auth(fresh).build().unwrap();
/// # let _ = (fixed, client);
/// ```
#[derive(Clone, Default)]
pub struct Auth(AuthKind);

#[derive(Clone, Default)]
enum AuthKind {
    #[default]
    None,
    Value(Arc<serde_json::Value>),
    Fn(Arc<AuthFn>),
}

/// How [`Auth`] gives its payload for one attempt.
pub(crate) enum AuthValue {
    Ready(Arc<serde_json::Value>),
    Pending(BoxFuture<serde_json::Value>),
}

impl Auth {
    /// No payload (the server's handshake sees `{}`).
    ///
    /// ```
    /// # fn demo(socket: socketio_client::Socket) {
    /// socket.set_auth(socketio_client::Auth::none());
    /// # }
    /// ```
    pub fn none() -> Self {
        Auth(AuthKind::None)
    }

    /// A payload serialized from `value`, which must serialize as a JSON object.
    ///
    /// ```
    /// use socketio_client::Auth;
    ///
    /// #[derive(serde::Serialize)]
    /// struct Credentials { user: &'static str, token: &'static str }
    ///
    /// let auth = Auth::new(&Credentials { user: "ada", token: "t0k" }).unwrap();
    /// assert!(Auth::new(&[1, 2]).is_err());
    /// # let _ = auth;
    /// ```
    pub fn new<T: Serialize + ?Sized>(value: &T) -> Result<Self, Error> {
        let value = serde_json::to_value(value).map_err(Error::serialize)?;
        check_object(&value)?;
        Ok(Auth(AuthKind::Value(Arc::new(value))))
    }

    /// A payload computed by `f` before every connection attempt.
    ///
    /// ```
    /// use socketio_client::Auth;
    ///
    /// async fn fetch_token() -> String { "t0k".into() }
    ///
    /// let auth = Auth::from_fn(|| async { serde_json::json!({"token": fetch_token().await}) });
    /// # let _ = auth;
    /// ```
    pub fn from_fn<F, Fut>(f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = serde_json::Value> + Send + 'static,
    {
        Auth(AuthKind::Fn(Arc::new(move || Box::pin(f()))))
    }

    pub(crate) fn value(&self) -> AuthValue {
        match &self.0 {
            AuthKind::None => AuthValue::Ready(Arc::new(serde_json::Value::Null)),
            AuthKind::Value(v) => AuthValue::Ready(v.clone()),
            AuthKind::Fn(f) => AuthValue::Pending(f()),
        }
    }
}

impl From<serde_json::Value> for Auth {
    /// A fixed payload; one that is not an object (or `null`) makes each
    /// connection attempt fail with a configuration error.
    fn from(value: serde_json::Value) -> Self {
        Auth(AuthKind::Value(Arc::new(value)))
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            AuthKind::None => f.write_str("Auth::None"),
            AuthKind::Value(v) => f.debug_tuple("Auth::Value").field(v).finish(),
            AuthKind::Fn(_) => f.write_str("Auth::Fn(..)"),
        }
    }
}

pub(crate) fn check_object(value: &serde_json::Value) -> Result<(), Error> {
    match value {
        serde_json::Value::Object(_) | serde_json::Value::Null => Ok(()),
        _ => Err(Error::config("the auth payload must be a JSON object")),
    }
}

/// The settings of a client, as built by [`ClientBuilder`](crate::ClientBuilder).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) endpoint: Endpoint,
    pub(crate) transports: Transports,
    pub(crate) headers: HeaderMap,
    pub(crate) auth: Auth,
    pub(crate) reconnection: bool,
    pub(crate) reconnection_attempts: u32,
    pub(crate) reconnection_delay: Duration,
    pub(crate) reconnection_delay_max: Duration,
    pub(crate) randomization_factor: f64,
    pub(crate) connect_timeout: Duration,
    pub(crate) ack_timeout: Option<Duration>,
    pub(crate) max_buffered_packets: usize,
    pub(crate) buffer_overflow: BufferOverflow,
    pub(crate) decode_limits: DecodeLimits,
    pub(crate) parser: Parser,
    #[cfg(feature = "tls")]
    pub(crate) tls: crate::tls::TlsSettings,
}
