use std::sync::Arc;

use http::{HeaderMap, Uri};
use socketio_protocol::Str;

/// The handshake of a socket: the HTTP request that opened the connection
/// and the `auth` payload sent when joining the namespace.
///
/// ```
/// use socketio_axum::{extract::Handshake, SocketRef};
///
/// async fn on_connect(socket: SocketRef, handshake: Handshake) {
///     let agent = handshake.headers().get("user-agent");
///     println!("{} from {agent:?}, query {:?}", socket.id(), handshake.query());
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Handshake {
    pub(crate) parts: Arc<HandshakeParts>,
}

#[derive(Debug)]
pub(crate) struct HandshakeParts {
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) auth: Option<Str>,
    pub(crate) issued: std::time::SystemTime,
}

impl Handshake {
    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The request URI.
    pub fn uri(&self) -> &Uri {
        &self.parts.uri
    }

    /// The query string of the request, if any.
    pub fn query(&self) -> Option<&str> {
        self.parts.uri.query()
    }

    /// The JSON text of the `auth` object sent with `CONNECT`, if any.
    pub fn auth(&self) -> Option<&str> {
        self.parts.auth.as_deref()
    }

    /// When the socket joined the namespace.
    pub fn issued(&self) -> std::time::SystemTime {
        self.parts.issued
    }
}
