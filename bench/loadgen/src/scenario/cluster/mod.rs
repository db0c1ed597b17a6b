//! Cluster fan-out (issue 19, scenario 1): several servers of one cluster
//! behind one Redis, `clients` sockets on each; the first socket of the
//! first server also sends `broadcast` events (asking for an ack), and each
//! is delivered to every socket of every server, the sender included: by
//! the sender's server to its own sockets, and through the Redis adapter by
//! the others to theirs. A delivery is one socket receiving one broadcast.
//!
//! - Closed loop (no rate): at most `window` broadcasts' worth of
//!   deliveries outstanding, as in [`broadcast`](super::broadcast).
//! - Open loop (`rate` deliveries/s over the cluster): broadcasts leave at
//!   `rate / (servers × clients)` per second whatever the deliveries do.
//!
//! Before the warm-up, broadcasts are sent one at a time until one reaches
//! every socket of every server: the cluster is formed (each adapter has
//! subscribed), and a server that never joins it fails the run instead of
//! being measured as a smaller cluster.
//!
//! Reports deliveries/s; the CPU time per delivery of the servers, summed;
//! the fan-out latency (from the sending of a broadcast to each delivery,
//! read from the timestamp in the payload) over all deliveries, and apart
//! for the sockets of the sender's server and for those of the others; the
//! same for the first delivery of each broadcast on each server; the time
//! from the sending to the broadcast's message on Redis, when the
//! channels' prefix is known ([`redis_watch`]); the RSS of each server at
//! the end of the window; and Redis's CPU time per delivery when its
//! process is visible here.

mod redis_watch;

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use tokio::{sync::Notify, task::JoinSet, time::MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use self::redis_watch::RedisWatch;
use super::{connect_many, stop, Params};
use crate::{
    cli::{err, Result},
    clock,
    measure::{self, ClusterWindow, Counter, Latencies, Measurement, Phase, Window},
    procfs, redis,
    sio::{self, Incoming, Ws},
};

/// One server of the cluster: where it listens and, when known, its process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClusterNode {
    pub(crate) addr: SocketAddr,
    pub(crate) pid: Option<u32>,
}

/// How long the cluster has to deliver one broadcast to every socket.
const FORM_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one probe broadcast is waited for before the next is sent.
const PROBE_WAIT: Duration = Duration::from_secs(1);

pub(crate) async fn run(p: &Params) -> Result<Measurement> {
    let nodes = if p.cluster.is_empty() {
        vec![ClusterNode {
            addr: p.addr,
            pid: p.pid,
        }]
    } else {
        p.cluster.clone()
    };
    let per_server = p.clients.max(1);
    let total = (nodes.len() * per_server) as u64;

    let mut conns = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        let (c, failed) = connect_many(
            node.addr,
            per_server,
            p.in_flight,
            p.sources,
            &Latencies::new(),
        )
        .await;
        if failed > 0 {
            return Err(err!(
                "server {i} ({}): {failed} of {per_server} connections failed",
                node.addr
            ));
        }
        conns.push(c);
    }

    let shared = Shared {
        phase: Arc::new(Phase::default()),
        measured: Counter::default(),
        delivered: Arc::new(AtomicU64::new(0)),
        base: Arc::new(AtomicU64::new(0)),
        per_server: (0..nodes.len()).map(|_| Counter::default()).collect(),
        complete: Arc::new(Notify::new()),
        total,
        broadcasts: Counter::default(),
        errors: Counter::default(),
        all: Latencies::new(),
        same_server: Latencies::new(),
        other_servers: Latencies::new(),
        first_seen: Arc::new((0..nodes.len()).map(|_| FirstSeen::default()).collect()),
        first_same_server: Latencies::new(),
        first_other_servers: Latencies::new(),
    };
    // Subscribed before the first probe, so that the window finds it
    // reading; without the prefix, which channels to watch is not known.
    let watch = match &p.redis_prefix {
        Some(prefix) => Some(
            RedisWatch::start(
                &p.redis_url,
                prefix,
                shared.phase.clone(),
                shared.errors.clone(),
            )
            .await?,
        ),
        None => {
            eprintln!("cluster: no --redis-prefix, so the time to Redis is not measured");
            None
        }
    };
    let mut tasks = JoinSet::new();
    let mut sender = None;
    for (server, sockets) in conns.into_iter().enumerate() {
        for ws in sockets {
            if server == 0 && sender.is_none() {
                sender = Some(ws);
            } else {
                tasks.spawn(receiver(ws, server, shared.clone()));
            }
        }
    }
    let mut sender = sender.ok_or_else(|| err!("no sender"))?;
    let pad = p.payload;
    let probes = match form(&mut sender, pad, &shared, per_server as u64).await {
        Ok(probes) => probes,
        Err(e) => {
            tasks.shutdown().await;
            if let Some(w) = watch {
                w.stop();
            }
            return Err(e);
        }
    };

    let pace = match p.rate {
        None => Pace::Window(p.window.max(1) as u64),
        Some(rate) => Pace::Every(Duration::from_secs_f64(total as f64 / rate)),
    };
    // The probes' deliveries are not the loop's.
    shared
        .base
        .store(shared.delivered.load(Ordering::Relaxed), Ordering::Relaxed);
    tasks.spawn(send_loop(sender, pace, pad, probes, shared.clone()));

    let redis_pid = redis::server_pid(&p.redis_url).await.unwrap_or_else(|e| {
        eprintln!("cluster: Redis's CPU not measured: {e}");
        None
    });
    let mut pids: Vec<u32> = nodes.iter().filter_map(|n| n.pid).collect();
    let servers_known = pids.len() == nodes.len();
    pids.extend(redis_pid);
    let (window, each) =
        measure::window_each(&shared.phase, &shared.measured, &pids, p.warmup, p.duration).await;
    let rss: Vec<Option<u64>> = nodes
        .iter()
        .map(|n| n.pid.and_then(|pid| procfs::rss_kib(pid).ok()))
        .collect();
    stop(tasks).await;
    let seen = watch.map(RedisWatch::stop);

    let n = nodes.len();
    let server_each: Vec<Option<f64>> = if servers_known {
        each[..n].to_vec()
    } else {
        vec![None; n]
    };
    let redis_cpu = redis_pid.and_then(|_| each.last().copied().flatten());
    let window = Window {
        server_cpu: if servers_known {
            server_each.iter().copied().sum()
        } else {
            None
        },
        ..window
    };
    let mut m = window.measurement("cluster", &shared.all);
    m.errors = shared.errors.get();
    let same = shared.same_server.percentiles_ms();
    let other = shared.other_servers.percentiles_ms();
    let first_same = shared.first_same_server.percentiles_ms();
    let first_other = shared.first_other_servers.percentiles_ms();
    let redis_seen = seen.as_ref().and_then(|s| s.latencies.percentiles_ms());
    m.cluster = Some(ClusterWindow {
        servers: n,
        clients_per_server: per_server,
        broadcasts: shared.broadcasts.get(),
        same_server_p50_ms: same.map(|p| p[0]),
        same_server_p99_ms: same.map(|p| p[1]),
        other_servers_p50_ms: other.map(|p| p[0]),
        other_servers_p99_ms: other.map(|p| p[1]),
        first_same_server_p50_ms: first_same.map(|p| p[0]),
        first_same_server_p99_ms: first_same.map(|p| p[1]),
        first_other_servers_p50_ms: first_other.map(|p| p[0]),
        first_other_servers_p99_ms: first_other.map(|p| p[1]),
        redis_seen_p50_ms: redis_seen.map(|p| p[0]),
        redis_seen_p99_ms: redis_seen.map(|p| p[1]),
        redis_messages: seen.as_ref().map(|s| s.messages.get()),
        redis_matched: seen.as_ref().map(|s| s.matched.get()),
        server_cpu_util_each: server_each
            .iter()
            .map(|c| c.map(|c| c / window.seconds))
            .collect(),
        server_rss_kib_each: rss,
        redis_cpu_us_per_op: redis_cpu
            .filter(|_| window.ops > 0)
            .map(|c| c * 1e6 / window.ops as f64),
        redis_cpu_util: redis_cpu.map(|c| c / window.seconds),
    });
    Ok(m)
}

#[derive(Clone)]
struct Shared {
    phase: Arc<Phase>,
    /// Deliveries while measuring.
    measured: Counter,
    /// Deliveries since the start, over the cluster.
    delivered: Arc<AtomicU64>,
    /// `delivered` when the send loop started, after the probes.
    base: Arc<AtomicU64>,
    /// Deliveries since the start, to the sockets of each server.
    per_server: Vec<Counter>,
    /// Woken each time `delivered - base` reaches a multiple of `total`.
    complete: Arc<Notify>,
    /// Sockets over the cluster: the deliveries of one broadcast.
    total: u64,
    /// Broadcasts sent while measuring.
    broadcasts: Counter,
    errors: Counter,
    all: Latencies,
    same_server: Latencies,
    other_servers: Latencies,
    /// Per server, the broadcasts its sockets have received.
    first_seen: Arc<Vec<FirstSeen>>,
    /// The first delivery of each broadcast on the sender's server, and on
    /// each other server.
    first_same_server: Latencies,
    first_other_servers: Latencies,
}

/// The broadcasts the sockets of one server have received, by timestamp.
#[derive(Debug, Default)]
struct FirstSeen {
    /// The latest timestamp received.
    latest: AtomicU64,
    /// Every timestamp received, for the frames of an earlier broadcast
    /// that come after a later one's (broadcasts overlap in the closed
    /// loop, and a server may deliver them out of order). It grows by one
    /// entry per broadcast: a few thousand in a run.
    all: Mutex<HashSet<u64>>,
}

impl FirstSeen {
    /// Whether a frame of the broadcast sent at `t` is the first received
    /// here. Most frames are copies of the latest broadcast, told by the
    /// atomic alone.
    fn first(&self, t: u64) -> bool {
        if self.latest.fetch_max(t, Ordering::Relaxed) == t {
            return false;
        }
        let mut all = self.all.lock().unwrap_or_else(|e| e.into_inner());
        all.insert(t)
    }
}

impl Shared {
    /// Handles a frame of a socket of server `server` (the sender's too).
    async fn on_frame(&self, ws: &mut Ws, server: usize, text: &str) -> Result<()> {
        match sio::classify(text) {
            Incoming::Event(t) => {
                self.per_server[server].add(1);
                let before = self.delivered.fetch_add(1, Ordering::Relaxed);
                let since = (before + 1).wrapping_sub(self.base.load(Ordering::Relaxed));
                if since % self.total == 0 {
                    self.complete.notify_one();
                }
                let first = t.is_some_and(|t| self.first_seen[server].first(t));
                if self.phase.measuring() {
                    self.measured.add(1);
                    if let Some(t) = t {
                        let us = clock::now_ns().saturating_sub(t) / 1_000;
                        self.all.record_us(us);
                        let (each, firsts) = if server == 0 {
                            (&self.same_server, &self.first_same_server)
                        } else {
                            (&self.other_servers, &self.first_other_servers)
                        };
                        each.record_us(us);
                        if first {
                            firsts.record_us(us);
                        }
                    }
                }
            }
            Incoming::Ping => ws.send(sio::pong()).await?,
            _ => {}
        }
        Ok(())
    }

    fn failed(&self, e: &crate::cli::Error) {
        self.errors.add(1);
        if !self.phase.stopped() {
            eprintln!("cluster connection failed: {e}");
        }
    }
}

async fn receiver(mut ws: Ws, server: usize, s: Shared) {
    loop {
        let r = match sio::next_text(&mut ws).await {
            Ok(text) => s.on_frame(&mut ws, server, &text).await,
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            s.failed(&e);
            return;
        }
    }
}

/// Sends broadcasts one at a time until one has reached every socket of
/// every server; returns how many were sent.
async fn form(ws: &mut Ws, pad: usize, s: &Shared, per_server: u64) -> Result<u64> {
    let deadline = Instant::now() + FORM_TIMEOUT;
    // Progress is polled: the receivers wake nobody per delivery.
    let mut poll = tokio::time::interval(Duration::from_millis(5));
    let mut probes = 0;
    loop {
        let before: Vec<u64> = s.per_server.iter().map(Counter::get).collect();
        probes += 1;
        ws.send(broadcast(probes, pad)).await?;
        let until = tokio::time::Instant::now() + PROBE_WAIT;
        loop {
            let reached = |(c, b): (&Counter, &u64)| c.get() - b >= per_server;
            if s.per_server.iter().zip(&before).all(reached) {
                return Ok(probes);
            }
            tokio::select! {
                frame = ws.next() => on_sender_frame(ws, frame, s).await?,
                _ = poll.tick() => {}
                _ = tokio::time::sleep_until(until) => break,
            }
        }
        if Instant::now() > deadline {
            let got: Vec<String> = s
                .per_server
                .iter()
                .zip(&before)
                .map(|(c, b)| (c.get() - b).to_string())
                .collect();
            return Err(err!(
                "the cluster did not deliver a broadcast to every socket within {} s \
                 (the last reached {} of {per_server} sockets per server): \
                 is every server on the same Redis and key prefix?",
                FORM_TIMEOUT.as_secs(),
                got.join(", ")
            ));
        }
    }
}

enum Pace {
    /// Closed loop: broadcasts outstanding.
    Window(u64),
    /// Open loop: time between broadcasts.
    Every(Duration),
}

async fn send_loop(mut ws: Ws, pace: Pace, pad: usize, probes: u64, s: Shared) {
    if let Err(e) = send_loop_inner(&mut ws, pace, pad, probes, &s).await {
        s.failed(&e);
    }
}

async fn send_loop_inner(
    ws: &mut Ws,
    pace: Pace,
    pad: usize,
    probes: u64,
    s: &Shared,
) -> Result<()> {
    let base = s.base.load(Ordering::Relaxed);
    // Acknowledgement ids go on from the probes'.
    let mut id = probes;
    match pace {
        Pace::Window(window) => loop {
            if !s.phase.stopped() {
                let done = (s.delivered.load(Ordering::Relaxed) - base) / s.total;
                while id - probes < window + done {
                    id += 1;
                    send(ws, id, pad, s).await?;
                }
            }
            tokio::select! {
                frame = ws.next() => on_sender_frame(ws, frame, s).await?,
                _ = s.complete.notified() => {}
            }
        },
        Pace::Every(period) => {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
            loop {
                tokio::select! {
                    frame = ws.next() => on_sender_frame(ws, frame, s).await?,
                    _ = ticks.tick(), if !s.phase.stopped() => {
                        id += 1;
                        send(ws, id, pad, s).await?;
                    }
                }
            }
        }
    }
}

/// Sends broadcast `id`, counted if measuring.
async fn send(ws: &mut Ws, id: u64, pad: usize, s: &Shared) -> Result<()> {
    if s.phase.measuring() {
        s.broadcasts.add(1);
    }
    Ok(ws.send(broadcast(id, pad)).await?)
}

/// Broadcast `id`, stamped now, its pad of `pad` bytes marked with the
/// stamp, so that its message on Redis can be found too.
fn broadcast(id: u64, pad: usize) -> Message {
    let t = clock::now_ns();
    Message::text(sio::event_with_ack(
        "broadcast",
        id,
        t,
        &sio::marked_padding(t, pad),
    ))
}

/// A frame of the sender, a socket of the first server.
async fn on_sender_frame(
    ws: &mut Ws,
    frame: Option<std::result::Result<Message, tokio_tungstenite::tungstenite::Error>>,
    s: &Shared,
) -> Result<()> {
    match frame {
        Some(Ok(Message::Text(text))) => s.on_frame(ws, 0, &text).await,
        Some(Ok(Message::Close(_))) | None => Err(err!("connection closed")),
        Some(Ok(_)) => Ok(()),
        Some(Err(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_frames_of_each_broadcast() {
        let seen = FirstSeen::default();
        // In order, then an earlier broadcast after a later one, and copies
        // of each.
        let frames = [10, 10, 20, 10, 20, 15, 30, 15, 30, 20];
        let firsts: Vec<u64> = frames.into_iter().filter(|t| seen.first(*t)).collect();
        assert_eq!(firsts, [10, 20, 15, 30]);
    }
}
