use std::{
    collections::HashMap,
    fmt,
    pin::pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, OnceLock, RwLock, Weak,
    },
    time::Duration,
};

use rmpv::Value;
use socketio_axum::{
    adapter::{
        Adapter, AdapterError, BroadcastOptions, LocalNamespace, NamespaceAdapter, RemoteAcks,
        Room, ServerSideEmitError, SocketData, WeakLocalNamespace,
    },
    extract::RawArgs,
    handler::BoxFuture,
    Str,
};
use socketio_protocol::socket::EncodedPacket;
use tokio::time::Instant;

use crate::{
    error::Error,
    link::{self, Link, OnMessage, Status, Subscriptions},
    remote,
    requests::{random_hex, random_id, Pending, Requests},
    sharded, trace,
    value::{self, values_to_args},
    wire::{self, Channels, RequestType},
    RedisAdapterConfig, SubscriptionMode,
};

/// Spans the namespaces of a [`SocketIo`](socketio_axum::SocketIo) server
/// over Redis pub/sub, speaking the protocol of Node's
/// `@socket.io/redis-adapter` 8.x: Rust and Node servers that share a Redis
/// and a key prefix form one cluster. With
/// [`sharded`](crate::RedisAdapterConfigBuilder::sharded), it speaks that of
/// Node's `createShardedAdapter` over a Redis Cluster instead.
///
/// Broadcasts (to rooms, with exceptions, with acknowledgements), joins,
/// leaves, disconnections, `fetch_sockets`, server-side emits and the server
/// count reach every server. A cheap [`Clone`] handle.
///
/// ```no_run
/// use socketio_axum::{SocketIo, SocketRef};
/// use socketio_redis::{RedisAdapter, RedisAdapterConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = RedisAdapterConfig::builder().url("redis://127.0.0.1:6379").build();
/// let adapter = RedisAdapter::connect(config).await?;
/// let (layer, io) = SocketIo::builder().adapter(adapter.clone()).build_layer();
/// io.ns("/", |socket: SocketRef| async move {
///     // Reaches the clients of every server of the cluster.
///     let _ = socket.broadcast().emit("joined", socket.id().as_str());
/// });
/// adapter.ready().await; // subscribed: other servers now count this one
/// let app = axum::Router::new().layer(layer);
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
/// axum::serve(listener, app).await?;
/// # Ok(())
/// # }
/// ```
///
/// When Redis goes away, delivery to this server's own clients goes on;
/// what should reach other servers fails with an [`AdapterError`]: a
/// broadcast's `emit` returns
/// [`EmitError::Adapter`](socketio_axum::EmitError::Adapter) (its packet
/// reached this server's clients only), requests that wait for other
/// servers fail, and the adapter reconnects and subscribes again by itself.
/// Nothing is kept to be sent later. A broadcast queued just before Redis
/// went away is lost without an error from `emit`;
/// [`emit_published`](socketio_axum::BroadcastOperators::emit_published)
/// reports it. (The sharded adapter does not refuse broadcasts while a
/// cluster node is away: their publishing fails, which `emit_published`
/// reports.)
#[derive(Clone)]
pub struct RedisAdapter {
    core: Arc<Core>,
}

impl fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("uid", &self.core.uid)
            .field("config", &self.core.config)
            .finish_non_exhaustive()
    }
}

/// What a server's namespace adapters share.
pub(crate) struct Core {
    /// This server's id in the cluster, as Node's `uid2(6)`.
    pub(crate) uid: String,
    pub(crate) config: RedisAdapterConfig,
    pub(crate) link: Link,
    pub(crate) routes: RwLock<Routes>,
    pub(crate) requests: Arc<Requests>,
    next_route: AtomicU64,
}

/// Which namespace each subscribed channel belongs to.
#[derive(Default)]
pub(crate) struct Routes {
    namespaces: HashMap<String, Route>,
    channels: HashMap<String, String>,
    patterns: HashMap<String, String>,
}

pub(crate) struct Route {
    id: u64,
    pub(crate) ns: WeakLocalNamespace,
    pub(crate) channels: Channels,
}

impl Routes {
    /// The namespace a plain channel (requests, responses) belongs to.
    pub(crate) fn by_channel(&self, channel: &str) -> Option<&Route> {
        self.namespaces.get(self.channels.get(channel)?)
    }

    /// The namespace of a path.
    pub(crate) fn by_path(&self, path: &str) -> Option<&Route> {
        self.namespaces.get(path)
    }

    /// The namespace a pattern (broadcasts) belongs to.
    pub(crate) fn by_pattern(&self, pattern: &str) -> Option<&Route> {
        self.namespaces.get(self.patterns.get(pattern)?)
    }
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

impl RedisAdapter {
    /// Connects to Redis (both the publishing and the subscribed
    /// connection). Fails if the URL is malformed, Redis does not answer,
    /// or it refuses the credentials ([`Error::is_auth`]).
    pub async fn connect(config: RedisAdapterConfig) -> Result<RedisAdapter, Error> {
        let redis = config.redis()?;
        // The subscribed connection hands messages to the core, which owns
        // the link: it gets a weak reference once the core exists.
        let slot: Arc<OnceLock<Weak<Core>>> = Arc::default();
        let on_message: OnMessage = {
            let slot = slot.clone();
            Box::new(move |channel, pattern, payload| {
                if let Some(core) = slot.get().and_then(Weak::upgrade) {
                    remote::on_message(&core, channel, pattern, payload);
                }
            })
        };
        let link = Link::start(
            redis,
            config.request_timeout(),
            config.publish_queue(),
            on_message,
        )
        .await?;
        // Node's sharded adapter names servers with 16 hex digits; its
        // servers' response channels (`prefix#nsp#uid#`) share the form of
        // room channels, and the length keeps them apart from short rooms.
        let uid = if config.sharded().is_some() {
            random_hex(16)
        } else {
            random_id()
        };
        let core = Arc::new(Core {
            uid,
            config,
            link,
            routes: RwLock::default(),
            requests: Arc::default(),
            next_route: AtomicU64::new(0),
        });
        let _ = slot.set(Arc::downgrade(&core));
        let adapter = RedisAdapter { core };
        let wait = adapter.core.config.request_timeout();
        tokio::time::timeout(wait, adapter.wait_for(|s| s.connected))
            .await
            .map_err(|_| Error::connect(None))?;
        Ok(adapter)
    }

    /// Resolves once connected and subscribed to the channels of every
    /// namespace created so far: from then on, the other servers count
    /// this one and reach it. Also resolves again after a reconnection.
    ///
    /// ```no_run
    /// # async fn run(adapter: socketio_redis::RedisAdapter, io: socketio_axum::SocketIo) {
    /// adapter.ready().await;
    /// assert!(io.server_count().await.unwrap() >= 1);
    /// # }
    /// ```
    ///
    /// With the sharded adapter in [`SubscriptionMode::Dynamic`](crate::SubscriptionMode::Dynamic),
    /// also waits for the channels of the rooms created so far.
    pub async fn ready(&self) {
        let requested = self.core.link.requested();
        self.wait_for(move |s| s.connected && s.applied >= requested)
            .await;
    }

    /// Resolves once the connection to Redis is lost (for health checks,
    /// and for tests of reconnection). The sharded adapter leaves its
    /// connection to the Redis client, which reconnects by itself: this
    /// never resolves there.
    pub async fn disconnected(&self) {
        self.wait_for(|s| !s.connected).await;
    }

    /// Whether the subscribed connection is up (always, once connected,
    /// for the sharded adapter: see [`disconnected`](Self::disconnected)).
    pub fn is_connected(&self) -> bool {
        self.core.link.status().borrow().connected
    }

    /// This server's id in the cluster (the `uid` of its messages).
    pub fn uid(&self) -> &str {
        &self.core.uid
    }

    async fn wait_for(&self, cond: impl FnMut(&Status) -> bool) {
        let mut status = self.core.link.status();
        let _ = status.wait_for(cond).await;
    }
}

impl Adapter for RedisAdapter {
    fn namespace(&self, ns: LocalNamespace) -> Box<dyn NamespaceAdapter> {
        let core = &self.core;
        let path = ns.path().to_owned();
        let prefix = core.config.key_prefix();
        let channels = match core.config.sharded() {
            Some(mode) => {
                Channels::sharded(prefix, &path, &core.uid, mode == SubscriptionMode::Dynamic)
            }
            None => Channels::new(prefix, &path, &core.uid),
        };
        let id = core.next_route.fetch_add(1, Ordering::Relaxed);
        {
            let mut routes = write(&core.routes);
            if !channels.is_sharded() {
                for channel in [
                    &channels.request,
                    &channels.response,
                    &channels.own_response,
                ] {
                    routes.channels.insert(channel.clone(), path.clone());
                }
                routes
                    .patterns
                    .insert(channels.pattern.clone(), path.clone());
            }
            // A namespace registered again (Node's `io.of` replaced) takes the route over.
            routes.namespaces.insert(
                path.clone(),
                Route {
                    id,
                    ns: ns.downgrade(),
                    channels: channels.clone(),
                },
            );
        }
        core.link.subscribe(path.clone(), channels.subscriptions());
        if channels.room("room").is_some() {
            watch_rooms(core, &ns, &channels);
        }
        Box::new(RedisNamespace {
            core: core.clone(),
            path,
            channels,
            route: id,
        })
    }
}

/// Subscribes to the channel of each room of `ns` while it has a member
/// here (the sharded adapter's dynamic mode).
fn watch_rooms(core: &Arc<Core>, ns: &LocalNamespace, channels: &Channels) {
    let core = Arc::downgrade(core);
    let weak_ns = ns.downgrade();
    let path = ns.path().to_owned();
    let channels = channels.clone();
    ns.watch_rooms(move |room| {
        let (Some(core), Some(channel)) = (core.upgrade(), channels.room(room)) else {
            return;
        };
        let (ns, room) = (weak_ns.clone(), room.clone());
        let key = format!("{path}#{room}");
        let subs = Subscriptions {
            channels: vec![channel],
            patterns: Vec::new(),
        };
        core.link.reconcile(
            key,
            subs,
            Box::new(move || ns.upgrade().is_some_and(|ns| ns.has_room(&room))),
        );
    });
}

/// One namespace's link to the other servers.
struct RedisNamespace {
    core: Arc<Core>,
    path: String,
    channels: Channels,
    route: u64,
}

impl Drop for RedisNamespace {
    fn drop(&mut self) {
        let mut routes = write(&self.core.routes);
        if routes.namespaces.get(&self.path).map(|r| r.id) != Some(self.route) {
            return;
        }
        routes.namespaces.remove(&self.path);
        for channel in [
            &self.channels.request,
            &self.channels.response,
            &self.channels.own_response,
        ] {
            routes.channels.remove(channel);
        }
        routes.patterns.remove(&self.channels.pattern);
        drop(routes);
        self.core
            .link
            .unsubscribe(self.path.clone(), self.channels.subscriptions());
    }
}

fn error(message: impl fmt::Display) -> AdapterError {
    AdapterError::new(format!("redis adapter: {message}"))
}

/// Arguments as our sockets hold them.
pub(crate) fn raw_args(values: &[Value]) -> RawArgs {
    let (json, attachments) = values_to_args(values);
    RawArgs {
        args: Str::from(json),
        attachments,
    }
}

impl Core {
    /// The servers that have this namespace, this one included.
    async fn server_count(&self, channels: &Channels) -> Result<usize, AdapterError> {
        if !self.link.status().borrow().connected {
            return Err(link::not_connected());
        }
        self.link.numsub(&channels.request).await
    }

    /// The other servers, once the request is open (so that no answer can
    /// come before it is listened for).
    async fn others(&self, channels: &Channels) -> Result<usize, AdapterError> {
        Ok(self.server_count(channels).await?.saturating_sub(1))
    }
}

/// Collects `expected` answers until `deadline`; `Err` with those received
/// if it passes first.
async fn gather(
    pending: &mut Pending,
    expected: usize,
    deadline: Instant,
) -> Result<Vec<Value>, Vec<Value>> {
    let mut answers = Vec::with_capacity(expected);
    while answers.len() < expected {
        match tokio::time::timeout_at(deadline, pending.answers.recv()).await {
            Ok(Some(answer)) => answers.push(answer),
            Ok(None) | Err(_) => return Err(answers),
        }
    }
    Ok(answers)
}

/// A `SERVER_SIDE_EMIT` in the namespace's protocol.
fn server_side_request(
    uid: &str,
    channels: &Channels,
    nsp: &str,
    request_id: Option<&str>,
    event: &str,
    args: Vec<Value>,
) -> Vec<u8> {
    if channels.is_sharded() {
        sharded::server_side_emit(uid, nsp, request_id, event, args)
    } else {
        wire::server_side_emit(uid, request_id, event, args)
    }
}

impl RedisNamespace {
    /// A join (`join`) or leave request in the namespace's protocol.
    fn rooms_request(&self, join: bool, opts: &BroadcastOptions, rooms: &[Room]) -> Vec<u8> {
        let (uid, nsp) = (&self.core.uid, &self.path);
        if self.channels.is_sharded() {
            return sharded::sockets_rooms(uid, nsp, join, opts, rooms);
        }
        let ty = if join {
            RequestType::RemoteJoin
        } else {
            RequestType::RemoteLeave
        };
        wire::rooms_request(uid, ty, opts, rooms)
    }

    fn publish_request(&self, payload: Vec<u8>) -> Result<(), AdapterError> {
        self.core
            .link
            .publish(self.channels.request.clone(), payload)
    }

    /// A broadcast's channel and payload, if the packet can be read.
    fn broadcast_message(
        &self,
        packet: &EncodedPacket,
        opts: &BroadcastOptions,
    ) -> Result<(String, Vec<u8>), AdapterError> {
        let Some((event, args)) = wire::event_of_encoded(packet) else {
            trace::warn!(ns = %self.path, "redis adapter: cannot read a broadcast packet, not sent to other servers");
            return Err(error("cannot read a broadcast packet"));
        };
        let (uid, nsp) = (&self.core.uid, &self.path);
        let payload = if self.channels.is_sharded() {
            sharded::broadcast(uid, nsp, (&event, args), opts, None)
        } else {
            wire::broadcast(uid, nsp, &event, args, opts)
        };
        Ok((self.channels.broadcast_to(opts), payload))
    }

    /// Sends a query to every other server and gathers their answers
    /// within the request timeout.
    fn query(
        &self,
        ty: RequestType,
        opts: &BroadcastOptions,
        what: &'static str,
    ) -> BoxFuture<Result<Vec<Value>, AdapterError>> {
        let core = self.core.clone();
        let channels = self.channels.clone();
        let opts = opts.clone();
        let nsp = self.path.clone();
        Box::pin(async move {
            if channels.is_sharded() && ty != RequestType::RemoteFetch {
                return Err(error(format!(
                    "{what} is not part of the sharded protocol (Node's sharded adapter has none)"
                )));
            }
            let deadline = Instant::now() + core.config.request_timeout();
            let others = core.others(&channels).await?;
            if others == 0 {
                return Ok(Vec::new());
            }
            let mut pending = core.requests.open();
            let request = if channels.is_sharded() {
                sharded::fetch_sockets(&core.uid, &nsp, &pending.id, &opts)
            } else {
                wire::query(&core.uid, &pending.id, ty, &opts)
            };
            core.link.publish(channels.request.clone(), request)?;
            gather(&mut pending, others, deadline).await.map_err(|got| {
                AdapterError::timeout(format!(
                    "redis adapter: timeout reached while waiting for {what} response ({} of {others} servers answered)",
                    got.len()
                ))
            })
        })
    }
}

impl NamespaceAdapter for RedisNamespace {
    fn broadcast(
        &self,
        packet: &EncodedPacket,
        opts: &BroadcastOptions,
    ) -> Result<(), AdapterError> {
        let (channel, payload) = self.broadcast_message(packet, opts)?;
        self.core.link.publish(channel, payload)
    }

    fn broadcast_published(
        &self,
        packet: &EncodedPacket,
        opts: &BroadcastOptions,
    ) -> Result<BoxFuture<Result<(), AdapterError>>, AdapterError> {
        let (channel, payload) = self.broadcast_message(packet, opts)?;
        let published = self.core.link.publish_confirmed(channel, payload)?;
        Ok(Box::pin(async move {
            published
                .await
                .unwrap_or_else(|_| Err(AdapterError::unavailable("redis adapter: stopped")))
        }))
    }

    fn broadcast_with_ack(
        &self,
        packet: &EncodedPacket,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<Result<RemoteAcks, AdapterError>> {
        let Some((event, args)) = wire::event_of_encoded(packet) else {
            return Box::pin(std::future::ready(Err(error(
                "cannot read a broadcast packet",
            ))));
        };
        let deadline = Instant::now() + timeout;
        // Sent now, in order with this server's other broadcasts.
        let mut pending = self.core.requests.open();
        let (uid, nsp, id) = (&self.core.uid, &self.path, &pending.id);
        let request = if self.channels.is_sharded() {
            sharded::broadcast(uid, nsp, (&event, args), opts, Some((id, timeout)))
        } else {
            wire::broadcast_request(uid, id, nsp, (&event, args), opts, timeout)
        };
        if let Err(e) = self.publish_request(request) {
            return Box::pin(std::future::ready(Err(e)));
        }
        let core = self.core.clone();
        let channels = self.channels.clone();
        Box::pin(async move {
            let mut count = pin!(core.others(&channels));
            let mut servers = None;
            let (mut counted, mut clients) = (0, 0);
            let mut acks = Vec::new();
            loop {
                if servers.is_some_and(|s| counted >= s) && acks.len() >= clients {
                    break;
                }
                tokio::select! {
                    n = &mut count, if servers.is_none() => servers = Some(n?),
                    answer = pending.answers.recv() => {
                        let Some(answer) = answer else { break };
                        match RequestType::of(&answer) {
                            Some(RequestType::BroadcastClientCount) => {
                                counted += 1;
                                clients += wire::field(&answer, "clientCount")
                                    .and_then(Value::as_u64)
                                    .unwrap_or(0) as usize;
                            }
                            Some(RequestType::BroadcastAck) => {
                                let ack = wire::field(&answer, "packet")
                                    .filter(|v| !value::is_undefined(v));
                                acks.push(raw_args(ack.map(std::slice::from_ref).unwrap_or_default()));
                            }
                            _ => {}
                        }
                    }
                    _ = tokio::time::sleep_until(deadline) => break,
                }
            }
            Ok(RemoteAcks::new(clients, acks))
        })
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketData>, AdapterError>> {
        let answers = self.query(RequestType::RemoteFetch, opts, "fetchSockets");
        Box::pin(async move {
            let mut sockets = Vec::new();
            for answer in answers.await? {
                let Some(Value::Array(items)) = wire::field(&answer, "sockets") else {
                    continue;
                };
                for item in items {
                    match serde_json::from_str::<SocketData>(&value::to_json(item)) {
                        Ok(socket) => sockets.push(socket),
                        Err(e) => {
                            trace::debug!(error = %e, "redis adapter: malformed socket in a fetchSockets answer")
                        }
                    }
                }
            }
            Ok(sockets)
        })
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.publish_request(self.rooms_request(true, opts, rooms))
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.publish_request(self.rooms_request(false, opts, rooms))
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) -> Result<(), AdapterError> {
        let (uid, nsp) = (&self.core.uid, &self.path);
        self.publish_request(if self.channels.is_sharded() {
            sharded::disconnect_sockets(uid, nsp, opts, close)
        } else {
            wire::disconnect_request(uid, opts, close)
        })
    }

    fn server_side_emit(
        &self,
        event: &str,
        args: &RawArgs,
        ack: Option<Duration>,
    ) -> BoxFuture<Result<Vec<RawArgs>, ServerSideEmitError>> {
        let args = match value::args_to_values(&args.args, &args.attachments) {
            Ok(args) => args,
            Err(e) => return Box::pin(std::future::ready(Err(error(e).into()))),
        };
        let Some(timeout) = ack else {
            let request = server_side_request(
                &self.core.uid,
                &self.channels,
                &self.path,
                None,
                event,
                args,
            );
            let sent = self.publish_request(request);
            return Box::pin(std::future::ready(
                sent.map(|()| Vec::new()).map_err(Into::into),
            ));
        };
        let core = self.core.clone();
        let channels = self.channels.clone();
        let nsp = self.path.clone();
        let event = event.to_owned();
        Box::pin(async move {
            let deadline = Instant::now() + timeout;
            let others = core.others(&channels).await?;
            if others == 0 {
                return Ok(Vec::new());
            }
            let mut pending = core.requests.open();
            let request =
                server_side_request(&core.uid, &channels, &nsp, Some(&pending.id), &event, args);
            core.link.publish(channels.request.clone(), request)?;
            let to_args = |answers: &[Value]| -> Vec<RawArgs> {
                answers
                    .iter()
                    .map(|a| {
                        let data = wire::field(a, "data").filter(|v| !value::is_undefined(v));
                        raw_args(data.map(std::slice::from_ref).unwrap_or_default())
                    })
                    .collect()
            };
            match gather(&mut pending, others, deadline).await {
                Ok(answers) => Ok(to_args(&answers)),
                // The answers that came are kept, as Node's callback gets them.
                Err(got) => Err(ServerSideEmitError::new(
                    AdapterError::timeout(format!(
                        "redis adapter: timeout reached: only {} responses received out of {others}",
                        got.len()
                    )),
                    to_args(&got),
                )),
            }
        })
    }

    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>> {
        let core = self.core.clone();
        let channels = self.channels.clone();
        Box::pin(async move { core.server_count(&channels).await })
    }

    fn all_rooms(&self) -> BoxFuture<Result<Vec<Room>, AdapterError>> {
        let answers = self.query(
            RequestType::AllRooms,
            &BroadcastOptions::default(),
            "allRooms",
        );
        Box::pin(async move {
            let mut rooms: Vec<Room> = answers
                .await?
                .iter()
                .flat_map(|a| wire::rooms_field(a, "rooms"))
                .collect();
            rooms.sort();
            rooms.dedup();
            Ok(rooms)
        })
    }
}
