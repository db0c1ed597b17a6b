//! Acknowledgements both ways: [`AckFuture`] waits for the server's answer
//! to an emit, [`AckSender`] answers one of the server's.

use std::{
    fmt,
    future::Future,
    marker::PhantomData,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};
use socketio_protocol::{
    socket::{deserialize_data, AckId},
    Str,
};
use tokio::{
    sync::oneshot,
    time::{sleep_until, Instant, Sleep},
};

use crate::{
    driver::Command,
    extract::{EventParts, FromEventParts},
    Error, Socket,
};

/// The arguments of an acknowledgement, as received.
#[derive(Debug)]
pub(crate) struct AckReply {
    pub(crate) args: Str,
    pub(crate) attachments: Vec<Bytes>,
}

pub(crate) type AckTx = oneshot::Sender<Result<AckReply, Error>>;

/// The server's acknowledgement of an emit, deserialized as
/// [`Data`](crate::extract::Data) would be (a tuple for several arguments).
/// Returned by [`Socket::emit_with_ack`].
///
/// The packet is emitted when `emit_with_ack` is called, not when the future
/// is first polled, and the timeout runs from then.
///
/// - **Dropping the future** only forgets the answer: the packet is sent all
///   the same (at once, or from the buffer once the socket is connected
///   again), as the JS client sends an emit whose callback nobody waits
///   for. The answer, when it comes, is ignored.
/// - **On timeout** the future fails with [`Error::is_timeout`] and the
///   acknowledgement is forgotten; a packet still buffered is removed and
///   never sent (as with the JS client's `socket.timeout(d).emit`).
///
/// ```
/// use std::time::Duration;
///
/// # async fn demo(socket: socketio_client::Socket) -> Result<(), socketio_client::Error> {
/// let sum: i64 = socket
///     .emit_with_ack("add", &(1, 2))
///     .timeout(Duration::from_secs(2))
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "an acknowledgement is only waited for when the future is awaited"]
pub struct AckFuture<R> {
    state: State,
    timeout: Option<Duration>,
    emitted: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    _reply: PhantomData<fn() -> R>,
}

enum State {
    Failed(Option<Error>),
    Waiting {
        rx: oneshot::Receiver<Result<AckReply, Error>>,
        socket: Socket,
        id: AckId,
    },
    Done,
}

impl<R> fmt::Debug for AckFuture<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckFuture")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<R> AckFuture<R> {
    pub(crate) fn waiting(
        rx: oneshot::Receiver<Result<AckReply, Error>>,
        socket: Socket,
        id: AckId,
        timeout: Option<Duration>,
    ) -> Self {
        AckFuture {
            state: State::Waiting { rx, socket, id },
            timeout,
            emitted: Instant::now(),
            sleep: None,
            _reply: PhantomData,
        }
    }

    pub(crate) fn failed(e: Error) -> Self {
        AckFuture {
            state: State::Failed(Some(e)),
            timeout: None,
            emitted: Instant::now(),
            sleep: None,
            _reply: PhantomData,
        }
    }

    /// Waits at most `timeout` from the emit (replacing the client's
    /// [`ack_timeout`](crate::ClientBuilder::ack_timeout)); then fails with
    /// an error for which [`Error::is_timeout`] is true.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # async fn demo(socket: socketio_client::Socket) {
    /// let reply = socket.emit_with_ack::<_, String>("ping", &()).timeout(Duration::from_millis(500)).await;
    /// # }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self.sleep = None;
        self
    }

    /// Tells the connection task to forget the acknowledgement and, with
    /// `unsend`, the packet if it is still buffered.
    fn forget(&mut self, unsend: bool) {
        if let State::Waiting { socket, id, .. } = std::mem::replace(&mut self.state, State::Done) {
            let _ = socket.send(Command::ForgetAck {
                slot: socket.slot(),
                id,
                unsend,
            });
        }
    }
}

impl<R: DeserializeOwned> Future for AckFuture<R> {
    type Output = Result<R, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let rx = match &mut this.state {
            State::Failed(e) => {
                let e = e.take().unwrap_or_else(Error::closed);
                this.state = State::Done;
                return Poll::Ready(Err(e));
            }
            State::Waiting { rx, .. } => rx,
            State::Done => return Poll::Ready(Err(Error::closed())),
        };
        if let Poll::Ready(reply) = Pin::new(rx).poll(cx) {
            this.state = State::Done;
            return Poll::Ready(match reply {
                Ok(Ok(reply)) => {
                    deserialize_data(&reply.args, &reply.attachments).map_err(Error::decode)
                }
                Ok(Err(e)) => Err(e),
                Err(_) => Err(Error::closed()),
            });
        }
        if let Some(timeout) = this.timeout {
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(sleep_until(this.emitted + timeout)));
            if sleep.as_mut().poll(cx).is_ready() {
                this.forget(true);
                return Poll::Ready(Err(Error::ack_timeout(timeout)));
            }
        }
        Poll::Pending
    }
}

impl<R> Drop for AckFuture<R> {
    fn drop(&mut self) {
        // The emit stands: only its answer is no longer wanted.
        self.forget(false);
    }
}

/// Answers an event the server emitted with an acknowledgement callback,
/// once. If the server asked for none, sending does nothing.
///
/// ```
/// use socketio_client::extract::{AckSender, Data};
///
/// # fn register(socket: socketio_client::Socket) {
/// socket.on("question", |Data(q): Data<String>, ack: AckSender| async move {
///     let _ = ack.send(&format!("you asked {q}"));
/// });
/// # }
/// ```
pub struct AckSender {
    target: Option<(Socket, AckId)>,
}

impl fmt::Debug for AckSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckSender")
            .field("id", &self.target.as_ref().map(|(_, id)| id))
            .finish()
    }
}

impl AckSender {
    /// Whether the server waits for an acknowledgement.
    ///
    /// ```
    /// use socketio_client::AckSender;
    ///
    /// # fn register(socket: socketio_client::Socket) {
    /// socket.on("job", |ack: AckSender| async move {
    ///     if ack.is_expected() {
    ///         let _ = ack.send("started");
    ///     }
    /// });
    /// # }
    /// ```
    pub fn is_expected(&self) -> bool {
        self.target.is_some()
    }

    /// Sends the acknowledgement. `data` maps to arguments by one rule, the same for every emit, ack
    /// and broadcast of the server and the client: a tuple is several
    /// arguments, `()` none, anything else (a struct, a `Vec`, a JSON array)
    /// one, and a [`Spread`](crate::Spread) is a list of any length; see the
    /// table on [`encode_event`](socketio_protocol::socket::encode_event).
    /// Bytes become binary attachments.
    ///
    /// An acknowledgement is only sent on the connection the event came on:
    /// if the socket has disconnected since, it is dropped.
    ///
    /// ```
    /// use socketio_client::{extract::Data, AckSender};
    ///
    /// # fn register(socket: socketio_client::Socket) {
    /// socket.on("sum", |Data(v): Data<Vec<i64>>, ack: AckSender| async move {
    ///     ack.send(&(v.iter().sum::<i64>(),))
    /// });
    /// # }
    /// ```
    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), Error> {
        match self.target {
            Some((socket, id)) => socket.send_ack(id, data),
            None => Ok(()),
        }
    }
}

impl FromEventParts for AckSender {
    type Rejection = std::convert::Infallible;

    fn from_event_parts(parts: &mut EventParts<'_>) -> Result<Self, Self::Rejection> {
        let target = match parts.ack_id {
            Some(id) => parts.socket().map(|socket| {
                parts.ack_id = None;
                (socket, id)
            }),
            None => None,
        };
        Ok(AckSender { target })
    }
}
