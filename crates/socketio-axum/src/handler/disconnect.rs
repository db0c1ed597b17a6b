use std::{future::Future, marker::PhantomData, sync::Arc};

use socketio_protocol::all_the_tuples;

use super::BoxFuture;
use crate::{extract::FromDisconnectParts, DisconnectReason, SocketRef};

/// A disconnect handler: an async function whose arguments are extractors
/// ([`FromDisconnectParts`]), such as [`SocketRef`] and [`DisconnectReason`].
///
/// ```
/// use socketio_axum::{DisconnectReason, SocketRef};
///
/// async fn on_disconnect(socket: SocketRef, reason: DisconnectReason) {
///     println!("{} left: {reason}", socket.id());
/// }
/// # fn register(socket: SocketRef) { socket.on_disconnect(on_disconnect); }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid disconnect handler",
    note = "a disconnect handler is an async fn whose arguments implement `FromDisconnectParts`"
)]
pub trait DisconnectHandler<T>: Clone + Send + Sync + Sized + 'static {
    /// Runs the extractors then the handler.
    fn call(&self, socket: SocketRef, reason: DisconnectReason) -> BoxFuture<()>;
}

impl<F, Fut> DisconnectHandler<((),)> for F
where
    F: FnOnce() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn call(&self, _socket: SocketRef, _reason: DisconnectReason) -> BoxFuture<()> {
        Box::pin((self.clone())())
    }
}

macro_rules! impl_disconnect_handler {
    ([$($ty:ident),*], $last:ident) => {
        #[allow(non_snake_case, unused_mut)]
        impl<F, Fut, $($ty,)* $last> DisconnectHandler<($($ty,)* $last,)> for F
        where
            F: FnOnce($($ty,)* $last) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($ty: FromDisconnectParts + Send,)*
            $last: FromDisconnectParts + Send,
        {
            fn call(&self, socket: SocketRef, reason: DisconnectReason) -> BoxFuture<()> {
                $(
                    let $ty = match $ty::from_disconnect_parts(&socket, reason) {
                        Ok(v) => v,
                        Err(e) => return crate::extract::disconnect_rejected(&socket, &e),
                    };
                )*
                let $last = match $last::from_disconnect_parts(&socket, reason) {
                    Ok(v) => v,
                    Err(e) => return crate::extract::disconnect_rejected(&socket, &e),
                };
                Box::pin((self.clone())($($ty,)* $last))
            }
        }
    };
}

all_the_tuples!(impl_disconnect_handler);

pub(crate) trait ErasedDisconnectHandler: Send + Sync + 'static {
    fn call(&self, socket: SocketRef, reason: DisconnectReason) -> BoxFuture<()>;
}

pub(crate) type BoxedDisconnectHandler = Arc<dyn ErasedDisconnectHandler>;

struct Erased<H, T>(H, PhantomData<fn() -> T>);

impl<H: DisconnectHandler<T>, T: 'static> ErasedDisconnectHandler for Erased<H, T> {
    fn call(&self, socket: SocketRef, reason: DisconnectReason) -> BoxFuture<()> {
        self.0.call(socket, reason)
    }
}

pub(crate) fn boxed<H: DisconnectHandler<T>, T: 'static>(h: H) -> BoxedDisconnectHandler {
    Arc::new(Erased(h, PhantomData))
}
