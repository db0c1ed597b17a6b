//! Shared harness of the integration tests: a real Engine.IO server on
//! 127.0.0.1:0 (axum + the `EngineIo` layer) whose handler echoes every
//! message and records what happened, and the peers that talk to it — raw
//! HTTP/1.1 requests, WebSocket clients (tokio-tungstenite, or hand-written
//! frames on a TCP socket) and the official npm clients run under Node.
//!
//! For Socket.IO, [`SioServer`] serves a `SocketIo` layer instead, and
//! [`SioWs`] speaks literal Socket.IO frames over a WebSocket.
//!
//! Every wait is bounded by [`TIMEOUT`], so a broken server fails a test
//! with a message instead of hanging it.
//!
//! ```no_run
//! use socketio_axum_tests::{quiet_config, TestServer};
//!
//! # async fn demo() {
//! let server = TestServer::start(quiet_config()).await;
//! let session = server.polling_session().await;
//! assert_eq!(session.post("4hello").await.text(), "ok");
//! assert_eq!(session.get().await.text(), "4hello");
//! # }
//! ```

// A test harness fails the test it serves by panicking, with a message.
#![allow(clippy::panic)]

mod certs;
mod http_client;
mod node;
mod server;
mod sio;
mod ws;
mod wt;

use std::{future::Future, time::Duration};

pub use crate::certs::{test_certs, TestCerts};
pub use crate::http_client::{raw_exchange, read_response, request, HttpResponse, PollingSession};
pub use crate::node::{node_script, node_script_within, NodeOutput};
pub use crate::server::{
    heartbeat_config, quiet_config, Event, Events, Recorder, ServerBuilder, TestServer,
    WebTransportListener, MAX_PAYLOAD, PANIC_MESSAGE,
};
pub use crate::sio::{sio_config, SioServer, SioWs};
pub use crate::ws::{
    assert_raw_ws_closed_with, raw_ws_frame, raw_ws_session, raw_ws_session_over, raw_ws_upgrade,
    raw_ws_upgrade_offering, read_raw_ws_frame, ws_connect, RawWsFrame, WsClient,
};
pub use crate::wt::{relay_webtransport_to_tcp, wt_session, WtClient};

/// Upper bound of every wait in the harness: far above what any step takes,
/// so that it only fires when the server is broken.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Awaits `fut`, failing the test with `what` if it takes longer than [`TIMEOUT`].
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(TIMEOUT, fut).await {
        Ok(out) => out,
        Err(_) => panic!("timed out after {TIMEOUT:?} waiting for {what}"),
    }
}

/// Waits until `cond` holds, checking it every few milliseconds: for state
/// that has no event to await, such as the engine's session count.
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    within(what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// How long [`assert_pending`] watches a request: long enough for it to reach
/// the server on a loaded machine, short against a test's run time.
pub const PENDING_WINDOW: Duration = Duration::from_millis(150);

/// Fails the test if `fut` completes within `window`: for requests that must
/// wait (a long-poll with nothing to deliver). The window is also what lets a
/// request reach the server before the test goes on.
pub async fn assert_pending<F: Future + Unpin>(what: &str, fut: &mut F, window: Duration)
where
    F::Output: std::fmt::Debug,
{
    if let Ok(out) = tokio::time::timeout(window, fut).await {
        panic!("{what} completed within {window:?}, with {out:?}");
    }
}

/// The Rust snippets of `docs/client.md`, compiled (and run, unless marked
/// `no_run`) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/client.md")]
pub struct ClientDoc;

/// The Rust snippets of `docs/scaling.md`, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/scaling.md")]
pub struct ScalingDoc;

/// The Rust snippets of `docs/configuration.md`, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/configuration.md")]
pub struct ConfigurationDoc;

/// The Rust snippets of `docs/deployment.md`, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/deployment.md")]
pub struct DeploymentDoc;
