//! The state of one Engine.IO session that every [`Socket`](super::Socket)
//! handle shares, and the slow-consumer watch over it.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering},
        Arc, Mutex, OnceLock, Weak,
    },
    time::Duration,
};

use futures_util::task::AtomicWaker;
use socketio_protocol::engine::Sid;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::queue::{Queue, Receiver};
use crate::{
    slow::{SlowConsumers, Watched},
    trace, CloseReason,
};

// `repr(C)` keeps the fields that every queued frame touches (a broadcast
// touches them for each socket) together at the start, in one or two cache
// lines, instead of wherever the compiler would put them.
#[repr(C)]
pub(crate) struct Session<D> {
    pub(super) queued: AtomicUsize,
    pub(super) max_queued: usize,
    pub(super) max_bytes: usize,
    /// When the queue last reached `max_queued` (see `SlowConsumers::now`),
    /// 0 while it is under.
    pub(super) over_since: AtomicU64,
    /// Whether the slow-consumer watch holds this session: at most once.
    pub(super) watched: AtomicBool,
    pub(super) slow: Arc<SlowConsumers>,
    pub(super) metrics: crate::metrics::Metrics,
    /// Holds on reading taken by the layer above (see `pause_reading`).
    pub(super) holds: AtomicUsize,
    /// Tasks in `wait_until`: the writer skips waking `drained` (a lock) when none.
    pub(super) drain_waiters: AtomicUsize,
    /// Mirrors `closed` for the hot paths: reading an atomic is cheaper than
    /// asking the token, which takes a lock.
    pub(super) closed_flag: AtomicBool,
    /// The outgoing frames. A plain deque: it allocates nothing until the
    /// first frame, and a push is one uncontended lock.
    pub(super) queue: Mutex<Queue>,
    /// The task holding the `Receiver`, waiting for a frame.
    pub(super) queue_waker: AtomicWaker,
    /// The `Receiver`, while no transport holds it.
    pub(crate) rx: Mutex<Option<Receiver>>,
    pub(crate) sid: Sid,
    pub(super) transport: AtomicU8,
    pub(super) parts: http::request::Parts,
    /// The framing of the session: Engine.IO protocol v3 or v4.
    pub(crate) wire: Wire,
    /// Woken when the queue shrinks while someone waits (see `wait_until`),
    /// when reading resumes and when the session closes.
    pub(super) drained: Notify,
    pub(crate) pong: Notify,
    /// When the pong to the last ping is due, while one is awaited.
    pub(super) pong_deadline: Mutex<Option<std::time::Instant>>,
    /// Set while a polling POST is being read, to refuse a concurrent one.
    pub(crate) posting: AtomicBool,
    /// Set when the client closed the session with no poll pending: the next
    /// poll gets the noop that a pending poll would have had.
    pub(super) noop_owed: AtomicBool,
    /// Set when a poll has carried the close packet (`1`) of a session the
    /// server closed; until then the session stays reachable for that poll.
    pub(super) close_sent: AtomicBool,
    /// Woken when a polling GET hands the receiver back.
    pub(crate) rx_returned: Notify,
    pub(crate) upgrade: Mutex<UpgradeState>,
    /// Woken when an upgrade starts, to release a pending GET with a noop.
    pub(crate) upgrading: Notify,
    pub(super) closed: CancellationToken,
    pub(super) close_reason: OnceLock<CloseReason>,
    /// Where the session is counted in the sessions gauge.
    pub(crate) counted: crate::metrics::Counted,
    pub(super) data: D,
}

/// How a session's packets are framed, fixed at its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Wire {
    /// Engine.IO protocol v3 (`EIO=3`, with `allow_eio3`): its payloads, its
    /// binary messages' type byte, and the client's pings.
    pub(crate) v3: bool,
    /// A v3 client that takes no binary (`b64` in its query): binary
    /// messages go as `b4` and base64 text.
    pub(crate) base64: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpgradeState {
    None,
    Probing,
    Upgrading,
    Upgraded,
}

impl<D: Send + Sync + 'static> Watched for Session<D> {
    fn expire(self: Arc<Self>) {
        self.watched.store(false, Ordering::Release);
        if self.queued.load(Ordering::Acquire) < self.max_queued {
            return;
        }
        let now = self.slow.now();
        // 0: the crossing down was counted after the crossing up that
        // followed it (two senders); the queue is over now, so from now.
        let since = match self.over_since.load(Ordering::Acquire) {
            0 => {
                self.over_since.store(now, Ordering::Release);
                now
            }
            since => since,
        };
        let timeout = self.slow.timeout();
        let over_for = Duration::from_millis(now.saturating_sub(since));
        if over_for >= timeout {
            if self.close_reason.set(CloseReason::SlowConsumer).is_ok() {
                trace::warn!(sid = %self.sid, queued = self.queued.load(Ordering::Acquire), "engine.io: outgoing queue over max_buffered_packets for slow_consumer_timeout, closing the session (slow consumer)");
                self.mark_closed();
            }
        } else if !self.watched.swap(true, Ordering::AcqRel) {
            // Over again since a later crossing: watched until its own deadline.
            let session: Weak<dyn Watched> = Arc::downgrade(&self) as Weak<dyn Watched>;
            self.slow.watch(session, timeout - over_for);
        }
    }
}

impl<D> Session<D> {
    /// Marks the session closed once its reason is set.
    pub(super) fn mark_closed(&self) {
        self.closed_flag.store(true, Ordering::Release);
        self.closed.cancel();
        self.drained.notify_waiters();
    }
}
