//! A small Socket.IO server for WebTransport checks: polling and WebSocket
//! on TCP `127.0.0.1:$PORT`, WebTransport on UDP `127.0.0.1:$PORT` (the
//! same number: where the official client looks for it).
//!
//! ```text
//! cargo build --release --example webtransport_conformance
//! PORT=3000 target/release/examples/webtransport_conformance
//! ```
//!
//! - Its first line on stdout is `CERT_SHA256_B64=<hash>`: the base64
//!   SHA-256 of its certificate, a self-signed ECDSA P-256 one valid for 14
//!   days, for the page's `serverCertificateHashes`. The second is
//!   `LISTENING=http://127.0.0.1:<port>/`. `PORT=0` takes a free TCP port
//!   and the UDP port of the same number.
//! - With `CERT_DIR`, the certificate and key are read from `cert.pem` and
//!   `key.pem` there when both exist, and written there otherwise, so that
//!   a restart keeps the hash.
//! - `/` is an empty page (a secure context on 127.0.0.1, as WebTransport
//!   needs) and `/socket.io/socket.io.min.js` the official client, when
//!   `tests/node_modules` holds it (`npm ci --prefix tests`).
//! - Handlers, on `/`: `welcome` is emitted on connection; `echo` acks its
//!   arguments; `whoami` acks the name of the connection's transport;
//!   `broadcast` (data, ack) emits `bcast` with the data to everyone, then
//!   acks.

use socketio_axum::{webtransport::WebTransportConfig, SocketIoConfig};
use socketio_axum_examples::webtransport_conformance::{app, identity};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    socketio_axum_examples::init_tracing("warn");
    let cert_dir = std::env::var_os("CERT_DIR").map(std::path::PathBuf::from);
    let identity = identity(cert_dir.as_deref()).await?;
    let (router, io) = app(SocketIoConfig::builder());
    let listener = socketio_axum_examples::listen(3000).await?;
    let addr = listener.local_addr()?;
    let hash = identity.certificate_hash_base64();
    // UDP on the TCP listener's port number: where the client looks.
    let wt = io.serve_webtransport(WebTransportConfig::new(addr, identity))?;
    println!("CERT_SHA256_B64={hash}");
    println!("LISTENING=http://{addr}/");
    tokio::spawn(wt.run());
    axum::serve(listener, router).await?;
    Ok(())
}
