//! What a namespace publishes, in the protocol its channels speak: Node's
//! classic adapter ([`wire`]) or its sharded one ([`sharded`]). The one
//! place that picks between the two, for the adapter's namespaces and for
//! the emitter alike.

use rmpv::Value;
use socketio_axum::adapter::{BroadcastOptions, Room};

use crate::{
    sharded,
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
    /// A broadcast (no acks): its channel and payload.
    pub(crate) fn broadcast(
        &self,
        event: &str,
        args: Vec<Value>,
        opts: &BroadcastOptions,
    ) -> (String, Vec<u8>) {
        let payload = if self.channels.is_sharded() {
            sharded::broadcast(self.uid, self.nsp, (event, args), opts, None)
        } else {
            wire::broadcast(self.uid, self.nsp, event, args, opts)
        };
        (self.channels.broadcast_to(opts), payload)
    }

    /// A join (`join`) or leave request for the sockets `opts` selects.
    pub(crate) fn rooms_request(
        &self,
        join: bool,
        opts: &BroadcastOptions,
        rooms: &[Room],
    ) -> Vec<u8> {
        if self.channels.is_sharded() {
            return sharded::sockets_rooms(self.uid, self.nsp, join, opts, rooms);
        }
        let ty = if join {
            RequestType::RemoteJoin
        } else {
            RequestType::RemoteLeave
        };
        wire::rooms_request(self.uid, ty, opts, rooms)
    }

    /// A disconnection of the sockets `opts` selects (`close`: their
    /// whole connection).
    pub(crate) fn disconnect_request(&self, opts: &BroadcastOptions, close: bool) -> Vec<u8> {
        if self.channels.is_sharded() {
            sharded::disconnect_sockets(self.uid, self.nsp, opts, close)
        } else {
            wire::disconnect_request(self.uid, opts, close)
        }
    }

    /// A `SERVER_SIDE_EMIT`; with a request id, the servers answer.
    pub(crate) fn server_side_request(
        &self,
        request_id: Option<&str>,
        event: &str,
        args: Vec<Value>,
    ) -> Vec<u8> {
        if self.channels.is_sharded() {
            sharded::server_side_emit(self.uid, self.nsp, request_id, event, args)
        } else {
            wire::server_side_emit(self.uid, request_id, event, args)
        }
    }
}
