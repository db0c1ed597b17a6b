use std::{
    future::{poll_fn, Future},
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll, Wake, Waker},
    time::Duration,
};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use futures_util::{task::AtomicWaker, SinkExt, StreamExt};
use http::{header, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use socketio_protocol::{
    engine::{Frame, Packet},
    Str,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_tungstenite::{
    tungstenite::{
        self,
        protocol::{Role, WebSocketConfig},
    },
    WebSocketStream,
};

use crate::{
    engine::{self, detach_parts, Engine, Heartbeat},
    error::HttpError,
    socket::{lock, Outbound, Receiver, UpgradeState},
    trace, CloseReason, EngineIoHandler, Message, Socket, TransportType,
};

type WsIo = Gated<TokioIo<hyper::upgrade::Upgraded>>;
type Ws = WebSocketStream<WsIo>;

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
) -> Response<Full<Bytes>> {
    let fail = |socket: &Option<Socket<H::Data>>| {
        if let Some(s) = socket {
            s.set_upgrade_state(UpgradeState::None);
        }
    };
    if let Err(e) = check_upgrade_request(parts) {
        fail(&upgrading);
        return e.response(None);
    }
    let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
        trace::warn!("engine.io: websocket request without an upgradable connection (HTTP/2 or a test client?)");
        fail(&upgrading);
        return HttpError::BadRequest.response(None);
    };
    let parts_for_session = upgrading.is_none().then(|| detach_parts(parts));

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
        let config = WebSocketConfig::default()
            .read_buffer_size(engine.config.ws_read_buffer_size)
            .max_message_size(Some(max))
            .max_frame_size(Some(max));
        let ws = WebSocketStream::from_raw_socket(Gated::new(io), Role::Server, Some(config)).await;
        match (upgrading, parts_for_session) {
            (Some(socket), _) => upgrade(&engine, socket, ws).await,
            (None, Some(parts)) => direct(&engine, parts, ws).await,
            (None, None) => {}
        }
    });

    switching_protocols(parts)
}

/// Accepts a WebSocket and closes it at once (a second WebSocket for a session).
pub(crate) fn accept_and_close(parts: &mut http::request::Parts) -> Response<Full<Bytes>> {
    let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
        return HttpError::BadRequest.response(None);
    };
    tokio::spawn(async move {
        if let Ok(io) = on_upgrade.await {
            let mut ws =
                WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, None).await;
            let _ = ws.close(None).await;
        }
    });
    switching_protocols(parts)
}

fn switching_protocols(parts: &http::request::Parts) -> Response<Full<Bytes>> {
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
    mut ws: Ws,
) {
    let socket = engine.open_session(TransportType::Websocket, parts);
    let text = engine.open_packet(&socket);
    if let Err(e) = ws.send(tungstenite::Message::text(text)).await {
        trace::debug!(error = %e, "engine.io: websocket closed during handshake");
        socket.close_with(CloseReason::TransportError);
        engine::finish(engine, &socket).await;
        return;
    }
    engine.handler.on_open(&socket);
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
        Some(Heartbeat::new(&engine.config)),
    )
    .await;
    engine::finish(engine, &socket).await;
}

/// The upgrade of a polling session: `2probe` → `3probe`, then `5`, within `upgrade_timeout`.
async fn upgrade<H: EngineIoHandler>(engine: &Arc<Engine<H>>, socket: Socket<H::Data>, mut ws: Ws) {
    let deadline = tokio::time::Instant::now() + engine.config.upgrade_timeout;
    let mut probed = false;
    let outcome = loop {
        let next = tokio::select! {
            next = tokio::time::timeout_at(deadline, ws.next()) => next,
            _ = socket.close_token().cancelled() => break Err("session closed"),
        };
        let text = match next {
            Err(_) => break Err("upgrade timeout"),
            Ok(None) | Ok(Some(Err(_))) => break Err("websocket closed"),
            Ok(Some(Ok(tungstenite::Message::Text(t)))) => t,
            Ok(Some(Ok(tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_)))) => continue,
            Ok(Some(Ok(_))) => break Err("unexpected frame"),
        };
        match text.as_str() {
            "2probe" if !probed => {
                probed = true;
                if ws.send(tungstenite::Message::text("3probe")).await.is_err() {
                    break Err("websocket closed");
                }
                socket.set_upgrade_state(UpgradeState::Upgrading);
                socket.session().upgrading.notify_waiters();
            }
            "5" if probed => break Ok(()),
            _ => break Err("unexpected packet"),
        }
    };
    if let Err(why) = outcome {
        trace::debug!(sid = %socket.sid(), why, "engine.io: upgrade failed");
        if !socket.is_closed() {
            socket.set_upgrade_state(UpgradeState::None);
            socket.session().upgrading.notify_waiters();
        }
        let _ = ws.close(None).await;
        return;
    }
    // Wait for a pending GET (released with a noop) to hand the queue back.
    let rx = loop {
        let returned = socket.session().rx_returned.notified();
        if let Some(rx) = lock(&socket.session().rx).take() {
            break rx;
        }
        tokio::select! {
            _ = returned => {}
            _ = socket.close_token().cancelled() => {
                let _ = ws.close(None).await;
                return;
            }
        }
    };
    socket.set_transport(TransportType::Websocket);
    socket.set_upgrade_state(UpgradeState::Upgraded);
    socket.session().upgrading.notify_waiters();
    trace::debug!(sid = %socket.sid(), "engine.io: upgraded to websocket");
    // The session's heartbeat task, started on polling, goes on.
    run(engine, &socket, ws, rx, None).await;
}

/// Bytes of frames gathered for one write (a frame larger than this is
/// written on its own).
const WRITE_BUFFER: usize = 64 * 1024;

/// Most frames written before one flush, so a long queue is written in few syscalls
/// yet reading is not starved.
const WRITE_BATCH: usize = 64;

/// Reads and writes the WebSocket until the session ends; runs the
/// heartbeat too when given one (WebSocket-only sessions).
///
/// The task is woken for each queued frame, and a broadcast wakes every
/// socket's task: a pass polls only what can be ready. Reading is polled
/// only after the connection reported data ([`ReadGate`]), the heartbeat
/// timer only once it has fired, the session's closing only as a flag;
/// each of them was registered once to wake this task.
async fn run<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    socket: &Socket<H::Data>,
    mut ws: Ws,
    mut rx: Receiver,
    mut heartbeat: Option<Heartbeat>,
) {
    let gate = ws.get_ref().gate.clone();
    // Polled once, so that `close_with` wakes this task; afterwards the
    // closed flag is what each pass checks (the token takes a lock to ask).
    let token = socket.close_token().clone();
    let mut cancelled = std::pin::pin!(token.cancelled());
    register(cancelled.as_mut()).await;
    // One timer, moved as the heartbeat's deadline moves, rather than a new one per pass.
    let far = tokio::time::Instant::now() + Duration::from_secs(86_400 * 365);
    let mut timer = std::pin::pin!(tokio::time::sleep_until(
        heartbeat.as_ref().map_or(far, Heartbeat::next_wake)
    ));
    if heartbeat.is_some() {
        register(timer.as_mut()).await;
    }
    let mut buf = Vec::new();
    loop {
        enum Event {
            Read(Option<Result<tungstenite::Message, tungstenite::Error>>),
            Write(Outbound),
            Resumed,
            Tick,
            Closed,
        }
        let paused = socket.is_reading_paused();
        let event = tokio::select! {
            biased;
            () = poll_fn(|_| if socket.is_closed() { Poll::Ready(()) } else { Poll::Pending }) => Event::Closed,
            f = socket.recv(&mut rx) => Event::Write(f),
            m = poll_fn(|cx| if gate.is_ready() { ws.poll_next_unpin(cx) } else { Poll::Pending }), if !paused => Event::Read(m),
            // Woken when the queue drains or a hold on reading is released.
            () = socket.wait_until(|| !socket.is_reading_paused() || socket.is_closed()), if paused => Event::Resumed,
            () = poll_fn(|cx| if timer.is_elapsed() { timer.as_mut().poll(cx) } else { Poll::Pending }), if heartbeat.is_some() => Event::Tick,
        };
        match event {
            Event::Resumed => {}
            Event::Tick => {
                if let Some(hb) = heartbeat.as_mut() {
                    if !hb.on_timer(&engine.config, socket) {
                        break;
                    }
                    timer.as_mut().reset(hb.next_wake());
                    register(timer.as_mut()).await;
                }
            }
            Event::Closed => break,
            Event::Write(frame) => {
                if let Err(e) = write_batch(&mut ws, &mut buf, &mut rx, socket, frame).await {
                    trace::debug!(sid = %socket.sid(), error = %e, "engine.io: websocket write failed");
                    socket.close_with(CloseReason::TransportError);
                    break;
                }
            }
            Event::Read(msg) => {
                socket.receiver_busy(&mut rx);
                // tungstenite queued its pong: out before any frame of ours.
                let pinged = matches!(msg, Some(Ok(tungstenite::Message::Ping(_))));
                if let Err(reason) = on_read(engine, socket, msg, heartbeat.as_mut()) {
                    socket.close_with(reason);
                    break;
                }
                if pinged && ws.flush().await.is_err() {
                    socket.close_with(CloseReason::TransportError);
                    break;
                }
                if let Some(hb) = &heartbeat {
                    if timer.deadline() != hb.next_wake() {
                        timer.as_mut().reset(hb.next_wake());
                        register(timer.as_mut()).await;
                    }
                }
            }
        }
    }
    let reason = socket.close_reason();
    if matches!(
        reason,
        CloseReason::ForcedClose | CloseReason::ServerShuttingDown
    ) {
        // What the server queued before closing still goes out.
        let drain = async {
            while let Some(out) = socket.try_recv(&mut rx) {
                write_batch(&mut ws, &mut buf, &mut rx, socket, out).await?;
            }
            Ok::<_, std::io::Error>(())
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
}

/// Polls `fut` once, for it to register this task's waker; what it returns
/// is seen on a later pass.
async fn register<F: Future>(fut: Pin<&mut F>) {
    let mut fut = Some(fut);
    poll_fn(|cx| {
        if let Some(f) = fut.take() {
            let _ = f.poll(cx);
        }
        Poll::Ready(())
    })
    .await;
}

/// The connection under tungstenite, which records whether reading it may
/// give anything: a read that found nothing clears the flag, and the
/// connection's readiness sets it again. Asking tungstenite for the next
/// message costs more than a flag (it zeroes its spare read buffer and
/// registers wakers each time), and a broadcast wakes each socket's task to
/// write, not to read.
pub(crate) struct Gated<S> {
    inner: S,
    gate: Arc<ReadGate>,
    waker: Waker,
}

pub(crate) struct ReadGate {
    ready: AtomicBool,
    waker: AtomicWaker,
}

impl ReadGate {
    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

impl Wake for ReadGate {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.store(true, Ordering::Release);
        self.waker.wake();
    }
}

impl<S> Gated<S> {
    fn new(inner: S) -> Self {
        let gate = Arc::new(ReadGate {
            ready: AtomicBool::new(true),
            waker: AtomicWaker::new(),
        });
        Gated {
            inner,
            waker: Waker::from(gate.clone()),
            gate,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Gated<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        this.gate.waker.register(cx.waker());
        // Cleared before reading: readiness that comes during the read sets it again.
        this.gate.ready.store(false, Ordering::SeqCst);
        let res = Pin::new(&mut this.inner).poll_read(&mut Context::from_waker(&this.waker), buf);
        if res.is_ready() {
            this.gate.ready.store(true, Ordering::Release);
        }
        res
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Gated<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Writes queued frames straight to the connection, up to [`WRITE_BATCH`]
/// items per flush, each frame its own WebSocket message.
///
/// tungstenite reads; writing is ours: a server frame is a header and the
/// payload, and going through tungstenite's sink for each frame of a
/// broadcast (waker registrations, a conversion into its frame type) cost
/// more than framing it here. tungstenite writes only its own control
/// replies, flushed before this runs again (see `on_read`).
async fn write_batch<D>(
    ws: &mut Ws,
    buf: &mut Vec<u8>,
    rx: &mut Receiver,
    socket: &Socket<D>,
    first: Outbound,
) -> std::io::Result<()> {
    let io = ws.get_mut();
    let mut n = 1;
    let mut res = put(io, buf, first).await;
    while res.is_ok() && n < WRITE_BATCH && buf.len() < WRITE_BUFFER {
        match socket.try_recv(rx) {
            Some(out) => {
                n += 1;
                res = put(io, buf, out).await;
            }
            None => break,
        }
    }
    socket.dequeued(n);
    res?;
    write_out(io, buf).await
}

/// Frames one queue item into `buf`; a large payload is written from where
/// it is rather than copied.
async fn put(io: &mut WsIo, buf: &mut Vec<u8>, out: Outbound) -> std::io::Result<()> {
    match out {
        Outbound::Frame(f) => put_frame(io, buf, &f).await,
        Outbound::Frames(frames) => {
            for f in &frames {
                put_frame(io, buf, f).await?;
            }
            Ok(())
        }
    }
}

async fn put_frame(io: &mut WsIo, buf: &mut Vec<u8>, frame: &Frame) -> std::io::Result<()> {
    let payload = frame_header(buf, frame);
    if payload.len() > COPY_LIMIT {
        write_out(io, buf).await?;
        io.write_all(payload).await
    } else {
        buf.extend_from_slice(payload);
        Ok(())
    }
}

/// Payloads up to this size are copied into the write buffer; larger ones
/// are written on their own.
const COPY_LIMIT: usize = 16 * 1024;

/// Writes and empties `buf`, keeping its allocation unless a burst grew it
/// past [`WRITE_BUFFER`].
async fn write_out(io: &mut WsIo, buf: &mut Vec<u8>) -> std::io::Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    let res = io.write_all(buf).await;
    buf.clear();
    if buf.capacity() > WRITE_BUFFER {
        buf.shrink_to(WRITE_BUFFER);
    }
    res
}

/// Appends the header of an unmasked, unfragmented server frame carrying
/// `frame` (RFC 6455 §5.2) and returns the payload that follows it.
fn frame_header<'a>(buf: &mut Vec<u8>, frame: &'a Frame) -> &'a [u8] {
    const FIN: u8 = 0x80;
    let (opcode, payload): (u8, &[u8]) = match frame {
        Frame::Text(s) => (0x1, s.as_bytes()),
        Frame::Binary(b) => (0x2, b),
    };
    buf.push(FIN | opcode);
    let len = payload.len();
    if len < 126 {
        buf.push(len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        buf.push(126);
        buf.extend_from_slice(&len.to_be_bytes());
    } else {
        buf.push(127);
        buf.extend_from_slice(&(len as u64).to_be_bytes());
    }
    payload
}

/// Handles one read from the WebSocket; `Err` carries the reason to close.
fn on_read<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    socket: &Socket<H::Data>,
    msg: Option<Result<tungstenite::Message, tungstenite::Error>>,
    heartbeat: Option<&mut Heartbeat>,
) -> Result<(), CloseReason> {
    let msg = match msg {
        None => return Err(CloseReason::TransportClose),
        Some(Err(tungstenite::Error::Capacity(e))) => {
            trace::warn!(sid = %socket.sid(), error = %e, "engine.io: websocket message over max_payload");
            return Err(CloseReason::TransportError);
        }
        Some(Err(e)) => {
            trace::debug!(sid = %socket.sid(), error = %e, "engine.io: websocket error");
            return Err(CloseReason::TransportError);
        }
        Some(Ok(m)) => m,
    };
    match msg {
        tungstenite::Message::Text(t) => {
            let text = Str::try_from(Bytes::from(t)).map_err(|_| CloseReason::ParseError)?;
            match Packet::decode_text(text) {
                Ok(Packet::Message(m)) => engine.handler.on_message(socket, Message::Text(m)),
                Ok(Packet::Pong(_)) => match heartbeat {
                    Some(hb) => hb.on_pong(&engine.config, socket),
                    None => socket.session().pong.notify_one(),
                },
                Ok(Packet::Close) => return Err(CloseReason::TransportClose),
                Ok(_) => {
                    trace::debug!(sid = %socket.sid(), "engine.io: unexpected packet on websocket, ignored");
                }
                Err(e) => {
                    trace::debug!(sid = %socket.sid(), error = %e, "engine.io: bad packet on websocket");
                    return Err(CloseReason::ParseError);
                }
            }
        }
        tungstenite::Message::Binary(b) => engine.handler.on_message(socket, Message::Binary(b)),
        tungstenite::Message::Close(_) => return Err(CloseReason::TransportClose),
        tungstenite::Message::Ping(_)
        | tungstenite::Message::Pong(_)
        | tungstenite::Message::Frame(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(frame: &Frame) -> Vec<u8> {
        let mut buf = Vec::new();
        let payload = frame_header(&mut buf, frame).len();
        assert_eq!(payload, frame_len(frame));
        buf
    }

    fn frame_len(frame: &Frame) -> usize {
        match frame {
            Frame::Text(s) => s.len(),
            Frame::Binary(b) => b.len(),
        }
    }

    #[test]
    fn text_frame_with_a_short_payload() {
        let f = Frame::Text(Str::from_static("42[\"a\"]"));
        assert_eq!(header(&f), [0x81, 0x07]);
    }

    #[test]
    fn binary_frame_with_a_16_bit_length() {
        let f = Frame::Binary(Bytes::from(vec![0u8; 126]));
        assert_eq!(header(&f), [0x82, 126, 0x00, 0x7e]);
        let f = Frame::Binary(Bytes::from(vec![0u8; 65_535]));
        assert_eq!(header(&f), [0x82, 126, 0xff, 0xff]);
    }

    #[test]
    fn binary_frame_with_a_64_bit_length() {
        let f = Frame::Binary(Bytes::from(vec![0u8; 65_536]));
        assert_eq!(header(&f), [0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
    }

    #[test]
    fn empty_text_frame() {
        assert_eq!(header(&Frame::Text(Str::from_static(""))), [0x81, 0x00]);
    }
}
