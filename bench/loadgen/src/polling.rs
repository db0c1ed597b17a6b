//! Engine.IO v4 long-polling over raw HTTP/1.1 keep-alive connections.
//!
//! A session uses two connections, as a browser would: one always holds a
//! `GET` (the server answers it when it has packets), the other carries the
//! `POST`s.

use std::net::{IpAddr, SocketAddr};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

use crate::{
    cli::{err, Result},
    sio,
};

/// One keep-alive HTTP/1.1 connection, one request at a time.
#[derive(Debug)]
pub(crate) struct HttpConn {
    stream: BufReader<TcpStream>,
    host: String,
}

impl HttpConn {
    pub(crate) async fn open(addr: SocketAddr) -> Result<Self> {
        Self::open_from(addr, None).await
    }

    /// Opens a connection from `source` (see [`sio::tcp_connect`]).
    pub(crate) async fn open_from(addr: SocketAddr, source: Option<IpAddr>) -> Result<Self> {
        Ok(HttpConn {
            stream: BufReader::new(sio::tcp_connect(addr, source).await?),
            host: addr.to_string(),
        })
    }

    /// Sends a request and reads the whole response; fails on a status other
    /// than 200.
    pub(crate) async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
    ) -> Result<Vec<u8>> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        if method == "POST" {
            head.push_str("Content-Type: text/plain;charset=UTF-8\r\n");
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        head.push_str(body);
        self.stream.get_mut().write_all(head.as_bytes()).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> Result<Vec<u8>> {
        let mut line = String::new();
        if self.stream.read_line(&mut line).await? == 0 {
            return Err(err!("connection closed before the response"));
        }
        let status = line
            .split_ascii_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                return Err(err!("connection closed in the response head"));
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.eq_ignore_ascii_case("chunked");
                }
            }
        }
        let body = if chunked {
            self.read_chunked().await?
        } else {
            let mut body = vec![0; length.unwrap_or(0)];
            self.stream.read_exact(&mut body).await?;
            body
        };
        if status != "200" {
            return Err(err!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ));
        }
        Ok(body)
    }

    async fn read_chunked(&mut self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let size_text = line.trim_end().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| err!("bad chunk size {size_text:?}"))?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    line.clear();
                    if self.stream.read_line(&mut line).await? == 0 || line.trim_end().is_empty() {
                        return Ok(body);
                    }
                }
            }
            let start = body.len();
            body.resize(start + size, 0);
            self.stream.read_exact(&mut body[start..]).await?;
            line.clear();
            self.stream.read_line(&mut line).await?;
        }
    }
}

/// The path of a session's requests.
pub(crate) fn session_path(sid: &str) -> String {
    format!("/socket.io/?EIO=4&transport=polling&sid={sid}")
}

/// Opens a session: `GET` without sid, read the `sid` of the open packet.
pub(crate) async fn open_session(conn: &mut HttpConn) -> Result<String> {
    let body = conn
        .request("GET", "/socket.io/?EIO=4&transport=polling", "")
        .await?;
    let text = String::from_utf8_lossy(&body);
    let open = text
        .split('\x1e')
        .find(|p| p.starts_with("0{"))
        .ok_or_else(|| err!("expected an Engine.IO open packet, got {text:?}"))?;
    let at = open
        .find(r#""sid":""#)
        .ok_or_else(|| err!("no sid in {open:?}"))?
        + 7;
    let end = open[at..]
        .find('"')
        .ok_or_else(|| err!("no sid in {open:?}"))?;
    Ok(open[at..at + end].to_string())
}

/// The packets of a polling payload (separated by the record separator).
pub(crate) fn packets(body: &[u8]) -> impl Iterator<Item = &str> {
    std::str::from_utf8(body)
        .unwrap_or("")
        .split('\x1e')
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_payloads() {
        let body = b"2\x1e431[{\"t\":1}]";
        assert_eq!(
            packets(body).collect::<Vec<_>>(),
            vec!["2", "431[{\"t\":1}]"]
        );
    }
}
