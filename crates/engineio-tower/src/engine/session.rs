//! A session's end (the handler told, a closed polling session kept
//! reachable for what it is owed) and the request kept with a session.

use super::*;

/// A session ended: the handler hears of it, a polling client may still
/// fetch what it is owed, then the session is unregistered.
pub(crate) async fn finish<H: EngineIoHandler>(engine: &Arc<Engine<H>>, socket: &Socket<H::Data>) {
    let reason = socket.close_reason();
    trace::debug!(sid = %socket.sid(), %reason, "engine.io: session closed");
    handler::close(&engine.handler, socket, reason);
    engine
        .metrics
        .session_closed(&socket.session().counted, reason);
    if socket.transport() == TransportType::Polling {
        linger(&engine.config, socket, reason).await;
    }
    engine.sessions.remove(&socket.sid());
}

/// Keeps a closed polling session reachable for a little while, for a poll
/// that is owed something: what the server queued before closing it and the
/// close packet after it, or the noop that answers a client's close when its
/// poll crossed the close.
async fn linger<D>(cfg: &EngineIoConfig, socket: &Socket<D>, reason: CloseReason) {
    if reason == CloseReason::ForcedClose {
        let delivered = || socket.queued() == 0 && socket.close_sent();
        let _ = tokio::time::timeout(grace(cfg), socket.wait_until(delivered)).await;
    } else if reason == CloseReason::TransportClose && socket.noop_owed() {
        let returned = socket.session().rx_returned.notified();
        let _ = tokio::time::timeout(NOOP_GRACE, returned).await;
    }
}

/// How long a client that closed its polling session may still fetch the noop.
const NOOP_GRACE: Duration = Duration::from_millis(100);

/// The request parts kept with a session, in memory of their own. Parsed
/// header values share the connection's read buffer (16 KiB in hyper); kept
/// as they are, they would keep that buffer alive for the whole session.
/// The extensions are kept (such as axum's `ConnectInfo`), except the
/// connection's upgrade handle.
pub(crate) fn detach_parts(parts: &http::request::Parts) -> http::request::Parts {
    let mut req = http::Request::new(());
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = http::Uri::try_from(parts.uri.to_string()).unwrap_or_default();
    *req.version_mut() = parts.version;
    let headers = req.headers_mut();
    headers.reserve(parts.headers.len());
    for (name, value) in &parts.headers {
        let name = http::HeaderName::from_bytes(name.as_str().as_bytes());
        let value = http::HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    let mut extensions = parts.extensions.clone();
    extensions.remove::<hyper::upgrade::OnUpgrade>();
    *req.extensions_mut() = extensions;
    req.into_parts().0
}

pub(super) fn grace(cfg: &EngineIoConfig) -> Duration {
    cfg.ping_timeout.min(Duration::from_secs(5))
}
