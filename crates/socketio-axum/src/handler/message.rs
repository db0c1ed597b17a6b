use std::{future::Future, marker::PhantomData, sync::Arc};

use socketio_protocol::all_the_tuples;

use super::BoxFuture;
use crate::{
    extract::{FromMessage, FromMessageParts, MessageParts},
    panic::{EventFuture, Panic},
    SocketRef,
};

/// An extractor or the handler's synchronous start panicked.
fn panicked(socket: &SocketRef, parts: &MessageParts, p: &Panic) -> BoxFuture<()> {
    crate::panic::panicked(socket, "event handler", Some(&parts.event), p);
    Box::pin(std::future::ready(()))
}

/// An event handler: an async function whose arguments are extractors, the
/// last of which may consume the event ([`FromMessage`]).
///
/// When an extractor fails, the handler does not run: the client gets an
/// acknowledgement `[{"error": "<why>"}]` if it asked for one, and a `tracing`
/// warning is emitted either way.
///
/// When the handler or one of its extractors panics, the panic is caught:
/// the socket is disconnected (the client gets a `DISCONNECT`, its
/// `on_disconnect` runs with [`DisconnectReason::HandlerPanicked`](crate::DisconnectReason::HandlerPanicked)),
/// a `tracing` error names the namespace, socket and event, and the
/// connection's other sockets and every other client go on.
///
/// ```
/// use socketio_axum::{extract::{AckSender, Data}, SocketRef};
///
/// async fn on_echo(socket: SocketRef, Data(msg): Data<String>, ack: AckSender) {
///     let _ = ack.send(&msg);
/// }
/// # fn register(socket: SocketRef) { socket.on("echo", on_echo); }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid event handler",
    note = "an event handler is an async fn (or closure returning a future of `()`) whose arguments implement `FromMessageParts`, the last one `FromMessage`"
)]
pub trait MessageHandler<T>: Clone + Send + Sync + Sized + 'static {
    /// Runs the extractors then the handler.
    fn call(&self, socket: SocketRef, parts: MessageParts) -> BoxFuture<()>;
}

impl<F, Fut> MessageHandler<((),)> for F
where
    F: FnOnce() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn call(&self, socket: SocketRef, parts: MessageParts) -> BoxFuture<()> {
        match crate::panic::catch(|| (self.clone())()) {
            Ok(fut) => Box::pin(EventFuture::new(fut, socket, parts.event)),
            Err(p) => panicked(&socket, &parts, &p),
        }
    }
}

macro_rules! impl_message_handler {
    ([$($ty:ident),*], $last:ident) => {
        #[allow(non_snake_case, unused_mut)]
        impl<F, Fut, M, $($ty,)* $last> MessageHandler<(M, $($ty,)* $last,)> for F
        where
            F: FnOnce($($ty,)* $last) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($ty: FromMessageParts + Send,)*
            $last: FromMessage<M> + Send,
        {
            fn call(&self, socket: SocketRef, mut parts: MessageParts) -> BoxFuture<()> {
                // Extractors and the handler's synchronous start are user
                // code too: a panic in them is contained like one in the future.
                let started = crate::panic::catch(|| {
                    $(
                        let $ty = match $ty::from_message_parts(&socket, &mut parts) {
                            Ok(v) => v,
                            Err(e) => return Err(crate::extract::rejected(&socket, &parts, &e)),
                        };
                    )*
                    let $last = match $last::from_message(&socket, &mut parts) {
                        Ok(v) => v,
                        Err(e) => return Err(crate::extract::rejected(&socket, &parts, &e)),
                    };
                    Ok((self.clone())($($ty,)* $last))
                });
                match started {
                    Ok(Ok(fut)) => Box::pin(EventFuture::new(fut, socket, parts.event)),
                    Ok(Err(rejected)) => rejected,
                    Err(p) => panicked(&socket, &parts, &p),
                }
            }
        }
    };
}

all_the_tuples!(impl_message_handler);

pub(crate) trait ErasedMessageHandler: Send + Sync + 'static {
    fn call(&self, socket: SocketRef, parts: MessageParts) -> BoxFuture<()>;
}

pub(crate) type BoxedMessageHandler = Arc<dyn ErasedMessageHandler>;

struct Erased<H, T>(H, PhantomData<fn() -> T>);

impl<H: MessageHandler<T>, T: 'static> ErasedMessageHandler for Erased<H, T> {
    fn call(&self, socket: SocketRef, parts: MessageParts) -> BoxFuture<()> {
        self.0.call(socket, parts)
    }
}

pub(crate) fn boxed<H: MessageHandler<T>, T: 'static>(h: H) -> BoxedMessageHandler {
    Arc::new(Erased(h, PhantomData))
}
