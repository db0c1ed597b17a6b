//! The measured window and what is measured in it: operations, latency
//! histograms, the server's CPU time and our own.

use std::{
    sync::{
        atomic::{AtomicU64, AtomicU8, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::{clock, procfs};

/// Where a run is: warming up, measuring, or stopping. Shared by every task
/// of a scenario, read on every operation.
#[derive(Debug, Default)]
pub(crate) struct Phase(AtomicU8);

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

impl Phase {
    pub(crate) fn measuring(&self) -> bool {
        self.0.load(Ordering::Relaxed) == MEASURE
    }
    pub(crate) fn stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed) == STOP
    }
    fn set(&self, v: u8) {
        self.0.store(v, Ordering::Relaxed);
    }
}

/// Latencies in microseconds, one histogram for all the tasks of a run: the
/// generator has one thread, so the lock is never contended, and one
/// histogram (about 130 KB) per connection would not fit 10,000 of them.
#[derive(Debug, Clone)]
pub(crate) struct Latencies(Arc<Mutex<Histogram<u64>>>);

impl Latencies {
    pub(crate) fn new() -> Self {
        // 1 µs to 60 s, 3 significant digits.
        let h = Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid constant bounds");
        Latencies(Arc::new(Mutex::new(h)))
    }

    /// Records the time since `sent_ns` (a [`clock::now_ns`] value).
    pub(crate) fn record_since(&self, sent_ns: u64) {
        self.record_us(clock::now_ns().saturating_sub(sent_ns) / 1_000);
    }

    /// Records a latency of `us` microseconds.
    pub(crate) fn record_us(&self, us: u64) {
        let mut h = self.0.lock().unwrap_or_else(|e| e.into_inner());
        h.saturating_record(us.max(1));
    }

    /// p50, p99 and p99.9 in milliseconds, or `None` with no sample.
    pub(crate) fn percentiles_ms(&self) -> Option<[f64; 3]> {
        let h = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if h.is_empty() {
            return None;
        }
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1_000.0;
        Some([ms(0.50), ms(0.99), ms(0.999)])
    }
}

/// A counter of operations completed while measuring.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counter(Arc<AtomicU64>);

impl Counter {
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// CPU time of the servers (those whose pid is known) and of this process,
/// read at the start and the end of the window.
#[derive(Debug)]
struct CpuMark {
    at: Instant,
    /// One per pid; `None` for a process whose `/proc` could not be read.
    servers: Vec<Option<f64>>,
    own: f64,
}

impl CpuMark {
    fn now(pids: &[u32]) -> Self {
        CpuMark {
            at: Instant::now(),
            servers: pids.iter().map(|p| procfs::cpu_seconds(*p).ok()).collect(),
            own: procfs::cpu_seconds(std::process::id()).unwrap_or(0.0),
        }
    }
}

/// Runs the warm-up then the measured window of a scenario whose tasks are
/// already running: they look at `phase`, and count into `ops` only while
/// measuring.
pub(crate) async fn window(
    phase: &Phase,
    ops: &Counter,
    pid: Option<u32>,
    warmup: Duration,
    duration: Duration,
) -> Window {
    window_each(phase, ops, pid.as_slice(), warmup, duration)
        .await
        .0
}

/// Like [`window`], for several processes: the window's server CPU is
/// their sum (`None` if one could not be read), and the CPU seconds of
/// each come apart, in the order of `pids`.
pub(crate) async fn window_each(
    phase: &Phase,
    ops: &Counter,
    pids: &[u32],
    warmup: Duration,
    duration: Duration,
) -> (Window, Vec<Option<f64>>) {
    phase.set(WARMUP);
    tokio::time::sleep(warmup).await;
    let before = CpuMark::now(pids);
    let ops0 = ops.get();
    phase.set(MEASURE);
    tokio::time::sleep(duration).await;
    phase.set(STOP);
    let after = CpuMark::now(pids);
    let seconds = after.at.duration_since(before.at).as_secs_f64();
    let each: Vec<Option<f64>> = before
        .servers
        .iter()
        .zip(&after.servers)
        .map(|(a, b)| a.zip(*b).map(|(a, b)| b - a))
        .collect();
    let server_cpu = if each.is_empty() {
        None
    } else {
        each.iter().copied().sum::<Option<f64>>()
    };
    let window = Window {
        ops: ops.get() - ops0,
        seconds,
        server_cpu,
        own_cpu: after.own - before.own,
    };
    (window, each)
}

/// What a window saw.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) ops: u64,
    pub(crate) seconds: f64,
    pub(crate) server_cpu: Option<f64>,
    pub(crate) own_cpu: f64,
}

impl Window {
    /// The server's CPU time per operation, µs.
    pub(crate) fn server_cpu_us_per_op(&self) -> Option<f64> {
        self.server_cpu
            .filter(|_| self.ops > 0)
            .map(|cpu| cpu * 1e6 / self.ops as f64)
    }

    /// A measurement from this window, with throughput, CPU per operation
    /// and the latency percentiles.
    pub(crate) fn measurement(&self, scenario: &str, latencies: &Latencies) -> Measurement {
        let p = latencies.percentiles_ms();
        Measurement {
            scenario: scenario.to_string(),
            ops: self.ops,
            seconds: self.seconds,
            throughput: self.ops as f64 / self.seconds,
            p50_ms: p.map(|p| p[0]),
            p99_ms: p.map(|p| p[1]),
            p999_ms: p.map(|p| p[2]),
            server_cpu_us_per_op: self.server_cpu_us_per_op(),
            server_cpu_util: self.server_cpu.map(|c| c / self.seconds),
            generator_cpu_util: self.own_cpu / self.seconds,
            ..Measurement::default()
        }
    }
}

/// The result of one run of one scenario against one server; a JSON line in
/// the raw results.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Measurement {
    /// Scenario name (`echo`, `echo-rate`, ...).
    pub(crate) scenario: String,
    /// Server name, in a suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) server: Option<String>,
    /// The sockets' transport when not WebSocket (`webtransport`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) transport: Option<String>,
    /// Repetition, in a suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rep: Option<u32>,
    /// Operations (acks, deliveries, connections) in the window.
    pub(crate) ops: u64,
    /// Length of the window.
    pub(crate) seconds: f64,
    /// Operations per second.
    pub(crate) throughput: f64,
    /// Latency percentiles, milliseconds.
    pub(crate) p50_ms: Option<f64>,
    pub(crate) p99_ms: Option<f64>,
    pub(crate) p999_ms: Option<f64>,
    /// Server CPU time per operation, microseconds.
    pub(crate) server_cpu_us_per_op: Option<f64>,
    /// Server CPU time over wall time (1.0 = one core busy).
    pub(crate) server_cpu_util: Option<f64>,
    /// This generator's CPU time over wall time: near 1.0, the generator,
    /// not the server, may be the limit.
    pub(crate) generator_cpu_util: f64,
    /// Server RSS per idle connection, KiB (connect storm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rss_kib_per_conn: Option<f64>,
    /// Operations that failed or timed out.
    pub(crate) errors: u64,
    /// WebTransport: datagrams the kernel dropped on the server's UDP
    /// socket over the run (its receive buffer full), each a retransmission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) server_udp_drops: Option<u64>,
    /// Idle connections: what the idle window after the storm saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) idle: Option<IdleWindow>,
    /// Cluster fan-out: what each server and Redis did, and the latency
    /// split by where the receiving client is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cluster: Option<ClusterWindow>,
    /// Rooms: memberships, churn against echo, room broadcasts while
    /// churning, a server-side join of every socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rooms: Option<RoomsRun>,
}

/// What the rooms scenario measured beyond what every scenario reports:
/// there the base fields are the churn window's (joins and leaves at a
/// fixed rate: acks/s, server CPU per join or leave, ack latency).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RoomsRun {
    /// Sockets, each in a room of its own and in one of `shared_rooms`.
    pub(crate) sockets: usize,
    pub(crate) shared_rooms: usize,
    /// Memberships the sockets' `join` events added (two per socket).
    pub(crate) memberships: u64,
    /// Those joins, every socket sending its two at once: memberships per
    /// second from the first sent to the last acknowledged.
    pub(crate) setup_joins_per_s: f64,
    /// Server RSS before and after those joins, KiB.
    pub(crate) rss_kib_before_joins: Option<u64>,
    pub(crate) rss_kib_after_joins: Option<u64>,
    /// (after − before) / memberships, bytes: everything the joins grew.
    pub(crate) rss_bytes_per_membership: Option<f64>,
    /// The fixed rate of the echo and churn windows, events/s.
    pub(crate) rate: f64,
    /// Echo with ack at `rate` from the churning sockets: acks in the
    /// window, server CPU per ack (µs), p99 round trip (ms).
    pub(crate) echo_acks: u64,
    pub(crate) echo_cpu_us_per_ack: Option<f64>,
    pub(crate) echo_p99_ms: Option<f64>,
    /// Server CPU per join or leave over server CPU per echo ack.
    pub(crate) churn_cpu_over_echo: Option<f64>,
    /// Room broadcasts (`to_room` to a random shared room) while churning:
    /// their rate, those sent in the window, deliveries expected and
    /// missing over the whole stage, and the latency from the sending to
    /// each delivery (ms).
    pub(crate) room_rate: f64,
    pub(crate) room_broadcasts: u64,
    pub(crate) room_deliveries_expected: u64,
    pub(crate) room_deliveries_missing: u64,
    pub(crate) room_p50_ms: Option<f64>,
    pub(crate) room_p99_ms: Option<f64>,
    pub(crate) room_p999_ms: Option<f64>,
    /// Joins and leaves acknowledged in that window, and the server CPU
    /// per one of them with the broadcasts' share included (µs).
    pub(crate) churn_ops_with_rooms: u64,
    pub(crate) churn_cpu_us_per_op_with_rooms: Option<f64>,
    /// `join_all`: every socket joined to one room by the server, timed by
    /// the server (µs) and from the generator (send to ack, ms); then a
    /// `to_room` to that room: the sockets it reached and the time to the
    /// last of them (ms).
    pub(crate) join_all_server_us: Option<f64>,
    pub(crate) join_all_round_trip_ms: Option<f64>,
    pub(crate) join_all_reached: u64,
    pub(crate) join_all_last_delivery_ms: Option<f64>,
}

/// The measured window of the cluster fan-out scenario, beyond what every
/// scenario reports: there the server CPU per operation is summed over the
/// servers of the cluster, and the latency percentiles are over every
/// delivery.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ClusterWindow {
    /// Servers in the cluster; the sender's is the first.
    pub(crate) servers: usize,
    /// Clients connected to each server (the sender among the first's).
    pub(crate) clients_per_server: usize,
    /// Broadcasts sent in the window.
    pub(crate) broadcasts: u64,
    /// Fan-out latency to the clients of the sender's server, ms.
    pub(crate) same_server_p50_ms: Option<f64>,
    pub(crate) same_server_p99_ms: Option<f64>,
    /// Fan-out latency to the clients of the other servers (through
    /// Redis), ms.
    pub(crate) other_servers_p50_ms: Option<f64>,
    pub(crate) other_servers_p99_ms: Option<f64>,
    /// The first delivery of each broadcast on each server: from the
    /// sending to the first frame of that broadcast read from any socket of
    /// that server, ms; for the sender's server, and for the others.
    pub(crate) first_same_server_p50_ms: Option<f64>,
    pub(crate) first_same_server_p99_ms: Option<f64>,
    pub(crate) first_other_servers_p50_ms: Option<f64>,
    pub(crate) first_other_servers_p99_ms: Option<f64>,
    /// From the sending of a broadcast to its message seen on Redis by the
    /// generator's own subscription to the run's channels, ms. Absent
    /// when the channels' prefix was not known.
    pub(crate) redis_seen_p50_ms: Option<f64>,
    pub(crate) redis_seen_p99_ms: Option<f64>,
    /// Messages published on the run's channels in the window, and the
    /// broadcasts found in them (by the marker of the pad): 0 matched is
    /// an adapter that publishes elsewhere, or in a form not searched.
    pub(crate) redis_messages: Option<u64>,
    pub(crate) redis_matched: Option<u64>,
    /// CPU time of each server over wall time, in server order.
    pub(crate) server_cpu_util_each: Vec<Option<f64>>,
    /// RSS of each server at the end of the window, KiB, in server order.
    pub(crate) server_rss_kib_each: Vec<Option<u64>>,
    /// Redis's CPU time per delivery, µs, when its process could be read.
    pub(crate) redis_cpu_us_per_op: Option<f64>,
    /// Redis's CPU time over wall time.
    pub(crate) redis_cpu_util: Option<f64>,
}

/// The idle window of the idle-connections scenario: every connection
/// open, nothing sent but the heartbeat.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct IdleWindow {
    /// Length of the window, seconds.
    pub(crate) seconds: f64,
    /// The server's heartbeat period, from its Engine.IO open packet, ms.
    pub(crate) ping_interval_ms: Option<u64>,
    /// Engine.IO pings the clients received (and answered) in the window.
    pub(crate) heartbeats: u64,
    /// Server CPU time over wall time in the window (1.0 = one core busy).
    pub(crate) server_cpu_util: Option<f64>,
    /// The kernel's share of the server's CPU time in the window (system
    /// time over user plus system).
    pub(crate) server_system_share: Option<f64>,
    /// Server CPU time per heartbeat (a ping sent, its pong read), µs.
    pub(crate) server_cpu_us_per_heartbeat: Option<f64>,
    /// Server RSS per connection at the end of the window, KiB.
    pub(crate) rss_kib_per_conn_end: Option<f64>,
    /// This generator's CPU time over wall time in the window.
    pub(crate) generator_cpu_util: f64,
    /// Connections the server closed during the window (a heartbeat the
    /// server thought missed, or a failure).
    pub(crate) closed: u64,
}
