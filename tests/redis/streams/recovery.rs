//! Connection state recovery across servers: the session kept in Redis,
//! the missed events read back from the stream.

use std::{ops::Range, time::Duration};

use serde_json::{json, Value};
use socketio_client::{
    extract::{Event, RawArgs},
    Client, Transports,
};
use tokio::sync::mpsc;

use super::{set, Names};
use crate::harness::{redis_url, within, NodeProc, NodeServer, RustServer};

/// Clients of `tests/node/streams_clients.mjs`, each behind a proxy of the
/// same name that the test cuts and points at another server.
struct Proxied {
    proc: NodeProc,
}

impl Proxied {
    async fn start() -> Proxied {
        Proxied {
            proc: NodeProc::spawn("proxied clients", "streams_clients.mjs", &[]).await,
        }
    }

    /// Starts proxy `name` to `url`; returns the proxy's URL.
    async fn proxy(&mut self, name: &str, url: &str) -> String {
        self.proc
            .send(json!({"cmd": "proxy", "name": name, "url": url}))
            .await;
        let line = self
            .proc
            .expect(&format!("proxy {name}"), |l| {
                l["event"] == "proxy" && l["name"] == name
            })
            .await;
        format!("http://127.0.0.1:{}", line["port"])
    }

    /// Closes the connections of proxy `name`; new ones wait for [`resume`](Self::resume).
    async fn cut(&mut self, name: &str) {
        self.proc.send(json!({"cmd": "cut", "name": name})).await;
        self.proc
            .expect(&format!("{name} cut"), |l| {
                l["event"] == "cut" && l["name"] == name
            })
            .await;
    }

    /// Points proxy `name` at `url` and lets the waiting connections through.
    async fn resume(&mut self, name: &str, url: &str) {
        self.proc
            .send(json!({"cmd": "resume", "name": name, "url": url}))
            .await;
        self.proc
            .expect(&format!("{name} resumed"), |l| {
                l["event"] == "resumed" && l["name"] == name
            })
            .await;
    }

    /// Connects client `name` (with `rooms`) to `url` through a proxy of
    /// its name; returns its "connected" line.
    async fn connect(&mut self, name: &str, url: &str, rooms: &[&str]) -> Value {
        self.connect_with(name, url, rooms, false).await
    }

    /// The same; `anonymous`: without `auth.name` (so without data).
    async fn connect_with(
        &mut self,
        name: &str,
        url: &str,
        rooms: &[&str],
        anonymous: bool,
    ) -> Value {
        let proxy = self.proxy(name, url).await;
        self.proc
            .send(json!({"cmd": "connect", "name": name, "url": proxy, "rooms": rooms, "anonymous": anonymous}))
            .await;
        self.next(name, "connected").await
    }

    /// The next `event` line of client `name`; a `connect_error` fails.
    async fn next(&mut self, name: &str, event: &str) -> Value {
        let line = self
            .proc
            .expect(&format!("{name}: {event}"), |l| {
                l["name"] == name && (l["event"] == event || l["event"] == "connect_error")
            })
            .await;
        assert_eq!(line["event"], event, "{line}");
        line
    }

    /// The arguments of the next event `ev` that client `name` receives.
    async fn received(&mut self, name: &str, ev: &str) -> Vec<Value> {
        let line = self
            .proc
            .expect(&format!("{name} to receive {ev}"), |l| {
                l["event"] == "message" && l["name"] == name && l["ev"] == ev
            })
            .await;
        serde_json::from_value(line["args"].clone()).unwrap()
    }

    /// Every line of client `name` not read yet, in order, up to and
    /// including its event `ev`.
    async fn lines_until(&mut self, name: &str, ev: &str) -> Vec<Value> {
        let last = self
            .proc
            .expect(&format!("{name} to receive {ev}"), |l| {
                l["event"] == "message" && l["name"] == name && l["ev"] == ev
            })
            .await;
        let mut lines = self.proc.take(|l| l["name"] == name);
        lines.push(last);
        lines
    }
}

/// A server of the recovery tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    A,
    B,
    Node,
}

/// Where events go: a socket id, or a room.
#[derive(Debug, Clone, Copy)]
enum To {
    Id,
    Room,
}

/// Two of ours and Node's on one stream, recovery on, and the clients.
struct Recovery {
    names: Names,
    redis: String,
    a: RustServer,
    b: RustServer,
    node: NodeServer,
    clients: Proxied,
}

/// The window of `a` and Node's.
const WINDOW: Duration = Duration::from_secs(10);
/// The window of `b`: the session of a client that leaves b expires while the test waits.
const SHORT_WINDOW: Duration = Duration::from_secs(1);

impl Recovery {
    async fn start(test: &str) -> Recovery {
        let names = Names::new(test);
        let redis = redis_url();
        let (a, b, node, clients) = tokio::join!(
            names.ours("a", &redis, Some(WINDOW)),
            names.ours("b", &redis, Some(SHORT_WINDOW)),
            names.node(&redis, Some(WINDOW)),
            Proxied::start(),
        );
        Recovery {
            names,
            redis,
            a,
            b,
            node,
            clients,
        }
    }

    /// One of ours.
    fn server(&self, at: At) -> &RustServer {
        match at {
            At::A => &self.a,
            At::B => &self.b,
            At::Node => panic!("node is not one of ours"),
        }
    }

    fn url(&self, at: At) -> String {
        match at {
            At::A => self.a.url.clone(),
            At::B => self.b.url.clone(),
            At::Node => self.node.url.clone(),
        }
    }

    /// The next connection or disconnection that server `at` reports, in
    /// the shape of Node's: `{"event":"connection","id","recovered","rooms","data"}`
    /// or `{"event":"disconnect","id","reason"}`.
    async fn report(&mut self, at: At) -> Value {
        match at {
            At::A => self.a.next_connection().await,
            At::B => self.b.next_connection().await,
            At::Node => {
                self.node
                    .proc
                    .expect("a connection or disconnection on node", |l| {
                        l["event"] == "connection" || l["event"] == "disconnect"
                    })
                    .await
            }
        }
    }

    /// Emits `ev` with each of `numbers` to `target` from server `at`, in
    /// order; returns once Redis has them all.
    async fn emit(&mut self, at: At, target: &str, ev: &str, numbers: Range<u32>) {
        match at {
            At::Node => {
                let cmds = numbers
                    .map(|n| json!({"cmd": "emit", "event": ev, "args": [n], "rooms": [target]}));
                self.node.proc.request_all(cmds).await;
            }
            At::A | At::B => {
                let io = &self.server(at).io;
                let mut last = None;
                for n in numbers {
                    last = Some(io.to(target.to_owned()).emit_published(ev, &n).unwrap());
                }
                if let Some(last) = last {
                    within("the emits to be in Redis", last).await.unwrap();
                }
            }
        }
    }

    /// Client `name` (in room `room`) connects to `from` through its proxy,
    /// receives an event with an offset (the client sends its session back
    /// only once it has one), and is cut off; while it is away, 1,000
    /// "bulk" events (0 to 999) are emitted to it, in blocks of 125 from
    /// each of `sources` in turn, to its id or its room (each block in
    /// Redis before the next starts, so the stream holds them in order),
    /// and "noise" it must not get. It comes back on `to`, which must
    /// restore its session. Returns its id.
    async fn recovers(
        &mut self,
        name: &str,
        room: &str,
        (from, to): (At, At),
        sources: [(At, To); 4],
    ) -> String {
        let connected = self.clients.connect(name, &self.url(from), &[room]).await;
        assert_eq!(connected["recovered"], false, "{connected}");
        let sid = connected["sid"].as_str().unwrap().to_owned();
        let report = self.report(from).await;
        assert_eq!(
            (&report["event"], &report["id"], &report["recovered"]),
            (&json!("connection"), &json!(sid), &json!(false)),
            "{report}"
        );
        // An event from another server, read from the stream, then, as the
        // last before the cut, one from this server: each must carry its
        // own entry's id as its offset.
        let other = if from == At::Node { At::B } else { At::Node };
        self.emit(other, &sid, "hi-from-elsewhere", 0..1).await;
        let hi = self.clients.received(name, "hi-from-elsewhere").await;
        self.names
            .assert_offset_of(&self.redis, &hi, "hi-from-elsewhere")
            .await;
        if from != At::Node {
            // An entry that selects no socket, appended in the same
            // pipeline as "hi" (nothing yields between them): "hi" must
            // still get its own entry's id, or the client, sending back an
            // earlier offset, gets "hi" again on recovery.
            self.server(from).io.to("nobody").join("x").unwrap();
        }
        self.emit(from, &sid, "hi", 0..1).await;
        let hi = self.clients.received(name, "hi").await;
        self.names.assert_offset_of(&self.redis, &hi, "hi").await;

        self.clients.cut(name).await;
        assert_eq!(
            self.clients.next(name, "disconnected").await["reason"],
            "transport close"
        );
        let report = self.report(from).await;
        assert_eq!(report["event"], "disconnect", "{report}");
        assert_eq!(report["id"], sid.as_str(), "{report}");
        let reason = report["reason"].as_str().unwrap();
        assert!(
            ["transport close", "transport error"].contains(&reason),
            "{report}"
        );

        for block in 0..8u32 {
            let (at, to_what) = sources[block as usize % 4];
            let target = match to_what {
                To::Id => sid.clone(),
                To::Room => room.to_owned(),
            };
            self.emit(at, &target, "bulk", block * 125..(block + 1) * 125)
                .await;
            if block == 3 {
                self.noise(&sid, room).await;
                if to != At::Node {
                    // Ours restores past them (Node's restore is not
                    // this test's subject).
                    self.names.append_malformed(&self.redis).await;
                }
            }
        }

        self.clients.resume(name, &self.url(to)).await;
        let report = self.report(to).await;
        assert_eq!(report["event"], "connection", "{report}");
        assert_eq!(report["id"], sid.as_str(), "{report}");
        assert_eq!(report["recovered"], true, "{report}");
        let rooms: Vec<String> = serde_json::from_value(report["rooms"].clone()).unwrap();
        assert_eq!(set(rooms), set([sid.clone(), room.to_owned()]), "{report}");
        assert_eq!(report["data"], json!({"name": name}), "{report}");

        // The missed events, before the client's `connect`, and before
        // anything emitted once the server restored the session.
        self.emit(to, &sid, "after", 0..1).await;
        let lines = self.clients.lines_until(name, "after").await;
        assert_replayed(&lines, &sid, 1000);
        sid
    }

    /// What a client in `room` with id `sid` must not get back: to another
    /// room, to its room except itself, to all but its room.
    async fn noise(&mut self, sid: &str, room: &str) {
        self.a
            .io
            .to("elsewhere")
            .emit_published("noise", &1)
            .unwrap()
            .await
            .unwrap();
        self.b
            .io
            .to(room.to_owned())
            .except(sid.to_owned())
            .emit_published("noise", &2)
            .unwrap()
            .await
            .unwrap();
        self.node
            .cmd(json!({"cmd": "emit", "event": "noise", "args": [3], "except": [room]}))
            .await;
    }
}

/// Checks the lines of a client that recovered (see
/// [`Proxied::lines_until`], or those of our client in the same shape):
/// "bulk" 0 to `count - 1`, once each, in order, each with an offset (the
/// offsets increasing), then its `connect` as a recovered socket with id
/// `sid`, then "after".
fn assert_replayed(lines: &[Value], sid: &str, count: u32) {
    let shape = |l: &Value| -> Value {
        match l["event"].as_str() {
            Some("message") => {
                let args = l["args"].as_array().cloned().unwrap_or_default();
                let offset = args.len() == 2 && args[1].is_string();
                json!({"ev": l["ev"], "n": args.first(), "offset": offset})
            }
            Some("connected") => json!({"connected": l["sid"], "recovered": l["recovered"]}),
            _ => l.clone(),
        }
    };
    let got: Vec<Value> = lines.iter().map(shape).collect();
    let mut want: Vec<Value> = (0..count)
        .map(|n| json!({"ev": "bulk", "n": n, "offset": true}))
        .collect();
    want.push(json!({"connected": sid, "recovered": true}));
    want.push(json!({"ev": "after", "n": 0, "offset": true}));
    if let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
        let around =
            |v: &[Value]| -> Vec<Value> { v[i.saturating_sub(2)..(i + 3).min(v.len())].to_vec() };
        panic!(
            "{} lines, {} wanted; first difference at {i}:\n got {:?}\nwant {:?}",
            got.len(),
            want.len(),
            around(&got),
            around(&want)
        );
    }
    // Stream entry ids: each after the one before.
    let offsets: Vec<(u64, u64)> = lines
        .iter()
        .filter(|l| l["ev"] == "bulk")
        .map(|l| {
            let id = l["args"][1].as_str().unwrap();
            let (ms, seq) = id.split_once('-').unwrap_or_else(|| panic!("offset {id}"));
            (ms.parse().unwrap(), seq.parse().unwrap())
        })
        .collect();
    assert!(
        offsets.windows(2).all(|w| w[0] < w[1]),
        "offsets out of order"
    );
}

/// The official client, cut off from one server, comes back on another
/// with its session, kept in Redis, and the events it missed, read from
/// the stream: from ours to Node's, from Node's to ours; and once the
/// session expired, it gets a new one.
#[tokio::test]
async fn the_official_client_recovers_across_node_and_rust_servers() {
    let mut r = Recovery::start("streams-recovery").await;

    // Ours to Node's.
    r.recovers(
        "c1",
        "r1",
        (At::A, At::Node),
        [
            (At::A, To::Id),
            (At::Node, To::Id),
            (At::B, To::Room),
            (At::Node, To::Room),
        ],
    )
    .await;

    // Node's to ours.
    r.recovers(
        "c2",
        "r2",
        (At::Node, At::A),
        [
            (At::Node, To::Id),
            (At::B, To::Id),
            (At::A, To::Room),
            (At::Node, To::Room),
        ],
    )
    .await;

    // A socket without data on ours: Node restores it with `{}`, as
    // Node's own `socket.data` starts.
    let connected = r.clients.connect_with("c4", &r.url(At::A), &[], true).await;
    let sid = connected["sid"].as_str().unwrap().to_owned();
    assert_eq!(r.report(At::A).await["data"], Value::Null);
    r.emit(At::A, &sid, "hi", 0..1).await;
    r.clients.received("c4", "hi").await;
    r.clients.cut("c4").await;
    r.clients.next("c4", "disconnected").await;
    assert_eq!(r.report(At::A).await["event"], "disconnect");
    r.clients.resume("c4", &r.url(At::Node)).await;
    let report = r.report(At::Node).await;
    assert_eq!(
        (&report["id"], &report["recovered"], &report["data"]),
        (&json!(sid), &json!(true), &json!({})),
        "{report}"
    );
    assert_eq!(r.clients.next("c4", "connected").await["recovered"], true);

    // Past the window: b keeps the session for one second only.
    let connected = r.clients.connect("c3", &r.url(At::B), &["r3"]).await;
    let sid = connected["sid"].as_str().unwrap().to_owned();
    let pid = connected["pid"].as_str().expect("a pid").to_owned();
    r.report(At::B).await;
    r.emit(At::B, &sid, "hi", 0..1).await;
    let hi = r.clients.received("c3", "hi").await;
    assert!(hi.len() == 2 && hi[1].is_string(), "no offset: {hi:?}");
    r.clients.cut("c3").await;
    r.clients.next("c3", "disconnected").await;
    assert_eq!(r.report(At::B).await["event"], "disconnect");
    // Kept under Node's key, then gone after the window.
    let key = format!("{}{pid}", r.names.sessions);
    let mut conn = redis::Client::open(r.redis.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for (exists, what) in [(1, "the session to be kept"), (0, "the session to expire")] {
        within(what, async {
            // No event tells when Redis expires a key: watch it.
            while redis::cmd("EXISTS")
                .arg(&key)
                .query_async::<i64>(&mut conn)
                .await
                .unwrap()
                != exists
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }
    r.clients.resume("c3", &r.url(At::Node)).await;
    let connected = r.clients.next("c3", "connected").await;
    assert_eq!(connected["recovered"], false, "{connected}");
    assert_ne!(connected["sid"], sid.as_str(), "{connected}");
    let report = r.report(At::Node).await;
    assert_eq!(
        (&report["event"], &report["recovered"], &report["id"]),
        (&json!("connection"), &json!(false), &connected["sid"]),
        "{report}"
    );
    assert_eq!(report["rooms"], json!([connected["sid"], "r3"]), "{report}");
}

/// Our client (`socketio-client`) recovers across two of ours in streams
/// mode: it sends back its pid and offset, and gets the events emitted by
/// both while it was away, from the stream.
#[tokio::test]
async fn our_client_recovers_across_rust_servers() {
    let names = Names::new("streams-client");
    let redis = redis_url();
    let (mut a, mut b, mut proxies) = tokio::join!(
        names.ours("a", &redis, Some(WINDOW)),
        names.ours("b", &redis, Some(WINDOW)),
        Proxied::start(),
    );
    let proxy = proxies.proxy("rc", &a.url).await;
    let client = Client::builder(proxy)
        .transports(Transports::WebSocketOnly)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(50))
        .randomization_factor(0.0)
        .connect_timeout(Duration::from_secs(10))
        .auth(json!({"name": "rc", "rooms": ["r1"]}))
        .build()
        .expect("client");
    let socket = client.socket("/");
    // What the client sees, in the shape of streams_clients.mjs's lines.
    let (tx, mut seen) = mpsc::unbounded_channel::<Value>();
    let (me, sent) = (socket.clone(), tx.clone());
    socket.on_connect(move || {
        let _ =
            sent.send(json!({"event": "connected", "sid": me.id(), "recovered": me.recovered()}));
    });
    let sent = tx.clone();
    socket.on_disconnect(move |reason| {
        let _ = sent.send(json!({"event": "disconnected", "reason": reason.as_str()}));
    });
    socket.on_any(move |Event(ev): Event, raw: RawArgs| {
        let args: Value = serde_json::from_str(&format!("[{}]", raw.args)).expect("JSON arguments");
        let _ = tx.send(json!({"event": "message", "ev": ev.to_string(), "args": args}));
        async {}
    });

    within("connect", socket.connect()).await.expect("connect");
    let connected = next(&mut seen).await;
    assert_eq!(connected["recovered"], false, "{connected}");
    let sid = connected["sid"].as_str().unwrap().to_owned();
    assert_eq!(a.next_connection().await["id"], sid.as_str());
    // From b, read from the stream by a; then, last before the cut, from a
    // with another entry in the same pipeline (as in `Recovery::recovers`).
    b.io.to(sid.clone())
        .emit_published("hi-from-b", &0)
        .unwrap()
        .await
        .unwrap();
    let hi = next(&mut seen).await;
    assert_eq!(hi["ev"], "hi-from-b");
    names
        .assert_offset_of(&redis, hi["args"].as_array().unwrap(), "hi-from-b")
        .await;
    a.io.to("nobody").join("x").unwrap();
    a.io.to(sid.clone())
        .emit_published("hi", &0)
        .unwrap()
        .await
        .unwrap();
    let hi = next(&mut seen).await;
    assert_eq!(hi["ev"], "hi");
    names
        .assert_offset_of(&redis, hi["args"].as_array().unwrap(), "hi")
        .await;

    proxies.cut("rc").await;
    assert_eq!(
        next(&mut seen).await,
        json!({"event": "disconnected", "reason": "transport close"})
    );
    assert_eq!(a.next_connection().await["event"], "disconnect");
    // 200 "bulk", 50 at a time from a and b in turn, to its id or its room.
    for block in 0..4u32 {
        let io = if block % 2 == 0 { &a.io } else { &b.io };
        let target = if block < 2 {
            sid.clone()
        } else {
            "r1".to_owned()
        };
        let mut last = None;
        for n in block * 50..(block + 1) * 50 {
            last = Some(io.to(target.clone()).emit_published("bulk", &n).unwrap());
        }
        within("the emits to be in Redis", last.unwrap())
            .await
            .unwrap();
    }

    proxies.resume("rc", &b.url).await;
    let report = b.next_connection().await;
    assert_eq!(
        (&report["id"], &report["recovered"], &report["data"]),
        (&json!(sid), &json!(true), &json!({"name": "rc"})),
        "{report}"
    );
    b.io.to(sid.clone())
        .emit_published("after", &0)
        .unwrap()
        .await
        .unwrap();
    let mut lines = Vec::new();
    while lines.last().is_none_or(|l: &Value| l["ev"] != "after") {
        lines.push(next(&mut seen).await);
    }
    assert_replayed(&lines, &sid, 200);
    assert!(socket.recovered());
    client.disconnect();
}

/// The next thing our client reported.
async fn next(seen: &mut mpsc::UnboundedReceiver<Value>) -> Value {
    within("our client to report", seen.recv())
        .await
        .expect("the client's handlers live")
}

/// A `CONNECT` with a `pid` and an offset starts a restore from Redis (a
/// round trip); a second `CONNECT` to the same namespace meanwhile is
/// refused as one to a namespace already joined (the connection closes),
/// instead of getting a socket of its own: a client could otherwise pile
/// up sockets and restores on one connection.
#[tokio::test]
async fn a_second_connect_while_a_session_is_restored_is_refused() {
    use socketio_axum_tests::SioWs;
    use tokio_tungstenite::tungstenite::Message;

    let names = Names::new("streams-twice");
    let redis = redis_url();
    let a = names.ours("a", &redis, Some(WINDOW)).await;
    let addr = a
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("the server's address");
    let mut first = SioWs::open(addr).await;
    first.send("40").await;
    let answer = first.recv_text().await;
    let body: Value = serde_json::from_str(answer.strip_prefix("40").expect("a CONNECT"))
        .unwrap_or_else(|e| panic!("{answer}: {e}"));
    let pid = body["pid"].as_str().expect("a pid");
    let resume = format!(r#"40{{"pid":"{pid}","offset":"0-0"}}"#);

    let mut second = SioWs::open(addr).await;
    second.pipeline(vec![resume.clone(), resume], 0).await;
    let frames = second.closed_by_server().await;
    let connects = frames
        .iter()
        .filter(|m| matches!(m, Message::Text(t) if t.starts_with("40")))
        .count();
    assert!(connects <= 1, "two sockets on one namespace: {frames:?}");
}
