use std::{
    fmt,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use crate::{engine::Handled, BoxError, EngineIo, EngineIoHandler, ResponseBody, ResponseFuture};

/// A [`Service`] that serves Engine.IO requests and passes the others to `S`.
///
/// Made by [`EngineIo::layer`] (in front of a service such as an axum
/// `Router`) or [`EngineIo::service`] (alone, answering 404 to other paths).
pub struct EngineIoService<S, H: EngineIoHandler> {
    inner: S,
    engine: EngineIo<H>,
}

impl<S, H: EngineIoHandler> EngineIoService<S, H> {
    /// Wraps `inner`.
    pub fn new(inner: S, engine: EngineIo<H>) -> Self {
        EngineIoService { inner, engine }
    }

    /// The Engine.IO server.
    pub fn engine(&self) -> &EngineIo<H> {
        &self.engine
    }
}

impl<S: Clone, H: EngineIoHandler> Clone for EngineIoService<S, H> {
    fn clone(&self) -> Self {
        EngineIoService {
            inner: self.inner.clone(),
            engine: self.engine.clone(),
        }
    }
}

impl<S: fmt::Debug, H: EngineIoHandler> fmt::Debug for EngineIoService<S, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineIoService")
            .field("inner", &self.inner)
            .field("engine", &self.engine)
            .finish()
    }
}

impl<S, H, ReqBody, ResBody> Service<Request<ReqBody>> for EngineIoService<S, H>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    H: EngineIoHandler,
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

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if !self.engine.inner.matches(req.uri().path()) {
            return ResponseFuture::inner(self.inner.call(req));
        }
        match self.engine.inner.clone().handle(req) {
            Handled::Pending(fut) => ResponseFuture::engine(fut),
            Handled::Ready(res) => ResponseFuture::ready(res),
        }
    }
}
