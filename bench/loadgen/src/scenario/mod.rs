//! The scenarios, each a function from [`Params`] to a [`Measurement`].

mod broadcast;
mod cluster;
mod connect;
mod echo;
mod idle;
mod polling_echo;
mod rooms;

use std::{
    future::Future,
    io::Write as _,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use tokio::task::JoinSet;

use crate::{
    cli::{err, Args, Result},
    conn::{Conn, Dialer, Text, Transport},
    measure::{self, Counter, Latencies, Measurement, Phase},
    procfs, redis,
    sio::{self, Ws},
};

pub(crate) use cluster::ClusterNode;
pub(crate) use rooms::DEFAULT_RATE as ROOMS_RATE;

/// Every scenario's settings; each reads the ones it needs.
#[derive(Debug, Clone)]
pub(crate) struct Params {
    pub(crate) addr: SocketAddr,
    pub(crate) pid: Option<u32>,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    /// Padding bytes in each event's argument.
    pub(crate) payload: usize,
    /// Echo: connections. Connect storm: connections.
    pub(crate) conns: usize,
    /// Echo: acks awaited per connection. Broadcast: broadcasts in flight.
    pub(crate) window: usize,
    /// Echo: acks/s. Broadcast: deliveries/s. `None`: closed loop.
    pub(crate) rate: Option<f64>,
    /// Broadcast: receiving sockets (the sender among them). Cluster:
    /// sockets on each server.
    pub(crate) clients: usize,
    /// Handshakes at once while connecting.
    pub(crate) in_flight: usize,
    /// Source addresses for the connect storm (127.0.0.1 upwards); 0: auto.
    pub(crate) sources: usize,
    /// Polling: sessions.
    pub(crate) sessions: usize,
    /// Connect storm: wait between the last connection and reading the RSS.
    pub(crate) settle: Duration,
    /// Idle connections: the measured idle window after the storm.
    pub(crate) idle: Duration,
    /// Cluster: its servers, the sender's first (`addr` and `pid` alone
    /// when empty).
    pub(crate) cluster: Vec<ClusterNode>,
    /// Cluster: the Redis the servers share, whose CPU is measured too.
    pub(crate) redis_url: String,
    /// Cluster: the servers' key prefix, whose channels the generator
    /// watches on Redis; `None`: not watched.
    pub(crate) redis_prefix: Option<String>,
    /// Echo, connect, idle: the transport of the sockets.
    pub(crate) transport: Transport,
    /// WebTransport: the server's certificate hash (base64); `None`: read
    /// from its `GET /webtransport-hash`.
    pub(crate) cert_hash: Option<String>,
    /// WebTransport: client endpoints (UDP sockets); 0: one per 100
    /// sessions.
    pub(crate) endpoints: usize,
    /// Rooms: shared rooms the sockets (`conns`) are spread over, sockets
    /// that churn (and echo) at `rate`, and room broadcasts per second
    /// while they churn.
    pub(crate) shared_rooms: usize,
    pub(crate) churners: usize,
    pub(crate) room_rate: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 3000),
            pid: None,
            warmup: Duration::from_secs(2),
            duration: Duration::from_secs(10),
            payload: 64,
            conns: 100,
            window: 1,
            rate: None,
            clients: 1000,
            in_flight: 64,
            sources: 0,
            sessions: 20,
            settle: Duration::from_secs(1),
            idle: Duration::from_secs(30),
            cluster: Vec::new(),
            redis_url: redis::DEFAULT_URL.to_owned(),
            redis_prefix: None,
            transport: Transport::WebSocket,
            cert_hash: None,
            endpoints: 0,
            shared_rooms: 1_000,
            churners: 100,
            room_rate: 100.0,
        }
    }
}

impl Params {
    /// What opens this run's `n` sockets over its transport.
    pub(crate) async fn dialer(&self, n: usize) -> Result<Dialer> {
        Dialer::new(
            self.transport,
            self.addr,
            n,
            self.sources,
            self.cert_hash.as_deref(),
            self.endpoints,
        )
        .await
    }
}

/// The scenarios that run over WebTransport too.
pub(crate) const WEBTRANSPORT: [&str; 4] = ["echo", "echo-rate", "connect", "idle"];

/// The scenarios a suite runs, in order.
pub(crate) const ALL: [&str; 6] = [
    "echo",
    "echo-rate",
    "broadcast",
    "broadcast-rate",
    "connect",
    "polling",
];

/// Scenarios a suite runs only when named with `--only`: too long, or
/// needing limits raised or a Redis, for the default run.
pub(crate) const ON_REQUEST: [&str; 4] = ["idle", "cluster-closed", "cluster-rate", "rooms"];

/// Names `--only` takes for several scenarios.
pub(crate) const GROUPS: [(&str, &[&str]); 1] = [("cluster", &["cluster-closed", "cluster-rate"])];

/// Scenarios that start a cluster of each server, not one.
pub(crate) fn is_cluster(name: &str) -> bool {
    name.starts_with("cluster-")
}

/// Runs the scenario `name`.
pub(crate) async fn run(name: &str, p: &Params) -> Result<Measurement> {
    if p.transport != Transport::WebSocket && !WEBTRANSPORT.contains(&name) {
        return Err(err!(
            "{name} runs over WebSocket only; --transport {} is for {}",
            p.transport,
            WEBTRANSPORT.join(", ")
        ));
    }
    // The server's UDP drops over the whole run, warm-up and storms
    // included: a dropped datagram costs a retransmission, which shows in
    // the latency.
    let udp = |p: &Params| {
        p.pid
            .filter(|_| p.transport == Transport::WebTransport)
            .and_then(|pid| procfs::udp_drops(pid).ok())
    };
    let drops0 = udp(p);
    let mut m = match name {
        "echo" | "echo-rate" => echo::run(p).await?,
        "broadcast" | "broadcast-rate" => broadcast::run(p).await?,
        "connect" => connect::run(p).await?,
        "idle" => idle::run(p).await?,
        "cluster-closed" | "cluster-rate" => cluster::run(p).await?,
        "polling" => polling_echo::run(p).await?,
        "rooms" => rooms::run(p).await?,
        other => return Err(err!("unknown scenario {other:?}")),
    };
    m.scenario = name.to_string();
    if p.transport != Transport::WebSocket {
        m.transport = Some(p.transport.to_string());
    }
    m.server_udp_drops = drops0.zip(udp(p)).map(|(a, b)| b.saturating_sub(a));
    Ok(m)
}

/// `socketio-bench <scenario> [options]`: one run against a running server,
/// printed as a summary line and a JSON line.
pub(crate) async fn run_one(command: &str, args: &mut Args) -> Result<()> {
    let mut p = Params::default();
    p.addr = args.get("--addr", p.addr)?;
    p.pid = args.opt("--pid")?;
    p.warmup = args.secs("--warmup", p.warmup.as_secs_f64())?;
    p.duration = args.secs("--duration", p.duration.as_secs_f64())?;
    p.payload = args.get("--payload", p.payload)?;
    p.rate = args.opt("--rate")?;
    p.clients = args.get("--clients", p.clients)?;
    p.in_flight = args.get("--in-flight", p.in_flight)?;
    p.sources = args.get("--sources", p.sources)?;
    p.sessions = args.get("--sessions", p.sessions)?;
    p.settle = args.secs("--settle", p.settle.as_secs_f64())?;
    p.idle = args.secs("--idle", p.idle.as_secs_f64())?;
    p.redis_url = args.get("--redis-url", p.redis_url)?;
    p.redis_prefix = args.opt("--redis-prefix")?;
    p.transport = args.get("--transport", p.transport)?;
    p.cert_hash = args.opt("--cert-hash")?;
    p.endpoints = args.get("--endpoints", p.endpoints)?;
    p.shared_rooms = args.get("--shared-rooms", p.shared_rooms)?;
    p.churners = args.get("--churners", p.churners)?;
    p.room_rate = args.get("--room-rate", p.room_rate)?;
    if let Some(addrs) = args.opt::<String>("--addrs")? {
        let pids = match args.opt::<String>("--pids")? {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|pid| pid.trim().parse().map_err(|e| err!("--pids {pid}: {e}")))
                .collect::<Result<Vec<u32>>>()?,
        };
        p.cluster = addrs
            .split(',')
            .enumerate()
            .map(|(i, addr)| {
                Ok(ClusterNode {
                    addr: addr
                        .trim()
                        .parse()
                        .map_err(|e| err!("--addrs {addr}: {e}"))?,
                    pid: pids.get(i).copied(),
                })
            })
            .collect::<Result<_>>()?;
    }
    let default_conns = match command {
        "connect" => 10_000,
        "idle" => 100_000,
        "rooms" => 10_000,
        _ => 100,
    };
    p.conns = args.get("--conns", default_conns)?;
    let default_window = if matches!(command, "broadcast" | "cluster") {
        4
    } else {
        1
    };
    p.window = args.get("--window", default_window)?;
    args.finish()?;
    let name = match (command, p.rate.is_some()) {
        ("echo", true) => "echo-rate",
        ("broadcast", true) => "broadcast-rate",
        ("cluster", true) => "cluster-rate",
        ("cluster", false) => "cluster-closed",
        (other, _) => other,
    };
    let m = run(name, &p).await?;
    let json = serde_json::to_string(&m).map_err(|e| err!("json: {e}"))?;
    // A closed pipe (`| head -1`) is no failure of the run.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}\n{json}", crate::report::summary(&m));
    Ok(())
}

/// The source address of connection `i` among `sources` (127.0.0.1 and up);
/// none (the kernel's choice) when there is one source.
pub(crate) fn source_of(i: usize, sources: usize) -> Option<IpAddr> {
    if sources <= 1 {
        return None;
    }
    let k = u32::try_from(i % sources).unwrap_or(0) + 1;
    Some(IpAddr::V4(Ipv4Addr::from(0x7f00_0000 + k)))
}

/// Connections from one address: the ephemeral ports of one source are
/// shared by all destinations once bound, and some are in TIME_WAIT.
pub(crate) const PER_SOURCE: usize = 20_000;

/// Opens `n` WebSocket sockets of the main namespace, `in_flight`
/// handshakes at a time, recording each handshake's duration; returns them
/// in order of completion with the number of failures.
async fn connect_many(
    addr: SocketAddr,
    n: usize,
    in_flight: usize,
    sources: usize,
    latencies: &Latencies,
) -> (Vec<Ws>, u64) {
    let sources = if sources == 0 {
        n.div_ceil(PER_SOURCE)
    } else {
        sources
    };
    let dial = move |i| sio::connect_open(addr, source_of(i, sources));
    collect_each(n, in_flight, latencies, dial).await
}

/// Like [`connect_many`], but every connection must succeed.
async fn connect_all(p: &Params, n: usize) -> Result<Vec<Ws>> {
    let (conns, failed) = connect_many(p.addr, n, p.in_flight, p.sources, &Latencies::new()).await;
    if failed > 0 {
        return Err(err!("{failed} of {n} connections failed"));
    }
    Ok(conns)
}

/// Opens `n` sockets with `dialer`, `in_flight` handshakes at a time,
/// recording each handshake's duration; returns them in order of
/// completion with the number of failures.
async fn dial_many(
    dialer: &Dialer,
    n: usize,
    in_flight: usize,
    latencies: &Latencies,
) -> (Vec<Conn>, u64) {
    let dialer = dialer.clone();
    let dial = move |i| {
        let dialer = dialer.clone();
        async move { dialer.connect_open(i).await }
    };
    collect_each(n, in_flight, latencies, dial).await
}

/// Like [`dial_many`], but every socket must join.
async fn dial_all(p: &Params, n: usize) -> Result<Vec<Conn>> {
    let dialer = p.dialer(n).await?;
    let (conns, failed) = dial_many(&dialer, n, p.in_flight, &Latencies::new()).await;
    if failed > 0 {
        return Err(err!("{failed} of {n} connections failed"));
    }
    Ok(conns)
}

/// What [`dial_each`] does with each socket once it has joined: the socket
/// and the Engine.IO open packet the server sent it.
type OnOpen = Arc<dyn Fn(Conn, Text) + Send + Sync>;

/// Opens `n` sockets with `dialer`, `in_flight` handshakes at a time,
/// recording each handshake's duration, and hands each one to `on_open` as
/// soon as it has joined; returns the number of failures.
async fn dial_each(
    dialer: &Dialer,
    n: usize,
    in_flight: usize,
    latencies: &Latencies,
    on_open: OnOpen,
) -> u64 {
    let dialer = dialer.clone();
    let dial = move |i| {
        let dialer = dialer.clone();
        async move { dialer.connect_open(i).await }
    };
    open_each(n, in_flight, latencies, dial, on_open).await
}

/// [`open_each`], keeping the sockets.
async fn collect_each<C, O, F, Fut>(
    n: usize,
    in_flight: usize,
    latencies: &Latencies,
    dial: F,
) -> (Vec<C>, u64)
where
    C: Send + 'static,
    O: Send + 'static,
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(C, O)>> + Send + 'static,
{
    let done = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let sink = done.clone();
    let on_open: Arc<dyn Fn(C, O) + Send + Sync> = Arc::new(move |conn, _open| {
        sink.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
    });
    let failed = open_each(n, in_flight, latencies, dial, on_open).await;
    let conns = std::mem::take(&mut *done.lock().unwrap_or_else(|e| e.into_inner()));
    (conns, failed)
}

/// Opens sockets `0..n` with `dial`, `in_flight` at a time, recording each
/// handshake's duration, and hands each one to `on_open` as soon as it has
/// joined; returns the number of failures.
async fn open_each<C, O, F, Fut>(
    n: usize,
    in_flight: usize,
    latencies: &Latencies,
    dial: F,
    on_open: Arc<dyn Fn(C, O) + Send + Sync>,
) -> u64
where
    C: Send + 'static,
    O: Send + 'static,
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(C, O)>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..in_flight.clamp(1, n.max(1)) {
        let (next, on_open, latencies) = (next.clone(), on_open.clone(), latencies.clone());
        let dial = dial.clone();
        workers.spawn(async move {
            let mut failed = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return failed;
                }
                let t0 = crate::clock::now_ns();
                match dial(i).await {
                    Ok((conn, open)) => {
                        latencies.record_since(t0);
                        on_open(conn, open);
                    }
                    Err(e) => {
                        if failed == 0 {
                            eprintln!("connection {i} failed: {e}");
                        }
                        failed += 1;
                    }
                }
            }
        });
    }
    let mut failed = 0;
    while let Some(r) = workers.join_next().await {
        failed += r.unwrap_or(0);
    }
    failed
}

/// Waits for the tasks still running after the window, briefly, then stops
/// them: a closed loop is waiting for at most one answer, a receiver may
/// wait for ever.
/// What the sessions of an echo scenario (WebSocket or polling) share: the
/// phase of the run, the counters, the latencies and the padding of each
/// event's argument.
#[derive(Clone)]
struct EchoShared {
    phase: Arc<Phase>,
    acks: Counter,
    errors: Counter,
    latencies: Latencies,
    pad: Arc<str>,
}

impl EchoShared {
    fn new(p: &Params) -> Self {
        EchoShared {
            phase: Arc::new(Phase::default()),
            acks: Counter::default(),
            errors: Counter::default(),
            latencies: Latencies::new(),
            pad: Arc::from(sio::padding(p.payload)),
        }
    }

    /// Measures the window once the sessions run, stops them, and names
    /// the measurement `scenario`.
    async fn measure(&self, p: &Params, tasks: JoinSet<()>, scenario: &str) -> Measurement {
        let window = measure::window(&self.phase, &self.acks, p.pid, p.warmup, p.duration).await;
        stop(tasks).await;
        let mut m = window.measurement(scenario, &self.latencies);
        m.errors = self.errors.get();
        m
    }
}

async fn stop(mut tasks: JoinSet<()>) {
    let _ = tokio::time::timeout(Duration::from_millis(200), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.shutdown().await;
}
