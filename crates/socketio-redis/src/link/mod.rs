//! The connections to Redis. On a single Redis: one that publishes and
//! queries (a `ConnectionManager`, which reconnects by itself), and one that
//! is subscribed (a pub/sub connection, reconnected and resubscribed here).
//! On a Redis Cluster (the sharded adapter): one cluster connection (RESP3)
//! that does both, `SPUBLISH` and `SSUBSCRIBE`, and that the Redis client
//! reconnects and resubscribes by itself.
//!
//! Publishes go through one queue and one task, so that messages leave in
//! the order they were sent (two broadcasts from one handler reach the other
//! servers in that order) and are pipelined when they come in bursts.
//!
//! A publish is refused at once, with an error for the caller, while the
//! subscribed connection is down or the queue is full: the check is one
//! atomic load, and the queue is bounded. A publish that was queued can
//! still fail (Redis goes away before the task sends it, or does not
//! answer); the caller hears of that only if it asked to, with a oneshot
//! channel that travels with the message.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use futures_util::future::join_all;
use redis::{
    aio::{ConnectionManager, ConnectionManagerConfig},
    cluster::ClusterClient,
    cluster_async::ClusterConnection,
    Client, PushInfo, RedisError,
};
use socketio_axum::adapter::AdapterError;
use tokio::sync::{mpsc, oneshot, watch};

use crate::{error::Error, metrics, trace};

mod pubsub;
mod sharded;

use pubsub::Subscriber;
use sharded::ShardedSubscriber;

/// Publishes sent as one pipeline at most.
const PIPELINE: usize = 256;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What the subscribed connection hands on: channel, pattern, payload.
pub(crate) type OnMessage = Box<dyn Fn(&str, Option<&str>, &[u8]) + Send + Sync>;

/// The state of the subscribed connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Status {
    /// Connected, and the publishing connection answered after it.
    pub(crate) connected: bool,
    /// The keys (namespaces, rooms) whose channels are subscribed.
    pub(crate) subscribed: BTreeSet<String>,
    /// How many (un)subscriptions were applied: all asked for so far are
    /// when this reaches [`Link::requested`].
    pub(crate) applied: u64,
}

/// What one key (a namespace, or one of its rooms) subscribes to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Subscriptions {
    /// Plain channels (`SUBSCRIBE`; `SSUBSCRIBE` on a cluster).
    pub(crate) channels: Vec<String>,
    /// Patterns (`PSUBSCRIBE`; single Redis only).
    pub(crate) patterns: Vec<String>,
}

/// Decides, when applied, whether a key should be subscribed.
pub(crate) type Wanted = Box<dyn Fn() -> bool + Send>;

enum Control {
    Subscribe(String, Subscriptions),
    Unsubscribe(String, Subscriptions),
    /// Subscribes or unsubscribes, as `Wanted` says once applied: for
    /// changes that can be reported out of order (rooms).
    Reconcile(String, Subscriptions, Wanted),
}

impl Control {
    /// Subscribe or Unsubscribe, whichever this control comes to now.
    fn resolve(self) -> Control {
        match self {
            Control::Reconcile(key, subs, wanted) if wanted() => Control::Subscribe(key, subs),
            Control::Reconcile(key, subs, _) => Control::Unsubscribe(key, subs),
            other => other,
        }
    }
}

/// Where the link connects.
// Made once per adapter: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Redis {
    /// One Redis: `PUBLISH`, `SUBSCRIBE`/`PSUBSCRIBE`, `PUBSUB NUMSUB`.
    Single(Client),
    /// A Redis Cluster: `SPUBLISH`, `SSUBSCRIBE`, `PUBSUB SHARDNUMSUB`; its
    /// messages arrive on the receiver.
    Cluster(ClusterClient, mpsc::UnboundedReceiver<PushInfo>),
}

/// The connection that publishes and queries.
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl redis::aio::ConnectionLike for Conn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

impl Conn {
    /// Publishes a batch, in order: one pipeline on a single Redis; on a
    /// cluster, one `SPUBLISH` per message (their channels live on
    /// different nodes), sent in order and awaited together.
    async fn publish(&mut self, batch: &[(String, Vec<u8>)]) -> Result<(), RedisError> {
        match self {
            Conn::Single(conn) => {
                let mut pipe = redis::pipe();
                for (channel, payload) in batch {
                    pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
                }
                pipe.exec_async(conn).await
            }
            Conn::Cluster(conn) => {
                let sent = batch.iter().map(|(channel, payload)| {
                    let mut conn = conn.clone();
                    let cmd = redis::cmd("SPUBLISH").arg(channel).arg(payload).to_owned();
                    async move { cmd.exec_async(&mut conn).await }
                });
                join_all(sent).await.into_iter().collect()
            }
        }
    }

    /// How many connections are subscribed to `channel`: `PUBSUB NUMSUB`,
    /// or `PUBSUB SHARDNUMSUB` summed over the cluster's nodes.
    fn numsub(&self, channel: &str) -> redis::Cmd {
        let sub = match self {
            Conn::Single(_) => "NUMSUB",
            Conn::Cluster(_) => "SHARDNUMSUB",
        };
        redis::cmd("PUBSUB").arg(sub).arg(channel).to_owned()
    }
}

/// Tells whoever waits for a publish how it went.
pub(crate) type Published = oneshot::Sender<Result<(), AdapterError>>;

/// A message waiting for the publisher task.
struct Outgoing {
    channel: String,
    payload: Vec<u8>,
    /// Only for callers that wait: `None` costs no allocation.
    published: Option<Published>,
}

/// Both connections; dropping it ends their tasks.
pub(crate) struct Link {
    conn: Conn,
    publish: mpsc::Sender<Outgoing>,
    publish_queue: usize,
    /// The subscribed connection is up (and the publishing one answered
    /// after it came up): `Status::connected`, readable with one load.
    up: Arc<AtomicBool>,
    control: mpsc::UnboundedSender<Control>,
    /// (Un)subscriptions asked for so far; see [`Status::applied`].
    requested: std::sync::atomic::AtomicU64,
    status: watch::Receiver<Status>,
    command_timeout: Duration,
}

impl Link {
    /// Connects the publishing connection and starts both tasks; at most
    /// `publish_queue` messages (at least 1) wait for the publisher.
    pub(crate) async fn start(
        redis: Redis,
        command_timeout: Duration,
        publish_queue: usize,
        on_message: OnMessage,
    ) -> Result<Link, Error> {
        let wait = command_timeout.max(CONNECT_TIMEOUT);
        let publish_queue = publish_queue.max(1);
        let (publish, queue) = mpsc::channel(publish_queue);
        let (control, controls) = mpsc::unbounded_channel();
        let (status, status_rx) = watch::channel(Status::default());
        let up = Arc::new(AtomicBool::new(false));
        let conn = match redis {
            Redis::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(command_timeout))
                    .set_number_of_retries(2)
                    .set_max_delay(MAX_BACKOFF);
                let manager = connected(
                    wait,
                    ConnectionManager::new_with_config(client.clone(), config),
                )
                .await?;
                let conn = Conn::Single(manager.clone());
                ping(&conn, wait).await?;
                let subscriber = Subscriber {
                    client,
                    conn: manager,
                    controls,
                    status,
                    up: up.clone(),
                    on_message,
                    desired: BTreeMap::new(),
                };
                tokio::spawn(subscriber.run());
                conn
            }
            Redis::Cluster(client, pushes) => {
                let cluster = connected(wait, client.get_async_connection()).await?;
                let conn = Conn::Cluster(cluster.clone());
                ping(&conn, wait).await?;
                let subscriber = ShardedSubscriber {
                    conn: cluster,
                    pushes,
                    controls,
                    status,
                    on_message,
                };
                up.store(true, Ordering::Release);
                tokio::spawn(subscriber.run());
                conn
            }
        };
        tokio::spawn(publisher(conn.clone(), queue, up.clone()));
        Ok(Link {
            conn,
            publish,
            publish_queue,
            up,
            control,
            requested: Default::default(),
            status: status_rx,
            command_timeout,
        })
    }

    /// Queues a message for publishing; never waits. `Err` when it cannot
    /// be queued: Redis is unreachable, or the queue is full.
    pub(crate) fn publish(&self, channel: String, payload: Vec<u8>) -> Result<(), AdapterError> {
        self.enqueue(Outgoing {
            channel,
            payload,
            published: None,
        })
    }

    /// Queues a message like [`publish`](Self::publish), and returns a
    /// channel that says whether Redis accepted it.
    pub(crate) fn publish_confirmed(
        &self,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<oneshot::Receiver<Result<(), AdapterError>>, AdapterError> {
        let (tx, rx) = oneshot::channel();
        self.enqueue(Outgoing {
            channel,
            payload,
            published: Some(tx),
        })?;
        Ok(rx)
    }

    fn enqueue(&self, message: Outgoing) -> Result<(), AdapterError> {
        if !self.up.load(Ordering::Acquire) {
            trace::debug!(channel = %message.channel, "redis adapter: not connected to Redis, message to other servers refused");
            metrics::publish_failed("not_connected", 1);
            return Err(not_connected());
        }
        match self.publish.try_send(message) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(message)) => {
                trace::warn!(channel = %message.channel, "redis adapter: publish queue full, message to other servers refused");
                metrics::publish_failed("queue_full", 1);
                Err(AdapterError::queue_full(format!(
                    "redis adapter: the publish queue is full ({} messages wait for Redis)",
                    self.publish_queue
                )))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                metrics::publish_failed("stopped", 1);
                Err(AdapterError::unavailable("redis adapter: stopped"))
            }
        }
    }

    /// Subscribes a key (a namespace, a room) to its channels (now, or
    /// once connected).
    pub(crate) fn subscribe(&self, key: String, subs: Subscriptions) {
        self.send(Control::Subscribe(key, subs));
    }

    /// Drops a key's subscriptions.
    pub(crate) fn unsubscribe(&self, key: String, subs: Subscriptions) {
        self.send(Control::Unsubscribe(key, subs));
    }

    /// Subscribes or unsubscribes a key, whichever `wanted` says when the
    /// subscriber gets to it.
    pub(crate) fn reconcile(&self, key: String, subs: Subscriptions, wanted: Wanted) {
        self.send(Control::Reconcile(key, subs, wanted));
    }

    fn send(&self, control: Control) {
        self.requested.fetch_add(1, Ordering::AcqRel);
        let _ = self.control.send(control);
    }

    /// How many (un)subscriptions were asked for so far.
    pub(crate) fn requested(&self) -> u64 {
        self.requested.load(Ordering::Acquire)
    }

    /// How many connections listen on `channel` (`PUBSUB NUMSUB`, or
    /// `SHARDNUMSUB` summed over a cluster's nodes).
    pub(crate) async fn numsub(&self, channel: &str) -> Result<usize, AdapterError> {
        let mut conn = self.conn.clone();
        let cmd = self.conn.numsub(channel);
        // `[channel, count]`, or a map of one entry from a cluster.
        let query = cmd.query_async::<redis::Value>(&mut conn);
        match tokio::time::timeout(self.command_timeout, query).await {
            Ok(Ok(answer)) => {
                let count = match &answer {
                    redis::Value::Array(items) => items.get(1),
                    redis::Value::Map(entries) => entries.first().map(|(_, n)| n),
                    _ => None,
                };
                match count {
                    Some(redis::Value::Int(n)) => Ok(usize::try_from(*n).unwrap_or(0)),
                    // A cluster in which nobody subscribed answers an empty map.
                    None if matches!(&answer, redis::Value::Map(e) if e.is_empty()) => Ok(0),
                    _ => Err(AdapterError::new(format!(
                        "redis adapter: unexpected answer to PUBSUB NUMSUB: {answer:?}"
                    ))),
                }
            }
            Ok(Err(e)) => Err(redis_error("cannot count the servers", e)),
            Err(_) => Err(AdapterError::timeout(format!(
                "redis adapter: Redis did not answer within {:?}",
                self.command_timeout
            ))),
        }
    }

    /// The current state of the subscribed connection.
    pub(crate) fn status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }
}

/// Awaits a connection, at most `wait`.
async fn connected<C>(
    wait: Duration,
    connecting: impl std::future::Future<Output = Result<C, RedisError>>,
) -> Result<C, Error> {
    tokio::time::timeout(wait, connecting)
        .await
        .map_err(|_| Error::connect(None))?
        .map_err(|e| Error::connect(Some(e)))
}

/// Connecting sends the URL's credentials, if any; without them, a Redis
/// that wants a password refuses the first command (NOAUTH): this one.
async fn ping(conn: &Conn, wait: Duration) -> Result<(), Error> {
    let mut conn = conn.clone();
    connected(wait, redis::cmd("PING").query_async::<()>(&mut conn)).await
}

/// The error of an operation refused because the link is down.
pub(crate) fn not_connected() -> AdapterError {
    AdapterError::unavailable("redis adapter: not connected to Redis")
}

/// `doing` failed with the Redis client's error `e`, kept as the source.
pub(crate) fn redis_error(doing: &str, e: RedisError) -> AdapterError {
    let err = if e.is_timeout() {
        AdapterError::timeout(format!(
            "redis adapter: {doing}: Redis did not answer in time"
        ))
    } else if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
        AdapterError::unavailable(format!("redis adapter: {doing}: cannot reach Redis"))
    } else {
        AdapterError::new(format!(
            "redis adapter: {doing}: Redis answered with an error"
        ))
    };
    err.with_source(e)
}

/// Sends queued publishes in order, a pipeline at a time. While the link is
/// down, publishes are dropped at once rather than delivered late. Each
/// waiting caller learns how its message went.
async fn publisher(mut conn: Conn, mut queue: mpsc::Receiver<Outgoing>, up: Arc<AtomicBool>) {
    let mut failing = false;
    let mut batch = Vec::with_capacity(PIPELINE);
    let mut waiting: Vec<Published> = Vec::new();
    while queue.recv_many(&mut batch, PIPELINE).await > 0 {
        if !up.load(Ordering::Acquire) {
            if !failing {
                trace::warn!("redis adapter: Redis is unreachable, messages to other servers are dropped until it is back");
                failing = true;
            }
            metrics::publish_failed("not_connected", batch.len());
            for message in batch.drain(..) {
                if let Some(published) = message.published {
                    let _ = published.send(Err(not_connected()));
                }
            }
            continue;
        }
        let messages: Vec<(String, Vec<u8>)> = batch
            .drain(..)
            .map(|message| {
                waiting.extend(message.published);
                (message.channel, message.payload)
            })
            .collect();
        let result = match conn.publish(&messages).await {
            Ok(()) => {
                if std::mem::take(&mut failing) {
                    trace::info!("redis adapter: publishing again");
                }
                Ok(())
            }
            Err(e) => {
                if !std::mem::replace(&mut failing, true) {
                    trace::warn!(error = %e, "redis adapter: cannot publish, messages to other servers dropped");
                }
                metrics::publish_failed("redis_error", messages.len());
                Err(redis_error("cannot publish", e))
            }
        };
        for published in waiting.drain(..) {
            let _ = published.send(result.clone());
        }
    }
}

fn timeout_error() -> RedisError {
    RedisError::from((redis::ErrorKind::Io, "timed out"))
}

async fn bounded(
    fut: impl std::future::Future<Output = Result<(), RedisError>>,
) -> Result<(), RedisError> {
    tokio::time::timeout(CONNECT_TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| Err(timeout_error()))
}
