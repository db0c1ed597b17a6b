//! Just enough of the Redis protocol to find the Redis server's process,
//! so that the cluster scenario can read its CPU time from `/proc` as it
//! does the Socket.IO servers'.

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
    stream
        .write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
        .await?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(err!("redis at {addr}: connection closed"));
        }
        reply.extend_from_slice(&buf[..n]);
        if let Some(body) = bulk_string(&reply)? {
            return Ok(body);
        }
    }
}

/// A complete bulk string reply (`$<len>\r\n<bytes>\r\n`), `None` while
/// more is needed.
fn bulk_string(reply: &[u8]) -> Result<Option<String>> {
    let Some(end) = reply.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let header = std::str::from_utf8(&reply[..end]).map_err(|e| err!("redis reply: {e}"))?;
    let len: usize = match header.strip_prefix('$').map(str::parse) {
        Some(Ok(len)) => len,
        _ => return Err(err!("redis reply: {header}")),
    };
    let body = &reply[end + 2..];
    if body.len() < len {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&body[..len]).into_owned()))
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
}
