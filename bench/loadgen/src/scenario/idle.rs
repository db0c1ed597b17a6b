//! Idle connections at scale (issue 19, scenario 2), over WebSocket or,
//! with `--transport webtransport`, WebTransport (issue 14): a connect storm
//! of `conns` sockets, then a measured idle window in which they stay open
//! and answer the server's Engine.IO pings, as a real client does, so that
//! the heartbeats and their timers run.
//!
//! Reports, as [`connect`](super::connect) does, the connections per
//! second over the storm and the server's RSS per connection, `(RSS after
//! settle - RSS before the storm) / conns`; then, over the idle window, the
//! server's CPU as a share of one core, the pings answered and the server
//! CPU per heartbeat (one ping written, one pong read and its timer
//! re-armed), and the RSS per connection at the end of the window.
//!
//! Each socket starts answering pings as soon as it has joined, so that a
//! slow storm (longer than a heartbeat period) loses no connection to the
//! server's ping timeout.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Instant,
};

use tokio::task::JoinSet;

use super::{dial_each, OnOpen, Params};
use crate::{
    cli::{err, Result},
    conn::{Conn, Transport},
    measure::{Counter, IdleWindow, Latencies, Measurement, Window},
    procfs, sio,
};

/// Descriptors a process needs besides its connections (standard streams,
/// listener, epoll, eventfds; Node's libuv has a few more).
const SPARE_FDS: u64 = 64;

pub(crate) async fn run(p: &Params) -> Result<Measurement> {
    // A WebTransport session holds no descriptor: every session of a
    // client endpoint, and every session of the server, share one UDP socket.
    if p.transport == Transport::WebSocket {
        check_fd_limits(p)?;
    }
    let rss_before = super::connect::warm_up(p).await?;
    let dialer = p.dialer(p.conns).await?;

    let tasks = Arc::new(Mutex::new(JoinSet::new()));
    let (pings, closed) = (Counter::default(), Counter::default());
    // 0 until the first open packet says what the server's period is.
    let ping_interval_ms = Arc::new(AtomicU64::new(0));
    let on_open: OnOpen = {
        let (tasks, pings, closed) = (tasks.clone(), pings.clone(), closed.clone());
        let ping_interval_ms = ping_interval_ms.clone();
        Arc::new(move |ws, open| {
            if let Some(ms) = sio::number_field(&open, "pingInterval") {
                ping_interval_ms.store(ms, Ordering::Relaxed);
            }
            let task = answer_pings(ws, pings.clone(), closed.clone());
            lock(&tasks).spawn(task);
        })
    };

    let latencies = Latencies::new();
    let start = Instant::now();
    let server_cpu0 = p.pid.map(procfs::cpu_seconds).transpose()?;
    let own_cpu0 = procfs::cpu_seconds(std::process::id())?;
    let failed = dial_each(&dialer, p.conns, p.in_flight, &latencies, on_open).await;
    let server_cpu1 = p.pid.map(procfs::cpu_seconds).transpose()?;
    let own_cpu1 = procfs::cpu_seconds(std::process::id())?;
    let seconds = start.elapsed().as_secs_f64();
    let connected = p.conns - failed as usize;
    if connected == 0 {
        return Err(err!("no connection succeeded"));
    }

    tokio::time::sleep(p.settle).await;
    let rss_after = p.pid.map(procfs::rss_kib).transpose()?;

    // The idle window.
    let (pings0, closed0) = (pings.get(), closed.get());
    let idle_start = Instant::now();
    let server_idle0 = p.pid.map(procfs::cpu_user_system).transpose()?;
    let own_idle0 = procfs::cpu_seconds(std::process::id())?;
    tokio::time::sleep(p.idle).await;
    let server_idle1 = p.pid.map(procfs::cpu_user_system).transpose()?;
    let own_idle1 = procfs::cpu_seconds(std::process::id())?;
    let idle_seconds = idle_start.elapsed().as_secs_f64();
    let (pings1, closed1) = (pings.get(), closed.get());
    let rss_end = p.pid.map(procfs::rss_kib).transpose()?;

    let mut set = std::mem::take(&mut *lock(&tasks));
    set.shutdown().await;

    let window = Window {
        ops: connected as u64,
        seconds,
        server_cpu: server_cpu0.zip(server_cpu1).map(|(a, b)| b - a),
        own_cpu: own_cpu1 - own_cpu0,
    };
    let mut m = window.measurement("idle", &latencies);
    // Failed handshakes, and connections lost before the window.
    m.errors = failed + closed0;
    let per_conn = |rss: Option<u64>| {
        rss_before
            .zip(rss)
            .map(|(a, b)| (b as f64 - a as f64) / connected as f64)
    };
    m.rss_kib_per_conn = per_conn(rss_after);
    let heartbeats = pings1 - pings0;
    let idle_split = server_idle0
        .zip(server_idle1)
        .map(|(a, b)| (b.0 - a.0, b.1 - a.1));
    let idle_cpu = idle_split.map(|(user, system)| user + system);
    m.idle = Some(IdleWindow {
        seconds: idle_seconds,
        ping_interval_ms: match ping_interval_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(ms),
        },
        heartbeats,
        server_cpu_util: idle_cpu.map(|c| c / idle_seconds),
        server_system_share: idle_split
            .filter(|(user, system)| user + system > 0.0)
            .map(|(user, system)| system / (user + system)),
        server_cpu_us_per_heartbeat: idle_cpu
            .filter(|_| heartbeats > 0)
            .map(|c| c * 1e6 / heartbeats as f64),
        rss_kib_per_conn_end: per_conn(rss_end),
        generator_cpu_util: (own_idle1 - own_idle0) / idle_seconds,
        closed: closed1 - closed0,
    });
    Ok(m)
}

/// Reads the socket until it closes, answering each Engine.IO ping with a
/// pong; counts the pings, and the socket in `closed` if the server (or the
/// network) ended it.
async fn answer_pings(mut ws: Conn, pings: Counter, closed: Counter) {
    loop {
        match ws.next_text().await {
            Ok(text) if &*text == "2" => {
                pings.add(1);
                if ws.pong().await.is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    closed.add(1);
}

/// Fails before the storm if this process or the server cannot open a
/// descriptor per connection: a storm that stops at the limit would
/// measure the limit.
fn check_fd_limits(p: &Params) -> Result<()> {
    let needed = p.conns as u64 + SPARE_FDS;
    let own = procfs::max_open_files(std::process::id())?;
    if own < needed {
        return Err(err!(
            "{} connections need about {needed} open files; this process may open {own} \
             (ulimit -n; raising the hard limit needs CAP_SYS_RESOURCE)",
            p.conns
        ));
    }
    if let Some(pid) = p.pid {
        let server = procfs::max_open_files(pid)?;
        if server < needed {
            return Err(err!(
                "{} connections need about {needed} open files; the server may open {server}",
                p.conns
            ));
        }
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
