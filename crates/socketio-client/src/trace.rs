//! Logging goes through this module, so that the backend can change (or be
//! compiled out) in one place instead of with `#[cfg]` across the logic.

pub(crate) use tracing::{debug, warn};
