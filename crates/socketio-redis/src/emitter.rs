//! Emitting to a cluster's clients without being a server, as Node's
//! `@socket.io/redis-emitter` 5.x does.

use std::{fmt, sync::Arc};

use serde::Serialize;
use socketio_axum::{
    adapter::{AdapterError, BroadcastOptions},
    extract::RawArgs,
    IntoRooms,
};
use socketio_protocol::socket::RESERVED_EVENTS;

use crate::{
    error::Error,
    link::{Link, Outgoing},
    protocol::Protocol,
    value::{self, ValueError},
    wire::Channels,
    RedisAdapterConfig,
};

/// The `uid` of an emitter's messages, as Node's emitter sends it: servers
/// never take it for their own.
const UID: &str = "emitter";

/// Reaches the clients of a Socket.IO cluster (Rust servers with
/// [`RedisAdapter`](crate::RedisAdapter), Node servers with
/// `@socket.io/redis-adapter`) from a process that is not a server: a
/// worker, a cron job, a CLI. Wire-compatible with Node's
/// `@socket.io/redis-emitter` 5.x: a message from either reaches the same
/// sockets. A cheap [`Clone`] handle; each call returns once Redis has
/// accepted the message.
///
/// ```no_run
/// use socketio_redis::{RedisAdapterConfig, RedisEmitter};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // The same URL and key prefix as the servers' adapters.
/// let config = RedisAdapterConfig::builder().url("redis://127.0.0.1:6379").build();
/// let io = RedisEmitter::connect(config).await?;
/// io.emit("news", "to every client of /").await?;
/// io.to("room1").except("room2").emit("news", &(1, "two")).await?;
/// io.of("/admin").emit("audit", "to /admin").await?;
/// io.to("room1").sockets_join("room3").await?;
/// io.of("/chat").disconnect_sockets(false).await?;
/// io.server_side_emit("reload", "config v2").await?;
/// # Ok(())
/// # }
/// ```
///
/// With [`sharded`](crate::RedisAdapterConfigBuilder::sharded), it speaks
/// the protocol of Node's sharded adapter instead. Acknowledgements (of
/// clients or of servers) cannot be asked for: an emitter has no channel
/// for answers, as in Node.
#[derive(Clone)]
pub struct RedisEmitter {
    inner: Arc<Inner>,
}

struct Inner {
    link: Link,
    config: RedisAdapterConfig,
}

impl fmt::Debug for RedisEmitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisEmitter")
            .field("prefix", &self.inner.config.key_prefix())
            .field("sharded", &self.inner.config.sharded())
            .finish_non_exhaustive()
    }
}

impl RedisEmitter {
    /// Connects to Redis, as [`RedisAdapter::connect`](crate::RedisAdapter::connect)
    /// does with the same configuration (URL, credentials, key prefix,
    /// publish queue, sharded mode). The connection comes back by itself
    /// after Redis goes away; meanwhile, calls fail.
    pub async fn connect(config: RedisAdapterConfig) -> Result<RedisEmitter, Error> {
        let link = Link::start(
            config.redis()?,
            config.request_timeout(),
            config.publish_queue(),
            // Nothing to receive: an emitter subscribes to no channel.
            Box::new(|_, _, _| {}),
            config.stream_target(),
            None,
        )
        .await?;
        let mut status = link.status();
        tokio::time::timeout(config.request_timeout(), status.wait_for(|s| s.connected))
            .await
            .map_err(|_| Error::connect(None))?
            .map_err(|_| Error::connect(None))?;
        drop(status);
        Ok(RedisEmitter {
            inner: Arc::new(Inner { link, config }),
        })
    }

    /// The sockets of namespace `nsp` (Node's `emitter.of(nsp)`); a path
    /// without its leading `/` gets one.
    pub fn of(&self, nsp: &str) -> EmitterOperators {
        let nsp = if nsp.starts_with('/') {
            nsp.to_owned()
        } else {
            format!("/{nsp}")
        };
        let channels = self.inner.config.channels(&nsp, UID);
        EmitterOperators {
            emitter: self.clone(),
            nsp,
            channels,
            opts: BroadcastOptions::default(),
        }
    }

    /// The sockets of `/` in `rooms`.
    pub fn to(&self, rooms: impl IntoRooms) -> EmitterOperators {
        self.of("/").to(rooms)
    }

    /// Same as [`to`](Self::to) (Node's `in`).
    pub fn within(&self, rooms: impl IntoRooms) -> EmitterOperators {
        self.of("/").to(rooms)
    }

    /// The sockets of `/` except those in `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> EmitterOperators {
        self.of("/").except(rooms)
    }

    /// The sockets of `/`, with packets that a server may drop for a
    /// client that cannot take them at once.
    pub fn volatile(&self) -> EmitterOperators {
        self.of("/").volatile()
    }

    /// The sockets of `/`; with `false`, packets sent without WebSocket
    /// per-message compression (Node's `compress(false)`).
    pub fn compress(&self, compress: bool) -> EmitterOperators {
        self.of("/").compress(compress)
    }

    /// Emits to every socket of `/` (see [`EmitterOperators::emit`]).
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), AdapterError> {
        self.of("/").emit(event, data).await
    }

    /// Makes every socket of `/` join `rooms`.
    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.of("/").sockets_join(rooms).await
    }

    /// Makes every socket of `/` leave `rooms`.
    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.of("/").sockets_leave(rooms).await
    }

    /// Disconnects every socket of `/` (see [`EmitterOperators::disconnect_sockets`]).
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), AdapterError> {
        self.of("/").disconnect_sockets(close).await
    }

    /// Emits an event to every server of `/` (see
    /// [`EmitterOperators::server_side_emit`]).
    pub async fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), AdapterError> {
        self.of("/").server_side_emit(event, data).await
    }
}

/// The sockets an emitter targets: a namespace, rooms, exceptions and
/// flags, chained as on a server (`emitter.of("/chat").to("r").except("s")`).
#[derive(Debug, Clone)]
#[must_use = "operators do nothing until an emit or another action is awaited"]
pub struct EmitterOperators {
    emitter: RedisEmitter,
    nsp: String,
    channels: Channels,
    opts: BroadcastOptions,
}

impl EmitterOperators {
    /// Targets the sockets in `rooms` (added to the rooms so far).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        for room in rooms.into_rooms() {
            if !self.opts.rooms.contains(&room) {
                self.opts.rooms.push(room);
            }
        }
        self
    }

    /// Same as [`to`](Self::to) (Node's `in`).
    pub fn within(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Leaves out the sockets in `rooms`.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        for room in rooms.into_rooms() {
            if !self.opts.except.contains(&room) {
                self.opts.except.push(room);
            }
        }
        self
    }

    /// A server may drop the packet for a client that cannot take it at once.
    pub fn volatile(mut self) -> Self {
        self.opts.volatile = true;
        self
    }

    /// With `false`, the servers send the packet without WebSocket
    /// per-message compression, where it is on (Node's `compress(false)`,
    /// `flags.compress` of the message).
    pub fn compress(mut self, compress: bool) -> Self {
        self.opts.uncompressed = !compress;
        self
    }

    /// Emits `event` with `data` to the targeted sockets of every server;
    /// `data` maps to arguments as on a server (a tuple is several
    /// arguments, bytes become binary). Fails when the name is reserved
    /// (`connect`, `disconnect`...), when the data cannot be serialized, and
    /// when Redis does not accept the message.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), AdapterError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(AdapterError::new(format!(
                "redis emitter: \"{event}\" is a reserved event name"
            )));
        }
        let args = arguments(data)?;
        let out = self.protocol().broadcast(event, args, &self.opts);
        self.publish(out).await
    }

    /// Makes the targeted sockets join `rooms` (Node's `socketsJoin`).
    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.rooms(true, rooms).await
    }

    /// Makes the targeted sockets leave `rooms` (Node's `socketsLeave`).
    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.rooms(false, rooms).await
    }

    /// Disconnects the targeted sockets from the namespace; with `close`,
    /// closes their whole connection (Node's `disconnectSockets(close)`).
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), AdapterError> {
        let out = self.protocol().disconnect_request(&self.opts, close);
        self.publish(out).await
    }

    /// Emits an event to every server of the cluster, for the namespace's
    /// `on_server_side` handlers (Node's `serverSideEmit`; no answers).
    /// The rooms and flags chosen do not apply.
    pub async fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), AdapterError> {
        let out = self
            .protocol()
            .server_side_request(None, event, arguments(data)?);
        self.publish(out).await
    }

    async fn rooms(&self, join: bool, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        let rooms = rooms.into_rooms();
        let out = self.protocol().rooms_request(join, &self.opts, &rooms);
        self.publish(out).await
    }

    fn protocol(&self) -> Protocol<'_> {
        Protocol {
            uid: UID,
            nsp: &self.nsp,
            channels: &self.channels,
        }
    }

    async fn publish(&self, out: Outgoing) -> Result<(), AdapterError> {
        let published = self.emitter.inner.link.send_confirmed(out)?;
        published
            .await
            .unwrap_or_else(|_| Err(AdapterError::unavailable("redis emitter: stopped")))
    }
}

/// `data` as the values of the arguments, by the rule of a server's emit (a
/// tuple is several arguments), bytes as msgpack `bin`.
fn arguments<T: Serialize + ?Sized>(data: &T) -> Result<Vec<rmpv::Value>, AdapterError> {
    let cannot = |e| AdapterError::new("redis emitter: cannot serialize the data").with_source(e);
    let args = RawArgs::from_data(data).map_err(|e| cannot(ValueError::Json(e)))?;
    value::args_to_values(&args.args, &args.attachments).map_err(cannot)
}
