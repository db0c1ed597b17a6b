//! The WebSocket transport: one Engine.IO packet per WebSocket message.

use std::{
    collections::VecDeque,
    io,
    task::{ready, Context, Poll},
};

use bytes::Bytes;
use futures_util::{Sink, Stream};
use http::HeaderMap;
use socketio_protocol::{
    engine::{Frame, Packet},
    Str,
};
use tokio_tungstenite::{
    tungstenite::{self, client::IntoClientRequest, error::ProtocolError, Message, Utf8Bytes},
    WebSocketStream,
};

use super::{
    net::{self, Connector},
    Closed,
};
use crate::{error::HttpStatus, DisconnectReason, Error};

pub(crate) type WsStream = WebSocketStream<net::Stream>;

/// Opens a WebSocket to `url` (`ws://` or `wss://`, as `connector` was
/// made for), with the configured extra headers.
pub(crate) async fn connect(
    connector: Connector,
    url: String,
    headers: HeaderMap,
) -> Result<WsStream, Error> {
    let mut request = url
        .into_client_request()
        .map_err(|e| Error::transport("invalid WebSocket URL", e))?;
    request
        .headers_mut()
        .extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    let stream = connector
        .connect(request.uri())
        .await
        .map_err(|e| Error::transport("cannot open the WebSocket", e))?;
    let (stream, _response) = tokio_tungstenite::client_async_with_config(request, stream, None)
        .await
        .map_err(open_error)?;
    Ok(stream)
}

/// The cause of a failed WebSocket handshake, as the source of the error:
/// the `io::Error` itself, or the status and what the server said.
fn open_error(e: tungstenite::Error) -> Error {
    match e {
        tungstenite::Error::Io(e) => Error::transport("cannot open the WebSocket", e),
        tungstenite::Error::Http(response) => Error::transport(
            "the server refused the WebSocket",
            HttpStatus::new(
                response.status(),
                response.body().as_deref().unwrap_or_default(),
            ),
        ),
        e => Error::transport("cannot open the WebSocket", e),
    }
}

/// An open WebSocket and the messages waiting to be written to it.
pub(crate) struct Ws {
    stream: WsStream,
    outbox: VecDeque<Message>,
    unflushed: bool,
}

impl Ws {
    pub(crate) fn new(stream: WsStream) -> Self {
        Ws {
            stream,
            outbox: VecDeque::new(),
            unflushed: false,
        }
    }

    pub(crate) fn send(&mut self, frame: Frame) {
        let message = match frame {
            // A `Str` is UTF-8, so the check cannot fail.
            Frame::Text(text) => {
                Message::Text(Utf8Bytes::try_from(text.into_bytes()).unwrap_or_default())
            }
            Frame::Binary(data) => Message::Binary(data),
        };
        self.outbox.push_back(message);
    }

    /// Writes and flushes what is queued; ready when all of it is flushed.
    pub(crate) fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut stream = std::pin::Pin::new(&mut self.stream);
        while !self.outbox.is_empty() {
            ready!(stream.as_mut().poll_ready(cx)).map_err(write_error)?;
            if let Some(message) = self.outbox.pop_front() {
                stream.as_mut().start_send(message).map_err(write_error)?;
                self.unflushed = true;
            }
        }
        if self.unflushed {
            ready!(stream.as_mut().poll_flush(cx)).map_err(write_error)?;
            self.unflushed = false;
        }
        Poll::Ready(Ok(()))
    }

    /// The next Engine.IO packet, skipping WebSocket control frames.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Packet, Closed>> {
        loop {
            let message = match ready!(std::pin::Pin::new(&mut self.stream).poll_next(cx)) {
                Some(Ok(message)) => message,
                Some(Err(e)) => return Poll::Ready(Err(read_error(e))),
                None => return Poll::Ready(Err(Closed::new(DisconnectReason::TransportClose))),
            };
            return Poll::Ready(match message {
                Message::Text(text) => Str::try_from(Bytes::from(text))
                    .map_err(|_| Closed::new(DisconnectReason::ParseError))
                    .and_then(|text| {
                        Packet::decode_text(text).map_err(|e| {
                            Closed::with_error(
                                DisconnectReason::ParseError,
                                Error::protocol_with("invalid Engine.IO packet", e),
                            )
                        })
                    }),
                Message::Binary(data) => Ok(Packet::decode_binary(data)),
                Message::Close(_) => Err(Closed::new(DisconnectReason::TransportClose)),
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            });
        }
    }

    /// Flushes what is queued, then closes the WebSocket.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if ready!(self.poll_write(cx)).is_err() {
            return Poll::Ready(());
        }
        let _ = ready!(std::pin::Pin::new(&mut self.stream).poll_close(cx));
        Poll::Ready(())
    }
}

fn write_error(e: tungstenite::Error) -> Error {
    Error::transport("cannot write to the WebSocket", e)
}

/// A closed WebSocket is a `transport close`, as in the JS client; other
/// failures are `transport error`s.
fn read_error(e: tungstenite::Error) -> Closed {
    let closed = match &e {
        tungstenite::Error::ConnectionClosed
        | tungstenite::Error::AlreadyClosed
        | tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => true,
        tungstenite::Error::Io(io) => matches!(
            io.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
        ),
        _ => false,
    };
    let reason = match closed {
        true => DisconnectReason::TransportClose,
        false => DisconnectReason::TransportError,
    };
    Closed::with_error(reason, Error::transport("WebSocket failed", e))
}
