//! The observer that feeds the admin namespace: hooks record counts and
//! queue notices; one task per server turns notices into emits to the
//! admin namespace (cluster-wide, through the adapter), so that no hook
//! encodes, locks the admin namespace or waits.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex, Weak,
    },
    time::{SystemTime, UNIX_EPOCH},
};

use engineio_tower::{CloseReason, Sid};
use serde_json::{json, Value};
use socketio_protocol::Str;
use tokio::sync::mpsc;

use super::{serialize, Mode};
use crate::{
    adapter::Room, client::Conn, io::ServerInner, observe::Observer, DisconnectReason, SocketIo,
    SocketRef,
};

/// Notices queued for the admin task before new ones are dropped (counted,
/// and reported in `tracing` with the next `server_stats`).
const QUEUE: usize = 8192;

/// Events received or sent are dropped first: once the queue is three
/// quarters full, or holds this many bytes of their arguments, so that the
/// sockets' comings and goings still find room (the UI would show a socket
/// gone as still there) and a flood of large events cannot pin memory.
const EVENTS_FULL: usize = QUEUE / 4 * 3;
const EVENTS_MAX_BYTES: usize = 4 << 20;

/// Something to tell the UI, with when it happened.
pub(super) struct Notice {
    at: SystemTime,
    what: What,
}

enum What {
    /// The socket as it was when it connected: its rooms then, not those
    /// its connect handler joins next (the UI adds those from
    /// `room_joined`, and would count them twice).
    Connected(Value),
    Transport(SocketRef),
    Data(SocketRef),
    Disconnected(SocketRef, DisconnectReason),
    Joined(Str, Room, Sid),
    Left(Str, Room, Sid),
    Received(Str, Sid, Str, Str),
    Sent(Str, Sid, Str),
}

/// Counts for the UI's charts (Node's `aggregatedEvents`), taken by the
/// `server_stats` report.
#[derive(Default)]
pub(super) struct Counts {
    pub(super) connections: AtomicU64,
    pub(super) packets_in: AtomicU64,
    pub(super) bytes_in: AtomicU64,
    pub(super) packets_out: AtomicU64,
    pub(super) bytes_out: AtomicU64,
    /// Closed sessions by reason: rare enough for a lock.
    pub(super) disconnections: Mutex<HashMap<&'static str, u64>>,
    /// Notices dropped because the queue was full.
    pub(super) dropped: AtomicU64,
    /// Bytes of event arguments queued in notices.
    queued_bytes: AtomicUsize,
}

pub(super) struct AdminObserver {
    ns: Str,
    verbose: bool,
    tx: mpsc::Sender<Notice>,
    pub(super) counts: Counts,
}

impl AdminObserver {
    pub(super) fn new(ns: Str, mode: Mode) -> (AdminObserver, mpsc::Receiver<Notice>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let observer = AdminObserver {
            ns,
            verbose: mode == Mode::Development,
            tx,
            counts: Counts::default(),
        };
        (observer, rx)
    }

    fn notify(&self, what: What) {
        let notice = Notice {
            at: SystemTime::now(),
            what,
        };
        if self.tx.try_send(notice).is_err() {
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queues an event's notice, `len` bytes of arguments, unless events
    /// already take their share of the queue.
    fn notify_event(&self, len: usize, what: impl FnOnce() -> What) {
        let queued = self.counts.queued_bytes.load(Ordering::Relaxed);
        if QUEUE - self.tx.capacity() >= EVENTS_FULL || queued + len > EVENTS_MAX_BYTES {
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.counts.queued_bytes.fetch_add(len, Ordering::Relaxed);
        let notice = Notice {
            at: SystemTime::now(),
            what: what(),
        };
        if self.tx.try_send(notice).is_err() {
            self.counts.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn is_admin(&self, ns: &str) -> bool {
        ns == self.ns.as_str()
    }
}

impl Observer for AdminObserver {
    fn connection_opened(&self, _conn: &Conn) {
        self.counts.connections.fetch_add(1, Ordering::Relaxed);
    }

    fn wants_upgrades(&self) -> bool {
        self.verbose
    }

    fn connection_upgraded(&self, _conn: &Conn, sockets: &[SocketRef]) {
        for socket in sockets {
            self.notify(What::Transport(socket.clone()));
        }
    }

    fn connection_closed(&self, _conn: &Conn, reason: CloseReason) {
        *crate::lock(&self.counts.disconnections)
            .entry(reason.as_str())
            .or_default() += 1;
    }

    fn message_received(&self, len: usize) {
        // Two shared counters per message: the price of the charts, paid
        // only on an instrumented server, as Node's instrumentation pays it.
        self.counts.packets_in.fetch_add(1, Ordering::Relaxed);
        self.counts
            .bytes_in
            .fetch_add(len as u64, Ordering::Relaxed);
    }

    fn socket_connected(&self, socket: &SocketRef) {
        if self.verbose {
            let shown = serialize::from_data(socket.ns(), &socket.describe());
            self.notify(What::Connected(shown));
        }
    }

    fn socket_disconnected(&self, socket: &SocketRef, reason: DisconnectReason) {
        if self.verbose {
            self.notify(What::Disconnected(socket.clone(), reason));
        }
    }

    fn data_updated(&self, socket: &SocketRef) {
        if self.verbose {
            self.notify(What::Data(socket.clone()));
        }
    }

    fn room_joined(&self, ns: &Str, room: &str, sid: Sid) {
        if self.verbose {
            self.notify(What::Joined(ns.clone(), Room::from(room.to_owned()), sid));
        }
    }

    fn room_left(&self, ns: &Str, room: &str, sid: Sid) {
        if self.verbose {
            self.notify(What::Left(ns.clone(), Room::from(room.to_owned()), sid));
        }
    }

    fn event_received(&self, socket: &SocketRef, event: &Str, args: &Str) {
        if self.verbose && !self.is_admin(socket.ns()) {
            self.notify_event(args.len(), || {
                What::Received(
                    socket.ns().clone(),
                    socket.id(),
                    event.clone(),
                    args.clone(),
                )
            });
        }
    }

    fn event_sent(&self, ns: &Str, sid: Sid, text: &Str) {
        // Without the Engine.IO type byte `4`, as Node counts a packet's data.
        let len = text.len().saturating_sub(1);
        self.counts.packets_out.fetch_add(1, Ordering::Relaxed);
        self.counts
            .bytes_out
            .fetch_add(len as u64, Ordering::Relaxed);
        if self.verbose && !self.is_admin(ns) {
            self.notify_event(len, || What::Sent(ns.clone(), sid, text.clone()));
        }
    }

    fn describe(&self, socket: &SocketRef, data: &mut Value) {
        serialize::decorate(socket, data);
    }
}

/// Starts the task that emits the notices to the admin namespace. It ends
/// when the server is dropped.
pub(super) fn spawn(
    io: &SocketIo,
    ns: Str,
    observer: Arc<AdminObserver>,
    mut notices: mpsc::Receiver<Notice>,
) {
    let server: Weak<ServerInner> = Arc::downgrade(&io.inner);
    // Holding the observer would keep the channel open after the server is
    // dropped: the task ends with the server.
    let observer = Arc::downgrade(&observer);
    tokio::spawn(async move {
        while let Some(notice) = notices.recv().await {
            let Some(inner) = server.upgrade() else {
                return;
            };
            if let (What::Received(.., args), Some(o)) = (&notice.what, observer.upgrade()) {
                o.counts
                    .queued_bytes
                    .fetch_sub(args.len(), Ordering::Relaxed);
            }
            if let (What::Sent(.., text), Some(o)) = (&notice.what, observer.upgrade()) {
                let len = text.len().saturating_sub(1);
                o.counts.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            }
            let io = SocketIo { inner };
            // Deleted by the application: nobody to tell.
            let Some(admin) = io.of(&ns) else { continue };
            let at = iso(notice.at);
            let sent = match notice.what {
                What::Connected(shown) => admin.emit("socket_connected", &(shown, at)),
                What::Transport(s) => admin.emit(
                    "socket_updated",
                    &json!({ "id": s.id().to_string(), "nsp": s.ns(), "transport": s.conn().transport().as_str() }),
                ),
                What::Data(s) => admin.emit(
                    "socket_updated",
                    &json!({ "id": s.id().to_string(), "nsp": s.ns(), "data": serialize::user_data(&s.data()) }),
                ),
                What::Disconnected(s, reason) => admin.emit(
                    "socket_disconnected",
                    &(s.ns(), s.id().to_string(), reason.as_str(), at),
                ),
                What::Joined(nsp, room, sid) => {
                    admin.emit("room_joined", &(nsp, room, sid.to_string(), at))
                }
                What::Left(nsp, room, sid) => {
                    admin.emit("room_left", &(nsp, room, sid.to_string(), at))
                }
                What::Received(nsp, sid, event, args) => {
                    let args = event_args(&event, &args);
                    admin.emit("event_received", &(nsp, sid.to_string(), args, at))
                }
                What::Sent(nsp, sid, text) => {
                    let args = packet_args(&text);
                    admin.emit("event_sent", &(nsp, sid.to_string(), args, at))
                }
            };
            if let Err(e) = sent {
                crate::trace::debug!(error = %e, "socket.io admin: a notification was not sent to every server");
            }
        }
    });
}

/// `[event, ...args]` from an event's name and its arguments' raw JSON.
fn event_args(event: &str, args: &str) -> Value {
    let text = if args.is_empty() {
        serde_json::to_string(&[event]).unwrap_or_default()
    } else {
        format!("[{},{args}]", Value::from(event))
    };
    serde_json::from_str(&text).unwrap_or_else(|_| Value::Array(Vec::new()))
}

/// `[event, ...args]` of an encoded event packet (`4`, the type, then an
/// attachment count, a namespace and an ack id, each optional); binary
/// arguments show as their placeholders.
fn packet_args(text: &str) -> Value {
    // The UI takes the name off the front: never anything but an array.
    data_start(text)
        .and_then(|start| serde_json::from_str(&text[start..]).ok())
        .unwrap_or_else(|| Value::Array(Vec::new()))
}

fn data_start(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    // `4`, then the Socket.IO type.
    let mut i = 2;
    if matches!(b.get(1), Some(b'5' | b'6')) {
        i += b[i..].iter().position(|&c| c == b'-')? + 1;
    }
    if b.get(i) == Some(&b'/') {
        i += b[i..].iter().position(|&c| c == b',')? + 1;
    }
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    (i < b.len()).then_some(i)
}

/// `Date.prototype.toJSON` of a time.
pub(super) fn iso(t: SystemTime) -> String {
    let ms = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    socketio_protocol::date::to_iso_string(i64::try_from(ms).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_of_packets_as_sent() {
        assert_eq!(packet_args(r#"42["a",1]"#), json!(["a", 1]));
        assert_eq!(
            packet_args(r#"42/chat,["a",{"b":[2]}]"#),
            json!(["a", {"b": [2]}])
        );
        assert_eq!(packet_args(r#"42/chat,17["a"]"#), json!(["a"]));
        assert_eq!(packet_args(r#"4212["a"]"#), json!(["a"]));
        assert_eq!(
            packet_args(r#"451-/x,["b",{"_placeholder":true,"num":0}]"#),
            json!(["b", {"_placeholder": true, "num": 0}])
        );
        assert_eq!(packet_args("42"), json!([]));
    }

    #[test]
    fn arguments_of_events_as_received() {
        assert_eq!(event_args("a", ""), json!(["a"]));
        assert_eq!(
            event_args("a\"b", r#"1,{"c":null}"#),
            json!(["a\"b", 1, {"c": null}])
        );
    }
}
