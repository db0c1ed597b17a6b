//! Extractors: the arguments of event handlers.
//!
//! | extractor | gives |
//! |---|---|
//! | [`Data<T>`] | the arguments, deserialized (a tuple for several) |
//! | [`TryData<T>`] | the same, or why it failed |
//! | [`RawArgs`] | the arguments as received: JSON text and attachments |
//! | [`Event`] | the event's name (for [`Socket::on_any`](crate::Socket::on_any)) |
//! | [`AckSender`] | the means to answer the server's acknowledgement |
//! | [`Socket`] | the socket the event arrived on |
//!
//! Write your own by implementing [`FromEventParts`].

use std::fmt::{self, Display};

use bytes::Bytes;
use serde::de::DeserializeOwned;
use socketio_protocol::{
    socket::{deserialize_data, AckId},
    Str,
};

use crate::{handler::BoxFuture, socket::SocketContext, trace, Error, Socket};

pub use crate::ack::AckSender;

/// What extractors read: the event as received, and the socket it arrived on.
///
/// ```
/// use socketio_client::extract::{EventParts, FromEventParts};
///
/// /// The event's name and namespace, as `ns:name`.
/// struct Qualified(String);
///
/// impl FromEventParts for Qualified {
///     type Rejection = std::convert::Infallible;
///     fn from_event_parts(parts: &mut EventParts<'_>) -> Result<Self, Self::Rejection> {
///         Ok(Qualified(format!("{}:{}", parts.ns(), parts.name())))
///     }
/// }
/// ```
pub struct EventParts<'a> {
    pub(crate) ctx: &'a SocketContext,
    pub(crate) name: Str,
    pub(crate) args: Str,
    pub(crate) attachments: Vec<Bytes>,
    pub(crate) ack_id: Option<AckId>,
}

impl fmt::Debug for EventParts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventParts")
            .field("ns", &self.ctx.ns())
            .field("name", &self.name)
            .field("args", &self.args)
            .field("attachments", &self.attachments.len())
            .field("ack_id", &self.ack_id)
            .finish()
    }
}

impl EventParts<'_> {
    /// The event's name.
    ///
    /// ```
    /// # fn f(parts: &mut socketio_client::extract::EventParts<'_>) {
    /// let _ = parts.name();
    /// # }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace the event arrived on.
    ///
    /// ```
    /// # fn f(parts: &mut socketio_client::extract::EventParts<'_>) {
    /// let _ = parts.ns();
    /// # }
    /// ```
    pub fn ns(&self) -> &str {
        self.ctx.ns()
    }

    /// The JSON text of the arguments, comma-separated, without brackets.
    ///
    /// ```
    /// # fn f(parts: &mut socketio_client::extract::EventParts<'_>) {
    /// let _ = parts.args();
    /// # }
    /// ```
    pub fn args(&self) -> &str {
        &self.args
    }

    /// The binary attachments that placeholders in the arguments refer to.
    ///
    /// ```
    /// # fn f(parts: &mut socketio_client::extract::EventParts<'_>) {
    /// let _ = parts.attachments().len();
    /// # }
    /// ```
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// Whether the server waits for an acknowledgement that no extractor
    /// has taken yet.
    ///
    /// ```
    /// # fn f(parts: &mut socketio_client::extract::EventParts<'_>) {
    /// let _ = parts.ack_requested();
    /// # }
    /// ```
    pub fn ack_requested(&self) -> bool {
        self.ack_id.is_some()
    }

    /// Takes the acknowledgement id, so that only one extractor answers.
    ///
    /// ```
    /// # fn f(parts: &mut socketio_client::extract::EventParts<'_>) {
    /// let _ = parts.take_ack_id();
    /// # }
    /// ```
    pub fn take_ack_id(&mut self) -> Option<AckId> {
        self.ack_id.take()
    }

    /// The socket the event arrived on (`None` once the client is shut down).
    ///
    /// ```
    /// # fn f(parts: &mut socketio_client::extract::EventParts<'_>) {
    /// let _ = parts.socket();
    /// # }
    /// ```
    pub fn socket(&self) -> Option<Socket> {
        self.ctx.socket()
    }
}

/// An extractor: a value a handler takes as argument, read from the event.
///
/// ```
/// use socketio_client::extract::{EventParts, FromEventParts};
///
/// /// How many arguments the event has.
/// struct ArgCount(usize);
///
/// impl FromEventParts for ArgCount {
///     type Rejection = std::convert::Infallible;
///     fn from_event_parts(parts: &mut EventParts<'_>) -> Result<Self, Self::Rejection> {
///         let args: Vec<serde_json::Value> = serde_json::from_str(&format!("[{}]", parts.args())).unwrap_or_default();
///         Ok(ArgCount(args.len()))
///     }
/// }
/// # fn register(socket: socketio_client::Socket) {
/// socket.on("anything", |ArgCount(n): ArgCount| async move { println!("{n} arguments") });
/// # }
/// ```
pub trait FromEventParts: Sized {
    /// Why extraction failed; the handler then does not run.
    type Rejection: Display + Send + 'static;

    /// Extracts the value.
    fn from_event_parts(parts: &mut EventParts<'_>) -> Result<Self, Self::Rejection>;
}

/// The event's arguments deserialized into `T`, with binary attachments in
/// place of their placeholders.
///
/// A tuple, array or `Vec` receives the whole list of arguments
/// (`Data<(String, u32)>` for `emit("ev", "a", 1)`); any other type receives
/// the first argument. To receive one array argument whole, use a 1-tuple:
/// `Data<(Vec<u8>,)>`. Binary arguments arrive as [`Binary`](crate::Binary).
///
/// If the arguments do not fit `T`, the handler does not run (and the
/// server gets `[{"error": ...}]` if it waits for an acknowledgement); use
/// [`TryData`] to handle that yourself.
///
/// ```
/// use socketio_client::{extract::Data, Binary, Socket};
///
/// #[derive(serde::Deserialize)]
/// struct Move { x: i32, y: i32 }
///
/// # fn register(socket: Socket) {
/// socket.on("move", |Data(m): Data<Move>| async move { println!("{} {}", m.x, m.y) });
/// socket.on("file", |Data((name, data)): Data<(String, Binary)>| async move {
///     println!("{name}: {} bytes", data.len());
/// });
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data<T>(pub T);

/// Like [`Data`], but never rejects: holds the result of deserializing.
///
/// ```
/// use socketio_client::extract::TryData;
///
/// # fn register(socket: socketio_client::Socket) {
/// socket.on("count", |TryData(n): TryData<u32>| async move {
///     match n {
///         Ok(n) => println!("count {n}"),
///         Err(e) => println!("bad count: {e}"),
///     }
/// });
/// # }
/// ```
#[derive(Debug)]
pub struct TryData<T>(pub Result<T, DataError>);

/// The arguments did not deserialize into the type asked for.
///
/// ```
/// use socketio_client::extract::TryData;
///
/// # fn register(socket: socketio_client::Socket) {
/// socket.on("n", |TryData(n): TryData<u8>| async move {
///     if let Err(e) = n {
///         eprintln!("{e}"); // invalid data: ...
///     }
/// });
/// # }
/// ```
#[derive(Debug)]
pub struct DataError(serde_json::Error);

impl Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid data: {}", self.0)
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn deserialize<T: DeserializeOwned>(parts: &EventParts<'_>) -> Result<T, DataError> {
    deserialize_data(&parts.args, &parts.attachments).map_err(DataError)
}

impl<T: DeserializeOwned> FromEventParts for Data<T> {
    type Rejection = DataError;

    fn from_event_parts(parts: &mut EventParts<'_>) -> Result<Self, DataError> {
        deserialize(parts).map(Data)
    }
}

impl<T: DeserializeOwned> FromEventParts for TryData<T> {
    type Rejection = std::convert::Infallible;

    fn from_event_parts(parts: &mut EventParts<'_>) -> Result<Self, Self::Rejection> {
        Ok(TryData(deserialize(parts)))
    }
}

/// The event's arguments exactly as received, to pass on without decoding
/// (the same type as the server's).
///
/// ```
/// use socketio_client::extract::RawArgs;
///
/// # fn register(socket: socketio_client::Socket) {
/// socket.on("log", |raw: RawArgs| async move { println!("[{}]", raw.args) });
/// # }
/// ```
pub use socketio_protocol::socket::RawArgs;

impl FromEventParts for RawArgs {
    type Rejection = std::convert::Infallible;

    fn from_event_parts(parts: &mut EventParts<'_>) -> Result<Self, Self::Rejection> {
        Ok(RawArgs {
            args: parts.args.clone(),
            attachments: parts.attachments.clone(),
        })
    }
}

/// The name of the event being handled: useful with [`Socket::on_any`](crate::Socket::on_any).
///
/// ```
/// use socketio_client::extract::{Event, RawArgs};
///
/// # fn register(socket: socketio_client::Socket) {
/// socket.on_any(|Event(name): Event, raw: RawArgs| async move { println!("{name}: [{}]", raw.args) });
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event(pub Str);

impl FromEventParts for Event {
    type Rejection = std::convert::Infallible;

    fn from_event_parts(parts: &mut EventParts<'_>) -> Result<Self, Self::Rejection> {
        Ok(Event(parts.name.clone()))
    }
}

impl FromEventParts for Socket {
    type Rejection = Error;

    fn from_event_parts(parts: &mut EventParts<'_>) -> Result<Self, Error> {
        parts.socket().ok_or_else(Error::closed)
    }
}

/// An extractor failed: tell the server (if it waits for an
/// acknowledgement) and report the failure.
pub(crate) fn rejected(
    parts: &mut EventParts<'_>,
    e: &dyn Display,
) -> BoxFuture<Result<(), String>> {
    let message = e.to_string();
    if let (Some(id), Some(socket)) = (parts.ack_id.take(), parts.socket()) {
        let answer = (serde_json::json!({ "error": message }),);
        if let Err(e) = socket.send_ack(id, &answer) {
            trace::debug!(error = %e, "socket.io client: cannot send the ack error");
        }
    }
    Box::pin(std::future::ready(Err(format!(
        "extractor rejected the event: {message}"
    ))))
}
