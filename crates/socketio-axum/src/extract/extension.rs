use std::{any::type_name, fmt};

use super::{ConnectParts, FromConnectParts, FromDisconnectParts, FromMessageParts, MessageParts};
use crate::{DisconnectReason, SocketRef};

/// A value stored on the socket with [`SocketRef::insert_extension`]
/// (for example by a connect middleware), cloned for each handler.
///
/// ```
/// use socketio_axum::{extract::{Data, Extension}, SocketRef};
///
/// #[derive(Clone)]
/// struct User(String);
///
/// async fn auth(socket: SocketRef, Data(name): Data<String>) {
///     socket.insert_extension(User(name));
/// }
///
/// async fn whoami(Extension(user): Extension<User>) {
///     println!("{}", user.0);
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Extension<T>(pub T);

/// The socket holds no extension of the type asked for.
#[derive(Clone, Copy)]
pub struct MissingExtension(&'static str);

/// What the client sees: the server is at fault, and the detail (a Rust
/// type name) stays in the server's log, from `Debug`.
impl fmt::Display for MissingExtension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("internal server error")
    }
}

impl fmt::Debug for MissingExtension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the socket holds no extension of type {} (see `socket.insert_extension(..)`, in a connect middleware say)", self.0)
    }
}

impl std::error::Error for MissingExtension {}

fn get<T: Clone + Send + Sync + 'static>(
    socket: &SocketRef,
) -> Result<Extension<T>, MissingExtension> {
    socket
        .extension::<T>()
        .map(Extension)
        .ok_or(MissingExtension(type_name::<T>()))
}

impl<T: Clone + Send + Sync + 'static> FromMessageParts for Extension<T> {
    type Rejection = MissingExtension;
    fn from_message_parts(
        socket: &SocketRef,
        _: &mut MessageParts,
    ) -> Result<Self, MissingExtension> {
        get(socket)
    }
}

impl<T: Clone + Send + Sync + 'static> FromConnectParts for Extension<T> {
    type Rejection = MissingExtension;
    fn from_connect_parts(socket: &SocketRef, _: &ConnectParts) -> Result<Self, MissingExtension> {
        get(socket)
    }
}

impl<T: Clone + Send + Sync + 'static> FromDisconnectParts for Extension<T> {
    type Rejection = MissingExtension;
    fn from_disconnect_parts(
        socket: &SocketRef,
        _: DisconnectReason,
    ) -> Result<Self, MissingExtension> {
        get(socket)
    }
}
