//! Examples of socketio-axum; run one with `cargo run --release --example NAME`
//! (see `examples/README.md`).
//!
//! The larger examples keep their application here, in a module beside
//! their `main.rs`, so that the integration tests (`tests/examples/`) can
//! start the very same application in-process, on a free port, and restart it.

#[cfg(feature = "admin-ui")]
#[path = "admin-ui/app.rs"]
pub mod admin_ui;
#[path = "axum-app/app.rs"]
pub mod axum_app;
#[path = "chat/app.rs"]
pub mod chat;
#[cfg(feature = "metrics")]
#[path = "metrics/app.rs"]
pub mod metrics;
#[path = "redis-cluster/app.rs"]
pub mod redis_cluster;
#[cfg(feature = "tls")]
#[path = "tls/app.rs"]
pub mod tls;
#[path = "webtransport_conformance/app.rs"]
pub mod webtransport_conformance;

mod listen;
pub use listen::{listen, ListenError};

/// Logs to the terminal: `RUST_LOG` when set, else `default` (such as
/// `"info"`), as every example here does.
pub fn init_tracing(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default.into()),
        )
        .init();
}
