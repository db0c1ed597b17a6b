//! What a namespace sends, in the protocol its channels speak: Node's
//! classic adapter ([`wire`]), its sharded one ([`sharded`]), or its
//! streams adapter (the sharded one's messages, appended to a stream or
//! published as msgpack). The one place that picks between them, for the
//! adapter's namespaces and for the emitter alike.

use rmpv::Value;
use socketio_axum::adapter::{BroadcastOptions, Room};

use crate::{
    link::Outgoing,
    sharded::{self, Message},
    wire::{self, Channels, RequestType},
};

/// One namespace's sender: its id in the cluster (`uid`), its path and its
/// channels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Protocol<'a> {
    pub(crate) uid: &'a str,
    pub(crate) nsp: &'a str,
    pub(crate) channels: &'a Channels,
}

impl Protocol<'_> {
    /// A request for every server: on the request channel, or, for the
    /// streams protocol, appended to the stream (what Node's streams
    /// adapter does not count as ephemeral).
    fn request(&self, message: Message<'_>) -> Outgoing {
        if self.channels.is_streams() {
            return Outgoing::Append {
                fields: message.stream_fields(),
            };
        }
        self.publish(message)
    }

    /// A message of the sharded or streams protocol, published on the
    /// request channel.
    fn publish(&self, message: Message<'_>) -> Outgoing {
        Outgoing::Publish {
            channel: self.channels.request.clone(),
            payload: message.encode(self.channels),
        }
    }

    fn classic(&self, payload: Vec<u8>) -> Outgoing {
        Outgoing::Publish {
            channel: self.channels.request.clone(),
            payload,
        }
    }

    /// A broadcast (no acks).
    pub(crate) fn broadcast(
        &self,
        event: &str,
        args: Vec<Value>,
        opts: &BroadcastOptions,
    ) -> Outgoing {
        if self.channels.is_sharded() {
            let message = sharded::broadcast(self.uid, self.nsp, (event, args), opts, None);
            if self.channels.is_streams() {
                return self.request(message);
            }
            return Outgoing::Publish {
                channel: self.channels.broadcast_to(opts),
                payload: message.sharded(),
            };
        }
        Outgoing::Publish {
            channel: self.channels.broadcast_to(opts),
            payload: wire::broadcast(self.uid, self.nsp, event, args, opts),
        }
    }

    /// A join (`join`) or leave request for the sockets `opts` selects.
    pub(crate) fn rooms_request(
        &self,
        join: bool,
        opts: &BroadcastOptions,
        rooms: &[Room],
    ) -> Outgoing {
        if self.channels.is_sharded() {
            return self.request(sharded::sockets_rooms(
                self.uid, self.nsp, join, opts, rooms,
            ));
        }
        let ty = if join {
            RequestType::RemoteJoin
        } else {
            RequestType::RemoteLeave
        };
        self.classic(wire::rooms_request(self.uid, ty, opts, rooms))
    }

    /// A disconnection of the sockets `opts` selects (`close`: their
    /// whole connection).
    pub(crate) fn disconnect_request(&self, opts: &BroadcastOptions, close: bool) -> Outgoing {
        if self.channels.is_sharded() {
            self.request(sharded::disconnect_sockets(self.uid, self.nsp, opts, close))
        } else {
            self.classic(wire::disconnect_request(self.uid, opts, close))
        }
    }

    /// A `SERVER_SIDE_EMIT`; with a request id, the servers answer. Always
    /// published (ephemeral for the streams protocol too).
    pub(crate) fn server_side_request(
        &self,
        request_id: Option<&str>,
        event: &str,
        args: Vec<Value>,
    ) -> Outgoing {
        if self.channels.is_sharded() {
            self.publish(sharded::server_side_emit(
                self.uid, self.nsp, request_id, event, args,
            ))
        } else {
            self.classic(wire::server_side_emit(self.uid, request_id, event, args))
        }
    }
}
