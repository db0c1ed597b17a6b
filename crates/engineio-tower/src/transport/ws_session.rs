//! A WebSocket session's life once it is open (directly or by upgrade):
//! one task that reads, writes the queue in batches and, for WebSocket-only
//! sessions, runs the heartbeat, until the session ends.

use std::{
    future::{poll_fn, Future},
    pin::Pin,
    sync::Arc,
    task::Poll,
    time::Duration,
};

use bytes::{BufMut, BytesMut};
use socketio_protocol::{
    engine::{v3, Frame, Packet},
    websocket::{FrameError, Incoming},
    Str,
};

use crate::{
    engine::{Engine, Heartbeat},
    handler,
    socket::{Outbound, Receiver, Wire},
    trace,
    transport::{
        drains,
        packet::on_packet,
        ws_conn::{put_frame, write_out, WsConn, WsError, WRITE_BUFFER},
        DRAIN_GRACE, WRITE_BATCH,
    },
    CloseReason, EngineIoHandler, Message, Socket,
};

/// Reads and writes the WebSocket until the session ends; runs the
/// heartbeat too when given one (WebSocket-only sessions).
///
/// The task is woken for each queued frame, and a broadcast wakes every
/// socket's task: a pass polls only what can be ready. Reading is polled
/// only after the connection reported data (`ws_conn::ReadGate`), the heartbeat
/// timer only once it has fired, the session's closing only as a flag;
/// each of them was registered once to wake this task.
pub(super) async fn run<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    socket: &Socket<H::Data>,
    mut ws: WsConn,
    mut rx: Receiver,
    mut heartbeat: Option<Heartbeat>,
) {
    let gate = ws.gate();
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
    // The status code of our close frame, when the client broke a rule or closed.
    let mut close_code = None;
    // Whether a write was cut off in the middle of a frame: then no close
    // frame can follow (it would land inside the payload).
    let mut cut = false;
    loop {
        enum Event {
            Read(Option<Result<Incoming, WsError>>),
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
            m = poll_fn(|cx| if gate.is_ready() { ws.poll_next(cx) } else { Poll::Pending }), if !paused => Event::Read(m),
            // Woken when the queue drains or a hold on reading is released.
            () = socket.wait_for_room(), if paused => Event::Resumed,
            () = poll_fn(|cx| if timer.is_elapsed() { timer.as_mut().poll(cx) } else { Poll::Pending }), if heartbeat.is_some() => Event::Tick,
        };
        match event {
            Event::Resumed => {}
            Event::Tick => {
                if !tick(engine, socket, heartbeat.as_mut(), timer.as_mut()).await {
                    break;
                }
            }
            Event::Closed => break,
            Event::Write(frame) => {
                // A peer that does not read blocks the write: meanwhile the
                // heartbeat still runs; a close for a ping timeout or a slow
                // consumer ends the write where it is, and one by the server
                // lets it finish within the drain's grace.
                let written = write_racing(
                    engine,
                    socket,
                    (&mut ws, &mut buf, &mut rx, frame),
                    heartbeat.as_mut(),
                    timer.as_mut(),
                )
                .await;
                match written {
                    Some(Ok(())) => {}
                    Some(Err(e)) => {
                        trace::debug!(sid = %socket.sid(), error = %e, "engine.io: websocket write failed");
                        socket.close_with(CloseReason::TransportError);
                        break;
                    }
                    None => {
                        trace::debug!(sid = %socket.sid(), "engine.io: session closed during a write");
                        cut = true;
                        break;
                    }
                }
                if socket.is_closed() {
                    break;
                }
            }
            Event::Read(Some(Ok(Incoming::Ping(payload)))) => {
                if ws.pong(&payload).await.is_err() {
                    socket.close_with(CloseReason::TransportError);
                    break;
                }
            }
            Event::Read(msg) => {
                socket.receiver_busy(&mut rx);
                if let Err((reason, code)) = on_read(engine, socket, msg, heartbeat.as_mut()) {
                    close_code = code;
                    socket.close_with(reason);
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
    if cut {
        // No close frame can follow a frame cut off: the connection is
        // dropped as it is.
        return;
    }
    let reason = socket.close_reason();
    if drains(reason) {
        // What the server queued before closing still goes out.
        let drain = async {
            while let Some(out) = socket.try_recv(&mut rx) {
                write_batch(&mut ws, &mut buf, &mut rx, socket, out).await?;
            }
            Ok::<_, std::io::Error>(())
        };
        // Cut at the grace, possibly inside a frame: `close` then writes no
        // close frame into its payload and only shuts the connection down.
        let _ = tokio::time::timeout(DRAIN_GRACE, drain).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(close_code)).await;
}

/// Writes queued frames (`write_batch`); one that waits (a peer that does
/// not read) is driven while watching the session's close and the
/// heartbeat.
async fn write_racing<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    socket: &Socket<H::Data>,
    (ws, buf, rx, first): (&mut WsConn, &mut Vec<u8>, &mut Receiver, Outbound),
    mut heartbeat: Option<&mut Heartbeat>,
    mut timer: Pin<&mut tokio::time::Sleep>,
) -> Option<std::io::Result<()>> {
    // Made here, not passed in: an async fn's argument takes its room in
    // the future's state twice, and so would a future pinned in `run` next
    // to this one's.
    let write = write_batch(ws, buf, rx, socket, first);
    tokio::pin!(write);
    // Most writes complete at once: no race to set up for them.
    if let Poll::Ready(res) = poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await {
        return Some(res);
    }
    loop {
        let step = poll_fn(|cx| {
            if let Poll::Ready(res) = write.as_mut().poll(cx) {
                return Poll::Ready(Step::Written(res));
            }
            if socket.is_closed() {
                return Poll::Ready(Step::Closed);
            }
            // Polled each time (not only once elapsed): this registers the
            // timer again after `Tick` moved it.
            if heartbeat.is_some() && timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Step::Tick);
            }
            Poll::Pending
        })
        .await;
        match step {
            Step::Written(res) => return Some(res),
            Step::Closed if !drains(socket.close_reason()) => return None,
            // A close by the server lets what it queued go out, within the
            // drain's grace (boxed: a rare path).
            Step::Closed => {
                return Box::pin(tokio::time::timeout(DRAIN_GRACE, &mut write))
                    .await
                    .ok()
            }
            Step::Tick => {
                if let Some(hb) = heartbeat.as_deref_mut() {
                    // A ping timeout closes the session: the next step says so.
                    hb.on_timer(&engine.config, socket);
                    timer.as_mut().reset(hb.next_wake());
                }
            }
        }
    }
}

/// What ended a wait during a write.
enum Step {
    Written(std::io::Result<()>),
    Closed,
    Tick,
}

/// The heartbeat's timer fired: runs it and moves the timer; false once the
/// session is closed (ping timeout).
async fn tick<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    socket: &Socket<H::Data>,
    heartbeat: Option<&mut Heartbeat>,
    mut timer: Pin<&mut tokio::time::Sleep>,
) -> bool {
    let Some(hb) = heartbeat else {
        return true;
    };
    if !hb.on_timer(&engine.config, socket) {
        return false;
    }
    timer.as_mut().reset(hb.next_wake());
    register(timer).await;
    true
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

/// Writes queued frames straight to the connection, up to [`WRITE_BATCH`]
/// items per flush, each frame its own WebSocket message.
///
/// A server frame is a header and the payload (`ws_conn::put_frame`).
/// Control frames (pongs, the close) are written by `run` between reads,
/// never in the middle of a batch.
async fn write_batch<D>(
    ws: &mut WsConn,
    buf: &mut Vec<u8>,
    rx: &mut Receiver,
    socket: &Socket<D>,
    first: Outbound,
) -> std::io::Result<()> {
    let wire = socket.wire();
    let mut n = 1;
    let mut res = put(ws, buf, first, wire).await;
    while res.is_ok() && n < WRITE_BATCH && buf.len() < WRITE_BUFFER {
        match socket.try_recv(rx) {
            Some(out) => {
                n += 1;
                res = put(ws, buf, out, wire).await;
            }
            None => break,
        }
    }
    socket.dequeued(n);
    res?;
    write_out(&mut ws.io, buf).await
}

/// Frames one queue item into `buf` (see `put_frame`).
async fn put(ws: &mut WsConn, buf: &mut Vec<u8>, out: Outbound, wire: Wire) -> std::io::Result<()> {
    let (frames, compress) = match out {
        Outbound::Frame(f) => return put_one(ws, buf, &f, wire, true).await,
        Outbound::Frames(frames) => (frames, true),
        Outbound::Uncompressed(frames) => (frames, false),
    };
    for f in &frames {
        put_one(ws, buf, f, wire, compress).await?;
    }
    Ok(())
}

async fn put_one(
    ws: &mut WsConn,
    buf: &mut Vec<u8>,
    f: &Frame,
    wire: Wire,
    compress: bool,
) -> std::io::Result<()> {
    let (io, deflate) = (&mut ws.io, &mut ws.deflate);
    match f {
        Frame::Binary(b) if wire.v3 => {
            put_frame(io, deflate, buf, &v3_binary(b, wire.base64), compress).await
        }
        _ => put_frame(io, deflate, buf, f, compress).await,
    }
}

/// A binary message as protocol v3 sends it on a WebSocket: the type byte
/// `4` first, or `b4` and base64 text to a client that takes no binary.
#[cold]
fn v3_binary(data: &[u8], base64: bool) -> Frame {
    let mut out = BytesMut::with_capacity(data.len() + 2);
    if base64 {
        v3::put_base64_message(&mut out, data);
        // Base64 is ASCII.
        return Frame::Text(Str::try_from(out.freeze()).unwrap_or_default());
    }
    out.put_u8(v3::BINARY_MESSAGE_TYPE);
    out.put_slice(data);
    Frame::Binary(out.freeze())
}

/// Handles one read from the WebSocket; `Err` carries the reason to close
/// the session and the status code of the close frame, if any.
fn on_read<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    socket: &Socket<H::Data>,
    msg: Option<Result<Incoming, WsError>>,
    heartbeat: Option<&mut Heartbeat>,
) -> Result<(), (CloseReason, Option<u16>)> {
    let msg = match msg {
        None => return Err((CloseReason::TransportClose, None)),
        Some(Err(WsError::Frame(e @ FrameError::TooLarge { .. }))) => {
            trace::warn!(sid = %socket.sid(), error = %e, "engine.io: websocket message over max_payload");
            return Err((CloseReason::TransportError, Some(e.close_code())));
        }
        Some(Err(WsError::Frame(e))) => {
            trace::debug!(sid = %socket.sid(), error = %e, "engine.io: websocket protocol error");
            return Err((CloseReason::TransportError, Some(e.close_code())));
        }
        Some(Err(WsError::Io(e))) => {
            trace::debug!(sid = %socket.sid(), error = %e, "engine.io: websocket read failed");
            return Err((CloseReason::TransportError, None));
        }
        Some(Ok(m)) => m,
    };
    let v3 = socket.wire().v3;
    let packet = match msg {
        Incoming::Text(text) if v3 => v3::decode_text_packet(text),
        Incoming::Text(text) => Packet::decode_text(text),
        Incoming::Binary(b) if v3 => v3::decode_binary_packet(b),
        Incoming::Binary(b) => {
            handler::message(&engine.handler, socket, Message::Binary(b));
            return Ok(());
        }
        // The client's close, answered with its own code (RFC 6455 §5.5.1).
        Incoming::Close(code) => return Err((CloseReason::TransportClose, code)),
        Incoming::Ping(_) | Incoming::Pong => return Ok(()),
    };
    on_packet(engine, socket, packet, heartbeat).map_err(|reason| (reason, None))
}
