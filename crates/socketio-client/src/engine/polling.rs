//! HTTP long-polling: one pending `GET` to receive, at most one `POST` to send.

use std::{
    future::Future,
    task::{ready, Context, Poll},
};

use bytes::{Bytes, BytesMut};
use http::{header, HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use socketio_protocol::engine::{encode_payload, encoded_payload_len, Frame};

use super::net::Connector;
use crate::{error::HttpStatus, handler::BoxFuture, Error};

pub(crate) type HttpClient = Client<Connector, Full<Bytes>>;

/// The largest polling response read: a server may batch many packets in
/// one response, but not without bound.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// A fresh HTTP client, so that a new session never reuses a connection
/// of the server it replaces.
pub(crate) fn http_client(connector: Connector) -> HttpClient {
    Client::builder(TokioExecutor::new()).build(connector)
}

/// Sends one polling request and reads the whole response body.
pub(crate) fn request(
    http: &HttpClient,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> impl Future<Output = Result<Bytes, Error>> + Send + 'static {
    let mut builder = Request::builder().method(method.clone()).uri(uri.clone());
    if method == Method::POST {
        builder = builder.header(header::CONTENT_TYPE, "text/plain;charset=UTF-8");
    }
    let request = builder.body(Full::new(body)).map(|mut req| {
        req.headers_mut()
            .extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        req
    });
    let sent = request.map(|req| http.request(req));
    async move {
        let response = sent
            .map_err(|e| Error::transport("invalid HTTP request", e))?
            .await
            .map_err(|e| match e.is_connect() {
                // The cause (connection refused, no route...) is the
                // `io::Error` at the end of the source chain.
                true => Error::transport("cannot connect to the server", e),
                false => Error::transport("HTTP request failed", e),
            })?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| Error::transport("cannot read the HTTP response", e))?
            .to_bytes();
        if status != StatusCode::OK {
            return Err(Error::transport(
                "the server refused the request",
                HttpStatus::new(status, &body),
            ));
        }
        Ok(body)
    }
}

/// The polling transport of an open session.
pub(crate) struct Polling {
    http: HttpClient,
    uri: Uri,
    headers: HeaderMap,
    get: Option<BoxFuture<Result<Bytes, Error>>>,
    post: Option<BoxFuture<Result<Bytes, Error>>>,
    outbox: Vec<Frame>,
    max_payload: usize,
    /// No new request starts while paused (during an upgrade).
    pub(crate) paused: bool,
}

impl Polling {
    pub(crate) fn new(http: HttpClient, uri: Uri, headers: HeaderMap, max_payload: usize) -> Self {
        Polling {
            http,
            uri,
            headers,
            get: None,
            post: None,
            outbox: Vec::new(),
            max_payload,
            paused: false,
        }
    }

    pub(crate) fn send(&mut self, frame: Frame) {
        self.outbox.push(frame);
    }

    /// Frames not sent yet, taken out (to go over the WebSocket after an upgrade).
    pub(crate) fn take_outbox(&mut self) -> Vec<Frame> {
        std::mem::take(&mut self.outbox)
    }

    /// Whether no request is in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.get.is_none() && self.post.is_none()
    }

    /// Cancels the pending `GET`, when closing.
    pub(crate) fn stop_receiving(&mut self) {
        self.get = None;
        self.paused = false;
    }

    /// The body of the next `GET`, starting one if none is pending.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Bytes, Error>> {
        let get = match &mut self.get {
            Some(get) => get,
            None if self.paused => return Poll::Pending,
            None => self.get.insert(Box::pin(request(
                &self.http,
                Method::GET,
                &self.uri,
                &self.headers,
                Bytes::new(),
            ))),
        };
        let result = ready!(get.as_mut().poll(cx));
        self.get = None;
        Poll::Ready(result)
    }

    /// Sends what is queued, one `POST` at a time, each at most `maxPayload`
    /// bytes (but at least one frame). Ready when nothing is left to send.
    pub(crate) fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            if let Some(post) = &mut self.post {
                let result = ready!(post.as_mut().poll(cx));
                self.post = None;
                result?;
            }
            if self.outbox.is_empty() || self.paused {
                return Poll::Ready(Ok(()));
            }
            let n = chunk_len(&self.outbox, self.max_payload);
            let frames = self.outbox.get(..n).unwrap_or_default();
            let mut body = BytesMut::with_capacity(encoded_payload_len(frames));
            encode_payload(frames, &mut body);
            self.outbox.drain(..n);
            self.post = Some(Box::pin(request(
                &self.http,
                Method::POST,
                &self.uri,
                &self.headers,
                body.freeze(),
            )));
        }
    }
}

/// How many frames from the start of `frames` fit in one payload of
/// `max` bytes: always at least one.
fn chunk_len(frames: &[Frame], max: usize) -> usize {
    let mut len = 0;
    for (i, frame) in frames.iter().enumerate() {
        len += encoded_payload_len(std::slice::from_ref(frame)) + usize::from(i > 0);
        if len > max && i > 0 {
            return i;
        }
    }
    frames.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_split_at_max_payload() {
        let frames: Vec<Frame> = (0..5).map(|_| Frame::message("123456789")).collect();
        // Each frame is 10 bytes, plus one separator between two.
        assert_eq!(chunk_len(&frames, 1000), 5);
        assert_eq!(chunk_len(&frames, 21), 2);
        assert_eq!(chunk_len(&frames, 20), 1);
        // A frame larger than the limit still goes, alone.
        assert_eq!(chunk_len(&frames, 3), 1);
        assert_eq!(chunk_len(&[], 3), 0);
    }
}
