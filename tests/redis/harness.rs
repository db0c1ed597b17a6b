//! The pieces of a mixed cluster: Rust servers in this process, a Node
//! server and Node clients in child processes, all behind one Redis.

use std::{
    collections::HashMap,
    path::PathBuf,
    process::Stdio,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::{json, Value};
use socketio_axum::{
    adapter::ServerSideEvent, extract::Data, DisconnectReason, SocketIo, SocketIoConfig, SocketRef,
};
use socketio_redis::{RedisAdapter, RedisAdapterConfig};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::{Child, ChildStdin, Command},
    sync::mpsc,
};

/// Upper bound of every wait: far above what a step takes.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// Awaits `fut`, failing the test with `what` after [`TIMEOUT`].
pub(crate) async fn within<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(TIMEOUT, fut).await {
        Ok(out) => out,
        Err(_) => panic!("timed out after {TIMEOUT:?} waiting for {what}"),
    }
}

/// The shared Redis of the tests (`REDIS_URL`, default `redis://127.0.0.1:6379`).
/// Fails the test at once, saying how to start one, when nothing listens there.
pub(crate) fn redis_url() -> String {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    static CHECKED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    if let Err(e) = CHECKED.get_or_init(|| reachable(&url)) {
        panic!(
            "no Redis at {url} ({e}). Start one with \
             `redis-server --port 6379 --save '' --appendonly no --daemonize yes` \
             (.ci/run does it on a fresh machine), or point REDIS_URL at yours"
        );
    }
    url
}

/// Whether something accepts TCP connections at the URL's host and port.
fn reachable(url: &str) -> Result<(), String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let host_port = rest.split('/').next().unwrap_or(rest);
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host_port)
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| format!("{host_port} resolves to nothing"))?;
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map(drop)
        .map_err(|e| e.to_string())
}

/// A key prefix no other test (nor another run) uses.
pub(crate) fn unique_prefix(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "sio-test-{test}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A Node script with a JSON-lines control channel.
pub(crate) struct NodeProc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<Value>,
    backlog: Vec<Value>,
    next_id: u64,
}

impl NodeProc {
    pub(crate) async fn spawn(name: &str, script: &str, args: &[&str]) -> NodeProc {
        NodeProc::spawn_with_env(name, script, args, &[]).await
    }

    /// With more environment variables (`streams_server.mjs` is configured
    /// by them).
    pub(crate) async fn spawn_with_env(
        name: &str,
        script: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> NodeProc {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        assert!(
            dir.join("node_modules").is_dir(),
            "{}/node_modules is missing: run `npm ci --prefix tests` first",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg(dir.join("node").join(script))
            .args(args)
            .envs(env.iter().copied())
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `node` (is Node.js installed?): {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        let who = name.to_owned();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                match serde_json::from_str(&line) {
                    Ok(v) => {
                        let _ = tx.send(v);
                    }
                    Err(_) => eprintln!("{who}: {line}"),
                }
            }
        });
        NodeProc {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            lines,
            backlog: Vec::new(),
            next_id: 0,
        }
    }

    pub(crate) async fn send(&mut self, cmd: Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        let mut line = cmd.to_string();
        line.push('\n');
        stdin
            .write_all(line.as_bytes())
            .await
            .expect("write to node");
        stdin.flush().await.expect("flush to node");
    }

    /// The first line, since the last match, for which `pred` holds; lines
    /// that do not match stay for later calls.
    pub(crate) async fn expect(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i);
        }
        let name = self.name.clone();
        let what = format!("{what} (from {name})");
        within(&what, async {
            loop {
                match self.lines.recv().await {
                    Some(line) if pred(&line) => return line,
                    Some(line) => self.backlog.push(line),
                    None => panic!("{name} exited while waiting for {what}"),
                }
            }
        })
        .await
    }

    /// Sends a command and returns its answer.
    pub(crate) async fn request(&mut self, mut cmd: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        cmd["id"] = json!(id);
        let what = format!("answer to {cmd}");
        self.send(cmd).await;
        let answer = self.expect(&what, |l| l["id"] == json!(id)).await;
        assert!(
            answer.get("error").is_none_or(|e| !e.is_string()),
            "{what}: {answer}"
        );
        answer
    }

    /// Sends every command before awaiting the first answer (the script
    /// runs them in order), and returns the answers in that order.
    pub(crate) async fn request_all(
        &mut self,
        cmds: impl IntoIterator<Item = Value>,
    ) -> Vec<Value> {
        let mut ids = Vec::new();
        for mut cmd in cmds {
            self.next_id += 1;
            cmd["id"] = json!(self.next_id);
            ids.push(self.next_id);
            self.send(cmd).await;
        }
        let mut answers = Vec::new();
        for id in ids {
            let answer = self
                .expect(&format!("answer to command {id}"), |l| l["id"] == json!(id))
                .await;
            assert!(
                answer.get("error").is_none_or(|e| !e.is_string()),
                "{answer}"
            );
            answers.push(answer);
        }
        answers
    }

    /// Takes every buffered line for which `pred` holds.
    pub(crate) fn take(&mut self, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let (taken, kept) = std::mem::take(&mut self.backlog)
            .into_iter()
            .partition(|l| pred(l));
        self.backlog = kept;
        taken
    }

    /// Kills the process and waits for it to exit.
    pub(crate) async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// A Node server of the cluster.
pub(crate) struct NodeServer {
    pub(crate) proc: NodeProc,
    pub(crate) url: String,
}

impl NodeServer {
    /// With the classic adapter.
    pub(crate) async fn start(prefix: &str, redis: &str) -> NodeServer {
        NodeServer::start_with(&["0", prefix, redis]).await
    }

    /// With the sharded adapter (dynamic mode), on the Redis Cluster that
    /// `node` belongs to.
    pub(crate) async fn start_sharded(prefix: &str, node: &str) -> NodeServer {
        NodeServer::start_with(&["0", prefix, node, "sharded"]).await
    }

    async fn start_with(args: &[&str]) -> NodeServer {
        let proc = NodeProc::spawn("node server", "redis_server.mjs", args).await;
        NodeServer::ready(proc).await
    }

    /// With `@socket.io/redis-streams-adapter` (`streams_server.mjs`),
    /// configured by `env` (`STREAM_NAME`, `CHANNEL_PREFIX`...).
    pub(crate) async fn start_streams(env: &[(&str, &str)]) -> NodeServer {
        let proc =
            NodeProc::spawn_with_env("node streams server", "streams_server.mjs", &[], env).await;
        NodeServer::ready(proc).await
    }

    async fn ready(mut proc: NodeProc) -> NodeServer {
        let ready = proc.expect("ready", |l| l["event"] == "ready").await;
        let url = format!("http://127.0.0.1:{}", ready["port"]);
        NodeServer { proc, url }
    }

    pub(crate) async fn cmd(&mut self, cmd: Value) -> Value {
        self.proc.request(cmd).await
    }
}

/// Node's `@socket.io/redis-emitter`, on the cluster of `prefix`.
pub(crate) struct NodeEmitter {
    proc: NodeProc,
}

impl NodeEmitter {
    pub(crate) async fn start(prefix: &str, redis: &str) -> NodeEmitter {
        let mut proc = NodeProc::spawn("node emitter", "redis_emitter.mjs", &[prefix, redis]).await;
        proc.expect("ready", |l| l["event"] == "ready").await;
        NodeEmitter { proc }
    }

    /// Runs a command; returns once Redis has the message.
    pub(crate) async fn cmd(&mut self, cmd: Value) -> Value {
        self.proc.request(cmd).await
    }
}

/// socket.io-client clients, by name.
pub(crate) struct Clients {
    pub(crate) proc: NodeProc,
    pub(crate) sids: HashMap<String, String>,
}

impl Clients {
    pub(crate) async fn start() -> Clients {
        Clients {
            proc: NodeProc::spawn("clients", "redis_clients.mjs", &[]).await,
            sids: HashMap::new(),
        }
    }

    pub(crate) async fn connect(&mut self, name: &str, url: &str, rooms: &[&str]) -> String {
        self.proc
            .send(json!({"cmd": "connect", "name": name, "url": url, "rooms": rooms}))
            .await;
        let line = self
            .proc
            .expect(&format!("{name} connected"), |l| {
                l["name"] == name && (l["event"] == "connected" || l["event"] == "connect_error")
            })
            .await;
        assert_eq!(line["event"], "connected", "{line}");
        let sid = line["sid"].as_str().expect("sid").to_owned();
        self.sids.insert(name.to_owned(), sid.clone());
        sid
    }

    /// Makes `name` emit `ev` with `args` to its server.
    pub(crate) async fn emit(&mut self, name: &str, ev: &str, args: Value) {
        self.proc
            .send(json!({"cmd": "emit", "name": name, "ev": ev, "args": args}))
            .await;
    }

    /// Waits for `name` to receive `ev`, and returns its arguments.
    pub(crate) async fn received(&mut self, name: &str, ev: &str) -> Value {
        let line = self
            .proc
            .expect(&format!("{name} to receive {ev}"), |l| {
                l["event"] == "message" && l["name"] == name && l["ev"] == ev
            })
            .await;
        line["args"].clone()
    }

    /// Waits for `name` to be disconnected, and returns the reason.
    pub(crate) async fn disconnected(&mut self, name: &str) -> String {
        let line = self
            .proc
            .expect(&format!("{name} disconnected"), |l| {
                l["event"] == "disconnected" && l["name"] == name
            })
            .await;
        line["reason"].as_str().unwrap_or_default().to_owned()
    }

    /// For each client, the events it received before `sentinel`: once every
    /// client has the sentinel, nothing sent before it is still on its way.
    pub(crate) async fn until(
        &mut self,
        names: &[&str],
        sentinel: &str,
    ) -> HashMap<String, Vec<String>> {
        let mut out = HashMap::new();
        for name in names {
            let _ = self.received(name, sentinel).await;
        }
        for name in names {
            let evs = self
                .proc
                .take(|l| l["event"] == "message" && l["name"] == *name)
                .into_iter()
                .map(|l| l["ev"].as_str().unwrap_or_default().to_owned())
                .collect();
            out.insert(name.to_string(), evs);
        }
        out
    }
}

/// A Rust server of the cluster, on 127.0.0.1:0.
pub(crate) struct RustServer {
    pub(crate) name: String,
    pub(crate) io: SocketIo,
    pub(crate) adapter: RedisAdapter,
    pub(crate) url: String,
    /// Server-side events received: (event, arguments as a JSON array).
    pub(crate) server_side: mpsc::UnboundedReceiver<(String, Value)>,
    /// Each connection and disconnection of a socket, in the shape Node's
    /// test servers print them: `{"event":"connection","nsp","id",
    /// "recovered","rooms","data"}`, `{"event":"disconnect","nsp","id","reason"}`.
    pub(crate) connections: mpsc::UnboundedReceiver<Value>,
}

/// The adapter configuration of the tests' servers: a 3 s request timeout.
pub(crate) fn config(prefix: &str, redis: &str) -> socketio_redis::RedisAdapterConfigBuilder {
    RedisAdapterConfig::builder()
        .url(redis)
        .key_prefix(prefix)
        .request_timeout(Duration::from_secs(3))
}

impl RustServer {
    pub(crate) async fn start(name: &str, prefix: &str, redis: &str) -> RustServer {
        RustServer::start_with(name, config(prefix, redis).build()).await
    }

    pub(crate) async fn start_with(name: &str, config: RedisAdapterConfig) -> RustServer {
        RustServer::start_configured(name, config, SocketIoConfig::default()).await
    }

    /// With a Socket.IO configuration of its own (such as another parser).
    pub(crate) async fn start_configured(
        name: &str,
        config: RedisAdapterConfig,
        sio: SocketIoConfig,
    ) -> RustServer {
        let adapter = within("the adapter to connect", RedisAdapter::connect(config))
            .await
            .expect("connect to Redis");
        let (layer, io) = SocketIo::builder()
            .config(sio)
            .adapter(adapter.clone())
            .build_layer();
        let (tx, server_side) = mpsc::unbounded_channel();
        let me = name.to_owned();
        io.on_server_side(move |event: ServerSideEvent| {
            let args: Value =
                serde_json::from_str(&format!("[{}]", event.args().args)).unwrap_or_default();
            let _ = tx.send((event.event().to_owned(), args));
            // "unanswered" is never answered here: a server that does not
            // reply in time, for the partial answers of `server_side_emit`.
            if event.expects_ack() && event.event() != "unanswered" {
                let _ = event.ack(&json!({ "from": me }));
            }
        });
        let (seen, connections) = mpsc::unbounded_channel();
        // Registered after `on_server_side`: the order must not matter.
        for ns in ["/", "/admin"] {
            let seen = seen.clone();
            io.ns(ns, move |socket: SocketRef| {
                on_connect(socket, seen.clone())
            });
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let app = axum::Router::new().layer(layer);
        tokio::spawn(async move {
            // With the peer address, as a server that reports it (Node's handshake.address).
            let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            let _ = axum::serve(listener, app).await;
        });
        within("the adapter to subscribe", adapter.ready()).await;
        RustServer {
            name: name.to_owned(),
            io,
            adapter,
            url,
            server_side,
            connections,
        }
    }

    /// The next connection or disconnection report (see [`RustServer::connections`]).
    pub(crate) async fn next_connection(&mut self) -> Value {
        let what = format!("a connection or disconnection on {}", self.name);
        within(&what, self.connections.recv())
            .await
            .expect("connections channel open")
    }

    pub(crate) async fn next_server_side(&mut self) -> (String, Value) {
        let what = format!("a server-side event on {}", self.name);
        within(&what, self.server_side.recv())
            .await
            .expect("server-side channel open")
    }
}

/// A socket of the tests' Rust servers (on `/` and `/admin`), as those of
/// Node's test servers: unless recovered, joins the rooms of its
/// `auth.rooms` and keeps its `auth.name` as `data.name`; reports its
/// connection and disconnection to `seen`; relays what a client asks it to.
async fn on_connect(socket: SocketRef, seen: mpsc::UnboundedSender<Value>) {
    let auth: Value = socket
        .handshake()
        .auth()
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or_default();
    if !socket.recovered() {
        if let Some(rooms) = auth["rooms"].as_array() {
            let rooms: Vec<String> = rooms
                .iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect();
            socket.join(rooms);
        }
        if let Some(name) = auth["name"].as_str() {
            socket.set_data(json!({ "name": name }));
        }
    }
    let _ = seen.send(json!({
        "event": "connection",
        "nsp": socket.ns().to_string(),
        "id": socket.id().to_string(),
        "recovered": socket.recovered(),
        "rooms": socket.rooms().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "data": socket.data(),
    }));
    socket.on_disconnect(
        move |socket: SocketRef, reason: DisconnectReason| async move {
            let _ = seen.send(json!({
                "event": "disconnect",
                "nsp": socket.ns().to_string(),
                "id": socket.id().to_string(),
                "reason": reason.as_str(),
            }));
        },
    );
    // A client's broadcast: to every other client of the cluster, or to a room.
    socket.on(
        "relay",
        // `socketio_axum::Value`: binary inside `arg` stays binary.
        |socket: SocketRef, Data(relay): Data<socketio_axum::Value>| async move {
            let ev = relay.get("ev").and_then(|e| e.as_str()).unwrap_or_default();
            let op = match relay.get("room").and_then(|r| r.as_str()) {
                Some(room) => socket.broadcast().to(room.to_owned()),
                None => socket.broadcast(),
            };
            let _ = match relay.get("arg") {
                Some(arg) => op.emit(ev, arg),
                None => op.emit(ev, &()),
            };
        },
    );
}

/// Two Rust servers (`a`, `b`) and a Node one (`node`), with clients:
/// `a1` (room r1) and `a2` (r2) on a, `b1` (r1) on b, `n1` (r1) and `n2`
/// (r2) on node.
pub(crate) struct Cluster {
    /// The key prefix the cluster's servers share.
    pub(crate) prefix: String,
    pub(crate) a: RustServer,
    pub(crate) b: RustServer,
    pub(crate) node: NodeServer,
    pub(crate) clients: Clients,
}

pub(crate) const ALL: [&str; 5] = ["a1", "a2", "b1", "n1", "n2"];

impl Cluster {
    pub(crate) async fn start(test: &str) -> Cluster {
        let prefix = unique_prefix(test);
        let redis = redis_url();
        let c = Cluster::connect(
            &prefix,
            tokio::join!(
                RustServer::start("a", &prefix, &redis),
                RustServer::start("b", &prefix, &redis),
                NodeServer::start(&prefix, &redis),
                Clients::start(),
            ),
        )
        .await;
        assert_eq!(c.a.io.server_count().await.expect("server count"), 3);
        c
    }

    /// The same with the sharded adapter (dynamic mode) on the Redis
    /// Cluster that `node` belongs to. The servers may not count each other
    /// yet: their subscriptions live on several nodes.
    pub(crate) async fn start_sharded(prefix: &str, node: &str) -> Cluster {
        let sharded = |name| {
            let config = config(prefix, node)
                .sharded(socketio_redis::SubscriptionMode::Dynamic)
                .build();
            RustServer::start_with(name, config)
        };
        Cluster::connect(
            prefix,
            tokio::join!(
                sharded("a"),
                sharded("b"),
                NodeServer::start_sharded(prefix, node),
                Clients::start(),
            ),
        )
        .await
    }

    /// Connects the clients to servers started by the caller.
    pub(crate) async fn connect(
        prefix: &str,
        (a, b, node, mut clients): (RustServer, RustServer, NodeServer, Clients),
    ) -> Cluster {
        clients.connect("a1", &a.url, &["r1"]).await;
        clients.connect("a2", &a.url, &["r2"]).await;
        clients.connect("b1", &b.url, &["r1"]).await;
        clients.connect("n1", &node.url, &["r1"]).await;
        clients.connect("n2", &node.url, &["r2"]).await;
        Cluster {
            prefix: prefix.to_owned(),
            a,
            b,
            node,
            clients,
        }
    }

    pub(crate) fn sid(&self, name: &str) -> String {
        self.clients.sids[name].clone()
    }
}
