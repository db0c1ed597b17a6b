//! The WebSocket connection of a session: tungstenite's protocol state for
//! reading (frame parsing, unmasking, fragments, control frames, UTF-8 and
//! size checks), driven with the caller's task context, and our own framing
//! for writing.
//!
//! tokio-tungstenite would put two waker proxies between the connection and
//! the task and register them on every read and write; here tungstenite's
//! synchronous API is called with an adapter that turns `Pending` into
//! `WouldBlock`, which is how tungstenite is meant to be used without
//! blocking. Writing is a header and the payload (RFC 6455 §5.2, a server
//! does not mask), gathered into one buffer per batch.

use std::{
    io::{self, Read, Write},
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll, Wake, Waker},
};

use futures_util::task::AtomicWaker;
use hyper_util::rt::TokioIo;
use socketio_protocol::engine::Frame;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_tungstenite::tungstenite::{
    self,
    protocol::{Role, WebSocketConfig, WebSocketContext},
};

pub(crate) type WsIo = Gated<TokioIo<hyper::upgrade::Upgraded>>;

/// A server-side WebSocket.
pub(crate) struct WsConn {
    pub(crate) io: WsIo,
    ctx: WebSocketContext,
    ended: bool,
}

/// The connection as `Read + Write` for tungstenite, within one poll.
struct SyncIo<'a, 'b> {
    io: &'a mut WsIo,
    cx: &'a mut Context<'b>,
}

fn would_block<T>(p: Poll<io::Result<T>>) -> io::Result<T> {
    match p {
        Poll::Ready(r) => r,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

impl Read for SyncIo<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut buf = ReadBuf::new(buf);
        would_block(Pin::new(&mut *self.io).poll_read(self.cx, &mut buf))?;
        Ok(buf.filled().len())
    }
}

impl Write for SyncIo<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        would_block(Pin::new(&mut *self.io).poll_write(self.cx, buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        would_block(Pin::new(&mut *self.io).poll_flush(self.cx))
    }
}

/// `Ok` and errors other than `WouldBlock` are ready; `WouldBlock` is pending
/// (the connection registered the task to wake).
fn ready<T>(r: tungstenite::Result<T>) -> Poll<tungstenite::Result<T>> {
    match r {
        Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
        r => Poll::Ready(r),
    }
}

impl WsConn {
    pub(crate) fn new(io: TokioIo<hyper::upgrade::Upgraded>, config: WebSocketConfig) -> Self {
        WsConn {
            io: Gated::new(io),
            ctx: WebSocketContext::new(Role::Server, Some(config)),
            ended: false,
        }
    }

    /// Whether reading may give something now (see [`Gated`]).
    pub(crate) fn gate(&self) -> Arc<ReadGate> {
        self.io.gate.clone()
    }

    /// The next message; `None` once the peer closed the connection.
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<tungstenite::Result<tungstenite::Message>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match self.with_io(cx, |ctx, io| ctx.read(io)) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(m)) => Poll::Ready(Some(Ok(m))),
            Poll::Ready(Err(
                tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed,
            )) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(Err(e)) => {
                self.ended = true;
                Poll::Ready(Some(Err(e)))
            }
        }
    }

    pub(crate) async fn next(&mut self) -> Option<tungstenite::Result<tungstenite::Message>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Writes what tungstenite queued itself (the pong to a ping, the reply
    /// to a close), so that none of it is left half-written when a frame of
    /// ours follows.
    pub(crate) async fn flush_control(&mut self) -> tungstenite::Result<()> {
        std::future::poll_fn(|cx| self.with_io(cx, |ctx, io| ctx.flush(io))).await
    }

    /// Sends a close frame (once) and writes it out.
    pub(crate) async fn close(&mut self) {
        let mut close_sent = false;
        std::future::poll_fn(|cx| {
            self.with_io(cx, |ctx, io| {
                if close_sent {
                    ctx.flush(io)
                } else {
                    close_sent = true;
                    ctx.close(io, None)
                }
            })
            .map(|_| ())
        })
        .await;
        let _ = self.io.shutdown().await;
    }

    /// Runs one call of tungstenite's synchronous API on the connection
    /// within this poll; `WouldBlock` is pending.
    fn with_io<T>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut WebSocketContext, &mut SyncIo<'_, '_>) -> tungstenite::Result<T>,
    ) -> Poll<tungstenite::Result<T>> {
        let mut io = SyncIo {
            io: &mut self.io,
            cx,
        };
        ready(f(&mut self.ctx, &mut io))
    }

    /// Writes one frame now (the handshake and the upgrade's probe).
    pub(crate) async fn send(&mut self, frame: &Frame) -> io::Result<()> {
        let mut buf = Vec::new();
        put_frame(&mut self.io, &mut buf, frame).await?;
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
pub(crate) async fn put_frame(io: &mut WsIo, buf: &mut Vec<u8>, frame: &Frame) -> io::Result<()> {
    let payload = frame_header(buf, frame);
    if payload.len() > COPY_LIMIT {
        write_out(io, buf).await?;
        io.write_all(payload).await
    } else {
        buf.extend_from_slice(payload);
        Ok(())
    }
}

/// Writes and empties `buf`, keeping its allocation unless a burst grew it
/// past [`WRITE_BUFFER`].
pub(crate) async fn write_out(io: &mut WsIo, buf: &mut Vec<u8>) -> io::Result<()> {
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

/// The connection, which records whether reading it may give anything: a
/// read that found nothing clears the flag, and the connection's readiness
/// sets it again. Asking tungstenite for the next message costs more than a
/// flag (it zeroes its spare read buffer each time), and a broadcast wakes
/// each socket's task to write, not to read.
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

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use socketio_protocol::Str;

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
