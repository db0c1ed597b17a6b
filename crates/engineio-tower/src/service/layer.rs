use std::fmt;

use tower_layer::Layer;

use crate::{EngineIo, EngineIoHandler, EngineIoService};

/// A [`Layer`] that serves Engine.IO requests under the configured path and
/// passes every other request to the inner service. Made by [`EngineIo::layer`].
///
/// ```
/// # use engineio_tower::{EngineIo, EngineIoHandler, Message, Socket, CloseReason};
/// # struct H;
/// # impl EngineIoHandler for H { type Data = ();
/// #   fn on_open(&self, _: &Socket) {} fn on_message(&self, _: &Socket, _: Message) {}
/// #   fn on_close(&self, _: &Socket, _: CloseReason) {} }
/// let engine = EngineIo::new(H);
/// let app = axum::Router::<()>::new()
///     .route("/health", axum::routing::get(|| async { "ok" }))
///     .layer(engine.layer());
/// ```
pub struct EngineIoLayer<H: EngineIoHandler> {
    engine: EngineIo<H>,
}

impl<H: EngineIoHandler> EngineIoLayer<H> {
    /// A layer for this server.
    pub fn new(engine: EngineIo<H>) -> Self {
        EngineIoLayer { engine }
    }
}

impl<H: EngineIoHandler> Clone for EngineIoLayer<H> {
    fn clone(&self) -> Self {
        EngineIoLayer {
            engine: self.engine.clone(),
        }
    }
}

impl<H: EngineIoHandler> fmt::Debug for EngineIoLayer<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineIoLayer")
            .field("engine", &self.engine)
            .finish()
    }
}

impl<S, H: EngineIoHandler> Layer<S> for EngineIoLayer<H> {
    type Service = EngineIoService<S, H>;

    fn layer(&self, inner: S) -> Self::Service {
        EngineIoService::new(inner, self.engine.clone())
    }
}
