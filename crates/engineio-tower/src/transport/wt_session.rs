//! A WebTransport session's life once it is open (directly or by upgrade):
//! one task that reads the client's stream and writes the queue in
//! batches, until the session ends. Its heartbeat is the session's
//! heartbeat task, as for polling.

use std::sync::Arc;

use futures_util::FutureExt;
use socketio_protocol::{
    engine::{Frame, Packet},
    webtransport::{put_frame, FrameError},
};
use tokio::io::AsyncWriteExt;
use wtransport::{error::ConnectionError, Connection};

use crate::{
    socket::{Outbound, Receiver},
    trace,
    transport::{
        drains,
        packet::on_packet,
        webtransport::{ReadError, WtStream},
        ws_conn::WRITE_BUFFER,
        DRAIN_GRACE, WRITE_BATCH,
    },
    CloseReason, EngineIoHandler, Socket,
};

use crate::engine::Engine;

/// Reads and writes the session's stream until the session ends, then
/// closes the connection.
pub(super) async fn run<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    socket: &Socket<H::Data>,
    conn: &Connection,
    mut stream: WtStream,
    mut rx: Receiver,
) {
    let token = socket.close_token().clone();
    // Whether a write was cut off in the middle of a frame: then nothing
    // can follow it on the stream (it would be read as that frame's rest).
    let mut cut = false;
    loop {
        enum Event {
            Read(Result<Option<Frame>, ReadError>),
            Write(Outbound),
            Resumed,
            Closed,
        }
        let paused = socket.is_reading_paused();
        let event = tokio::select! {
            biased;
            () = token.cancelled() => Event::Closed,
            out = socket.recv(&mut rx) => Event::Write(out),
            read = stream.next(), if !paused => Event::Read(read),
            // Woken when the queue drains or a hold on reading is released.
            () = socket.wait_for_room(), if paused => Event::Resumed,
        };
        match event {
            Event::Closed => break,
            Event::Resumed => {}
            Event::Write(first) => {
                let write = write_batch(&mut stream, &mut rx, socket, first);
                tokio::pin!(write);
                let written = tokio::select! {
                    res = &mut write => Some(res),
                    () = token.cancelled() => None,
                };
                // A peer that does not read held the write while the
                // session closed: a ping timeout or a slow consumer ends it
                // where it is; a close by the server lets it finish within
                // the drain's grace.
                let written = match written {
                    None if drains(socket.close_reason()) => {
                        tokio::time::timeout(DRAIN_GRACE, &mut write).await.ok()
                    }
                    other => other,
                };
                match written {
                    Some(Ok(())) => {}
                    Some(Err(e)) => {
                        trace::debug!(sid = %socket.sid(), error = %e, "engine.io: webtransport write failed");
                        socket.close_with(CloseReason::TransportError);
                        break;
                    }
                    None => {
                        trace::debug!(sid = %socket.sid(), "engine.io: session closed during a write");
                        cut = true;
                        break;
                    }
                }
            }
            Event::Read(read) => {
                socket.receiver_busy(&mut rx);
                if let Err(reason) = on_read(engine, socket, conn, read) {
                    socket.close_with(reason);
                    break;
                }
            }
        }
    }
    if !cut && drains(socket.close_reason()) {
        // What the server queued before closing still goes out.
        let drain = async {
            while let Some(out) = socket.try_recv(&mut rx) {
                write_batch(&mut stream, &mut rx, socket, out).await?;
            }
            // The client reads to the end before the connection closes:
            // a QUIC close drops what it has not acknowledged.
            stream.send.finish().await.map_err(std::io::Error::other)?;
            let _ = stream.send.stopped().await;
            Ok::<_, std::io::Error>(())
        };
        let _ = tokio::time::timeout(DRAIN_GRACE, drain).await;
    }
    conn.close(0u32.into(), b"");
}

/// Writes queued items in one write, up to [`WRITE_BATCH`] of them.
async fn write_batch<D>(
    stream: &mut WtStream,
    rx: &mut Receiver,
    socket: &Socket<D>,
    first: Outbound,
) -> std::io::Result<()> {
    let out = &mut stream.out;
    out.clear();
    first.for_each(|f| put_frame(out, &f));
    let mut n = 1;
    while n < WRITE_BATCH && out.len() < WRITE_BUFFER {
        match socket.try_recv(rx) {
            Some(item) => {
                n += 1;
                item.for_each(|f| put_frame(out, &f));
            }
            None => break,
        }
    }
    socket.dequeued(n);
    let written = AsyncWriteExt::write_all(&mut stream.send, &stream.out).await;
    // A large message leaves no large buffer behind it.
    if stream.out.capacity() > 2 * WRITE_BUFFER {
        stream.out.clear();
        stream.out.shrink_to(WRITE_BUFFER);
    }
    written
}

/// Handles one read; `Err` carries the reason to close the session.
fn on_read<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    socket: &Socket<H::Data>,
    conn: &Connection,
    read: Result<Option<Frame>, ReadError>,
) -> Result<(), CloseReason> {
    let packet = match read {
        Ok(Some(Frame::Text(text))) => Packet::decode_text(text),
        Ok(Some(Frame::Binary(b))) => Ok(Packet::Binary(b)),
        Ok(None) => return Err(CloseReason::TransportClose),
        Err(ReadError::Frame(e @ FrameError::TooLarge { .. })) => {
            trace::warn!(sid = %socket.sid(), error = %e, "engine.io: webtransport frame over max_payload");
            return Err(CloseReason::ParseError);
        }
        Err(ReadError::Frame(e)) => {
            trace::debug!(sid = %socket.sid(), error = %e, "engine.io: bad webtransport frame");
            return Err(CloseReason::ParseError);
        }
        Err(ReadError::Io(e)) => {
            return Err(match conn.closed().now_or_never() {
                // The client closed its session (its close capsule makes
                // the QUIC stack close the connection on this side).
                Some(ConnectionError::ApplicationClosed(_) | ConnectionError::LocallyClosed) => {
                    CloseReason::TransportClose
                }
                closed => {
                    let connection = closed.map(|c| c.to_string());
                    trace::debug!(sid = %socket.sid(), error = %e, ?connection, "engine.io: webtransport read failed");
                    CloseReason::TransportError
                }
            });
        }
    };
    on_packet(engine, socket, packet, None)
}
