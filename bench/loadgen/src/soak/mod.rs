//! `socketio-bench soak`: a large population of clients coming and going for
//! a long time, and the server process sampled from start to end, to show
//! that what the clients leave behind is given back.
//!
//! 1. **Cold baseline**: before any client, a sample of the server: RSS,
//!    open descriptors and threads from `/proc/<pid>`, tokio tasks alive and
//!    sockets from `bench_server`'s `GET /stats`.
//! 2. **Warm-up** (if asked): a cycle of clients as below (run, leave,
//!    drain), then the warm baseline: the memory the allocator kept from
//!    the first clients is in it, so that the end is compared with a state
//!    where that memory is already held.
//! 3. **Run**: an announcer connects (its open packet gives the server's
//!    heartbeat) and emits a numbered `broadcast` every `broadcast_every`;
//!    `ws` WebSocket and `polling` long-polling slots each run one client
//!    after the other. A client joins a room, emits `echo` with an ack now
//!    and then (the ack must answer it within `ack_timeout`), checks that
//!    the broadcasts arrive numbered without a gap, and after its lifetime
//!    leaves cleanly, drops its connections, or goes silent (stops answering
//!    pings; the server's heartbeat must close it); the slot then starts a
//!    new client. Samples every `sample_every`.
//! 4. **Leave**: every client leaves, each in its drawn way.
//! 5. **Drain**: until the server counts no socket (abandoned sessions time
//!    out) and its tasks and descriptors are back to the cold baseline's, at
//!    most `drain` (and at least the heartbeat's bound).
//! 6. **End**: `settle` later, the end sample. The report compares it with
//!    the baseline; the samples go to a CSV file and an SVG plot.

mod plot;
mod polling;
mod population;
mod report;
mod sample;
mod talk;
mod ws;

use std::{
    io::Write as _,
    net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener},
    process::Child,
    sync::Arc,
    time::Duration,
};

use tokio::{task::JoinSet, time::Instant};

use self::{
    population::{Fault, Heartbeat, Shared},
    report::{grouped, Outcome},
    sample::{Phase, Sampler},
};
use crate::{
    cli::{err, Args, Result},
    sio, suite,
};

/// The run's settings (`socketio-bench help` lists the options).
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    addr: SocketAddr,
    pid: Option<u32>,
    /// A server to start, and the cpu to pin it to.
    server: Option<String>,
    server_cpu: Option<String>,
    /// The heartbeat of the server it starts.
    ping_interval: Duration,
    ping_timeout: Duration,
    ws: usize,
    polling: usize,
    duration: Duration,
    lifetime: Duration,
    event_every: Duration,
    broadcast_every: Duration,
    ack_timeout: Duration,
    /// Shares of clients that leave by dropping their connections, and by
    /// going silent; the others leave cleanly.
    drop: f64,
    silent: f64,
    rooms: usize,
    in_flight: usize,
    sources: usize,
    payload: usize,
    sample_every: Duration,
    settle: Duration,
    drain: Duration,
    /// A cycle of clients before the measured run, after which the warm
    /// baseline is taken; zero for none.
    warm_up: Duration,
    /// The connect timeout of the server it starts, if set.
    connect_timeout: Option<Duration>,
    seed: u64,
    out: Option<String>,
    check: bool,
    rss_slack_mib: f64,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 3000),
            pid: None,
            server: None,
            server_cpu: None,
            ping_interval: Duration::from_secs(5),
            ping_timeout: Duration::from_secs(5),
            ws: 10_000,
            polling: 1_000,
            duration: Duration::from_secs(30 * 60),
            lifetime: Duration::from_secs(60),
            event_every: Duration::from_secs(5),
            broadcast_every: Duration::from_secs(1),
            ack_timeout: Duration::from_secs(10),
            drop: 0.15,
            silent: 0.15,
            rooms: 100,
            in_flight: 64,
            sources: 0,
            payload: 64,
            sample_every: Duration::from_secs(2),
            settle: Duration::from_secs(5),
            // The server's connect timeout (45 s by default) keeps a timer
            // task until that long after the last connection.
            drain: Duration::from_secs(60),
            warm_up: Duration::ZERO,
            connect_timeout: None,
            seed: 1,
            out: None,
            check: false,
            rss_slack_mib: 4.0,
        }
    }
}

impl Plan {
    fn from_args(args: &mut Args) -> Result<Self> {
        let d = Plan::default();
        let secs = |args: &mut Args, name: &str, v: Duration| args.secs(name, v.as_secs_f64());
        let plan = Plan {
            addr: args.get("--addr", d.addr)?,
            pid: args.opt("--pid")?,
            server: args.opt("--server")?,
            server_cpu: args.opt("--server-cpu")?,
            ping_interval: secs(args, "--ping-interval", d.ping_interval)?,
            ping_timeout: secs(args, "--ping-timeout", d.ping_timeout)?,
            ws: args.get("--ws", d.ws)?,
            polling: args.get("--polling", d.polling)?,
            duration: secs(args, "--duration", d.duration)?,
            lifetime: secs(args, "--lifetime", d.lifetime)?,
            event_every: secs(args, "--event-every", d.event_every)?,
            broadcast_every: secs(args, "--broadcast-every", d.broadcast_every)?,
            ack_timeout: secs(args, "--ack-timeout", d.ack_timeout)?,
            drop: args.get("--drop", d.drop)?,
            silent: args.get("--silent", d.silent)?,
            rooms: args.get("--rooms", d.rooms)?,
            in_flight: args.get("--in-flight", d.in_flight)?,
            sources: args.get("--sources", d.sources)?,
            payload: args.get("--payload", d.payload)?,
            sample_every: secs(args, "--sample-every", d.sample_every)?,
            settle: secs(args, "--settle", d.settle)?,
            drain: secs(args, "--drain", d.drain)?,
            warm_up: secs(args, "--warm-up", d.warm_up)?,
            connect_timeout: args.opt_secs("--connect-timeout")?,
            seed: args.get("--seed", d.seed)?,
            out: args.opt("--out")?,
            check: args.flag("--check"),
            rss_slack_mib: args.get("--rss-slack", d.rss_slack_mib)?,
        };
        let share = 0.0..=1.0;
        if !share.contains(&plan.drop)
            || !share.contains(&plan.silent)
            || !share.contains(&(plan.drop + plan.silent))
        {
            return Err(err!(
                "--drop and --silent are shares: each and their sum within 0..1"
            ));
        }
        for (name, d) in [
            ("--event-every", plan.event_every),
            ("--broadcast-every", plan.broadcast_every),
            ("--sample-every", plan.sample_every),
        ] {
            if d.is_zero() {
                return Err(err!("{name} must be more than 0"));
            }
        }
        Ok(plan)
    }

    /// Descriptors each side needs: a connection per WebSocket client, two
    /// per polling client, and a margin.
    fn descriptors(&self) -> u64 {
        (self.ws + 2 * self.polling + 256) as u64
    }
}

/// `socketio-bench soak [options]`.
pub(crate) async fn run(mut args: Args) -> Result<()> {
    let plan = Plan::from_args(&mut args)?;
    args.finish()?;
    let own_limit = rlimit::Resource::NOFILE.get()?.0;
    if own_limit < plan.descriptors() {
        return Err(err!(
            "the generator may open {own_limit} files and needs about {}: raise the hard limit \
             (ulimit -Hn) or run fewer clients",
            plan.descriptors()
        ));
    }
    let server = match &plan.server {
        Some(command) => Some(Started::start(&plan, command).await?),
        None => None,
    };
    let (addr, pid) = match &server {
        Some(s) => (s.addr, Some(s.child.id())),
        None => (plan.addr, plan.pid),
    };
    let result = soak(plan, addr, pid).await;
    drop(server);
    result
}

/// A server started by the run, stopped when dropped.
struct Started {
    child: Child,
    addr: SocketAddr,
}

impl Started {
    async fn start(plan: &Plan, command: &str) -> Result<Self> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let server = suite::Server {
            name: "server".into(),
            command: command.to_string(),
        };
        let ms = |d: Duration| d.as_millis().to_string();
        let mut env = vec![
            ("PING_INTERVAL_MS", ms(plan.ping_interval)),
            ("PING_TIMEOUT_MS", ms(plan.ping_timeout)),
        ];
        if let Some(d) = plan.connect_timeout {
            env.push(("CONNECT_TIMEOUT_MS", ms(d)));
        }
        let child = suite::start(&server, plan.server_cpu.as_deref(), port, &env)?;
        let mut started = Started {
            child,
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        };
        suite::wait_ready(&mut started.child, started.addr).await?;
        Ok(started)
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn soak(plan: Plan, addr: SocketAddr, pid: Option<u32>) -> Result<()> {
    match pid {
        Some(pid) => sample::check_fd_limit(pid, plan.descriptors())?,
        None if plan.check => {
            return Err(err!("--check needs the server's pid: --pid or --server"))
        }
        None => {
            eprintln!("soak: no --pid: the server's RSS, descriptors and threads are not sampled")
        }
    }
    let mut sampler = Sampler::new(addr, pid);
    tokio::time::sleep(plan.settle).await;
    let cold = sampler.sample(Phase::Cold, (0, 0)).await;
    let mut tick = tokio::time::interval(plan.sample_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut cycles = Cycles {
        plan: &plan,
        addr,
        sampler: &mut sampler,
        tick,
        cold,
    };
    let (warm, warm_up_faults) = if plan.warm_up.is_zero() {
        (None, 0)
    } else {
        let c = cycles.run(Phase::WarmUp, plan.warm_up).await?;
        let warm = cycles.settle(Phase::Warm).await;
        (Some(warm), c.shared.counts.total_faults())
    };
    let c = cycles.run(Phase::Run, plan.duration).await?;
    let end = cycles.settle(Phase::End).await;

    let outcome = Outcome {
        plan: &plan,
        heartbeat: c.heartbeat,
        drained_after: c.drained_after,
        cold,
        warm,
        end,
        samples: &sampler.samples,
        counts: &c.shared.counts,
        warm_up_faults,
    };
    let prefix = plan
        .out
        .clone()
        .unwrap_or_else(|| format!("bench/results/soak-{}", unix_time()));
    write_files(&prefix, &plan, &sampler)?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", outcome.table());
    let _ = writeln!(out, "samples: {prefix}.csv; plot: {prefix}.svg");
    drop(out);
    let failures = outcome.failures();
    if plan.check {
        if failures.is_empty() {
            eprintln!("soak: check passed");
        } else {
            return Err(err!("soak check failed:\n  {}", failures.join("\n  ")));
        }
    }
    Ok(())
}

/// What runs the cycles of clients: a warm-up, if asked, then the measured
/// run.
struct Cycles<'a> {
    plan: &'a Plan,
    addr: SocketAddr,
    sampler: &'a mut Sampler,
    tick: tokio::time::Interval,
    /// The sample before any client.
    cold: sample::Sample,
}

/// What a cycle leaves to the report.
struct Cycle {
    shared: Arc<Shared>,
    heartbeat: Heartbeat,
    /// How long after the last client left the server was back to the cold
    /// baseline's tasks and descriptors, with no socket.
    drained_after: Option<Duration>,
}

impl Cycles<'_> {
    /// Clients come and go for `duration` (samples marked `phase`), leave,
    /// and the server drains.
    async fn run(&mut self, phase: Phase, duration: Duration) -> Result<Cycle> {
        let (plan, addr) = (self.plan, self.addr);
        let (announcer, open) = sio::connect_open(addr, None).await?;
        let ms = |key| sio::number_field(&open, key).map(Duration::from_millis);
        let heartbeat = match (ms("pingInterval"), ms("pingTimeout")) {
            (Some(interval), Some(timeout)) => Heartbeat { interval, timeout },
            _ => return Err(err!("no heartbeat in the open packet {open}")),
        };
        eprintln!(
            "soak: {}: {} WebSocket and {} long-polling clients for {duration:?} against {addr}; \
             heartbeat {:?} + {:?}",
            phase.name(),
            grouped(plan.ws as u64),
            grouped(plan.polling as u64),
            heartbeat.interval,
            heartbeat.timeout
        );
        let shared = Arc::new(Shared::new(plan.clone(), addr, heartbeat));
        let mut clients = JoinSet::new();
        let s = shared.clone();
        clients.spawn(async move { ws::announce(announcer, &s).await });
        population::spawn_all(&shared, &mut clients);

        let start = Instant::now();
        let run_end = start + duration;
        let progress_every = (duration / 10).max(Duration::from_secs(10));
        let mut next_progress = start + progress_every;
        loop {
            tokio::select! {
                _ = self.tick.tick() => {
                    let s = self.sampler.sample(phase, shared.live()).await;
                    if Instant::now() >= next_progress {
                        next_progress += progress_every;
                        progress(&s, &shared);
                    }
                }
                () = tokio::time::sleep_until(run_end) => break,
            }
        }

        shared.stop();
        let leave_by = Instant::now() + heartbeat.bound() + sio::STEP_TIMEOUT + ws::CLOSE_WAIT;
        loop {
            tokio::select! {
                joined = clients.join_next() => if joined.is_none() { break },
                _ = self.tick.tick() => { self.sampler.sample(Phase::Leave, shared.live()).await; }
                () = tokio::time::sleep_until(leave_by) => {
                    shared.counts.fault(
                        Fault::Other,
                        format_args!("{} clients still there {:?} after the stop", clients.len(), leave_by - run_end),
                    );
                    clients.shutdown().await;
                    break;
                }
            }
        }

        // The sessions dropped without a word close when the heartbeat says
        // so; the server's timers end after their timeout.
        let left_at = Instant::now();
        let drain_by = left_at + plan.drain.max(heartbeat.bound());
        let mut drained_after = None;
        let back = |now: Option<u64>, then: Option<u64>| match (now, then) {
            (Some(now), Some(then)) => now <= then,
            _ => true,
        };
        loop {
            let s = self.sampler.sample(Phase::Drain, shared.live()).await;
            if s.sockets == Some(0) && back(s.tasks, self.cold.tasks) && back(s.fds, self.cold.fds)
            {
                drained_after = Some(left_at.elapsed());
                break;
            }
            if Instant::now() >= drain_by {
                break;
            }
            self.tick.tick().await;
        }
        Ok(Cycle {
            shared,
            heartbeat,
            drained_after,
        })
    }

    /// Samples for `settle`, marked `phase`; returns the last sample.
    async fn settle(&mut self, phase: Phase) -> sample::Sample {
        let until = Instant::now() + self.plan.settle;
        loop {
            tokio::select! {
                _ = self.tick.tick() => { self.sampler.sample(phase, (0, 0)).await; }
                () = tokio::time::sleep_until(until) => break,
            }
        }
        self.sampler.sample(phase, (0, 0)).await
    }
}

fn progress(s: &sample::Sample, shared: &Shared) {
    let faults = shared.counts.total_faults();
    let opt = |v: Option<u64>| v.map_or_else(|| "?".to_string(), grouped);
    eprintln!(
        "soak: {:.0} s: {} WebSocket + {} polling clients; server RSS {} KiB, {} fds, {} tasks, {} sockets; {} acks, {faults} faults",
        s.t,
        grouped(s.ws as u64),
        grouped(s.polling as u64),
        opt(s.rss_kib),
        opt(s.fds),
        opt(s.tasks),
        opt(s.sockets),
        grouped(shared.counts.acks.get()),
    );
}

fn write_files(prefix: &str, plan: &Plan, sampler: &Sampler) -> Result<()> {
    if let Some(dir) = std::path::Path::new(prefix).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(format!("{prefix}.csv"), sampler.csv())?;
    let minutes = |d: Duration| {
        let m = d.as_secs_f64() / 60.0;
        if m.fract() == 0.0 {
            format!("{m:.0} min")
        } else {
            format!("{m:.1} min")
        }
    };
    let warm_up = if plan.warm_up.is_zero() {
        String::new()
    } else {
        format!("{} warm-up, ", minutes(plan.warm_up))
    };
    let title = format!(
        "soak: {} WebSocket + {} long-polling clients with churn; {warm_up}{} run",
        grouped(plan.ws as u64),
        grouped(plan.polling as u64),
        minutes(plan.duration)
    );
    std::fs::write(format!("{prefix}.svg"), plot::svg(&sampler.samples, &title))?;
    Ok(())
}

/// Seconds since the Unix epoch, to name the files of a run.
fn unix_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let mut args = Args::from_vec(&[
            "--ws",
            "1000",
            "--polling=100",
            "--duration",
            "60s",
            "--check",
        ]);
        let plan = Plan::from_args(&mut args);
        assert!(args.finish().is_ok());
        let plan = plan.ok();
        assert_eq!(plan.as_ref().map(|p| (p.ws, p.polling)), Some((1000, 100)));
        assert_eq!(
            plan.as_ref().map(|p| p.duration),
            Some(Duration::from_secs(60))
        );
        assert_eq!(plan.map(|p| p.check), Some(true));
        let mut args = Args::from_vec(&["--drop", "0.6", "--silent", "0.6"]);
        assert!(Plan::from_args(&mut args).is_err());
    }
}
