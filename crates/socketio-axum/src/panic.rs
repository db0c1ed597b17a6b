//! Containing panics of user code: handlers, extractors, middlewares and
//! hooks run on the connection's task or a socket's queue, so a panic there
//! is caught where the code is called and ends the one socket concerned
//! (as tower-http's `CatchPanic` turns a panic into one 500), never the
//! connection's task, its other sockets or the server.
//!
//! Catching costs nothing until a panic happens (an unwinding landing pad,
//! no allocation), so every call into user code is wrapped.

use std::{
    any::Any,
    fmt,
    future::Future,
    panic::{catch_unwind, AssertUnwindSafe},
    pin::Pin,
    task::{Context, Poll},
};

use pin_project_lite::pin_project;
use socketio_protocol::Str;

use crate::{trace, DisconnectReason, SocketRef};

/// A panic caught in user code, with its payload.
pub(crate) struct Panic(Box<dyn Any + Send>);

impl Panic {
    /// The panic's message, when it has one (`panic!("...")`, `unwrap`, `expect`).
    pub(crate) fn message(&self) -> &str {
        if let Some(s) = self.0.downcast_ref::<&'static str>() {
            s
        } else if let Some(s) = self.0.downcast_ref::<String>() {
            s
        } else {
            "(a payload that is not a string)"
        }
    }
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Runs `f`, turning a panic into `Err`.
///
/// The closure is asserted unwind-safe: what it touches of ours is either
/// behind locks that recover from poisoning or dropped with the socket the
/// panic ends.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Panic> {
    catch_unwind(AssertUnwindSafe(f)).map_err(Panic)
}

pin_project! {
    /// A future whose panics are caught: it resolves to `Err` instead of
    /// unwinding, and is not polled again.
    pub(crate) struct CatchPanic<F> {
        #[pin]
        inner: F,
    }
}

impl<F> CatchPanic<F> {
    pub(crate) fn new(inner: F) -> Self {
        CatchPanic { inner }
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Panic>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        match catch(|| inner.poll(cx)) {
            Ok(poll) => poll.map(Ok),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

pin_project! {
    /// An event handler's future, with what a panic in it needs: the socket
    /// to disconnect and the event to name. Both are moved in from the
    /// handler call, inside the handler's one allocation.
    pub(crate) struct EventFuture<F> {
        #[pin]
        inner: F,
        socket: SocketRef,
        event: Str,
    }
}

impl<F> EventFuture<F> {
    pub(crate) fn new(inner: F, socket: SocketRef, event: Str) -> Self {
        EventFuture {
            inner,
            socket,
            event,
        }
    }
}

impl<F: Future<Output = ()>> Future for EventFuture<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        match catch(|| this.inner.poll(cx)) {
            Ok(poll) => poll,
            Err(panic) => {
                panicked(this.socket, "event handler", Some(this.event), &panic);
                Poll::Ready(())
            }
        }
    }
}

/// User code of `socket` panicked (`what`: which kind, `event`: the event
/// it handled, if any): the socket is disconnected with a clean-up, as
/// [`SocketRef::disconnect`] does, with [`DisconnectReason::HandlerPanicked`].
pub(crate) fn panicked(socket: &SocketRef, what: &'static str, event: Option<&Str>, panic: &Panic) {
    let event = event.map_or("", Str::as_str);
    trace::error!(ns = %socket.ns(), sid = %socket.id(), event, what, panic = %panic, "socket.io: user code panicked, disconnecting the socket");
    socket.disconnect_because(DisconnectReason::HandlerPanicked);
}
