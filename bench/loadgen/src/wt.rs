//! A Socket.IO v5 client over Engine.IO v4 WebTransport, as thin as
//! [`sio`](crate::sio) is over WebSocket: a session on `/socket.io/`, the
//! client's bidirectional stream, the length-prefixed frames of
//! `socketio_protocol::webtransport` on it, and the main namespace joined.
//!
//! The server's certificate is pinned by its SHA-256, as a browser does with
//! `serverCertificateHashes`; the bench server serves it at
//! `GET /webtransport-hash` (base64). Sessions are spread over several
//! client endpoints, each one UDP socket, so that no one socket's receive
//! buffer carries every session's packets.

use std::{net::SocketAddr, sync::Arc};

use base64::Engine as _;
use bytes::BytesMut;
use socketio_protocol::{
    engine::Frame,
    webtransport::{header, FrameDecoder},
    Str,
};
use tokio::io::AsyncReadExt;
use wtransport::{
    endpoint::endpoint_side, tls::Sha256Digest, ClientConfig, Connection, Endpoint, RecvStream,
    SendStream,
};

use crate::{
    cli::{err, Result},
    polling::HttpConn,
    sio::STEP_TIMEOUT,
};

/// Sessions per client endpoint (UDP socket) unless told otherwise.
pub(crate) const SESSIONS_PER_ENDPOINT: usize = 100;

/// The receive buffer asked for each client endpoint's socket; the kernel
/// caps it at `net.core.rmem_max` (4 MiB on the development machine). The
/// default (`rmem_default`, 208 KiB) dropped datagrams at 20,000 echoes a
/// second; the generator's drops are not the server's to pay.
const CLIENT_RECV_BUFFER: usize = 4 << 20;

/// Bytes asked for per read.
const READ_SIZE: usize = 4096;

/// The client endpoints and where their sessions go.
pub(crate) struct WtClient {
    endpoints: Vec<Endpoint<endpoint_side::Client>>,
    url: String,
}

impl std::fmt::Debug for WtClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WtClient")
            .field("endpoints", &self.endpoints.len())
            .field("url", &self.url)
            .finish()
    }
}

impl WtClient {
    /// `endpoints` client endpoints (at least one) that pin the certificate
    /// of SHA-256 `hash`, for sessions to the server at `addr`.
    pub(crate) fn new(addr: SocketAddr, hash: [u8; 32], endpoints: usize) -> Result<Self> {
        let endpoints = (0..endpoints.max(1))
            .map(|_| {
                let config = ClientConfig::builder()
                    .with_bind_socket(client_socket(addr)?)
                    .with_server_certificate_hashes([Sha256Digest::new(hash)])
                    // No idle timeout of our own: the server's (twice its
                    // heartbeat) is the one that applies, as the measured
                    // configuration has it.
                    .max_idle_timeout(None)
                    .map_err(|e| err!("webtransport: {e}"))?
                    .build();
                Endpoint::client(config).map_err(|e| err!("webtransport endpoint: {e}"))
            })
            .collect::<Result<_>>()?;
        Ok(WtClient {
            endpoints,
            url: format!("https://{addr}/socket.io/?EIO=4&transport=webtransport"),
        })
    }

    /// Opens session `i` (on endpoint `i` modulo their number), joins the
    /// main namespace, and returns it with the Engine.IO open packet.
    pub(crate) async fn connect_open(self: &Arc<Self>, i: usize) -> Result<(Wt, Str)> {
        tokio::time::timeout(STEP_TIMEOUT, self.connect_inner(i))
            .await
            .map_err(|_| err!("webtransport handshake timed out"))?
    }

    async fn connect_inner(self: &Arc<Self>, i: usize) -> Result<(Wt, Str)> {
        let endpoint = &self.endpoints[i % self.endpoints.len()];
        let conn = endpoint
            .connect(self.url.as_str())
            .await
            .map_err(|e| err!("webtransport session: {e}"))?;
        let (send, recv) = conn
            .open_bi()
            .await
            .map_err(|e| err!("webtransport stream: {e}"))?
            .await
            .map_err(|e| err!("webtransport stream: {e}"))?;
        let mut wt = Wt {
            send,
            recv,
            buf: BytesMut::new(),
            decoder: FrameDecoder::new(usize::MAX),
            out: Vec::new(),
            _conn: conn,
            _client: self.clone(),
        };
        wt.send_text("0").await?;
        let open = wt.next_text().await?;
        if !open.starts_with("0{") {
            return Err(err!("expected an Engine.IO open packet, got {open:?}"));
        }
        wt.send_text("40").await?;
        loop {
            let text = wt.next_text().await?;
            if text.starts_with("40") {
                return Ok((wt, open));
            }
            if text.starts_with("44") {
                return Err(err!("connect refused: {text}"));
            }
            if &*text == "2" {
                wt.send_text("3").await?;
            }
        }
    }
}

/// A non-blocking UDP socket on an ephemeral port of the family of `server`,
/// with a receive buffer of [`CLIENT_RECV_BUFFER`] if the kernel grants it.
fn client_socket(server: SocketAddr) -> Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let io = |e: std::io::Error| err!("webtransport client socket: {e}");
    let socket = Socket::new(
        Domain::for_address(server),
        Type::DGRAM,
        Some(Protocol::UDP),
    )
    .map_err(io)?;
    // Best effort: a smaller buffer only means more drops, which the
    // scenario's server-side count does not include anyway.
    let _ = socket.set_recv_buffer_size(CLIENT_RECV_BUFFER);
    socket.set_nonblocking(true).map_err(io)?;
    let any: SocketAddr = match server {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    socket.bind(&any.into()).map_err(io)?;
    Ok(socket.into())
}

/// A WebTransport session joined to the main namespace, and its stream.
pub(crate) struct Wt {
    send: SendStream,
    recv: RecvStream,
    buf: BytesMut,
    decoder: FrameDecoder,
    /// Where a frame is encoded before its one write.
    out: Vec<u8>,
    /// Held so that the session lives as long as its stream is used.
    _conn: Connection,
    /// The endpoints outlive their sessions.
    _client: Arc<WtClient>,
}

impl std::fmt::Debug for Wt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wt").finish_non_exhaustive()
    }
}

impl Wt {
    /// Writes one text packet as one frame.
    pub(crate) async fn send_text(&mut self, text: &str) -> Result<()> {
        let (head, n) = header(false, text.len());
        self.out.clear();
        self.out.extend_from_slice(&head[..n]);
        self.out.extend_from_slice(text.as_bytes());
        self.send
            .write_all(&self.out)
            .await
            .map_err(|e| err!("webtransport write: {e}"))
    }

    /// The next text packet; binary ones are skipped. Cancel-safe: the
    /// bytes read stay in the buffer.
    pub(crate) async fn next_text(&mut self) -> Result<Str> {
        loop {
            match self
                .decoder
                .decode(&mut self.buf)
                .map_err(|e| err!("webtransport framing: {e}"))?
            {
                Some(Frame::Text(t)) => return Ok(t),
                Some(Frame::Binary(_)) => continue,
                None => {}
            }
            self.buf.reserve(READ_SIZE);
            match self.recv.read_buf(&mut self.buf).await {
                Ok(0) => return Err(err!("connection closed")),
                Ok(_) => {}
                Err(e) => return Err(err!("webtransport read: {e}")),
            }
        }
    }
}

/// The certificate hash the bench server serves at `GET /webtransport-hash`
/// (base64 of the SHA-256), waiting up to `STEP_TIMEOUT` for it.
pub(crate) async fn fetch_hash(addr: SocketAddr) -> Result<[u8; 32]> {
    let body = tokio::time::timeout(STEP_TIMEOUT, async {
        HttpConn::open(addr)
            .await?
            .request("GET", "/webtransport-hash", "")
            .await
    })
    .await
    .map_err(|_| err!("GET /webtransport-hash timed out"))?
    .map_err(|e| {
        err!(
            "GET http://{addr}/webtransport-hash: {e} (is the server started with WEBTRANSPORT=1?)"
        )
    })?;
    decode_hash(std::str::from_utf8(&body).unwrap_or_default())
}

/// A SHA-256 in base64 (what `CERT_SHA256_B64=` and `/webtransport-hash`
/// give).
pub(crate) fn decode_hash(text: &str) -> Result<[u8; 32]> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| err!("certificate hash {text:?}: {e}"))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| err!("certificate hash: {} bytes, not 32", b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes() {
        let hash = decode_hash("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
        assert_eq!(
            hash.ok(),
            Some(std::array::from_fn(|i| u8::try_from(i).unwrap_or(0)))
        );
        assert!(decode_hash("AAEC").is_err());
        assert!(decode_hash("not base64!").is_err());
    }
}
