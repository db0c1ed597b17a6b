use std::{fmt, sync::Arc, time::Duration};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What went wrong: one opaque type for every fallible operation of the
/// client, asked with the `is_*` methods.
///
/// Cloning is cheap, so that one failure can reach every listener (a
/// `connect_error` callback and the [`ConnectFuture`](crate::ConnectFuture)
/// waiting on it, say). [`Display`](fmt::Display) says what happened at this
/// level; [`source`](std::error::Error::source) says why.
///
/// ```
/// # async fn demo(socket: socketio_client::Socket) {
/// match socket.connect().await {
///     Ok(()) => println!("connected"),
///     Err(e) if e.is_rejected() => println!("refused: {e}, data: {:?}", e.data()),
///     Err(e) => println!("cannot reach the server: {e}"),
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

struct Inner {
    kind: Kind,
    source: Option<BoxError>,
}

#[derive(Debug)]
enum Kind {
    Config(String),
    NoRuntime,
    Transport(&'static str),
    Protocol(String),
    ConnectTimeout(Duration),
    AckTimeout(Duration),
    Rejected {
        message: String,
        data: Option<serde_json::Value>,
    },
    Serialize,
    Decode,
    Disconnected,
    BufferFull(usize),
    ReservedEvent(String),
    Closed,
}

impl Error {
    fn new(kind: Kind) -> Self {
        Error {
            inner: Arc::new(Inner { kind, source: None }),
        }
    }

    fn with_source(kind: Kind, source: impl Into<BoxError>) -> Self {
        Error {
            inner: Arc::new(Inner {
                kind,
                source: Some(source.into()),
            }),
        }
    }

    pub(crate) fn config(what: impl Into<String>) -> Self {
        Error::new(Kind::Config(what.into()))
    }

    pub(crate) fn no_runtime() -> Self {
        Error::new(Kind::NoRuntime)
    }

    pub(crate) fn transport(what: &'static str, source: impl Into<BoxError>) -> Self {
        Error::with_source(Kind::Transport(what), source)
    }

    pub(crate) fn protocol(what: impl Into<String>) -> Self {
        Error::new(Kind::Protocol(what.into()))
    }

    pub(crate) fn protocol_with(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::with_source(Kind::Protocol(what.into()), source)
    }

    pub(crate) fn connect_timeout(d: Duration) -> Self {
        Error::new(Kind::ConnectTimeout(d))
    }

    pub(crate) fn ack_timeout(d: Duration) -> Self {
        Error::new(Kind::AckTimeout(d))
    }

    pub(crate) fn rejected(message: String, data: Option<serde_json::Value>) -> Self {
        Error::new(Kind::Rejected { message, data })
    }

    pub(crate) fn serialize(source: serde_json::Error) -> Self {
        Error::with_source(Kind::Serialize, source)
    }

    pub(crate) fn decode(source: serde_json::Error) -> Self {
        Error::with_source(Kind::Decode, source)
    }

    pub(crate) fn disconnected() -> Self {
        Error::new(Kind::Disconnected)
    }

    pub(crate) fn buffer_full(max: usize) -> Self {
        Error::new(Kind::BufferFull(max))
    }

    pub(crate) fn reserved_event(name: &str) -> Self {
        Error::new(Kind::ReservedEvent(name.to_owned()))
    }

    pub(crate) fn closed() -> Self {
        Error::new(Kind::Closed)
    }

    /// The configuration is invalid: a bad URL, header or `auth` payload.
    ///
    /// ```
    /// let e = socketio_client::Client::builder("not a url").build().unwrap_err();
    /// assert!(e.is_config());
    /// ```
    pub fn is_config(&self) -> bool {
        matches!(self.inner.kind, Kind::Config(_))
    }

    /// The server could not be reached, or the connection failed (HTTP or
    /// WebSocket error, unexpected HTTP status).
    ///
    /// ```no_run
    /// # async fn demo(socket: socketio_client::Socket) {
    /// if let Err(e) = socket.connect().await {
    ///     if e.is_transport() {
    ///         eprintln!("server unreachable ({e}); the client keeps trying");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn is_transport(&self) -> bool {
        matches!(self.inner.kind, Kind::Transport(_))
    }

    /// The server broke the Engine.IO or Socket.IO protocol.
    ///
    /// ```no_run
    /// # async fn demo(socket: socketio_client::Socket) {
    /// if let Err(e) = socket.connect().await {
    ///     assert!(!e.is_protocol(), "is this a Socket.IO v3+ server?");
    /// }
    /// # }
    /// ```
    pub fn is_protocol(&self) -> bool {
        matches!(self.inner.kind, Kind::Protocol(_))
    }

    /// A connection attempt or an acknowledgement took longer than allowed.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # async fn demo(socket: socketio_client::Socket) {
    /// let answer = socket.emit_with_ack::<_, String>("slow", &()).timeout(Duration::from_secs(1)).await;
    /// if let Err(e) = answer {
    ///     assert!(e.is_timeout());
    /// }
    /// # }
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.inner.kind,
            Kind::ConnectTimeout(_) | Kind::AckTimeout(_)
        )
    }

    /// The server refused the connection to the namespace with a
    /// `CONNECT_ERROR` (a middleware said no): see [`data`](Self::data).
    ///
    /// ```no_run
    /// # async fn demo(socket: socketio_client::Socket) {
    /// if let Err(e) = socket.connect().await {
    ///     if e.is_rejected() {
    ///         println!("refused: {e}");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn is_rejected(&self) -> bool {
        matches!(self.inner.kind, Kind::Rejected { .. })
    }

    /// The data could not be serialized.
    ///
    /// ```
    /// # use std::collections::HashMap;
    /// # let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// // JSON object keys must be strings.
    /// let map = HashMap::from([((1, 2), "a")]);
    /// assert!(client.socket("/").emit("map", &map).unwrap_err().is_serialize());
    /// ```
    pub fn is_serialize(&self) -> bool {
        matches!(self.inner.kind, Kind::Serialize)
    }

    /// An acknowledgement did not deserialize into the type asked for.
    ///
    /// ```no_run
    /// # async fn demo(socket: socketio_client::Socket) {
    /// if let Err(e) = socket.emit_with_ack::<_, u32>("count", &()).await {
    ///     if e.is_decode() {
    ///         println!("the answer was no number: {e}");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn is_decode(&self) -> bool {
        matches!(self.inner.kind, Kind::Decode)
    }

    /// The socket disconnected before the operation completed.
    ///
    /// ```no_run
    /// # async fn demo(socket: socketio_client::Socket) {
    /// if let Err(e) = socket.emit_with_ack::<_, ()>("save", &()).await {
    ///     if e.is_disconnected() {
    ///         println!("the connection was lost before the answer");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn is_disconnected(&self) -> bool {
        matches!(self.inner.kind, Kind::Disconnected)
    }

    /// The buffer of packets emitted while disconnected is full (see
    /// [`ClientBuilder::max_buffered_packets`](crate::ClientBuilder::max_buffered_packets)).
    ///
    /// ```
    /// let client = socketio_client::Client::builder("http://localhost:3000")
    ///     .max_buffered_packets(0)
    ///     .build()
    ///     .unwrap();
    /// assert!(client.socket("/").emit("x", &()).unwrap_err().is_buffer_full());
    /// ```
    pub fn is_buffer_full(&self) -> bool {
        matches!(self.inner.kind, Kind::BufferFull(_))
    }

    /// The event name is reserved by Socket.IO (`connect`, `disconnect`, ...).
    ///
    /// ```
    /// # let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// assert!(client.socket("/").emit("disconnect", &()).unwrap_err().is_reserved_event());
    /// ```
    pub fn is_reserved_event(&self) -> bool {
        matches!(self.inner.kind, Kind::ReservedEvent(_))
    }

    /// The client is shut down, or there is no tokio runtime to run it.
    ///
    /// ```
    /// let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// // Outside a tokio runtime, the connection cannot start.
    /// let connecting = client.socket("/").connect();
    /// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// assert!(runtime.block_on(connecting).unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self.inner.kind, Kind::Closed | Kind::NoRuntime)
    }

    /// The HTTP status with which the server refused a request (its
    /// handshake, a polling request or the WebSocket upgrade), when that is
    /// what went wrong. The error's [`source`](std::error::Error::source)
    /// then names the status and what the server said: Node's
    /// `{"code":..,"message":..}` answer, or the start of the body.
    ///
    /// ```no_run
    /// # async fn demo(socket: socketio_client::Socket) {
    /// if let Err(e) = socket.connect().await {
    ///     if e.status() == Some(403) {
    ///         eprintln!("the server does not let us in: {}", std::error::Error::source(&e).unwrap());
    ///     }
    /// }
    /// # }
    /// ```
    pub fn status(&self) -> Option<u16> {
        let source = self.inner.source.as_deref()?;
        source
            .downcast_ref::<HttpStatus>()
            .map(|s| s.status.as_u16())
    }

    /// The `data` of a `CONNECT_ERROR` (the server's `err.data`), if the
    /// server sent one.
    ///
    /// ```
    /// # async fn demo(socket: socketio_client::Socket) {
    /// if let Err(e) = socket.connect().await {
    ///     if let Some(data) = e.data() {
    ///         println!("the server says: {}", data["reason"]);
    ///     }
    /// }
    /// # }
    /// ```
    pub fn data(&self) -> Option<&serde_json::Value> {
        match &self.inner.kind {
            Kind::Rejected { data, .. } => data.as_ref(),
            _ => None,
        }
    }

    /// The `message` of a `CONNECT_ERROR`, as the server sent it.
    ///
    /// ```no_run
    /// # async fn demo(socket: socketio_client::Socket) {
    /// if let Err(e) = socket.connect().await {
    ///     println!("{:?}", e.message()); // Some("not authorized")
    /// }
    /// # }
    /// ```
    pub fn message(&self) -> Option<&str> {
        match &self.inner.kind {
            Kind::Rejected { message, .. } => Some(message),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.kind {
            Kind::Config(what) => write!(f, "invalid configuration: {what}"),
            Kind::NoRuntime => f.write_str("no tokio runtime to run the client on"),
            Kind::Transport(what) => f.write_str(what),
            Kind::Protocol(what) => write!(f, "protocol error: {what}"),
            Kind::ConnectTimeout(d) => write!(f, "no connection within {d:?}"),
            Kind::AckTimeout(d) => write!(f, "no acknowledgement within {d:?}"),
            Kind::Rejected { message, .. } => f.write_str(message),
            Kind::Serialize => f.write_str("cannot serialize the data"),
            Kind::Decode => f.write_str("cannot deserialize the acknowledgement"),
            Kind::Disconnected => f.write_str("socket has been disconnected"),
            Kind::BufferFull(max) => write!(f, "the buffer of {max} packets is full"),
            Kind::ReservedEvent(name) => write!(f, "{name:?} is a reserved event name"),
            Kind::Closed => f.write_str("the client is closed"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind);
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|e| &**e as &(dyn std::error::Error + 'static))
    }
}

/// The server answered an HTTP request with a status that says no: the
/// [`source`](std::error::Error::source) of a transport [`Error`].
#[derive(Debug)]
pub(crate) struct HttpStatus {
    status: http::StatusCode,
    /// Node's `{"code":..,"message":..}` answer, read; else the start of
    /// the body as text.
    said: Said,
}

#[derive(Debug)]
enum Said {
    Engine { code: i64, message: String },
    Text(String),
}

/// How much of a body that is not Node's error JSON an error keeps.
const MAX_BODY_TEXT: usize = 200;

impl HttpStatus {
    pub(crate) fn new(status: http::StatusCode, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct EngineError {
            code: i64,
            message: String,
        }
        let said = match serde_json::from_slice::<EngineError>(body) {
            Ok(e) => Said::Engine {
                code: e.code,
                message: e.message,
            },
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let mut end = text.len().min(MAX_BODY_TEXT);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                Said::Text(text.get(..end).unwrap_or_default().trim().to_owned())
            }
        };
        HttpStatus { status, said }
    }
}

impl fmt::Display for HttpStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP status {}", self.status)?;
        match &self.said {
            Said::Engine { code, message } => {
                write!(f, ": {message:?} (Engine.IO error code {code})")
            }
            Said::Text(text) if text.is_empty() => Ok(()),
            Said::Text(text) => write!(f, ": {text}"),
        }
    }
}

impl std::error::Error for HttpStatus {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn queries_and_text() {
        let e = Error::rejected("nope".into(), Some(serde_json::json!({"code": 1})));
        assert!(e.is_rejected() && !e.is_transport());
        assert_eq!(e.to_string(), "nope");
        assert_eq!(e.message(), Some("nope"));
        assert_eq!(e.data(), Some(&serde_json::json!({"code": 1})));

        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::transport("cannot reach the server", io);
        assert!(e.is_transport());
        // The cause is in `source`, not repeated in the message.
        assert_eq!(e.to_string(), "cannot reach the server");
        assert_eq!(
            e.source().map(|s| s.to_string()).as_deref(),
            Some("refused")
        );
        assert!(Error::ack_timeout(Duration::from_millis(5)).is_timeout());
        assert_eq!(e.data(), None);
        assert_eq!(e.status(), None);
    }

    #[test]
    fn http_statuses_read_node_errors() {
        let body = br#"{"code":4,"message":"Forbidden"}"#;
        let e = Error::transport(
            "the server refused the request",
            HttpStatus::new(http::StatusCode::FORBIDDEN, body),
        );
        assert_eq!(e.status(), Some(403));
        assert_eq!(
            e.source().map(|s| s.to_string()).as_deref(),
            Some(r#"HTTP status 403 Forbidden: "Forbidden" (Engine.IO error code 4)"#)
        );
        let long = "é".repeat(300);
        let e = HttpStatus::new(http::StatusCode::BAD_REQUEST, long.as_bytes());
        assert_eq!(
            e.to_string(),
            format!("HTTP status 400 Bad Request: {}", "é".repeat(100))
        );
        let e = HttpStatus::new(http::StatusCode::BAD_GATEWAY, b"");
        assert_eq!(e.to_string(), "HTTP status 502 Bad Gateway");
    }
}
