//! Every metric the Redis adapter records goes through this module, so
//! that the `metrics` feature can be off without `#[cfg]` across the logic:
//! without it, each function here compiles to nothing.
//!
//! Both are recorded off the hot path (a failure, or a request that waited
//! for other servers), so the macros look the metric up at each call, with
//! the recorder installed then. Listed in docs/operations.md.

/// Messages for other servers that were not published: `reason` is
/// `not_connected`, `queue_full`, `stopped` or `redis_error`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn publish_failed(reason: &'static str, messages: usize) {
    #[cfg(feature = "metrics")]
    {
        metrics::describe_counter!(
            "socketio_redis_publish_errors_total",
            metrics::Unit::Count,
            "Messages for other servers that the Redis adapter could not publish, by reason"
        );
        metrics::counter!("socketio_redis_publish_errors_total", "reason" => reason)
            .increment(messages as u64);
    }
}

/// A request to the other servers (`what`: `fetchSockets`, `allRooms`...)
/// got every answer (`complete`) or timed out, after `elapsed`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn request_done(what: &'static str, complete: bool, elapsed: std::time::Duration) {
    #[cfg(feature = "metrics")]
    {
        metrics::describe_histogram!(
            "socketio_redis_request_duration_seconds",
            metrics::Unit::Seconds,
            "Time a request to the other servers took, until every answer or the timeout"
        );
        let outcome = if complete { "complete" } else { "timeout" };
        metrics::histogram!(
            "socketio_redis_request_duration_seconds",
            "request" => what,
            "outcome" => outcome
        )
        .record(elapsed.as_secs_f64());
    }
}
