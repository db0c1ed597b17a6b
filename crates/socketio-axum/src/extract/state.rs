use std::{any::type_name, fmt};

use super::{ConnectParts, FromConnectParts, FromDisconnectParts, FromMessageParts, MessageParts};
use crate::{DisconnectReason, SocketRef};

/// Application state given to the server with
/// [`SocketIoBuilder::with_state`](crate::SocketIoBuilder::with_state), cloned for each handler.
///
/// ```
/// use std::sync::{atomic::{AtomicUsize, Ordering}, Arc};
/// use socketio_axum::{extract::State, SocketIo, SocketRef};
///
/// #[derive(Clone, Default)]
/// struct Counter(Arc<AtomicUsize>);
///
/// let (layer, io) = SocketIo::builder().with_state(Counter::default()).build_layer();
/// io.ns("/", |socket: SocketRef, State(counter): State<Counter>| async move {
///     counter.0.fetch_add(1, Ordering::Relaxed);
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

/// No state of the type asked for was given to the server.
#[derive(Clone, Copy)]
pub struct MissingState(&'static str);

/// What the client sees: the server is at fault, and the detail (a Rust
/// type name) stays in the server's log, from `Debug`.
impl fmt::Display for MissingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("internal server error")
    }
}

impl fmt::Debug for MissingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no state of type {} was given to the server (see `SocketIo::builder().with_state(..)`)", self.0)
    }
}

impl std::error::Error for MissingState {}

fn get<T: Clone + Send + Sync + 'static>(socket: &SocketRef) -> Result<State<T>, MissingState> {
    socket
        .server_state()
        .get::<T>()
        .cloned()
        .map(State)
        .ok_or(MissingState(type_name::<T>()))
}

impl<T: Clone + Send + Sync + 'static> FromMessageParts for State<T> {
    type Rejection = MissingState;
    fn from_message_parts(socket: &SocketRef, _: &mut MessageParts) -> Result<Self, MissingState> {
        get(socket)
    }
}

impl<T: Clone + Send + Sync + 'static> FromConnectParts for State<T> {
    type Rejection = MissingState;
    fn from_connect_parts(socket: &SocketRef, _: &ConnectParts) -> Result<Self, MissingState> {
        get(socket)
    }
}

impl<T: Clone + Send + Sync + 'static> FromDisconnectParts for State<T> {
    type Rejection = MissingState;
    fn from_disconnect_parts(
        socket: &SocketRef,
        _: DisconnectReason,
    ) -> Result<Self, MissingState> {
        get(socket)
    }
}
