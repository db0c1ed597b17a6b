//! Extractors: the arguments of handlers.
//!
//! | extractor | connect | event | disconnect |
//! |---|---|---|---|
//! | [`SocketRef`] | ✓ | ✓ | ✓ |
//! | [`Data<T>`] / [`TryData<T>`] | the `auth` payload | the event's arguments | |
//! | [`RawArgs`] | | the arguments as received | |
//! | [`AckSender`] | | ✓ | |
//! | [`Event`] | | the event name | |
//! | [`State<T>`] | ✓ | ✓ | ✓ |
//! | [`Extension<T>`] | ✓ | ✓ | ✓ |
//! | [`Handshake`] | ✓ | ✓ | ✓ |
//! | [`SocketIo`](crate::SocketIo) | ✓ | ✓ | ✓ |
//! | [`DisconnectReason`] | | | ✓ |
//! | [`Rooms<N>`](Rooms) | | ✓ | |
//!
//! In axum routes behind the layer: [`SocketIo`](crate::SocketIo),
//! [`Rooms<N>`](Rooms) (a namespace's rooms) and [`ToRoom`] (the room named
//! by the route's `{room}`).
//!
//! Write your own by implementing [`FromConnectParts`], [`FromMessageParts`]
//! (or [`FromMessage`] for one that consumes the event's data) and
//! [`FromDisconnectParts`].

mod ack;
mod data;
mod extension;
pub(crate) mod handshake;
mod parts;
mod rooms;
mod state;

use std::fmt::{Debug, Display};

pub use ack::AckSender;
pub use data::{Data, DataError, TryData};
pub use extension::{Extension, MissingExtension};
pub use handshake::Handshake;
pub use parts::{ConnectParts, Event, MessageParts};
pub use rooms::{Main, NamespacePath, Rooms, RoomsRejection, ToRoom};
/// An event's arguments exactly as received: JSON text and attachments.
/// Send them on unchanged with [`SocketRef::emit_raw`] or
/// [`AckSender::send_raw`], with no decoding or encoding in between.
///
/// ```
/// use socketio_axum::extract::{AckSender, RawArgs};
///
/// async fn echo(ack: AckSender, args: RawArgs) {
///     let _ = ack.send_raw(args);
/// }
/// ```
pub use socketio_protocol::socket::RawArgs;
pub use state::{MissingState, State};

use crate::{handler::BoxFuture, trace, DisconnectReason, SocketRef};

/// An extractor for event handlers that reads the event without consuming it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of an event handler",
    note = "event handler arguments implement `FromMessageParts` (`SocketRef`, `AckSender`, `Event`, `State<T>`, `Extension<T>`, `Handshake`, `SocketIo`); the last one may instead implement `FromMessage` (`Data<T>`, `TryData<T>`, `RawArgs`)"
)]
pub trait FromMessageParts: Sized {
    /// Why extraction failed. Its `Display` text reaches the client in an
    /// ack error, so it should say what was wrong in the client's terms;
    /// its `Debug` goes to the server's `tracing` event, with the detail.
    type Rejection: Display + Debug + Send + 'static;

    /// Extracts the value.
    fn from_message_parts(
        socket: &SocketRef,
        parts: &mut MessageParts,
    ) -> Result<Self, Self::Rejection>;
}

/// An extractor for event handlers that may consume the event's data; only
/// the last argument of a handler can be one. Every [`FromMessageParts`] is one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the last argument of an event handler",
    note = "the last argument of an event handler implements `FromMessage` (`Data<T>`, `TryData<T>`, `RawArgs`) or `FromMessageParts` (`SocketRef`, `AckSender`, `Event`, `State<T>`, `Extension<T>`, `Handshake`, `SocketIo`)"
)]
pub trait FromMessage<M = private::ViaMessage>: Sized {
    /// Why extraction failed: `Display` for the client's ack error, `Debug`
    /// for the server's log (see [`FromMessageParts::Rejection`]).
    type Rejection: Display + Debug + Send + 'static;

    /// Extracts the value.
    fn from_message(socket: &SocketRef, parts: &mut MessageParts) -> Result<Self, Self::Rejection>;
}

// Markers that keep the two blanket impls of `FromMessage` apart; sealed on
// purpose (unnameable outside this module), as axum's own `ViaParts`.
#[allow(unnameable_types)]
mod private {
    #[derive(Debug, Clone, Copy)]
    pub enum ViaParts {}
    #[derive(Debug, Clone, Copy)]
    pub enum ViaMessage {}
}

impl<T: FromMessageParts> FromMessage<private::ViaParts> for T {
    type Rejection = T::Rejection;

    fn from_message(socket: &SocketRef, parts: &mut MessageParts) -> Result<Self, Self::Rejection> {
        T::from_message_parts(socket, parts)
    }
}

/// An extractor for connect handlers and middlewares.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a connect handler or middleware",
    note = "connect handler arguments implement `FromConnectParts`: `SocketRef`, `Data<T>` / `TryData<T>` (the `auth` payload), `State<T>`, `Extension<T>`, `Handshake`, `SocketIo`"
)]
pub trait FromConnectParts: Sized {
    /// Why extraction failed: its `Display` text reaches the client as the
    /// `CONNECT_ERROR` message; its `Debug` goes to the server's log.
    type Rejection: Display + Debug + Send + 'static;

    /// Extracts the value.
    fn from_connect_parts(
        socket: &SocketRef,
        parts: &ConnectParts,
    ) -> Result<Self, Self::Rejection>;
}

/// An extractor for disconnect handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a disconnect handler",
    note = "disconnect handler arguments implement `FromDisconnectParts`: `SocketRef`, `DisconnectReason`, `State<T>`, `Extension<T>`, `Handshake`, `SocketIo`"
)]
pub trait FromDisconnectParts: Sized {
    /// Why extraction failed; it is logged (`Debug`).
    type Rejection: Display + Debug + Send + 'static;

    /// Extracts the value.
    fn from_disconnect_parts(
        socket: &SocketRef,
        reason: DisconnectReason,
    ) -> Result<Self, Self::Rejection>;
}

/// An event's extractor failed: tell the client (if it waits for an ack) and log.
pub(crate) fn rejected<E: Display + Debug>(
    socket: &SocketRef,
    parts: &MessageParts,
    e: &E,
) -> BoxFuture<()> {
    let message = e.to_string();
    trace::warn!(ns = %socket.ns(), sid = %socket.id(), event = %parts.event(), error = ?e, "socket.io: extractor rejected the event");
    if let Some(id) = parts.ack_id() {
        socket.send_ack_error(id, &message);
    }
    Box::pin(std::future::ready(()))
}

/// A disconnect handler's extractor failed: log it.
pub(crate) fn disconnect_rejected<E: Debug>(socket: &SocketRef, e: &E) -> BoxFuture<()> {
    trace::warn!(ns = %socket.ns(), sid = %socket.id(), error = ?e, "socket.io: extractor rejected the disconnect handler");
    Box::pin(std::future::ready(()))
}

macro_rules! impl_for_all_parts {
    ($ty:ty, |$s:ident| $e:expr) => {
        impl FromMessageParts for $ty {
            type Rejection = std::convert::Infallible;
            fn from_message_parts(
                $s: &SocketRef,
                _: &mut MessageParts,
            ) -> Result<Self, Self::Rejection> {
                Ok($e)
            }
        }
        impl FromConnectParts for $ty {
            type Rejection = std::convert::Infallible;
            fn from_connect_parts(
                $s: &SocketRef,
                _: &ConnectParts,
            ) -> Result<Self, Self::Rejection> {
                Ok($e)
            }
        }
        impl FromDisconnectParts for $ty {
            type Rejection = std::convert::Infallible;
            fn from_disconnect_parts(
                $s: &SocketRef,
                _: DisconnectReason,
            ) -> Result<Self, Self::Rejection> {
                Ok($e)
            }
        }
    };
}

impl_for_all_parts!(SocketRef, |s| s.clone());
impl_for_all_parts!(crate::SocketIo, |s| s.io());
impl_for_all_parts!(Handshake, |s| s.handshake());

impl FromDisconnectParts for DisconnectReason {
    type Rejection = std::convert::Infallible;
    fn from_disconnect_parts(
        _: &SocketRef,
        reason: DisconnectReason,
    ) -> Result<Self, Self::Rejection> {
        Ok(reason)
    }
}
