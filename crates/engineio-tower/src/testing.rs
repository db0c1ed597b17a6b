//! Not part of the API (hidden, and only with the `testing` feature): a
//! plain WebSocket echo on this crate's own frame reader and writer, so
//! that the framing can meet a standard WebSocket test suite (the
//! Autobahn|Testsuite, run against the examples package's `ws_echo`).
//! It may change or go at any time.

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use socketio_protocol::{engine::Frame, websocket::Incoming};

use crate::{
    error::HttpError,
    trace,
    transport::{
        websocket::{check_upgrade_request, switching_protocols},
        ws_conn::{Deflate, WsConn, WsError},
    },
    EngineIoConfig,
};

/// Answers `req` with 101 when it is a valid WebSocket upgrade (400 if
/// not), then, on a task of its own, echoes every text and binary message
/// of the connection as one frame of the same kind.
///
/// Pings are answered with pongs, a client's close with a close frame
/// carrying its code, and a frame that breaks a rule with a close frame
/// carrying RFC 6455's code, as for an Engine.IO session. Messages are
/// limited to `config`'s `max_payload`; reads use its `ws_read_buffer_size`.
pub fn ws_echo<B>(req: Request<B>, config: &EngineIoConfig) -> Response<Full<Bytes>> {
    let (mut parts, _) = req.into_parts();
    if let Err(e) = check_upgrade_request(&parts) {
        return e.response(None);
    }
    let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
        return HttpError::BadRequest.response(None);
    };
    let read_size = config.ws_read_buffer_size;
    let max = usize::try_from(config.max_payload).unwrap_or(usize::MAX);
    let (deflate, extension) = Deflate::negotiate(&parts, config);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(io) => {
                echo(WsConn::with_deflate(
                    TokioIo::new(io),
                    read_size,
                    max,
                    deflate,
                ))
                .await
            }
            Err(e) => trace::debug!(error = %e, "ws_echo: upgrade failed"),
        }
    });
    let mut res = switching_protocols(&parts);
    if let Some(v) = extension.and_then(|e| http::HeaderValue::from_str(&e).ok()) {
        res.headers_mut()
            .insert(http::header::SEC_WEBSOCKET_EXTENSIONS, v);
    }
    res
}

async fn echo(mut ws: WsConn) {
    let close = loop {
        let sent = match ws.next().await {
            Some(Ok(Incoming::Text(text))) => ws.send(&Frame::Text(text)).await,
            Some(Ok(Incoming::Binary(data))) => ws.send(&Frame::Binary(data)).await,
            Some(Ok(Incoming::Ping(payload))) => ws.pong(&payload).await,
            Some(Ok(Incoming::Pong)) => Ok(()),
            Some(Ok(Incoming::Close(code))) => break code,
            Some(Err(WsError::Frame(e))) => {
                trace::debug!(error = %e, "ws_echo: bad frame");
                break Some(e.close_code());
            }
            Some(Err(WsError::Io(_))) | None => return,
        };
        if sent.is_err() {
            return;
        }
    };
    ws.close(close).await;
}
