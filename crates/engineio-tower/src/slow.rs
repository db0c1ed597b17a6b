//! The slow-consumer policy: a session whose outgoing queue stays at or
//! over `max_buffered_packets` for `slow_consumer_timeout` is closed with
//! [`CloseReason::SlowConsumer`](crate::CloseReason::SlowConsumer).
//!
//! Packets are never held anywhere but the session's one queue, so they
//! leave in the order they were sent, and nothing waits per packet: one
//! task per server watches the sessions that are over the limit, each at
//! most once at a time, soonest deadline first. It holds weak references,
//! so a session that ends is not kept.

use std::{
    cmp::Ordering,
    collections::BinaryHeap,
    sync::{Arc, Mutex, OnceLock, Weak},
    time::Duration,
};

use tokio::{runtime::Handle, time::Instant};

use crate::socket::lock;

/// A session the watch can close.
pub(crate) trait Watched: Send + Sync {
    /// Its deadline passed: closes the session if its queue has been over
    /// the limit for the whole timeout, else watches it again until then.
    fn expire(self: Arc<Self>);
}

/// The server's watch over sessions whose queue is over the limit.
pub(crate) struct SlowConsumers {
    timeout: Duration,
    /// What [`now`](Self::now) counts from.
    base: Instant,
    state: Mutex<State>,
    /// The runtime of the first session, for a frame sent from a thread
    /// outside any runtime.
    runtime: OnceLock<Handle>,
}

#[derive(Default)]
struct State {
    due: BinaryHeap<Due>,
    /// Whether the watching task runs.
    sweeping: bool,
}

/// A watched session and its deadline; the heap pops the soonest first.
struct Due(Instant, Weak<dyn Watched>);

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.cmp(&self.0)
    }
}

impl SlowConsumers {
    pub(crate) fn new(timeout: Duration) -> Arc<Self> {
        Arc::new(SlowConsumers {
            timeout,
            base: Instant::now(),
            state: Mutex::default(),
            runtime: OnceLock::new(),
        })
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Milliseconds since the watch began, plus one: never 0, which
    /// sessions keep for "not over the limit".
    pub(crate) fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    /// Notes the current runtime, if there is one (a session is opening).
    pub(crate) fn use_current_runtime(&self) {
        if self.runtime.get().is_none() {
            if let Ok(handle) = Handle::try_current() {
                let _ = self.runtime.set(handle);
            }
        }
    }

    /// Watches `session` until `after` from now. A time too long to
    /// represent never comes.
    pub(crate) fn watch(self: &Arc<Self>, session: Weak<dyn Watched>, after: Duration) {
        let Some(deadline) = Instant::now().checked_add(after) else {
            return;
        };
        let start = {
            let mut s = lock(&self.state);
            s.due.push(Due(deadline, session));
            !std::mem::replace(&mut s.sweeping, true)
        };
        if start {
            // The sender's runtime if it has one: the first session's may
            // have ended while the server lives on.
            match Handle::try_current()
                .ok()
                .or_else(|| self.runtime.get().cloned())
            {
                Some(runtime) => {
                    runtime.spawn(sweep(Arc::downgrade(self)));
                }
                // No session was ever opened on a runtime: nothing to watch.
                None => lock(&self.state).sweeping = false,
            }
        }
    }

    /// The next session whose deadline passed, or the time to wait for the
    /// soonest; `None` (the task ends) once nothing is watched.
    fn next(&self, now: Instant) -> Option<Result<Weak<dyn Watched>, Instant>> {
        let mut s = lock(&self.state);
        match s.due.peek() {
            None => {
                s.sweeping = false;
                None
            }
            Some(Due(at, _)) if *at <= now => s.due.pop().map(|Due(_, w)| Ok(w)),
            Some(Due(at, _)) => Some(Err(*at)),
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
                Some(Ok(session)) => {
                    if let Some(session) = session.upgrade() {
                        session.expire();
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
