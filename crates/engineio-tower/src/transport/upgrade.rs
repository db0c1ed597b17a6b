//! The upgrade of a polling session to a stream transport (WebSocket,
//! WebTransport), past the probe the transport reads itself: the steps
//! the session goes through whichever transport it moves to.

use std::sync::Arc;

use crate::{
    handler,
    socket::{lock, Receiver, UpgradeState},
    trace, EngineIoHandler, Socket, TransportType,
};

use crate::engine::Engine;

/// `2probe` was answered with `3probe`: polling now answers each GET with a
/// noop, so the client can pause it and send `5` on the new transport.
pub(super) fn probed<D>(socket: &Socket<D>) {
    socket.set_upgrade_state(UpgradeState::Upgrading);
    socket.session().upgrading.notify_waiters();
}

/// The probe failed: the session goes on polling as before.
pub(super) fn failed<D>(socket: &Socket<D>, why: &str) {
    trace::debug!(sid = %socket.sid(), why, "engine.io: upgrade failed");
    if !socket.is_closed() {
        socket.set_upgrade_state(UpgradeState::None);
        socket.session().upgrading.notify_waiters();
    }
}

/// The client sent `5`: waits for a pending GET (released with a noop) to
/// hand the queue back, then moves the session to `to`. `None` when the
/// session closed meanwhile.
pub(super) async fn complete<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    socket: &Socket<H::Data>,
    to: TransportType,
) -> Option<Receiver> {
    let rx = loop {
        let returned = socket.session().rx_returned.notified();
        if let Some(rx) = lock(&socket.session().rx).take() {
            break rx;
        }
        tokio::select! {
            _ = returned => {}
            _ = socket.close_token().cancelled() => return None,
        }
    };
    socket.set_transport(to);
    engine
        .metrics
        .session_upgraded(&socket.session().counted, to);
    socket.set_upgrade_state(UpgradeState::Upgraded);
    socket.session().upgrading.notify_waiters();
    trace::debug!(sid = %socket.sid(), transport = to.as_str(), "engine.io: upgraded");
    handler::upgraded(&engine.handler, socket);
    // The session's heartbeat task, started on polling, goes on.
    Some(rx)
}
