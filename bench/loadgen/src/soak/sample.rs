//! Samples of the server process: from `/proc/<pid>` its resident memory,
//! open descriptors and threads; from `bench_server`'s `GET /stats` the
//! tokio tasks alive and the sockets it counts (a server without that
//! route gets blanks there).

use std::{fmt::Write as _, net::SocketAddr, time::Duration};

use serde::Deserialize;
use tokio::time::Instant;

use crate::{
    cli::{err, Result},
    polling::HttpConn,
    procfs,
};

/// Where the run is when a sample is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Before any client connects: the cold baseline.
    Cold,
    /// Clients come and go before the measured run, if asked.
    WarmUp,
    /// After the warm-up cycle: the warm baseline.
    Warm,
    /// Clients come and go.
    Run,
    /// The clients leave.
    Leave,
    /// Every client has left; the server times out the abandoned sessions
    /// and its timers run out.
    Drain,
    /// Waiting a little, then the end sample.
    End,
}

impl Phase {
    pub(super) fn name(self) -> &'static str {
        match self {
            Phase::Cold => "cold",
            Phase::WarmUp => "warm-up",
            Phase::Warm => "warm",
            Phase::Run => "run",
            Phase::Leave => "leave",
            Phase::Drain => "drain",
            Phase::End => "end",
        }
    }
}

/// One sample.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sample {
    /// Seconds since the start of the run.
    pub(super) t: f64,
    pub(super) phase: Phase,
    pub(super) rss_kib: Option<u64>,
    /// The anonymous part of the RSS (heap, stacks), without the pages of
    /// the executable and libraries, which grow as code runs the first time.
    pub(super) anon_kib: Option<u64>,
    pub(super) fds: Option<u64>,
    pub(super) threads: Option<u64>,
    pub(super) tasks: Option<u64>,
    pub(super) sockets: Option<u64>,
    /// Clients connected, as the generator counts them.
    pub(super) ws: usize,
    pub(super) polling: usize,
}

#[derive(Debug, Deserialize)]
struct Stats {
    tasks: u64,
    sockets: u64,
}

#[derive(Debug)]
enum StatsRoute {
    /// Reused between samples, so that it is there at the baseline and at
    /// the end alike (one connection task, one descriptor).
    Open(Option<HttpConn>),
    Missing,
}

/// Takes and keeps the samples.
#[derive(Debug)]
pub(super) struct Sampler {
    addr: SocketAddr,
    pid: Option<u32>,
    start: Instant,
    stats: StatsRoute,
    pub(super) samples: Vec<Sample>,
}

const STATS_TIMEOUT: Duration = Duration::from_secs(5);

impl Sampler {
    pub(super) fn new(addr: SocketAddr, pid: Option<u32>) -> Self {
        Sampler {
            addr,
            pid,
            start: Instant::now(),
            stats: StatsRoute::Open(None),
            samples: Vec::new(),
        }
    }

    /// Takes a sample, keeps it and returns it.
    pub(super) async fn sample(&mut self, phase: Phase, live: (usize, usize)) -> Sample {
        let stats = self.stats().await;
        let proc_value = |f: fn(u32) -> std::io::Result<u64>| self.pid.and_then(|p| f(p).ok());
        let sample = Sample {
            t: self.start.elapsed().as_secs_f64(),
            phase,
            rss_kib: proc_value(procfs::rss_kib),
            anon_kib: proc_value(procfs::rss_anon_kib),
            fds: proc_value(procfs::open_fds),
            threads: proc_value(procfs::threads),
            tasks: stats.as_ref().map(|s| s.tasks),
            sockets: stats.as_ref().map(|s| s.sockets),
            ws: live.0,
            polling: live.1,
        };
        self.samples.push(sample);
        sample
    }

    async fn stats(&mut self) -> Option<Stats> {
        let StatsRoute::Open(conn) = &mut self.stats else {
            return None;
        };
        // A connection the server closed is opened again, once.
        for _ in 0..2 {
            let mut c = match conn.take() {
                Some(c) => c,
                None => match HttpConn::open(self.addr).await {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("soak: /stats: {e}");
                        return None;
                    }
                },
            };
            match tokio::time::timeout(STATS_TIMEOUT, c.request("GET", "/stats", "")).await {
                Ok(Ok(body)) => {
                    *conn = Some(c);
                    return match serde_json::from_slice(&body) {
                        Ok(stats) => Some(stats),
                        Err(e) => {
                            eprintln!("soak: /stats: {e}");
                            None
                        }
                    };
                }
                Ok(Err(e)) if e.0.starts_with("HTTP 404") => {
                    eprintln!("soak: the server has no /stats: no tasks or sockets counted");
                    self.stats = StatsRoute::Missing;
                    return None;
                }
                Ok(Err(_)) => {}
                Err(_) => eprintln!("soak: /stats: no answer in {STATS_TIMEOUT:?}"),
            }
        }
        None
    }

    /// The samples as CSV, one line each after a header.
    pub(super) fn csv(&self) -> String {
        let mut out = String::from(
            "seconds,phase,rss_kib,rss_anon_kib,open_fds,threads,tasks,server_sockets,ws_clients,polling_clients\n",
        );
        let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        for s in &self.samples {
            let _ = writeln!(
                out,
                "{:.1},{},{},{},{},{},{},{},{},{}",
                s.t,
                s.phase.name(),
                opt(s.rss_kib),
                opt(s.anon_kib),
                opt(s.fds),
                opt(s.threads),
                opt(s.tasks),
                opt(s.sockets),
                s.ws,
                s.polling
            );
        }
        out
    }
}

/// Fails unless the server process `pid` may open `needed` descriptors.
pub(super) fn check_fd_limit(pid: u32, needed: u64) -> Result<()> {
    let Ok(limit) = procfs::max_open_files(pid) else {
        return Ok(());
    };
    if limit < needed {
        return Err(err!(
            "the server (pid {pid}) may open {limit} files; the run needs about {needed}: \
             start it after `ulimit -n {needed}` (or more), or run fewer clients"
        ));
    }
    Ok(())
}
