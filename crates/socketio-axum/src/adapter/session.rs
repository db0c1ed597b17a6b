//! Connection state recovery's store: the sessions of sockets that lost
//! their connection, and the packets emitted meanwhile (Node's
//! `SessionAwareAdapter`).

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::Mutex,
    time::Duration,
};

use socketio_protocol::{
    socket::{with_offset, EncodedPacket},
    Str,
};
use tokio::time::Instant;

use super::{AdapterError, BroadcastOptions, Room};
use crate::{handler::BoxFuture, trace, ConnectionStateRecovery};

/// A socket's state, kept when it leaves for a reason the client recovers
/// from (Node's `Session`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Session {
    /// The socket id, given back on recovery.
    pub sid: Str,
    /// The private session id the client presents (`auth.pid`).
    pub pid: Str,
    /// The rooms the socket was in, its own included.
    pub rooms: Vec<Room>,
    /// The socket's `data`.
    pub data: serde_json::Value,
}

impl Session {
    /// A session of socket `sid` with private id `pid`.
    pub fn new(sid: Str, pid: Str, rooms: Vec<Room>, data: serde_json::Value) -> Self {
        Session {
            sid,
            pid,
            rooms,
            data,
        }
    }
}

/// A session found again, with the packets its socket missed, in order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RestoredSession {
    /// The session as kept.
    pub session: Session,
    /// The `EVENT` packets emitted to the socket after the client's offset,
    /// each with its own offset as last argument.
    pub missed: Vec<EncodedPacket>,
}

impl RestoredSession {
    /// `session` and the packets it missed.
    pub fn new(session: Session, missed: Vec<EncodedPacket>) -> Self {
        RestoredSession { session, missed }
    }
}

/// What a [`SessionStore`] did with a packet it was given.
#[non_exhaustive]
pub enum Stored {
    /// Kept: the packet with its offset as last argument, for the server
    /// to deliver now (the in-memory store).
    Now(EncodedPacket),
    /// Taken over: the store delivers the packet to this server's sockets
    /// itself once it knows the packet's offset (through
    /// [`LocalNamespace::broadcast_stored`](super::LocalNamespace::broadcast_stored)),
    /// as a store shared by servers does, whose offsets the shared log
    /// gives. The future resolves once the packet is stored, or with what
    /// kept it from being stored (the packet then reaches this server's
    /// sockets without an offset, if at all: the store says which). The
    /// packet is stored whether or not the future is awaited.
    Later(BoxFuture<Result<(), AdapterError>>),
    /// Could not be kept, as it is known at once (a shared store that
    /// cannot reach its peers): the server delivers the packet without an
    /// offset to its sockets, and the emit returns the error.
    Failed {
        /// The packet, as given.
        packet: EncodedPacket,
        /// Why it was not kept.
        error: AdapterError,
    },
}

impl fmt::Debug for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stored::Now(p) => f.debug_tuple("Now").field(p).finish(),
            Stored::Later(_) => f.write_str("Later"),
            Stored::Failed { packet, error } => f
                .debug_struct("Failed")
                .field("packet", packet)
                .field("error", error)
                .finish(),
        }
    }
}

/// Where one namespace keeps what connection state recovery needs. The
/// server uses [`MemorySessionStore`] unless the adapter gives one
/// ([`NamespaceAdapter::session_store`](super::NamespaceAdapter::session_store)),
/// so that an adapter that shares state between servers can recover a
/// client on another server.
pub trait SessionStore: Send + Sync + 'static {
    /// Called for each non-volatile `EVENT` without acknowledgement emitted
    /// to sockets of this server (`opts` says which, a socket's own emit
    /// being a broadcast to its own room): keeps it and gives it its
    /// offset, as last argument, which is what the sockets get. A store
    /// shared by servers may leave a `local` broadcast as it is, as Node's
    /// cluster adapters do ([`Stored::Now`] without offset).
    fn store(&self, packet: EncodedPacket, opts: &BroadcastOptions) -> Stored;

    /// Keeps the session of a socket that left for a recoverable reason.
    fn persist(&self, session: Session);

    /// The session `pid` with the packets emitted to it after `offset`;
    /// `None` when there is no such session, it expired, or the packets
    /// after `offset` are no longer all kept. A session restored is
    /// forgotten (the server persists it again if the restore does not go
    /// through).
    fn restore(&self, pid: &str, offset: &str) -> BoxFuture<Option<RestoredSession>>;
}

/// The in-memory [`SessionStore`] of one namespace, bounded in time
/// (`max_disconnection_duration`) and in size (`max_packets`,
/// `max_bytes`): past a bound, the oldest packets are dropped (with a
/// `tracing` warning), and a client that missed a dropped packet is not
/// recovered (it gets a new session) rather than recovered with holes.
pub struct MemorySessionStore {
    config: ConnectionStateRecovery,
    /// Offsets are `<epoch>-<sequence>`: the epoch, random per store, keeps
    /// an offset of another server or an earlier run from matching.
    epoch: u32,
    /// `<epoch>-`, the start of every offset of this store.
    prefix: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next: u64,
    /// Sequence of the first packet of `packets`.
    first: u64,
    packets: VecDeque<Kept>,
    bytes: usize,
    dropped: u64,
    sessions: HashMap<Str, (Instant, Session)>,
    /// Sessions by time of disconnection, for expiry (an entry whose pid was
    /// restored or persisted again since is skipped).
    expiry: VecDeque<(Instant, Str)>,
}

struct Kept {
    packet: EncodedPacket,
    rooms: Vec<Room>,
    except: Vec<Room>,
    at: Instant,
    bytes: usize,
}

impl fmt::Debug for MemorySessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = crate::lock(&self.state);
        f.debug_struct("MemorySessionStore")
            .field("packets", &state.packets.len())
            .field("bytes", &state.bytes)
            .field("sessions", &state.sessions.len())
            .finish()
    }
}

/// Bytes counted for a kept packet beyond its payloads (its rooms, its
/// bookkeeping).
const PACKET_OVERHEAD: usize = 64;

impl MemorySessionStore {
    /// An empty store with these bounds.
    pub fn new(config: ConnectionStateRecovery) -> Self {
        let epoch: u32 = rand::random();
        MemorySessionStore {
            config,
            epoch,
            prefix: format!("{epoch:08x}-"),
            state: Mutex::default(),
        }
    }

    fn window(&self) -> Duration {
        self.config.max_disconnection_duration
    }

    fn expired(&self, at: Instant, now: Instant) -> bool {
        now.saturating_duration_since(at) > self.window()
    }

    fn prune(&self, state: &mut State, now: Instant) {
        while let Some(front) = state.packets.front() {
            if !self.expired(front.at, now) {
                break;
            }
            state.bytes -= front.bytes;
            state.packets.pop_front();
            state.first += 1;
        }
        while let Some((at, _)) = state.expiry.front() {
            if !self.expired(*at, now) {
                break;
            }
            let Some((at, pid)) = state.expiry.pop_front() else {
                break;
            };
            if state.sessions.get(&pid).is_some_and(|(t, _)| *t == at) {
                state.sessions.remove(&pid);
            }
        }
    }

    /// `<epoch>-<seq>`, without the formatting machinery (once per emit).
    fn offset(&self, seq: u64) -> String {
        let mut digits = [0u8; 20];
        let mut n = seq;
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut offset = String::with_capacity(self.prefix.len() + digits.len() - start);
        offset.push_str(&self.prefix);
        for &d in &digits[start..] {
            offset.push(char::from(d));
        }
        offset
    }

    fn parse_offset(&self, offset: &str) -> Option<u64> {
        let (epoch, seq) = offset.split_once('-')?;
        (u32::from_str_radix(epoch, 16).ok()? == self.epoch).then_some(())?;
        seq.parse().ok()
    }
}

fn included(rooms: &[Room], kept: &Kept) -> bool {
    (kept.rooms.is_empty() || rooms.iter().any(|r| kept.rooms.contains(r)))
        && rooms.iter().all(|r| !kept.except.contains(r))
}

impl SessionStore for MemorySessionStore {
    fn store(&self, packet: EncodedPacket, opts: &BroadcastOptions) -> Stored {
        Stored::Now(self.keep(packet, opts))
    }

    fn persist(&self, session: Session) {
        let now = Instant::now();
        let mut state = crate::lock(&self.state);
        self.prune(&mut state, now);
        state.expiry.push_back((now, session.pid.clone()));
        state.sessions.insert(session.pid.clone(), (now, session));
    }

    fn restore(&self, pid: &str, offset: &str) -> BoxFuture<Option<RestoredSession>> {
        Box::pin(std::future::ready(self.take(pid, offset)))
    }
}

impl MemorySessionStore {
    /// Keeps `packet` and returns it with its offset.
    fn keep(&self, packet: EncodedPacket, opts: &BroadcastOptions) -> EncodedPacket {
        if opts.volatile {
            return packet;
        }
        let now = Instant::now();
        let mut state = crate::lock(&self.state);
        let seq = state.next;
        let offset = self.offset(seq);
        let Some(packet) = with_offset(&packet, &offset) else {
            return packet;
        };
        state.next += 1;
        if state.packets.is_empty() {
            state.first = seq;
        }
        let bytes = packet.text.len()
            + packet.attachments.iter().map(|a| a.len()).sum::<usize>()
            + PACKET_OVERHEAD;
        state.bytes += bytes;
        state.packets.push_back(Kept {
            packet: packet.clone(),
            rooms: opts.rooms.clone(),
            except: opts.except.clone(),
            at: now,
            bytes,
        });
        self.prune(&mut state, now);
        let mut dropped = 0u64;
        while state.packets.len() > self.config.max_packets || state.bytes > self.config.max_bytes {
            let Some(old) = state.packets.pop_front() else {
                break;
            };
            state.bytes -= old.bytes;
            state.first += 1;
            dropped += 1;
        }
        if dropped > 0 {
            let before = state.dropped;
            state.dropped += dropped;
            // The first drop, then one warning per 1024 packets dropped.
            if before == 0 || before / 1024 != state.dropped / 1024 {
                trace::warn!(
                    dropped = state.dropped,
                    max_packets = self.config.max_packets,
                    max_bytes = self.config.max_bytes,
                    "socket.io: connection state recovery dropped its oldest packets (over its bounds); clients that missed them will not be recovered"
                );
            }
        }
        packet
    }

    /// The session `pid` with what it missed after `offset`, forgotten here.
    fn take(&self, pid: &str, offset: &str) -> Option<RestoredSession> {
        let now = Instant::now();
        let mut state = crate::lock(&self.state);
        self.prune(&mut state, now);
        let seq = self.parse_offset(offset)?;
        // Every packet after the client's last must still be kept.
        if seq.saturating_add(1) < state.first || seq >= state.next {
            trace::debug!(
                pid,
                offset,
                "socket.io: recovery refused, offset no longer kept"
            );
            return None;
        }
        let (_, session) = state.sessions.remove(pid)?;
        let start = usize::try_from(seq + 1 - state.first).ok()?;
        let missed = state
            .packets
            .iter()
            .skip(start)
            .filter(|k| included(&session.rooms, k))
            .map(|k| k.packet.clone())
            .collect();
        Some(RestoredSession { session, missed })
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use socketio_protocol::socket::encode_event;

    use super::*;

    fn store(max_packets: usize, max_bytes: usize) -> MemorySessionStore {
        MemorySessionStore::new(
            ConnectionStateRecovery::default()
                .max_packets(max_packets)
                .max_bytes(max_bytes),
        )
    }

    fn event(n: u32) -> EncodedPacket {
        encode_event(&mut BytesMut::new(), "/", "m", None, &n).expect("encode")
    }

    fn offset_of(p: &EncodedPacket) -> String {
        let args: serde_json::Value =
            serde_json::from_str(p.text.strip_prefix("42").expect("event")).expect("JSON");
        args[2].as_str().expect("offset").to_owned()
    }

    fn session(pid: &str, rooms: &[&str]) -> Session {
        Session::new(
            Str::from("sid".to_owned()),
            Str::from(pid.to_owned()),
            rooms.iter().map(|r| Room::from((*r).to_owned())).collect(),
            serde_json::Value::Null,
        )
    }

    #[test]
    fn packets_past_the_cap_are_dropped_and_a_client_that_missed_one_is_not_recovered() {
        let store = store(2, usize::MAX);
        let all = BroadcastOptions::default();
        let first = offset_of(&store.keep(event(1), &all));
        let second = offset_of(&store.keep(event(2), &all));
        let third = store.keep(event(3), &all);
        let fourth = store.keep(event(4), &all);
        store.persist(session("p", &["sid"]));
        assert!(store.take("p", &first).is_none(), "packet 2 was dropped");
        // Packet 2 itself is gone, but every one after it is kept.
        let restored = store.take("p", &second).expect("packets 3 and 4 kept");
        assert_eq!(restored.missed, vec![third, fourth]);
        assert!(store.take("p", &second).is_none(), "restored once");
    }

    #[test]
    fn offsets_are_the_epoch_and_the_sequence() {
        let store = store(10, usize::MAX);
        for seq in [0, 7, 10, 12345, u64::MAX] {
            assert_eq!(store.offset(seq), format!("{:08x}-{seq}", store.epoch));
        }
    }

    #[test]
    fn the_byte_cap_bounds_what_is_kept() {
        // `,"<8 hex digits>-<digit>"`
        let one = event(1).text.len() + 13 + PACKET_OVERHEAD;
        let store = store(usize::MAX, 2 * one);
        let all = BroadcastOptions::default();
        for n in 0..10 {
            store.keep(event(n), &all);
        }
        let state = crate::lock(&store.state);
        assert!(state.bytes <= 2 * one, "{} > {}", state.bytes, 2 * one);
        assert_eq!(state.dropped, 8);
    }

    #[test]
    fn missed_packets_follow_their_rooms_and_exceptions() {
        let store = store(100, usize::MAX);
        let room = |r: &str| vec![Room::from(r.to_owned())];
        let first = offset_of(&store.keep(event(0), &BroadcastOptions::default()));
        let to_a = store.keep(event(1), &BroadcastOptions::new(room("a"), vec![]));
        store.keep(event(2), &BroadcastOptions::new(room("c"), vec![]));
        store.keep(event(3), &BroadcastOptions::new(vec![], room("b")));
        let own = store.keep(event(4), &BroadcastOptions::new(room("sid"), vec![]));
        store.keep(event(5), &BroadcastOptions::default().with_volatile(true));
        store.persist(session("p", &["sid", "a", "b"]));
        let restored = store.take("p", &first).expect("restored");
        assert_eq!(restored.missed, vec![to_a, own]);
        assert!(store.take("q", &first).is_none(), "unknown pid");
        assert!(store.take("p", "0-0").is_none(), "another epoch");
    }
}
