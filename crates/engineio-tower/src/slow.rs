//! The slow-consumer policy: a session whose outgoing queue stays at or
//! over `max_buffered_packets` for `slow_consumer_timeout` is closed with
//! [`CloseReason::SlowConsumer`](crate::CloseReason::SlowConsumer).
//!
//! Packets are never held anywhere but the session's one queue, so they
//! leave in the order they were sent, and nothing waits per packet: one
//! task per server watches the sessions that went over the limit, oldest
//! first (the timeout is the same for all, so deadlines come in order).
//! It holds weak references, so a session that ends is not kept.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, OnceLock, Weak},
    time::Duration,
};

use tokio::{runtime::Handle, time::Instant};

use crate::socket::lock;

/// A session the watcher can close.
pub(crate) trait Watched: Send + Sync {
    /// The deadline of the crossing numbered `epoch` passed: closes the
    /// session if it is still over the limit since that crossing.
    fn expire(&self, epoch: u64);
}

/// The server's watch over sessions whose queue went over the limit.
pub(crate) struct SlowConsumers {
    timeout: Duration,
    state: Mutex<State>,
    /// The runtime that serves the sessions, where the watching task runs:
    /// a frame may be sent from a thread outside it.
    runtime: OnceLock<Handle>,
}

/// A session over the limit, with the number of its crossing.
type Entry = (Weak<dyn Watched>, u64);

#[derive(Default)]
struct State {
    queue: VecDeque<(Instant, Entry)>,
    /// Whether the watching task runs.
    sweeping: bool,
}

impl SlowConsumers {
    pub(crate) fn new(timeout: Duration) -> Arc<Self> {
        Arc::new(SlowConsumers {
            timeout,
            state: Mutex::default(),
            runtime: OnceLock::new(),
        })
    }

    /// Notes the current runtime, if there is one (a session is opening).
    pub(crate) fn use_current_runtime(&self) {
        if self.runtime.get().is_none() {
            if let Ok(handle) = Handle::try_current() {
                let _ = self.runtime.set(handle);
            }
        }
    }

    /// `session` went over the limit (its crossing number `epoch`): it is
    /// closed unless it comes back under within the timeout. A timeout too
    /// long to represent never ends.
    pub(crate) fn watch(self: &Arc<Self>, session: Weak<dyn Watched>, epoch: u64) {
        let Some(deadline) = Instant::now().checked_add(self.timeout) else {
            return;
        };
        let start = {
            let mut s = lock(&self.state);
            s.queue.push_back((deadline, (session, epoch)));
            !std::mem::replace(&mut s.sweeping, true)
        };
        if start {
            match self.runtime.get() {
                Some(runtime) => {
                    runtime.spawn(sweep(Arc::downgrade(self)));
                }
                // No session was ever opened on a runtime: nothing to watch.
                None => lock(&self.state).sweeping = false,
            }
        }
    }

    /// The next session whose deadline passed, or the time to wait for the
    /// oldest; `None` (the task ends) once nothing is watched.
    fn next(&self, now: Instant) -> Option<Result<Entry, Instant>> {
        let mut s = lock(&self.state);
        match s.queue.front() {
            None => {
                s.sweeping = false;
                None
            }
            Some((at, _)) if *at <= now => s.queue.pop_front().map(|(_, entry)| Ok(entry)),
            Some((at, _)) => Some(Err(*at)),
        }
    }
}

/// Closes the sessions that stayed over the limit; ends when none is
/// watched, or with the server.
async fn sweep(watch: Weak<SlowConsumers>) {
    loop {
        let next = match watch.upgrade() {
            Some(watch) => match watch.next(Instant::now()) {
                None => return,
                Some(Ok((session, epoch))) => {
                    if let Some(session) = session.upgrade() {
                        session.expire(epoch);
                    }
                    continue;
                }
                Some(Err(at)) => at,
            },
            None => return,
        };
        tokio::time::sleep_until(next).await;
    }
}
