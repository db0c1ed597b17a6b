//! What a server's namespace adapters share: the link to Redis, the
//! requests in flight, and which namespace each channel belongs to. Both
//! directions use it: the namespaces' adapters, which send, and
//! [`remote`](super::remote), which handles what other servers send.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU64},
        Arc, RwLock,
    },
};

use socketio_axum::adapter::WeakLocalNamespace;

use crate::{link::Link, requests::Requests, wire::Channels, RedisAdapterConfig};

/// What a server's namespace adapters share.
pub(crate) struct Core {
    /// This server's id in the cluster, as Node's `uid2(6)`.
    pub(crate) uid: String,
    pub(crate) config: RedisAdapterConfig,
    pub(crate) link: Link,
    pub(crate) routes: RwLock<Routes>,
    pub(crate) requests: Arc<Requests>,
    pub(super) next_route: AtomicU64,
}

/// Which namespace each subscribed channel belongs to.
#[derive(Default)]
pub(crate) struct Routes {
    pub(super) namespaces: HashMap<String, Route>,
    pub(super) channels: HashMap<String, String>,
    pub(super) patterns: HashMap<String, String>,
}

pub(crate) struct Route {
    pub(super) id: u64,
    pub(crate) ns: WeakLocalNamespace,
    pub(crate) channels: Channels,
    /// Connection state recovery is on: the broadcasts read from the
    /// stream carry their entry's id as offset.
    pub(crate) recovery: Arc<AtomicBool>,
}

impl Routes {
    /// The namespace a plain channel (requests, responses) belongs to.
    pub(crate) fn by_channel(&self, channel: &str) -> Option<&Route> {
        self.namespaces.get(self.channels.get(channel)?)
    }

    /// The namespace of a path.
    pub(crate) fn by_path(&self, path: &str) -> Option<&Route> {
        self.namespaces.get(path)
    }

    /// The namespace a pattern (broadcasts) belongs to.
    pub(crate) fn by_pattern(&self, pattern: &str) -> Option<&Route> {
        self.namespaces.get(self.patterns.get(pattern)?)
    }
}

pub(super) fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
