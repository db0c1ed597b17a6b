//! Serving the Socket.IO server's connections over WebTransport too.

use std::io;

use engineio_tower::webtransport::{WebTransportConfig, WebTransportServer};

use super::SocketIo;

impl SocketIo {
    /// Binds a WebTransport (HTTP/3) listener for this server (feature
    /// `webtransport`); run it beside `axum::serve` with
    /// [`WebTransportServer::run`]. Call it after the layer is built, within
    /// a tokio runtime.
    ///
    /// The official client (4.7 and later) tries WebTransport when its
    /// `transports` option names it, or by upgrade from polling: while the
    /// listener runs, polling handshakes offer it. It reaches the listener
    /// at the host and port of the URL it was given, so bind the UDP port of
    /// the HTTP listener's number. Everything else (namespaces, handlers,
    /// rooms, broadcasts, limits) is shared with the other transports.
    ///
    /// ```no_run
    /// use socketio_axum::{webtransport::{Identity, WebTransportConfig}, SocketIo};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let (layer, io) = SocketIo::new_layer();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// // In development: a certificate browsers take by its hash.
    /// let identity = Identity::self_signed(["localhost", "127.0.0.1"])?;
    /// println!("serverCertificateHashes: {}", identity.certificate_hash_base64());
    /// let wt = io.serve_webtransport(WebTransportConfig::new(listener.local_addr()?, identity))?;
    /// tokio::spawn(wt.run());
    /// axum::serve(listener, axum::Router::new().layer(layer)).await?;
    /// # Ok(()) }
    /// ```
    pub fn serve_webtransport(&self, config: WebTransportConfig) -> io::Result<WebTransportServer> {
        let engine = self.engine().ok_or_else(|| {
            io::Error::other("socket.io: serve_webtransport before the layer was built")
        })?;
        engine.serve_webtransport(config)
    }
}
