//! The server the benchmarks (`bench/`, `docs/benchmarks.md`) measure: the
//! default configuration and three handlers, the same as in the peers'
//! servers under `bench/peers/`, served by `axum::serve` with `TCP_NODELAY`.
//!
//! - `echo` acknowledges with its arguments, untouched ([`RawArgs`]);
//! - `broadcast` emits `broadcast` with its arguments to every socket of the
//!   main namespace (the sender too), then acknowledges with no argument;
//! - `join` joins the room named by its argument, then acknowledges.
//!
//! For the rooms run (`socketio-bench suite --only rooms`), three more:
//!
//! - `leave` leaves the room named by its argument, then acknowledges;
//! - `to_room` (`room`, `payload`) emits `room` with `payload` to the
//!   sockets of that room (the sender too, if it is one), then acknowledges;
//! - `join_all` makes every socket of the main namespace join the room
//!   named ([`SocketIo::sockets_join`]) and acknowledges with the time that
//!   took in the server, in microseconds.
//!
//! For the soak run, which watches the process from outside, `GET /stats`
//! answers `{"tasks":<tokio tasks alive>,"sockets":<sockets of the main
//! namespace>}`; `PING_INTERVAL_MS` / `PING_TIMEOUT_MS` set the heartbeat
//! (default 25,000 and 20,000, as Node's), so that abandoned sessions time
//! out within a short run, and `CONNECT_TIMEOUT_MS` the time a client has to
//! join a namespace (default 45,000), for which a timer task outlives the
//! last connection.
//!
//! For the slow-consumer run (`socketio-bench slow-consumer`), `flood`
//! (`{"bytes":B,"chunk":C,"via":"emit"|"broadcast"}`) emits B bytes in
//! strings of C to the sender, with `socket.emit` or to its own room,
//! without waiting for the client to read; `/stats` then says, under
//! `flood`, how far it went and what stopped it. `MAX_BUFFERED_BYTES` sets
//! the limit of each connection's outgoing queue.
//!
//! For the compression run (`socketio-bench deflate`), `PER_MESSAGE_DEFLATE=1`
//! turns WebSocket per-message compression on (default threshold, 1024
//! bytes) at zlib's level `DEFLATE_LEVEL` (default 6), and `MAX_PAYLOAD`
//! sets the largest message a client may send.
//!
//! `CONNECTION_STATE_RECOVERY=1` turns connection state recovery on, with
//! its defaults ([`ConnectionStateRecovery::default`]: a 2-minute window,
//! at most 100,000 packets or 64 MiB kept per namespace), to measure what
//! it costs on the echo and broadcast paths (docs/benchmarks.md,
//! "Connection state recovery").
//!
//! For the cluster fan-out run (`socketio-bench suite --only cluster`),
//! `REDIS_URL` puts the server in a cluster behind the Redis adapter of
//! `socketio-redis` (docs/scaling.md), with `REDIS_PREFIX` as its key prefix
//! (default `socket.io`), so that runs on one Redis do not mix; `broadcast`
//! then reaches the sockets of every server. The server listens once it is
//! subscribed. Without `REDIS_URL`, nothing of this is built.
//!
//! For the WebTransport runs (`socketio-bench ... --transport webtransport`),
//! `WEBTRANSPORT=1` also serves WebTransport on UDP `127.0.0.1:$PORT` (the
//! TCP port's number, where the official client looks) with a fresh
//! self-signed certificate (ECDSA P-256, valid 14 days). Its base64 SHA-256,
//! which a client pins as a browser does with `serverCertificateHashes`, is
//! served at `GET /webtransport-hash` (where the generator reads it) and
//! printed as the first stdout line, `CERT_SHA256_B64=<hash>`, as
//! examples/webtransport_conformance does. Without `WEBTRANSPORT`, no UDP
//! port is bound and that route answers 404.
//!
//! Built with the package's `metrics` feature, it installs the Prometheus
//! recorder before the server is built, so that every metric is recorded
//! (docs/operations.md), and serves them at `GET /metrics`: the cost of
//! recording is measured that way (docs/benchmarks.md, "Metrics").
//!
//! ```text
//! PORT=3000 cargo run --release --example bench_server
//! PORT=3000 cargo run --release --example bench_server --features metrics
//! PORT=3000 WEBTRANSPORT=1 cargo run --release --example bench_server
//! ```

use std::{
    net::SocketAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{routing::get, serve::ListenerExt, Extension, Json};
use socketio_axum::{
    extract::{AckSender, Data, RawArgs},
    webtransport::{Identity, WebTransportConfig},
    ConnectionStateRecovery, SocketIo, SocketIoConfig, SocketRef,
};
use socketio_redis::{RedisAdapter, RedisAdapterConfig};

async fn on_connect(socket: SocketRef) {
    socket.on("echo", |ack: AckSender, args: RawArgs| async move {
        let _ = ack.send_raw(args);
    });
    // The arguments go out as they came in; the packet is encoded once and
    // shared by every socket.
    socket.on(
        "broadcast",
        |socket: SocketRef, ack: AckSender, args: RawArgs| async move {
            let _ = socket.io().emit_raw("broadcast", args);
            let _ = ack.send(&());
        },
    );
    socket.on("flood", flood);
    socket.on(
        "join",
        |socket: SocketRef, ack: AckSender, Data(room): Data<String>| async move {
            socket.join(room);
            let _ = ack.send(&());
        },
    );
    socket.on(
        "leave",
        |socket: SocketRef, ack: AckSender, Data(room): Data<String>| async move {
            socket.leave(room);
            let _ = ack.send(&());
        },
    );
    socket.on(
        "to_room",
        |socket: SocketRef,
         ack: AckSender,
         Data((room, payload)): Data<(String, serde_json::Value)>| async move {
            let _ = socket.io().to(room).emit("room", &payload);
            let _ = ack.send(&());
        },
    );
    socket.on(
        "join_all",
        |socket: SocketRef, ack: AckSender, Data(room): Data<String>| async move {
            let started = Instant::now();
            let _ = socket.io().sockets_join(room);
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let _ = ack.send(&micros);
        },
    );
}

/// What `flood` asks for.
#[derive(serde::Deserialize)]
struct Flood {
    bytes: u64,
    chunk: usize,
    via: String,
}

/// How the last `flood` went, for `/stats`.
static FLOOD: Mutex<Option<serde_json::Value>> = Mutex::new(None);

/// Emits `bytes` to the sender as fast as the server takes them. A direct
/// emit stops at its first error (the queue's limit); a broadcast to the
/// sender's room goes on to the end, whatever happened to the connection.
async fn flood(socket: SocketRef, Data(req): Data<Flood>) {
    let chunk = "x".repeat(req.chunk);
    let room = socket.id().to_string();
    let started = Instant::now();
    let (mut offered, mut packets, mut refused) = (0u64, 0u64, None);
    let mut closed_after = None;
    while offered < req.bytes {
        let sent = match req.via.as_str() {
            "emit" => socket.emit("flood", &chunk),
            _ => socket.io().to(room.as_str()).emit("flood", &chunk),
        };
        if let Err(e) = sent {
            refused = Some(e.to_string());
            if req.via == "emit" {
                break;
            }
        }
        offered += chunk.len() as u64;
        packets += 1;
        if closed_after.is_none() && !socket.connected() {
            closed_after = Some(offered);
        }
        // Lets the connection's task write what the kernel takes, as a
        // server busy with other clients would.
        if packets % 16 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let report = serde_json::json!({
        "via": req.via,
        "offered": offered,
        "packets": packets,
        "refused": refused,
        "closed_after": closed_after,
        "connected": socket.connected(),
        "ms": started.elapsed().as_millis() as u64,
    });
    if let Ok(mut last) = FLOOD.lock() {
        *last = Some(report);
    }
}

/// What the soak run cannot see from `/proc`: the runtime's tasks alive
/// (a task that outlives its connection is a leak) and the sockets still
/// counted.
async fn stats(Extension(io): Extension<SocketIo>) -> Json<serde_json::Value> {
    let tasks = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let flood = FLOOD.lock().ok().and_then(|f| f.clone());
    Json(serde_json::json!({ "tasks": tasks, "sockets": io.sockets().len(), "flood": flood }))
}

/// A duration in milliseconds from the environment variable `name`.
fn env_ms(name: &str) -> std::io::Result<Option<Duration>> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(v) => v
            .parse()
            .map(|ms| Some(Duration::from_millis(ms)))
            .map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{name}={v}: {e}"))
            }),
    }
}

/// The Redis adapter when `REDIS_URL` is set, with `REDIS_PREFIX` as its key
/// prefix.
async fn redis_adapter() -> std::io::Result<Option<RedisAdapter>> {
    let Ok(url) = std::env::var("REDIS_URL") else {
        return Ok(None);
    };
    let mut config = RedisAdapterConfig::builder().url(url);
    if let Ok(prefix) = std::env::var("REDIS_PREFIX") {
        config = config.key_prefix(prefix);
    }
    RedisAdapter::connect(config.build())
        .await
        .map(Some)
        .map_err(std::io::Error::other)
}

/// Serves WebTransport on UDP `addr` (the TCP listener's) with a fresh
/// self-signed certificate; prints and returns its base64 SHA-256.
fn serve_webtransport(io: &SocketIo, addr: SocketAddr) -> std::io::Result<String> {
    let identity =
        Identity::self_signed(["localhost", "127.0.0.1"]).map_err(std::io::Error::other)?;
    let hash = identity.certificate_hash_base64();
    let server = io.serve_webtransport(WebTransportConfig::new(addr, identity))?;
    println!("CERT_SHA256_B64={hash}");
    tokio::spawn(server.run());
    Ok(hash)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut config = SocketIoConfig::builder();
    if let Some(d) = env_ms("PING_INTERVAL_MS")? {
        config = config.ping_interval(d);
    }
    if let Some(d) = env_ms("PING_TIMEOUT_MS")? {
        config = config.ping_timeout(d);
    }
    if let Some(d) = env_ms("CONNECT_TIMEOUT_MS")? {
        config = config.connect_timeout(d);
    }
    if let Ok(v) = std::env::var("MAX_BUFFERED_BYTES") {
        let bytes = v.parse().map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("MAX_BUFFERED_BYTES={v}: {e}"),
            )
        })?;
        config = config.max_buffered_bytes(bytes);
    }
    if let Ok(v) = std::env::var("MAX_PAYLOAD") {
        let bytes = v.parse().map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("MAX_PAYLOAD={v}: {e}"),
            )
        })?;
        config = config.max_payload(bytes);
    }
    // WebSocket per-message compression, for `socketio-bench deflate`.
    if std::env::var("PER_MESSAGE_DEFLATE").is_ok_and(|v| v == "1") {
        let level = std::env::var("DEFLATE_LEVEL")
            .ok()
            .and_then(|v| v.parse().ok());
        config = config.engine(|e| {
            let e = e.per_message_deflate(true);
            match level {
                Some(level) => e.deflate_level(level),
                None => e,
            }
        });
    }
    // Connection state recovery, with its defaults.
    if std::env::var("CONNECTION_STATE_RECOVERY").is_ok_and(|v| v == "1") {
        config = config.connection_state_recovery(ConnectionStateRecovery::default());
    }
    // Before the server is built: it registers its metrics then.
    #[cfg(feature = "metrics")]
    let metrics =
        socketio_axum_examples::metrics::install_recorder().map_err(std::io::Error::other)?;
    let mut builder = SocketIo::builder().config(config.build());
    let adapter = redis_adapter().await?;
    if let Some(adapter) = &adapter {
        builder = builder.adapter(adapter.clone());
    }
    let (layer, io) = builder.build_layer();
    io.ns("/", on_connect);
    // Subscribed before listening: the generator's first broadcast then
    // reaches this server's clients.
    if let Some(adapter) = &adapter {
        adapter.ready().await;
    }

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    // TCP_NODELAY, as Node's HTTP server and the floor have: without it,
    // Nagle's algorithm holds an answer until the client acknowledges the
    // previous one, milliseconds at moderate load (docs/benchmarks.md).
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let addr = listener.local_addr()?;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let mut app = axum::Router::new().route("/stats", get(stats));
    if std::env::var("WEBTRANSPORT").is_ok_and(|v| v == "1") {
        let hash = serve_webtransport(&io, addr)?;
        app = app.route(
            "/webtransport-hash",
            get(move || std::future::ready(hash.clone())),
        );
    }
    #[cfg(feature = "metrics")]
    let app = app.route(
        "/metrics",
        get(move || std::future::ready(metrics.render())),
    );
    let app = app.layer(layer);
    println!("socketio-axum listening on 127.0.0.1:{port}");
    axum::serve(listener, app).await
}
