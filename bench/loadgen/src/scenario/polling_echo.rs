//! Echo with acknowledgement over HTTP long-polling, closed loop: each
//! session `POST`s one `echo` event and waits for its ack to come back
//! through the `GET` its poller holds, then sends the next.
//!
//! Latency: from just before the `POST` to the ack's arrival in a `GET`
//! response.

use std::time::Duration;

use tokio::{sync::mpsc, task::JoinSet};

use super::{EchoShared as Shared, Params};
use crate::{
    cli::{err, Result},
    clock,
    measure::Measurement,
    polling::{self, HttpConn},
    sio,
};

/// How long a session waits for its ack before it counts as failed.
const SILENCE: Duration = Duration::from_secs(10);

pub(crate) async fn run(p: &Params) -> Result<Measurement> {
    let shared = Shared::new(p);
    // Open every session before the clock starts.
    let mut sessions = Vec::new();
    for _ in 0..p.sessions {
        sessions.push(Session::open(p).await?);
    }
    let mut tasks = JoinSet::new();
    for session in sessions {
        let s = shared.clone();
        tasks.spawn(async move {
            if let Err(e) = session.run(&s).await {
                s.errors.add(1);
                if !s.phase.stopped() {
                    eprintln!("polling session failed: {e}");
                }
            }
        });
    }
    Ok(shared.measure(p, tasks, "polling").await)
}

/// What the poller tells the sender.
#[derive(Debug)]
enum Polled {
    Connected,
    Ack,
    Ping,
}

struct Session {
    path: String,
    post: HttpConn,
    poll: HttpConn,
}

impl Session {
    /// Opens the Engine.IO session and asks to join the main namespace (the
    /// answer comes through the first `GET` of [`run`](Self::run)).
    async fn open(p: &Params) -> Result<Self> {
        let mut poll = HttpConn::open(p.addr).await?;
        let mut post = HttpConn::open(p.addr).await?;
        let sid = polling::open_session(&mut poll).await?;
        let path = polling::session_path(&sid);
        post.request("POST", &path, "40").await?;
        Ok(Session { path, post, poll })
    }

    async fn run(self, s: &Shared) -> Result<()> {
        let Session {
            path,
            mut post,
            mut poll,
        } = self;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let poll_path = path.clone();
        let phase = s.phase.clone();
        let (acks, latencies) = (s.acks.clone(), s.latencies.clone());
        let poller = async move {
            loop {
                let body = poll.request("GET", &poll_path, "").await?;
                for packet in polling::packets(&body) {
                    let polled = match sio::classify(packet) {
                        sio::Incoming::Ping => Polled::Ping,
                        sio::Incoming::Ack(t) => {
                            if phase.measuring() {
                                acks.add(1);
                                if let Some(t) = t {
                                    latencies.record_since(t);
                                }
                            }
                            Polled::Ack
                        }
                        _ if packet.starts_with("40") => Polled::Connected,
                        _ if packet == "1" || packet.starts_with("41") => {
                            return Err(err!("session closed by the server: {packet}"))
                        }
                        _ => continue,
                    };
                    if tx.send(polled).is_err() {
                        return Ok(());
                    }
                }
            }
        };
        let sender = async move {
            let mut id = 0;
            let mut awaiting = true; // the connect acknowledgement
            loop {
                if !awaiting {
                    if s.phase.stopped() {
                        return Ok(());
                    }
                    id += 1;
                    let event = sio::event_with_ack("echo", id, clock::now_ns(), &s.pad);
                    post.request("POST", &path, &event).await?;
                    awaiting = true;
                }
                let polled = tokio::time::timeout(SILENCE, rx.recv())
                    .await
                    .map_err(|_| err!("no answer for {SILENCE:?}"))?
                    .ok_or_else(|| err!("poller ended"))?;
                match polled {
                    Polled::Connected | Polled::Ack => awaiting = false,
                    Polled::Ping => {
                        post.request("POST", &path, "3").await?;
                    }
                }
            }
        };
        tokio::select! {
            r = poller => r,
            r = sender => r,
        }
    }
}
