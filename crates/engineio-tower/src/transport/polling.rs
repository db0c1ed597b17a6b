use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{header, HeaderValue, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use socketio_protocol::{
    engine::{decode_payload, encode_payload, v3, DecodeError, Frame, Packet, PayloadDecoder},
    Str,
};

use crate::{
    engine::{detach_parts, Engine},
    error::{self, HttpError},
    handler,
    socket::Outbound,
    socket::{lock, Receiver, UpgradeState, Wire},
    trace, BoxError, CloseReason, EngineIoHandler, Message, Socket, TransportType,
};

/// How long a poll made during an upgrade may wait for the upgrade to finish.
const UPGRADE_CHECK: std::time::Duration = std::time::Duration::from_millis(100);

const TEXT: &str = "text/plain; charset=UTF-8";
const BINARY: &str = "application/octet-stream";

/// Answers a polling handshake with the `open` packet.
pub(crate) fn handshake<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    parts: http::request::Parts,
    wire: Wire,
) -> Response<Full<Bytes>> {
    let socket = engine.open_session(TransportType::Polling, detach_parts(&parts), wire);
    let open = engine.open_packet(&socket);
    handler::open(&engine.handler, &socket);
    let mut res = if wire.v3 {
        payload_response(wire, &[Frame::Text(open.into())])
    } else {
        error::response(StatusCode::OK, TEXT, Bytes::from(open))
    };
    if let Some(cookie) = engine
        .config
        .cookie
        .as_ref()
        .and_then(|c| c.header_value(socket.sid()))
    {
        res.headers_mut().append(header::SET_COOKIE, cookie);
    }
    res
}

/// Holds the session's receiver during a GET and hands it back when the GET
/// ends, even when the client goes away and the request future is dropped.
struct RxGuard<'a, D> {
    socket: &'a Socket<D>,
    rx: Option<Receiver>,
    done: bool,
}

impl<D> Drop for RxGuard<'_, D> {
    fn drop(&mut self) {
        if let Some(rx) = self.rx.take() {
            *lock(&self.socket.session().rx) = Some(rx);
            self.socket.session().rx_returned.notify_one();
        }
        if !self.done {
            // Node closes the session when a pending poll is cut off.
            trace::debug!(sid = %self.socket.sid(), "engine.io: poll connection closed prematurely");
            self.socket.close_with(CloseReason::TransportError);
        }
    }
}

/// A long-polling GET: waits for frames, then sends all that are queued.
pub(crate) async fn poll<H: EngineIoHandler>(
    _engine: &Arc<Engine<H>>,
    socket: Socket<H::Data>,
) -> Response<Full<Bytes>> {
    let session = socket.session();
    let upgrading = session.upgrading.notified();
    if socket.upgrade_state() == UpgradeState::Upgrading {
        return poll_during_upgrade(&socket).await;
    }
    if socket.is_closed() && socket.close_reason() == CloseReason::TransportClose {
        return if socket.take_noop() {
            session.rx_returned.notify_one();
            payload_response(socket.wire(), &[Frame::Text(Str::from_static("6"))])
        } else {
            HttpError::UnknownSid.response(None)
        };
    }
    let Some(rx) = lock(&session.rx).take() else {
        trace::debug!(sid = %socket.sid(), "engine.io: overlapping polling GET");
        socket.close_with(CloseReason::TransportError);
        return error::empty(StatusCode::BAD_REQUEST);
    };
    let mut guard = RxGuard {
        socket: &socket,
        rx: Some(rx),
        done: false,
    };
    enum Woken {
        Frame(Outbound),
        Upgrading,
        Closed,
    }
    let mut frames = Vec::new();
    let mut n = 0;
    let woken = match guard.rx.as_mut() {
        _ if socket.is_closed() => Woken::Closed,
        None => Woken::Closed,
        Some(rx) => tokio::select! {
            biased;
            frame = socket.recv(rx) => Woken::Frame(frame),
            _ = upgrading => Woken::Upgrading,
            _ = socket.close_token().cancelled() => Woken::Closed,
        },
    };
    let closing = match woken {
        Woken::Frame(f) => {
            n += 1;
            f.for_each(|f| frames.push(f));
            socket.is_closed()
        }
        Woken::Upgrading => {
            guard.done = true;
            drop(guard);
            return poll_during_upgrade(&socket).await;
        }
        Woken::Closed => true,
    };
    if let Some(rx) = guard.rx.as_mut() {
        while let Some(f) = socket.try_recv(rx) {
            n += 1;
            f.for_each(|f| frames.push(f));
        }
    }
    socket.dequeued(n);
    guard.done = true;
    if closing {
        if socket.close_reason() == CloseReason::TransportClose {
            // A client that asked to close gets a noop, as in Node.
            frames.push(Frame::Text(Str::from_static("6")));
        } else if frames.is_empty() {
            // The server closed the session and says so.
            frames.push(Frame::Text(Str::from_static("1")));
            socket.set_close_sent();
        }
        // Otherwise, as in Node, what was queued before the close goes
        // alone (a Socket.IO DISCONNECT, say): the official client handles
        // a close packet before the other packets of its payload, so it
        // would report "transport close" before the server's DISCONNECT.
        // The close packet answers the next poll.
    }
    drop(guard);
    payload_response(socket.wire(), &frames)
}

/// Answers a poll during an upgrade as Node does, within 100 ms: with a noop,
/// or with 400 if the upgrade completed meanwhile (the client is then on
/// WebSocket and this poll is stale).
async fn poll_during_upgrade<D>(socket: &Socket<D>) -> Response<Full<Bytes>> {
    let deadline = tokio::time::Instant::now() + UPGRADE_CHECK;
    loop {
        let changed = socket.session().upgrading.notified();
        if socket.transport() != TransportType::Polling {
            return HttpError::BadRequest.response(None);
        }
        if socket.upgrade_state() != UpgradeState::Upgrading {
            break;
        }
        if tokio::time::timeout_at(deadline, changed).await.is_err() {
            break;
        }
    }
    payload_response(socket.wire(), &[Frame::Text(Str::from_static("6"))])
}

fn payload_response(wire: Wire, frames: &[Frame]) -> Response<Full<Bytes>> {
    if wire.v3 {
        let mut buf = BytesMut::new();
        let kind = v3::encode_payload(frames, !wire.base64, &mut buf);
        let content_type = match kind {
            v3::PayloadKind::Text => TEXT,
            v3::PayloadKind::Binary => BINARY,
        };
        return error::response(StatusCode::OK, content_type, buf.freeze());
    }
    let mut buf = BytesMut::with_capacity(socketio_protocol::engine::encoded_payload_len(frames));
    encode_payload(frames, &mut buf);
    error::response(StatusCode::OK, TEXT, buf.freeze())
}

/// The packets of a POST body, in the session's framing.
enum Packets {
    V4(PayloadDecoder),
    V3Text(v3::TextPayloadDecoder),
    V3Binary(v3::BinaryPayloadDecoder),
}

impl Iterator for Packets {
    type Item = Result<Packet, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Packets::V4(p) => p.next(),
            Packets::V3Text(p) => p.next(),
            Packets::V3Binary(p) => p.next(),
        }
    }
}

/// A polling POST: decodes the packets of the body and handles them in order.
pub(crate) async fn post<H, B>(
    engine: &Arc<Engine<H>>,
    socket: Socket<H::Data>,
    parts: &http::request::Parts,
    body: B,
) -> Response<Full<Bytes>>
where
    H: EngineIoHandler,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let session = socket.session();
    if session
        .posting
        .swap(true, std::sync::atomic::Ordering::AcqRel)
    {
        trace::debug!(sid = %socket.sid(), "engine.io: overlapping polling POST");
        socket.close_with(CloseReason::TransportError);
        return error::empty(StatusCode::BAD_REQUEST);
    }
    struct Posting<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Posting<'_> {
        fn drop(&mut self) {
            self.0.store(false, std::sync::atomic::Ordering::Release);
        }
    }
    let _posting = Posting(&session.posting);

    let max = engine.config.max_payload;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        trace::warn!(sid = %socket.sid(), ?declared, max, "engine.io: POST body over max_payload");
        socket.close_with(CloseReason::TransportError);
        return error::empty(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let wire = socket.wire();
    let binary_body =
        parts.headers.get(header::CONTENT_TYPE) == Some(&HeaderValue::from_static(BINARY));
    if binary_body && !wire.v3 {
        trace::debug!(sid = %socket.sid(), "engine.io: binary POST body in protocol v4");
        socket.close_with(CloseReason::TransportError);
        return HttpError::BadRequest.response(None);
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                trace::warn!(sid = %socket.sid(), max, "engine.io: POST body over max_payload");
                socket.close_with(CloseReason::TransportError);
                return error::empty(StatusCode::PAYLOAD_TOO_LARGE);
            }
            trace::debug!(sid = %socket.sid(), error = %e, "engine.io: POST body read failed");
            socket.close_with(CloseReason::TransportError);
            return HttpError::BadRequest.response(None);
        }
    };
    let packets = if binary_body {
        Packets::V3Binary(v3::decode_binary_payload(bytes))
    } else {
        let Ok(text) = Str::try_from(bytes) else {
            trace::debug!(sid = %socket.sid(), "engine.io: POST body is not UTF-8");
            socket.close_with(CloseReason::ParseError);
            return HttpError::BadRequest.response(None);
        };
        if wire.v3 {
            Packets::V3Text(v3::decode_text_payload(text))
        } else {
            Packets::V4(decode_payload(text))
        }
    };
    for packet in packets {
        let packet = match packet {
            Ok(p) => p,
            Err(e) => {
                trace::debug!(sid = %socket.sid(), error = %e, "engine.io: bad packet in POST");
                socket.close_with(CloseReason::ParseError);
                return HttpError::BadRequest.response(None);
            }
        };
        if socket.is_closed() {
            break;
        }
        match packet {
            Packet::Message(text) => {
                socket.wait_for_room().await;
                handler::message(&engine.handler, &socket, Message::Text(text));
            }
            Packet::Binary(data) => {
                socket.wait_for_room().await;
                handler::message(&engine.handler, &socket, Message::Binary(data));
            }
            Packet::Pong(_) if !wire.v3 => session.pong.notify_one(),
            Packet::Ping(_) if wire.v3 => {
                // Protocol v3: the client pings, the server answers.
                socket.send_control("3");
                session.pong.notify_one();
            }
            Packet::Close => {
                socket.client_close();
                break;
            }
            Packet::Ping(_) | Packet::Pong(_) => {
                // Only the server pings in protocol v4, only the client in
                // v3; Node closes too.
                trace::warn!(sid = %socket.sid(), "engine.io: ping from the client (invalid heartbeat direction), closing");
                socket.close_with(CloseReason::TransportError);
                break;
            }
            Packet::Open(_) | Packet::Upgrade | Packet::Noop => {
                trace::debug!(sid = %socket.sid(), "engine.io: unexpected packet in POST, ignored");
            }
        }
    }
    error::response(StatusCode::OK, "text/html", Bytes::from_static(b"ok"))
}
