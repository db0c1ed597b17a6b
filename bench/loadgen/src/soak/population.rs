//! The population: one slot per client of the target, each running clients
//! one after the other (connect, talk for a random lifetime, leave in one of
//! three ways) until the run stops; the counters they share. Their random
//! numbers come from [`Rng`], so that a run can be repeated with `--seed`.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::sync::{watch, Semaphore};

use super::{polling, ws, Plan};
pub(super) use crate::rng::Rng;
use crate::{measure::Counter, scenario};

/// The server's heartbeat, read from its Engine.IO open packet.
#[derive(Debug, Clone, Copy)]
pub(super) struct Heartbeat {
    pub(super) interval: Duration,
    pub(super) timeout: Duration,
}

impl Heartbeat {
    /// How long the server may take to close a session whose client went
    /// silent: a ping comes within `interval`, and the session closes
    /// `timeout` after it; plus a quarter (2 s at least) for a busy machine.
    pub(super) fn bound(&self) -> Duration {
        let nominal = self.interval + self.timeout;
        nominal + (nominal / 4).max(Duration::from_secs(2))
    }
}

/// How a client leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Exit {
    /// Socket.IO DISCONNECT (`41`), Engine.IO close (`1`), then waits for the
    /// server to close the connection.
    Clean,
    /// Closes its TCP connections without a word. Over WebSocket the server
    /// sees the connection end; over polling, the session stays until the
    /// heartbeat times it out.
    Drop,
    /// Stops answering pings but keeps reading: the server's heartbeat must
    /// close the session within [`Heartbeat::bound`].
    Silent,
}

/// What can go wrong, each counted apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    /// A connection or handshake failed.
    Connect,
    /// An ack was late, or did not answer its event.
    Ack,
    /// A broadcast was missing, out of order, or without its number.
    Broadcast,
    /// The server did not close a silent session in time, or sent nothing
    /// (not even a ping) for that long.
    Heartbeat,
    /// Anything else: a connection closed by the server, an I/O error.
    Other,
}

const FAULTS: usize = 5;

impl Fault {
    fn index(self) -> usize {
        self as usize
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Fault::Connect => "connection failures",
            Fault::Ack => "ack failures",
            Fault::Broadcast => "broadcast gaps",
            Fault::Heartbeat => "heartbeat failures",
            Fault::Other => "other errors",
        }
    }

    pub(super) const ALL: [Fault; FAULTS] = [
        Fault::Connect,
        Fault::Ack,
        Fault::Broadcast,
        Fault::Heartbeat,
        Fault::Other,
    ];
}

/// Faults of each kind printed before the rest are only counted.
const PRINTED: u64 = 5;

/// The counters of a run.
#[derive(Debug, Default)]
pub(super) struct Counts {
    pub(super) ws_connects: Counter,
    pub(super) polling_connects: Counter,
    pub(super) acks: Counter,
    pub(super) broadcasts_sent: Counter,
    pub(super) broadcasts_received: Counter,
    pub(super) clean: Counter,
    pub(super) dropped: Counter,
    pub(super) silent: Counter,
    /// Silent sessions the server closed within the bound.
    pub(super) timed_out: Counter,
    /// The longest a silent session took to be closed, ms.
    pub(super) slowest_timeout_ms: AtomicU64,
    faults: [Counter; FAULTS],
}

impl Counts {
    /// Counts a fault, and prints the first few of each kind.
    pub(super) fn fault(&self, kind: Fault, what: fmt::Arguments<'_>) {
        let before = self.faults[kind.index()].get();
        self.faults[kind.index()].add(1);
        if before < PRINTED {
            eprintln!("soak: {}: {what}", kind.name());
        } else if before == PRINTED {
            eprintln!("soak: more {}: counted, not printed", kind.name());
        }
    }

    pub(super) fn faults(&self, kind: Fault) -> u64 {
        self.faults[kind.index()].get()
    }

    pub(super) fn total_faults(&self) -> u64 {
        self.faults.iter().map(Counter::get).sum()
    }

    pub(super) fn timed_out_after(&self, d: Duration) {
        self.timed_out.add(1);
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.slowest_timeout_ms.fetch_max(ms, Ordering::Relaxed);
    }
}

/// What every client of a run shares.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) plan: Plan,
    pub(super) addr: SocketAddr,
    pub(super) heartbeat: Heartbeat,
    pub(super) pad: Arc<str>,
    /// Handshakes at once.
    pub(super) gate: Semaphore,
    pub(super) live_ws: AtomicUsize,
    pub(super) live_polling: AtomicUsize,
    pub(super) counts: Counts,
    stop: watch::Sender<bool>,
}

impl Shared {
    pub(super) fn new(plan: Plan, addr: SocketAddr, heartbeat: Heartbeat) -> Self {
        Shared {
            gate: Semaphore::new(plan.in_flight.max(1)),
            pad: Arc::from(crate::sio::padding(plan.payload)),
            plan,
            addr,
            heartbeat,
            live_ws: AtomicUsize::new(0),
            live_polling: AtomicUsize::new(0),
            counts: Counts::default(),
            stop: watch::channel(false).0,
        }
    }

    /// Tells every client to leave.
    pub(super) fn stop(&self) {
        self.stop.send_replace(true);
    }

    pub(super) fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Resolves once [`stop`](Self::stop) is called.
    pub(super) fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.stop.subscribe();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }

    /// Clients connected now: WebSocket, polling.
    pub(super) fn live(&self) -> (usize, usize) {
        (
            self.live_ws.load(Ordering::Relaxed),
            self.live_polling.load(Ordering::Relaxed),
        )
    }

    fn source(&self, slot: usize) -> Option<IpAddr> {
        let p = &self.plan;
        let sources = if p.sources == 0 {
            (p.ws + 2 * p.polling).div_ceil(scenario::PER_SOURCE)
        } else {
            p.sources
        };
        scenario::source_of(slot, sources)
    }
}

/// One client's draw: how long it stays, how it leaves, which room it joins.
#[derive(Debug, Clone, Copy)]
pub(super) struct Life {
    pub(super) source: Option<IpAddr>,
    pub(super) lifetime: Duration,
    pub(super) exit: Exit,
    pub(super) room: usize,
}

#[derive(Debug, Clone, Copy)]
enum Transport {
    WebSocket,
    Polling,
}

/// Runs clients in slot `slot` until the run stops.
async fn slot(slot: usize, transport: Transport, s: Arc<Shared>) {
    let p = &s.plan;
    let mut rng = Rng::new(p.seed ^ (slot as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    // The first lifetimes are spread from 0, so that the population does not
    // leave all at once.
    let mut lifetime = p.lifetime.mul_f64(1.5 * rng.unit());
    while !s.stopping() {
        let draw = rng.unit();
        let exit = if draw < p.drop {
            Exit::Drop
        } else if draw < p.drop + p.silent {
            Exit::Silent
        } else {
            Exit::Clean
        };
        let life = Life {
            source: s.source(slot),
            lifetime,
            exit,
            room: rng.below(p.rooms.max(1)),
        };
        let connected = match transport {
            Transport::WebSocket => ws::life(&s, life, rng.fork()).await,
            Transport::Polling => polling::life(&s, life, rng.fork()).await,
        };
        if !connected {
            // Not in a tight loop against a server that refuses.
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = s.stopped() => {}
            }
        }
        lifetime = p.lifetime.mul_f64(0.5 + rng.unit());
    }
}

/// The slots of the whole population, WebSocket ones first.
pub(super) fn spawn_all(s: &Arc<Shared>, tasks: &mut tokio::task::JoinSet<()>) {
    for i in 0..s.plan.ws {
        tasks.spawn(slot(i, Transport::WebSocket, s.clone()));
    }
    for i in 0..s.plan.polling {
        tasks.spawn(slot(s.plan.ws + i, Transport::Polling, s.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_sessions_get_a_quarter_more_than_the_heartbeat() {
        let h = Heartbeat {
            interval: Duration::from_secs(25),
            timeout: Duration::from_secs(20),
        };
        assert_eq!(h.bound(), Duration::from_millis(56_250));
        let short = Heartbeat {
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
        };
        assert_eq!(short.bound(), Duration::from_secs(6));
    }

    #[test]
    fn faults_are_counted_by_kind() {
        let c = Counts::default();
        for _ in 0..7 {
            c.fault(Fault::Ack, format_args!("late"));
        }
        assert_eq!(c.faults(Fault::Ack), 7);
        assert_eq!(c.faults(Fault::Other), 0);
        c.timed_out_after(Duration::from_millis(1500));
        c.timed_out_after(Duration::from_millis(900));
        assert_eq!(c.slowest_timeout_ms.load(Ordering::Relaxed), 1500);
    }
}
