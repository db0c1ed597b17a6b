//! The admin namespace's login (Node's basic authentication): a username
//! and a bcrypt-hashed password, then a session id that lets the UI
//! reconnect without them.

use std::{collections::VecDeque, sync::Mutex};

use tokio::sync::Semaphore;

use crate::{ConnectError, SocketRef};

use super::AdminUiError;

/// Login sessions kept; the oldest is forgotten past this (Node keeps
/// every one for the life of the process).
const MAX_SESSIONS: usize = 1024;

/// Passwords checked at once; other attempts wait their turn, so that a
/// flood of logins takes these threads of the blocking pool, not all of
/// them (Node's are bounded by libuv's pool of 4).
const CHECKS: usize = 2;

pub(super) struct BasicAuth {
    username: String,
    hash: String,
    sessions: Mutex<VecDeque<String>>,
    checks: Semaphore,
}

/// A session id made by this login, to give to the UI once it is connected
/// (the socket cannot be written to before).
#[derive(Clone)]
pub(super) struct NewSession(pub(super) String);

impl BasicAuth {
    pub(super) fn new(username: &str, hash: &str) -> Result<BasicAuth, AdminUiError> {
        hash.parse::<bcrypt::HashParts>()
            .map_err(AdminUiError::InvalidPasswordHash)?;
        Ok(BasicAuth {
            username: username.to_owned(),
            hash: hash.to_owned(),
            sessions: Mutex::default(),
            checks: Semaphore::new(CHECKS),
        })
    }

    /// The middleware: a known session id, or the username and a password
    /// that matches the hash (checked on a blocking thread: bcrypt is slow
    /// on purpose). Refused with Node's message, `invalid credentials`.
    pub(super) async fn check(&self, socket: SocketRef) -> Result<(), ConnectError> {
        let auth: serde_json::Value = socket
            .handshake()
            .auth()
            .and_then(|a| serde_json::from_str(a).ok())
            .unwrap_or_default();
        let field = |name: &str| auth.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        if let Some(id) = field("sessionId") {
            if crate::lock(&self.sessions).contains(&id) {
                return Ok(());
            }
        }
        if field("username").as_deref() == Some(self.username.as_str()) {
            let password = field("password").unwrap_or_default();
            let hash = self.hash.clone();
            let matches = match self.checks.acquire().await {
                Ok(_turn) => tokio::task::spawn_blocking(move || {
                    bcrypt::verify(password, &hash).unwrap_or(false)
                })
                .await
                .unwrap_or(false),
                Err(_) => false,
            };
            if matches {
                let id = session_id();
                let mut sessions = crate::lock(&self.sessions);
                if sessions.len() == MAX_SESSIONS {
                    sessions.pop_front();
                }
                sessions.push_back(id.clone());
                drop(sessions);
                socket.insert_extension(NewSession(id));
                return Ok(());
            }
        }
        crate::trace::debug!(sid = %socket.id(), "socket.io admin: invalid credentials");
        Err(ConnectError::new("invalid credentials"))
    }
}

/// 8 random bytes in hexadecimal, as Node's `randomBytes(8).toString("hex")`.
fn session_id() -> String {
    rand::random::<[u8; 8]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
