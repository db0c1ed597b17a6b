use std::fmt;

use bytes::Bytes;
use socketio_protocol::Str;

use crate::{trace, Socket};

/// A message received from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message (the payload of a `4` packet).
    Text(Str),
    /// A binary message.
    Binary(Bytes),
}

/// Why a session closed. The names are those of Node's engine.io.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the transport (WebSocket closed, or a `1` packet).
    TransportClose,
    /// The transport failed: I/O error, a message over `max_payload`, a
    /// protocol violation such as two concurrent polling requests.
    TransportError,
    /// The client did not answer a ping within `ping_timeout`.
    PingTimeout,
    /// The client sent a packet that could not be decoded.
    ParseError,
    /// The server closed the session ([`Socket::close`]).
    ForcedClose,
    /// The server is shutting down.
    ServerShuttingDown,
    /// The peer read too slowly: its outgoing queue stayed at
    /// `max_buffered_packets` or more for `slow_consumer_timeout`, or a frame
    /// would have taken it past `max_buffered_bytes` (see [`Socket::send`]).
    SlowConsumer,
}

impl CloseReason {
    /// The reason as Node's engine.io names it (`"ping timeout"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedClose => "forced close",
            CloseReason::ServerShuttingDown => "server shutting down",
            CloseReason::SlowConsumer => "slow consumer",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an Engine.IO server does with its sessions: the interface to the layer above.
///
/// The callbacks run on the task that drives the transport, so they must not
/// block: queue work or spawn it. While a session's outgoing queue is full,
/// its incoming packets are not read (back-pressure through TCP), so a
/// handler may reply with [`Socket::send`] without losing anything.
///
/// A panic in a callback is caught where it is called: that session is
/// closed ([`CloseReason::ForcedClose`]; from `on_close`, it is unregistered
/// all the same), a `tracing` error is emitted, and the transport's task and
/// every other session go on.
///
/// ```
/// use engineio_tower::{EngineIoHandler, Message, Socket, CloseReason};
///
/// struct Echo;
///
/// impl EngineIoHandler for Echo {
///     type Data = ();
///     fn on_open(&self, _socket: &Socket) {}
///     fn on_message(&self, socket: &Socket, msg: Message) {
///         let _ = match msg {
///             Message::Text(t) => socket.send_text(&t),
///             Message::Binary(b) => socket.send_binary(b),
///         };
///     }
///     fn on_close(&self, _socket: &Socket, _reason: CloseReason) {}
/// }
/// ```
pub trait EngineIoHandler: Send + Sync + 'static {
    /// Data kept with each session, created with `Default` at the handshake.
    type Data: Default + Send + Sync + 'static;

    /// A session was opened (after the handshake response is on its way).
    fn on_open(&self, socket: &Socket<Self::Data>);

    /// A message arrived, in order.
    fn on_message(&self, socket: &Socket<Self::Data>, msg: Message);

    /// The session closed; called once, after which the socket accepts no frame.
    fn on_close(&self, socket: &Socket<Self::Data>, reason: CloseReason);

    /// The session moved from polling to WebSocket or WebTransport (Node's
    /// `upgrade` event on a socket); [`Socket::transport`] already says so. Does nothing
    /// unless implemented.
    fn on_upgrade(&self, socket: &Socket<Self::Data>) {
        let _ = socket;
    }
}

/// Calls [`EngineIoHandler::on_open`] with its panics contained.
pub(crate) fn open<H: EngineIoHandler>(handler: &H, socket: &Socket<H::Data>) {
    contain(socket, "on_open", || handler.on_open(socket));
}

/// Calls [`EngineIoHandler::on_message`] with its panics contained.
pub(crate) fn message<H: EngineIoHandler>(handler: &H, socket: &Socket<H::Data>, msg: Message) {
    socket.metrics().received(match &msg {
        // The type digit `4`, as on the way out.
        Message::Text(t) => t.len() + 1,
        Message::Binary(b) => b.len(),
    });
    contain(socket, "on_message", || handler.on_message(socket, msg));
}

/// Calls [`EngineIoHandler::on_close`] with its panics contained.
pub(crate) fn close<H: EngineIoHandler>(
    handler: &H,
    socket: &Socket<H::Data>,
    reason: CloseReason,
) {
    contain(socket, "on_close", || handler.on_close(socket, reason));
}

/// Calls [`EngineIoHandler::on_upgrade`] with its panics contained.
pub(crate) fn upgraded<H: EngineIoHandler>(handler: &H, socket: &Socket<H::Data>) {
    contain(socket, "on_upgrade", || handler.on_upgrade(socket));
}

/// Runs a callback; a panic in it closes the session instead of unwinding
/// through the transport's task.
fn contain<D>(socket: &Socket<D>, callback: &'static str, f: impl FnOnce()) {
    // The handler's state is its own; ours is behind locks that recover
    // from poisoning, so going on after the panic is sound.
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        let panic = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(a payload that is not a string)");
        trace::error!(sid = %socket.sid(), callback, panic, "engine.io: the handler panicked, closing the session");
        socket.close_with(CloseReason::ForcedClose);
    }
}
