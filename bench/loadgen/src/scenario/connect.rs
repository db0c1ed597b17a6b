//! Connect storm, then idle memory: `conns` sockets join the main namespace
//! (WebSocket upgrade, or WebTransport session and stream, then Engine.IO
//! open and Socket.IO connect), `in_flight` handshakes at a time, and stay
//! connected and idle.
//!
//! Throughput: connections per second over the storm; latency: each
//! handshake's duration; server CPU per connection; and the server's RSS
//! per idle connection, `(RSS with all connected - RSS before) / conns`,
//! RSS read from `/proc/<pid>/status` after `settle`. Before the storm, 100
//! connections are opened and closed, as a warm-up.

use std::time::Instant;

use super::{dial_many, Params};
use crate::{
    cli::{err, Result},
    conn::Dialer,
    measure::{Latencies, Measurement, Window},
    procfs,
};

/// Connections opened and closed before the storm.
const WARM_UP: usize = 100;

/// A hundred connections opened and closed, then the server's RSS: what is
/// allocated once (runtime, namespace, first buffers) goes into the
/// baseline, not the increment, and a JIT (Node's) has seen the handshake
/// path. The baseline of the storms of `connect` and `idle`.
pub(crate) async fn warm_up(p: &Params) -> Result<Option<u64>> {
    let dialer = Dialer::new(
        p.transport,
        p.addr,
        WARM_UP,
        1,
        p.cert_hash.as_deref(),
        p.endpoints,
    )
    .await?;
    let warm = dial_many(&dialer, WARM_UP, p.in_flight, &Latencies::new()).await;
    drop((warm, dialer));
    tokio::time::sleep(p.settle / 4).await;
    Ok(p.pid.map(procfs::rss_kib).transpose()?)
}

pub(crate) async fn run(p: &Params) -> Result<Measurement> {
    let rss_before = warm_up(p).await?;
    let dialer = p.dialer(p.conns).await?;

    let latencies = Latencies::new();
    let start = Instant::now();
    let server_cpu0 = p.pid.map(procfs::cpu_seconds).transpose()?;
    let own_cpu0 = procfs::cpu_seconds(std::process::id())?;
    let (conns, failed) = dial_many(&dialer, p.conns, p.in_flight, &latencies).await;
    let server_cpu1 = p.pid.map(procfs::cpu_seconds).transpose()?;
    let own_cpu1 = procfs::cpu_seconds(std::process::id())?;
    let seconds = start.elapsed().as_secs_f64();

    tokio::time::sleep(p.settle).await;
    let rss_after = p.pid.map(procfs::rss_kib).transpose()?;
    let connected = conns.len();
    drop(conns);
    if connected == 0 {
        return Err(err!("no connection succeeded"));
    }

    let window = Window {
        ops: connected as u64,
        seconds,
        server_cpu: server_cpu0.zip(server_cpu1).map(|(a, b)| b - a),
        own_cpu: own_cpu1 - own_cpu0,
    };
    let mut m = window.measurement("connect", &latencies);
    m.errors = failed;
    m.rss_kib_per_conn = rss_before
        .zip(rss_after)
        .map(|(a, b)| (b as f64 - a as f64) / connected as f64);
    Ok(m)
}
