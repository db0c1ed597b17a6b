//! A soak client over HTTP long-polling: two keep-alive connections, one
//! holding a `GET` (in a task of its own, which passes on each packet), one
//! for the `POST`s; it talks until its lifetime ends or the run stops, then
//! leaves.

use std::{sync::atomic::Ordering, time::Duration};

use tokio::{
    sync::mpsc::{self, UnboundedReceiver, UnboundedSender},
    time::Instant,
};

use super::{
    population::{Exit, Fault, Life, Rng, Shared},
    talk::{Heard, Role, Talk},
    ws::CLOSE_WAIT,
};
use crate::{
    cli::{err, Error, Result},
    polling::{self, HttpConn},
    sio::STEP_TIMEOUT,
};

/// One client's life; false if it could not connect.
pub(super) async fn life(s: &Shared, life: Life, rng: Rng) -> bool {
    let opened = {
        let _permit = s.gate.acquire().await;
        tokio::time::timeout(STEP_TIMEOUT, open(s, life))
            .await
            .unwrap_or_else(|_| Err(err!("handshake timed out")))
    };
    let (path, post, poll) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            s.counts.fault(Fault::Connect, format_args!("polling: {e}"));
            return false;
        }
    };
    s.counts.polling_connects.add(1);
    s.live_polling.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::unbounded_channel();
    let poller = tokio::spawn(poll_loop(poll, path.clone(), tx, s.heartbeat.bound()));
    let mut client = Client {
        s,
        path,
        post,
        polled: rx,
    };
    let role = Role::Echo {
        every: s.plan.event_every,
        rng,
    };
    let mut talk = Talk::new(role, s.plan.ack_timeout, s.pad.clone());
    let end = Instant::now() + life.lifetime;
    if let Err((fault, e)) = client.converse(&mut talk, life, end).await {
        s.counts.fault(fault, format_args!("polling: {e}"));
    }
    // Closes the connection of the `GET`.
    poller.abort();
    s.live_polling.fetch_sub(1, Ordering::Relaxed);
    true
}

/// Opens the session and asks to join the main namespace.
async fn open(s: &Shared, life: Life) -> Result<(String, HttpConn, HttpConn)> {
    let mut poll = HttpConn::open_from(s.addr, life.source).await?;
    let mut post = HttpConn::open_from(s.addr, life.source).await?;
    let sid = polling::open_session(&mut poll).await?;
    let path = polling::session_path(&sid);
    post.request("POST", &path, "40").await?;
    Ok((path, post, poll))
}

#[derive(Debug)]
enum Polled {
    Packet(String),
    /// The `GET` failed (after a session ends, the server answers 400).
    Ended(Error),
    /// No answer to a `GET` within the heartbeat's bound.
    Silence(Duration),
}

/// Polls until a request fails; every packet goes to the client.
async fn poll_loop(mut poll: HttpConn, path: String, tx: UnboundedSender<Polled>, limit: Duration) {
    loop {
        let body = match tokio::time::timeout(limit, poll.request("GET", &path, "")).await {
            Ok(Ok(body)) => body,
            Ok(Err(e)) => {
                let _ = tx.send(Polled::Ended(e));
                return;
            }
            Err(_) => {
                let _ = tx.send(Polled::Silence(limit));
                return;
            }
        };
        for packet in polling::packets(&body) {
            if tx.send(Polled::Packet(packet.to_string())).is_err() {
                return;
            }
        }
    }
}

type Failure = (Fault, Error);

struct Client<'a> {
    s: &'a Shared,
    path: String,
    post: HttpConn,
    polled: UnboundedReceiver<Polled>,
}

impl Client<'_> {
    async fn post(&mut self, body: &str) -> std::result::Result<(), Failure> {
        match tokio::time::timeout(STEP_TIMEOUT, self.post.request("POST", &self.path, body)).await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err((Fault::Other, e)),
            Err(_) => Err((
                Fault::Other,
                err!("no answer to a POST in {STEP_TIMEOUT:?}"),
            )),
        }
    }

    async fn converse(
        &mut self,
        talk: &mut Talk,
        life: Life,
        end: Instant,
    ) -> std::result::Result<(), Failure> {
        let s = self.s;
        self.post(&talk.join(life.room, Instant::now())).await?;
        let stopped = s.stopped();
        tokio::pin!(stopped);
        loop {
            let wake = talk.next_wake().min(end);
            tokio::select! {
                polled = self.polled.recv() => match polled {
                    Some(Polled::Packet(packet)) => match talk.on_packet(&packet, &s.counts) {
                        Heard::Nothing => {}
                        Heard::Ping => self.post("3").await?,
                        Heard::Closed => {
                            return Err((Fault::Other, err!("closed by the server: {packet:.60}")))
                        }
                    },
                    Some(Polled::Ended(e)) => return Err((Fault::Other, e)),
                    Some(Polled::Silence(d)) => {
                        return Err((Fault::Heartbeat, err!("no answer to a poll in {d:?}")))
                    }
                    None => return Err((Fault::Other, err!("the poller ended"))),
                },
                () = tokio::time::sleep_until(wake) => {
                    let now = Instant::now();
                    if now >= end {
                        break;
                    }
                    match talk.due(now, &s.counts) {
                        Ok(Some(event)) => self.post(&event).await?,
                        Ok(None) => {}
                        Err(e) => return Err((Fault::Ack, Error(e))),
                    }
                }
                () = &mut stopped => break,
            }
        }
        self.leave(life.exit).await
    }

    async fn leave(&mut self, exit: Exit) -> std::result::Result<(), Failure> {
        let counts = &self.s.counts;
        match exit {
            Exit::Clean => {
                counts.clean.add(1);
                // Socket.IO DISCONNECT and Engine.IO close in one payload.
                self.post("41\x1e1").await?;
                match tokio::time::timeout(CLOSE_WAIT, self.until_closed()).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err((Fault::Other, e)),
                    Err(_) => Err((
                        Fault::Other,
                        err!("session still open {CLOSE_WAIT:?} after the Engine.IO close"),
                    )),
                }
            }
            // The caller drops both connections.
            Exit::Drop => {
                counts.dropped.add(1);
                Ok(())
            }
            Exit::Silent => {
                counts.silent.add(1);
                let since = Instant::now();
                let bound = self.s.heartbeat.bound();
                match tokio::time::timeout(bound, self.until_closed()).await {
                    Ok(Ok(())) => {
                        counts.timed_out_after(since.elapsed());
                        Ok(())
                    }
                    Ok(Err(e)) => Err((Fault::Heartbeat, e)),
                    Err(_) => Err((
                        Fault::Heartbeat,
                        err!("a session that stopped answering pings still open after {bound:?}"),
                    )),
                }
            }
        }
    }

    /// Reads what the poller passes on, answering nothing, until the
    /// session is closed: a close packet, or a poll refused.
    async fn until_closed(&mut self) -> Result<()> {
        loop {
            match self.polled.recv().await {
                Some(Polled::Packet(p)) if p != "1" => {}
                Some(Polled::Packet(_) | Polled::Ended(_)) => return Ok(()),
                Some(Polled::Silence(d)) => return Err(err!("no answer to a poll in {d:?}")),
                None => return Err(err!("the poller ended")),
            }
        }
    }
}
