//! A plain WebSocket echo server on engineio-tower's own frame reader and
//! writer, for tests of the framing only: the Autobahn|Testsuite runs
//! against it (`scripts/autobahn/run.sh`, docs/conformance.md). It is not
//! an example of the API: it goes through a hidden entry point
//! (`engineio_tower::testing`, feature `testing`) that may change.
//!
//! ```text
//! cargo run --release --example ws_echo     # ws://127.0.0.1:9001/, any path
//! PORT=9100 cargo run --release --example ws_echo
//! ```
//!
//! Every text and binary message comes back as one frame of the same kind;
//! messages up to 16 MiB (`max_payload`), fragments joined. With a client
//! that offers permessage-deflate, every message is sent compressed.

use axum::extract::Request;
use engineio_tower::{testing::ws_echo, EngineIoConfig};

/// The largest message echoed: Autobahn's section 9 goes up to 16 MiB.
const MAX_PAYLOAD: u64 = 16 << 20;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    socketio_axum_examples::init_tracing("warn");
    // permessage-deflate when the client offers it, every message
    // compressed (threshold 0), for Autobahn's sections 12 and 13.
    let config = EngineIoConfig::builder()
        .max_payload(MAX_PAYLOAD)
        .deflate_threshold(0)
        .build();
    let app = axum::Router::new().fallback(move |req: Request| {
        let res = ws_echo(req, &config);
        async move { res }
    });
    let port = std::env::var("PORT").unwrap_or_else(|_| "9001".to_owned());
    let addr = format!("127.0.0.1:{port}");
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("ws_echo on ws://{addr}/");
    axum::serve(listener, app).await
}
