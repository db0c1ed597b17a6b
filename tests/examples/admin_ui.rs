//! `examples/admin-ui` with the official Admin UI (npm `@socket.io/admin-ui`
//! 0.5.1, its built files served by the example) in headless Chromium:
//! `tests/browser/admin_ui.test.mjs` logs in, and this test connects
//! official clients and emits through the script, then waits for what the
//! UI shows (socket count, a room, a live event, the servers).
//!
//! The cluster test puts two of our servers and a Node server instrumented
//! with `@socket.io/admin-ui` (`tests/node/admin_node_server.mjs`) on one
//! Redis (the Node adapter's key prefix, unique to the run): the UI, logged
//! in to one of ours, lists all three and their sockets.
//!
//! The screenshots go to `target/tmp/`; with `UPDATE_SCREENSHOT=1` they
//! replace `docs/screenshot-admin-ui.png` (sockets) and
//! `docs/screenshot-admin-ui-cluster.png` (the three servers).

use std::{net::SocketAddr, path::PathBuf};

use serde_json::{json, Value};
use socketio_axum::SocketIo;
use socketio_axum_examples::admin_ui::{self, Login};
use socketio_redis::{RedisAdapter, RedisAdapterConfig};
use tokio::runtime::Runtime;

use crate::{chat::screenshot_path, node::tests_dir, process::Node};

const CHROMIUM: &str = "/usr/bin/chromium";

fn login() -> Login {
    Login {
        username: "admin".into(),
        password_hash: admin_ui::ADMIN_HASH.into(),
    }
}

/// One of our servers, running the example's application on a runtime of
/// its own, with the Redis adapter on `prefix` if given.
struct OurServer {
    addr: SocketAddr,
    _runtime: Runtime,
}

impl OurServer {
    fn start(id: &str, prefix: Option<&str>) -> OurServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let addr = runtime.block_on(async {
            let mut builder = SocketIo::builder();
            if let Some(prefix) = prefix {
                let config = RedisAdapterConfig::builder()
                    .url("redis://127.0.0.1:6379")
                    .key_prefix(prefix)
                    .build();
                let adapter = RedisAdapter::connect(config)
                    .await
                    .expect("Redis on 127.0.0.1:6379");
                builder = builder.adapter(adapter.clone());
                let (layer, io) = builder.build_layer();
                let app = admin_ui::app(layer, &io, login(), id, &admin_ui::default_dist())
                    .expect("instrumented");
                adapter.ready().await;
                serve(app).await
            } else {
                let (layer, io) = builder.build_layer();
                let app = admin_ui::app(layer, &io, login(), id, &admin_ui::default_dist())
                    .expect("instrumented");
                serve(app).await
            }
        });
        OurServer {
            addr,
            _runtime: runtime,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("an address");
    // With the connection info, as the example: the UI shows each
    // client's address.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// The browser script, logged in to `server` with the UI it serves.
fn open_ui(server: &str, password: &str, shot: &str, servers: usize) -> Node {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does it)"
    );
    admin_ui_installed();
    let ui = format!("{server}/admin-ui/");
    Node::spawn(
        "browser/admin_ui.test.mjs",
        &[&ui, server, "admin", password, shot, &servers.to_string()],
    )
}

fn admin_ui_installed() {
    assert!(
        tests_dir()
            .join("node_modules/@socket.io/admin-ui/ui/dist/index.html")
            .is_file(),
        "the Admin UI is missing: run `npm ci --prefix tests` first"
    );
}

fn ids(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// The UI logs in to our server, lists it, shows the sockets of official
/// clients as they connect, their rooms, and an event as it is sent.
#[test]
fn the_official_ui_shows_our_server_its_sockets_rooms_and_events() {
    let server = OurServer::start("ours-1", None);
    let url = server.url();
    let mut ui = open_ui(
        &url,
        "admin",
        &screenshot_path("screenshot-admin-ui.png"),
        1,
    );
    ui.expect("connected");
    assert_eq!(ids(&ui.expect("servers")), ["ours-1"]);
    ui.expect("ready");

    ui.send(json!({ "client": "c1", "url": url, "room": "r1" }));
    let c1 = ui.expect("client")["id"].clone();
    ui.send(json!({ "client": "c2", "url": url, "nsp": "/chat", "room": "r2" }));
    ui.expect("client");
    ui.send(json!({ "client": "c3", "url": url, "nsp": "/chat", "room": "r2" }));
    let c3 = ui.expect("client")["id"].clone();
    ui.send(json!({ "expect": "sockets", "count": 3 }));
    assert_eq!(ui.expect("sockets")["count"], 3);
    ui.send(json!({ "expect": "room", "name": "r1", "nsp": "/" }));
    assert_eq!(ui.expect("room")["sockets"], 1);
    ui.send(json!({ "expect": "sockets", "count": 1, "nsp": "/" }));
    let row = &ui.expect("sockets")["rows"][0];
    assert_eq!(
        (
            &row["id"],
            row["address"].as_str(),
            row["transport"].as_str()
        ),
        (&c1, Some("127.0.0.1"), Some("WebSocket")),
        "{row}"
    );

    // c2's message reaches c3 through the room: received from c2, sent to c3.
    ui.send(json!({ "emit": "c2", "event": "chat", "args": ["hello from c2"] }));
    ui.expect("emitted");
    ui.send(json!({ "expect": "event", "name": "chat", "nsp": "/chat", "type": "Event sent" }));
    let sent = ui.expect("event");
    assert_eq!(sent["socket"], c3);
    assert_eq!(sent["args"], json!(["hello from c2"]));
    ui.send(json!({ "expect": "event", "name": "chat", "nsp": "/chat", "type": "Event received" }));
    assert_eq!(ui.expect("event")["args"], json!(["hello from c2"]));

    ui.send(json!({ "screenshot": true, "view": "Sockets", "nsp": "/" }));
    ui.expect("screenshot");
    ui.send(json!({ "quit": true }));
}

/// A wrong password is refused with Node's message, as the UI shows it.
#[test]
fn a_wrong_password_is_refused() {
    let server = OurServer::start("ours-1", None);
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("admin-refused.png");
    let mut ui = open_ui(&server.url(), "not-admin", shot.to_str().expect("UTF-8"), 1);
    let refused = ui.expect("refused");
    assert_eq!(
        refused["message"]
            .as_str()
            .map(str::to_lowercase)
            .as_deref(),
        Some("invalid credentials")
    );
}

/// Two of ours and a Node server on one Redis: the UI, logged in to one of
/// ours, lists the three servers and the sockets connected to each, and
/// sees an event sent by a client of the Node server.
#[test]
fn a_cluster_with_a_node_server_shows_every_server() {
    let prefix = format!("admin-ui-test-{}", std::process::id());
    let a = OurServer::start("ours-a", Some(&prefix));
    let b = OurServer::start("ours-b", Some(&prefix));
    admin_ui_installed();
    let mut node = Node::spawn(
        "node/admin_node_server.mjs",
        &["node-c", "admin", admin_ui::ADMIN_HASH, &prefix],
    );
    let port = node.expect("port")["port"].as_u64().expect("a port");
    let node_url = format!("http://127.0.0.1:{port}");

    let shot = screenshot_path("screenshot-admin-ui-cluster.png");
    let mut ui = open_ui(&a.url(), "admin", &shot, 3);
    ui.expect("connected");
    assert_eq!(ids(&ui.expect("servers")), ["node-c", "ours-a", "ours-b"]);
    ui.expect("ready");

    for (name, url) in [("ca", a.url()), ("cb", b.url()), ("cc", node_url.clone())] {
        ui.send(json!({ "client": name, "url": url, "nsp": "/chat", "room": "shared" }));
        ui.expect("client");
    }
    ui.send(json!({ "expect": "sockets", "count": 3, "nsp": "/chat" }));
    let sockets = ui.expect("sockets");
    assert_eq!(sockets["count"], 3, "{sockets}");
    ui.send(json!({ "expect": "room", "name": "shared", "nsp": "/chat" }));
    assert_eq!(ui.expect("room")["sockets"], 3);

    // From the Node server's client to ours: received there, sent here.
    ui.send(json!({ "emit": "cc", "event": "chat", "args": ["from node"] }));
    ui.expect("emitted");
    ui.send(json!({ "expect": "event", "name": "chat", "nsp": "/chat", "type": "Event received" }));
    assert_eq!(ui.expect("event")["args"], json!(["from node"]));
    ui.send(json!({ "screenshot": true, "view": "Servers" }));
    ui.expect("screenshot");
    ui.send(json!({ "quit": true }));
    drop(node);
}
