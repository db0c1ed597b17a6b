//! The reader of the streams protocol: one connection of its own, blocked
//! in `XREAD` on the stream, that hands each entry on in order, and
//! reconnects (reading on from the last entry it saw) when Redis goes.

use std::{collections::HashMap, time::Duration};

use redis::{
    streams::{StreamRangeReply, StreamReadReply},
    AsyncConnectionConfig, Client, RedisError,
};
use tokio::sync::oneshot;

use super::{StreamTarget, CONNECT_TIMEOUT, MAX_BACKOFF, MIN_BACKOFF};
use crate::trace;

/// What the reader hands on: the entry's id and its fields.
pub(crate) type OnEntry = Box<dyn Fn(&str, &HashMap<String, redis::Value>) + Send + Sync>;

/// How the reader reads.
pub(crate) struct Reader {
    pub(crate) client: Client,
    pub(crate) target: StreamTarget,
    /// Entries per `XREAD` at most (Node's `readCount`).
    pub(crate) count: usize,
    /// How long one `XREAD` blocks (Node's `blockTimeInMs`).
    pub(crate) block: Duration,
    pub(crate) on_entry: OnEntry,
}

impl Reader {
    /// Reads until `stop` fires (or its sender is dropped).
    pub(crate) async fn run(self, mut stop: oneshot::Receiver<()>) {
        // The last entry seen. Unlike Node's reader, which asks for `$`
        // again after each empty read (and so misses what is appended
        // between two reads), it starts from the stream's last entry and
        // goes on from each entry it saw.
        let mut offset: Option<String> = None;
        let mut backoff = MIN_BACKOFF;
        let mut reported = false;
        loop {
            let read = self.read(&mut offset, &mut backoff, &mut reported);
            tokio::select! {
                e = read => {
                    if !std::mem::replace(&mut reported, true) {
                        trace::warn!(error = %e, stream = %self.target.name, "redis adapter: cannot read the stream, retrying");
                    }
                }
                _ = &mut stop => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = &mut stop => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Connects and reads until an error.
    async fn read(
        &self,
        offset: &mut Option<String>,
        backoff: &mut Duration,
        reported: &mut bool,
    ) -> RedisError {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(self.block + CONNECT_TIMEOUT));
        let mut conn = match self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(conn) => conn,
            Err(e) => return e,
        };
        let name = &self.target.name;
        if offset.is_none() {
            let last: Result<StreamRangeReply, _> = redis::cmd("XREVRANGE")
                .arg(name)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut conn)
                .await;
            match last {
                Ok(last) => {
                    let id = last.ids.first().map(|e| e.id.clone());
                    *offset = Some(id.unwrap_or_else(|| "0-0".to_owned()));
                }
                Err(e) => return e,
            }
        }
        let block = u64::try_from(self.block.as_millis()).unwrap_or(u64::MAX);
        loop {
            let from = offset.clone().unwrap_or_else(|| "0-0".to_owned());
            let reply: Result<Option<StreamReadReply>, _> = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(self.count)
                .arg("BLOCK")
                .arg(block)
                .arg("STREAMS")
                .arg(name)
                .arg(&from)
                .query_async(&mut conn)
                .await;
            match reply {
                Ok(reply) => {
                    *backoff = MIN_BACKOFF;
                    if std::mem::take(reported) {
                        trace::info!(stream = %name, "redis adapter: reading the stream again");
                    }
                    for key in reply.map(|r| r.keys).unwrap_or_default() {
                        for entry in key.ids {
                            (self.on_entry)(&entry.id, &entry.map);
                            *offset = Some(entry.id);
                        }
                    }
                }
                Err(e) => return e,
            }
        }
    }
}
