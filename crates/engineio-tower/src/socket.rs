use std::{
    collections::VecDeque,
    fmt,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering},
        Arc, Mutex, OnceLock, Weak,
    },
    task::Poll,
    time::Duration,
};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use socketio_protocol::{
    engine::{Frame, Sid},
    Str,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{
    slow::{SlowConsumers, Watched},
    trace, CloseReason, TransportType,
};

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

/// What a socket queues: one frame, or frames that must go out together and
/// in order (a Socket.IO packet and its binary attachments), which no other
/// sender's frames can come between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// One frame.
    Frame(Frame),
    /// Several frames, written one after the other.
    Frames(Vec<Frame>),
}

impl From<Frame> for Outbound {
    fn from(f: Frame) -> Self {
        Outbound::Frame(f)
    }
}

impl From<Vec<Frame>> for Outbound {
    fn from(f: Vec<Frame>) -> Self {
        Outbound::Frames(f)
    }
}

impl Outbound {
    /// Bytes of payload it carries (what the queue's byte limit counts).
    pub(crate) fn payload_len(&self) -> usize {
        fn len(f: &Frame) -> usize {
            match f {
                Frame::Text(s) => s.len(),
                Frame::Binary(b) => b.len(),
            }
        }
        match self {
            Outbound::Frame(f) => len(f),
            Outbound::Frames(v) => v.iter().map(len).sum(),
        }
    }

    /// Calls `f` on each frame, in order.
    pub(crate) fn for_each(self, mut f: impl FnMut(Frame)) {
        match self {
            Outbound::Frame(x) => f(x),
            Outbound::Frames(v) => v.into_iter().for_each(f),
        }
    }
}

/// Why something could not be queued; it is handed back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The peer reads too slowly: the queue holds `max_buffered_bytes`
    /// already ([`Socket::send`] then closed the session), or
    /// `max_buffered_packets` items for [`Socket::try_send`].
    Full(Outbound),
    /// The session is closed.
    Closed(Outbound),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Full(_) => f.write_str("outgoing queue is full"),
            SendError::Closed(_) => f.write_str("session is closed"),
        }
    }
}

impl std::error::Error for SendError {}

struct Queue {
    items: VecDeque<Outbound>,
    /// Payload bytes of `items`, against `max_bytes` (kept under the lock
    /// that pushes and pops take anyway).
    bytes: usize,
    /// Set while the receiver runs and will look at `items` again before it
    /// waits: a push then needs no wake-up.
    receiver_busy: bool,
}

impl Queue {
    fn pop(&mut self) -> Option<Outbound> {
        let out = self.items.pop_front()?;
        self.bytes -= out.payload_len();
        Some(out)
    }
}

/// The right to take frames from a session's queue: one transport holds it
/// at a time (a pending polling GET or the WebSocket task), and gives it back
/// in `Session::rx`.
#[derive(Debug)]
pub(crate) struct Receiver(());

// `repr(C)` keeps the fields that every queued frame touches (a broadcast
// touches them for each socket) together at the start, in one or two cache
// lines, instead of wherever the compiler would put them.
#[repr(C)]
pub(crate) struct Session<D> {
    queued: AtomicUsize,
    max_queued: usize,
    max_bytes: usize,
    /// When the queue last reached `max_queued` (see `SlowConsumers::now`),
    /// 0 while it is under.
    over_since: AtomicU64,
    /// Whether the slow-consumer watch holds this session: at most once.
    watched: AtomicBool,
    slow: Arc<SlowConsumers>,
    /// Holds on reading taken by the layer above (see `pause_reading`).
    holds: AtomicUsize,
    /// Tasks in `wait_until`: the writer skips waking `drained` (a lock) when none.
    drain_waiters: AtomicUsize,
    /// Mirrors `closed` for the hot paths: reading an atomic is cheaper than
    /// asking the token, which takes a lock.
    closed_flag: AtomicBool,
    /// The outgoing frames. A plain deque: it allocates nothing until the
    /// first frame, and a push is one uncontended lock.
    queue: Mutex<Queue>,
    /// The task holding the `Receiver`, waiting for a frame.
    queue_waker: AtomicWaker,
    /// The `Receiver`, while no transport holds it.
    pub(crate) rx: Mutex<Option<Receiver>>,
    pub(crate) sid: Sid,
    transport: AtomicU8,
    parts: http::request::Parts,
    /// Woken when the queue shrinks while someone waits (see `wait_until`),
    /// when reading resumes and when the session closes.
    drained: Notify,
    pub(crate) pong: Notify,
    /// When the pong to the last ping is due, while one is awaited.
    pong_deadline: Mutex<Option<std::time::Instant>>,
    /// Set while a polling POST is being read, to refuse a concurrent one.
    pub(crate) posting: AtomicBool,
    /// Set when the client closed the session with no poll pending: the next
    /// poll gets the noop that a pending poll would have had.
    noop_owed: AtomicBool,
    /// Set when a poll has carried the close packet (`1`) of a session the
    /// server closed; until then the session stays reachable for that poll.
    close_sent: AtomicBool,
    /// Woken when a polling GET hands the receiver back.
    pub(crate) rx_returned: Notify,
    pub(crate) upgrade: Mutex<UpgradeState>,
    /// Woken when an upgrade starts, to release a pending GET with a noop.
    pub(crate) upgrading: Notify,
    closed: CancellationToken,
    close_reason: OnceLock<CloseReason>,
    data: D,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpgradeState {
    None,
    Probing,
    Upgrading,
    Upgraded,
}

impl<D> Socket<D> {
    pub(crate) fn new(
        sid: Sid,
        transport: TransportType,
        parts: http::request::Parts,
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
                drained: Notify::new(),
                pong: Notify::new(),
                pong_deadline: Mutex::new(None),
                posting: AtomicBool::new(false),
                noop_owed: AtomicBool::new(false),
                close_sent: AtomicBool::new(false),
                rx_returned: Notify::new(),
                upgrade: Mutex::new(if transport == TransportType::Websocket {
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

    /// The session id.
    pub fn sid(&self) -> Sid {
        self.inner.sid
    }

    /// The transport in use now (it changes once, from polling to WebSocket, on upgrade).
    pub fn transport(&self) -> TransportType {
        if self.inner.transport.load(Ordering::Acquire) == TransportType::Websocket as u8 {
            TransportType::Websocket
        } else {
            TransportType::Polling
        }
    }

    pub(crate) fn set_transport(&self, t: TransportType) {
        self.inner.transport.store(t as u8, Ordering::Release);
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

impl<D: Send + Sync + 'static> Socket<D> {
    /// Queues a frame (or frames that stay together).
    ///
    /// The queue is bounded in two ways, per session:
    /// - `max_buffered_packets` (a count): at or over it, the peer's
    ///   packets are not read (so its own requests cannot grow the queue),
    ///   [`try_send`](Self::try_send) refuses, and if the queue does not get
    ///   back under it within `slow_consumer_timeout`, the session is closed
    ///   with [`CloseReason::SlowConsumer`].
    /// - `max_buffered_bytes` (payload bytes, plus 64 per item for its place
    ///   in the queue): once the queue holds that much, a frame is refused
    ///   with [`SendError::Full`] and the session is closed at once with
    ///   [`CloseReason::SlowConsumer`], so that no later frame can overtake
    ///   the refused one. The queue holds at most that, plus one frame.
    ///
    /// Frames leave in the order they were queued, whoever queued them.
    pub fn send(&self, frame: impl Into<Outbound>) -> Result<(), SendError> {
        self.push(frame.into(), true)
    }

    /// Queues a frame unless `max_buffered_packets` items or
    /// `max_buffered_bytes` are queued already: for frames that may be
    /// dropped, such as volatile ones. Refusing one closes nothing.
    pub fn try_send(&self, frame: impl Into<Outbound>) -> Result<(), SendError> {
        if self.is_full() {
            return Err(SendError::Full(frame.into()));
        }
        self.push(frame.into(), false)
    }

    /// Queues `frame`; past the byte limit, refuses it and closes the
    /// session if `close_when_over`.
    fn push(&self, frame: Outbound, close_when_over: bool) -> Result<(), SendError> {
        if self.is_closed() {
            return Err(SendError::Closed(frame));
        }
        let s = &self.inner;
        // Counted before it is pushed, so that the writer, which counts it
        // off after popping it, never sees the count go below zero.
        let reached = s.queued.fetch_add(1, Ordering::AcqRel) + 1 == s.max_queued;
        let size = frame.payload_len() + ITEM_OVERHEAD;
        let pushed = {
            let mut q = lock(&s.queue);
            if q.bytes >= s.max_bytes {
                Err((frame, q.bytes))
            } else {
                q.bytes += size;
                q.items.push_back(frame);
                Ok(q.receiver_busy)
            }
        };
        match pushed {
            Ok(busy) => {
                if reached {
                    self.reached_limit();
                }
                if !busy {
                    s.queue_waker.wake();
                }
                Ok(())
            }
            Err((frame, held)) => {
                s.queued.fetch_sub(1, Ordering::AcqRel);
                if close_when_over {
                    trace::warn!(sid = %s.sid, held, max = s.max_bytes, "engine.io: outgoing queue over max_buffered_bytes, closing the session (slow consumer)");
                    self.close_with(CloseReason::SlowConsumer);
                }
                Err(SendError::Full(frame))
            }
        }
    }

    /// The queue just reached `max_queued`: the watch closes the session
    /// unless it gets back under within the timeout.
    fn reached_limit(&self) {
        let s = &self.inner;
        s.over_since.store(s.slow.now(), Ordering::Release);
        if !s.watched.swap(true, Ordering::AcqRel) {
            let session: Weak<dyn Watched> = Arc::downgrade(&self.inner) as Weak<dyn Watched>;
            s.slow.watch(session, s.slow.timeout());
        }
    }

    /// Waits until fewer than `max_buffered_packets` are queued, then
    /// queues the frame as [`send`](Self::send).
    pub async fn send_when_ready(&self, frame: impl Into<Outbound>) -> Result<(), SendError> {
        let frame = frame.into();
        self.wait_until(|| !self.is_full() || self.is_closed())
            .await;
        self.send(frame)
    }

    /// Queues a text message (`4` + `text`).
    pub fn send_text(&self, text: &str) -> Result<(), SendError> {
        self.send(Frame::message(text))
    }

    /// Queues a binary message.
    pub fn send_binary(&self, data: Bytes) -> Result<(), SendError> {
        self.send(Frame::Binary(data))
    }

    /// A frame of static text (control packets).
    pub(crate) fn send_control(&self, text: &'static str) {
        let _ = self.send(Frame::Text(Str::from_static(text)));
    }
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
    fn mark_closed(&self) {
        self.closed_flag.store(true, Ordering::Release);
        self.closed.cancel();
        self.drained.notify_waiters();
    }
}

/// What a queued item costs beyond its payload, as the byte limit counts
/// it: its place in the queue and its own allocation's bookkeeping.
const ITEM_OVERHEAD: usize = 64;

/// What bounds a session's outgoing queue (see [`Socket::send`]).
pub(crate) struct QueueLimits {
    pub(crate) max_packets: usize,
    pub(crate) max_bytes: usize,
    pub(crate) slow: Arc<SlowConsumers>,
}

/// Locks a mutex, recovering from poisoning: no lock in this crate is held
/// across code that can panic, and a poisoned flag must not take the server down.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
