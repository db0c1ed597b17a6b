//! The server side of the official Socket.IO Admin UI (npm
//! `@socket.io/admin-ui` 0.5), behind the feature `admin-ui`: what Node's
//! `instrument(io, options)` does, for this server.
//!
//! [`AdminUi::instrument`] adds the admin namespace (`/admin` by default)
//! and tells every client of it, on every server of the cluster (through
//! the adapter, as Node does), what happens on this one: a `server_stats`
//! report every 2 s, and in development mode each socket connected,
//! updated or disconnected, each room joined or left, each event received
//! or sent. The UI's actions (emit, join, leave, disconnect) act on the
//! whole cluster. A Node server instrumented with `@socket.io/admin-ui`
//! and ours in one cluster show up side by side in the UI.
//!
//! ```no_run
//! use socketio_axum::{admin::AdminUi, SocketIo};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let (layer, io) = SocketIo::new_layer();
//! // A bcrypt hash (cost 10 here) of the password the UI's users type.
//! let hash = "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS";
//! AdminUi::basic_auth("admin", hash).instrument(&io)?;
//! let app = axum::Router::<()>::new().layer(layer);
//! # let _ = app; Ok(()) }
//! ```
//!
//! Differences from Node's, all documented in docs/operations.md: the
//! login sessions are kept in this server's memory (Node's default store;
//! its Redis store is not offered), so a UI that reconnects to another
//! server of a cluster logs in again; `_disconnect` with `close` closes
//! the sockets, not their connections; `packetsOut`/`bytesOut` count
//! event packets (Node counts every Engine.IO packet with data); `uptime`
//! is the time since `instrument`.

mod actions;
mod auth;
mod notify;
mod serialize;
mod stats;

use std::{fmt, sync::Arc};

use socketio_protocol::Str;

use crate::SocketIo;

/// How much the UI is told (Node's `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Every socket, room and event, and the aggregated counts (Node's
    /// default when `NODE_ENV` is not set).
    #[default]
    Development,
    /// Only `server_stats` with the aggregated counts: nothing per socket
    /// or per event, for servers under load.
    Production,
}

/// The Admin UI's options (Node's `InstrumentOptions`), built from the
/// authentication, which Node also requires.
#[derive(Clone)]
pub struct AdminUi {
    namespace: Str,
    auth: Option<(String, String)>,
    read_only: bool,
    server_id: Option<String>,
    mode: Mode,
}

impl fmt::Debug for AdminUi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminUi")
            .field("namespace", &self.namespace)
            .field("username", &self.auth.as_ref().map(|(u, _)| u))
            .field("read_only", &self.read_only)
            .field("server_id", &self.server_id)
            .field("mode", &self.mode)
            .finish()
    }
}

impl AdminUi {
    /// Clients of the admin namespace log in with `username` and a password
    /// whose bcrypt hash is `password_hash` (`$2a$`, `$2b$` or `$2y$`, as
    /// `bcryptjs` or `htpasswd -B` make). After a login, the UI gets a
    /// session id with which it reconnects without the password.
    pub fn basic_auth(username: impl Into<String>, password_hash: impl Into<String>) -> AdminUi {
        AdminUi::new(Some((username.into(), password_hash.into())))
    }

    /// Anyone who reaches the server can use the admin namespace (Node's
    /// `auth: false`): for development only. The server's own middlewares
    /// still run.
    pub fn without_auth() -> AdminUi {
        AdminUi::new(None)
    }

    fn new(auth: Option<(String, String)>) -> AdminUi {
        AdminUi {
            namespace: Str::from("/admin"),
            auth,
            read_only: false,
            server_id: None,
            mode: Mode::default(),
        }
    }

    /// The admin namespace (default `/admin`).
    pub fn namespace(mut self, path: impl Into<Str>) -> Self {
        self.namespace = path.into();
        self
    }

    /// Refuses the UI's actions (emit, join, leave, disconnect): it only
    /// watches (default `false`).
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// The id this server shows in the UI (default: the host name).
    pub fn server_id(mut self, id: impl Into<String>) -> Self {
        self.server_id = Some(id.into());
        self
    }

    /// How much the UI is told (default [`Mode::Development`]).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Instruments `io`: registers the admin namespace with its
    /// authentication and actions, starts the `server_stats` report and, in
    /// development mode, the notifications. Call it once, from inside a
    /// tokio runtime, before clients connect (sockets connected earlier are
    /// listed, but their rooms and events before this call are not).
    pub fn instrument(self, io: &SocketIo) -> Result<(), AdminUiError> {
        let auth = match &self.auth {
            Some((user, hash)) => Some(auth::BasicAuth::new(user, hash)?),
            None => {
                crate::trace::warn!(ns = %self.namespace, "socket.io admin: authentication is disabled");
                None
            }
        };
        if io.inner.shared.observer.get().is_some() {
            return Err(AdminUiError::AlreadyInstrumented);
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(AdminUiError::NoRuntime);
        }
        let ns = crate::io::normalize(self.namespace.clone());
        if io.inner.namespaces.contains_key(&ns) {
            return Err(AdminUiError::NamespaceInUse(ns));
        }
        let (observer, notices) = notify::AdminObserver::new(ns.clone(), self.mode);
        let observer = Arc::new(observer);
        if !io.inner.shared.observer.set(observer.clone()) {
            return Err(AdminUiError::AlreadyInstrumented);
        }
        let server_id = self.server_id.unwrap_or_else(stats::hostname);
        let features = actions::features(self.read_only, self.mode);
        actions::register(io, &ns, auth, features, self.mode);
        notify::spawn(io, ns.clone(), observer.clone(), notices);
        stats::spawn(io, ns, server_id, observer);
        Ok(())
    }
}

/// Why [`AdminUi::instrument`] refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum AdminUiError {
    /// The password hash is not a bcrypt hash.
    InvalidPasswordHash(bcrypt::BcryptError),
    /// The server is instrumented already.
    AlreadyInstrumented,
    /// The admin namespace is registered already, by the application.
    NamespaceInUse(Str),
    /// Called outside a tokio runtime: the instrumentation starts tasks.
    NoRuntime,
}

impl fmt::Display for AdminUiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminUiError::InvalidPasswordHash(_) => {
                f.write_str("the admin UI password must be a valid bcrypt hash")
            }
            AdminUiError::AlreadyInstrumented => {
                f.write_str("the server is already instrumented for the admin UI")
            }
            AdminUiError::NamespaceInUse(ns) => {
                write!(f, "the admin UI's namespace {ns} is registered already")
            }
            AdminUiError::NoRuntime => {
                f.write_str("the admin UI must be instrumented inside a tokio runtime")
            }
        }
    }
}

impl std::error::Error for AdminUiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AdminUiError::InvalidPasswordHash(e) => Some(e),
            _ => None,
        }
    }
}
