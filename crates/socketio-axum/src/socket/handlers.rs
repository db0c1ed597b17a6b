//! Registering a socket's handlers: events, any event, disconnection,
//! packet middlewares, the outgoing hook.

use super::*;

impl SocketRef {
    /// Handles the event `event` with `handler`, replacing any earlier one.
    ///
    /// Events of one socket are handled one after another, in the order they
    /// arrived: a handler that awaits holds back the next event of this
    /// socket (never those of others).
    ///
    /// ```
    /// use socketio_axum::{extract::{AckSender, Data}, SocketRef};
    ///
    /// async fn on_connect(socket: SocketRef) {
    ///     socket.on("chat", |socket: SocketRef, Data(text): Data<String>, ack: AckSender| async move {
    ///         let _ = socket.broadcast().emit("chat", &text);
    ///         let _ = ack.send("delivered");
    ///     });
    /// }
    /// ```
    pub fn on<H, T>(&self, event: impl Into<Str>, handler: H)
    where
        H: MessageHandler<T>,
        T: 'static,
    {
        write(&self.0.handlers).insert(event.into(), handler::boxed_message(handler), false);
    }

    /// Like [`on`](Self::on), but each occurrence of the event runs on its
    /// own task, concurrently with the socket's other events (opt-in
    /// concurrency; order between them is not kept).
    pub fn on_concurrent<H, T>(&self, event: impl Into<Str>, handler: H)
    where
        H: MessageHandler<T>,
        T: 'static,
    {
        write(&self.0.handlers).insert(event.into(), handler::boxed_message(handler), true);
    }

    /// Adds a per-packet middleware (Node's `socket.use`): it sees every
    /// incoming event before its handler, in order of registration. An
    /// `Err(reason)` drops the event: the client gets the ack
    /// `[{"error": reason}]` if it waits for one, and a `tracing` warning is emitted.
    ///
    /// ```
    /// use socketio_axum::SocketRef;
    ///
    /// fn register(socket: SocketRef) {
    ///     socket.use_packet(|_socket, parts| {
    ///         if parts.event().starts_with("admin:") { Err("forbidden".to_owned()) } else { Ok(()) }
    ///     });
    /// }
    /// ```
    pub fn use_packet<F>(&self, middleware: F)
    where
        F: Fn(&SocketRef, &MessageParts) -> Result<(), String> + Send + Sync + 'static,
    {
        let mut list = write(&self.0.packet_middlewares);
        let mut next = list.to_vec();
        next.push(Arc::new(middleware));
        *list = next.into();
    }

    /// Handles every event that has no handler of its own (Node's `onAny` for
    /// unhandled events); use the [`Event`](crate::extract::Event) extractor for its name.
    pub fn on_any<H, T>(&self, handler: H)
    where
        H: MessageHandler<T>,
        T: 'static,
    {
        *write(&self.0.any_handler) = Some(handler::boxed_message(handler));
    }

    /// Runs `handler` when the socket leaves, after it has left its rooms.
    pub fn on_disconnect<H, T>(&self, handler: H)
    where
        H: DisconnectHandler<T>,
        T: 'static,
    {
        *crate::lock(&self.0.disconnect_handler) = Some(handler::boxed_disconnect(handler));
    }

    /// Runs `handler` when the socket is about to leave, while its rooms can
    /// still be read (Node's `disconnecting` event).
    pub fn on_disconnecting<H, T>(&self, handler: H)
    where
        H: DisconnectHandler<T>,
        T: 'static,
    {
        *crate::lock(&self.0.disconnecting_handler) = Some(handler::boxed_disconnect(handler));
    }

    /// Calls `hook` with the name and JSON arguments of every event this
    /// socket emits (Node's `onAnyOutgoing`).
    pub fn on_any_outgoing<F>(&self, hook: F)
    where
        F: Fn(&SocketRef, &str, &Str) + Send + Sync + 'static,
    {
        *write(&self.0.outgoing_hook) = Some(Arc::new(hook));
    }
}
