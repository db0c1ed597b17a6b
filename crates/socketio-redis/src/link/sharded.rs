//! The subscribed side on a Redis Cluster (the sharded adapter).

use redis::{cluster_async::ClusterConnection, PushInfo, PushKind};
use tokio::sync::{mpsc, watch};

use super::{bounded, Control, OnMessage, Status};
use crate::trace;

/// The subscriber of the sharded adapter: `SSUBSCRIBE`s on the cluster
/// connection, whose Redis client resubscribes by itself after a
/// reconnection, and hands on the messages it pushes.
pub(super) struct ShardedSubscriber {
    pub(super) conn: ClusterConnection,
    pub(super) pushes: mpsc::UnboundedReceiver<PushInfo>,
    pub(super) controls: mpsc::UnboundedReceiver<Control>,
    pub(super) status: watch::Sender<Status>,
    pub(super) on_message: OnMessage,
}

impl ShardedSubscriber {
    pub(super) async fn run(mut self) {
        self.status.send_modify(|s| s.connected = true);
        loop {
            tokio::select! {
                push = self.pushes.recv() => match push {
                    Some(push) => self.deliver(push),
                    None => return,
                },
                control = self.controls.recv() => match control {
                    Some(control) => self.apply(control).await,
                    None => return,
                },
            }
        }
    }

    async fn apply(&mut self, control: Control) {
        // One channel per command: the channels of a key live in
        // different slots (a command with several would be CROSSSLOT).
        let (key, subscribed) = match control.resolve() {
            Control::Subscribe(key, subs) => {
                let mut done = Ok(true);
                for channel in &subs.channels {
                    if let Err(e) = bounded(self.conn.ssubscribe(channel)).await {
                        done = Err(e);
                    }
                }
                (key, done)
            }
            Control::Unsubscribe(key, subs) | Control::Reconcile(key, subs, _) => {
                let mut done = Ok(false);
                for channel in &subs.channels {
                    if let Err(e) = bounded(self.conn.sunsubscribe(channel)).await {
                        done = Err(e);
                    }
                }
                (key, done)
            }
        };
        match subscribed {
            Ok(subscribed) => self.status.send_modify(|s| {
                if subscribed {
                    s.subscribed.insert(key);
                } else {
                    s.subscribed.remove(&key);
                }
                s.applied += 1;
            }),
            Err(e) => {
                trace::warn!(%key, error = %e, "redis adapter: SSUBSCRIBE or SUNSUBSCRIBE failed");
                self.status.send_modify(|s| s.applied += 1);
            }
        }
    }

    fn deliver(&self, push: PushInfo) {
        match push.kind {
            PushKind::SMessage => {
                let [redis::Value::BulkString(channel), redis::Value::BulkString(payload)] =
                    push.data.as_slice()
                else {
                    return;
                };
                let channel = String::from_utf8_lossy(channel);
                (self.on_message)(&channel, None, payload);
            }
            PushKind::Disconnection => {
                trace::warn!("redis adapter: lost a connection to a Redis Cluster node; the Redis client reconnects and subscribes again");
            }
            _ => {}
        }
    }
}
