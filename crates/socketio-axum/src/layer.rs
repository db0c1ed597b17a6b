use std::{
    fmt,
    task::{Context, Poll},
};

use bytes::Bytes;
use engineio_tower::{BoxError, EngineIoService, ResponseBody, ResponseFuture};
use http::{Request, Response};
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use crate::{client::Client, SocketIo};

/// A [`Layer`] that serves Socket.IO under its path (default `/socket.io/`)
/// and passes every other request on, with the [`SocketIo`] handle in its
/// extensions (so that routes can extract it). Made by [`SocketIo::new_layer`].
#[derive(Clone)]
pub struct SocketIoLayer {
    io: SocketIo,
}

impl fmt::Debug for SocketIoLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIoLayer").finish_non_exhaustive()
    }
}

impl SocketIoLayer {
    pub(crate) fn new(io: SocketIo) -> Self {
        SocketIoLayer { io }
    }
}

impl<S> Layer<S> for SocketIoLayer {
    type Service = SocketIoService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SocketIoService::new(inner, self.io.clone())
    }
}

/// The service made by [`SocketIoLayer`]: Socket.IO requests are served, the
/// others reach `S`.
pub struct SocketIoService<S> {
    inner: EngineIoService<S, Client>,
    io: SocketIo,
}

impl<S: Clone> Clone for SocketIoService<S> {
    fn clone(&self) -> Self {
        SocketIoService {
            inner: self.inner.clone(),
            io: self.io.clone(),
        }
    }
}

impl<S> fmt::Debug for SocketIoService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIoService").finish_non_exhaustive()
    }
}

impl<S> SocketIoService<S> {
    pub(crate) fn new(inner: S, io: SocketIo) -> Self {
        let engine = match io.engine() {
            Some(e) => e.clone(),
            None => unreachable_engine(),
        };
        SocketIoService {
            inner: EngineIoService::new(inner, engine),
            io,
        }
    }
}

#[allow(clippy::panic)]
fn unreachable_engine() -> ! {
    // `SocketIoBuilder::build` always sets the engine before handing out a handle.
    panic!("socket.io server built without its engine")
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SocketIoService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // Exactly the paths the Engine.IO service serves; every other request
        // can extract the handle.
        let config = self.io.config();
        let path = config.engine().path();
        let own = req.uri().path();
        if let (Some(bundle), Some(file)) = (config.client_bundle(), own.strip_prefix(path)) {
            if let Some(res) = bundle.respond(req.method(), file, req.headers()) {
                return ResponseFuture::ready(res);
            }
        }
        if own != path && own != path.trim_end_matches('/') {
            req.extensions_mut().insert(self.io.clone());
        }
        self.inner.call(req)
    }
}
