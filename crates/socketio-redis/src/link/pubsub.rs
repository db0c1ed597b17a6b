//! The subscribed connection on a single Redis: a pub/sub connection of its
//! own, reconnected and subscribed again here.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use futures_util::StreamExt;
use redis::{
    aio::{ConnectionManager, PubSubSink},
    Client, Msg, RedisError,
};
use tokio::sync::{mpsc, watch};

use super::{
    bounded, timeout_error, Control, OnMessage, Status, Subscriptions, CONNECT_TIMEOUT,
    MAX_BACKOFF, MIN_BACKOFF,
};
use crate::trace;

/// Subscribes, delivers what Redis pushes, and reconnects.
pub(super) struct Subscriber {
    pub(super) client: Client,
    pub(super) conn: ConnectionManager,
    pub(super) controls: mpsc::UnboundedReceiver<Control>,
    pub(super) status: watch::Sender<Status>,
    /// Set with `status.connected`, for the publishing side.
    pub(super) up: Arc<AtomicBool>,
    pub(super) on_message: OnMessage,
    /// Every key that should be subscribed, subscribed again after a reconnection.
    pub(super) desired: BTreeMap<String, Subscriptions>,
}

enum Ended {
    Disconnected,
    Shutdown,
}

impl Subscriber {
    pub(super) async fn run(mut self) {
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

    /// Notes a control while disconnected: it takes effect on connecting.
    fn apply(&mut self, control: Control) {
        match control.resolve() {
            Control::Subscribe(key, subs) => {
                self.desired.insert(key, subs);
            }
            Control::Unsubscribe(key, _) | Control::Reconcile(key, _, _) => {
                self.desired.remove(&key);
            }
        }
        self.status.send_modify(|s| s.applied += 1);
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
        self.status.send_modify(|s| {
            s.connected = true;
            s.subscribed = subscribed;
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
                control = self.controls.recv() => {
                    let Some(control) = control else {
                        return Ended::Shutdown;
                    };
                    let ended = self.serve_control(&mut sink, control).await;
                    self.status.send_modify(|s| s.applied += 1);
                    if let Some(ended) = ended {
                        return ended;
                    }
                }
            }
        }
    }

    /// Applies a control on the connection; `Some` if that lost it.
    async fn serve_control(&mut self, sink: &mut PubSubSink, control: Control) -> Option<Ended> {
        match control.resolve() {
            Control::Subscribe(key, subs) => {
                if subscribe(sink, &subs).await.is_err() {
                    self.desired.insert(key, subs);
                    return Some(Ended::Disconnected);
                }
                self.status.send_modify(|s| {
                    s.subscribed.insert(key.clone());
                });
                self.desired.insert(key, subs);
            }
            Control::Unsubscribe(key, subs) | Control::Reconcile(key, subs, _) => {
                self.desired.remove(&key);
                self.status.send_modify(|s| {
                    s.subscribed.remove(&key);
                });
                if unsubscribe(sink, &subs).await.is_err() {
                    return Some(Ended::Disconnected);
                }
            }
        }
        None
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

/// One channel per command: each waits for its own confirmation.
async fn subscribe(sink: &mut PubSubSink, subs: &Subscriptions) -> Result<(), RedisError> {
    for channel in &subs.channels {
        bounded(sink.subscribe(channel)).await?;
    }
    for pattern in &subs.patterns {
        bounded(sink.psubscribe(pattern)).await?;
    }
    Ok(())
}

async fn unsubscribe(sink: &mut PubSubSink, subs: &Subscriptions) -> Result<(), RedisError> {
    for channel in &subs.channels {
        bounded(sink.unsubscribe(channel)).await?;
    }
    for pattern in &subs.patterns {
        bounded(sink.punsubscribe(pattern)).await?;
    }
    Ok(())
}
