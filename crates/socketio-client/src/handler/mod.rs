//! Event handlers: async functions whose arguments are extractors, in
//! axum's style.
//!
//! A handler is any `Fn(T1, ..., Tn) -> impl Future` (up to 8 arguments)
//! whose arguments implement [`FromEventParts`] and whose output implements
//! [`IntoHandlerResult`]: `()`, or `Result<(), E>` with `E: Display`, whose
//! error is logged.
//!
//! ```
//! use socketio_client::{extract::{AckSender, Data}, Socket};
//!
//! async fn on_add(Data((a, b)): Data<(i64, i64)>, ack: AckSender) -> Result<(), socketio_client::Error> {
//!     ack.send(&(a + b,))
//! }
//! # fn register(socket: Socket) { socket.on("add", on_add); }
//! ```

use std::{fmt::Display, future::Future, marker::PhantomData, pin::Pin};

use crate::extract::{EventParts, FromEventParts};

/// A boxed, sendable future, as handlers return.
///
/// ```
/// let fut: socketio_client::handler::BoxFuture<u8> = Box::pin(async { 1 });
/// # let _ = fut;
/// ```
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a handler's future may return: `()`, or a `Result` whose error is
/// logged (with `tracing`) instead of being lost.
///
/// ```
/// use socketio_client::handler::IntoHandlerResult;
///
/// assert!(().into_handler_result().is_ok());
/// assert_eq!(Err::<(), _>("boom").into_handler_result(), Err("boom".to_owned()));
/// ```
pub trait IntoHandlerResult: Send + 'static {
    /// The outcome, with the error as text.
    fn into_handler_result(self) -> Result<(), String>;
}

impl IntoHandlerResult for () {
    fn into_handler_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: Display + Send + 'static> IntoHandlerResult for Result<(), E> {
    fn into_handler_result(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// An event handler; see the [module documentation](self).
///
/// When an extractor fails, the handler does not run: the server gets the
/// acknowledgement `[{"error": "<why>"}]` if it asked for one, and a
/// `tracing` warning is emitted either way.
///
/// ```
/// use socketio_client::{extract::Data, handler::Handler};
///
/// async fn on_chat(Data(text): Data<String>) {
///     println!("{text}");
/// }
///
/// fn assert_handler<T, H: Handler<T>>(_: H) {}
/// assert_handler(on_chat);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid event handler",
    note = "an event handler is an async fn (or closure returning a future) whose arguments implement `FromEventParts` and whose output is `()` or `Result<(), E: Display>`"
)]
pub trait Handler<T>: Send + Sync + Sized + 'static {
    /// Runs the extractors, then starts the handler.
    fn call(&self, parts: &mut EventParts<'_>) -> BoxFuture<Result<(), String>>;
}

impl<F, Fut> Handler<()> for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoHandlerResult,
{
    fn call(&self, _parts: &mut EventParts<'_>) -> BoxFuture<Result<(), String>> {
        let fut = self();
        Box::pin(async move { fut.await.into_handler_result() })
    }
}

macro_rules! impl_handler {
    ([$($ty:ident),*], $last:ident) => {
        impl_handler!(@ $($ty,)* $last);
    };
    (@ $($ty:ident),*) => {
        #[allow(non_snake_case)]
        impl<F, Fut, $($ty,)*> Handler<($($ty,)*)> for F
        where
            F: Fn($($ty,)*) -> Fut + Send + Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: IntoHandlerResult,
            $($ty: FromEventParts + Send,)*
        {
            fn call(&self, parts: &mut EventParts<'_>) -> BoxFuture<Result<(), String>> {
                $(
                    let $ty = match $ty::from_event_parts(parts) {
                        Ok(v) => v,
                        Err(e) => return crate::extract::rejected(parts, &e),
                    };
                )*
                let fut = self($($ty,)*);
                Box::pin(async move { fut.await.into_handler_result() })
            }
        }
    };
}

socketio_protocol::all_the_tuples!(impl_handler);

/// A handler with its type parameters erased, as a socket stores it.
pub(crate) trait ErasedHandler: Send + Sync + 'static {
    fn call(&self, parts: &mut EventParts<'_>) -> BoxFuture<Result<(), String>>;
}

pub(crate) type BoxedHandler = Box<dyn ErasedHandler>;

struct Erased<H, T>(H, PhantomData<fn() -> T>);

impl<H: Handler<T>, T: 'static> ErasedHandler for Erased<H, T> {
    fn call(&self, parts: &mut EventParts<'_>) -> BoxFuture<Result<(), String>> {
        self.0.call(parts)
    }
}

pub(crate) fn boxed<H: Handler<T>, T: 'static>(handler: H) -> BoxedHandler {
    Box::new(Erased(handler, PhantomData))
}
