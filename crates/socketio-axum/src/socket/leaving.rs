//! Leaving: disconnecting a socket, closing its connection, tearing it down.

use super::*;

impl SocketRef {
    /// Closes the whole connection (every namespace of this client) after a
    /// `DISCONNECT` in each, as Node's `socket.disconnect(true)`: the client
    /// sees `io server disconnect` once and does not reconnect by itself.
    /// To have it reconnect, close the transport alone with
    /// [`conn().close()`](crate::Connection::close).
    pub fn close_connection(&self) {
        let sockets = crate::client::sockets_of(&self.0.conn);
        for socket in sockets {
            socket.disconnect();
        }
        self.0.conn.close();
    }

    /// Disconnects the socket from its namespace: the client gets a
    /// `DISCONNECT` and its `disconnect` event with reason
    /// `io server disconnect`; the connection stays open for other namespaces.
    pub fn disconnect(&self) {
        self.disconnect_because(DisconnectReason::ServerNamespaceDisconnect);
    }

    /// Sends the client a `DISCONNECT` for this namespace and leaves it.
    pub(crate) fn disconnect_because(&self, reason: DisconnectReason) {
        if self.connected() {
            let packet = encode_disconnect(&mut BytesMut::new(), self.ns());
            if let Ok(out) = self.0.ns.outbound(packet) {
                let _ = self.0.conn.send(out);
            }
        }
        self.close(reason);
    }

    /// Leaves the namespace: runs the `disconnecting` handler, leaves the
    /// rooms, fails the pending acknowledgements and runs the `disconnect`
    /// handler, in this socket's handler order.
    pub(crate) fn close(&self, reason: DisconnectReason) {
        if self.0.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let was_connected = self.0.connected.swap(false, Ordering::AcqRel);
        crate::client::forget(&self.0.conn, self);
        if !was_connected {
            // Refused by a middleware, or closed before its connect handler ran.
            return;
        }
        trace::debug!(ns = %self.ns(), sid = %self.id(), %reason, "socket.io: socket disconnected");
        let socket = self.clone();
        let job: Job = Box::new(move || {
            Box::pin(async move {
                // The clean-up happens whatever the user's handlers do: a
                // panic in one is logged, and the socket leaves all the same.
                let run = |handler: Option<BoxedDisconnectHandler>, what| {
                    let socket = socket.clone();
                    async move {
                        let Some(h) = handler else { return };
                        let call = CatchPanic::new(async { h.call(socket.clone(), reason).await });
                        if let Err(p) = call.await {
                            trace::error!(ns = %socket.ns(), sid = %socket.id(), what, panic = %p, "socket.io: a disconnect handler panicked");
                        }
                    }
                };
                let disconnecting = crate::lock(&socket.0.disconnecting_handler).take();
                run(disconnecting, "disconnecting handler").await;
                // The session as it stands, kept only once the disconnect
                // handler is done: a client that recovers must not find
                // its id's old handler still running (Node keeps it and
                // runs `disconnect` in one synchronous step).
                let session = match (socket.0.ns.sessions(), &socket.0.pid) {
                    (Some(_), Some(pid)) if reason.recoverable() => {
                        Some(crate::adapter::Session::new(
                            Str::from(socket.id().to_string()),
                            pid.clone(),
                            socket.rooms(),
                            socket.data(),
                        ))
                    }
                    _ => None,
                };
                socket.0.ns.remove(&socket);
                if let Some(o) = socket.0.ns.shared.observer.get() {
                    o.socket_disconnected(&socket, reason);
                    // Its own room, which `Rooms` does not hold, after the
                    // disconnection, as Node's adapter reports it.
                    let own = Room::from(socket.id().to_string());
                    o.room_left(socket.ns(), &own, socket.id());
                }
                socket.forget_all_acks();
                let disconnect = crate::lock(&socket.0.disconnect_handler).take();
                run(disconnect, "disconnect handler").await;
                if let (Some(store), Some(session)) = (socket.0.ns.sessions(), session) {
                    store.persist(session);
                }
                write(&socket.0.handlers).clear();
                if socket.0.reading_held.swap(false, Ordering::AcqRel) {
                    socket.0.conn.resume_reading();
                }
                *write(&socket.0.any_handler) = None;
            })
        });
        self.run(job);
    }

    /// A socket that never joined (refused, or its connection gone while the
    /// middlewares ran): it leaves its connection's list and whatever rooms
    /// a middleware joined, and may join none from now on (Node's `_cleanup`).
    pub(crate) fn abandon(&self) {
        self.0.closed.store(true, Ordering::Release);
        crate::client::forget(&self.0.conn, self);
        self.0.ns.leave_all(self, true);
    }
}
