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
mod stream;

use pubsub::Subscriber;
use sharded::ShardedSubscriber;
pub(crate) use stream::{range_entries, Entry, OnEntry, Reader};

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
    /// Sends a batch, in order, and returns the ids of its stream entries,
    /// in order: one pipeline on a single Redis; on a cluster, one
    /// `SPUBLISH` per message (their channels live on different nodes),
    /// sent in order and awaited together.
    async fn send(
        &mut self,
        batch: &[Outgoing],
        stream: Option<&StreamTarget>,
    ) -> Result<Vec<String>, RedisError> {
        match self {
            Conn::Single(conn) => {
                let mut pipe = redis::pipe();
                for out in batch {
                    match (out, stream) {
                        (Outgoing::Publish { channel, payload }, _) => {
                            pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
                        }
                        (Outgoing::Append { fields }, Some(target)) => {
                            let cmd = pipe
                                .cmd("XADD")
                                .arg(&target.name)
                                .arg("MAXLEN")
                                .arg("~")
                                .arg(target.max_len)
                                .arg("*");
                            for (name, value) in fields {
                                cmd.arg(*name).arg(value);
                            }
                        }
                        // Only the streams protocol appends.
                        (Outgoing::Append { .. }, None) => {}
                    }
                }
                pipe.query_async(conn).await
            }
            Conn::Cluster(conn) => {
                let sent = batch.iter().filter_map(|out| {
                    let Outgoing::Publish { channel, payload } = out else {
                        return None;
                    };
                    let mut conn = conn.clone();
                    let cmd = redis::cmd("SPUBLISH").arg(channel).arg(payload).to_owned();
                    Some(async move { cmd.exec_async(&mut conn).await })
                });
                join_all(sent)
                    .await
                    .into_iter()
                    .collect::<Result<(), _>>()
                    .map(|()| Vec::new())
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

/// Called, in the publisher task and in order, with the id of a stream
/// entry once Redis appended it (or with what kept it from being).
pub(crate) type Appended = Box<dyn FnOnce(Result<String, AdapterError>) + Send>;

/// What goes to Redis through the publisher: a pub/sub message, or an
/// entry for the stream of the streams protocol.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Publish {
        channel: String,
        payload: Vec<u8>,
    },
    Append {
        fields: Vec<(&'static str, Vec<u8>)>,
    },
}

impl Outgoing {
    fn describe(&self) -> &str {
        match self {
            Outgoing::Publish { channel, .. } => channel,
            Outgoing::Append { .. } => "stream",
        }
    }
}

/// Who hears how a queued message went.
enum Done {
    Nobody,
    Published(Published),
    Appended(Appended),
}

/// A message waiting for the publisher task.
struct Queued {
    out: Outgoing,
    /// Only for callers that wait: `Nobody` costs no allocation.
    done: Done,
}

/// The stream of the streams protocol, and how long it is kept.
#[derive(Debug, Clone)]
pub(crate) struct StreamTarget {
    pub(crate) name: String,
    pub(crate) max_len: usize,
}

/// Both connections; dropping it ends their tasks.
pub(crate) struct Link {
    conn: Conn,
    publish: mpsc::Sender<Queued>,
    publish_queue: usize,
    /// The subscribed connection is up (and the publishing one answered
    /// after it came up): `Status::connected`, readable with one load.
    up: Arc<AtomicBool>,
    control: mpsc::UnboundedSender<Control>,
    /// (Un)subscriptions asked for so far; see [`Status::applied`].
    requested: std::sync::atomic::AtomicU64,
    status: watch::Receiver<Status>,
    command_timeout: Duration,
    /// Stops the stream's reader when the link goes.
    _reader: Option<oneshot::Sender<()>>,
    /// Whether the stream's reader knows where it reads from: entries
    /// appended from then on reach it.
    reading: Option<watch::Receiver<bool>>,
}

impl Link {
    /// Connects the publishing connection and starts both tasks; at most
    /// `publish_queue` messages (at least 1) wait for the publisher.
    pub(crate) async fn start(
        redis: Redis,
        command_timeout: Duration,
        publish_queue: usize,
        on_message: OnMessage,
        stream: Option<StreamTarget>,
        reader: Option<Reader>,
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
        tokio::spawn(publisher(conn.clone(), queue, up.clone(), stream));
        let (reader, reading) = match reader {
            Some(reader) => {
                let (stop, stopped) = oneshot::channel();
                let (reading, reading_rx) = watch::channel(false);
                tokio::spawn(reader.run(stopped, reading));
                (Some(stop), Some(reading_rx))
            }
            None => (None, None),
        };
        Ok(Link {
            conn,
            publish,
            publish_queue,
            up,
            control,
            requested: Default::default(),
            status: status_rx,
            command_timeout,
            _reader: reader,
            reading,
        })
    }

    /// Queues a message for publishing; never waits. `Err` when it cannot
    /// be queued: Redis is unreachable, or the queue is full.
    pub(crate) fn publish(&self, channel: String, payload: Vec<u8>) -> Result<(), AdapterError> {
        self.send(Outgoing::Publish { channel, payload })
    }

    /// Queues a message (pub/sub, or a stream entry); never waits.
    pub(crate) fn send(&self, out: Outgoing) -> Result<(), AdapterError> {
        self.enqueue(Queued {
            out,
            done: Done::Nobody,
        })
    }

    /// Queues a message like [`send`](Self::send), and returns a channel
    /// that says whether Redis accepted it.
    pub(crate) fn send_confirmed(
        &self,
        out: Outgoing,
    ) -> Result<oneshot::Receiver<Result<(), AdapterError>>, AdapterError> {
        let (tx, rx) = oneshot::channel();
        self.enqueue(Queued {
            out,
            done: Done::Published(tx),
        })?;
        Ok(rx)
    }

    /// Queues a stream entry; `appended` is called with its id, in the
    /// order of the entries, once Redis appended it.
    pub(crate) fn append(
        &self,
        fields: Vec<(&'static str, Vec<u8>)>,
        appended: Appended,
    ) -> Result<(), AdapterError> {
        self.enqueue(Queued {
            out: Outgoing::Append { fields },
            done: Done::Appended(appended),
        })
    }

    /// Runs one command (or an atomic pipeline) on the publishing
    /// connection, within the command timeout.
    pub(crate) async fn query<T: redis::FromRedisValue>(
        &self,
        doing: &str,
        cmd: impl FnOnce() -> redis::Pipeline,
    ) -> Result<T, AdapterError> {
        let mut conn = self.conn.clone();
        let pipe = cmd();
        match tokio::time::timeout(self.command_timeout, pipe.query_async::<T>(&mut conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(redis_error(doing, e)),
            Err(_) => Err(AdapterError::timeout(format!(
                "redis adapter: {doing}: Redis did not answer within {:?}",
                self.command_timeout
            ))),
        }
    }

    fn enqueue(&self, message: Queued) -> Result<(), AdapterError> {
        if !self.up.load(Ordering::Acquire) {
            trace::debug!(channel = %message.out.describe(), "redis adapter: not connected to Redis, message to other servers refused");
            metrics::publish_failed("not_connected", 1);
            return Err(not_connected());
        }
        match self.publish.try_send(message) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(message)) => {
                trace::warn!(channel = %message.out.describe(), "redis adapter: publish queue full, message to other servers refused");
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
        self.control(Control::Subscribe(key, subs));
    }

    /// Drops a key's subscriptions.
    pub(crate) fn unsubscribe(&self, key: String, subs: Subscriptions) {
        self.control(Control::Unsubscribe(key, subs));
    }

    /// Subscribes or unsubscribes a key, whichever `wanted` says when the
    /// subscriber gets to it.
    pub(crate) fn reconcile(&self, key: String, subs: Subscriptions, wanted: Wanted) {
        self.control(Control::Reconcile(key, subs, wanted));
    }

    fn control(&self, control: Control) {
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

    /// Resolves once the stream's reader (if any) knows where it reads
    /// from.
    pub(crate) async fn reading(&self) {
        if let Some(reading) = &self.reading {
            let _ = reading.clone().wait_for(|r| *r).await;
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

/// Sends queued messages in order, a pipeline at a time. While the link is
/// down, they are dropped at once rather than delivered late. Each waiting
/// caller learns how its message went, in order.
async fn publisher(
    mut conn: Conn,
    mut queue: mpsc::Receiver<Queued>,
    up: Arc<AtomicBool>,
    stream: Option<StreamTarget>,
) {
    let mut failing = false;
    let mut batch = Vec::with_capacity(PIPELINE);
    // Each caller, and whether its message is an `XADD`: the pipeline's
    // replies are the ids of those only, whoever waits for them or not.
    let mut waiting: Vec<(Done, bool)> = Vec::new();
    let mut outs: Vec<Outgoing> = Vec::with_capacity(PIPELINE);
    while queue.recv_many(&mut batch, PIPELINE).await > 0 {
        if !up.load(Ordering::Acquire) {
            if !failing {
                trace::warn!("redis adapter: Redis is unreachable, messages to other servers are dropped until it is back");
                failing = true;
            }
            metrics::publish_failed("not_connected", batch.len());
            for message in batch.drain(..) {
                message.done.fail(not_connected());
            }
            continue;
        }
        for message in batch.drain(..) {
            let appends = stream.is_some() && matches!(message.out, Outgoing::Append { .. });
            outs.push(message.out);
            waiting.push((message.done, appends));
        }
        let result = conn.send(&outs, stream.as_ref()).await;
        let count = outs.len();
        outs.clear();
        match result {
            Ok(ids) => {
                if std::mem::take(&mut failing) {
                    trace::info!("redis adapter: publishing again");
                }
                let mut ids = ids.into_iter();
                for (done, appends) in waiting.drain(..) {
                    let id = if appends { ids.next() } else { None };
                    match done {
                        Done::Nobody => {}
                        Done::Published(tx) => {
                            let _ = tx.send(Ok(()));
                        }
                        Done::Appended(f) => match id {
                            Some(id) => f(Ok(id)),
                            None => f(Err(AdapterError::new(
                                "redis adapter: XADD gave no entry id",
                            ))),
                        },
                    }
                }
            }
            Err(e) => {
                if !std::mem::replace(&mut failing, true) {
                    trace::warn!(error = %e, "redis adapter: cannot publish, messages to other servers dropped");
                }
                metrics::publish_failed("redis_error", count);
                let err = redis_error("cannot publish", e);
                for (done, _) in waiting.drain(..) {
                    done.fail(err.clone());
                }
            }
        }
    }
}

impl Done {
    fn fail(self, e: AdapterError) {
        match self {
            Done::Nobody => {}
            Done::Published(tx) => {
                let _ = tx.send(Err(e));
            }
            Done::Appended(f) => f(Err(e)),
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
