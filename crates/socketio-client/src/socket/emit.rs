//! Emitting from a [`Socket`]: events, events with an ack, volatile events
//! and the acks of the server's events.

use std::sync::atomic::Ordering;

use bytes::BytesMut;
use serde::{de::DeserializeOwned, Serialize};
use socketio_protocol::socket::{encode_ack, encode_event, AckId, RESERVED_EVENTS};
use tokio::sync::oneshot;

use super::Socket;
use crate::{ack::AckFuture, config::BufferOverflow, driver::Command, Error};

impl Socket {
    /// Emits `event` with `data`. `data` maps to arguments by one rule, the same for every emit, ack
    /// and broadcast of the server and the client: a tuple is several
    /// arguments, `()` none, anything else (a struct, a `Vec`, a JSON array)
    /// one, and a [`Spread`](crate::Spread) is a list of any length; see the
    /// table on [`encode_event`](socketio_protocol::socket::encode_event).
    /// Bytes ([`Binary`](crate::Binary)) become binary attachments.
    ///
    /// While the socket is not connected, the packet is buffered and sent,
    /// in order, once it is; when the buffer is full this fails or drops
    /// the oldest packet, as configured
    /// ([`ClientBuilder::buffer_overflow`](crate::ClientBuilder::buffer_overflow)).
    ///
    /// ```
    /// use socketio_client::Binary;
    ///
    /// # fn demo(socket: socketio_client::Socket) -> Result<(), socketio_client::Error> {
    /// socket.emit("ping", &())?;                          // 42["ping"]
    /// socket.emit("chat", "hi")?;                         // 42["chat","hi"]
    /// socket.emit("move", &(1, 2))?;                      // 42["move",1,2]
    /// socket.emit("file", &("a.bin", Binary::from(vec![1, 2])))?; // binary attachment
    /// # Ok(()) }
    /// ```
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), Error> {
        let packet = self.encode(event, None, data)?;
        let counted = self.reserve()?;
        self.send(Command::Emit {
            slot: self.slot(),
            packet,
            ack: None,
            volatile: false,
            counted,
        })
    }

    /// Emits `event` with `data` (as [`emit`](Self::emit)) and waits for
    /// the server's acknowledgement, for at most the client's
    /// [`ack_timeout`](crate::ClientBuilder::ack_timeout) unless
    /// [`AckFuture::timeout`] sets another.
    ///
    /// If the socket disconnects after the packet was sent, the future fails
    /// ([`Error::is_disconnected`]); a packet still buffered keeps waiting
    /// for the reconnection.
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// # async fn demo(socket: socketio_client::Socket) -> Result<(), socketio_client::Error> {
    /// let (status, count): (String, u32) = socket
    ///     .emit_with_ack("stats", &())
    ///     .timeout(Duration::from_secs(1))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn emit_with_ack<T, R>(&self, event: &str, data: &T) -> AckFuture<R>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let id = self.core.next_ack.fetch_add(1, Ordering::Relaxed);
        let emitted = self.encode(event, Some(id), data).and_then(|packet| {
            let counted = self.reserve()?;
            let (tx, rx) = oneshot::channel();
            self.send(Command::Emit {
                slot: self.slot(),
                packet,
                ack: Some((id, tx)),
                volatile: false,
                counted,
            })?;
            Ok(rx)
        });
        match emitted {
            Ok(rx) => AckFuture::waiting(rx, self.clone(), id, self.shared.config.ack_timeout),
            Err(e) => AckFuture::failed(e),
        }
    }

    /// The volatile flag: the next emit is dropped, instead of buffered,
    /// if the socket is not connected.
    ///
    /// ```
    /// # fn demo(socket: socketio_client::Socket) -> Result<(), socketio_client::Error> {
    /// socket.volatile().emit("cursor", &(10, 20))?;
    /// # Ok(()) }
    /// ```
    pub fn volatile(&self) -> Volatile<'_> {
        Volatile { socket: self }
    }

    fn encode<T: Serialize + ?Sized>(
        &self,
        event: &str,
        ack: Option<AckId>,
        data: &T,
    ) -> Result<socketio_protocol::socket::EncodedPacket, Error> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(Error::reserved_event(event));
        }
        encode_event(&mut BytesMut::new(), &self.core.ns, event, ack, data)
            .map_err(Error::serialize)
    }

    /// Counts a packet emitted while disconnected against the buffer's
    /// bound; whether it was counted.
    fn reserve(&self) -> Result<bool, Error> {
        if self.connected() {
            return Ok(false);
        }
        let config = &self.shared.config;
        let before = self.core.buffered.fetch_add(1, Ordering::AcqRel);
        if config.buffer_overflow == BufferOverflow::Reject && before >= config.max_buffered_packets
        {
            self.core.buffered.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::buffer_full(config.max_buffered_packets));
        }
        Ok(true)
    }

    /// Answers the server's event `id`.
    pub(crate) fn send_ack<T: Serialize + ?Sized>(&self, id: AckId, data: &T) -> Result<(), Error> {
        let packet =
            encode_ack(&mut BytesMut::new(), &self.core.ns, id, data).map_err(Error::serialize)?;
        self.send(Command::Ack {
            slot: self.slot(),
            packet,
        })
    }
}

/// A [`Socket`] whose next emit is dropped if the socket is not connected;
/// from [`Socket::volatile`].
///
/// ```
/// # fn demo(socket: socketio_client::Socket) -> Result<(), socketio_client::Error> {
/// socket.volatile().emit("position", &(1.5, 2.5))?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Volatile<'a> {
    socket: &'a Socket,
}

impl Volatile<'_> {
    /// Emits as [`Socket::emit`] does if the socket is connected; else
    /// drops the packet (and returns `Ok`).
    ///
    /// ```
    /// # let client = socketio_client::Client::builder("http://localhost:3000").build().unwrap();
    /// let socket = client.socket("/");
    /// // Not connected: dropped, not buffered.
    /// assert!(socket.volatile().emit("cursor", &(1, 2)).is_ok());
    /// ```
    pub fn emit<T: Serialize + ?Sized>(self, event: &str, data: &T) -> Result<(), Error> {
        let socket = self.socket;
        let packet = socket.encode(event, None, data)?;
        if !socket.connected() {
            return Ok(());
        }
        socket.send(Command::Emit {
            slot: socket.slot(),
            packet,
            ack: None,
            volatile: true,
            counted: false,
        })
    }
}
