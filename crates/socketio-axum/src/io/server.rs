//! What a [`SocketIo`](super::SocketIo) handle points to: the shared
//! state, and the namespaces, static and dynamic.

use std::sync::{Arc, OnceLock, RwLock};

use dashmap::DashMap;
use engineio_tower::EngineIo;
use socketio_protocol::Str;

use crate::{
    client::{Client, ConnectDeadlines},
    extract::ConnectParts,
    ns::{Namespace, NsHandlers, Shared},
    read,
};

pub(super) type Matcher = Arc<dyn Fn(&str) -> bool + Send + Sync>;

pub(crate) struct ServerInner {
    pub(crate) shared: Arc<Shared>,
    pub(crate) namespaces: DashMap<Str, Arc<Namespace>>,
    pub(super) dynamic: RwLock<Vec<(Matcher, Arc<NsHandlers>)>>,
    pub(crate) engine: OnceLock<EngineIo<Client>>,
    /// Connections that have yet to join a namespace (`connect_timeout`).
    pub(crate) connect_deadlines: ConnectDeadlines,
}

impl ServerInner {
    pub(super) fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(ServerInner {
            shared,
            namespaces: DashMap::new(),
            dynamic: RwLock::default(),
            engine: OnceLock::new(),
            connect_deadlines: ConnectDeadlines::default(),
        })
    }

    /// The namespace at `path`: registered, an existing child of a dynamic
    /// namespace, or a new child if a dynamic namespace matches.
    pub(crate) fn namespace(
        self: &Arc<Self>,
        path: &Str,
        _parts: &ConnectParts,
    ) -> Option<Arc<Namespace>> {
        if let Some(ns) = self.namespaces.get(path) {
            return Some(ns.clone());
        }
        let handlers = read(&self.dynamic)
            .iter()
            .find(|(matches, _)| {
                // A matcher that panics matches nothing (and says so).
                crate::panic::catch(|| matches(path)).unwrap_or_else(|p| {
                    crate::trace::error!(ns = %path, panic = %p, "socket.io: a dynamic namespace matcher panicked");
                    false
                })
            })
            .map(|(_, h)| h.clone())?;
        let ns = self
            .namespaces
            .entry(path.clone())
            .or_insert_with(|| {
                Namespace::new(
                    path.clone(),
                    handlers,
                    self.shared.clone(),
                    Arc::downgrade(self),
                    true,
                )
            })
            .clone();
        Some(ns)
    }
}
