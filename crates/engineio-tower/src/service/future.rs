use std::{
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};

use bytes::Bytes;
use http::Response;
use http_body_util::Full;
use pin_project_lite::pin_project;

use crate::{engine::BoxFuture, ResponseBody};

pin_project! {
    /// The response future of [`EngineIoService`](crate::EngineIoService).
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Inner { #[pin] fut: F },
        Engine { fut: BoxFuture<Response<Full<Bytes>>> },
        Ready { res: Option<Response<Full<Bytes>>> },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn inner(fut: F) -> Self {
        ResponseFuture {
            kind: Kind::Inner { fut },
        }
    }

    pub(crate) fn engine(fut: BoxFuture<Response<Full<Bytes>>>) -> Self {
        ResponseFuture {
            kind: Kind::Engine { fut },
        }
    }

    /// A response that is ready at once, made in front of the engine by a
    /// service built on it (Socket.IO's client bundle, for one).
    pub fn ready(res: Response<Full<Bytes>>) -> Self {
        ResponseFuture {
            kind: Kind::Ready { res: Some(res) },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { fut } => {
                let res = ready!(fut.poll(cx))?;
                Poll::Ready(Ok(res.map(ResponseBody::inner)))
            }
            KindProj::Engine { fut } => {
                let res = ready!(fut.as_mut().poll(cx));
                Poll::Ready(Ok(res.map(ResponseBody::engine)))
            }
            KindProj::Ready { res } => {
                let res = res.take().unwrap_or_else(|| {
                    crate::error::empty(http::StatusCode::INTERNAL_SERVER_ERROR)
                });
                Poll::Ready(Ok(res.map(ResponseBody::engine)))
            }
        }
    }
}
