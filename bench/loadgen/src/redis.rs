//! Just enough of the Redis protocol (RESP2) for the cluster scenario: to
//! find the Redis server's process, so that its CPU time is read from
//! `/proc` as the Socket.IO servers' is, and to watch what the servers'
//! adapters publish (`PSUBSCRIBE`), so that the time a broadcast takes to
//! reach Redis is measured apart from the deliveries.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::cli::{err, Result};

/// The default Redis of the cluster scenario.
pub(crate) const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// `host:port` of a `redis://[user[:password]@]host[:port][/db][?query]`
/// URL (port 6379 when absent).
pub(crate) fn host_port(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("redis://")
        .ok_or_else(|| err!("{url}: not a redis:// URL"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.is_empty() {
        return Err(err!("{url}: no host"));
    }
    // An IPv6 address is bracketed, so its colons end in `]`, not digits.
    let has_port = host
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    Ok(if has_port {
        host.to_owned()
    } else {
        format!("{host}:6379")
    })
}

/// The pid of the Redis server at `url`, from `INFO server`, if that
/// process is visible here as a Redis (or Valkey) server: a Redis in
/// another container reports a pid of its own namespace.
pub(crate) async fn server_pid(url: &str) -> Result<Option<u32>> {
    let addr = host_port(url)?;
    let info = tokio::time::timeout(Duration::from_secs(5), info_server(&addr))
        .await
        .map_err(|_| err!("redis at {addr}: INFO timed out"))??;
    let Some(pid) = info_field(&info, "process_id").and_then(|v| v.parse::<u32>().ok()) else {
        return Ok(None);
    };
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let visible = comm.starts_with("redis") || comm.starts_with("valkey");
    Ok(visible.then_some(pid))
}

/// The reply of `INFO server`.
async fn info_server(addr: &str) -> Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(&command(&[b"INFO", b"server"])).await?;
    let mut reply = Vec::new();
    loop {
        let n = stream.read_buf(&mut reply).await?;
        if n == 0 {
            return Err(err!("redis at {addr}: connection closed"));
        }
        if let Some(body) = bulk_string(&reply)? {
            return Ok(body);
        }
    }
}

/// A complete bulk string reply (`$<len>\r\n<bytes>\r\n`), `None` while
/// more is needed.
fn bulk_string(reply: &[u8]) -> Result<Option<String>> {
    match parse(reply)? {
        None => Ok(None),
        Some((Resp::Bulk(body), _)) => Ok(Some(String::from_utf8_lossy(&body).into_owned())),
        Some((other, _)) => Err(err!("redis reply: {other:?}")),
    }
}

/// A command as RESP2 sends it: an array of bulk strings.
fn command(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", parts.len()).into_bytes();
    for part in parts {
        out.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A RESP2 value.
#[derive(Debug, PartialEq, Eq)]
enum Resp {
    Simple(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Resp>),
}

/// The first value of `buf` and the bytes it takes, `None` while more is
/// needed; an error reply (`-...`) or a malformed one is an error.
fn parse(buf: &[u8]) -> Result<Option<(Resp, usize)>> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    if end == 0 {
        return Err(err!("redis reply: an empty line"));
    }
    let line = std::str::from_utf8(&buf[1..end]).map_err(|e| err!("redis reply: {e}"))?;
    let after = end + 2;
    let length = || -> Result<i64> { line.parse().map_err(|_| err!("redis reply: {line:?}")) };
    match buf[0] {
        b'+' => Ok(Some((Resp::Simple(line.to_owned()), after))),
        b'-' => Err(err!("redis: {line}")),
        b':' => Ok(Some((Resp::Int(length()?), after))),
        b'$' => {
            let Ok(len) = usize::try_from(length()?) else {
                return Ok(Some((Resp::Nil, after)));
            };
            if buf.len() < after + len + 2 {
                return Ok(None);
            }
            Ok(Some((
                Resp::Bulk(buf[after..after + len].to_vec()),
                after + len + 2,
            )))
        }
        b'*' => {
            let Ok(n) = usize::try_from(length()?) else {
                return Ok(Some((Resp::Nil, after)));
            };
            let mut items = Vec::with_capacity(n.min(16));
            let mut at = after;
            for _ in 0..n {
                let Some((item, used)) = parse(&buf[at..])? else {
                    return Ok(None);
                };
                items.push(item);
                at += used;
            }
            Ok(Some((Resp::Array(items), at)))
        }
        other => Err(err!("redis reply starting with byte {other}")),
    }
}

/// `text` as a `PSUBSCRIBE` pattern that matches exactly it: the glob's
/// special characters escaped.
pub(crate) fn glob_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A connection subscribed to the channels of a pattern (`PSUBSCRIBE`):
/// it receives every message published on them, as a server does.
pub(crate) struct Subscription {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Subscription {
    /// Connects to the Redis at `url` and subscribes to `pattern`; returns
    /// once Redis has confirmed it, so that nothing published after is
    /// missed.
    pub(crate) async fn open(url: &str, pattern: &str) -> Result<Self> {
        let addr = host_port(url)?;
        let mut stream = TcpStream::connect(&addr).await?;
        stream.set_nodelay(true)?;
        stream
            .write_all(&command(&[b"PSUBSCRIBE", pattern.as_bytes()]))
            .await?;
        let mut s = Subscription {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        };
        match s.next_value().await? {
            Resp::Array(a) if matches!(a.first(), Some(Resp::Bulk(k)) if k == b"psubscribe") => {
                Ok(s)
            }
            other => Err(err!("redis at {addr}: PSUBSCRIBE answered {other:?}")),
        }
    }

    /// The payload of the next message published on a matching channel.
    pub(crate) async fn message(&mut self) -> Result<Vec<u8>> {
        loop {
            // `pmessage`, the pattern, the channel, the payload.
            if let Resp::Array(mut a) = self.next_value().await? {
                if a.len() == 4 && matches!(&a[0], Resp::Bulk(k) if k == b"pmessage") {
                    if let Some(Resp::Bulk(payload)) = a.pop() {
                        return Ok(payload);
                    }
                }
            }
        }
    }

    async fn next_value(&mut self) -> Result<Resp> {
        loop {
            if let Some((value, used)) = parse(&self.buf)? {
                self.buf.drain(..used);
                return Ok(value);
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(err!("redis: connection closed"));
            }
        }
    }
}

/// The value of `name:value` in an INFO reply.
fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let hp = |u| host_port(u).ok();
        assert_eq!(
            hp("redis://127.0.0.1:6379").as_deref(),
            Some("127.0.0.1:6379")
        );
        assert_eq!(hp("redis://localhost").as_deref(), Some("localhost:6379"));
        assert_eq!(hp("redis://u:p@h:7000/2?x=1").as_deref(), Some("h:7000"));
        assert_eq!(hp("redis://[::1]:6380").as_deref(), Some("[::1]:6380"));
        assert_eq!(hp("redis://[::1]").as_deref(), Some("[::1]:6379"));
        assert_eq!(hp("http://h"), None);
        assert_eq!(hp("redis://"), None);
    }

    #[test]
    fn replies() {
        let info = "# Server\r\nredis_version:7.0.15\r\nprocess_id:2273\r\n";
        let reply = format!("${}\r\n{info}\r\n", info.len());
        let body = bulk_string(reply.as_bytes()).ok().flatten();
        assert_eq!(body.as_deref(), Some(info));
        assert_eq!(info_field(info, "process_id"), Some("2273"));
        assert_eq!(info_field(info, "process"), None);
        assert_eq!(bulk_string(&reply.as_bytes()[..10]).ok(), Some(None));
        assert!(bulk_string(b"-ERR no\r\n").is_err());
    }

    #[test]
    fn push_messages() {
        let confirm = b"*3\r\n$10\r\npsubscribe\r\n$3\r\np:*\r\n:1\r\n";
        let (value, used) = parse(confirm).ok().flatten().expect("a value");
        assert_eq!(used, confirm.len());
        assert_eq!(
            value,
            Resp::Array(vec![
                Resp::Bulk(b"psubscribe".to_vec()),
                Resp::Bulk(b"p:*".to_vec()),
                Resp::Int(1),
            ])
        );
        // Binary payloads (msgpack) with CR LF inside, and the start of the
        // next message after.
        let msg = b"*4\r\n$8\r\npmessage\r\n$3\r\np:*\r\n$4\r\np:#/\r\n$5\r\n\x92\r\n\x00x\r\n*4";
        let (value, used) = parse(msg).ok().flatten().expect("a value");
        assert_eq!(used, msg.len() - 2);
        let Resp::Array(items) = value else {
            panic!("not an array: {value:?}");
        };
        assert_eq!(items[3], Resp::Bulk(b"\x92\r\n\x00x".to_vec()));
        for cut in 0..used {
            assert_eq!(parse(&msg[..cut]).ok(), Some(None), "cut at {cut}");
        }
        assert_eq!(parse(b"$-1\r\n").ok(), Some(Some((Resp::Nil, 5))));
        assert!(parse(b"?x\r\n").is_err());
        assert!(parse(b"\r\n").is_err());
    }

    #[test]
    fn commands_and_patterns() {
        assert_eq!(
            command(&[b"PSUBSCRIBE", b"a*"]),
            b"*2\r\n$10\r\nPSUBSCRIBE\r\n$2\r\na*\r\n"
        );
        assert_eq!(glob_literal("socketio-bench-1-2-3"), "socketio-bench-1-2-3");
        assert_eq!(glob_literal(r"a*b?[c]\"), r"a\*b\?\[c\]\\");
    }
}
