//! The generator's own subscription to the cluster's channels: every
//! message the servers' adapters publish for this run, read as a server
//! reads it, and the broadcast it carries found by the marker at the start
//! of its pad ([`sio::marked_padding`]), so that the time from the sending
//! of a broadcast to its message on Redis is measured apart from the
//! deliveries.
//!
//! It reads on a thread of its own: on the generator's one-thread runtime
//! its reads would wait behind the thousands of frames of each broadcast,
//! where a thread of its own is woken by the kernel as the message comes.

use std::{collections::HashSet, sync::Arc, thread::JoinHandle};

use tokio::sync::oneshot;

use crate::{
    cli::{err, Result},
    clock,
    measure::{Counter, Latencies, Phase},
    redis::{self, Subscription},
    sio,
};

/// What the subscription saw while measuring.
#[derive(Debug, Clone)]
pub(super) struct RedisSeen {
    /// Messages published on the run's channels.
    pub(super) messages: Counter,
    /// Broadcasts found in them, each counted once.
    pub(super) matched: Counter,
    /// From the sending of each matched broadcast to its message read here.
    pub(super) latencies: Latencies,
}

/// A running subscription; [`RedisWatch::stop`] ends it.
pub(super) struct RedisWatch {
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
    pub(super) seen: RedisSeen,
}

impl RedisWatch {
    /// Subscribes to every channel whose name starts with `prefix` (the
    /// adapters' key prefix: Node's and ours publish on `<prefix>#/#`,
    /// socketioxide's on `<prefix>-request#/#`) on the Redis at `url`;
    /// returns once Redis has confirmed the subscription. Counts only while
    /// `phase` is measuring; a failure later is counted in `errors`.
    pub(super) async fn start(
        url: &str,
        prefix: &str,
        phase: Arc<Phase>,
        errors: Counter,
    ) -> Result<Self> {
        let pattern = format!("{}*", redis::glob_literal(prefix));
        let seen = RedisSeen {
            messages: Counter::default(),
            matched: Counter::default(),
            latencies: Latencies::new(),
        };
        let (ready_tx, ready_rx) = oneshot::channel::<Result<()>>();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let url = url.to_owned();
        let counts = seen.clone();
        let thread = std::thread::Builder::new()
            .name("redis-watch".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.into()));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let sub = match Subscription::open(&url, &pattern).await {
                        Ok(sub) => {
                            let _ = ready_tx.send(Ok(()));
                            sub
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    tokio::select! {
                        _ = stop_rx => {}
                        Err(e) = read(sub, &counts, &phase) => {
                            if !phase.stopped() {
                                errors.add(1);
                                eprintln!("cluster: the subscription to Redis failed: {e}");
                            }
                        }
                    }
                });
            })?;
        match ready_rx.await {
            Ok(Ok(())) => Ok(RedisWatch { stop, thread, seen }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(err!("cluster: subscribing to {prefix}* on Redis: {e}"))
            }
            Err(_) => {
                let _ = thread.join();
                Err(err!("cluster: the Redis subscription's thread ended"))
            }
        }
    }

    /// Ends the subscription and its thread.
    pub(super) fn stop(self) -> RedisSeen {
        let _ = self.stop.send(());
        let _ = self.thread.join();
        self.seen
    }
}

/// Reads messages until the connection fails.
async fn read(mut sub: Subscription, seen: &RedisSeen, phase: &Phase) -> Result<()> {
    // A broadcast is counted once, however many messages carry it; an
    // adapter may publish broadcasts out of their order (socketioxide's,
    // in the closed loop), so a set, not the latest timestamp, says which.
    // It grows by one entry per broadcast: a few thousand in a run.
    let mut found = HashSet::new();
    loop {
        let payload = sub.message().await?;
        let now = clock::now_ns();
        let measuring = phase.measuring();
        if measuring {
            seen.messages.add(1);
        }
        let Some(t) = sio::marker(&payload) else {
            continue;
        };
        if found.insert(t) && measuring {
            seen.matched.add(1);
            seen.latencies.record_us(now.saturating_sub(t) / 1_000);
        }
    }
}
