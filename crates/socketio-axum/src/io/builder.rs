//! Building a [`SocketIo`] server: configuration, state, middlewares and
//! adapter, then a layer or a service.

use std::{
    fmt,
    sync::{Arc, RwLock},
};

use engineio_tower::EngineIo;

use super::{ServerInner, SocketIo};
use crate::{
    adapter::Adapter,
    client::Client,
    handler::{self, ConnectMiddleware},
    layer::{SocketIoLayer, SocketIoService},
    ns::Shared,
    SocketIoConfig,
};

/// Builds a [`SocketIo`] server with its configuration, state and middlewares.
#[must_use]
pub struct SocketIoBuilder {
    config: SocketIoConfig,
    state: http::Extensions,
    middlewares: Vec<handler::BoxedMiddleware>,
    adapter: Option<Arc<dyn Adapter>>,
}

impl fmt::Debug for SocketIoBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIoBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SocketIoBuilder {
    /// Sets the configuration.
    pub fn config(mut self, config: SocketIoConfig) -> Self {
        self.config = config;
        self
    }

    /// Adds state, for the [`State`](crate::extract::State) extractor. One value per type.
    pub fn with_state<T: Clone + Send + Sync + 'static>(mut self, state: T) -> Self {
        self.state.insert(state);
        self
    }

    /// Adds a connect middleware that runs for every namespace, before the
    /// namespace's own (see [`NamespaceRef::with`](crate::NamespaceRef::with)).
    pub fn with_middleware<M: ConnectMiddleware<T>, T: 'static>(mut self, middleware: M) -> Self {
        self.middlewares.push(handler::boxed_middleware(middleware));
        self
    }

    /// Spans namespaces across servers with `adapter` (default: this server only).
    pub fn adapter<A: Adapter>(mut self, adapter: A) -> Self {
        self.adapter = Some(Arc::new(adapter));
        self
    }

    /// The server and the layer to mount on an axum `Router`.
    pub fn build_layer(self) -> (SocketIoLayer, SocketIo) {
        let io = self.build();
        (SocketIoLayer::new(io.clone()), io)
    }

    /// The server and a standalone service (404 for other paths), for hyper or tower.
    pub fn build_svc(self) -> (SocketIoService<engineio_tower::NotFound>, SocketIo) {
        let io = self.build();
        (
            SocketIoService::new(engineio_tower::NotFound, io.clone()),
            io,
        )
    }

    fn build(self) -> SocketIo {
        let engine_config = self.config.engine.clone();
        let shared = Arc::new(Shared {
            config: self.config,
            state: self.state,
            middlewares: RwLock::new(self.middlewares),
            adapter: self.adapter,
            server_side: RwLock::default(),
            metrics: crate::metrics::Metrics::register(),
            observer: Default::default(),
        });
        let inner = ServerInner::new(shared);
        let io = SocketIo { inner };
        io.ns("/", || async {});
        let engine = EngineIo::builder(Client {
            server: io.inner.clone(),
        })
        .config(engine_config)
        .build();
        let _ = io.inner.engine.set(engine);
        io
    }
}

impl SocketIo {
    /// A builder with the default configuration.
    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder {
            config: SocketIoConfig::default(),
            state: http::Extensions::new(),
            middlewares: Vec::new(),
            adapter: None,
        }
    }

    /// A server with the default configuration, and its layer.
    pub fn new_layer() -> (SocketIoLayer, SocketIo) {
        Self::builder().build_layer()
    }

    /// A server with the default configuration, and a standalone service.
    pub fn new_svc() -> (SocketIoService<engineio_tower::NotFound>, SocketIo) {
        Self::builder().build_svc()
    }
}
