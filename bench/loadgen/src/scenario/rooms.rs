//! Rooms (issue 19, scenario 3): `conns` sockets, each joining a room of
//! its own (`u<i>`) and one of `shared_rooms` shared rooms (`g<i mod
//! shared>`) by `join` events; then, in measured windows one after the
//! other, on the same sockets:
//!
//! 1. **echo**: the first `churners` sockets emit `echo` with an ack at
//!    `rate` events/s in all (open loop): the server CPU of an echo ack
//!    with every membership in place;
//! 2. **churn**: the same sockets, at the same rate, alternately `join` a
//!    room nobody else is in (`c<i>-<k>`, fresh each time) and `leave` it,
//!    each with an ack: the server CPU of one join or leave, the ack
//!    latency;
//! 3. **churn with room broadcasts**: the churn goes on, and the last
//!    socket emits `to_room` (a random shared room, a timestamped payload)
//!    at `room_rate`/s; the server emits `room` to that room's sockets,
//!    and the latency is taken from the sending to each delivery.
//!
//! Then `join_all`: the server joins every socket of the main namespace to
//! one room, timing that itself, and a `to_room` to that room must reach
//! every socket. Every socket answers the server's pings throughout.
//!
//! The sockets' own sid rooms exist before the joins and are not counted
//! as memberships.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, AtomicU8, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use futures_util::SinkExt;
use tokio::{
    task::JoinSet,
    time::{Interval, MissedTickBehavior},
};
use tokio_tungstenite::tungstenite::Message;

use super::{connect_all, stop, Params};
use crate::{
    cli::{err, Result},
    clock,
    measure::{self, Counter, Latencies, Measurement, Phase, RoomsRun},
    procfs,
    rng::Rng,
    sio::{self, Incoming, Ws},
};

/// Join and leave events per second over the churning sockets, and the
/// echo rate they are compared with, when `--rate` is not given.
pub(crate) const DEFAULT_RATE: f64 = 10_000.0;

/// How long the sockets have for their joins, the last room broadcasts
/// to arrive after the windows, and `join_all` with its broadcast.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
const JOIN_ALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The room `join_all` joins every socket to.
const EVERYONE: &str = "all";

/// Where the run is; every task reads it at each tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Stage {
    Setup,
    Echo,
    Churn,
    ChurnRooms,
    Drain,
    JoinAll,
}

impl Stage {
    const ALL: [Stage; 6] = [
        Stage::Setup,
        Stage::Echo,
        Stage::Churn,
        Stage::ChurnRooms,
        Stage::Drain,
        Stage::JoinAll,
    ];

    /// The measured window of this stage, an index into the windows.
    fn window(self) -> Option<usize> {
        match self {
            Stage::Echo => Some(0),
            Stage::Churn => Some(1),
            Stage::ChurnRooms => Some(2),
            _ => None,
        }
    }
}

/// What every socket's task shares.
struct State {
    stage: AtomicU8,
    shared_rooms: usize,
    sockets: usize,
    pad: String,
    /// The three windows: their phase, the churners' acks in each, and
    /// those acks' latency.
    phases: [Phase; 3],
    acks: [Counter; 3],
    ack_latency: [Latencies; 3],
    /// Acks of the setup's joins.
    joined: Counter,
    errors: Counter,
    /// Room broadcasts: sent in the window, the deliveries all of them
    /// owe and those that came, and the latency of those in the window.
    room_measured: Counter,
    room_expected: Counter,
    room_delivered: Counter,
    room_latency: Latencies,
    /// `join_all`: the server's time (µs) and the round trip (ms); then
    /// the `to_room` to everyone: when it left, its deliveries, the last.
    join_all: Mutex<Option<(f64, f64)>>,
    all_sent_ns: AtomicU64,
    all_delivered: Counter,
    all_last_ns: AtomicU64,
}

impl State {
    fn new(sockets: usize, shared_rooms: usize, pad: String) -> Self {
        State {
            stage: AtomicU8::new(Stage::Setup as u8),
            shared_rooms,
            sockets,
            pad,
            phases: Default::default(),
            acks: Default::default(),
            ack_latency: [Latencies::new(), Latencies::new(), Latencies::new()],
            joined: Counter::default(),
            errors: Counter::default(),
            room_measured: Counter::default(),
            room_expected: Counter::default(),
            room_delivered: Counter::default(),
            room_latency: Latencies::new(),
            join_all: Mutex::new(None),
            all_sent_ns: AtomicU64::new(0),
            all_delivered: Counter::default(),
            all_last_ns: AtomicU64::new(0),
        }
    }

    fn stage(&self) -> Stage {
        let v = self.stage.load(Ordering::Relaxed);
        Stage::ALL
            .into_iter()
            .find(|s| *s as u8 == v)
            .unwrap_or(Stage::Setup)
    }

    fn set_stage(&self, stage: Stage) {
        self.stage.store(stage as u8, Ordering::Relaxed);
    }

    /// Sockets in shared room `k`: those whose index is `k` modulo the
    /// shared rooms.
    fn members(&self, k: usize) -> u64 {
        let (n, r) = (self.sockets, self.shared_rooms);
        (n / r + usize::from(k < n % r)) as u64
    }
}

/// What a socket does besides reading and answering pings.
#[derive(Debug, Clone, Copy)]
enum Role {
    Member,
    /// Echo, then join and leave, every `period` from `offset`.
    Churner {
        period: Duration,
        offset: Duration,
    },
    /// Room broadcasts every `period`, then `join_all`.
    Sender {
        period: Duration,
    },
}

pub(crate) async fn run(p: &Params) -> Result<Measurement> {
    let n = p.conns.max(2);
    let shared_rooms = p.shared_rooms.clamp(1, n);
    let churners = p.churners.clamp(1, n - 1);
    let rate = p.rate.unwrap_or(DEFAULT_RATE);
    let room_rate = p.room_rate;
    if !(rate > 0.0 && room_rate > 0.0) {
        return Err(err!(
            "rooms: the churn rate ({rate}) and the room broadcasts' ({room_rate}) must be positive"
        ));
    }
    let conns = connect_all(p, n).await?;
    tokio::time::sleep(p.settle).await;
    let rss = || p.pid.and_then(|pid| procfs::rss_kib(pid).ok());
    let rss_before = rss();

    let state = Arc::new(State::new(n, shared_rooms, sio::padding(p.payload)));
    let churn_period = Duration::from_secs_f64(churners as f64 / rate);
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for (i, ws) in conns.into_iter().enumerate() {
        let role = if i < churners {
            Role::Churner {
                period: churn_period,
                // Spread the churners' schedules over one period.
                offset: churn_period.mul_f64(i as f64 / churners as f64),
            }
        } else if i == n - 1 {
            Role::Sender {
                period: Duration::from_secs_f64(1.0 / room_rate),
            }
        } else {
            Role::Member
        };
        tasks.spawn(socket_task(ws, i, role, state.clone()));
    }
    let memberships = 2 * n as u64;
    if !until(SETUP_TIMEOUT, || state.joined.get() >= memberships).await {
        stop(tasks).await;
        return Err(err!(
            "{} of {memberships} joins acknowledged after {} s",
            state.joined.get(),
            SETUP_TIMEOUT.as_secs()
        ));
    }
    let setup_joins_per_s = memberships as f64 / started.elapsed().as_secs_f64();
    tokio::time::sleep(p.settle).await;
    let rss_after = rss();

    let mut windows = Vec::with_capacity(3);
    for (k, stage) in [Stage::Echo, Stage::Churn, Stage::ChurnRooms]
        .into_iter()
        .enumerate()
    {
        state.set_stage(stage);
        let w = measure::window(
            &state.phases[k],
            &state.acks[k],
            p.pid,
            p.warmup,
            p.duration,
        )
        .await;
        windows.push(w);
    }
    state.set_stage(Stage::Drain);
    until(DRAIN_TIMEOUT, || {
        state.room_delivered.get() >= state.room_expected.get()
    })
    .await;
    state.set_stage(Stage::JoinAll);
    let everyone = until(JOIN_ALL_TIMEOUT, || state.all_delivered.get() >= n as u64).await;
    stop(tasks).await;

    let [echo, churn, with_rooms] = [windows[0], windows[1], windows[2]];
    let mut m = churn.measurement("rooms", &state.ack_latency[1]);
    let missing = state
        .room_expected
        .get()
        .saturating_sub(state.room_delivered.get());
    m.errors = state.errors.get() + missing + u64::from(!everyone);
    let room = state.room_latency.percentiles_ms();
    let join_all = *state.join_all.lock().unwrap_or_else(|e| e.into_inner());
    let all_last = state.all_last_ns.load(Ordering::Relaxed);
    let all_sent = state.all_sent_ns.load(Ordering::Relaxed);
    m.rooms = Some(RoomsRun {
        sockets: n,
        shared_rooms,
        memberships,
        setup_joins_per_s,
        rss_kib_before_joins: rss_before,
        rss_kib_after_joins: rss_after,
        rss_bytes_per_membership: rss_before
            .zip(rss_after)
            .map(|(a, b)| (b as f64 - a as f64) * 1024.0 / memberships as f64),
        rate,
        echo_acks: echo.ops,
        echo_cpu_us_per_ack: echo.server_cpu_us_per_op(),
        echo_p99_ms: state.ack_latency[0].percentiles_ms().map(|p| p[1]),
        churn_cpu_over_echo: churn
            .server_cpu_us_per_op()
            .zip(echo.server_cpu_us_per_op())
            .filter(|(_, e)| *e > 0.0)
            .map(|(c, e)| c / e),
        room_rate,
        room_broadcasts: state.room_measured.get(),
        room_deliveries_expected: state.room_expected.get(),
        room_deliveries_missing: missing,
        room_p50_ms: room.map(|p| p[0]),
        room_p99_ms: room.map(|p| p[1]),
        room_p999_ms: room.map(|p| p[2]),
        churn_ops_with_rooms: with_rooms.ops,
        churn_cpu_us_per_op_with_rooms: with_rooms.server_cpu_us_per_op(),
        join_all_server_us: join_all.map(|j| j.0),
        join_all_round_trip_ms: join_all.map(|j| j.1),
        join_all_reached: state.all_delivered.get(),
        join_all_last_delivery_ms: (all_sent > 0 && all_last >= all_sent)
            .then(|| (all_last - all_sent) as f64 / 1e6),
    });
    Ok(m)
}

/// Polls `done` every 5 ms until it holds (true) or `limit` passes (false).
async fn until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let end = Instant::now() + limit;
    let mut poll = tokio::time::interval(Duration::from_millis(5));
    while !done() {
        if Instant::now() > end {
            return false;
        }
        poll.tick().await;
    }
    true
}

async fn socket_task(mut ws: Ws, i: usize, role: Role, s: Arc<State>) {
    let mut socket = Socket {
        i,
        role,
        next_id: 0,
        pending: HashMap::new(),
        joined: None,
        fresh: 0,
        rng: Rng::new(i as u64 + 1),
        join_all_id: None,
    };
    if let Err(e) = socket.drive(&mut ws, &s).await {
        s.errors.add(1);
        eprintln!("rooms: socket {i} failed: {e}");
    }
}

/// One socket's state.
struct Socket {
    i: usize,
    role: Role,
    next_id: u64,
    /// Acks awaited whose arguments carry no timestamp: id → sent at.
    pending: HashMap<u64, u64>,
    /// A churner's fresh room while it is in it.
    joined: Option<String>,
    fresh: u64,
    rng: Rng,
    /// The sender's `join_all`: its ack id and when it left.
    join_all_id: Option<(u64, u64)>,
}

impl Socket {
    async fn drive(&mut self, ws: &mut Ws, s: &State) -> Result<()> {
        let own = format!("u{}", self.i);
        let shared = format!("g{}", self.i % s.shared_rooms);
        self.send_room_event(ws, "join", &own).await?;
        self.send_room_event(ws, "join", &shared).await?;
        let mut ticks = match self.role {
            Role::Member => None,
            Role::Churner { period, offset } => Some(tokio::time::interval_at(
                tokio::time::Instant::now() + offset,
                period,
            )),
            Role::Sender { period } => Some(tokio::time::interval(period)),
        };
        if let Some(t) = ticks.as_mut() {
            // A late generator catches up, so the rate holds on average.
            t.set_missed_tick_behavior(MissedTickBehavior::Burst);
        }
        loop {
            tokio::select! {
                text = sio::next_text(ws) => self.on_frame(ws, &text?, s).await?,
                _ = tick(&mut ticks) => self.on_tick(ws, s).await?,
            }
        }
    }

    /// `42<id>["<event>","<room>"]`, its ack awaited.
    async fn send_room_event(&mut self, ws: &mut Ws, event: &str, room: &str) -> Result<u64> {
        self.next_id += 1;
        let id = self.next_id;
        self.pending.insert(id, clock::now_ns());
        ws.send(Message::text(format!(r#"42{id}["{event}","{room}"]"#)))
            .await?;
        Ok(id)
    }

    /// `42<id>["to_room","<room>",<payload>]`.
    async fn send_to_room(&mut self, ws: &mut Ws, room: &str, payload: &str) -> Result<()> {
        self.next_id += 1;
        let id = self.next_id;
        ws.send(Message::text(format!(
            r#"42{id}["to_room","{room}",{payload}]"#
        )))
        .await?;
        Ok(())
    }

    async fn on_tick(&mut self, ws: &mut Ws, s: &State) -> Result<()> {
        let stage = s.stage();
        match (self.role, stage) {
            (Role::Churner { .. }, Stage::Echo) => {
                self.next_id += 1;
                let event = sio::event_with_ack("echo", self.next_id, clock::now_ns(), &s.pad);
                ws.send(Message::text(event)).await?;
            }
            (Role::Churner { .. }, Stage::Churn | Stage::ChurnRooms) => match self.joined.take() {
                None => {
                    self.fresh += 1;
                    let room = format!("c{}-{}", self.i, self.fresh);
                    self.send_room_event(ws, "join", &room).await?;
                    self.joined = Some(room);
                }
                Some(room) => {
                    self.send_room_event(ws, "leave", &room).await?;
                }
            },
            (Role::Sender { .. }, Stage::ChurnRooms) => {
                let k = self.rng.below(s.shared_rooms);
                let payload = sio::argument(clock::now_ns(), &s.pad);
                self.send_to_room(ws, &format!("g{k}"), &payload).await?;
                s.room_expected.add(s.members(k));
                if s.phases[2].measuring() {
                    s.room_measured.add(1);
                }
            }
            (Role::Sender { .. }, Stage::JoinAll) if self.join_all_id.is_none() => {
                let sent = clock::now_ns();
                let id = self.send_room_event(ws, "join_all", EVERYONE).await?;
                self.join_all_id = Some((id, sent));
            }
            _ => {}
        }
        Ok(())
    }

    async fn on_frame(&mut self, ws: &mut Ws, text: &str, s: &State) -> Result<()> {
        match sio::classify(text) {
            Incoming::Ping => ws.send(sio::pong()).await?,
            Incoming::Event(t) => {
                let now = clock::now_ns();
                if text.contains(r#""all":1"#) {
                    s.all_delivered.add(1);
                    s.all_last_ns.fetch_max(now, Ordering::Relaxed);
                } else {
                    s.room_delivered.add(1);
                    if let (Some(t), true) = (t, s.phases[2].measuring()) {
                        s.room_latency.record_since(t);
                    }
                }
            }
            Incoming::Ack(t) => {
                let Some(id) = sio::ack_id(text) else {
                    return Ok(());
                };
                let sent = self.pending.remove(&id).or(t);
                if id <= 2 {
                    s.joined.add(1);
                } else if let Some((_, at)) = self.join_all_id.filter(|j| j.0 == id) {
                    self.on_join_all(ws, text, at, s).await?;
                } else if let (Role::Churner { .. }, Some(k)) = (self.role, s.stage().window()) {
                    if s.phases[k].measuring() {
                        s.acks[k].add(1);
                        if let Some(sent) = sent {
                            s.ack_latency[k].record_since(sent);
                        }
                    }
                }
            }
            Incoming::Other => {}
        }
        Ok(())
    }

    /// The ack of `join_all` (`43<id>[<µs>]`): keeps the times, then sends
    /// a `to_room` to everyone.
    async fn on_join_all(&mut self, ws: &mut Ws, text: &str, sent: u64, s: &State) -> Result<()> {
        let round_trip_ms = clock::now_ns().saturating_sub(sent) as f64 / 1e6;
        let server_us = text
            .split_once('[')
            .and_then(|(_, rest)| rest.trim_end_matches(']').parse::<f64>().ok())
            .ok_or_else(|| err!("join_all: expected the server's time in its ack, got {text}"))?;
        *s.join_all.lock().unwrap_or_else(|e| e.into_inner()) = Some((server_us, round_trip_ms));
        let now = clock::now_ns();
        s.all_sent_ns.store(now, Ordering::Relaxed);
        self.send_to_room(ws, EVERYONE, &format!(r#"{{"t":{now},"all":1}}"#))
            .await
    }
}

/// The next tick of a socket that has a schedule; never for one without.
async fn tick(ticks: &mut Option<Interval>) {
    match ticks {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_rooms_split_the_sockets() {
        let s = State::new(10, 3, String::new());
        assert_eq!([s.members(0), s.members(1), s.members(2)], [4, 3, 3]);
        for stage in Stage::ALL {
            s.set_stage(stage);
            assert_eq!(s.stage(), stage);
        }
        assert_eq!(Stage::ChurnRooms.window(), Some(2));
        assert_eq!(Stage::Drain.window(), None);
    }
}
