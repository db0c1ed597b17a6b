use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use serde::de::DeserializeOwned;
use socketio_protocol::{socket::deserialize_data, Str};
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
                        socket.forget_ack(id);
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
#[must_use = "acknowledgements are only collected when the future is awaited"]
pub struct BroadcastAckFuture<R> {
    inner: Pin<Box<dyn Future<Output = AckReplies<R>> + Send>>,
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
        let deadline = tokio::time::Instant::now() + timeout;
        // The other servers are asked now, not when the future is first polled.
        let remote = match (remote, tokio::runtime::Handle::try_current()) {
            (Some(fut), Ok(rt)) => Some(Remote::Spawned(rt.spawn(fut))),
            (Some(fut), Err(_)) => Some(Remote::Lazy(fut)),
            (None, _) => None,
        };
        BroadcastAckFuture {
            inner: Box::pin(async move {
                let mut out = Vec::with_capacity(waiting.len());
                for (socket, id, rx) in waiting {
                    let result = match tokio::time::timeout_at(deadline, rx).await {
                        Ok(Ok(reply)) => reply.decode(),
                        Ok(Err(_)) => Err(AckError::Disconnected),
                        Err(_) => {
                            socket.forget_ack(id);
                            Err(AckError::Timeout(timeout))
                        }
                    };
                    out.push(result);
                }
                if let Some(remote) = remote {
                    let replies = match remote {
                        Remote::Spawned(task) => task.await,
                        Remote::Lazy(fut) => Ok(fut.await),
                    };
                    match replies {
                        Ok(Ok(RemoteAcks { expected, acks })) => {
                            let missing = expected.saturating_sub(acks.len());
                            out.extend(acks.into_iter().map(|r| {
                                AckReply {
                                    args: r.args,
                                    attachments: r.attachments,
                                }
                                .decode()
                            }));
                            // Clients of other servers that did not answer in time.
                            out.extend((0..missing).map(|_| Err(AckError::Timeout(timeout))));
                        }
                        // One entry says that the other servers' answers are lost.
                        Ok(Err(e)) => {
                            trace::warn!(error = %e, "socket.io: acknowledgements from other servers lost");
                            out.push(Err(AckError::Emit(EmitError::Adapter(e))));
                        }
                        Err(_) => {
                            trace::warn!("socket.io: adapter task for acknowledgements failed");
                            let e =
                                AdapterError::new("the adapter's task for acknowledgements failed");
                            out.push(Err(AckError::Emit(EmitError::Adapter(e))));
                        }
                    }
                }
                out
            }),
        }
    }
}

enum Remote {
    Spawned(tokio::task::JoinHandle<Result<RemoteAcks, AdapterError>>),
    Lazy(BoxFuture<Result<RemoteAcks, AdapterError>>),
}

impl<R> Future for BroadcastAckFuture<R> {
    type Output = AckReplies<R>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}
