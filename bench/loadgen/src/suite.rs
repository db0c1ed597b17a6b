//! The suite: every scenario against every server, several repetitions,
//! servers interleaved, and the markdown table of the results.
//!
//! Each run starts its server afresh (so that memory and CPU counts start
//! from the same state, whatever ran before), pinned with `taskset` to the
//! server cpu, on a port of its own, and kills it after. The order of the
//! servers turns with each repetition and scenario, so that a slow spell
//! of the machine does not always fall on the same one.
//!
//! A server may be measured over WebTransport (`--server-transport
//! NAME=webtransport`): it is started with `WEBTRANSPORT=1`, its runs of
//! echo, connect and idle open WebTransport sessions, and it skips the other
//! scenarios. Two servers of the same command, one over each transport, put
//! the two transports side by side in the table.
//!
//! The cluster scenarios start several instances of each server instead,
//! on ports of their own, with `REDIS_URL` and a `REDIS_PREFIX` no other run
//! uses (so that the servers of two runs never meet in Redis), each pinned
//! to its `--cluster-cpu` (all to the server cpu by default).

use std::{
    fs::File,
    io::Write as _,
    net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{
    cli::{err, Args, Result},
    conn::Transport,
    measure::Measurement,
    redis,
    report::{self, Row},
    scenario::{self, ClusterNode, Params},
};

/// The heartbeat of the rooms scenario's servers: longer than a run, so
/// that no window holds a burst of pings.
const ROOMS_PING_INTERVAL_MS: u64 = 600_000;

/// A server to start: its name, and a shell command that listens on
/// `127.0.0.1:$PORT`.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    pub(crate) name: String,
    pub(crate) command: String,
}

/// What the suite was asked to do.
#[derive(Debug)]
struct Plan {
    servers: Vec<Server>,
    scenarios: Vec<&'static str>,
    reps: u32,
    server_cpu: Option<String>,
    base: Params,
    connect_conns: usize,
    /// Idle connections: how many, and the heartbeat period the servers
    /// are started with (`PING_INTERVAL_MS`; their default when `None`).
    idle_conns: usize,
    idle_ping_interval: Option<Duration>,
    out: Option<File>,
    quick: bool,
    /// `(server, scenario)` pairs not to run (the floor has no polling).
    skip: Vec<(String, String)>,
    /// Cluster: servers per cluster, sockets per server, the broadcasts in
    /// flight of `cluster-closed`, the rate of `cluster-rate`
    /// (deliveries/s), the cpus of the servers in order (cycled; the server
    /// cpu when empty), and the Redis.
    cluster_servers: usize,
    cluster_clients: usize,
    cluster_window: usize,
    cluster_rate: f64,
    cluster_cpus: Vec<String>,
    redis_url: String,
    /// Servers measured over another transport than WebSocket.
    transports: Vec<(String, Transport)>,
    /// Rooms: sockets, shared rooms, the churn (and echo) rate and the
    /// sockets that churn, room broadcasts per second while churning.
    rooms_sockets: usize,
    rooms_shared: usize,
    rooms_rate: f64,
    rooms_churners: usize,
    rooms_room_rate: f64,
}

impl Plan {
    /// The transport of `server`'s sockets.
    fn transport_of(&self, server: &str) -> Transport {
        self.transports
            .iter()
            .find(|(name, _)| name == server)
            .map_or(Transport::WebSocket, |(_, t)| *t)
    }
}

pub(crate) async fn run(mut args: Args) -> Result<()> {
    let mut plan = plan(&mut args)?;
    args.finish()?;
    let started = Instant::now();
    let mut out = plan.out.take();
    let mut results = Vec::new();
    let mut port = 3100;
    let names: Vec<String> = plan.servers.iter().map(|s| s.name.clone()).collect();
    eprintln!(
        "suite: {} repetition(s) of {} against {}; servers on cpu {}, generator on cpus {}",
        plan.reps,
        plan.scenarios.join(", "),
        names.join(", "),
        plan.server_cpu.as_deref().unwrap_or("(any: no taskset)"),
        own_cpus()
    );
    for rep in 0..plan.reps {
        for (k, scenario) in plan.scenarios.iter().enumerate() {
            let n = plan.servers.len();
            for j in 0..n {
                let server = &plan.servers[(j + rep as usize + k) % n];
                let transport = plan.transport_of(&server.name);
                if plan
                    .skip
                    .iter()
                    .any(|(s, c)| *s == server.name && c == scenario)
                    || (transport != Transport::WebSocket
                        && !scenario::WEBTRANSPORT.contains(scenario))
                {
                    continue;
                }
                port = free_port(port + 1);
                let mut params = params_for(scenario, &plan, port);
                params.transport = transport;
                let label = format!(
                    "[{}/{}] {scenario:<14} {:<14}",
                    rep + 1,
                    plan.reps,
                    server.name
                );
                let mut env = match (*scenario, plan.idle_ping_interval) {
                    ("idle", Some(d)) => vec![("PING_INTERVAL_MS", d.as_millis().to_string())],
                    // Sockets that connected together are pinged together:
                    // at the default 25 s, 10,000 pings in a burst would
                    // fall in one measured window and not the others.
                    ("rooms", _) => vec![("PING_INTERVAL_MS", ROOMS_PING_INTERVAL_MS.to_string())],
                    _ => Vec::new(),
                };
                if transport == Transport::WebTransport {
                    env.push(("WEBTRANSPORT", "1".to_owned()));
                }
                let result = if scenario::is_cluster(scenario) {
                    run_cluster_once(server, &plan, scenario, params, &mut port).await
                } else {
                    run_once(server, plan.server_cpu.as_deref(), scenario, params, &env).await
                };
                match result {
                    Ok(mut m) => {
                        m.server = Some(server.name.clone());
                        m.rep = Some(rep + 1);
                        eprintln!("{label} {}", report::summary(&m));
                        if let Some(f) = out.as_mut() {
                            let line = serde_json::to_string(&m).map_err(|e| err!("json: {e}"))?;
                            writeln!(f, "{line}")?;
                        }
                        results.push(m);
                    }
                    Err(e) => eprintln!("{label} failed: {e}"),
                }
            }
        }
    }
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    println!(
        "Medians of {} run(s) (min–max in parentheses); the ratio columns divide \
         {}'s median by each peer's (↑: higher is better, ↓: lower is better).\n",
        plan.reps, names[0]
    );
    let rows: Vec<Row> = rows(&plan)
        .into_iter()
        .filter(|r| plan.scenarios.contains(&r.scenario))
        .collect();
    println!("{}", report::table(&rows, &names, &results));
    print_notes(&results);
    eprintln!(
        "suite: done in {minutes:.1} min{}",
        if plan.quick { " (quick)" } else { "" }
    );
    Ok(())
}

fn plan(args: &mut Args) -> Result<Plan> {
    let servers = args
        .values("--server")?
        .into_iter()
        .map(|s| {
            let (name, command) = s
                .split_once('=')
                .ok_or_else(|| err!("--server NAME=COMMAND, got {s:?}"))?;
            Ok(Server {
                name: name.to_string(),
                command: command.to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if servers.is_empty() {
        return Err(err!("no --server NAME=COMMAND given"));
    }
    let quick = args.flag("--quick");
    let reps = args.get("--reps", if quick { 1 } else { 5 })?;
    let cpu: String = args.get("--server-cpu", "0".to_string())?;
    let server_cpu = if has_taskset() {
        Some(cpu)
    } else {
        eprintln!("suite: taskset not found; the servers run unpinned");
        None
    };
    let scenarios = match args.opt::<String>("--only")? {
        None => scenario::ALL.to_vec(),
        Some(list) => {
            let mut names = Vec::new();
            for s in list.split(',').map(str::trim) {
                if let Some((_, members)) = scenario::GROUPS.iter().find(|(g, _)| *g == s) {
                    names.extend_from_slice(members);
                    continue;
                }
                let name = scenario::ALL
                    .iter()
                    .chain(&scenario::ON_REQUEST)
                    .find(|a| **a == s)
                    .ok_or_else(|| err!("unknown scenario {s:?}"))?;
                names.push(*name);
            }
            names
        }
    };
    let mut base = Params::default();
    if quick {
        base.warmup = Duration::from_millis(500);
        base.duration = Duration::from_secs(2);
        base.settle = Duration::from_millis(500);
    }
    base.warmup = args.secs("--warmup", base.warmup.as_secs_f64())?;
    base.duration = args.secs("--duration", base.duration.as_secs_f64())?;
    base.payload = args.get("--payload", base.payload)?;
    base.sources = args.get("--sources", base.sources)?;
    base.idle = args.secs("--idle", base.idle.as_secs_f64())?;
    base.settle = args.secs("--settle", base.settle.as_secs_f64())?;
    let idle_conns = args.get("--idle-conns", 100_000)?;
    let idle_ping_interval = args.opt_secs("--idle-ping-interval")?;
    let skip = args
        .values("--skip")?
        .into_iter()
        .map(|s| {
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| err!("--skip SERVER:SCENARIO, got {s:?}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let connect_conns = args.get("--connect-conns", if quick { 2_000 } else { 10_000 })?;
    let cluster_servers = args.get("--cluster-servers", 3usize)?.max(1);
    let cluster_clients = args.get("--cluster-clients", if quick { 200 } else { 1_000 })?;
    let cluster_window = args.get("--cluster-window", 4usize)?;
    let cluster_rate = args.get("--cluster-rate", 10_000.0)?;
    let cluster_cpus = args.values("--cluster-cpu")?;
    let redis_url = args.get("--redis-url", redis::DEFAULT_URL.to_owned())?;
    let transports = args
        .values("--server-transport")?
        .into_iter()
        .map(|s| {
            let (name, transport) = s
                .split_once('=')
                .ok_or_else(|| err!("--server-transport NAME=TRANSPORT, got {s:?}"))?;
            if !servers.iter().any(|server| server.name == name) {
                return Err(err!("--server-transport {s}: no --server named {name}"));
            }
            Ok((name.to_string(), transport.parse()?))
        })
        .collect::<Result<Vec<_>>>()?;
    base.endpoints = args.get("--endpoints", base.endpoints)?;
    let rooms_sockets = args.get("--rooms-sockets", if quick { 1_000 } else { 10_000 })?;
    let rooms_shared = args.get("--rooms-shared", if quick { 100 } else { 1_000 })?;
    let rooms_rate = args.get("--rooms-rate", scenario::ROOMS_RATE)?;
    let rooms_churners = args.get("--rooms-churners", 100)?;
    let rooms_room_rate = args.get("--rooms-room-rate", 100.0)?;
    let out = args
        .opt::<String>("--out")?
        .map(|path| {
            if let Some(dir) = std::path::Path::new(&path).parent() {
                std::fs::create_dir_all(dir)?;
            }
            File::create(&path)
        })
        .transpose()?;
    Ok(Plan {
        servers,
        scenarios,
        reps,
        server_cpu,
        base,
        connect_conns,
        idle_conns,
        idle_ping_interval,
        out,
        quick,
        skip,
        cluster_servers,
        cluster_clients,
        cluster_window,
        cluster_rate,
        cluster_cpus,
        redis_url,
        transports,
        rooms_sockets,
        rooms_shared,
        rooms_rate,
        rooms_churners,
        rooms_room_rate,
    })
}

/// The settings for each scenario.
fn params_for(scenario: &str, plan: &Plan, port: u16) -> Params {
    let mut p = plan.base.clone();
    p.addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    match scenario {
        "echo" => p.conns = 100,
        "echo-rate" => {
            p.conns = 100;
            p.rate = Some(20_000.0);
        }
        "broadcast" => {
            p.clients = 1_000;
            p.window = 4;
        }
        "broadcast-rate" => {
            p.clients = 1_000;
            p.rate = Some(50_000.0);
        }
        "connect" => {
            p.conns = plan.connect_conns;
            p.in_flight = 64;
        }
        "idle" => {
            p.conns = plan.idle_conns;
            p.in_flight = 64;
        }
        "polling" => p.sessions = 20,
        "cluster-closed" => {
            p.clients = plan.cluster_clients;
            p.window = plan.cluster_window;
        }
        "cluster-rate" => {
            p.clients = plan.cluster_clients;
            p.rate = Some(plan.cluster_rate);
        }
        "rooms" => {
            p.conns = plan.rooms_sockets;
            p.shared_rooms = plan.rooms_shared;
            p.rate = Some(plan.rooms_rate);
            p.churners = plan.rooms_churners;
            p.room_rate = plan.rooms_room_rate;
            p.in_flight = 64;
        }
        _ => {}
    }
    p.redis_url = plan.redis_url.clone();
    p
}

fn rows(plan: &Plan) -> Vec<Row> {
    let conns = report::number(plan.connect_conns as f64);
    let idle = report::number(plan.idle_conns as f64);
    let mut rows = vec![
        Row {
            label: "echo with ack, 100 conns, closed loop: acks/s".into(),
            scenario: "echo",
            higher_is_better: true,
            value: |m| Some(m.throughput),
        },
        Row {
            label: "echo, closed loop: p99 latency, ms".into(),
            scenario: "echo",
            higher_is_better: false,
            value: |m| m.p99_ms,
        },
        Row {
            label: "echo at 20k acks/s: server CPU, µs/ack".into(),
            scenario: "echo-rate",
            higher_is_better: false,
            value: |m| m.server_cpu_us_per_op,
        },
        Row {
            label: "echo at 20k acks/s: p50 latency, ms".into(),
            scenario: "echo-rate",
            higher_is_better: false,
            value: |m| m.p50_ms,
        },
        Row {
            label: "echo at 20k acks/s: p99 latency, ms".into(),
            scenario: "echo-rate",
            higher_is_better: false,
            value: |m| m.p99_ms,
        },
        Row {
            label: "echo at 20k acks/s: p99.9 latency, ms".into(),
            scenario: "echo-rate",
            higher_is_better: false,
            value: |m| m.p999_ms,
        },
        Row {
            label: "broadcast to 1,000 clients, closed loop: deliveries/s".into(),
            scenario: "broadcast",
            higher_is_better: true,
            value: |m| Some(m.throughput),
        },
        Row {
            label: "broadcast at 50k deliveries/s: server CPU, µs/delivery".into(),
            scenario: "broadcast-rate",
            higher_is_better: false,
            value: |m| m.server_cpu_us_per_op,
        },
        Row {
            label: "broadcast at 50k deliveries/s: p99 fan-out latency, ms".into(),
            scenario: "broadcast-rate",
            higher_is_better: false,
            value: |m| m.p99_ms,
        },
        Row {
            label: format!("connect storm, {conns} conns, 64 in flight: connections/s"),
            scenario: "connect",
            higher_is_better: true,
            value: |m| Some(m.throughput),
        },
        Row {
            label: format!("idle WebSocket connections at {conns}: server RSS, KiB/conn"),
            scenario: "connect",
            higher_is_better: false,
            value: |m| m.rss_kib_per_conn,
        },
        Row {
            label: format!("idle: connect storm, {idle} conns, 64 in flight: connections/s"),
            scenario: "idle",
            higher_is_better: true,
            value: |m| Some(m.throughput),
        },
        Row {
            label: format!("idle: {idle} connections, after the storm: server RSS, KiB/conn"),
            scenario: "idle",
            higher_is_better: false,
            value: |m| m.rss_kib_per_conn,
        },
        Row {
            label: "idle: at the end of the idle window: server RSS, KiB/conn".into(),
            scenario: "idle",
            higher_is_better: false,
            value: |m| m.idle.as_ref().and_then(|i| i.rss_kib_per_conn_end),
        },
        Row {
            label: "idle: server CPU while idle, % of one core".into(),
            scenario: "idle",
            higher_is_better: false,
            value: |m| {
                m.idle
                    .as_ref()
                    .and_then(|i| i.server_cpu_util)
                    .map(|u| u * 100.0)
            },
        },
        Row {
            label: "idle: the kernel's share of that CPU, %".into(),
            scenario: "idle",
            higher_is_better: false,
            value: |m| {
                m.idle
                    .as_ref()
                    .and_then(|i| i.server_system_share)
                    .map(|u| u * 100.0)
            },
        },
        Row {
            label: "idle: heartbeats/s answered".into(),
            scenario: "idle",
            higher_is_better: true,
            value: |m| m.idle.as_ref().map(|i| i.heartbeats as f64 / i.seconds),
        },
        Row {
            label: "idle: server CPU per heartbeat, µs".into(),
            scenario: "idle",
            higher_is_better: false,
            value: |m| m.idle.as_ref().and_then(|i| i.server_cpu_us_per_heartbeat),
        },
        Row {
            label: "long-polling echo, 20 sessions, closed loop: acks/s".into(),
            scenario: "polling",
            higher_is_better: true,
            value: |m| Some(m.throughput),
        },
    ];
    rows.extend(cluster_rows(plan));
    rows.extend(rooms_rows(plan));
    rows
}

/// The rows of the rooms scenario.
fn rooms_rows(plan: &Plan) -> Vec<Row> {
    let n = report::number(plan.rooms_sockets as f64);
    let shared = report::number(plan.rooms_shared as f64);
    let rate = report::number(plan.rooms_rate);
    let size = plan.rooms_sockets as f64 / plan.rooms_shared.max(1) as f64;
    let size = if size.fract() == 0.0 {
        format!("{size:.0}")
    } else {
        report::number(size)
    };
    let room_rate = report::number(plan.rooms_room_rate);
    vec![
        row(
            format!(
                "rooms: {n} sockets, each in its own room and 1 of {shared} shared: \
                 server RSS per membership, bytes"
            ),
            "rooms",
            false,
            |m| m.rooms.as_ref()?.rss_bytes_per_membership,
        ),
        row(
            "rooms: those joins, every socket sending its two at once: memberships/s".into(),
            "rooms",
            true,
            |m| m.rooms.as_ref().map(|r| r.setup_joins_per_s),
        ),
        row(
            format!("rooms: echo with ack at {rate}/s: server CPU, µs/ack"),
            "rooms",
            false,
            |m| m.rooms.as_ref()?.echo_cpu_us_per_ack,
        ),
        row(
            format!("rooms: join or leave of a fresh room at {rate}/s: server CPU, µs/op"),
            "rooms",
            false,
            |m| m.server_cpu_us_per_op,
        ),
        row(
            "rooms: join-or-leave CPU ÷ echo CPU, same run".into(),
            "rooms",
            false,
            |m| m.rooms.as_ref()?.churn_cpu_over_echo,
        ),
        row(
            format!("rooms: join or leave at {rate}/s: p99 ack latency, ms"),
            "rooms",
            false,
            |m| m.p99_ms,
        ),
        row(
            format!(
                "rooms: to_room of a {size}-socket room, {room_rate}/s, while churning: \
                 p50 latency, ms"
            ),
            "rooms",
            false,
            |m| m.rooms.as_ref()?.room_p50_ms,
        ),
        row(
            "rooms: to_room while churning: p99 latency, ms".into(),
            "rooms",
            false,
            |m| m.rooms.as_ref()?.room_p99_ms,
        ),
        row(
            format!("rooms: join_all of {n} sockets into one room: time in the server, ms"),
            "rooms",
            false,
            |m| m.rooms.as_ref()?.join_all_server_us.map(|us| us / 1e3),
        ),
        row(
            "rooms: join_all: round trip from the generator, ms".into(),
            "rooms",
            false,
            |m| m.rooms.as_ref()?.join_all_round_trip_ms,
        ),
        row(
            format!("rooms: then to_room of that room: last of the {n} deliveries, ms"),
            "rooms",
            false,
            |m| m.rooms.as_ref()?.join_all_last_delivery_ms,
        ),
    ]
}

/// The rows of the cluster scenarios.
fn cluster_rows(plan: &Plan) -> Vec<Row> {
    let topology = format!(
        "{} servers × {} clients",
        plan.cluster_servers,
        report::number(plan.cluster_clients as f64)
    );
    let at = format!(
        "cluster at {} deliveries/s",
        report::number(plan.cluster_rate)
    );
    vec![
        row(
            format!("cluster fan-out, {topology}, closed loop: deliveries/s"),
            "cluster-closed",
            true,
            |m| Some(m.throughput),
        ),
        row(
            "cluster, closed loop: server CPU summed over the servers, µs/delivery".into(),
            "cluster-closed",
            false,
            |m| m.server_cpu_us_per_op,
        ),
        row(
            "cluster, closed loop: p99 latency, clients of the other servers, ms".into(),
            "cluster-closed",
            false,
            |m| m.cluster.as_ref().and_then(|c| c.other_servers_p99_ms),
        ),
        row(
            "cluster, closed loop: p99 of the first delivery on each other server, ms".into(),
            "cluster-closed",
            false,
            |m| {
                m.cluster
                    .as_ref()
                    .and_then(|c| c.first_other_servers_p99_ms)
            },
        ),
        row(
            "cluster, closed loop: p99 from sending to the message on Redis, ms".into(),
            "cluster-closed",
            false,
            |m| m.cluster.as_ref().and_then(|c| c.redis_seen_p99_ms),
        ),
        row(
            format!("{at}: server CPU summed over the servers, µs/delivery"),
            "cluster-rate",
            false,
            |m| m.server_cpu_us_per_op,
        ),
        row(
            format!("{at}: Redis CPU, µs/delivery"),
            "cluster-rate",
            false,
            |m| m.cluster.as_ref().and_then(|c| c.redis_cpu_us_per_op),
        ),
        row(
            format!("{at}: p50 latency, clients of the sender's server, ms"),
            "cluster-rate",
            false,
            |m| m.cluster.as_ref().and_then(|c| c.same_server_p50_ms),
        ),
        row(
            format!("{at}: p99 latency, clients of the sender's server, ms"),
            "cluster-rate",
            false,
            |m| m.cluster.as_ref().and_then(|c| c.same_server_p99_ms),
        ),
        row(
            format!("{at}: p50 latency, clients of the other servers, ms"),
            "cluster-rate",
            false,
            |m| m.cluster.as_ref().and_then(|c| c.other_servers_p50_ms),
        ),
        row(
            format!("{at}: p99 latency, clients of the other servers, ms"),
            "cluster-rate",
            false,
            |m| m.cluster.as_ref().and_then(|c| c.other_servers_p99_ms),
        ),
        row(
            format!("{at}: p50 latency, first delivery on the sender's server, ms"),
            "cluster-rate",
            false,
            |m| m.cluster.as_ref().and_then(|c| c.first_same_server_p50_ms),
        ),
        row(
            format!("{at}: p99 latency, first delivery on the sender's server, ms"),
            "cluster-rate",
            false,
            |m| m.cluster.as_ref().and_then(|c| c.first_same_server_p99_ms),
        ),
        row(
            format!("{at}: p50 latency, first delivery on each other server, ms"),
            "cluster-rate",
            false,
            |m| {
                m.cluster
                    .as_ref()
                    .and_then(|c| c.first_other_servers_p50_ms)
            },
        ),
        row(
            format!("{at}: p99 latency, first delivery on each other server, ms"),
            "cluster-rate",
            false,
            |m| {
                m.cluster
                    .as_ref()
                    .and_then(|c| c.first_other_servers_p99_ms)
            },
        ),
        row(
            format!("{at}: p50 from sending to the message on Redis, ms"),
            "cluster-rate",
            false,
            |m| m.cluster.as_ref().and_then(|c| c.redis_seen_p50_ms),
        ),
        row(
            format!("{at}: p99 from sending to the message on Redis, ms"),
            "cluster-rate",
            false,
            |m| m.cluster.as_ref().and_then(|c| c.redis_seen_p99_ms),
        ),
        row(
            format!("{at}: broadcasts found on Redis, % of those sent"),
            "cluster-rate",
            true,
            matched_share,
        ),
        row(
            format!("{at}: RSS of the sender's server, MiB"),
            "cluster-rate",
            false,
            |m| {
                let c = m.cluster.as_ref()?;
                c.server_rss_kib_each.first().copied().flatten().map(mib)
            },
        ),
        row(
            format!("{at}: RSS of each other server (mean), MiB"),
            "cluster-rate",
            false,
            |m| {
                let c = m.cluster.as_ref()?;
                let others = c.server_rss_kib_each.get(1..)?;
                let kib: Option<Vec<u64>> = others.iter().copied().collect();
                let kib = kib.filter(|k| !k.is_empty())?;
                Some(mib(kib.iter().sum::<u64>()) / kib.len() as f64)
            },
        ),
    ]
}

fn row(
    label: String,
    scenario: &'static str,
    higher_is_better: bool,
    value: fn(&Measurement) -> Option<f64>,
) -> Row {
    Row {
        label,
        scenario,
        higher_is_better,
        value,
    }
}

/// The broadcasts found in the messages on Redis, in % of those sent in the
/// window: 0 when the adapter's messages were seen but none matched (or
/// none were seen), absent when Redis was not watched.
fn matched_share(m: &Measurement) -> Option<f64> {
    let c = m.cluster.as_ref()?;
    let matched = c.redis_matched? as f64;
    (c.broadcasts > 0).then(|| matched * 100.0 / c.broadcasts as f64)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Warnings under the table: errors, and runs where the generator, not the
/// server, may have been the limit.
fn print_notes(results: &[Measurement]) {
    for m in results {
        let who = format!(
            "{} / {} / run {}",
            m.scenario,
            m.server.as_deref().unwrap_or("?"),
            m.rep.unwrap_or(0)
        );
        if m.errors > 0 {
            println!("- {who}: {} errors", m.errors);
        }
        if m.generator_cpu_util > 0.9 {
            println!(
                "- {who}: generator at {:.0}% cpu, so the throughput may be the generator's limit",
                m.generator_cpu_util * 100.0
            );
        }
    }
}

/// Starts `plan.cluster_servers` instances of `server` in one cluster, on
/// `*port` and the free ports after it (left in `*port`), runs `scenario`
/// against them, and stops them.
async fn run_cluster_once(
    server: &Server,
    plan: &Plan,
    scenario: &str,
    mut params: Params,
    port: &mut u16,
) -> Result<Measurement> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let prefix = format!("socketio-bench-{}-{millis}-{}", std::process::id(), *port);
    params.redis_prefix = Some(prefix.clone());
    let env = [
        ("REDIS_URL", plan.redis_url.clone()),
        ("REDIS_PREFIX", prefix),
    ];
    let mut children = Vec::new();
    let result = async {
        for i in 0..plan.cluster_servers {
            if i > 0 {
                *port = free_port(*port + 1);
            }
            let cpu = match plan.cluster_cpus.as_slice() {
                [] => plan.server_cpu.clone(),
                cpus => plan
                    .server_cpu
                    .as_ref()
                    .map(|_| cpus[i % cpus.len()].clone()),
            };
            let child = start(server, cpu.as_deref(), *port, &env)?;
            let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), *port);
            params.cluster.push(ClusterNode {
                addr,
                pid: Some(child.id()),
            });
            children.push(child);
        }
        for (child, node) in children.iter_mut().zip(&params.cluster) {
            wait_ready(child, node.addr).await?;
        }
        params.addr = params.cluster[0].addr;
        params.pid = params.cluster[0].pid;
        scenario::run(scenario, &params).await
    }
    .await;
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    result
}

async fn run_once(
    server: &Server,
    cpu: Option<&str>,
    scenario: &str,
    mut params: Params,
    env: &[(&str, String)],
) -> Result<Measurement> {
    let mut child = start(server, cpu, params.addr.port(), env)?;
    params.pid = Some(child.id());
    let result = async {
        wait_ready(&mut child, params.addr).await?;
        scenario::run(scenario, &params).await
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    // Let the kernel finish closing the run's sockets before the next.
    tokio::time::sleep(Duration::from_millis(200)).await;
    result
}

/// Starts `server` with `PORT` and the variables of `env` set, pinned to
/// `cpu` if given.
pub(crate) fn start(
    server: &Server,
    cpu: Option<&str>,
    port: u16,
    env: &[(&str, String)],
) -> Result<Child> {
    // `exec` keeps the pid: the one `/proc` is read for is the server's.
    let shell = format!("exec {}", server.command);
    let mut command = match cpu {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpu, "sh", "-c", &shell]);
            c
        }
        None => {
            let mut c = Command::new("sh");
            c.args(["-c", &shell]);
            c
        }
    };
    command
        .env("PORT", port.to_string())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| err!("starting {}: {e}", server.name))
}

/// Waits until the server listens on `addr` (30 s at most).
pub(crate) async fn wait_ready(child: &mut Child, addr: SocketAddr) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait()? {
            return Err(err!("server exited before listening: {status}"));
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(err!("server not listening on {addr} after 30 s"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The first port from `from` that nothing listens on.
pub(crate) fn free_port(from: u16) -> u16 {
    let mut port = from;
    while port < u16::MAX {
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
        port += 1;
    }
    from
}

fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The cpus this process may run on (`Cpus_allowed_list`).
fn own_cpus() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Cpus_allowed_list:")
                    .map(|v| v.trim().to_string())
            })
        })
        .unwrap_or_else(|| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::ClusterWindow;

    fn plan_of(args: &[&str]) -> Result<Plan> {
        plan(&mut Args::from_vec(args))
    }

    #[test]
    fn cluster_names_both_of_its_scenarios() {
        let p = plan_of(&["--server", "a=b", "--only", "echo, cluster"]);
        assert_eq!(
            p.ok().map(|p| p.scenarios),
            Some(vec!["echo", "cluster-closed", "cluster-rate"])
        );
        let p = plan_of(&["--server", "a=b", "--only", "cluster-rate"]);
        assert_eq!(p.ok().map(|p| p.scenarios), Some(vec!["cluster-rate"]));
        assert!(plan_of(&["--server", "a=b", "--only", "clusters"]).is_err());
    }

    #[test]
    fn cluster_settings() {
        let p = plan_of(&["--server", "a=b", "--quick", "--cluster-cpu", "0"]).expect("a plan");
        assert_eq!(p.cluster_clients, 200);
        let closed = params_for("cluster-closed", &p, 4000);
        assert_eq!((closed.clients, closed.window, closed.rate), (200, 4, None));
        let rate = params_for("cluster-rate", &p, 4000);
        assert_eq!(rate.rate, Some(10_000.0));
        assert_eq!(rate.redis_url, "redis://127.0.0.1:6379");
    }

    #[test]
    fn rooms_settings() {
        let p = plan_of(&["--server", "a=b", "--only", "rooms"]).expect("a plan");
        assert_eq!(p.scenarios, vec!["rooms"]);
        let r = params_for("rooms", &p, 4000);
        assert_eq!((r.conns, r.shared_rooms, r.churners), (10_000, 1_000, 100));
        assert_eq!((r.rate, r.room_rate), (Some(10_000.0), 100.0));
        let q = plan_of(&["--server", "a=b", "--quick", "--rooms-rate", "2000"]).expect("a plan");
        let r = params_for("rooms", &q, 4000);
        assert_eq!(
            (r.conns, r.shared_rooms, r.rate),
            (1_000, 100, Some(2_000.0))
        );
        assert!(
            !q.scenarios.contains(&"rooms"),
            "rooms runs only when named"
        );
    }

    #[test]
    fn a_server_over_webtransport() {
        let p = plan_of(&[
            "--server",
            "wt=x",
            "--server",
            "ws=x",
            "--server-transport",
            "wt=webtransport",
        ])
        .expect("a plan");
        assert_eq!(p.transport_of("wt"), Transport::WebTransport);
        assert_eq!(p.transport_of("ws"), Transport::WebSocket);
        assert!(plan_of(&["--server", "a=x", "--server-transport", "b=webtransport"]).is_err());
        assert!(plan_of(&["--server", "a=x", "--server-transport", "a=quic"]).is_err());
    }

    #[test]
    fn rss_of_the_other_servers_is_their_mean() {
        let p = plan_of(&["--server", "a=b"]).expect("a plan");
        let rows = cluster_rows(&p);
        let value = |label: &str, m: &Measurement| {
            let row = rows.iter().find(|r| r.label.contains(label));
            row.and_then(|r| (r.value)(m))
        };
        let mut m = Measurement {
            cluster: Some(ClusterWindow {
                server_rss_kib_each: vec![Some(1024), Some(2048), Some(4096)],
                ..ClusterWindow::default()
            }),
            ..Measurement::default()
        };
        assert_eq!(value("RSS of the sender's server", &m), Some(1.0));
        assert_eq!(value("RSS of each other server", &m), Some(3.0));
        if let Some(c) = m.cluster.as_mut() {
            c.server_rss_kib_each[2] = None;
        }
        assert_eq!(value("RSS of each other server", &m), None);
    }

    #[test]
    fn broadcasts_found_on_redis() {
        let p = plan_of(&["--server", "a=b"]).expect("a plan");
        let rows = cluster_rows(&p);
        let row = rows
            .iter()
            .find(|r| r.label.contains("found on Redis"))
            .expect("the row");
        let m = |matched: Option<u64>| Measurement {
            cluster: Some(ClusterWindow {
                broadcasts: 40,
                redis_matched: matched,
                ..ClusterWindow::default()
            }),
            ..Measurement::default()
        };
        assert_eq!((row.value)(&m(Some(30))), Some(75.0));
        assert_eq!((row.value)(&m(Some(0))), Some(0.0));
        assert_eq!((row.value)(&m(None)), None);
    }
}
