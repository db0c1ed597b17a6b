use std::{
    fmt,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, OnceLock, RwLock, Weak,
    },
};

use socketio_axum::adapter::{Adapter, LocalNamespace, NamespaceAdapter};

mod namespace;
mod remote;
mod sessions;
mod shared;

use namespace::RedisNamespace;
use shared::{write, Core, Route};

use crate::{
    error::Error,
    link::{Link, OnEntry, OnMessage, Reader, Status, Subscriptions},
    requests::{random_hex, random_id},
    wire::Channels,
    RedisAdapterConfig,
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
/// what should reach other servers fails with an [`AdapterError`](socketio_axum::adapter::AdapterError): a
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
        let reader = match config.streams() {
            Some(streams) => {
                let slot = slot.clone();
                let on_entry: OnEntry = Box::new(move |entry| {
                    if let Some(core) = slot.get().and_then(Weak::upgrade) {
                        remote::on_stream_entry(&core, entry);
                    }
                });
                Some(Reader {
                    client: config.client()?,
                    target: config.stream_target().ok_or_else(|| Error::connect(None))?,
                    count: streams.read_count,
                    block: streams.block,
                    on_entry,
                })
            }
            None => None,
        };
        let link = Link::start(
            redis,
            config.request_timeout(),
            config.publish_queue(),
            on_message,
            config.stream_target(),
            reader,
        )
        .await?;
        // Node's sharded adapter names servers with 16 hex digits; its
        // servers' response channels (`prefix#nsp#uid#`) share the form of
        // room channels, and the length keeps them apart from short rooms.
        let uid = if config.sharded().is_some() || config.streams().is_some() {
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
    /// also waits for the channels of the rooms created so far; with the
    /// streams protocol, for the stream's reader to know where it reads
    /// from (what is appended from then on reaches this server).
    pub async fn ready(&self) {
        let requested = self.core.link.requested();
        self.wait_for(move |s| s.connected && s.applied >= requested)
            .await;
        self.core.link.reading().await;
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
        let channels = core.config.channels(&path, &core.uid);
        let recovery = Arc::new(AtomicBool::new(false));
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
                    recovery: recovery.clone(),
                },
            );
        }
        core.link.subscribe(path.clone(), channels.subscriptions());
        if channels.room("room").is_some() {
            watch_rooms(core, &ns, &channels);
        }
        Box::new(RedisNamespace {
            core: core.clone(),
            ns: ns.downgrade(),
            path,
            channels,
            route: id,
            recovery,
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
