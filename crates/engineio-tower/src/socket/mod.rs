use std::{
    collections::VecDeque,
    fmt,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering},
        Arc, Mutex, OnceLock,
    },
    task::Poll,
};

use futures_util::task::AtomicWaker;
use socketio_protocol::engine::Sid;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

mod queue;
mod session;

use queue::Queue;
pub use queue::{Outbound, SendError};
pub(crate) use queue::{QueueLimits, Receiver};
pub(crate) use session::{Session, UpgradeState, Wire};

use crate::{CloseReason, TransportType};

/// A handle to one Engine.IO session: cheap to clone, usable from any task.
///
/// Frames sent through it are queued and written by whichever transport the
/// session uses (each frame one WebSocket message, or joined into a polling
/// response). `D` is the per-session data of the layer above (see
/// [`EngineIoHandler::Data`](crate::EngineIoHandler::Data)).
pub struct Socket<D = ()> {
    inner: Arc<Session<D>>,
}

impl<D> Clone for Socket<D> {
    fn clone(&self) -> Self {
        Socket {
            inner: self.inner.clone(),
        }
    }
}

impl<D> fmt::Debug for Socket<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("sid", &self.inner.sid)
            .field("transport", &self.transport())
            .finish_non_exhaustive()
    }
}

impl<D> Socket<D> {
    pub(crate) fn new(
        sid: Sid,
        transport: TransportType,
        parts: http::request::Parts,
        wire: Wire,
        limits: QueueLimits,
        data: D,
    ) -> Self {
        Socket {
            inner: Arc::new(Session {
                queued: AtomicUsize::new(0),
                max_queued: limits.max_packets,
                max_bytes: limits.max_bytes,
                over_since: AtomicU64::new(0),
                watched: AtomicBool::new(false),
                slow: limits.slow,
                metrics: limits.metrics,
                counted: Default::default(),
                holds: AtomicUsize::new(0),
                drain_waiters: AtomicUsize::new(0),
                closed_flag: AtomicBool::new(false),
                queue: Mutex::new(Queue {
                    items: VecDeque::new(),
                    bytes: 0,
                    receiver_busy: false,
                }),
                queue_waker: AtomicWaker::new(),
                rx: Mutex::new(Some(Receiver(()))),
                sid,
                transport: AtomicU8::new(transport as u8),
                parts,
                wire,
                drained: Notify::new(),
                pong: Notify::new(),
                pong_deadline: Mutex::new(None),
                posting: AtomicBool::new(false),
                noop_owed: AtomicBool::new(false),
                close_sent: AtomicBool::new(false),
                rx_returned: Notify::new(),
                upgrade: Mutex::new(if transport != TransportType::Polling {
                    UpgradeState::Upgraded
                } else {
                    UpgradeState::None
                }),
                upgrading: Notify::new(),
                closed: CancellationToken::new(),
                close_reason: OnceLock::new(),
                data,
            }),
        }
    }

    pub(crate) fn session(&self) -> &Session<D> {
        &self.inner
    }

    pub(crate) fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// The session id.
    pub fn sid(&self) -> Sid {
        self.inner.sid
    }

    /// The transport in use now (it changes once, from polling to WebSocket
    /// or WebTransport, on upgrade).
    pub fn transport(&self) -> TransportType {
        match self.inner.transport.load(Ordering::Acquire) {
            t if t == TransportType::Websocket as u8 => TransportType::Websocket,
            t if t == TransportType::WebTransport as u8 => TransportType::WebTransport,
            _ => TransportType::Polling,
        }
    }

    pub(crate) fn set_transport(&self, t: TransportType) {
        self.inner.transport.store(t as u8, Ordering::Release);
    }

    /// The Engine.IO protocol version of the session: 4, or 3 for a client of
    /// protocol v3 (socket.io-client 2.x) served with `allow_eio3`.
    pub fn protocol(&self) -> u8 {
        if self.inner.wire.v3 {
            3
        } else {
            4
        }
    }

    pub(crate) fn wire(&self) -> Wire {
        self.inner.wire
    }

    /// The parts (method, URI, headers, extensions) of the request that opened the session.
    pub fn req_parts(&self) -> &http::request::Parts {
        &self.inner.parts
    }

    /// The data that the layer above keeps with this session.
    pub fn data(&self) -> &D {
        &self.inner.data
    }

    /// Takes the next queued item, if any.
    pub(crate) fn try_recv(&self, _rx: &mut Receiver) -> Option<Outbound> {
        lock(&self.inner.queue).pop()
    }

    /// Says that the receiver is running and will look at the queue before
    /// it waits again: until then, a frame queued needs no wake-up. The
    /// WebSocket task says so before it hands a message to the handler, so
    /// that what the handler queues at once (an ack) does not wake it again.
    /// (`recv` says so too when it takes an item.)
    pub(crate) fn receiver_busy(&self, _rx: &mut Receiver) {
        lock(&self.inner.queue).receiver_busy = true;
    }

    /// Waits for the next queued item.
    pub(crate) async fn recv(&self, _rx: &mut Receiver) -> Outbound {
        let pop = |idle: bool| {
            let mut q = lock(&self.inner.queue);
            let out = q.pop();
            if out.is_some() {
                // The receiver comes back here before it waits.
                q.receiver_busy = true;
            } else if idle {
                // Under the lock that pushes take: a push from now on wakes
                // this task.
                q.receiver_busy = false;
            }
            out
        };
        std::future::poll_fn(|cx| {
            if let Some(out) = pop(true) {
                return Poll::Ready(out);
            }
            self.inner.queue_waker.register(cx.waker());
            // A frame pushed before the registration did not see it.
            match pop(false) {
                Some(out) => Poll::Ready(out),
                None => Poll::Pending,
            }
        })
        .await
    }

    /// Back-pressure: waits until the peer's next packet may be read, that is
    /// until the outgoing queue has room and the layer above does not hold
    /// reading, or the session closes.
    pub(crate) async fn wait_for_room(&self) {
        self.wait_until(|| !self.is_reading_paused() || self.is_closed())
            .await;
    }

    /// Waits until `ready` holds, checking it again whenever the queue
    /// shrinks, reading resumes or the session closes.
    pub(crate) async fn wait_until(&self, ready: impl Fn() -> bool) {
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let s = &self.inner;
        s.drain_waiters.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&s.drain_waiters);
        // Pairs with `dequeued`: either it sees this waiter, or `ready` sees its update.
        std::sync::atomic::fence(Ordering::SeqCst);
        loop {
            let drained = s.drained.notified();
            if ready() {
                return;
            }
            drained.await;
        }
    }

    /// Whether the outgoing queue is at its limit.
    pub fn is_full(&self) -> bool {
        self.inner.queued.load(Ordering::Acquire) >= self.inner.max_queued
    }

    /// Stops reading the peer's packets until a matching
    /// [`resume_reading`](Self::resume_reading): for a layer above whose own
    /// queue of incoming work is full. Holds add up.
    pub fn pause_reading(&self) {
        self.inner.holds.fetch_add(1, Ordering::AcqRel);
        self.inner.metrics.back_pressure();
    }

    /// Releases one hold taken with [`pause_reading`](Self::pause_reading).
    pub fn resume_reading(&self) {
        let prev = self
            .inner
            .holds
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| h.checked_sub(1));
        if prev.is_ok() {
            self.inner.drained.notify_waiters();
        }
    }

    /// Whether the peer's packets are not read now: the outgoing queue is
    /// full, or the layer above paused reading.
    pub fn is_reading_paused(&self) -> bool {
        self.is_full() || self.inner.holds.load(Ordering::Acquire) > 0
    }

    /// Number of frames queued and not yet written.
    pub fn queued(&self) -> usize {
        self.inner.queued.load(Ordering::Acquire)
    }

    /// Closes the session: queued frames are still written if the transport
    /// allows, then the transport is closed and the handler's `on_close`
    /// receives [`CloseReason::ForcedClose`].
    pub fn close(&self) {
        self.close_with(CloseReason::ForcedClose);
    }

    /// Closes the session with the given reason (the first reason wins).
    pub fn close_with(&self, reason: CloseReason) {
        if self.inner.close_reason.set(reason).is_ok() {
            self.inner.mark_closed();
        }
    }

    /// Whether the session is closed or closing.
    pub fn is_closed(&self) -> bool {
        self.inner.closed_flag.load(Ordering::Acquire)
    }

    /// Resolves when the session is closed, with the reason.
    pub async fn closed(&self) -> CloseReason {
        self.inner.closed.cancelled().await;
        self.close_reason()
    }

    pub(crate) fn close_reason(&self) -> CloseReason {
        self.inner
            .close_reason
            .get()
            .copied()
            .unwrap_or(CloseReason::TransportClose)
    }

    pub(crate) fn close_token(&self) -> &CancellationToken {
        &self.inner.closed
    }

    /// Records that `n` frames left the queue.
    pub(crate) fn dequeued(&self, n: usize) {
        if n > 0 {
            let before = self.inner.queued.fetch_sub(n, Ordering::SeqCst);
            if before >= self.inner.max_queued && before - n < self.inner.max_queued {
                // Back under the limit: the slow-consumer watch lets it be.
                self.inner.over_since.store(0, Ordering::Release);
            }
            if self.inner.drain_waiters.load(Ordering::SeqCst) > 0 {
                self.inner.drained.notify_waiters();
            }
        }
    }

    pub(crate) fn set_pong_deadline(&self, deadline: Option<std::time::Instant>) {
        *lock(&self.inner.pong_deadline) = deadline;
    }

    /// Whether a request may still use this session. A session whose pong is
    /// overdue is closed here rather than when the timer task next runs, so
    /// that a client never sees a session outlive its ping timeout. A closed
    /// session stays reachable only for a polling client to fetch what the
    /// server queued before closing it.
    pub(crate) fn is_usable(&self, transport: TransportType) -> bool {
        let overdue =
            lock(&self.inner.pong_deadline).is_some_and(|d| d <= std::time::Instant::now());
        if overdue {
            self.close_with(CloseReason::PingTimeout);
        }
        !self.is_closed()
            || (transport == TransportType::Polling
                && match self.close_reason() {
                    CloseReason::ForcedClose => self.queued() > 0 || !self.close_sent(),
                    CloseReason::TransportClose => self.noop_owed(),
                    _ => false,
                })
    }

    /// The client closes the session (a `1` packet in a POST).
    pub(crate) fn client_close(&self) {
        if lock(&self.inner.rx).is_some() {
            self.inner.noop_owed.store(true, Ordering::Release);
        }
        self.close_with(CloseReason::TransportClose);
    }

    /// Records that a poll carried the close packet, and wakes a lingering
    /// session's `wait_until`.
    pub(crate) fn set_close_sent(&self) {
        self.inner.close_sent.store(true, Ordering::SeqCst);
        if self.inner.drain_waiters.load(Ordering::SeqCst) > 0 {
            self.inner.drained.notify_waiters();
        }
    }

    /// Whether a poll carried the close packet.
    pub(crate) fn close_sent(&self) -> bool {
        self.inner.close_sent.load(Ordering::SeqCst)
    }

    pub(crate) fn noop_owed(&self) -> bool {
        self.inner.noop_owed.load(Ordering::Acquire)
    }

    /// Takes the owed noop, if any.
    pub(crate) fn take_noop(&self) -> bool {
        self.inner.noop_owed.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn upgrade_state(&self) -> UpgradeState {
        *lock(&self.inner.upgrade)
    }

    pub(crate) fn set_upgrade_state(&self, s: UpgradeState) {
        *lock(&self.inner.upgrade) = s;
    }
}

/// Locks a mutex, recovering from poisoning: no lock in this crate is held
/// across code that can panic, and a poisoned flag must not take the server down.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
