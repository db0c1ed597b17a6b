//! Connection state recovery across servers, as Node's
//! `@socket.io/redis-streams-adapter` keeps it: a broadcast's offset is the
//! id of its entry in the stream, a session is a key of its own that
//! expires with the recovery window, and what a client missed is read back
//! from the stream.

use std::{sync::Arc, time::Duration};

use base64::Engine as _;
use rmpv::Value;
use socketio_axum::{
    adapter::{
        AdapterError, BroadcastOptions, RestoredSession, Room, Session, SessionStore, Stored,
        WeakLocalNamespace,
    },
    handler::BoxFuture,
    Str,
};
use socketio_protocol::socket::{with_offset, EncodedPacket};
use tokio::sync::oneshot;

use super::shared::Core;
use crate::{
    link::{range_entries, Appended, Entry},
    sharded::{self, MessageType},
    trace, value,
    wire::{self, field, map, str_field},
};

/// Calls of `XRANGE` at most when reading what a client missed (Node's
/// limit too: past it, entries come faster than they can be read).
const MAX_RANGE_CALLS: usize = 100;

/// One namespace's [`SessionStore`] in Redis.
pub(super) struct StreamSessions {
    core: Arc<Core>,
    ns: WeakLocalNamespace,
    path: String,
    window: Duration,
}

impl StreamSessions {
    pub(super) fn new(
        core: Arc<Core>,
        ns: WeakLocalNamespace,
        path: String,
        window: Duration,
    ) -> Self {
        StreamSessions {
            core,
            ns,
            path,
            window,
        }
    }

    fn key(&self, pid: &str) -> String {
        let prefix = self
            .core
            .config
            .streams()
            .map(|s| s.session_key_prefix.as_str())
            .unwrap_or_default();
        format!("{prefix}{pid}")
    }

    fn stream(&self) -> String {
        self.core
            .config
            .stream_name()
            .unwrap_or_default()
            .to_owned()
    }
}

impl SessionStore for StreamSessions {
    fn store(&self, packet: EncodedPacket, opts: &BroadcastOptions) -> Stored {
        // Node publishes neither local nor (for the offset) volatile ones.
        if opts.local || opts.volatile {
            return Stored::Now(packet);
        }
        let Some((event, args)) = wire::event_of_encoded(&packet) else {
            let error = AdapterError::new("redis adapter: cannot read a broadcast packet");
            return Stored::Failed { packet, error };
        };
        let fields = sharded::broadcast(&self.core.uid, &self.path, (&event, args), opts, None)
            .stream_fields();
        let (tx, rx) = oneshot::channel();
        let (ns, kept, target) = (self.ns.clone(), packet.clone(), opts.clone());
        let appended: Appended = Box::new(move |id| {
            let Some(ns) = ns.upgrade() else {
                return;
            };
            let result = match id {
                Ok(id) => {
                    let packet = with_offset(&kept, &id).unwrap_or(kept);
                    ns.broadcast_stored(packet, &target);
                    Ok(())
                }
                // Delivered here all the same, without an offset (Node
                // drops it): the client cannot recover it, but gets it.
                Err(e) => {
                    trace::warn!(ns = %ns.path(), error = %e, "redis adapter: a broadcast could not be appended to the stream; delivered on this server only, without an offset");
                    ns.broadcast_stored(kept, &target);
                    Err(e)
                }
            };
            let _ = tx.send(result);
        });
        match self.core.link.append(fields, appended) {
            Ok(()) => Stored::Later(Box::pin(async move {
                rx.await
                    .unwrap_or_else(|_| Err(AdapterError::unavailable("redis adapter: stopped")))
            })),
            // Not queued (Redis away, the queue full): this server's
            // sockets get it now, without an offset, and the emit fails.
            Err(error) => Stored::Failed { packet, error },
        }
    }

    fn persist(&self, session: Session) {
        let key = self.key(&session.pid);
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(value::write_msgpack(&session_value(&session)));
        let ms = u64::try_from(self.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let core = self.core.clone();
        tokio::spawn(async move {
            let set = core
                .link
                .query::<()>("cannot keep a session", || {
                    let mut pipe = redis::pipe();
                    pipe.cmd("SET")
                        .arg(&key)
                        .arg(&encoded)
                        .arg("PX")
                        .arg(ms)
                        .ignore();
                    pipe
                })
                .await;
            if let Err(e) = set {
                trace::warn!(error = %e, "redis adapter: a session for connection state recovery was not kept");
            }
        });
    }

    fn restore(&self, pid: &str, offset: &str) -> BoxFuture<Option<RestoredSession>> {
        let key = self.key(pid);
        let stream = self.stream();
        let core = self.core.clone();
        let path = self.path.clone();
        let offset = offset.to_owned();
        Box::pin(async move {
            let Some(next) = next_offset(&offset) else {
                trace::debug!(offset, "redis adapter: recovery refused, invalid offset");
                return None;
            };
            let taken =
                core.link
                    .query::<(Option<Vec<u8>>, i64)>("cannot restore a session", || {
                        let mut pipe = redis::pipe();
                        pipe.atomic().get(&key).del(&key);
                        pipe
                    });
            let found = core
                .link
                .query::<(redis::Value,)>("cannot restore a session", || {
                    let mut pipe = redis::pipe();
                    pipe.cmd("XRANGE").arg(&stream).arg(&offset).arg(&offset);
                    pipe
                });
            let (taken, found) = tokio::join!(taken, found);
            let (Ok((Some(raw), _)), Ok((found,))) = (taken, found) else {
                trace::debug!(
                    offset,
                    "redis adapter: recovery refused, session or offset not found"
                );
                return None;
            };
            if range_entries(&found).is_empty() {
                trace::debug!(
                    offset,
                    "redis adapter: recovery refused, offset no longer in the stream"
                );
                return None;
            }
            let Some(session) = decode_session(&raw) else {
                trace::warn!("redis adapter: recovery refused, the session cannot be read");
                return None;
            };
            let mut missed = Vec::new();
            let mut from = next;
            for _ in 0..MAX_RANGE_CALLS {
                let range = core
                    .link
                    .query::<(redis::Value,)>("cannot read missed packets", || {
                        let mut pipe = redis::pipe();
                        pipe.cmd("XRANGE").arg(&stream).arg(&from).arg("+");
                        pipe
                    })
                    .await;
                let Ok((range,)) = range else {
                    // A gap would lose packets silently: no recovery.
                    trace::warn!(
                        "redis adapter: recovery refused, the missed packets could not be read"
                    );
                    return None;
                };
                let range = range_entries(&range);
                let Some(last) = range.last() else {
                    break;
                };
                let Some(following) = next_offset(&last.id) else {
                    break;
                };
                for entry in &range {
                    if let Some(packet) = missed_packet(&path, &session.rooms, entry) {
                        missed.push(packet);
                    }
                }
                from = following;
            }
            Some(RestoredSession::new(session, missed))
        })
    }
}

/// The offset after `offset` (`ms-seq`), if it is one (Node's check).
fn next_offset(offset: &str) -> Option<String> {
    let (ms, seq) = offset.split_once('-')?;
    if ms.is_empty() || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seq: u64 = seq.parse().ok()?;
    Some(format!("{ms}-{}", seq.checked_add(1)?))
}

/// `{sid, pid, rooms, data}`, as Node's adapter keeps a session.
fn session_value(session: &Session) -> Value {
    // Node's `socket.data` is `{}` until set: a session recovered there
    // must not come back with `null`.
    let data = match &session.data {
        serde_json::Value::Null => Value::Map(Vec::new()),
        data => serde_json::to_string(data)
            .ok()
            .and_then(|json| value::parse_json(&json).ok())
            .unwrap_or(Value::Map(Vec::new())),
    };
    map(vec![
        ("sid", Value::from(session.sid.as_str())),
        ("pid", Value::from(session.pid.as_str())),
        ("rooms", wire::rooms(&session.rooms)),
        ("data", data),
    ])
}

fn decode_session(raw: &[u8]) -> Option<Session> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(raw).ok()?;
    let v = value::read_msgpack(&bytes).ok()?;
    let text = |name| str_field(&v, name).map(|s| Str::from(s.to_owned()));
    let data = field(&v, "data")
        .and_then(|d| serde_json::from_str(&value::to_json(d)).ok())
        .unwrap_or(serde_json::Value::Null);
    Some(Session::new(
        text("sid")?,
        text("pid")?,
        wire::rooms_field(&v, "rooms"),
        data,
    ))
}

/// The packet of a broadcast entry that a socket in `rooms` missed, with
/// the entry's id as offset. Unlike Node's, volatile broadcasts and
/// packets that expect an acknowledgement are not replayed.
fn missed_packet(path: &str, rooms: &[Room], entry: &Entry) -> Option<EncodedPacket> {
    let msg = sharded::from_stream_fields(|name| entry.get(name).map(<[u8]>::to_vec))?;
    if str_field(&msg, "nsp") != Some(path) || MessageType::of(&msg) != Some(MessageType::Broadcast)
    {
        return None;
    }
    let data = field(&msg, "data")?;
    if field(data, "requestId").is_some() {
        return None;
    }
    let packet = field(data, "packet")?;
    if field(packet, "id").is_some() {
        return None;
    }
    let (opts, _) = wire::opts_of(field(data, "opts"));
    let included = (opts.rooms.is_empty() || rooms.iter().any(|r| opts.rooms.contains(r)))
        && rooms.iter().all(|r| !opts.except.contains(r));
    if !included || opts.volatile {
        return None;
    }
    let (_, event, args) = wire::event_of_packet(packet)?;
    let mut args = args.to_vec();
    args.push(Value::from(entry.id.as_str()));
    Some(wire::local_packet(path, event, &args))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A broadcast entry as Node's streams adapter appends it.
    fn entry(id: &str, nsp: &str, data: &str) -> Entry {
        let fields = [("uid", "u"), ("nsp", nsp), ("type", "3"), ("data", data)];
        Entry {
            id: id.to_owned(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
        }
    }

    #[test]
    fn missed_packets_are_the_session_s_non_volatile_events_without_acks() {
        let rooms = [Room::from("sid".to_owned()), Room::from("a".to_owned())];
        let packet = |opts: &str| {
            format!(
                r#"{{"packet":{{"type":2,"data":["m",1]}},"opts":{{"rooms":{opts},"except":[],"flags":{{}}}}}}"#
            )
        };
        let to_a = entry("5-0", "/", &packet(r#"["a"]"#));
        assert_eq!(
            missed_packet("/", &rooms, &to_a).expect("kept").text,
            r#"42["m",1,"5-0"]"#
        );
        // Another room, another namespace: not the session's.
        assert!(missed_packet("/", &rooms, &entry("5-1", "/", &packet(r#"["b"]"#))).is_none());
        assert!(missed_packet("/", &rooms, &entry("5-2", "/chat", &packet("[]"))).is_none());
        // Volatile, or waiting for an acknowledgement: never replayed.
        let volatile = r#"{"packet":{"type":2,"data":["m"]},"opts":{"rooms":[],"except":[],"flags":{"volatile":true}}}"#;
        assert!(missed_packet("/", &rooms, &entry("5-3", "/", volatile)).is_none());
        let with_ack = r#"{"packet":{"type":2,"data":["m"],"id":0},"opts":{"rooms":["sid"],"except":[],"flags":{}}}"#;
        assert!(missed_packet("/", &rooms, &entry("5-4", "/", with_ack)).is_none());
        // Excluded by `except`.
        let except =
            r#"{"packet":{"type":2,"data":["m"]},"opts":{"rooms":[],"except":["a"],"flags":{}}}"#;
        assert!(missed_packet("/", &rooms, &entry("5-5", "/", except)).is_none());
    }

    #[test]
    fn offsets_are_stream_ids() {
        assert_eq!(
            next_offset("1796627778009-1").as_deref(),
            Some("1796627778009-2")
        );
        assert_eq!(next_offset("0-0").as_deref(), Some("0-1"));
        assert_eq!(next_offset("abc-1"), None);
        assert_eq!(next_offset("12"), None);
        assert_eq!(next_offset("-1"), None);
        assert_eq!(next_offset("1-x"), None);
    }

    #[test]
    fn a_session_is_node_s_msgpack() {
        // What Node's adapter stored for {sid, pid, rooms, data} (captured).
        let node = "hKNzaWS0bnVwa3pQWFN2bDE1cTdCNEFBQUGjcGlktDJVS0NQTHc1T2tseENMVW5BQUFCpXJvb21zlbRudXBrelBYU3ZsMTVxN0I0QUFBQaJyMaJyMqJqMaJqMqRkYXRhgaRuYW1lomMy";
        let session = decode_session(node.as_bytes()).expect("decoded");
        assert_eq!(session.sid.as_str(), "nupkzPXSvl15q7B4AAAA");
        assert_eq!(session.pid.as_str(), "2UKCPLw5OklxCLUnAAAB");
        assert_eq!(session.rooms.len(), 5);
        assert_eq!(session.data, serde_json::json!({"name": "c2"}));
        let ours = base64::engine::general_purpose::STANDARD
            .encode(value::write_msgpack(&session_value(&session)));
        assert_eq!(ours, node);
    }
}
