//! Broadcast fan-out: `clients` sockets are connected; the first also sends
//! `broadcast` events (asking for an ack), and the server emits each to
//! every socket, the sender included. A delivery is one socket receiving one
//! broadcast.
//!
//! - Closed loop (no rate): at most `window` broadcasts' worth of deliveries
//!   outstanding: broadcast `k` leaves once `k - window` broadcasts' worth of
//!   deliveries (`clients` each) have arrived. Throughput is the server's
//!   (or the generator's) limit.
//! - Open loop (`rate` deliveries/s): broadcasts leave at `rate / clients`
//!   per second whatever the deliveries do.
//!
//! Latency: fan-out latency, from the sending of a broadcast to each
//! delivery, read from the timestamp in the payload.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
use tokio::{sync::Notify, task::JoinSet, time::MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use super::{connect_all, stop, Params};
use crate::{
    cli::{err, Result},
    clock,
    measure::{self, Counter, Latencies, Measurement, Phase},
    sio::{self, Incoming, Ws},
};

pub(crate) async fn run(p: &Params) -> Result<Measurement> {
    let clients = p.clients.max(1);
    let mut conns = connect_all(p, clients).await?;
    let shared = Shared {
        phase: Arc::new(Phase::default()),
        measured: Counter::default(),
        delivered: Arc::new(AtomicU64::new(0)),
        complete: Arc::new(Notify::new()),
        clients: clients as u64,
        errors: Counter::default(),
        latencies: Latencies::new(),
    };
    let sender = conns.remove(0);
    let mut tasks = JoinSet::new();
    for ws in conns {
        tasks.spawn(receiver(ws, shared.clone()));
    }
    let pad = sio::padding(p.payload);
    let pace = match p.rate {
        None => Pace::Window(p.window.max(1) as u64),
        Some(rate) => Pace::Every(Duration::from_secs_f64(clients as f64 / rate)),
    };
    tasks.spawn(send_loop(sender, pace, pad, shared.clone()));
    let window =
        measure::window(&shared.phase, &shared.measured, p.pid, p.warmup, p.duration).await;
    stop(tasks).await;
    let mut m = window.measurement("broadcast", &shared.latencies);
    m.errors = shared.errors.get();
    Ok(m)
}

#[derive(Clone)]
struct Shared {
    phase: Arc<Phase>,
    /// Deliveries while measuring.
    measured: Counter,
    /// Deliveries since the start.
    delivered: Arc<AtomicU64>,
    /// Woken each time `delivered` reaches a multiple of `clients`.
    complete: Arc<Notify>,
    clients: u64,
    errors: Counter,
    latencies: Latencies,
}

impl Shared {
    /// Handles a frame of any socket (the sender's too).
    async fn on_frame(&self, ws: &mut Ws, text: &str) -> Result<()> {
        match sio::classify(text) {
            Incoming::Event(t) => {
                let before = self.delivered.fetch_add(1, Ordering::Relaxed);
                if (before + 1) % self.clients == 0 {
                    self.complete.notify_one();
                }
                if self.phase.measuring() {
                    self.measured.add(1);
                    if let Some(t) = t {
                        self.latencies.record_since(t);
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
            eprintln!("broadcast connection failed: {e}");
        }
    }
}

async fn receiver(mut ws: Ws, s: Shared) {
    loop {
        let r = match sio::next_text(&mut ws).await {
            Ok(text) => s.on_frame(&mut ws, &text).await,
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            s.failed(&e);
            return;
        }
    }
}

enum Pace {
    /// Closed loop: broadcasts outstanding.
    Window(u64),
    /// Open loop: time between broadcasts.
    Every(Duration),
}

async fn send_loop(mut ws: Ws, pace: Pace, pad: String, s: Shared) {
    if let Err(e) = send_loop_inner(&mut ws, pace, &pad, &s).await {
        s.failed(&e);
    }
}

async fn send_loop_inner(ws: &mut Ws, pace: Pace, pad: &str, s: &Shared) -> Result<()> {
    let event = |id| Message::text(sio::event_with_ack("broadcast", id, clock::now_ns(), pad));
    let mut sent = 0;
    match pace {
        Pace::Window(window) => loop {
            if !s.phase.stopped() {
                while sent < window + s.delivered.load(Ordering::Relaxed) / s.clients {
                    sent += 1;
                    ws.send(event(sent)).await?;
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
                        sent += 1;
                        ws.send(event(sent)).await?;
                    }
                }
            }
        }
    }
}

async fn on_sender_frame(
    ws: &mut Ws,
    frame: Option<std::result::Result<Message, tokio_tungstenite::tungstenite::Error>>,
    s: &Shared,
) -> Result<()> {
    match frame {
        Some(Ok(Message::Text(text))) => s.on_frame(ws, &text).await,
        Some(Ok(Message::Close(_))) | None => Err(err!("connection closed")),
        Some(Ok(_)) => Ok(()),
        Some(Err(e)) => Err(e.into()),
    }
}
