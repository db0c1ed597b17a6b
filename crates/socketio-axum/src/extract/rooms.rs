//! Rooms as extractors, in HTTP routes and event handlers: [`Rooms`] (the
//! room map of a namespace) and [`ToRoom`] (the room named by the route).

use std::{fmt, marker::PhantomData, sync::Arc};

use axum::{
    extract::{FromRequestParts, RawPathParams},
    response::{IntoResponse, Response},
};
use http::{request::Parts, StatusCode};

use super::{FromMessageParts, MessageParts};
use crate::{ns::Namespace, trace, BroadcastOperators, Room, SocketIo, SocketRef};

/// A namespace named by a type, for [`Rooms`]:
///
/// ```
/// use socketio_axum::extract::NamespacePath;
///
/// struct Chat;
/// impl NamespacePath for Chat {
///     const PATH: &'static str = "/chat";
/// }
/// ```
pub trait NamespacePath: Send + Sync + 'static {
    /// The namespace's path, as registered with `io.ns`.
    const PATH: &'static str;
}

/// The main namespace, `/`: the default of [`Rooms`], and where [`ToRoom`] points.
#[derive(Debug, Clone, Copy, Default)]
pub struct Main;

impl NamespacePath for Main {
    const PATH: &'static str = "/";
}

/// The rooms of a namespace on this server (`N`, by default the main
/// namespace `/`), as an extractor in an axum route or an event handler:
/// which rooms have members, how many, and an operator to reach one
/// (Node's `io.of(nsp).adapter.rooms`). Counts are of this server's
/// sockets; with an adapter, `fetch_sockets` counts across the cluster.
///
/// ```
/// use axum::{extract::Json, routing::get, Router};
/// use socketio_axum::extract::Rooms;
///
/// async fn rooms(rooms: Rooms) -> Json<Vec<(String, usize)>> {
///     Json(rooms.names().into_iter().map(|r| (r.to_string(), rooms.len(&r))).collect())
/// }
///
/// let app: Router = Router::new().route("/rooms", get(rooms));
/// ```
pub struct Rooms<N = Main> {
    ns: Arc<Namespace>,
    _path: PhantomData<fn() -> N>,
}

impl<N> fmt::Debug for Rooms<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rooms").field("ns", &self.ns.path).finish()
    }
}

impl<N> Rooms<N> {
    /// The namespace's path.
    pub fn namespace(&self) -> &str {
        &self.ns.path
    }

    /// The rooms with a member on this server: those joined, and each
    /// socket's own room (named after its id), as Node's adapter lists them.
    pub fn names(&self) -> Vec<Room> {
        self.ns.all_rooms()
    }

    /// How many of this server's sockets are in `room` (0 for a room
    /// without members).
    pub fn len(&self, room: &str) -> usize {
        self.ns.room_len(room)
    }

    /// Whether `room` has no member on this server.
    pub fn is_empty(&self, room: &str) -> bool {
        self.len(room) == 0
    }

    /// Operators targeting `room` (on every server, with an adapter).
    pub fn to(&self, room: impl Into<Room>) -> BroadcastOperators {
        BroadcastOperators::new(self.ns.clone()).to(room.into())
    }
}

/// The room named by the route's `{room}` parameter, as operators on it in
/// the main namespace: `POST /rooms/{room}` broadcasts there. For another
/// namespace, take the room with axum's `Path` and use
/// [`Rooms<N>::to`](Rooms::to).
///
/// ```
/// use axum::{routing::post, Router};
/// use socketio_axum::extract::ToRoom;
///
/// async fn say(ToRoom(room): ToRoom, text: String) -> &'static str {
///     match room.emit("news", &text) {
///         Ok(()) => "sent",
///         Err(_) => "not sent to every server",
///     }
/// }
///
/// let app: Router = Router::new().route("/rooms/{room}", post(say));
/// ```
pub struct ToRoom(pub BroadcastOperators);

impl fmt::Debug for ToRoom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ToRoom").field(&self.0).finish()
    }
}

/// Why [`Rooms`] or [`ToRoom`] could not be extracted: a mistake of the
/// server, not of the client. The client gets 500 (or the event's ack
/// error) saying "internal server error"; the detail goes to the log.
#[derive(Clone)]
pub struct RoomsRejection(String);

impl fmt::Display for RoomsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("internal server error")
    }
}

impl fmt::Debug for RoomsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RoomsRejection {}

impl IntoResponse for RoomsRejection {
    fn into_response(self) -> Response {
        trace::warn!(error = %self.0, "socket.io: rooms extractor rejected the request");
        (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
    }
}

fn namespace<N: NamespacePath>(io: &SocketIo) -> Result<Arc<Namespace>, RoomsRejection> {
    io.namespace(N::PATH).ok_or_else(|| {
        RoomsRejection(format!(
            "no namespace {} is registered (io.ns) for the Rooms/ToRoom extractor",
            N::PATH
        ))
    })
}

fn io_of(parts: &Parts) -> Result<SocketIo, RoomsRejection> {
    parts.extensions.get::<SocketIo>().cloned().ok_or_else(|| {
        RoomsRejection(
            "a rooms extractor used on a route that is not behind the SocketIoLayer".into(),
        )
    })
}

impl<S: Send + Sync, N: NamespacePath> FromRequestParts<S> for Rooms<N> {
    type Rejection = RoomsRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Rooms {
            ns: namespace::<N>(&io_of(parts)?)?,
            _path: PhantomData,
        })
    }
}

impl<N: NamespacePath> FromMessageParts for Rooms<N> {
    type Rejection = RoomsRejection;

    fn from_message_parts(
        socket: &SocketRef,
        _: &mut MessageParts,
    ) -> Result<Self, Self::Rejection> {
        Ok(Rooms {
            ns: namespace::<N>(&socket.io())?,
            _path: PhantomData,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ToRoom {
    type Rejection = RoomsRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                RoomsRejection(format!(
                    "ToRoom needs a route with a {{room}} parameter: {e}"
                ))
            })?;
        let room = params
            .iter()
            .find(|(name, _)| *name == "room")
            .map(|(_, value)| Room::from(value.to_owned()))
            .ok_or_else(|| RoomsRejection("ToRoom needs a route with a {room} parameter".into()))?;
        let ns = namespace::<Main>(&io_of(parts)?)?;
        Ok(ToRoom(BroadcastOperators::new(ns).to(room)))
    }
}
