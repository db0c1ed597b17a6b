//! A socket as `fetch_sockets` shows it to other servers: Node's shape,
//! `{ id, handshake, rooms, data }`, with the handshake Node's
//! `socket.handshake` has (`headers`, `time`, `address`, `xdomain`,
//! `secure`, `issued`, `url`, `query`, `auth`).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::{adapter::SocketData, SocketRef};

pub(crate) fn describe(socket: &SocketRef) -> SocketData {
    let h = socket.handshake();
    let headers: Map<String, Value> = h
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), Value::from(v.to_str().ok()?))))
        .collect();
    let uri = h.uri();
    let mut handshake = Map::new();
    handshake.insert("headers".into(), Value::Object(headers));
    handshake.insert("time".into(), Value::from(js_date(h.issued())));
    if let Some(addr) = h.address() {
        handshake.insert("address".into(), Value::from(addr.ip().to_string()));
    }
    handshake.insert(
        "xdomain".into(),
        Value::from(h.headers().contains_key(http::header::ORIGIN)),
    );
    handshake.insert(
        "secure".into(),
        Value::from(uri.scheme() == Some(&http::uri::Scheme::HTTPS)),
    );
    let issued = h
        .issued()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    handshake.insert("issued".into(), Value::from(issued));
    handshake.insert("url".into(), Value::from(uri.to_string()));
    handshake.insert(
        "query".into(),
        Value::Object(parse_query(h.query().unwrap_or(""))),
    );
    let auth = h
        .auth()
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    handshake.insert("auth".into(), auth);
    SocketData {
        id: socket.id().to_string(),
        handshake: Value::Object(handshake),
        rooms: socket.rooms().iter().map(|r| r.to_string()).collect(),
        data: socket.data(),
    }
}

/// A query string as Node's `querystring.parse` reads it: `+` is a space,
/// `%XX` escapes decoded (an invalid one left as is), a key given twice
/// holds an array of its values.
pub(crate) fn parse_query(query: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (unescape(k), Value::from(unescape(v)));
        match out.get_mut(&k) {
            None => {
                out.insert(k, v);
            }
            Some(Value::Array(values)) => values.push(v),
            Some(first) => {
                let first = first.take();
                out.insert(k, Value::Array(vec![first, v]));
            }
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(a), Some(b)) => {
                    out.push(a << 4 | b);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `new Date().toString()` of a server in UTC, as Node's `handshake.time`:
/// `Sun Dec 06 2026 23:35:00 GMT+0000 (Coordinated Universal Time)`.
fn js_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    socketio_protocol::date::to_utc_string(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_decoded_as_node_does() {
        let q = parse_query("EIO=4&transport=polling&q=a%20b+c%2F%C3%A9&k=1&k=2&bad=%zz&empty");
        assert_eq!(
            Value::Object(q),
            serde_json::json!({
                "EIO": "4", "transport": "polling", "q": "a b c/é",
                "k": ["1", "2"], "bad": "%zz", "empty": ""
            })
        );
    }
}
