//! What a soak client says and checks, whatever its transport: it joins a
//! room, emits an event with an ack now and then and checks that the ack
//! answers it, and checks that the broadcasts it receives are numbered
//! without a gap. Sans-IO: the WebSocket and the polling clients feed it the
//! packets they read and send the packets it returns.

use std::{sync::Arc, time::Duration};

use tokio::time::Instant;

use super::population::{Counts, Fault, Rng};
use crate::{clock, sio};

/// An event sent that waits for its ack.
#[derive(Debug)]
struct Awaited {
    id: u64,
    /// The timestamp that an `echo` ack must bring back.
    t: Option<u64>,
    deadline: Instant,
}

/// What the client does.
#[derive(Debug)]
pub(super) enum Role {
    /// Emits `echo` every `every` on average (uniformly between half and
    /// one and a half times it).
    Echo { every: Duration, rng: Rng },
    /// Emits `broadcast` with the next sequence number every `every`.
    Announce { every: Duration },
}

/// The state of one client's conversation.
#[derive(Debug)]
pub(super) struct Talk {
    role: Role,
    ack_timeout: Duration,
    pad: Arc<str>,
    next_id: u64,
    awaited: Option<Awaited>,
    next_event: Instant,
    /// Sequence number of the last broadcast received.
    last_seq: Option<u64>,
    /// Sequence number of the next broadcast to announce.
    next_seq: u64,
}

/// What a packet asks of the transport.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Heard {
    Nothing,
    /// An Engine.IO ping: send `3`.
    Ping,
    /// The server ended the session or the socket (`1`, `41`, `44`).
    Closed,
}

impl Talk {
    pub(super) fn new(role: Role, ack_timeout: Duration, pad: Arc<str>) -> Self {
        let mut talk = Talk {
            role,
            ack_timeout,
            pad,
            next_id: 0,
            awaited: None,
            next_event: Instant::now(),
            last_seq: None,
            next_seq: 1,
        };
        let first = talk.interval();
        talk.next_event += first;
        talk
    }

    fn interval(&mut self) -> Duration {
        match &mut self.role {
            Role::Echo { every, rng } => every.mul_f64(0.5 + rng.unit()),
            Role::Announce { every } => *every,
        }
    }

    fn await_ack(&mut self, t: Option<u64>, now: Instant) -> u64 {
        self.next_id += 1;
        self.awaited = Some(Awaited {
            id: self.next_id,
            t,
            deadline: now + self.ack_timeout,
        });
        self.next_id
    }

    /// The `join` event for room `r<room>`, with an ack.
    pub(super) fn join(&mut self, room: usize, now: Instant) -> String {
        let id = self.await_ack(None, now);
        format!(r#"42{id}["join","r{room}"]"#)
    }

    /// Handles a packet from the server.
    pub(super) fn on_packet(&mut self, text: &str, c: &Counts) -> Heard {
        if text == "2" {
            return Heard::Ping;
        }
        if text == "1" || text.starts_with("41") || text.starts_with("44") {
            return Heard::Closed;
        }
        if text.starts_with("43") {
            self.on_ack(text, c);
        } else if let Some(args) = text.strip_prefix(r#"42["broadcast","#) {
            self.on_broadcast(args, c);
        }
        Heard::Nothing
    }

    fn on_ack(&mut self, text: &str, c: &Counts) {
        let id = sio::ack_id(text);
        match self.awaited.take() {
            Some(a) if Some(a.id) == id && (a.t.is_none() || a.t == sio::timestamp(text)) => {
                c.acks.add(1);
            }
            awaited => {
                let expected = awaited.as_ref().map(|a| a.id);
                c.fault(
                    Fault::Ack,
                    format_args!("unexpected ack {text:.60} (awaiting id {expected:?})"),
                );
            }
        }
    }

    fn on_broadcast(&mut self, args: &str, c: &Counts) {
        c.broadcasts_received.add(1);
        let Some(seq) = sio::number_field(args, "s") else {
            c.fault(
                Fault::Broadcast,
                format_args!("broadcast without a number: {args:.60}"),
            );
            return;
        };
        if let Some(last) = self.last_seq {
            if seq != last + 1 {
                c.fault(
                    Fault::Broadcast,
                    format_args!("broadcast {seq} after {last}"),
                );
            }
        }
        self.last_seq = Some(seq);
    }

    /// When [`due`](Self::due) has something to do.
    pub(super) fn next_wake(&self) -> Instant {
        match &self.awaited {
            Some(a) => a.deadline.min(self.next_event),
            None => self.next_event,
        }
    }

    /// The event to send now, if one is due; an error when an ack is late.
    /// A client waits for each ack before its next event.
    pub(super) fn due(&mut self, now: Instant, c: &Counts) -> Result<Option<String>, String> {
        if let Some(a) = &self.awaited {
            if now >= a.deadline {
                return Err(format!(
                    "no ack for event {} in {:?}",
                    a.id, self.ack_timeout
                ));
            }
            return Ok(None);
        }
        if now < self.next_event {
            return Ok(None);
        }
        self.next_event = now + self.interval();
        let t = clock::now_ns();
        let event = match self.role {
            Role::Echo { .. } => {
                let id = self.await_ack(Some(t), now);
                sio::event_with_ack("echo", id, t, &self.pad)
            }
            Role::Announce { .. } => {
                let id = self.await_ack(None, now);
                let seq = self.next_seq;
                self.next_seq += 1;
                c.broadcasts_sent.add(1);
                format!(
                    r#"42{id}["broadcast",{{"s":{seq},"t":{t},"p":"{}"}}]"#,
                    self.pad
                )
            }
        };
        Ok(Some(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo() -> Talk {
        let role = Role::Echo {
            every: Duration::from_secs(1),
            rng: Rng::new(7),
        };
        Talk::new(role, Duration::from_secs(5), Arc::from("xx"))
    }

    #[test]
    fn acks_must_answer_the_event() {
        let c = Counts::default();
        let mut talk = echo();
        let now = Instant::now();
        assert_eq!(talk.join(3, now), r#"421["join","r3"]"#);
        assert_eq!(talk.due(now + Duration::from_secs(2), &c), Ok(None));
        assert_eq!(talk.on_packet("431[]", &c), Heard::Nothing);
        assert_eq!(c.acks.get(), 1);
        let later = now + Duration::from_secs(2);
        let event = talk.due(later, &c).ok().flatten().unwrap_or_default();
        assert!(event.starts_with(r#"422["echo",{"t":"#), "{event}");
        // The right id with another timestamp is no answer.
        talk.on_packet(r#"432[{"t":1,"p":"xx"}]"#, &c);
        assert_eq!(c.faults(Fault::Ack), 1);
        // A late ack fails the client.
        let event = talk.due(later + Duration::from_secs(2), &c);
        assert!(matches!(event, Ok(Some(_))));
        assert!(talk.due(later + Duration::from_secs(8), &c).is_err());
    }

    #[test]
    fn broadcasts_are_numbered_without_gaps() {
        let c = Counts::default();
        let mut talk = echo();
        for seq in [4, 5, 7, 6] {
            let packet = format!(r#"42["broadcast",{{"s":{seq},"t":1,"p":"xx"}}]"#);
            talk.on_packet(&packet, &c);
        }
        assert_eq!(c.broadcasts_received.get(), 4);
        assert_eq!(c.faults(Fault::Broadcast), 2);
        assert_eq!(talk.on_packet("2", &c), Heard::Ping);
        assert_eq!(talk.on_packet("41", &c), Heard::Closed);
    }

    #[test]
    fn the_announcer_numbers_its_broadcasts() {
        let c = Counts::default();
        let role = Role::Announce {
            every: Duration::from_secs(1),
        };
        let mut talk = Talk::new(role, Duration::from_secs(5), Arc::from(""));
        let t1 = Instant::now() + Duration::from_secs(1);
        let first = talk.due(t1, &c).ok().flatten().unwrap_or_default();
        assert!(first.starts_with(r#"421["broadcast",{"s":1,"#), "{first}");
        talk.on_packet("431[]", &c);
        let second = talk.due(t1 + Duration::from_secs(1), &c);
        let second = second.ok().flatten().unwrap_or_default();
        assert!(second.starts_with(r#"422["broadcast",{"s":2,"#), "{second}");
        assert_eq!(c.broadcasts_sent.get(), 2);
    }
}
