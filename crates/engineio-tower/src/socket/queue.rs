//! A session's outgoing queue: what it holds, its bounds, and the sending
//! half of [`Socket`].

use std::{
    collections::VecDeque,
    fmt,
    sync::{atomic::Ordering, Arc, Weak},
};

use bytes::Bytes;
use socketio_protocol::{engine::Frame, Str};

use super::{lock, Socket};
use crate::{
    metrics::Sent,
    slow::{SlowConsumers, Watched},
    trace, CloseReason,
};

/// What a socket queues: one frame, or frames that must go out together and
/// in order (a Socket.IO packet and its binary attachments), which no other
/// sender's frames can come between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// One frame.
    Frame(Frame),
    /// Several frames, written one after the other.
    Frames(Vec<Frame>),
    /// Frames, one after the other, never compressed (Node's
    /// `compress(false)`): with WebSocket per-message compression agreed,
    /// the others are compressed from its threshold up.
    Uncompressed(Vec<Frame>),
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
            Outbound::Frames(v) | Outbound::Uncompressed(v) => v.iter().map(len).sum(),
        }
    }

    /// Calls `f` on each frame, in order.
    pub(crate) fn for_each(self, mut f: impl FnMut(Frame)) {
        match self {
            Outbound::Frame(x) => f(x),
            Outbound::Frames(v) | Outbound::Uncompressed(v) => v.into_iter().for_each(f),
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

pub(super) struct Queue {
    pub(super) items: VecDeque<Outbound>,
    /// Payload bytes of `items`, against `max_bytes` (kept under the lock
    /// that pushes and pops take anyway).
    pub(super) bytes: usize,
    /// Set while the receiver runs and will look at `items` again before it
    /// waits: a push then needs no wake-up.
    pub(super) receiver_busy: bool,
}

impl Queue {
    pub(super) fn pop(&mut self) -> Option<Outbound> {
        let out = self.items.pop_front()?;
        self.bytes -= out.payload_len();
        Some(out)
    }
}

/// The right to take frames from a session's queue: one transport holds it
/// at a time (a pending polling GET or the WebSocket task), and gives it back
/// in `Session::rx`.
#[derive(Debug)]
pub(crate) struct Receiver(pub(super) ());

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
            .map(|sent| self.inner.metrics.sent(sent))
    }

    /// Queues a frame unless `max_buffered_packets` items or
    /// `max_buffered_bytes` are queued already: for frames that may be
    /// dropped, such as volatile ones. Refusing one closes nothing.
    pub fn try_send(&self, frame: impl Into<Outbound>) -> Result<(), SendError> {
        if self.is_full() {
            return Err(SendError::Full(frame.into()));
        }
        self.push(frame.into(), false)
            .map(|sent| self.inner.metrics.sent(sent))
    }

    /// Queues `frame`; past the byte limit, refuses it and closes the
    /// session if `close_when_over`.
    /// Queues `frame`; `Ok` with its payload's length, for the metrics.
    fn push(&self, frame: Outbound, close_when_over: bool) -> Result<Sent, SendError> {
        if self.is_closed() {
            return Err(SendError::Closed(frame));
        }
        let s = &self.inner;
        // Counted before it is pushed, so that the writer, which counts it
        // off after popping it, never sees the count go below zero.
        let reached = s.queued.fetch_add(1, Ordering::AcqRel) + 1 == s.max_queued;
        let len = frame.payload_len();
        let size = len + ITEM_OVERHEAD;
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
                Ok(Sent::new(len))
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
        s.metrics.back_pressure();
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
        let _ = self.push(Frame::Text(Str::from_static(text)).into(), true);
    }
}

/// What a queued item costs beyond its payload, as the byte limit counts
/// it: its place in the queue and its own allocation's bookkeeping.
pub(super) const ITEM_OVERHEAD: usize = 64;

/// What bounds a session's outgoing queue (see [`Socket::send`]).
pub(crate) struct QueueLimits {
    pub(crate) max_packets: usize,
    pub(crate) max_bytes: usize,
    pub(crate) slow: Arc<SlowConsumers>,
    pub(crate) metrics: crate::metrics::Metrics,
}
