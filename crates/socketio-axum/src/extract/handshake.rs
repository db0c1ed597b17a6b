use std::{net::SocketAddr, time::SystemTime};

use axum::extract::ConnectInfo;

use http::{HeaderMap, Uri};
use socketio_protocol::Str;

use crate::client::Conn;

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
    // The request is kept once per connection, by the Engine.IO session.
    pub(crate) conn: Conn,
    pub(crate) auth: Option<Str>,
    pub(crate) issued: SystemTime,
}

impl Handshake {
    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.conn.req_parts().headers
    }

    /// The request URI.
    pub fn uri(&self) -> &Uri {
        &self.conn.req_parts().uri
    }

    /// The query string of the request, if any.
    pub fn query(&self) -> Option<&str> {
        self.conn.req_parts().uri.query()
    }

    /// The JSON text of the `auth` object sent with `CONNECT`, if any.
    pub fn auth(&self) -> Option<&str> {
        self.auth.as_deref()
    }

    /// The client's address (Node's `handshake.address`), when the server
    /// runs with axum's connection info:
    /// `axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())`,
    /// and always on WebTransport. Behind a proxy it is the proxy's; the
    /// client's own is then in a header such as `x-forwarded-for`.
    pub fn address(&self) -> Option<SocketAddr> {
        let extensions = &self.conn.req_parts().extensions;
        #[cfg(feature = "webtransport")]
        if let Some(peer) = extensions.get::<engineio_tower::webtransport::PeerAddr>() {
            return Some(peer.0);
        }
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0)
    }

    /// When the socket joined the namespace.
    pub fn issued(&self) -> std::time::SystemTime {
        self.issued
    }
}
