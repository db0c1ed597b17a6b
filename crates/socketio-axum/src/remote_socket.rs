//! A socket that `fetch_sockets` found, on this server or on another one.

use std::{fmt, sync::Arc};

use serde::Serialize;

use crate::{
    adapter::{AdapterError, SocketData},
    ns::Namespace,
    operators::{BroadcastOperators, IntoRooms},
    EmitError, SocketRef,
};

/// A socket found by [`BroadcastOperators::fetch_sockets`], on this server or another.
#[derive(Clone)]
pub struct RemoteSocket {
    ns: Arc<Namespace>,
    data: SocketData,
    local: Option<SocketRef>,
}

impl fmt::Debug for RemoteSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteSocket")
            .field("id", &self.data.id)
            .field("local", &self.local.is_some())
            .finish_non_exhaustive()
    }
}

impl RemoteSocket {
    pub(crate) fn local(ns: Arc<Namespace>, socket: SocketRef) -> Self {
        RemoteSocket {
            ns,
            data: socket.describe(),
            local: Some(socket),
        }
    }

    pub(crate) fn remote(ns: Arc<Namespace>, data: SocketData) -> Self {
        RemoteSocket {
            ns,
            data,
            local: None,
        }
    }

    /// The socket id.
    pub fn id(&self) -> &str {
        &self.data.id
    }

    /// The rooms it was in when fetched.
    pub fn rooms(&self) -> &[String] {
        &self.data.rooms
    }

    /// Its handshake, in Node's shape.
    pub fn handshake(&self) -> &serde_json::Value {
        &self.data.handshake
    }

    /// Its `data`.
    pub fn data(&self) -> &serde_json::Value {
        &self.data.data
    }

    /// The socket, when it is on this server.
    pub fn as_local(&self) -> Option<&SocketRef> {
        self.local.as_ref()
    }

    /// This socket alone; not passed to the other servers when it is here.
    fn only_me(&self) -> BroadcastOperators {
        let me = BroadcastOperators::new(self.ns.clone()).to(self.data.id.clone());
        if self.local.is_some() {
            me.local()
        } else {
            me
        }
    }

    /// Emits to this socket, wherever it is.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        match &self.local {
            Some(s) => s.emit(event, data),
            None => self.only_me().emit(event, data),
        }
    }

    /// Makes it join `rooms`; `Err` when it is on another server that the
    /// adapter could not reach.
    pub fn join(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.only_me().join(rooms)
    }

    /// Makes it leave `rooms`; `Err` when it is on another server that the
    /// adapter could not reach.
    pub fn leave(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.only_me().leave(rooms)
    }

    /// Disconnects it from the namespace; `Err` when it is on another
    /// server that the adapter could not reach.
    pub fn disconnect(&self) -> Result<(), AdapterError> {
        self.only_me().disconnect()
    }
}
