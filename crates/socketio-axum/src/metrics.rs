//! Every metric the Socket.IO layer records goes through this module, so
//! that the `metrics` feature can be off without `#[cfg]` across the logic:
//! without it, the types here are empty and each method compiles to nothing.
//!
//! With the feature, handles are registered once, when the server is built
//! (server-wide ones) or when a namespace is created (those labelled with
//! the namespace, whose name is copied into the label then), with the
//! recorder installed at that moment. Recording is then an atomic
//! operation on a handle: no look-up, lock or allocation per packet. The
//! Engine.IO metrics (sessions, bytes, back-pressure, handshakes) are
//! recorded by `engineio-tower`. Names, types and labels are listed in
//! docs/operations.md.

#[cfg(feature = "metrics")]
use std::sync::Arc;

/// Why a client's connection to a namespace was refused.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Refusal {
    InvalidNamespace,
    Middleware,
    ConnectHandler,
}

/// Server-wide handles; empty without the feature.
#[derive(Clone, Default)]
pub(crate) struct Metrics {
    #[cfg(feature = "metrics")]
    refused: Option<Arc<[metrics::Counter; 3]>>,
}

/// The handles of one namespace, labelled with its name; empty without
/// the feature. The default records nothing.
#[derive(Clone, Default)]
pub(crate) struct NsMetrics {
    #[cfg(feature = "metrics")]
    handles: Option<Arc<NsHandles>>,
}

#[cfg(feature = "metrics")]
struct NsHandles {
    sockets: metrics::Gauge,
    rooms: metrics::Gauge,
    events_received: metrics::Counter,
    events_sent: metrics::Counter,
    acks_pending: metrics::Gauge,
    acks_timed_out: metrics::Counter,
    volatile_dropped: metrics::Counter,
}

#[cfg(feature = "metrics")]
const REFUSALS: [&str; 3] = ["invalid_namespace", "middleware", "connect_handler"];

#[cfg(feature = "metrics")]
fn describe() {
    use metrics::{describe_counter, describe_gauge, Unit};
    describe_counter!(
        "socketio_connects_refused_total",
        Unit::Count,
        "Connections to a namespace refused, by reason"
    );
    describe_gauge!(
        "socketio_sockets",
        Unit::Count,
        "Sockets connected to a namespace on this server"
    );
    describe_gauge!(
        "socketio_rooms",
        Unit::Count,
        "Rooms with a member on this server (the room of each socket's own id not counted)"
    );
    describe_counter!(
        "socketio_events_received_total",
        Unit::Count,
        "Event packets received from clients"
    );
    describe_counter!(
        "socketio_events_sent_total",
        Unit::Count,
        "Event packets queued for clients (a broadcast counts once per socket reached)"
    );
    describe_gauge!(
        "socketio_acks_pending",
        Unit::Count,
        "Acknowledgements the server waits for from clients"
    );
    describe_counter!(
        "socketio_acks_timed_out_total",
        Unit::Count,
        "Acknowledgements from clients that did not arrive in time"
    );
    describe_counter!(
        "socketio_volatile_dropped_total",
        Unit::Count,
        "Volatile event packets dropped because the client's queue was full"
    );
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
impl Metrics {
    /// Describes every metric of this crate and registers the server-wide
    /// handles with the recorder installed now.
    pub(crate) fn register() -> Metrics {
        #[cfg(feature = "metrics")]
        {
            describe();
            let refused = REFUSALS
                .map(|r| metrics::counter!("socketio_connects_refused_total", "reason" => r));
            Metrics {
                refused: Some(Arc::new(refused)),
            }
        }
        #[cfg(not(feature = "metrics"))]
        Metrics {}
    }

    /// A client was refused a namespace.
    #[inline]
    pub(crate) fn connect_refused(&self, why: Refusal) {
        #[cfg(feature = "metrics")]
        if let Some(r) = &self.refused {
            r[why as usize].increment(1);
        }
    }

    /// The handles of the namespace `path`.
    pub(crate) fn namespace(&self, path: &str) -> NsMetrics {
        #[cfg(feature = "metrics")]
        if self.refused.is_some() {
            use metrics::{counter, gauge};
            let label = [metrics::Label::new("namespace", path.to_owned())];
            let handles = NsHandles {
                sockets: gauge!("socketio_sockets", label.iter()),
                rooms: gauge!("socketio_rooms", label.iter()),
                events_received: counter!("socketio_events_received_total", label.iter()),
                events_sent: counter!("socketio_events_sent_total", label.iter()),
                acks_pending: gauge!("socketio_acks_pending", label.iter()),
                acks_timed_out: counter!("socketio_acks_timed_out_total", label.iter()),
                volatile_dropped: counter!("socketio_volatile_dropped_total", label.iter()),
            };
            return NsMetrics {
                handles: Some(Arc::new(handles)),
            };
        }
        NsMetrics::default()
    }
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
impl NsMetrics {
    /// A socket joined (`+1`) or left (`-1`) the namespace.
    #[inline]
    pub(crate) fn sockets(&self, delta: f64) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.handles {
            h.sockets.increment(delta);
        }
    }

    /// A room appeared (`+1`) or disappeared (`-1`).
    #[inline]
    pub(crate) fn rooms(&self, delta: f64) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.handles {
            h.rooms.increment(delta);
        }
    }

    /// An event packet arrived from a client.
    #[inline]
    pub(crate) fn event_received(&self) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.handles {
            h.events_received.increment(1);
        }
    }

    /// An event packet was queued for a client.
    #[inline]
    pub(crate) fn event_sent(&self) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.handles {
            h.events_sent.increment(1);
        }
    }

    /// `delta` acknowledgements started (`> 0`) or stopped (`< 0`) being awaited.
    #[inline]
    pub(crate) fn acks_pending(&self, delta: f64) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.handles {
            h.acks_pending.increment(delta);
        }
    }

    /// An awaited acknowledgement did not arrive in time.
    #[inline]
    pub(crate) fn ack_timed_out(&self) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.handles {
            h.acks_timed_out.increment(1);
        }
    }

    /// A volatile event packet was dropped.
    #[inline]
    pub(crate) fn volatile_dropped(&self) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.handles {
            h.volatile_dropped.increment(1);
        }
    }
}
