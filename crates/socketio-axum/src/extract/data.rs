use std::fmt;

use serde::de::DeserializeOwned;
use socketio_protocol::socket::{deserialize_data, deserialize_value};

use super::{ConnectParts, FromConnectParts, FromMessage, FromMessageParts, MessageParts, RawArgs};
use crate::SocketRef;

/// The data of an event or of a connection, deserialized into `T`.
///
/// For an event: a tuple, array or `Vec` receives the list of arguments
/// (`Data<(String, u32)>` for `emit("ev", "a", 1)`); any other type receives
/// the first argument (`Data<MyStruct>`). To receive one array argument as
/// a whole, use a 1-tuple: `Data<(Vec<u8>,)>`. Binary arguments arrive as
/// [`Binary`](socketio_protocol::socket::Binary) (or any type that
/// deserializes from bytes); a `serde_json::Value` has no bytes, so it
/// receives the placeholder object `{"_placeholder":true,"num":N}` instead —
/// use [`RawArgs`] to pass binary arguments on.
///
/// For a connection: the `auth` object the client sent (`{}` when none).
///
/// If the data does not fit `T`, the handler does not run and the client
/// gets an ack error (or a `CONNECT_ERROR`); use [`TryData`] to handle it yourself.
///
/// ```
/// use socketio_axum::{extract::Data, SocketRef};
///
/// #[derive(serde::Deserialize)]
/// struct Move { x: i32, y: i32 }
///
/// async fn on_move(socket: SocketRef, Data(m): Data<Move>) {
///     let _ = socket.broadcast().emit("moved", &(m.x, m.y));
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data<T>(pub T);

/// Like [`Data`], but never rejects: holds the result of deserializing.
#[derive(Debug)]
pub struct TryData<T>(pub Result<T, DataError>);

/// The data did not deserialize into the type asked for.
#[derive(Debug)]
pub struct DataError(serde_json::Error);

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid data: {}", self.0)
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn from_event<T: DeserializeOwned>(parts: &MessageParts) -> Result<T, DataError> {
    deserialize_data(&parts.args, &parts.attachments).map_err(DataError)
}

fn from_auth<T: DeserializeOwned>(parts: &ConnectParts) -> Result<T, DataError> {
    let auth = parts.auth.as_deref().unwrap_or("{}");
    deserialize_value(auth, &[]).map_err(DataError)
}

impl<T: DeserializeOwned> FromMessageParts for Data<T> {
    type Rejection = DataError;

    fn from_message_parts(_: &SocketRef, parts: &mut MessageParts) -> Result<Self, DataError> {
        from_event(parts).map(Data)
    }
}

impl<T: DeserializeOwned> FromMessageParts for TryData<T> {
    type Rejection = std::convert::Infallible;

    fn from_message_parts(
        _: &SocketRef,
        parts: &mut MessageParts,
    ) -> Result<Self, Self::Rejection> {
        Ok(TryData(from_event(parts)))
    }
}

impl<T: DeserializeOwned> FromConnectParts for Data<T> {
    type Rejection = DataError;

    fn from_connect_parts(_: &SocketRef, parts: &ConnectParts) -> Result<Self, DataError> {
        from_auth(parts).map(Data)
    }
}

impl<T: DeserializeOwned> FromConnectParts for TryData<T> {
    type Rejection = std::convert::Infallible;

    fn from_connect_parts(_: &SocketRef, parts: &ConnectParts) -> Result<Self, Self::Rejection> {
        Ok(TryData(from_auth(parts)))
    }
}

impl FromMessage for RawArgs {
    type Rejection = std::convert::Infallible;

    fn from_message(_: &SocketRef, parts: &mut MessageParts) -> Result<Self, Self::Rejection> {
        Ok(RawArgs {
            args: parts.args.clone(),
            attachments: parts.take_attachments(),
        })
    }
}
