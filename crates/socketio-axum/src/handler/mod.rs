//! Handlers: async functions whose arguments are extractors, in axum's style.
//!
//! - [`ConnectHandler`]: runs when a client joins a namespace; also the shape of
//!   connect middlewares, which return `Result<(), E>` to accept or refuse.
//! - [`MessageHandler`]: runs for an event; its last argument may consume the
//!   event's data ([`FromMessage`](crate::extract::FromMessage)).
//! - [`DisconnectHandler`]: runs when the socket leaves.

mod connect;
mod disconnect;
pub(crate) mod message;

use std::{future::Future, pin::Pin};

pub(crate) use connect::{
    boxed as boxed_connect, boxed_middleware, BoxedConnectHandler, BoxedMiddleware,
};
pub use connect::{ConnectHandler, ConnectMiddleware, IntoConnectResult};
pub use disconnect::DisconnectHandler;
pub(crate) use disconnect::{boxed as boxed_disconnect, BoxedDisconnectHandler};
pub use message::MessageHandler;
pub(crate) use message::{boxed as boxed_message, BoxedMessageHandler};

/// A boxed, sendable future, as handlers return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
