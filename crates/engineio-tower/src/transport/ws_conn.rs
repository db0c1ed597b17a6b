//! The WebSocket connection of a session: the sans-IO frame codec of
//! `socketio_protocol::websocket` over the connection's bytes.
//!
//! Reading fills a buffer that is not zeroed first and hands whole
//! messages to the loop; writing is a header and the payload (RFC 6455
//! §5.2, a server does not mask), gathered into one buffer per batch.
//! Both run with the connection task's own context: no waker proxies and
//! no second task.
//!
//! A write cut short (its future dropped, as a shutdown's timeout does)
//! may stop inside a frame; the connection remembers it, and [`WsConn::close`]
//! then writes no close frame, which would land inside that frame's payload.

use std::{
    fmt, io,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll, Wake, Waker},
};

use bytes::BytesMut;
use futures_util::task::AtomicWaker;
use hyper_util::rt::TokioIo;
use socketio_protocol::{
    engine::Frame,
    websocket::{
        put_compressed_server_header, put_server_header, FrameDecoder, FrameError, Incoming, OpCode,
    },
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::trace;

pub(crate) use super::ws_deflate::Deflate;

pub(crate) type WsIo = Gated<TokioIo<hyper::upgrade::Upgraded>>;

/// A server-side WebSocket.
pub(crate) struct WsConn {
    pub(crate) io: WsIo,
    read: BytesMut,
    decoder: FrameDecoder,
    /// Room made in `read` before each read of the connection.
    read_size: usize,
    ended: bool,
    close_sent: bool,
    /// permessage-deflate, if agreed.
    pub(crate) deflate: Deflate,
}

/// Why reading the WebSocket stopped.
#[derive(Debug)]
pub(crate) enum WsError {
    Io(io::Error),
    Frame(FrameError),
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::Io(_) => f.write_str("websocket read failed"),
            WsError::Frame(_) => f.write_str("bad websocket frame"),
        }
    }
}

impl std::error::Error for WsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WsError::Io(e) => Some(e),
            WsError::Frame(e) => Some(e),
        }
    }
}

impl WsConn {
    /// `read_size`: the room made for each read; `max_message`: the largest
    /// message accepted, fragments joined.
    pub(crate) fn new(
        io: TokioIo<hyper::upgrade::Upgraded>,
        read_size: usize,
        max_message: usize,
    ) -> Self {
        WsConn::with_deflate(io, read_size, max_message, Deflate::off())
    }

    /// [`new`](Self::new), with permessage-deflate as the handshake agreed.
    pub(crate) fn with_deflate(
        io: TokioIo<hyper::upgrade::Upgraded>,
        read_size: usize,
        max_message: usize,
        deflate: Deflate,
    ) -> Self {
        #[cfg(feature = "deflate")]
        let decoder = match deflate.agreed() {
            true => FrameDecoder::with_deflate(max_message),
            false => FrameDecoder::new(max_message),
        };
        #[cfg(not(feature = "deflate"))]
        let decoder = FrameDecoder::new(max_message);
        WsConn {
            io: Gated::new(io),
            read: BytesMut::new(),
            decoder,
            read_size,
            ended: false,
            close_sent: false,
            deflate,
        }
    }

    /// Whether reading may give something now (see [`Gated`]).
    pub(crate) fn gate(&self) -> Arc<ReadGate> {
        self.io.gate.clone()
    }

    /// The next message; `None` once the peer ended the connection.
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Incoming, WsError>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        loop {
            match self.decoder.decode(&mut self.read) {
                Ok(Some(msg)) => return Poll::Ready(Some(Ok(msg))),
                Ok(None) => {}
                Err(e) => {
                    self.ended = true;
                    return Poll::Ready(Some(Err(WsError::Frame(e))));
                }
            }
            if self.read.capacity() - self.read.len() < self.read_size / 4 {
                self.read.reserve(self.read_size);
            }
            match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => {
                    self.ended = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => {
                    self.ended = true;
                    return Poll::Ready(Some(Err(WsError::Io(e))));
                }
            }
        }
    }

    pub(crate) async fn next(&mut self) -> Option<Result<Incoming, WsError>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Answers a ping with a pong carrying the same bytes.
    pub(crate) async fn pong(&mut self, payload: &[u8]) -> io::Result<()> {
        self.write_control(OpCode::Pong, payload).await
    }

    /// Sends a close frame (once), with `code` when there is one to give,
    /// and shuts the connection down. After a write that stopped inside a
    /// frame, the connection is shut down with no close frame: the peer
    /// would read it as part of that frame's payload.
    pub(crate) async fn close(&mut self, code: Option<u16>) {
        if self.io.inside_frame {
            trace::debug!(
                "engine.io: websocket write cut inside a frame; shut down without a close frame"
            );
        } else if !self.close_sent {
            self.close_sent = true;
            let code = code.map(u16::to_be_bytes);
            let _ = self
                .write_control(OpCode::Close, code.as_ref().map_or(&[], |c| &c[..]))
                .await;
        }
        let _ = self.io.shutdown().await;
    }

    /// Writes a control frame (at most 125 bytes of payload) at once.
    async fn write_control(&mut self, opcode: OpCode, payload: &[u8]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(2 + payload.len());
        put_server_header(&mut buf, opcode, payload.len());
        buf.extend_from_slice(payload);
        self.io.write_framed(&buf, true).await
    }

    /// Writes one frame now (the handshake and the upgrade's probe).
    pub(crate) async fn send(&mut self, frame: &Frame) -> io::Result<()> {
        let mut buf = Vec::new();
        put_frame(&mut self.io, &mut self.deflate, &mut buf, frame, true).await?;
        write_out(&mut self.io, &mut buf).await
    }
}

/// Bytes of frames gathered before they are written, and the most the
/// write buffer keeps allocated between writes.
pub(crate) const WRITE_BUFFER: usize = 64 * 1024;

/// Payloads up to this size are copied into the write buffer; larger ones
/// are written on their own.
const COPY_LIMIT: usize = 16 * 1024;

/// Frames `frame` into `buf`; a large payload is written from where it is
/// rather than copied.
/// With permessage-deflate agreed, a payload at or above the threshold is
/// compressed first (unless `compress` is false) and its frame marked so.
pub(crate) async fn put_frame(
    io: &mut WsIo,
    deflate: &mut Deflate,
    buf: &mut Vec<u8>,
    frame: &Frame,
    compress: bool,
) -> io::Result<()> {
    if let Some(compressed) = deflate.compress(frame, compress) {
        let opcode = match frame {
            Frame::Text(_) => OpCode::Text,
            Frame::Binary(_) => OpCode::Binary,
        };
        put_compressed_server_header(buf, opcode, compressed.len());
        buf.extend_from_slice(compressed);
        return Ok(());
    }
    let payload = frame_header(buf, frame);
    if payload.len() > COPY_LIMIT {
        // The buffer ends with this frame's header.
        flush(io, buf, false).await?;
        io.write_framed(payload, true).await
    } else {
        buf.extend_from_slice(payload);
        Ok(())
    }
}

/// Writes and empties `buf`, keeping its allocation unless a burst grew it
/// past [`WRITE_BUFFER`].
pub(crate) async fn write_out(io: &mut WsIo, buf: &mut Vec<u8>) -> io::Result<()> {
    flush(io, buf, true).await
}

/// [`write_out`], for a buffer that ends with the end of a frame or not.
async fn flush(io: &mut WsIo, buf: &mut Vec<u8>, ends_frame: bool) -> io::Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    let res = io.write_framed(buf, ends_frame).await;
    buf.clear();
    if buf.capacity() > WRITE_BUFFER {
        buf.shrink_to(WRITE_BUFFER);
    }
    res
}

/// Appends the header of an unmasked, unfragmented server frame carrying
/// `frame` (RFC 6455 §5.2) and returns the payload that follows it.
fn frame_header<'a>(buf: &mut Vec<u8>, frame: &'a Frame) -> &'a [u8] {
    let (opcode, payload): (OpCode, &[u8]) = match frame {
        Frame::Text(s) => (OpCode::Text, s.as_bytes()),
        Frame::Binary(b) => (OpCode::Binary, b),
    };
    put_server_header(buf, opcode, payload.len());
    payload
}

/// The connection, which records whether reading it may give anything: a
/// read that found nothing clears the flag, and the connection's readiness
/// sets it again. A read attempt costs more than a flag, and a broadcast
/// wakes each socket's task to write, not to read.
///
/// It also records whether what was written so far stops inside a frame.
pub(crate) struct Gated<S> {
    inner: S,
    gate: Arc<ReadGate>,
    waker: Waker,
    /// Set while a write is under way, and after one that ended with a
    /// frame's header or was cut short: the next byte would be read as
    /// part of a payload.
    inside_frame: bool,
}

pub(crate) struct ReadGate {
    ready: AtomicBool,
    waker: AtomicWaker,
}

impl ReadGate {
    pub(crate) fn is_ready(&self) -> bool {
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
            inside_frame: false,
        }
    }
}

impl<S: AsyncWrite + Unpin> Gated<S> {
    /// Writes `bytes`, which continue where the last write stopped and end
    /// with the end of a frame when `ends_frame`. Until the write is done,
    /// the connection counts as stopped inside a frame.
    async fn write_framed(&mut self, bytes: &[u8], ends_frame: bool) -> io::Result<()> {
        self.inside_frame = true;
        self.write_all(bytes).await?;
        self.inside_frame = !ends_frame;
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use socketio_protocol::Str;

    #[test]
    fn engine_io_frames_get_the_opcode_of_their_kind() {
        let mut buf = Vec::new();
        let text = Frame::Text(Str::from_static("42[\"a\"]"));
        assert_eq!(frame_header(&mut buf, &text), b"42[\"a\"]");
        assert_eq!(buf, [0x81, 0x07]);
        buf.clear();
        let binary = Frame::Binary(Bytes::from(vec![0u8; 126]));
        assert_eq!(frame_header(&mut buf, &binary).len(), 126);
        assert_eq!(buf, [0x82, 126, 0x00, 0x7e]);
    }
}
