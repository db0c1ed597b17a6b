//! Two Socket.IO servers behind one Redis: a message sent on one reaches the
//! clients of both (and of any Node.js server with `@socket.io/redis-adapter`
//! on the same Redis and key prefix).
//!
//! ```text
//! redis-server --port 6379 &            # or set REDIS_URL
//! cargo run -p socketio-axum-examples --example redis-cluster -- 3001 &
//! cargo run -p socketio-axum-examples --example redis-cluster -- 3002 &
//! ```
//!
//! Open <http://127.0.0.1:3001> and <http://127.0.0.1:3002> and chat in
//! either page, or send from the command line to the clients of both:
//!
//! ```text
//! curl -d 'hello from curl' http://127.0.0.1:3001/say
//! curl http://127.0.0.1:3002/servers    # 2
//! ```

use axum::{
    response::Html,
    routing::{get, post},
    Router,
};
use serde_json::json;
use socketio_axum::{extract::Data, SocketIo, SocketIoConfig, SocketRef};
use socketio_redis::{RedisAdapter, RedisAdapterConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    socketio_axum_examples::init_tracing("info");
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3001);
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());

    let config = RedisAdapterConfig::builder()
        .url(url)
        .key_prefix("redis-cluster-example")
        .build();
    let adapter = RedisAdapter::connect(config).await?;
    // The official browser client, pinned in tests/package-lock.json (no
    // CDN), served at /socket.io/socket.io.min.js as Node's server does.
    let client = socketio_axum_examples::chat::load_client_bundle()?;
    let (layer, io) = SocketIo::builder()
        .config(SocketIoConfig::builder().serve_client(client).build())
        .adapter(adapter.clone())
        .build_layer();

    io.ns("/", move |socket: SocketRef| async move {
        let _ = socket.emit("welcome", &json!({ "server": port }));
        socket.on(
            "chat",
            move |socket: SocketRef, Data(text): Data<String>| async move {
                // Every client of every server, the sender included.
                let message =
                    json!({ "server": port, "from": socket.id().to_string(), "text": text });
                let _ = socket.broadcast().emit("chat", &message);
                let _ = socket.emit("chat", &message);
            },
        );
    });

    let app = Router::new()
        .route(
            "/",
            get(move || async move { Html(PAGE.replace("{port}", &port.to_string())) }),
        )
        .route(
            "/say",
            post(move |io: SocketIo, text: String| async move {
                let message = json!({ "server": port, "from": "curl", "text": text });
                match io.emit("chat", &message) {
                    Ok(()) => "sent\n".to_owned(),
                    Err(e) => format!("not sent: {e}\n"),
                }
            }),
        )
        .route(
            "/servers",
            get(|io: SocketIo| async move {
                match io.server_count().await {
                    Ok(n) => format!("{n}\n"),
                    Err(e) => format!("unknown: {e}\n"),
                }
            }),
        )
        .layer(layer);

    adapter.ready().await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!(
        "listening on http://127.0.0.1:{port}, {} server(s) in the cluster",
        io.server_count().await?
    );
    axum::serve(listener, app).await?;
    Ok(())
}

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>redis-cluster :{port}</title>
<h1>Server :{port}</h1>
<form id="f"><input id="t" autocomplete="off" placeholder="message"><button>Send</button></form>
<ul id="log"></ul>
<script src="/socket.io/socket.io.min.js"></script>
<script>
  const socket = io({ transports: ["websocket"] });
  const log = (text) => {
    const li = document.createElement("li");
    li.textContent = text;
    document.getElementById("log").prepend(li);
  };
  socket.on("welcome", (m) => log(`connected to :${m.server}`));
  socket.on("chat", (m) => log(`[sent via :${m.server}] ${m.text}`));
  document.getElementById("f").onsubmit = (e) => {
    e.preventDefault();
    const input = document.getElementById("t");
    socket.emit("chat", input.value);
    input.value = "";
  };
</script>
"#;
