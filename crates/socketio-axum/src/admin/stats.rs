//! The `server_stats` report, every 2 s (Node's `initStatsEmitter`): this
//! server's id, sessions, namespaces, and the counts for the UI's charts
//! since the last report.

use std::{
    sync::{atomic::Ordering, Arc, Weak},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::{json, Value};
use socketio_protocol::Str;

use super::notify::{AdminObserver, Counts};
use crate::{io::ServerInner, SocketIo};

/// Node's interval.
const EVERY: Duration = Duration::from_secs(2);

/// The machine's host name (Node's `os.hostname()`), or `localhost` if it
/// cannot be read.
pub(super) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Starts the report: one now, then one every 2 s until the server is dropped.
pub(super) fn spawn(io: &SocketIo, ns: Str, server_id: String, observer: Arc<AdminObserver>) {
    let server: Weak<ServerInner> = Arc::downgrade(&io.inner);
    let host = hostname();
    let started = Instant::now();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(inner) = server.upgrade() else {
                return;
            };
            let io = SocketIo { inner };
            // Deleted by the application: nobody to tell.
            let Some(admin) = io.of(&ns) else { continue };
            let dropped = observer.counts.dropped.swap(0, Ordering::Relaxed);
            if dropped > 0 {
                crate::trace::warn!(
                    dropped,
                    "socket.io admin: notifications dropped, the admin task fell behind"
                );
            }
            let namespaces: Vec<Value> = io
                .inner
                .namespaces
                .iter()
                .map(|ns| json!({ "name": ns.key(), "socketsCount": ns.sockets.len() }))
                .collect();
            let (clients, polling) = io
                .engine()
                .map_or((0, 0), |e| (e.session_count(), e.polling_session_count()));
            let stats = json!({
                "serverId": server_id,
                "hostname": host,
                "pid": std::process::id(),
                "uptime": started.elapsed().as_secs_f64(),
                "clientsCount": clients,
                "pollingClientsCount": polling,
                "aggregatedEvents": aggregated(&observer.counts, SystemTime::now()),
                "namespaces": namespaces,
            });
            if let Err(e) = admin.emit("server_stats", &stats) {
                crate::trace::debug!(error = %e, "socket.io admin: server_stats not sent to every server");
            }
        }
    });
}

/// The counts since the last call, as Node's `EventBuffer` gives them:
/// `{ timestamp, type, subType, count }`, stamped with the current second.
fn aggregated(counts: &Counts, now: SystemTime) -> Vec<Value> {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let timestamp = secs * 1000;
    let mut out = Vec::new();
    let mut push = |kind: &str, sub: Option<&str>, count: u64| {
        if count > 0 {
            let mut e = json!({ "timestamp": timestamp, "type": kind, "count": count });
            if let Some(sub) = sub {
                e["subType"] = Value::from(sub);
            }
            out.push(e);
        }
    };
    let take = |c: &std::sync::atomic::AtomicU64| c.swap(0, Ordering::Relaxed);
    push("rawConnection", None, take(&counts.connections));
    push("packetsIn", None, take(&counts.packets_in));
    push("bytesIn", None, take(&counts.bytes_in));
    push("packetsOut", None, take(&counts.packets_out));
    push("bytesOut", None, take(&counts.bytes_out));
    let closed = std::mem::take(&mut *crate::lock(&counts.disconnections));
    for (reason, count) in closed {
        push("rawDisconnection", Some(reason), count);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_taken_once() {
        let counts = Counts::default();
        counts.packets_in.fetch_add(3, Ordering::Relaxed);
        counts.bytes_in.fetch_add(40, Ordering::Relaxed);
        crate::lock(&counts.disconnections).insert("ping timeout", 2);
        let at = UNIX_EPOCH + Duration::from_millis(5_250);
        let events = aggregated(&counts, at);
        assert_eq!(
            events,
            vec![
                json!({ "timestamp": 5000, "type": "packetsIn", "count": 3 }),
                json!({ "timestamp": 5000, "type": "bytesIn", "count": 40 }),
                json!({ "timestamp": 5000, "type": "rawDisconnection", "subType": "ping timeout", "count": 2 }),
            ]
        );
        assert!(aggregated(&counts, at).is_empty());
    }
}
