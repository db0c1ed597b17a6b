use std::sync::Arc;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use http::{header, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use socketio_protocol::{engine::Frame, websocket::Incoming, Str};
use tokio_tungstenite::tungstenite;

use crate::{
    engine::{self, detach_parts, Engine, Heartbeat},
    error::HttpError,
    handler,
    metrics::Refusal,
    socket::{lock, UpgradeState, Wire},
    trace,
    transport::{
        upgrade,
        ws_conn::{Deflate, WsConn, WsError},
        ws_session::run,
    },
    CloseReason, EngineIoHandler, Socket, TransportType,
};

/// Refuses a request that is not a valid WebSocket upgrade (RFC 6455 §4.2.1)
/// with 400, before any session exists.
pub(crate) fn check_upgrade_request(parts: &http::request::Parts) -> Result<(), HttpError> {
    let h = &parts.headers;
    let has_token = |name: header::HeaderName, token: &str| {
        h.get_all(name).iter().any(|v| {
            v.to_str()
                .map(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
                .unwrap_or(false)
        })
    };
    let key_ok = h
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|k| STANDARD.decode(k.as_bytes()).ok())
        .is_some_and(|k| k.len() == 16);
    let ok = parts.method == Method::GET
        && has_token(header::UPGRADE, "websocket")
        && has_token(header::CONNECTION, "upgrade")
        && h.get(header::SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) == Some(b"13")
        && key_ok;
    if ok {
        Ok(())
    } else {
        trace::debug!(uri = %parts.uri, "engine.io: invalid websocket upgrade request");
        Err(HttpError::BadRequest)
    }
}

/// Answers 101 and drives the WebSocket on its own task: a new session when
/// `upgrading` is `None`, else the upgrade of that polling session.
pub(crate) fn accept<H: EngineIoHandler>(
    engine: Arc<Engine<H>>,
    parts: &mut http::request::Parts,
    upgrading: Option<Socket<H::Data>>,
    wire: Wire,
) -> Response<Full<Bytes>> {
    let fail = |socket: &Option<Socket<H::Data>>| {
        if let Some(s) = socket {
            s.set_upgrade_state(UpgradeState::None);
        }
    };
    if let Err(e) = check_upgrade_request(parts) {
        if upgrading.is_none() {
            engine.metrics.handshake_refused(Refusal::BadUpgrade);
        }
        fail(&upgrading);
        return e.response(None);
    }
    let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
        trace::warn!("engine.io: websocket request without an upgradable connection (HTTP/2 or a test client?)");
        fail(&upgrading);
        return HttpError::BadRequest.response(None);
    };
    let parts_for_session = upgrading.is_none().then(|| detach_parts(parts));
    let (deflate, extension) = Deflate::negotiate(parts, &engine.config);

    tokio::spawn(async move {
        let io = match on_upgrade.await {
            Ok(io) => TokioIo::new(io),
            Err(e) => {
                trace::debug!(error = %e, "engine.io: websocket upgrade failed");
                fail(&upgrading);
                return;
            }
        };
        let max = usize::try_from(engine.config.max_payload).unwrap_or(usize::MAX);
        let ws = WsConn::with_deflate(io, engine.config.ws_read_buffer_size, max, deflate);
        match (upgrading, parts_for_session) {
            (Some(socket), _) => upgrade(&engine, socket, ws).await,
            (None, Some(parts)) => direct(&engine, parts, ws, wire).await,
            (None, None) => {}
        }
    });

    let mut res = switching_protocols(parts);
    if let Some(v) = extension.and_then(|e| HeaderValue::from_str(&e).ok()) {
        res.headers_mut()
            .insert(header::SEC_WEBSOCKET_EXTENSIONS, v);
    }
    res
}

/// Accepts a WebSocket and closes it at once (a second WebSocket for a session).
pub(crate) fn accept_and_close(parts: &mut http::request::Parts) -> Response<Full<Bytes>> {
    let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
        return HttpError::BadRequest.response(None);
    };
    tokio::spawn(async move {
        if let Ok(io) = on_upgrade.await {
            WsConn::new(TokioIo::new(io), 0, 0).close(None).await;
        }
    });
    switching_protocols(parts)
}

pub(crate) fn switching_protocols(parts: &http::request::Parts) -> Response<Full<Bytes>> {
    let accept_key = parts
        .headers
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| tungstenite::handshake::derive_accept_key(k.as_bytes()))
        .unwrap_or_default();
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept_key) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    res
}

/// A WebSocket-only session: the `open` packet is the first frame.
async fn direct<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    parts: http::request::Parts,
    mut ws: WsConn,
    wire: Wire,
) {
    let socket = engine.open_session(TransportType::Websocket, parts, wire);
    let text = engine.open_packet(&socket);
    if let Err(e) = ws.send(&Frame::Text(text.into())).await {
        trace::debug!(error = %e, "engine.io: websocket closed during handshake");
        socket.close_with(CloseReason::TransportError);
        engine::finish(engine, &socket).await;
        return;
    }
    handler::open(&engine.handler, &socket);
    let Some(rx) = lock(&socket.session().rx).take() else {
        socket.close_with(CloseReason::TransportError);
        engine::finish(engine, &socket).await;
        return;
    };
    run(
        engine,
        &socket,
        ws,
        rx,
        Some(Heartbeat::new(&engine.config, &socket)),
    )
    .await;
    engine::finish(engine, &socket).await;
}

/// The upgrade of a polling session: `2probe` → `3probe`, then `5`, within `upgrade_timeout`.
async fn upgrade<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    socket: Socket<H::Data>,
    mut ws: WsConn,
) {
    let deadline = tokio::time::Instant::now() + engine.config.upgrade_timeout;
    let mut probed = false;
    let mut close_code = None;
    let outcome = loop {
        let next = tokio::select! {
            next = tokio::time::timeout_at(deadline, ws.next()) => next,
            _ = socket.close_token().cancelled() => break Err("session closed"),
        };
        let text = match next {
            Err(_) => break Err("upgrade timeout"),
            Ok(Some(Err(WsError::Frame(e)))) => {
                close_code = Some(e.close_code());
                break Err("bad websocket frame");
            }
            Ok(None) | Ok(Some(Err(_))) => break Err("websocket closed"),
            Ok(Some(Ok(Incoming::Text(t)))) => t,
            Ok(Some(Ok(Incoming::Ping(payload)))) => {
                if ws.pong(&payload).await.is_err() {
                    break Err("websocket closed");
                }
                continue;
            }
            Ok(Some(Ok(Incoming::Pong))) => continue,
            Ok(Some(Ok(_))) => break Err("unexpected frame"),
        };
        match text.as_str() {
            "2probe" if !probed => {
                probed = true;
                if ws
                    .send(&Frame::Text(Str::from_static("3probe")))
                    .await
                    .is_err()
                {
                    break Err("websocket closed");
                }
                upgrade::probed(&socket);
            }
            "5" if probed => break Ok(()),
            _ => break Err("unexpected packet"),
        }
    };
    if let Err(why) = outcome {
        upgrade::failed(&socket, why);
        ws.close(close_code).await;
        return;
    }
    let Some(rx) = upgrade::complete(engine, &socket, TransportType::Websocket).await else {
        ws.close(None).await;
        return;
    };
    run(engine, &socket, ws, rx, None).await;
}
