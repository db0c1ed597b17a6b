//! A Socket.IO server over HTTPS and WSS (rustls, through `axum-server`),
//! with a graceful shutdown on Ctrl-C. See docs/deployment.md, "TLS".
//!
//! ```text
//! TLS_CERT=cert.pem TLS_KEY=key.pem cargo run --release --example tls --features tls
//! ```
//!
//! Environment: `TLS_CERT` (PEM certificate chain, the server's first),
//! `TLS_KEY` (its PEM private key), `ADDR` or `PORT` (default
//! 127.0.0.1:3443).
//!
//! With a certificate signed by a CA of your own, Node's `socket.io-client`
//! (`npm ci --prefix tests` once) is given that CA:
//!
//! ```text
//! cd tests && node --input-type=module -e '
//!   import { io } from "socket.io-client";
//!   import { readFileSync } from "node:fs";
//!   const s = io("https://localhost:3443", { ca: readFileSync("../ca.pem") });
//!   console.log("echo:", await s.emitWithAck("echo", "over TLS"));
//!   s.close();'
//! ```
//!
//! The application is in `tls/app.rs`.

use std::time::Duration;

use axum_server::Handle;
use socketio_axum_examples::tls;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    socketio_axum_examples::init_tracing("info");

    let read = |var: &str| -> Result<Vec<u8>, String> {
        let path = std::env::var(var).map_err(|_| {
            format!("{var} is not set: TLS_CERT and TLS_KEY name the PEM certificate chain and key")
        })?;
        std::fs::read(&path).map_err(|e| format!("{var}={path}: {e}"))
    };
    let config = tls::tls_config(read("TLS_CERT")?, read("TLS_KEY")?).await?;
    let listener = socketio_axum_examples::listen(3443).await?.into_std()?;
    tracing::info!("tls example on https://{}", listener.local_addr()?);

    let (app, io) = tls::app();
    let handle = Handle::new();
    let on_ctrl_c = handle.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("Ctrl-C: closing the Socket.IO connections, then the server");
        tls::shutdown(&io, &on_ctrl_c, Duration::from_secs(10)).await;
    });
    tls::serve(listener, config, app, handle).await?;
    tracing::info!("stopped");
    Ok(())
}
