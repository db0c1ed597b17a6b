//! The application of examples/webtransport_conformance (its `main.rs` binds
//! and prints; the tests start it in-process): the certificate, and the
//! router and Socket.IO server with the checks' handlers.

use std::path::Path;

use axum::{response::Html, routing::get, Router};
use socketio_axum::{
    extract::{AckSender, Data, RawArgs},
    webtransport::Identity,
    ClientBundle, SocketIo, SocketIoConfigBuilder, SocketRef,
};

/// The certificate: read from `dir` (`cert.pem`, `key.pem`) when it holds
/// one, else a new self-signed one, stored there when `dir` is given.
pub async fn identity(dir: Option<&Path>) -> Result<Identity, Box<dyn std::error::Error>> {
    let Some(dir) = dir else {
        return Ok(Identity::self_signed(["localhost", "127.0.0.1"])?);
    };
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert.is_file() && key.is_file() {
        return Ok(Identity::load_pem_files(&cert, &key).await?);
    }
    let identity = Identity::self_signed(["localhost", "127.0.0.1"])?;
    std::fs::create_dir_all(dir)?;
    identity.store_pem_files(&cert, &key).await?;
    Ok(identity)
}

/// The router (an empty page at `/`, the client bundle when installed)
/// and the Socket.IO server on `config`, whose WebTransport listener is
/// still to start (`SocketIo::serve_webtransport`).
pub fn app(mut config: SocketIoConfigBuilder) -> (Router, SocketIo) {
    let bundle_dir = crate::chat::client_bundle_dir();
    match ClientBundle::from_dir(&bundle_dir) {
        Ok(bundle) => config = config.serve_client(bundle),
        Err(e) => tracing::warn!(
            "not serving the client bundle: {e} ({})",
            bundle_dir.display()
        ),
    }
    let (layer, io) = SocketIo::builder().config(config.build()).build_layer();
    let everyone = io.clone();
    io.ns("/", move |socket: SocketRef| {
        let everyone = everyone.clone();
        async move {
            let _ = socket.emit("welcome", &());
            socket.on("echo", |ack: AckSender, args: RawArgs| async move {
                let _ = ack.send_raw(args);
            });
            socket.on("whoami", |socket: SocketRef, ack: AckSender| async move {
                let _ = ack.send(socket.conn().transport().as_str());
            });
            socket.on(
                "broadcast",
                move |Data(data): Data<serde_json::Value>, ack: AckSender| {
                    let everyone = everyone.clone();
                    async move {
                        let _ = everyone.emit("bcast", &data);
                        let _ = ack.send(&());
                    }
                },
            );
        }
    });
    let router = Router::new()
        .route(
            "/",
            get(|| async { Html("<!doctype html><title>webtransport conformance</title>") }),
        )
        .layer(layer);
    (router, io)
}
