use std::fmt;

/// The adapter could not start: a malformed URL, or no Redis to talk to.
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
    Connect,
}

impl Error {
    pub(crate) fn url(source: redis::RedisError) -> Self {
        Error {
            kind: Kind::Url,
            source: Some(source),
        }
    }

    pub(crate) fn connect(source: Option<redis::RedisError>) -> Self {
        Error {
            kind: Kind::Connect,
            source,
        }
    }

    /// The URL is not a Redis URL.
    pub fn is_url(&self) -> bool {
        self.kind == Kind::Url
    }

    /// Redis could not be reached (within the request timeout).
    pub fn is_connect(&self) -> bool {
        self.kind == Kind::Connect
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            Kind::Url => "invalid Redis URL",
            Kind::Connect => "cannot connect to Redis",
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
