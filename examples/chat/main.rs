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
//! The server is in `chat/app.rs` (the page and its script in `chat/static/`);
//! this file finds the browser client, serves, and shuts down on Ctrl-C.
//!
//! The browser client is the npm package `socket.io-client`, pinned by
//! `tests/package-lock.json`. When `tests/node_modules` lacks it, this
//! example runs `npm ci --prefix tests` first (no CDN is involved).

use socketio_axum_examples::chat;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    socketio_axum_examples::init_tracing("info");

    let client_js = chat::load_client_bundle()?;
    let (app, io) = chat::app(client_js);

    let listener = socketio_axum_examples::listen(3000).await?;
    let addr = listener.local_addr()?;
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
