//! The connections to Redis: one that publishes and queries (a
//! `ConnectionManager`, which reconnects by itself), and one that is
//! subscribed (a pub/sub connection, reconnected and resubscribed here).
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

use futures_util::StreamExt;
use redis::{
    aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink},
    Client, Msg, RedisError,
};
use socketio_axum::adapter::AdapterError;
use tokio::sync::{mpsc, oneshot, watch};

use crate::{error::Error, trace, wire::Channels};

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
    /// The namespaces whose channels are subscribed.
    pub(crate) subscribed: BTreeSet<String>,
}

enum Control {
    Subscribe(String, Channels),
    Unsubscribe(String, Channels),
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
    conn: ConnectionManager,
    publish: mpsc::Sender<Outgoing>,
    publish_queue: usize,
    /// The subscribed connection is up (and the publishing one answered
    /// after it came up): `Status::connected`, readable with one load.
    up: Arc<AtomicBool>,
    control: mpsc::UnboundedSender<Control>,
    status: watch::Receiver<Status>,
    command_timeout: Duration,
}

impl Link {
    /// Connects the publishing connection and starts both tasks; at most
    /// `publish_queue` messages (at least 1) wait for the publisher.
    pub(crate) async fn start(
        client: Client,
        command_timeout: Duration,
        publish_queue: usize,
        on_message: OnMessage,
    ) -> Result<Link, Error> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(command_timeout))
            .set_number_of_retries(2)
            .set_max_delay(MAX_BACKOFF);
        let conn = tokio::time::timeout(
            command_timeout.max(CONNECT_TIMEOUT),
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| Error::connect(None))?
        .map_err(|e| Error::connect(Some(e)))?;
        // Connecting sends the URL's credentials, if any; without them, a
        // Redis that wants a password refuses the first command (NOAUTH).
        let mut ping = conn.clone();
        tokio::time::timeout(
            command_timeout.max(CONNECT_TIMEOUT),
            redis::cmd("PING").query_async::<()>(&mut ping),
        )
        .await
        .map_err(|_| Error::connect(None))?
        .map_err(|e| Error::connect(Some(e)))?;
        let publish_queue = publish_queue.max(1);
        let (publish, queue) = mpsc::channel(publish_queue);
        let (control, controls) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(Status::default());
        let up = Arc::new(AtomicBool::new(false));
        tokio::spawn(publisher(conn.clone(), queue, up.clone()));
        let subscriber = Subscriber {
            client,
            conn: conn.clone(),
            controls,
            status: status_tx,
            up: up.clone(),
            on_message,
            desired: BTreeMap::new(),
        };
        tokio::spawn(subscriber.run());
        Ok(Link {
            conn,
            publish,
            publish_queue,
            up,
            control,
            status,
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
            return Err(not_connected());
        }
        match self.publish.try_send(message) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(message)) => {
                trace::warn!(channel = %message.channel, "redis adapter: publish queue full, message to other servers refused");
                Err(AdapterError::queue_full(format!(
                    "redis adapter: the publish queue is full ({} messages wait for Redis)",
                    self.publish_queue
                )))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                Err(AdapterError::unavailable("redis adapter: stopped"))
            }
        }
    }

    /// Subscribes to a namespace's channels (now, or once connected).
    pub(crate) fn subscribe(&self, path: String, channels: Channels) {
        let _ = self.control.send(Control::Subscribe(path, channels));
    }

    /// Drops a namespace's subscriptions.
    pub(crate) fn unsubscribe(&self, path: String, channels: Channels) {
        let _ = self.control.send(Control::Unsubscribe(path, channels));
    }

    /// `PUBSUB NUMSUB channel`: how many connections listen on it.
    pub(crate) async fn numsub(&self, channel: &str) -> Result<usize, AdapterError> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("PUBSUB").arg("NUMSUB").arg(channel).to_owned();
        // The answer is `[channel, count]`.
        let query = cmd.query_async::<Vec<redis::Value>>(&mut conn);
        match tokio::time::timeout(self.command_timeout, query).await {
            Ok(Ok(answer)) => match answer.get(1) {
                Some(redis::Value::Int(n)) => Ok(usize::try_from(*n).unwrap_or(0)),
                _ => Err(AdapterError::new(format!(
                    "redis adapter: unexpected answer to PUBSUB NUMSUB: {answer:?}"
                ))),
            },
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
async fn publisher(
    mut conn: ConnectionManager,
    mut queue: mpsc::Receiver<Outgoing>,
    up: Arc<AtomicBool>,
) {
    let mut failing = false;
    let mut batch = Vec::with_capacity(PIPELINE);
    let mut waiting: Vec<Published> = Vec::new();
    while queue.recv_many(&mut batch, PIPELINE).await > 0 {
        if !up.load(Ordering::Acquire) {
            if !failing {
                trace::warn!("redis adapter: Redis is unreachable, messages to other servers are dropped until it is back");
                failing = true;
            }
            for message in batch.drain(..) {
                if let Some(published) = message.published {
                    let _ = published.send(Err(not_connected()));
                }
            }
            continue;
        }
        let mut pipe = redis::pipe();
        for message in batch.drain(..) {
            pipe.cmd("PUBLISH")
                .arg(message.channel)
                .arg(message.payload)
                .ignore();
            waiting.extend(message.published);
        }
        let result = match pipe.exec_async(&mut conn).await {
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
                Err(redis_error("cannot publish", e))
            }
        };
        for published in waiting.drain(..) {
            let _ = published.send(result.clone());
        }
    }
}

struct Subscriber {
    client: Client,
    conn: ConnectionManager,
    controls: mpsc::UnboundedReceiver<Control>,
    status: watch::Sender<Status>,
    /// Set with `status.connected`, for the publishing side.
    up: Arc<AtomicBool>,
    on_message: OnMessage,
    /// Every namespace that should be subscribed, subscribed again after a reconnection.
    desired: BTreeMap<String, Channels>,
}

enum Ended {
    Disconnected,
    Shutdown,
}

impl Subscriber {
    async fn run(mut self) {
        let mut backoff = MIN_BACKOFF;
        let mut reported = false;
        loop {
            while let Ok(control) = self.controls.try_recv() {
                self.apply(control);
            }
            match self.connect().await {
                Ok((sink, stream)) => {
                    backoff = MIN_BACKOFF;
                    if std::mem::take(&mut reported) {
                        trace::info!("redis adapter: reconnected and resubscribed");
                    }
                    let ended = self.serve(sink, stream).await;
                    self.up.store(false, Ordering::Release);
                    self.status.send_modify(|s| {
                        s.connected = false;
                        s.subscribed.clear();
                    });
                    match ended {
                        Ended::Shutdown => return,
                        Ended::Disconnected => {
                            trace::warn!(
                                "redis adapter: lost the connection to Redis, reconnecting; messages to other servers are refused until it is back"
                            );
                            reported = true;
                        }
                    }
                }
                Err(e) => {
                    if !std::mem::replace(&mut reported, true) {
                        trace::warn!(error = %e, "redis adapter: cannot connect to Redis, retrying");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        control = self.controls.recv() => match control {
                            Some(control) => self.apply(control),
                            None => return,
                        },
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn apply(&mut self, control: Control) {
        match control {
            Control::Subscribe(path, channels) => {
                self.desired.insert(path, channels);
            }
            Control::Unsubscribe(path, _) => {
                self.desired.remove(&path);
            }
        }
    }

    /// Connects, subscribes to every desired namespace, and makes sure the
    /// publishing connection works again before saying it is connected.
    async fn connect(&mut self) -> Result<(PubSubSink, redis::aio::PubSubStream), RedisError> {
        let pubsub = tokio::time::timeout(CONNECT_TIMEOUT, self.client.get_async_pubsub())
            .await
            .map_err(|_| timeout_error())??;
        let (mut sink, stream) = pubsub.split();
        for channels in self.desired.values() {
            subscribe(&mut sink, channels).await?;
        }
        // The publishing connection may still hold a dead socket: the first
        // command finds out and makes it reconnect.
        let mut ping = Err(timeout_error());
        for _ in 0..3 {
            let mut conn = self.conn.clone();
            let cmd = redis::cmd("PING");
            ping = tokio::time::timeout(CONNECT_TIMEOUT, cmd.query_async::<()>(&mut conn))
                .await
                .unwrap_or_else(|_| Err(timeout_error()));
            if ping.is_ok() {
                break;
            }
        }
        ping?;
        let subscribed = self.desired.keys().cloned().collect();
        self.up.store(true, Ordering::Release);
        self.status.send_replace(Status {
            connected: true,
            subscribed,
        });
        Ok((sink, stream))
    }

    async fn serve(&mut self, mut sink: PubSubSink, mut stream: redis::aio::PubSubStream) -> Ended {
        loop {
            tokio::select! {
                msg = stream.next() => match msg {
                    Some(msg) => self.deliver(&msg),
                    None => return Ended::Disconnected,
                },
                control = self.controls.recv() => match control {
                    None => return Ended::Shutdown,
                    Some(Control::Subscribe(path, channels)) => {
                        if subscribe(&mut sink, &channels).await.is_err() {
                            self.desired.insert(path, channels);
                            return Ended::Disconnected;
                        }
                        self.status.send_modify(|s| {
                            s.subscribed.insert(path.clone());
                        });
                        self.desired.insert(path, channels);
                    }
                    Some(Control::Unsubscribe(path, channels)) => {
                        self.desired.remove(&path);
                        self.status.send_modify(|s| {
                            s.subscribed.remove(&path);
                        });
                        if unsubscribe(&mut sink, &channels).await.is_err() {
                            return Ended::Disconnected;
                        }
                    }
                },
            }
        }
    }

    fn deliver(&self, msg: &Msg) {
        let pattern = if msg.from_pattern() {
            msg.get_pattern::<String>().ok()
        } else {
            None
        };
        (self.on_message)(
            msg.get_channel_name(),
            pattern.as_deref(),
            msg.get_payload_bytes(),
        );
    }
}

fn timeout_error() -> RedisError {
    RedisError::from((redis::ErrorKind::Io, "timed out"))
}

/// One channel per command: each waits for its own confirmation.
async fn subscribe(sink: &mut PubSubSink, channels: &Channels) -> Result<(), RedisError> {
    for channel in [
        &channels.request,
        &channels.response,
        &channels.own_response,
    ] {
        bounded(sink.subscribe(channel)).await?;
    }
    bounded(sink.psubscribe(&channels.pattern)).await
}

async fn unsubscribe(sink: &mut PubSubSink, channels: &Channels) -> Result<(), RedisError> {
    for channel in [
        &channels.request,
        &channels.response,
        &channels.own_response,
    ] {
        bounded(sink.unsubscribe(channel)).await?;
    }
    bounded(sink.punsubscribe(&channels.pattern)).await
}

async fn bounded(
    fut: impl std::future::Future<Output = Result<(), RedisError>>,
) -> Result<(), RedisError> {
    tokio::time::timeout(CONNECT_TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| Err(timeout_error()))
}
