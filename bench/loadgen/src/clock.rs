//! One monotonic clock for the whole process: timestamps travel in the
//! events' payloads as nanoseconds since [`init`], and come back to the same
//! process to be subtracted.

use std::{sync::OnceLock, time::Instant};

static START: OnceLock<Instant> = OnceLock::new();

/// Starts the clock; later calls do nothing.
pub(crate) fn init() {
    START.get_or_init(Instant::now);
}

/// Nanoseconds since [`init`].
pub(crate) fn now_ns() -> u64 {
    let ns = START.get_or_init(Instant::now).elapsed().as_nanos();
    u64::try_from(ns).unwrap_or(u64::MAX)
}
