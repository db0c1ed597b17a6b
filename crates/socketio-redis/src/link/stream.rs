//! The reader of the streams protocol: one connection of its own, blocked
//! in `XREAD` on the stream, that hands each entry on in order, and
//! reconnects (reading on from the last entry it saw) when Redis goes.

use std::time::Duration;

use redis::{AsyncConnectionConfig, Client, RedisError, Value};
use tokio::sync::{oneshot, watch};

use super::{StreamTarget, CONNECT_TIMEOUT, MAX_BACKOFF, MIN_BACKOFF};
use crate::trace;

/// What the reader hands on: each entry, in order.
pub(crate) type OnEntry = Box<dyn Fn(&Entry) + Send + Sync>;

/// One entry of a stream: its id and its fields, as bytes (anyone can
/// append anything: nothing here assumes UTF-8 or a shape).
#[derive(Debug, Clone, Default)]
pub(crate) struct Entry {
    pub(crate) id: String,
    pub(crate) fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Entry {
    /// The value of field `name`, if the entry has it.
    pub(crate) fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(k, _)| k == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }
}

fn bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        _ => None,
    }
}

/// The entries of an `XRANGE` reply (`[[id, [field, value, ...]], ...]`).
/// An entry without a readable id is left out; one whose fields cannot be
/// read has none, so that a reader still goes past it.
pub(crate) fn range_entries(reply: &Value) -> Vec<Entry> {
    let Value::Array(items) = reply else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let Value::Array(parts) = item else {
                return None;
            };
            let id = String::from_utf8(bytes(parts.first()?)?).ok()?;
            let fields = match parts.get(1) {
                Some(Value::Array(kv)) => kv
                    .chunks_exact(2)
                    .filter_map(|pair| Some((bytes(&pair[0])?, bytes(&pair[1])?)))
                    .collect(),
                Some(Value::Map(kv)) => kv
                    .iter()
                    .filter_map(|(k, v)| Some((bytes(k)?, bytes(v)?)))
                    .collect(),
                _ => Vec::new(),
            };
            Some(Entry { id, fields })
        })
        .collect()
}

/// The entries of an `XREAD` reply on one stream (`nil`, or
/// `[[stream, entries]]`, or a map of stream to entries in RESP3).
fn read_entries(reply: &Value) -> Vec<Entry> {
    match reply {
        Value::Array(streams) => streams
            .iter()
            .filter_map(|s| match s {
                Value::Array(pair) => pair.get(1).map(range_entries),
                _ => None,
            })
            .flatten()
            .collect(),
        Value::Map(streams) => streams
            .iter()
            .flat_map(|(_, entries)| range_entries(entries))
            .collect(),
        _ => Vec::new(),
    }
}

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
    pub(crate) async fn run(self, mut stop: oneshot::Receiver<()>, reading: watch::Sender<bool>) {
        // The last entry seen. Unlike Node's reader, which asks for `$`
        // again after each empty read (and so misses what is appended
        // between two reads), it starts from the stream's last entry and
        // goes on from each entry it saw.
        let mut offset: Option<String> = None;
        let mut backoff = MIN_BACKOFF;
        let mut reported = false;
        loop {
            let read = self.read(&mut offset, &mut backoff, &mut reported, &reading);
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
        reading: &watch::Sender<bool>,
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
            let last: Result<Value, _> = redis::cmd("XREVRANGE")
                .arg(name)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut conn)
                .await;
            match last {
                Ok(last) => {
                    let id = range_entries(&last).into_iter().next().map(|e| e.id);
                    *offset = Some(id.unwrap_or_else(|| "0-0".to_owned()));
                    reading.send_replace(true);
                }
                Err(e) => return e,
            }
        }
        let block = u64::try_from(self.block.as_millis()).unwrap_or(u64::MAX);
        loop {
            let from = offset.clone().unwrap_or_else(|| "0-0".to_owned());
            let reply: Result<Value, _> = redis::cmd("XREAD")
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
                    for entry in read_entries(&reply) {
                        (self.on_entry)(&entry);
                        *offset = Some(entry.id);
                    }
                }
                Err(e) => return e,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &[u8]) -> Value {
        Value::BulkString(s.to_vec())
    }

    #[test]
    fn entries_are_read_as_bytes_and_an_unreadable_one_is_still_passed() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk(b"s"),
            Value::Array(vec![
                Value::Array(vec![
                    bulk(b"1-0"),
                    Value::Array(vec![bulk(b"\xff"), bulk(b"x"), bulk(b"nsp"), bulk(b"/")]),
                ]),
                Value::Array(vec![bulk(b"1-1"), Value::Int(3)]),
                Value::Int(7),
            ]),
        ])]);
        let entries = read_entries(&reply);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].id, "1-0");
        assert_eq!(entries[0].get("nsp"), Some(&b"/"[..]));
        assert_eq!(entries[1].id, "1-1");
        assert!(entries[1].fields.is_empty());
        assert!(read_entries(&Value::Nil).is_empty());
    }
}
