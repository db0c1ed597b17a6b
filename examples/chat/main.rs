//! A chat in the browser: nicknames, rooms, acknowledged messages,
//! "typing…" and reconnection, with the official `socket.io-client`.
//!
//! ```text
//! cargo run --release --example chat
//! ```
//!
//! then open <http://localhost:3000> in two windows. `PORT` changes the port;
//! `ADDR` (such as `0.0.0.0:8080`) the whole address. Add `?transport=polling`
//! to the page's address to stay on HTTP long-polling.
//!
//! With `--webtransport` (`cargo run --release --example chat -- --webtransport`)
//! it also serves WebTransport on the UDP port of the same number, with a
//! fresh self-signed certificate whose hash the page fetches: a browser
//! that has WebTransport (Chromium, Firefox) upgrades to it from polling.
//! Each message shows the transport its sender was on, and the status the
//! page's own. Open the page at `http://localhost:PORT` or
//! `http://127.0.0.1:PORT` (a secure context, which WebTransport needs).
//!
//! The server is in `chat/app.rs` (the page and its script in `chat/static/`);
//! this file finds the browser client, serves, and shuts down on Ctrl-C.
//!
//! The browser client is the npm package `socket.io-client`, pinned by
//! `tests/package-lock.json`. When `tests/node_modules` lacks it, this
//! example runs `npm ci --prefix tests` first (no CDN is involved).

use socketio_axum::webtransport::{Identity, WebTransportConfig};
use socketio_axum_examples::chat;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    socketio_axum_examples::init_tracing("info");

    let client_js = chat::load_client_bundle()?;
    let webtransport = std::env::args().any(|a| a == "--webtransport");
    let identity = match webtransport {
        true => Some(Identity::self_signed(["localhost", "127.0.0.1", "::1"])?),
        false => None,
    };
    let hash = identity.as_ref().map(Identity::certificate_hash_base64);
    let (app, io) = chat::app_with(client_js, hash);

    let listener = socketio_axum_examples::listen(3000).await?;
    let addr = listener.local_addr()?;
    if let Some(identity) = identity {
        let wt = io.serve_webtransport(WebTransportConfig::new(addr, identity))?;
        println!("webtransport on udp {addr}");
        tokio::spawn(wt.run());
    }
    let host = if addr.ip().is_loopback() {
        "localhost".to_owned()
    } else {
        addr.ip().to_string()
    };
    println!("chat on http://{host}:{}/  (Ctrl-C to stop)", addr.port());

    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            // Ends the Socket.IO connections, whose clients would otherwise
            // keep the server waiting on their long-polls and WebSockets.
            io.close().await;
        })
        .await?;
    Ok(())
}
