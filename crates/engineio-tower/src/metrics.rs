//! Every metric the engine records goes through this module, so that the
//! `metrics` feature can be off without `#[cfg]` across the logic: without
//! it, [`Metrics`] is empty and each of its methods compiles to nothing.
//!
//! With the feature, the handles are registered once, when the server is
//! built, with the recorder installed then (the `metrics` crate's global
//! one); recording is then an atomic operation on a handle, without a
//! look-up, a lock or an allocation. The names, types and labels are listed
//! in docs/operations.md.

#[cfg(feature = "metrics")]
use std::sync::{
    atomic::{AtomicU8, Ordering},
    Arc,
};

use crate::{CloseReason, TransportType};

/// Why a handshake was refused, as the `reason` label says it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Refusal {
    UnknownTransport,
    UnsupportedProtocolVersion,
    BadMethod,
    Forbidden,
    BadUpgrade,
}

/// Under which transport a session is counted in `engineio_sessions`, so
/// that an upgrade racing the session's close moves it at most once and
/// the close takes it off the gauge it is on. Empty without the feature.
#[derive(Default)]
pub(crate) struct Counted {
    #[cfg(feature = "metrics")]
    state: AtomicU8,
}

#[cfg(feature = "metrics")]
const POLLING: u8 = 1;
#[cfg(feature = "metrics")]
const WEBSOCKET: u8 = 2;
#[cfg(feature = "metrics")]
const WEBTRANSPORT: u8 = 3;
#[cfg(feature = "metrics")]
const CLOSED: u8 = 4;

/// A message's payload length, carried from where it was queued to where
/// it is counted; empty without the feature, so that nothing is carried.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sent {
    #[cfg(feature = "metrics")]
    len: usize,
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
impl Sent {
    #[inline]
    pub(crate) fn new(len: usize) -> Sent {
        Sent {
            #[cfg(feature = "metrics")]
            len,
        }
    }
}

/// The engine's metric handles; cheap to clone, empty without the feature.
#[derive(Clone)]
pub(crate) struct Metrics {
    #[cfg(feature = "metrics")]
    handles: Arc<Handles>,
}

#[cfg(feature = "metrics")]
struct Handles {
    /// Open sessions, by transport (polling, websocket).
    sessions: [metrics::Gauge; 3],
    /// Closed sessions, by [`close_index`].
    closed: [metrics::Counter; 7],
    received_bytes: metrics::Counter,
    sent_bytes: metrics::Counter,
    back_pressure: metrics::Counter,
    /// Refused handshakes, by [`Refusal`].
    refused: [metrics::Counter; 5],
}

#[cfg(feature = "metrics")]
const TRANSPORTS: [&str; 3] = ["polling", "websocket", "webtransport"];

#[cfg(feature = "metrics")]
const CLOSE_REASONS: [&str; 7] = [
    "transport_close",
    "transport_error",
    "ping_timeout",
    "parse_error",
    "forced_close",
    "server_shutting_down",
    "slow_consumer",
];

#[cfg(feature = "metrics")]
const REFUSALS: [&str; 5] = [
    "unknown_transport",
    "unsupported_protocol_version",
    "bad_method",
    "forbidden",
    "bad_upgrade",
];

/// The state of a session counted on `transport`'s gauge.
#[cfg(feature = "metrics")]
fn state_of(transport: TransportType) -> u8 {
    match transport {
        TransportType::Polling => POLLING,
        TransportType::Websocket => WEBSOCKET,
        TransportType::WebTransport => WEBTRANSPORT,
    }
}

#[cfg(feature = "metrics")]
fn close_index(reason: CloseReason) -> usize {
    match reason {
        CloseReason::TransportClose => 0,
        CloseReason::TransportError => 1,
        CloseReason::PingTimeout => 2,
        CloseReason::ParseError => 3,
        CloseReason::ForcedClose => 4,
        CloseReason::ServerShuttingDown => 5,
        CloseReason::SlowConsumer => 6,
    }
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
impl Metrics {
    /// Registers the engine's metrics with the recorder installed now.
    pub(crate) fn register() -> Metrics {
        #[cfg(feature = "metrics")]
        {
            use metrics::{counter, describe_counter, describe_gauge, gauge, Unit};
            describe_gauge!(
                "engineio_sessions",
                Unit::Count,
                "Open Engine.IO sessions, by transport"
            );
            describe_counter!(
                "engineio_sessions_closed_total",
                Unit::Count,
                "Engine.IO sessions closed, by reason"
            );
            describe_counter!(
                "engineio_received_bytes_total",
                Unit::Bytes,
                "Bytes of the Engine.IO messages received (type digit included)"
            );
            describe_counter!(
                "engineio_sent_bytes_total",
                Unit::Bytes,
                "Bytes of the Engine.IO messages queued for clients (type digit included)"
            );
            describe_counter!(
                "engineio_back_pressure_waits_total",
                Unit::Count,
                "Times reading from a client was paused: its outgoing queue reached max_buffered_packets, or its handlers fell behind"
            );
            describe_counter!(
                "engineio_handshakes_refused_total",
                Unit::Count,
                "Engine.IO handshakes refused, by reason"
            );
            let handles = Handles {
                sessions: TRANSPORTS.map(|t| gauge!("engineio_sessions", "transport" => t)),
                closed: CLOSE_REASONS
                    .map(|r| counter!("engineio_sessions_closed_total", "reason" => r)),
                received_bytes: counter!("engineio_received_bytes_total"),
                sent_bytes: counter!("engineio_sent_bytes_total"),
                back_pressure: counter!("engineio_back_pressure_waits_total"),
                refused: REFUSALS
                    .map(|r| counter!("engineio_handshakes_refused_total", "reason" => r)),
            };
            Metrics {
                handles: Arc::new(handles),
            }
        }
        #[cfg(not(feature = "metrics"))]
        Metrics {}
    }

    /// A session opened on `transport`.
    #[inline]
    pub(crate) fn session_opened(&self, counted: &Counted, transport: TransportType) {
        #[cfg(feature = "metrics")]
        {
            let state = state_of(transport);
            counted.state.store(state, Ordering::Release);
            self.handles.sessions[transport as usize].increment(1.0);
        }
    }

    /// A polling session moved to `to` (unless it closed meanwhile).
    #[inline]
    pub(crate) fn session_upgraded(&self, counted: &Counted, to: TransportType) {
        #[cfg(feature = "metrics")]
        if counted
            .state
            .compare_exchange(POLLING, state_of(to), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let h = &self.handles;
            h.sessions[TransportType::Polling as usize].decrement(1.0);
            h.sessions[to as usize].increment(1.0);
        }
    }

    /// A session closed for `reason`.
    #[inline]
    pub(crate) fn session_closed(&self, counted: &Counted, reason: CloseReason) {
        #[cfg(feature = "metrics")]
        {
            let h = &self.handles;
            match counted.state.swap(CLOSED, Ordering::AcqRel) {
                POLLING => h.sessions[TransportType::Polling as usize].decrement(1.0),
                WEBSOCKET => h.sessions[TransportType::Websocket as usize].decrement(1.0),
                WEBTRANSPORT => h.sessions[TransportType::WebTransport as usize].decrement(1.0),
                // Never counted, or counted off already.
                _ => return,
            }
            h.closed[close_index(reason)].increment(1);
        }
    }

    /// A message of `len` bytes was received (type digit included).
    #[inline]
    pub(crate) fn received(&self, len: usize) {
        #[cfg(feature = "metrics")]
        {
            let h = &self.handles;
            h.received_bytes.increment(len as u64);
        }
    }

    /// A message was queued for the client.
    #[inline]
    pub(crate) fn sent(&self, sent: Sent) {
        #[cfg(feature = "metrics")]
        {
            let h = &self.handles;
            h.sent_bytes.increment(sent.len as u64);
        }
    }

    /// Reading from a client stops: its queue reached
    /// `max_buffered_packets`, or the layer above paused reading.
    #[inline]
    pub(crate) fn back_pressure(&self) {
        #[cfg(feature = "metrics")]
        {
            let h = &self.handles;
            h.back_pressure.increment(1);
        }
    }

    /// A handshake was refused.
    #[inline]
    pub(crate) fn handshake_refused(&self, why: Refusal) {
        #[cfg(feature = "metrics")]
        {
            let h = &self.handles;
            h.refused[why as usize].increment(1);
        }
    }
}
