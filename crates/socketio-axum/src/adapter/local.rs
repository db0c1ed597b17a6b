use std::{
    fmt,
    sync::{Arc, Weak},
    time::Duration,
};

use bytes::BytesMut;
use serde::{de::DeserializeOwned, Serialize};
use socketio_protocol::{
    socket::{deserialize_data, encode_event_raw, EncodedPacket},
    Str,
};
use tokio::sync::{mpsc, oneshot};

use super::{BroadcastOptions, Room, SocketData};
use crate::{extract::RawArgs, ns::Namespace, EmitError};

/// This server's side of a namespace, as an [`Adapter`](super::Adapter)
/// sees it: it applies here what other servers ask for. Cheap to clone.
#[derive(Clone)]
pub struct LocalNamespace(pub(crate) Arc<Namespace>);

impl fmt::Debug for LocalNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LocalNamespace").field(&self.0.path).finish()
    }
}

impl LocalNamespace {
    /// The namespace path.
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// Delivers a broadcast from another server to the matching sockets
    /// here (through connection state recovery's store when it is on),
    /// uncompressed if [`opts.uncompressed`](BroadcastOptions::uncompressed).
    pub fn broadcast(&self, packet: EncodedPacket, opts: &BroadcastOptions) {
        // A packet this server's parser cannot write was logged.
        let _ = self.0.emit_here(packet, opts);
    }

    /// Delivers an event packet that already carries its offset (or needs
    /// none) to the matching sockets here, without the session store: for
    /// a [`SessionStore`](super::SessionStore) that gives offsets itself
    /// ([`Stored::Later`](super::Stored::Later)), and for the packets it
    /// reads from a log shared by servers. Uncompressed as
    /// [`broadcast`](Self::broadcast) is.
    pub fn broadcast_stored(&self, packet: EncodedPacket, opts: &BroadcastOptions) {
        let _ = self.0.emit_stored(packet, opts);
    }

    /// Emits `event` with `args` to the matching sockets here, expecting
    /// acknowledgements (uncompressed if
    /// [`opts.uncompressed`](BroadcastOptions::uncompressed)): returns how
    /// many sockets were reached and a channel that yields each
    /// acknowledgement within `timeout`.
    pub fn broadcast_with_ack(
        &self,
        event: &str,
        args: RawArgs,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> (usize, mpsc::UnboundedReceiver<RawArgs>) {
        let id = self.0.next_ack_id();
        let packet = encode_event_raw(
            &mut BytesMut::new(),
            &self.0.path,
            event,
            Some(id),
            &args.args,
            args.attachments,
        );
        let (tx, rx) = mpsc::unbounded_channel();
        // A packet this server's parser cannot write (logged) reaches nobody.
        let text = self.0.observed(&packet);
        let Ok(out) = self.0.outbound(packet) else {
            return (0, rx);
        };
        let out = crate::parser::compressed(out, !opts.uncompressed);
        let targets = self.0.targets(opts);
        let count = targets.len();
        for socket in targets {
            let ack = socket.register_ack(id);
            if self.0.deliver(&socket, out.clone(), opts.volatile) {
                if let (Some(o), Some(text)) = (self.0.shared.observer.get(), &text) {
                    o.event_sent(&self.0.path, socket.id(), text);
                }
            }
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(timeout, ack).await {
                    Ok(Ok(reply)) => {
                        let _ = tx.send(RawArgs {
                            args: reply.args,
                            attachments: reply.attachments,
                        });
                    }
                    _ => socket.forget_ack(id),
                }
            });
        }
        (count, rx)
    }

    /// Describes the matching sockets here.
    pub fn fetch_sockets(&self, opts: &BroadcastOptions) -> Vec<SocketData> {
        let observer = self.0.shared.observer.get();
        let describe = |s: &crate::SocketRef| {
            let mut data = s.describe();
            if let Some(o) = observer {
                o.describe(s, &mut data.data);
            }
            data
        };
        self.0.targets(opts).iter().map(describe).collect()
    }

    /// Makes the matching sockets here join `rooms`.
    pub fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.0.join_targets(opts, rooms);
    }

    /// Makes the matching sockets here leave `rooms`.
    pub fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.0.leave_targets(opts, rooms);
    }

    /// Disconnects the matching sockets here (their whole connection if `close`).
    pub fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        for socket in self.0.targets(opts) {
            if close {
                socket.close_connection();
            } else {
                socket.disconnect();
            }
        }
    }

    /// The rooms of the namespace here.
    pub fn rooms(&self) -> Vec<Room> {
        self.0.all_rooms()
    }

    /// Whether `room` has a member here: lets an adapter skip a broadcast
    /// aimed at a room this server has no socket in, without decoding it.
    pub fn has_room(&self, room: &str) -> bool {
        self.0.has_room(room)
    }

    /// Calls `watch` with the name of each room that gets its first member
    /// or loses its last one on this server, after the change (ask
    /// [`has_room`](Self::has_room) which it was: with joins and leaves on
    /// several threads, calls for one room may come in another order than
    /// the changes, but the last call follows the last change). For an
    /// adapter that subscribes per room, as Node's sharded Redis adapter
    /// does. `watch` runs on the task that joins or leaves, so it must be
    /// quick and must not block; it should hold a
    /// [`WeakLocalNamespace`], not this handle. One watcher per namespace:
    /// returns false, and drops `watch`, if one is set already.
    pub fn watch_rooms(&self, watch: impl Fn(&Room) + Send + Sync + 'static) -> bool {
        self.0.rooms.watch(super::rooms::RoomWatch(Box::new(watch)))
    }

    /// A handle that does not keep the namespace alive. An adapter that
    /// routes messages to namespaces keeps these, so that the namespace
    /// (which owns the adapter) can be dropped.
    pub fn downgrade(&self) -> WeakLocalNamespace {
        WeakLocalNamespace(Arc::downgrade(&self.0))
    }

    /// Hands an event from another server to this namespace's server-side handler.
    pub fn server_side_event(
        &self,
        event: Str,
        args: RawArgs,
        ack: Option<oneshot::Sender<RawArgs>>,
    ) {
        self.0
            .on_server_side_event(ServerSideEvent { event, args, ack });
    }
}

/// A [`LocalNamespace`] that does not keep its namespace alive; see
/// [`LocalNamespace::downgrade`].
#[derive(Clone)]
pub struct WeakLocalNamespace(Weak<Namespace>);

impl fmt::Debug for WeakLocalNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.upgrade() {
            Some(ns) => f
                .debug_tuple("WeakLocalNamespace")
                .field(&ns.path())
                .finish(),
            None => f.write_str("WeakLocalNamespace(<dropped>)"),
        }
    }
}

impl WeakLocalNamespace {
    /// The namespace, unless it was dropped.
    pub fn upgrade(&self) -> Option<LocalNamespace> {
        self.0.upgrade().map(LocalNamespace)
    }
}

/// An event emitted by another server with `server_side_emit` (Node's `serverSideEmit`).
pub struct ServerSideEvent {
    pub(crate) event: Str,
    args: RawArgs,
    ack: Option<oneshot::Sender<RawArgs>>,
}

impl fmt::Debug for ServerSideEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSideEvent")
            .field("event", &self.event)
            .field("args", &self.args.args)
            .field("expects_ack", &self.ack.is_some())
            .finish()
    }
}

impl ServerSideEvent {
    /// The event name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The arguments as received.
    pub fn args(&self) -> &RawArgs {
        &self.args
    }

    /// The arguments, deserialized as [`Data`](crate::extract::Data) does.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        deserialize_data(&self.args.args, &self.args.attachments)
    }

    /// Whether the sender waits for an answer.
    pub fn expects_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Answers the sender with `data` as one argument (Node's
    /// `serverSideEmit` callbacks take one); bytes become attachments.
    pub fn ack<T: Serialize + ?Sized>(self, data: &T) -> Result<(), EmitError> {
        let args = RawArgs::from_data(&(data,))?;
        self.ack_raw(args);
        Ok(())
    }

    /// Answers the sender with arguments as received (see [`RawArgs`]), to
    /// pass an answer on without decoding it.
    pub fn ack_raw(mut self, args: RawArgs) {
        if let Some(tx) = self.ack.take() {
            let _ = tx.send(args);
        }
    }
}
