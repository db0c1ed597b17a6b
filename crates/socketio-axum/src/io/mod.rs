use std::{fmt, sync::Arc};

use engineio_tower::EngineIo;
use serde::{de::DeserializeOwned, Serialize};
use socketio_protocol::Str;

mod builder;
mod server;
#[cfg(feature = "webtransport")]
mod webtransport;

pub use builder::SocketIoBuilder;
pub(crate) use server::ServerInner;

use crate::{
    ack::BroadcastAckFuture,
    adapter::{AdapterError, Room, ServerSideEmitError, ServerSideEvent},
    client::Client,
    extract::RawArgs,
    handler::ConnectHandler,
    ns::{Namespace, NamespaceRef, Shared},
    operators::{BroadcastOperators, IntoRooms, PublishFuture},
    remote_socket::RemoteSocket,
    write, EmitError, SocketIoConfig, SocketRef,
};

/// The Socket.IO server: register namespaces, reach sockets and rooms, emit.
///
/// A cheap [`Clone`] handle. It is also an axum extractor: any route behind
/// the [`SocketIoLayer`](crate::SocketIoLayer) can take it as an argument.
///
/// ```no_run
/// use axum::{routing::post, Json, Router};
/// use socketio_axum::{extract::Data, SocketIo, SocketRef};
///
/// #[derive(serde::Deserialize, serde::Serialize)]
/// struct News { title: String }
///
/// async fn publish(io: SocketIo, Json(news): Json<News>) {
///     let _ = io.to("news").emit("news", &news);
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let (layer, io) = SocketIo::new_layer();
/// io.ns("/", |socket: SocketRef| async move {
///     socket.join("news");
///     socket.on("echo", |socket: SocketRef, Data(msg): Data<String>| async move {
///         let _ = socket.emit("echo", &msg);
///     });
/// });
/// let app = Router::new().route("/news", post(publish)).layer(layer);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
#[derive(Clone)]
pub struct SocketIo {
    pub(crate) inner: Arc<ServerInner>,
}

impl fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIo")
            .field("namespaces", &self.inner.namespaces.len())
            .finish_non_exhaustive()
    }
}

impl SocketIo {
    pub(crate) fn detached(shared: Arc<Shared>) -> SocketIo {
        SocketIo {
            inner: ServerInner::new(shared),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SocketIoConfig {
        &self.inner.shared.config
    }

    pub(crate) fn engine(&self) -> Option<&EngineIo<Client>> {
        self.inner.engine.get()
    }

    /// Number of Engine.IO sessions on this server, whether or not they
    /// joined a namespace (Node's `io.engine.clientsCount`). A polling
    /// session that just closed counts until its client has fetched what it
    /// is owed (at most the shorter of `ping_timeout` and 5 s).
    pub fn connection_count(&self) -> usize {
        self.engine().map_or(0, EngineIo::session_count)
    }

    /// Registers the namespace `path` (Node's `io.of(path).on("connection", handler)`);
    /// `handler` runs for each client that joins. Replaces an earlier registration.
    pub fn ns<H: ConnectHandler<T>, T: 'static>(
        &self,
        path: impl Into<Str>,
        handler: H,
    ) -> NamespaceRef {
        self.register(NamespaceRef::new(normalize(path.into()), handler))
    }

    /// Inserts a namespace whose registration (its middlewares) is complete,
    /// so that no client can join it before its middlewares are in place.
    pub(crate) fn register(&self, reg: NamespaceRef) -> NamespaceRef {
        let path = reg.path.clone();
        let ns = Namespace::new(
            path.clone(),
            reg.handlers.clone(),
            self.inner.shared.clone(),
            Arc::downgrade(&self.inner),
            false,
        );
        self.inner.namespaces.insert(path, ns);
        reg
    }

    /// Registers a dynamic namespace (Node's `io.of(regex or function)`):
    /// any path for which `matches` returns true becomes a namespace of its
    /// own (its child, with its own sockets and rooms) on first connection.
    ///
    /// ```
    /// use socketio_axum::{SocketIo, SocketRef};
    ///
    /// let (_layer, io) = SocketIo::new_layer();
    /// io.dyn_ns(|path| path.starts_with("/tenant-"), |socket: SocketRef| async move {
    ///     println!("joined {}", socket.ns());
    /// });
    /// ```
    pub fn dyn_ns<F, H, T>(&self, matches: F, handler: H) -> NamespaceRef
    where
        F: Fn(&str) -> bool + Send + Sync + 'static,
        H: ConnectHandler<T>,
        T: 'static,
    {
        let reg = NamespaceRef::new(Str::from_static("<dynamic>"), handler);
        write(&self.inner.dynamic).push((Arc::new(matches), reg.handlers.clone()));
        reg
    }

    /// Removes a namespace; its sockets stay connected until they leave.
    /// The main namespace `/` always exists: deleting it does nothing.
    pub fn delete_ns(&self, path: &str) {
        if path != "/" {
            self.inner.namespaces.remove(path);
        }
    }

    /// Operators on the namespace at `path`, if it exists (Node's `io.of(path)`).
    pub fn of(&self, path: &str) -> Option<BroadcastOperators> {
        let path = normalize(Str::from(path.to_owned()));
        self.inner
            .namespaces
            .get(&path)
            .map(|ns| BroadcastOperators::new(ns.clone()))
    }

    /// The paths of the namespaces on this server, dynamic children included.
    pub fn namespaces(&self) -> Vec<Str> {
        self.inner
            .namespaces
            .iter()
            .map(|e| e.key().clone())
            .collect()
    }

    fn main(&self) -> BroadcastOperators {
        let ns = self
            .inner
            .namespaces
            .get("/")
            .map(|ns| ns.clone())
            .unwrap_or_else(|| {
                Namespace::new(
                    Str::from_static("/"),
                    NamespaceRef::new(Str::from_static("/"), || async {}).handlers,
                    self.inner.shared.clone(),
                    Arc::downgrade(&self.inner),
                    false,
                )
            });
        BroadcastOperators::new(ns)
    }

    /// Targets the sockets of the main namespace in `rooms`.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.main().to(rooms)
    }

    /// Same as [`to`](Self::to) (Node's `io.in`).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.main().to(rooms)
    }

    /// Targets the sockets of the main namespace not in `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.main().except(rooms)
    }

    /// Targets the sockets of the main namespace on this server.
    pub fn local(&self) -> BroadcastOperators {
        self.main().local()
    }

    /// Volatile emits on the main namespace.
    pub fn volatile(&self) -> BroadcastOperators {
        self.main().volatile()
    }

    /// Sets the acknowledgement timeout of a broadcast on the main namespace.
    pub fn timeout(&self, timeout: std::time::Duration) -> BroadcastOperators {
        self.main().timeout(timeout)
    }

    /// Emits on the main namespace with `false`: uncompressed, here and on
    /// the other servers (Node's `io.compress(false)`; see
    /// [`BroadcastOperators::compress`]).
    pub fn compress(&self, compress: bool) -> BroadcastOperators {
        self.main().compress(compress)
    }

    /// Emits to every socket of the main namespace (see
    /// [`BroadcastOperators::emit`] for its errors).
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.main().emit(event, data)
    }

    /// Emits to every socket of the main namespace, and returns a future
    /// that resolves once the adapter has sent the packet to the other
    /// servers (see [`BroadcastOperators::emit_published`]).
    pub fn emit_published<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<PublishFuture, EmitError> {
        self.main().emit_published(event, data)
    }

    /// Emits to every socket of the main namespace with arguments as received
    /// (see [`RawArgs`]).
    pub fn emit_raw(&self, event: &str, args: RawArgs) -> Result<(), EmitError> {
        self.main().emit_raw(event, args)
    }

    /// Emits to every socket of the main namespace and collects their acknowledgements.
    pub fn emit_with_ack<T, R>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<BroadcastAckFuture<R>, EmitError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    {
        self.main().emit_with_ack(event, data)
    }

    /// The sockets of the main namespace on this server.
    pub fn sockets(&self) -> Vec<SocketRef> {
        self.main().sockets()
    }

    /// The sockets of the main namespace on every server (Node's `fetchSockets`).
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        self.main().fetch_sockets().await
    }

    /// Handles events that other servers emit with
    /// [`server_side_emit`](Self::server_side_emit) on the main namespace.
    /// It may be set before or after `io.ns("/", ..)`.
    pub fn on_server_side<F: Fn(ServerSideEvent) + Send + Sync + 'static>(&self, handler: F) {
        // Kept by the server, not by the namespace object, which `ns("/")`
        // replaces: the order of the two calls does not matter.
        *write(&self.inner.shared.server_side) = Some(Arc::new(handler));
    }

    /// Emits an event to the other servers of the cluster (Node's
    /// `serverSideEmit`); with `ack`, resolves with each server's answer
    /// within that time. When a server does not answer in time, the
    /// [`ServerSideEmitError`] keeps the answers that did arrive, as Node's
    /// `(err, responses)` callback does. Without an adapter there is no
    /// other server.
    pub async fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
        ack: Option<std::time::Duration>,
    ) -> Result<Vec<RawArgs>, ServerSideEmitError> {
        let Some(ns) = self.main_ns() else {
            return Ok(Vec::new());
        };
        let Some(remote) = ns.remote() else {
            return Ok(Vec::new());
        };
        let args = RawArgs::from_data(data)
            .map_err(|e| AdapterError::new("cannot serialize the data").with_source(e))?;
        // With `ack`, a server that does not answer in time fails the call,
        // and the error keeps the answers of the others.
        remote.server_side_emit(event, &args, ack).await
    }

    /// The number of servers in the cluster (1 without an adapter).
    pub async fn server_count(&self) -> Result<usize, AdapterError> {
        match self.main_ns().as_deref().and_then(Namespace::remote) {
            Some(remote) => remote.server_count().await,
            None => Ok(1),
        }
    }

    /// The rooms of the main namespace that have members.
    pub fn rooms(&self) -> Vec<Room> {
        self.main_ns().map(|ns| ns.all_rooms()).unwrap_or_default()
    }

    /// The rooms of the main namespace on every server (Node's
    /// `io.of("/").adapter.allRooms()`).
    pub async fn all_rooms(&self) -> Result<Vec<Room>, AdapterError> {
        let Some(ns) = self.main_ns() else {
            return Ok(Vec::new());
        };
        let mut rooms = ns.all_rooms();
        if let Some(remote) = ns.remote() {
            for room in remote.all_rooms().await? {
                if !rooms.contains(&room) {
                    rooms.push(room);
                }
            }
        }
        Ok(rooms)
    }

    /// The namespace at `path` (exact, as registered), if any.
    pub(crate) fn namespace(&self, path: &str) -> Option<Arc<Namespace>> {
        self.inner.namespaces.get(path).map(|ns| ns.clone())
    }

    fn main_ns(&self) -> Option<Arc<Namespace>> {
        self.inner.namespaces.get("/").map(|ns| ns.clone())
    }

    /// Makes every socket of the main namespace join `rooms` (Node's
    /// `socketsJoin`); `Err` when the adapter could not pass it on to the
    /// other servers (see [`BroadcastOperators::join`]).
    pub fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.main().join(rooms)
    }

    /// Makes every socket of the main namespace leave `rooms` (Node's
    /// `socketsLeave`); `Err` when the adapter could not pass it on to the
    /// other servers.
    pub fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.main().leave(rooms)
    }

    /// Disconnects every socket of the main namespace (Node's
    /// `disconnectSockets`); `Err` when the adapter could not pass it on to
    /// the other servers.
    pub fn disconnect_sockets(&self) -> Result<(), AdapterError> {
        self.main().disconnect()
    }

    /// Closes every connection (sockets see `server shutting down`) and
    /// returns once their disconnect handlers were started.
    pub async fn close(&self) {
        if let Some(engine) = self.engine() {
            engine.close().await;
        }
    }
}

pub(crate) fn normalize(path: Str) -> Str {
    if path.starts_with('/') {
        path
    } else {
        Str::from(format!("/{path}"))
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SocketIo {
    type Rejection = (http::StatusCode, &'static str);

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<SocketIo>().cloned().ok_or((
            http::StatusCode::INTERNAL_SERVER_ERROR,
            "SocketIo extractor used on a route that is not behind the SocketIoLayer",
        ))
    }
}
