use std::{future::Future, marker::PhantomData, sync::Arc};

use socketio_protocol::all_the_tuples;

use super::BoxFuture;
use crate::{
    extract::{ConnectParts, FromConnectParts},
    trace, ConnectError, SocketRef,
};

/// What a connect middleware returns: `Ok(())` accepts, `Err(e)` refuses the
/// client with `e` as a `CONNECT_ERROR`. `()` always accepts.
pub trait IntoConnectResult: Send + 'static {
    /// The outcome.
    fn into_connect_result(self) -> Result<(), ConnectError>;
}

impl IntoConnectResult for () {
    fn into_connect_result(self) -> Result<(), ConnectError> {
        Ok(())
    }
}

impl<E: Into<ConnectError> + Send + 'static> IntoConnectResult for Result<(), E> {
    fn into_connect_result(self) -> Result<(), ConnectError> {
        self.map_err(Into::into)
    }
}

/// A connect handler: an async function whose arguments are extractors
/// ([`FromConnectParts`]). It runs once the client has joined the namespace,
/// and is where a socket's event handlers are registered; events the client
/// sends meanwhile wait for it.
///
/// When an extractor fails, the client gets a `CONNECT_ERROR` with the
/// rejection's text instead of joining, and a `tracing` warning is emitted.
///
/// ```
/// use socketio_axum::{extract::Data, SocketRef};
///
/// async fn on_connect(socket: SocketRef, Data(auth): Data<serde_json::Value>) {
///     let _ = socket.emit("welcome", &auth);
///     socket.on("ping", |socket: SocketRef| async move { let _ = socket.emit("pong", &()); });
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid connect handler",
    note = "a connect handler is an async fn (or closure returning a future of `()`) whose arguments implement `FromConnectParts`"
)]
pub trait ConnectHandler<T>: Clone + Send + Sync + Sized + 'static {
    /// Runs the extractors; `Err` when one rejected the connection.
    fn call(&self, socket: SocketRef, parts: &ConnectParts) -> Result<BoxFuture<()>, ConnectError>;
}

/// A connect middleware (Node's `io.use` / `nsp.use`): an async function
/// whose arguments are extractors and which returns `Result<(), E>` with
/// `E: Into<ConnectError>`; an `Err` refuses the client with a `CONNECT_ERROR`.
///
/// ```
/// use socketio_axum::{extract::Data, ConnectError};
///
/// #[derive(serde::Deserialize)]
/// struct Auth { token: String }
///
/// async fn auth(Data(auth): Data<Auth>) -> Result<(), ConnectError> {
///     if auth.token == "secret" { Ok(()) } else { Err(ConnectError::new("invalid token")) }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid connect middleware",
    note = "a connect middleware is an async fn whose arguments implement `FromConnectParts` and whose output is `Result<(), E: Into<ConnectError>>`"
)]
pub trait ConnectMiddleware<T>: Clone + Send + Sync + Sized + 'static {
    /// Runs the extractors then the middleware.
    fn call(&self, socket: SocketRef, parts: ConnectParts) -> BoxFuture<Result<(), ConnectError>>;
}

fn rejected<E: std::fmt::Display + std::fmt::Debug>(socket: &SocketRef, e: &E) -> ConnectError {
    trace::warn!(ns = %socket.ns(), sid = %socket.id(), error = ?e, "socket.io: extractor rejected the connection");
    ConnectError::new(e.to_string())
}

impl<F, Fut> ConnectHandler<((),)> for F
where
    F: FnOnce() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn call(&self, _: SocketRef, _: &ConnectParts) -> Result<BoxFuture<()>, ConnectError> {
        Ok(Box::pin((self.clone())()))
    }
}

impl<F, Fut> ConnectMiddleware<((),)> for F
where
    F: FnOnce() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoConnectResult,
{
    fn call(&self, _: SocketRef, _: ConnectParts) -> BoxFuture<Result<(), ConnectError>> {
        let fut = (self.clone())();
        Box::pin(async move { fut.await.into_connect_result() })
    }
}

macro_rules! impl_connect {
    ([$($ty:ident),*], $last:ident) => {
        #[allow(non_snake_case)]
        impl<F, Fut, $($ty,)* $last> ConnectHandler<($($ty,)* $last,)> for F
        where
            F: FnOnce($($ty,)* $last) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($ty: FromConnectParts + Send,)*
            $last: FromConnectParts + Send,
        {
            fn call(&self, socket: SocketRef, parts: &ConnectParts) -> Result<BoxFuture<()>, ConnectError> {
                $(
                    let $ty = $ty::from_connect_parts(&socket, parts).map_err(|e| rejected(&socket, &e))?;
                )*
                let $last = $last::from_connect_parts(&socket, parts).map_err(|e| rejected(&socket, &e))?;
                Ok(Box::pin((self.clone())($($ty,)* $last)))
            }
        }

        #[allow(non_snake_case)]
        impl<F, Fut, $($ty,)* $last> ConnectMiddleware<($($ty,)* $last,)> for F
        where
            F: FnOnce($($ty,)* $last) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: IntoConnectResult,
            $($ty: FromConnectParts + Send,)*
            $last: FromConnectParts + Send,
        {
            fn call(&self, socket: SocketRef, parts: ConnectParts) -> BoxFuture<Result<(), ConnectError>> {
                let args = (|| -> Result<_, ConnectError> {
                    $(
                        let $ty = $ty::from_connect_parts(&socket, &parts).map_err(|e| rejected(&socket, &e))?;
                    )*
                    let $last = $last::from_connect_parts(&socket, &parts).map_err(|e| rejected(&socket, &e))?;
                    Ok(($($ty,)* $last,))
                })();
                match args {
                    Ok(($($ty,)* $last,)) => {
                        let fut = (self.clone())($($ty,)* $last);
                        Box::pin(async move { fut.await.into_connect_result() })
                    }
                    Err(e) => Box::pin(std::future::ready(Err(e))),
                }
            }
        }
    };
}

all_the_tuples!(impl_connect);

pub(crate) trait ErasedConnectHandler: Send + Sync + 'static {
    fn call(&self, socket: SocketRef, parts: &ConnectParts) -> Result<BoxFuture<()>, ConnectError>;
}

pub(crate) trait ErasedMiddleware: Send + Sync + 'static {
    fn call(&self, socket: SocketRef, parts: ConnectParts) -> BoxFuture<Result<(), ConnectError>>;
}

pub(crate) type BoxedConnectHandler = Arc<dyn ErasedConnectHandler>;
pub(crate) type BoxedMiddleware = Arc<dyn ErasedMiddleware>;

struct Erased<H, T>(H, PhantomData<fn() -> T>);

impl<H: ConnectHandler<T>, T: 'static> ErasedConnectHandler for Erased<H, T> {
    fn call(&self, socket: SocketRef, parts: &ConnectParts) -> Result<BoxFuture<()>, ConnectError> {
        self.0.call(socket, parts)
    }
}

struct ErasedMw<H, T>(H, PhantomData<fn() -> T>);

impl<H: ConnectMiddleware<T>, T: 'static> ErasedMiddleware for ErasedMw<H, T> {
    fn call(&self, socket: SocketRef, parts: ConnectParts) -> BoxFuture<Result<(), ConnectError>> {
        self.0.call(socket, parts)
    }
}

pub(crate) fn boxed<H: ConnectHandler<T>, T: 'static>(h: H) -> BoxedConnectHandler {
    Arc::new(Erased(h, PhantomData))
}

pub(crate) fn boxed_middleware<H: ConnectMiddleware<T>, T: 'static>(h: H) -> BoxedMiddleware {
    Arc::new(ErasedMw(h, PhantomData))
}
