//! Echo with acknowledgement over WebSocket, or WebTransport with
//! `--transport webtransport`: each connection emits `echo` asking for an
//! ack; the server acks with the same argument.
//!
//! - Closed loop (no rate): each connection keeps `window` events awaiting
//!   their ack, and sends the next when one comes back. Throughput is the
//!   server's (or the generator's) limit.
//! - Open loop (`rate` acks/s over all connections): each connection sends
//!   on its own schedule whatever the answers do; the latency and the
//!   server's CPU time per ack are measured at a load every server carries.
//!
//! Latency: from just before the send to the ack's arrival, read from the
//! timestamp the argument carries.

use std::time::Duration;

use tokio::{task::JoinSet, time::MissedTickBehavior};

use super::{dial_all, EchoShared as Shared, Params};
use crate::{
    cli::Result,
    clock,
    conn::Conn,
    measure::Measurement,
    sio::{self, Incoming},
};

/// How long a connection waits for any frame before it counts as failed.
const SILENCE: Duration = Duration::from_secs(10);

pub(crate) async fn run(p: &Params) -> Result<Measurement> {
    let conns = dial_all(p, p.conns).await?;
    let shared = Shared::new(p);
    let mut tasks = JoinSet::new();
    let n = conns.len();
    for (i, ws) in conns.into_iter().enumerate() {
        let shared = shared.clone();
        match p.rate {
            None => tasks.spawn(closed_loop(ws, p.window.max(1), shared)),
            Some(rate) => {
                let period = Duration::from_secs_f64(n as f64 / rate);
                // Spread the connections' schedules over one period.
                let offset = period.mul_f64(i as f64 / n as f64);
                tasks.spawn(open_loop(ws, period, offset, shared))
            }
        };
    }
    Ok(shared.measure(p, tasks, "echo").await)
}

impl Shared {
    fn event(&self, id: u64) -> String {
        sio::event_with_ack("echo", id, clock::now_ns(), &self.pad)
    }

    /// Handles a frame; true for an acknowledgement.
    async fn on_frame(&self, ws: &mut Conn, text: &str) -> Result<bool> {
        match sio::classify(text) {
            Incoming::Ack(t) => {
                if self.phase.measuring() {
                    self.acks.add(1);
                    if let Some(t) = t {
                        self.latencies.record_since(t);
                    }
                }
                Ok(true)
            }
            Incoming::Ping => {
                ws.pong().await?;
                Ok(false)
            }
            _ => Ok(false),
        }
    }
}

async fn closed_loop(mut ws: Conn, window: usize, s: Shared) {
    if let Err(e) = closed_loop_inner(&mut ws, window, &s).await {
        s.errors.add(1);
        if !s.phase.stopped() {
            eprintln!("echo connection failed: {e}");
        }
    }
}

async fn closed_loop_inner(ws: &mut Conn, window: usize, s: &Shared) -> Result<()> {
    let mut id = 0;
    for _ in 0..window {
        id += 1;
        ws.send_text(s.event(id)).await?;
    }
    while !s.phase.stopped() {
        let text = tokio::time::timeout(SILENCE, ws.next_text())
            .await
            .map_err(|_| crate::cli::err!("no answer for {SILENCE:?}"))??;
        if s.on_frame(ws, &text).await? && !s.phase.stopped() {
            id += 1;
            ws.send_text(s.event(id)).await?;
        }
    }
    Ok(())
}

async fn open_loop(mut ws: Conn, period: Duration, offset: Duration, s: Shared) {
    if let Err(e) = open_loop_inner(&mut ws, period, offset, &s).await {
        s.errors.add(1);
        if !s.phase.stopped() {
            eprintln!("echo connection failed: {e}");
        }
    }
}

async fn open_loop_inner(
    ws: &mut Conn,
    period: Duration,
    offset: Duration,
    s: &Shared,
) -> Result<()> {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
    // A late generator catches up, so the rate holds on average.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut id = 0;
    while !s.phase.stopped() {
        tokio::select! {
            text = ws.next_text() => {
                let text = text?;
                s.on_frame(ws, &text).await?;
            }
            _ = ticks.tick() => {
                id += 1;
                ws.send_text(s.event(id)).await?;
            }
        }
    }
    Ok(())
}
