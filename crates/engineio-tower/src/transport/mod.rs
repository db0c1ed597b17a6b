//! The transports: HTTP long-polling (`polling`), WebSocket
//! (`websocket`: the handshake and the upgrade from polling; `ws_session`:
//! the task of an open session; `ws_conn`: its connection; `ws_deflate`:
//! its permessage-deflate) and WebTransport (`webtransport`, `wt_session`;
//! feature `webtransport`). What the stream transports share: `packet`
//! (a packet read), `upgrade` (the upgrade after its probe) and the writing
//! constants below. The engine
//! (`engine/`) routes each request to one of them; sessions, heartbeats
//! and limits are the engine's and the socket's, shared by all.

mod packet;
pub(crate) mod polling;
mod upgrade;
pub(crate) mod websocket;
#[cfg(feature = "webtransport")]
pub(crate) mod webtransport;
pub(crate) mod ws_conn;
mod ws_deflate;
mod ws_session;
#[cfg(feature = "webtransport")]
mod wt_session;

use std::time::Duration;

use crate::CloseReason;

/// Most queue items a stream transport (WebSocket, WebTransport) writes
/// at once, so that a long queue goes out in few system calls yet reading
/// is not starved.
const WRITE_BATCH: usize = 64;

/// How long what the server queued before it closed a session may take to
/// go out.
const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// Whether a session closed for `reason` still writes what was queued.
fn drains(reason: CloseReason) -> bool {
    matches!(
        reason,
        CloseReason::ForcedClose | CloseReason::ServerShuttingDown
    )
}
