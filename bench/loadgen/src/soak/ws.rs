//! A soak client over WebSocket, and the announcer: connect, talk until its
//! lifetime ends or the run stops, leave.

use std::{sync::atomic::Ordering, time::Duration};

use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::{
    population::{Exit, Fault, Life, Rng, Shared},
    talk::{Heard, Role, Talk},
};
use crate::{
    cli::{err, Error},
    sio::{self, Ws},
};

/// How long the server has to close the connection after a clean goodbye.
pub(super) const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// One client's life; false if it could not connect.
pub(super) async fn life(s: &Shared, life: Life, rng: Rng) -> bool {
    let connected = {
        let _permit = s.gate.acquire().await;
        sio::connect(s.addr, life.source).await
    };
    let mut ws = match connected {
        Ok(ws) => ws,
        Err(e) => {
            s.counts
                .fault(Fault::Connect, format_args!("websocket: {e}"));
            return false;
        }
    };
    s.counts.ws_connects.add(1);
    s.live_ws.fetch_add(1, Ordering::Relaxed);
    let role = Role::Echo {
        every: s.plan.event_every,
        rng,
    };
    let mut talk = Talk::new(role, s.plan.ack_timeout, s.pad.clone());
    let end = Instant::now() + life.lifetime;
    let join = talk.join(life.room, Instant::now());
    let r = match ws.send(Message::text(join)).await {
        Ok(()) => converse(&mut ws, &mut talk, s, Some(end), life.exit).await,
        Err(e) => Err((Fault::Other, e.into())),
    };
    if let Err((fault, e)) = r {
        s.counts.fault(fault, format_args!("websocket: {e}"));
    }
    s.live_ws.fetch_sub(1, Ordering::Relaxed);
    true
}

/// The announcer: a WebSocket client that stays for the whole run and
/// emits the numbered broadcasts, then leaves cleanly.
pub(super) async fn announce(mut ws: Ws, s: &Shared) {
    s.counts.ws_connects.add(1);
    s.live_ws.fetch_add(1, Ordering::Relaxed);
    let role = Role::Announce {
        every: s.plan.broadcast_every,
    };
    let mut talk = Talk::new(role, s.plan.ack_timeout, s.pad.clone());
    if let Err((fault, e)) = converse(&mut ws, &mut talk, s, None, Exit::Clean).await {
        s.counts.fault(fault, format_args!("announcer: {e}"));
    }
    s.live_ws.fetch_sub(1, Ordering::Relaxed);
}

type Failure = (Fault, Error);

/// Talks until `end` or the stop, then leaves.
async fn converse(
    ws: &mut Ws,
    talk: &mut Talk,
    s: &Shared,
    end: Option<Instant>,
    exit: Exit,
) -> Result<(), Failure> {
    let stopped = s.stopped();
    tokio::pin!(stopped);
    let silence = s.heartbeat.bound();
    let mut heard_at = Instant::now();
    loop {
        let mut wake = talk.next_wake().min(heard_at + silence);
        if let Some(end) = end {
            wake = wake.min(end);
        }
        tokio::select! {
            frame = ws.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None => {
                        return Err((Fault::Other, err!("connection closed by the server")))
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err((Fault::Other, e.into())),
                };
                heard_at = Instant::now();
                match talk.on_packet(&text, &s.counts) {
                    Heard::Nothing => {}
                    Heard::Ping => send(ws, sio::pong()).await?,
                    Heard::Closed => {
                        return Err((Fault::Other, err!("closed by the server: {text:.60}")))
                    }
                }
            }
            () = tokio::time::sleep_until(wake) => {
                let now = Instant::now();
                if end.is_some_and(|end| now >= end) {
                    break;
                }
                if now >= heard_at + silence {
                    return Err((Fault::Heartbeat, err!("nothing from the server for {silence:?}")));
                }
                match talk.due(now, &s.counts) {
                    Ok(Some(event)) => send(ws, Message::text(event)).await?,
                    Ok(None) => {}
                    Err(e) => return Err((Fault::Ack, Error(e))),
                }
            }
            () = &mut stopped => break,
        }
    }
    leave(ws, s, exit).await
}

async fn send(ws: &mut Ws, message: Message) -> Result<(), Failure> {
    ws.send(message).await.map_err(|e| (Fault::Other, e.into()))
}

async fn leave(ws: &mut Ws, s: &Shared, exit: Exit) -> Result<(), Failure> {
    match exit {
        Exit::Clean => {
            s.counts.clean.add(1);
            send(ws, Message::text("41")).await?;
            send(ws, Message::text("1")).await?;
            match tokio::time::timeout(CLOSE_WAIT, until_closed(ws)).await {
                Ok(()) => Ok(()),
                Err(_) => Err((
                    Fault::Other,
                    err!("still open {CLOSE_WAIT:?} after the Engine.IO close"),
                )),
            }
        }
        // Dropping the stream closes the connection.
        Exit::Drop => {
            s.counts.dropped.add(1);
            Ok(())
        }
        Exit::Silent => {
            s.counts.silent.add(1);
            let since = Instant::now();
            let bound = s.heartbeat.bound();
            match tokio::time::timeout(bound, until_closed(ws)).await {
                Ok(()) => {
                    s.counts.timed_out_after(since.elapsed());
                    Ok(())
                }
                Err(_) => Err((
                    Fault::Heartbeat,
                    err!("a client that stopped answering pings still connected after {bound:?}"),
                )),
            }
        }
    }
}

/// Reads, answering nothing, until the server closes the connection.
async fn until_closed(ws: &mut Ws) {
    while let Some(Ok(_)) = ws.next().await {}
}
