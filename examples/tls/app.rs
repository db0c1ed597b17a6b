//! The application of `examples/tls`: a minimal Socket.IO server served over
//! HTTPS and WSS by `axum-server`'s rustls acceptor. The tests
//! (`tests/deploy/tls.rs`) start this very code on a free port, with a
//! certificate made at test time.

use std::{net::SocketAddr, time::Duration};

use axum::Router;
use axum_server::{tls_rustls::RustlsConfig, Handle};
use socketio_axum::{
    extract::{AckSender, RawArgs},
    SocketIo, SocketRef,
};

/// The Socket.IO server: an `echo` event is answered through its
/// acknowledgement with the arguments it came with.
pub fn app() -> (Router, SocketIo) {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", |socket: SocketRef| async move {
        socket.on("echo", |ack: AckSender, args: RawArgs| async move {
            let _ = ack.send_raw(args);
        });
    });
    (Router::new().layer(layer), io)
}

/// The TLS configuration from a PEM certificate chain and a PEM private key
/// (PKCS#8, PKCS#1 or SEC1); HTTP/2 and HTTP/1.1 are offered by ALPN.
pub async fn tls_config(cert_pem: Vec<u8>, key_pem: Vec<u8>) -> std::io::Result<RustlsConfig> {
    RustlsConfig::from_pem(cert_pem, key_pem).await
}

/// Serves `app` over TLS on `listener` until `handle` is told to shut down.
pub async fn serve(
    listener: std::net::TcpListener,
    tls: RustlsConfig,
    app: Router,
    handle: Handle<SocketAddr>,
) -> std::io::Result<()> {
    axum_server::from_tcp_rustls(listener, tls)?
        .handle(handle)
        .serve(app.into_make_service())
        .await
}

/// A graceful shutdown: close every Socket.IO connection first (clients see
/// the connection close, as after any restart, and reconnect; their
/// `disconnect` handlers on the server run with `server shutting down`),
/// then let the server finish the requests in flight, for at most `grace`.
pub async fn shutdown(io: &SocketIo, handle: &Handle<SocketAddr>, grace: Duration) {
    io.close().await;
    handle.graceful_shutdown(Some(grace));
}
