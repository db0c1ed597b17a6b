//! Servers of one cluster behind one Redis: a message sent on one reaches
//! the clients of all, and every cluster-wide operation (fetch the sockets
//! with their data, make them join, leave or disconnect, ask the other
//! servers) has a route. Node.js servers with `@socket.io/redis-adapter` on
//! the same Redis and key prefix (`redis-cluster-example`) join the same
//! cluster; `tests/redis/example.rs` runs this application beside one.
//!
//! ```text
//! redis-server --port 6379 &            # or set REDIS_URL
//! PORT=3001 cargo run -p socketio-axum-examples --example redis-cluster &
//! PORT=3002 cargo run -p socketio-axum-examples --example redis-cluster &
//! ```
//!
//! Open <http://127.0.0.1:3001> and <http://127.0.0.1:3002> and chat in
//! either page, or act on the cluster from the command line:
//!
//! ```text
//! curl localhost:3002/servers                            # {"servers":2}
//! curl -d 'hello from curl' localhost:3001/emit/chat     # to every client
//! curl 'localhost:3001/sockets?in=lobby'                 # the pages, from both servers
//! curl -X POST 'localhost:3001/sockets/join?in=lobby&room=vip'
//! curl -d 'only vips' 'localhost:3002/emit/chat?to=vip'
//! curl -d 'who is there?' localhost:3001/servers/ask     # the other server's answer
//! curl -X POST 'localhost:3002/sockets/disconnect?in=vip'
//! ```
//!
//! The application (and the table of its routes) is in `redis-cluster/app.rs`.

use socketio_axum_examples::redis_cluster;
use socketio_redis::{RedisAdapter, RedisAdapterConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    socketio_axum_examples::init_tracing("info");
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let config = RedisAdapterConfig::builder()
        .url(url)
        .key_prefix("redis-cluster-example")
        .build();
    let adapter = RedisAdapter::connect(config).await?;

    let listener = socketio_axum_examples::listen(3001).await?;
    let addr = listener.local_addr()?;
    // The official browser client, pinned in tests/package-lock.json (no
    // CDN), served at /socket.io/socket.io.min.js as Node's server does.
    let client = socketio_axum_examples::chat::load_client_bundle()?;
    let (app, io) = redis_cluster::app(adapter.clone(), &addr.to_string(), Some(client));

    adapter.ready().await;
    tracing::info!(
        "listening on http://{addr}, {} server(s) in the cluster",
        io.server_count().await?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
