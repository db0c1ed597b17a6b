//! A WebTransport session from its QUIC connection to its open Engine.IO
//! session: the CONNECT request checked, the client's stream accepted, and
//! its first packet read (`0` opens a session, `0{"sid"}` upgrades a
//! polling one).

use std::sync::Arc;

use bytes::BytesMut;
use http::{HeaderName, HeaderValue, Method};
use socketio_protocol::{
    engine::{Frame, Sid},
    webtransport::{put_frame, FrameDecoder, FrameError},
    Str,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wtransport::{endpoint::IncomingSession, Connection, RecvStream, SendStream};

use crate::{
    engine::Engine,
    handler,
    metrics::Refusal,
    socket::{lock, UpgradeState, Wire},
    trace,
    transport::{upgrade, wt_session::run},
    webtransport::PeerAddr,
    CloseReason, EngineIoHandler, Socket, TransportType,
};

/// The two halves of the client's stream, the reader with its buffer.
pub(super) struct WtStream {
    pub(super) send: SendStream,
    recv: RecvStream,
    buf: BytesMut,
    decoder: FrameDecoder,
    /// Where frames are encoded before one write.
    pub(super) out: Vec<u8>,
}

/// Why a read ended.
pub(super) enum ReadError {
    /// The stream's bytes broke the framing or the size limit.
    Frame(FrameError),
    /// The stream or the connection failed.
    Io(std::io::Error),
}

/// Bytes asked for per read.
const READ_SIZE: usize = 4096;

impl WtStream {
    fn new(send: SendStream, recv: RecvStream, max_payload: usize) -> Self {
        WtStream {
            send,
            recv,
            buf: BytesMut::new(),
            decoder: FrameDecoder::new(max_payload),
            out: Vec::new(),
        }
    }

    /// The next frame; `Ok(None)` once the client finished the stream.
    /// Cancel-safe: bytes read stay in the buffer.
    pub(super) async fn next(&mut self) -> Result<Option<Frame>, ReadError> {
        loop {
            if let Some(frame) = self
                .decoder
                .decode(&mut self.buf)
                .map_err(ReadError::Frame)?
            {
                return Ok(Some(frame));
            }
            self.buf.reserve(READ_SIZE);
            if self
                .recv
                .read_buf(&mut self.buf)
                .await
                .map_err(ReadError::Io)?
                == 0
            {
                return Ok(None);
            }
        }
    }

    /// Writes one frame at once.
    pub(super) async fn send(&mut self, frame: &Frame) -> std::io::Result<()> {
        self.out.clear();
        put_frame(&mut self.out, frame);
        AsyncWriteExt::write_all(&mut self.send, &self.out).await
    }
}

/// Serves one incoming QUIC connection: refuses it (404, 403) or runs its
/// Engine.IO session to its end.
pub(crate) async fn serve<H: EngineIoHandler>(engine: Arc<Engine<H>>, incoming: IncomingSession) {
    // From the QUIC handshake to the first packet within `upgrade_timeout`
    // (Node counts it from the session, for the stream and that packet):
    // a peer that stalls anywhere before holds nothing longer.
    let deadline = tokio::time::Instant::now() + engine.config.upgrade_timeout;
    let request = match tokio::time::timeout_at(deadline, incoming).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            trace::debug!(error = %e, "engine.io: webtransport connection failed before its request");
            return;
        }
        Err(_) => {
            trace::debug!("engine.io: webtransport connection without a request in time");
            return;
        }
    };
    let path = request.path().split('?').next().unwrap_or_default();
    if !engine.matches(path) {
        trace::debug!(path, "engine.io: webtransport session for another path");
        let _ = tokio::time::timeout_at(deadline, request.not_found()).await;
        return;
    }
    let parts = request_parts(&request);
    if let Some(allow) = &engine.config.allow_request.0 {
        if let Err(message) = allow(&parts) {
            trace::debug!(%message, "engine.io: webtransport session refused");
            engine.metrics.handshake_refused(Refusal::Forbidden);
            let _ = tokio::time::timeout_at(deadline, request.forbidden()).await;
            return;
        }
    }
    let conn = match tokio::time::timeout_at(deadline, request.accept()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            trace::debug!(error = %e, "engine.io: webtransport session not established");
            return;
        }
        Err(_) => {
            trace::debug!("engine.io: webtransport session not established in time");
            return;
        }
    };
    let max = usize::try_from(engine.config.max_payload).unwrap_or(usize::MAX);
    let first = tokio::time::timeout_at(deadline, async {
        let (send, recv) = conn.accept_bi().await.ok()?;
        let mut stream = WtStream::new(send, recv, max);
        let frame = stream.next().await.ok()??;
        Some((stream, frame))
    })
    .await;
    let Ok(Some((stream, Frame::Text(first)))) = first else {
        trace::debug!("engine.io: no webtransport handshake");
        engine.metrics.handshake_refused(Refusal::BadUpgrade);
        conn.close(0u32.into(), b"");
        return;
    };
    match first.as_str() {
        "0" => direct(&engine, parts, conn, stream, deadline).await,
        text => match text.strip_prefix('0').and_then(upgrade_sid) {
            Some(sid) => upgrade_session(&engine, sid, conn, stream).await,
            None => {
                trace::debug!("engine.io: invalid webtransport handshake");
                engine.metrics.handshake_refused(Refusal::BadUpgrade);
                conn.close(0u32.into(), b"");
            }
        },
    }
}

/// The sid of `{"sid":"…"}`, the open packet's data of an upgrade.
fn upgrade_sid(json: &str) -> Option<Sid> {
    let data: serde_json::Value = serde_json::from_str(json).ok()?;
    data.get("sid")?.as_str()?.parse().ok()
}

/// The CONNECT request as the request parts a session keeps: the method,
/// `https://{authority}{path}`, the headers but the pseudo-headers, and the
/// client's address as [`PeerAddr`].
fn request_parts(request: &wtransport::endpoint::SessionRequest) -> http::request::Parts {
    let mut req = http::Request::new(());
    *req.method_mut() = Method::CONNECT;
    *req.version_mut() = http::Version::HTTP_3;
    let uri = format!("https://{}{}", request.authority(), request.path());
    *req.uri_mut() = http::Uri::try_from(uri).unwrap_or_default();
    let headers = req.headers_mut();
    for (name, value) in request.headers() {
        if name.starts_with(':') {
            continue;
        }
        let name = HeaderName::from_bytes(name.as_bytes());
        let value = HeaderValue::from_str(value);
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    req.extensions_mut()
        .insert(PeerAddr(request.remote_address()));
    req.into_parts().0
}

/// A new session on WebTransport: the `open` packet is the first frame.
async fn direct<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    parts: http::request::Parts,
    conn: Connection,
    mut stream: WtStream,
    deadline: tokio::time::Instant,
) {
    // Its heartbeat task, started here, ends the session (`engine::finish`).
    let socket = engine.open_session(TransportType::WebTransport, parts, Wire::default());
    let open = Frame::Text(Str::from(engine.open_packet(&socket)));
    // A peer that does not read its first packet holds nothing past the deadline.
    let sent = tokio::select! {
        sent = tokio::time::timeout_at(deadline, stream.send(&open)) => {
            sent.unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
        }
        _ = socket.close_token().cancelled() => Err(std::io::ErrorKind::Interrupted.into()),
    };
    if let Err(e) = sent {
        trace::debug!(error = %e, "engine.io: webtransport closed during handshake");
        socket.close_with(CloseReason::TransportError);
        conn.close(0u32.into(), b"");
        return;
    }
    handler::open(&engine.handler, &socket);
    let Some(rx) = lock(&socket.session().rx).take() else {
        socket.close_with(CloseReason::TransportError);
        conn.close(0u32.into(), b"");
        return;
    };
    run(engine, &socket, &conn, stream, rx).await;
}

/// The upgrade of polling session `sid`: `2probe` → `3probe`, then `5`,
/// within `upgrade_timeout`; as for WebSocket.
async fn upgrade_session<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    sid: Sid,
    conn: Connection,
    mut stream: WtStream,
) {
    let socket = engine.sessions.get(&sid).map(|s| s.clone());
    let Some(socket) = socket.filter(claim) else {
        // As Node: an unknown sid, or a session upgrading or upgraded already.
        trace::debug!(%sid, "engine.io: webtransport upgrade of an unknown or busy session");
        conn.close(0u32.into(), b"");
        return;
    };
    let deadline = tokio::time::Instant::now() + engine.config.upgrade_timeout;
    let mut probed = false;
    let outcome = loop {
        let next = tokio::select! {
            next = tokio::time::timeout_at(deadline, stream.next()) => next,
            _ = socket.close_token().cancelled() => break Err("session closed"),
        };
        let text = match next {
            Err(_) => break Err("upgrade timeout"),
            Ok(Ok(Some(Frame::Text(t)))) => t,
            Ok(Ok(Some(Frame::Binary(_)))) => break Err("unexpected frame"),
            Ok(Ok(None) | Err(_)) => break Err("webtransport closed"),
        };
        match text.as_str() {
            "2probe" if !probed => {
                probed = true;
                let probe = Frame::Text(Str::from_static("3probe"));
                let sent = tokio::select! {
                    sent = tokio::time::timeout_at(deadline, stream.send(&probe)) => matches!(sent, Ok(Ok(()))),
                    _ = socket.close_token().cancelled() => false,
                };
                if !sent {
                    break Err("webtransport closed");
                }
                upgrade::probed(&socket);
            }
            "5" if probed => break Ok(()),
            _ => break Err("unexpected packet"),
        }
    };
    if let Err(why) = outcome {
        upgrade::failed(&socket, why);
        conn.close(0u32.into(), b"");
        return;
    }
    let Some(rx) = upgrade::complete(engine, &socket, TransportType::WebTransport).await else {
        conn.close(0u32.into(), b"");
        return;
    };
    run(engine, &socket, &conn, stream, rx).await;
}

/// Marks a polling session as probing, if it can be upgraded now.
fn claim<D>(socket: &Socket<D>) -> bool {
    let mut state = lock(&socket.session().upgrade);
    // Protocol v3 has no WebTransport (and is not offered it).
    let free = socket.is_usable(TransportType::WebTransport)
        && !socket.wire().v3
        && socket.transport() == TransportType::Polling
        && *state == UpgradeState::None;
    if free {
        *state = UpgradeState::Probing;
    }
    free
}
