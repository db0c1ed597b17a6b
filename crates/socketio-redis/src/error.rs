use std::fmt;

/// The adapter could not start: a malformed URL, no Redis to talk to, or a
/// Redis that refused the credentials.
///
/// Once started, the adapter does not fail as a whole: while Redis is away,
/// operations that reach other servers fail or time out one by one (with an
/// [`AdapterError`](socketio_axum::adapter::AdapterError)), and the adapter
/// reconnects by itself.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    source: Option<redis::RedisError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Url,
    /// A `rediss://` URL, without the `tls` feature.
    UrlNeedsTls,
    Connect,
    Auth,
}

impl Error {
    pub(crate) fn url(source: redis::RedisError) -> Self {
        let tls = source.kind() == redis::ErrorKind::InvalidClientConfig
            && source.to_string().contains("TLS");
        Error {
            kind: if tls { Kind::UrlNeedsTls } else { Kind::Url },
            source: Some(source),
        }
    }

    /// Connecting failed; with `source`, the Redis client's error says why.
    pub(crate) fn connect(source: Option<redis::RedisError>) -> Self {
        let auth = source.as_ref().is_some_and(|e| {
            e.kind() == redis::ErrorKind::AuthenticationFailed
                || matches!(e.code(), Some("NOAUTH" | "WRONGPASS"))
        });
        Error {
            kind: if auth { Kind::Auth } else { Kind::Connect },
            source,
        }
    }

    /// The URL is not a Redis URL this build can use (`rediss://` needs the
    /// `tls` feature).
    pub fn is_url(&self) -> bool {
        matches!(self.kind, Kind::Url | Kind::UrlNeedsTls)
    }

    /// Redis could not be reached (within the request timeout), or the TLS
    /// handshake failed.
    pub fn is_connect(&self) -> bool {
        self.kind == Kind::Connect
    }

    /// Redis refused the user name or password of the URL.
    pub fn is_auth(&self) -> bool {
        self.kind == Kind::Auth
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            Kind::Url => "invalid Redis URL",
            Kind::UrlNeedsTls => "a rediss:// URL needs the `tls` feature of socketio-redis",
            Kind::Connect => "cannot connect to Redis",
            Kind::Auth => "Redis refused the credentials",
        })
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
