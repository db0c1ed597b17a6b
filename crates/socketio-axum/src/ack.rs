use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures_util::{stream::FuturesUnordered, Stream, StreamExt};
use serde::de::DeserializeOwned;
use socketio_protocol::{engine::Sid, socket::deserialize_data, Str};
use tokio::sync::oneshot;

use crate::{
    adapter::{AdapterError, RemoteAcks},
    handler::BoxFuture,
    trace, AckError, EmitError, SocketRef,
};

/// The arguments of an acknowledgement, as received.
#[derive(Debug)]
pub(crate) struct AckReply {
    pub(crate) args: Str,
    pub(crate) attachments: Vec<Bytes>,
}

impl AckReply {
    fn decode<R: DeserializeOwned>(&self) -> Result<R, AckError> {
        deserialize_data(&self.args, &self.attachments).map_err(AckError::Decode)
    }
}

/// Resolves to a client's acknowledgement, or an error on timeout or disconnection.
/// Returned by [`SocketRef::emit_with_ack`].
///
/// The timeout runs from the emit, not from the first poll; dropping the
/// future forgets the acknowledgement.
#[must_use = "an acknowledgement is only waited for when the future is awaited"]
pub struct AckFuture<R> {
    inner: Pin<Box<dyn Future<Output = Result<R, AckError>> + Send>>,
}

impl<R> fmt::Debug for AckFuture<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckFuture").finish_non_exhaustive()
    }
}

impl<R: DeserializeOwned + Send + 'static> AckFuture<R> {
    pub(crate) fn new(
        rx: oneshot::Receiver<AckReply>,
        timeout: Duration,
        socket: SocketRef,
        id: u64,
    ) -> Self {
        let deadline = tokio::time::Instant::now() + timeout;
        AckFuture {
            inner: Box::pin(async move {
                match tokio::time::timeout_at(deadline, rx).await {
                    Ok(Ok(reply)) => reply.decode(),
                    Ok(Err(_)) => Err(AckError::Disconnected),
                    Err(_) => {
                        socket.ack_timed_out(id);
                        Err(AckError::Timeout(timeout))
                    }
                }
            }),
        }
    }

    pub(crate) fn failed(e: AckError) -> Self {
        AckFuture {
            inner: Box::pin(std::future::ready(Err(e))),
        }
    }
}

impl<R> Future for AckFuture<R> {
    type Output = Result<R, AckError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

/// Resolves, once every targeted client answered or the timeout passed, to
/// each socket's acknowledgement or error. Returned by
/// [`BroadcastOperators::emit_with_ack`](crate::BroadcastOperators::emit_with_ack).
///
/// To handle the answers as they arrive (the first that answers wins, a
/// progress count), turn it into a [`BroadcastAckStream`] with
/// [`into_stream`](Self::into_stream).
#[must_use = "acknowledgements are only collected when the future is awaited"]
pub struct BroadcastAckFuture<R> {
    stream: BroadcastAckStream<R>,
    collected: Vec<(usize, Result<R, AckError>)>,
}

/// Each targeted socket's acknowledgement or error: this server's sockets
/// first, in the order they were reached, then those of other servers.
pub type AckReplies<R> = Vec<Result<R, AckError>>;

impl<R> fmt::Debug for BroadcastAckFuture<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastAckFuture").finish_non_exhaustive()
    }
}

impl<R: DeserializeOwned + Send + 'static> BroadcastAckFuture<R> {
    pub(crate) fn new(
        waiting: Vec<(SocketRef, u64, oneshot::Receiver<AckReply>)>,
        remote: Option<BoxFuture<Result<RemoteAcks, AdapterError>>>,
        timeout: Duration,
    ) -> Self {
        BroadcastAckFuture {
            collected: Vec::with_capacity(waiting.len()),
            stream: BroadcastAckStream::new(waiting, remote, timeout),
        }
    }
}

// No field is pinned: the answers are moved, never polled in place.
impl<R> Unpin for BroadcastAckFuture<R> {}
impl<R> Unpin for BroadcastAckStream<R> {}

impl<R> BroadcastAckFuture<R> {
    /// The acknowledgements one by one, in the order they arrive.
    pub fn into_stream(self) -> BroadcastAckStream<R> {
        self.stream
    }
}

impl<R: DeserializeOwned> Future for BroadcastAckFuture<R> {
    type Output = AckReplies<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        while let Some((order, _, result)) = ready!(this.stream.poll_next_ordered(cx)) {
            this.collected.push((order, result));
        }
        let mut collected = std::mem::take(&mut this.collected);
        collected.sort_unstable_by_key(|(order, _)| *order);
        Poll::Ready(collected.into_iter().map(|(_, r)| r).collect())
    }
}

/// The acknowledgements of a broadcast in the order they arrive (Node's
/// `emit(.., (err, responses))` callbacks as they come): each item is the
/// answering socket's id, `None` for a socket of another server (the
/// adapter's answers carry no id), and its acknowledgement or error. Ends
/// once every targeted client answered or the timeout passed; a client
/// that did not answer in time is an [`AckError::Timeout`] item then.
///
/// ```
/// use std::time::Duration;
/// use futures_util::StreamExt;
/// use socketio_axum::SocketIo;
///
/// async fn first_volunteer(io: SocketIo) -> Option<String> {
///     let acks = io.timeout(Duration::from_secs(5)).emit_with_ack::<_, bool>("who-can?", &()).ok()?;
///     let mut acks = acks.into_stream();
///     while let Some((socket, answer)) = acks.next().await {
///         if let (Some(id), Ok(true)) = (socket, answer) {
///             return Some(id.to_string());
///         }
///     }
///     None
/// }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct BroadcastAckStream<R> {
    local: FuturesUnordered<LocalAck>,
    deadline: tokio::time::Instant,
    /// Made at the first poll: the stream may be made outside a runtime.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    remote: Option<Remote>,
    /// Items known and not yet yielded: the late clients once the timeout
    /// passed, the other servers' answers once they came.
    ready: std::collections::VecDeque<Ordered<R>>,
    local_count: usize,
    timeout: Duration,
}

impl<R> fmt::Debug for BroadcastAckStream<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastAckStream")
            .field("waiting", &self.local.len())
            .finish_non_exhaustive()
    }
}

/// One socket's acknowledgement, awaited; the timeout is the stream's.
struct LocalAck {
    order: usize,
    socket: SocketRef,
    id: u64,
    rx: oneshot::Receiver<AckReply>,
}

impl Future for LocalAck {
    type Output = (usize, SocketRef, Result<AckReply, AckError>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let reply = ready!(Pin::new(&mut self.rx).poll(cx)).map_err(|_| AckError::Disconnected);
        Poll::Ready((self.order, self.socket.clone(), reply))
    }
}

impl<R> BroadcastAckStream<R> {
    fn new(
        waiting: Vec<(SocketRef, u64, oneshot::Receiver<AckReply>)>,
        remote: Option<BoxFuture<Result<RemoteAcks, AdapterError>>>,
        timeout: Duration,
    ) -> Self {
        // The other servers are asked now, not when the stream is first polled.
        let remote = match (remote, tokio::runtime::Handle::try_current()) {
            (Some(fut), Ok(rt)) => Some(Remote::Spawned(rt.spawn(fut))),
            (Some(fut), Err(_)) => Some(Remote::Lazy(fut)),
            (None, _) => None,
        };
        let local_count = waiting.len();
        let local = waiting
            .into_iter()
            .enumerate()
            .map(|(order, (socket, id, rx))| LocalAck {
                order,
                socket,
                id,
                rx,
            })
            .collect();
        BroadcastAckStream {
            local,
            deadline: tokio::time::Instant::now() + timeout,
            sleep: None,
            remote,
            ready: std::collections::VecDeque::new(),
            local_count,
            timeout,
        }
    }
}

type Ordered<R> = (usize, Option<Sid>, Result<R, AckError>);

impl<R: DeserializeOwned> BroadcastAckStream<R> {
    /// The next acknowledgement with its place in the order of reach.
    fn poll_next_ordered(&mut self, cx: &mut Context<'_>) -> Poll<Option<Ordered<R>>> {
        if let Some(item) = self.ready.pop_front() {
            return Poll::Ready(Some(item));
        }
        if !self.local.is_empty() {
            if let Poll::Ready(Some((order, socket, reply))) = self.local.poll_next_unpin(cx) {
                let result = reply.and_then(|r| r.decode());
                return Poll::Ready(Some((order, Some(socket.id()), result)));
            }
            let deadline = self.deadline;
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if sleep.as_mut().poll(cx).is_ready() {
                // The clients that did not answer in time, in the order reached.
                let mut late: Vec<LocalAck> = std::mem::take(&mut self.local).into_iter().collect();
                late.sort_unstable_by_key(|a| a.order);
                for ack in late {
                    ack.socket.ack_timed_out(ack.id);
                    let timeout = Err(AckError::Timeout(self.timeout));
                    self.ready
                        .push_back((ack.order, Some(ack.socket.id()), timeout));
                }
                return self.poll_next_ordered(cx);
            }
        }
        if let Some(remote) = self.remote.as_mut() {
            let replies = match remote {
                Remote::Spawned(task) => match ready!(Pin::new(task).poll(cx)) {
                    Ok(r) => r,
                    Err(_) => Err(AdapterError::new(
                        "the adapter's task for acknowledgements failed",
                    )),
                },
                Remote::Lazy(fut) => ready!(fut.as_mut().poll(cx)),
            };
            self.remote = None;
            let base = self.local_count;
            match replies {
                Ok(RemoteAcks { expected, acks }) => {
                    let missing = expected.saturating_sub(acks.len());
                    let answered = acks.into_iter().map(|r| {
                        AckReply {
                            args: r.args,
                            attachments: r.attachments,
                        }
                        .decode()
                    });
                    // Clients of other servers that did not answer in time.
                    let late = (0..missing).map(|_| Err(AckError::Timeout(self.timeout)));
                    let items = answered.chain(late).enumerate();
                    self.ready.extend(items.map(|(i, r)| (base + i, None, r)));
                }
                // One entry says that the other servers' answers are lost.
                Err(e) => {
                    trace::warn!(error = %e, "socket.io: acknowledgements from other servers lost");
                    let lost = Err(AckError::Emit(EmitError::Adapter(e)));
                    self.ready.push_back((base, None, lost));
                }
            }
            return self.poll_next_ordered(cx);
        }
        if self.local.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

impl<R: DeserializeOwned> Stream for BroadcastAckStream<R> {
    type Item = (Option<Sid>, Result<R, AckError>);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .poll_next_ordered(cx)
            .map(|item| item.map(|(_, socket, result)| (socket, result)))
    }
}

enum Remote {
    Spawned(tokio::task::JoinHandle<Result<RemoteAcks, AdapterError>>),
    Lazy(BoxFuture<Result<RemoteAcks, AdapterError>>),
}
