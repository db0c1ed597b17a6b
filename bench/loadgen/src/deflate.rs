//! `socketio-bench deflate`: a large JSON broadcast with WebSocket
//! per-message compression off and on: bytes on the wire per delivery and
//! the server's CPU per broadcast.
//!
//! For each mode the server (examples/bench_server) starts afresh, with
//! `PER_MESSAGE_DEFLATE` set to `0` or `1` and `DEFLATE_LEVEL` to each
//! `--level` asked for (default 6, zlib's). `--clients` raw WebSocket
//! clients offer permessage-deflate (as browsers and Node's client do) and
//! join the main namespace; one of them sends `broadcast` with a JSON
//! document of about `--size` bytes (records of users, as a state snapshot
//! looks), `--broadcasts` times, each after every client got the previous
//! one. The receivers count the bytes they read from their sockets
//! (headers included) and inflate what came compressed, checking its
//! length. The server's CPU time (user + system, from `/proc`) covers the
//! broadcasts alone.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use socketio_protocol::websocket::deflate::Inflater;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{
    cli::{err, Args, Result},
    procfs,
    suite::{self, Server},
};

pub(crate) async fn run(mut args: Args) -> Result<()> {
    let command: String = args
        .opt("--server")?
        .ok_or_else(|| err!("deflate needs --server CMD (examples/bench_server)"))?;
    let cpu: Option<String> = args.opt("--server-cpu")?;
    let clients: usize = args.get("--clients", 20)?;
    let broadcasts: usize = args.get("--broadcasts", 20)?;
    let size: usize = args.get("--size", 1_000_000)?;
    let mut levels: Vec<u32> = args
        .values("--level")?
        .iter()
        .map(|l| l.parse().map_err(|_| err!("--level {l}: not a number")))
        .collect::<Result<_>>()?;
    if levels.is_empty() {
        levels.push(6);
    }
    args.finish()?;
    let server = Server {
        name: "socketio-axum".to_owned(),
        command,
    };
    let document = snapshot(size);
    println!(
        "a JSON document of {} bytes, {broadcasts} broadcasts to {clients} clients",
        document.len()
    );
    println!("| compression | wire bytes per delivery | ÷ uncompressed | server CPU per broadcast | per delivery | wall time per broadcast |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut plain = None;
    let modes = std::iter::once(None).chain(levels.iter().copied().map(Some));
    for level in modes {
        let o = run_mode(
            &server,
            cpu.as_deref(),
            level,
            clients,
            broadcasts,
            &document,
        )
        .await?;
        let per_delivery = o.wire_bytes as f64 / (clients * broadcasts) as f64;
        let base = *plain.get_or_insert(per_delivery);
        println!(
            "| {} | {:.0} | {:.3} | {:.1} ms | {:.0} µs | {:.1} ms |",
            level.map_or_else(
                || "off".to_owned(),
                |l| format!("permessage-deflate, level {l}")
            ),
            per_delivery,
            per_delivery / base,
            o.cpu_s * 1000.0 / broadcasts as f64,
            o.cpu_s * 1e6 / (clients * broadcasts) as f64,
            o.wall.as_secs_f64() * 1000.0 / broadcasts as f64,
        );
    }
    Ok(())
}

struct Outcome {
    wire_bytes: u64,
    cpu_s: f64,
    wall: Duration,
}

/// Records of users as a state snapshot holds them, about `size` bytes of
/// JSON: repetitive keys, varied values.
fn snapshot(size: usize) -> String {
    let mut out = String::from("[");
    let mut i: u64 = 0;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    while out.len() < size {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            r#"{{"id":{i},"name":"user-{:x}","score":{},"online":{},"room":"room-{}","x":{:.3},"y":{:.3}}}"#,
            seed % 1_000_003,
            seed % 10_000,
            seed % 3 == 0,
            seed % 50,
            (seed % 100_000) as f64 / 7.0,
            (seed >> 20) as f64 % 1000.0 / 3.0,
        ));
        i += 1;
    }
    out.push(']');
    out
}

async fn run_mode(
    server: &Server,
    cpu: Option<&str>,
    level: Option<u32>,
    clients: usize,
    broadcasts: usize,
    document: &str,
) -> Result<Outcome> {
    let port = suite::free_port(3800);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let on = level.is_some();
    let env = [
        ("PER_MESSAGE_DEFLATE", if on { "1" } else { "0" }.to_owned()),
        ("DEFLATE_LEVEL", level.unwrap_or(6).to_string()),
        // The sender's event is the whole document.
        ("MAX_PAYLOAD", (document.len() * 2).to_string()),
    ];
    let mut child = suite::start(server, cpu, port, &env)?;
    let result = async {
        suite::wait_ready(&mut child, addr).await?;
        let pid = child.id();
        let mut conns = Vec::new();
        for _ in 0..clients {
            conns.push(Conn::open(addr, on).await?);
        }
        let event = format!(r#"42["broadcast",{document}]"#);
        // The text of each delivery: `42["broadcast",…]`.
        let expected = event.len();
        let cpu_before = procfs::cpu_seconds(pid)?;
        let started = Instant::now();
        let mut wire_bytes = 0;
        for _ in 0..broadcasts {
            conns[0].send_text(&event).await?;
            let mut readers = Vec::new();
            for mut conn in conns.drain(..) {
                readers.push(tokio::spawn(async move {
                    let r = conn.read_broadcast(expected).await;
                    r.map(|bytes| (conn, bytes))
                }));
            }
            for reader in readers {
                let (conn, bytes) = reader.await.map_err(|e| err!("reader: {e}"))??;
                wire_bytes += bytes;
                conns.push(conn);
            }
        }
        let wall = started.elapsed();
        let cpu_s = procfs::cpu_seconds(pid)? - cpu_before;
        Ok(Outcome {
            wire_bytes,
            cpu_s,
            wall,
        })
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    tokio::time::sleep(Duration::from_millis(200)).await;
    result
}

/// A raw WebSocket client of the main namespace that counts what it reads.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    inflater: Inflater,
    inflated: Vec<u8>,
}

impl Conn {
    async fn open(addr: SocketAddr, offer: bool) -> Result<Conn> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let extension = match offer {
            true => "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
            false => "",
        };
        let req = format!(
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {addr}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extension}\r\n"
        );
        stream.write_all(req.as_bytes()).await?;
        let mut conn = Conn {
            stream,
            buf: Vec::new(),
            inflater: Inflater::new(),
            inflated: Vec::new(),
        };
        let head = conn.read_head().await?;
        if !head.starts_with("HTTP/1.1 101") {
            return Err(err!("upgrade refused: {head}"));
        }
        if offer != head.to_ascii_lowercase().contains("permessage-deflate") {
            return Err(err!("compression not as expected: {head}"));
        }
        conn.read_message().await?; // the open packet
        conn.send_text("40").await?;
        conn.read_message().await?; // the CONNECT answer
        Ok(conn)
    }

    async fn read_head(&mut self) -> Result<String> {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 4);
                return Ok(head);
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> Result<usize> {
        let mut chunk = [0u8; 64 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(err!("the server closed the connection"));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// A masked text frame.
    async fn send_text(&mut self, text: &str) -> Result<()> {
        let mask = [1u8, 2, 3, 4];
        let mut frame = vec![0x81];
        match text.len() {
            n @ 0..=125 => frame.push(0x80 | n as u8),
            n @ 126..=65_535 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await?;
        Ok(())
    }

    /// Reads one whole frame; returns its wire size, and the length of its
    /// message (inflated if it came compressed).
    async fn read_message(&mut self) -> Result<(u64, usize)> {
        loop {
            if let Some((header, len, rsv1)) = parse_header(&self.buf) {
                let total = header + len;
                while self.buf.len() < total {
                    self.fill().await?;
                }
                let payload = &self.buf[header..total];
                let message_len = if rsv1 {
                    self.inflated.clear();
                    self.inflater
                        .inflate(payload, usize::MAX >> 1, &mut self.inflated)
                        .map_err(|e| err!("inflate: {e}"))?;
                    self.inflated.len()
                } else {
                    payload.len()
                };
                self.buf.drain(..total);
                return Ok((total as u64, message_len));
            }
            self.fill().await?;
        }
    }

    /// Reads until the broadcast of `expected` bytes came (skipping acks
    /// and pings); returns the bytes read from the wire for it.
    async fn read_broadcast(&mut self, expected: usize) -> Result<u64> {
        let mut wire = 0;
        loop {
            let (bytes, len) = self.read_message().await?;
            wire += bytes;
            if len == expected {
                return Ok(wire);
            }
        }
    }
}

/// A server frame's header size, payload length and RSV1 bit, once the
/// header is whole.
fn parse_header(buf: &[u8]) -> Option<(usize, usize, bool)> {
    let [b0, b1, ..] = *buf else { return None };
    let rsv1 = b0 & 0x40 != 0;
    let (len, at) = match b1 & 0x7f {
        126 => (u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]) as usize, 4),
        127 => {
            let b: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(b) as usize, 10)
        }
        n => (n as usize, 2),
    };
    Some((at, len, rsv1))
}
