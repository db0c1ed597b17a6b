//! The adapter's Redis Streams mode (`RedisAdapterConfigBuilder::streams`)
//! next to Node's `@socket.io/redis-streams-adapter` 0.3
//! (`tests/node/streams_server.mjs`): a mixed cluster on one stream;
//! connection state recovery across servers, the session kept in Redis and
//! the missed events read back from the stream, with the official client
//! (behind a proxy of `tests/node/streams_clients.mjs` that takes it from
//! one server to another) and with ours; Redis restarting or falling behind.
//!
//! Each test has a stream, a channel prefix and a session key prefix of its
//! own ([`Names`]), so tests share the Redis of the suite safely.

mod cluster;
mod outage;
mod recovery;

use std::{collections::BTreeSet, time::Duration};

use serde_json::Value;
use socketio_axum::{ConnectionStateRecovery, SocketIoConfig};
use socketio_redis::{RedisAdapterConfig, RedisAdapterConfigBuilder};

use crate::harness::{config, unique_prefix, NodeServer, RustServer};

/// The names the servers of one test share, and no other test uses.
struct Names {
    /// The stream (Node's `streamName`).
    stream: String,
    /// The prefix of the pub/sub channels (Node's `channelPrefix`).
    channels: String,
    /// The prefix of the session keys (Node's `sessionKeyPrefix`).
    sessions: String,
}

impl Names {
    fn new(test: &str) -> Names {
        let prefix = unique_prefix(test);
        Names {
            stream: format!("{prefix}-stream"),
            channels: format!("{prefix}-ch"),
            sessions: format!("{prefix}-sess:"),
        }
    }

    /// The adapter configuration of ours, in streams mode on these names.
    fn adapter(&self, redis: &str) -> RedisAdapterConfigBuilder {
        config(&self.channels, redis)
            .streams(self.stream.as_str())
            .session_key_prefix(self.sessions.as_str())
    }

    /// One of ours; with `window`, connection state recovery is on.
    async fn ours(&self, name: &str, redis: &str, window: Option<Duration>) -> RustServer {
        ours_with(name, self.adapter(redis).build(), window).await
    }

    /// Node's; with `window`, connection state recovery is on.
    async fn node(&self, redis: &str, window: Option<Duration>) -> NodeServer {
        let ms = window.map(|w| w.as_millis().to_string());
        let mut env = vec![
            ("REDIS_URL", redis),
            ("STREAM_NAME", self.stream.as_str()),
            ("CHANNEL_PREFIX", self.channels.as_str()),
            ("SESSION_KEY_PREFIX", self.sessions.as_str()),
        ];
        if let Some(ms) = &ms {
            env.push(("MAX_DISCONNECTION_DURATION", ms));
        }
        NodeServer::start_streams(&env).await
    }
}

/// One of ours with this adapter configuration; with `window`, connection
/// state recovery is on.
async fn ours_with(
    name: &str,
    adapter: RedisAdapterConfig,
    window: Option<Duration>,
) -> RustServer {
    let mut sio = SocketIoConfig::builder();
    if let Some(window) = window {
        sio = sio.connection_state_recovery(
            ConnectionStateRecovery::default().max_disconnection_duration(window),
        );
    }
    RustServer::start_configured(name, adapter, sio.build()).await
}

impl Names {
    /// Checks that the last of `args` is the id of an entry of the
    /// stream, the broadcast of event `ev`: the offset of that event.
    async fn assert_offset_of(&self, redis: &str, args: &[Value], ev: &str) {
        let Some(Value::String(offset)) = args.last() else {
            panic!("no offset in {ev} {args:?}");
        };
        let mut conn = redis::Client::open(redis)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
            .arg(&self.stream)
            .arg(offset)
            .arg(offset)
            .query_async(&mut conn)
            .await
            .unwrap();
        let data = entries
            .first()
            .and_then(|(_, fields)| {
                let at = fields.iter().position(|f| f == "data")?;
                fields.get(at + 1)
            })
            .unwrap_or_else(|| panic!("no entry {offset} for {ev}: {entries:?}"));
        assert!(
            data.contains(&format!("[\"{ev}\"")),
            "the offset of {ev} is the entry of another event: {data}"
        );
    }
}

impl Names {
    /// Appends entries no server can read to the stream: one whose `data`
    /// is not UTF-8, one with a field whose name is not UTF-8 and whose
    /// `data` is neither JSON nor base64 msgpack. Node drops such entries;
    /// the readers and restores must go on past them.
    async fn append_malformed(&self, redis: &str) {
        let mut conn = redis::Client::open(redis)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let entries: [&[(&[u8], &[u8])]; 2] = [
            &[
                (b"uid", b"someone-else"),
                (b"nsp", b"/"),
                (b"type", b"3"),
                (b"data", &[0xff, 0xfe, b'{']),
            ],
            &[
                (b"uid", b"someone-else"),
                (b"nsp", b"/"),
                (b"type", b"3"),
                (&[0xff, 0xfe], b"x"),
                (b"data", b"not an entry"),
            ],
        ];
        for fields in entries {
            let mut cmd = redis::cmd("XADD");
            cmd.arg(&self.stream).arg("*");
            for (name, value) in fields {
                cmd.arg(*name).arg(*value);
            }
            let _: String = cmd.query_async(&mut conn).await.unwrap();
        }
    }
}

fn set<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> BTreeSet<String> {
    items.into_iter().map(|s| s.as_ref().to_owned()).collect()
}
