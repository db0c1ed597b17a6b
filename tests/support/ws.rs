//! WebSocket peers: a tokio-tungstenite client for well-formed traffic, and
//! hand-written frames on a raw TCP socket for frames no client library sends.

use std::net::SocketAddr;

use bytes::Bytes;
use engineio_tower::Sid;
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

use crate::{read_response, within, HttpResponse, TestServer};

/// A WebSocket client connected to the Engine.IO endpoint.
#[derive(Debug)]
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// Opens a WebSocket to `/engine.io/?{query}`.
pub async fn ws_connect(server: &TestServer, query: &str) -> WsClient {
    let url = format!("ws://{}/engine.io/?{query}", server.addr);
    let (ws, res) = within(
        "the WebSocket handshake",
        tokio_tungstenite::connect_async(&url),
    )
    .await
    .unwrap_or_else(|e| panic!("WebSocket to {url} refused: {e}"));
    assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
    WsClient { ws }
}

impl WsClient {
    /// Opens a WebSocket-only session; returns the client, the session id
    /// and the JSON of the `open` packet (the first frame).
    pub async fn open(server: &TestServer) -> (WsClient, Sid, serde_json::Value) {
        let mut client = ws_connect(server, "EIO=4&transport=websocket").await;
        let text = client.recv_text().await;
        let json = text
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("first frame is not an open packet: {text:?}"));
        let handshake: serde_json::Value = serde_json::from_str(json).expect("handshake JSON");
        let sid: Sid = handshake["sid"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no valid sid in {handshake}"));
        server.events.opened(sid).await;
        (client, sid, handshake)
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text))
            .await
            .expect("send a text frame");
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, data: &[u8]) {
        self.ws
            .send(Message::binary(Bytes::copy_from_slice(data)))
            .await
            .expect("send a binary frame");
    }

    /// Sends a WebSocket ping.
    pub async fn send_ping(&mut self, data: &'static [u8]) {
        self.ws
            .send(Message::Ping(Bytes::from_static(data)))
            .await
            .expect("send a ping frame");
    }

    /// The next message of any kind, pongs included; `None` once the connection is closed.
    pub async fn recv_any(&mut self) -> Option<Message> {
        within("a WebSocket frame", async {
            match self.ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => None,
                Some(Ok(m)) => Some(m),
            }
        })
        .await
    }

    /// The next data frame (text or binary); `None` once the connection is closed.
    pub async fn recv(&mut self) -> Option<Message> {
        within("a WebSocket frame", async {
            loop {
                match self.ws.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                    Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => return Some(m),
                    Some(Ok(_)) => continue,
                }
            }
        })
        .await
    }

    /// The next frame, which must be text.
    pub async fn recv_text(&mut self) -> String {
        match self.recv().await {
            Some(Message::Text(t)) => t.as_str().to_owned(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Fails the test unless the server closes the connection, reading and
    /// discarding what comes before the close.
    pub async fn assert_closed_by_server(&mut self) {
        while let Some(m) = self.recv().await {
            if let Message::Text(t) = &m {
                // Pings may still arrive before the close; anything else is a bug.
                assert_eq!(t.as_str(), "2", "unexpected frame before the close");
            }
        }
    }
}

/// A frame read from a raw socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawWsFrame {
    /// The FIN bit.
    pub fin: bool,
    /// The RSV1 bit: a compressed message (permessage-deflate).
    pub rsv1: bool,
    /// The opcode (1 text, 2 binary, 8 close, ...).
    pub opcode: u8,
    /// The (unmasked) payload.
    pub payload: Vec<u8>,
}

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A masked client frame: `opcode` with `payload`, declaring `declared_len`
/// bytes of payload (pass `payload.len()` unless the header should lie).
pub fn raw_ws_frame(fin: bool, opcode: u8, declared_len: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    match declared_len {
        0..=125 => out.push(0x80 | declared_len as u8),
        126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(declared_len as u16).to_be_bytes());
        }
        _ => {
            out.push(0x80 | 127);
            out.extend_from_slice(&declared_len.to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    out
}

/// Upgrades a raw TCP connection to a WebSocket at `/engine.io/?{query}` by
/// hand, checks the 101, and returns the socket.
pub async fn raw_ws_upgrade(server: &TestServer, query: &str) -> TcpStream {
    let stream = within("connect", TcpStream::connect(server.addr))
        .await
        .expect("connect");
    upgrade(server, stream, query).await
}

/// Upgrades a new connection to `addr` to a WebSocket at `path` (such as
/// `/socket.io/?EIO=4&transport=websocket`) by hand, offering `extensions`
/// (`Sec-WebSocket-Extensions`) if any; checks the 101 and returns the
/// socket with the extensions the server agreed to.
pub async fn raw_ws_upgrade_offering(
    addr: SocketAddr,
    path: &str,
    extensions: Option<&str>,
) -> (TcpStream, Option<String>) {
    let stream = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    let (stream, res) = upgrade_at(stream, addr, path, extensions).await;
    let agreed = res.header("sec-websocket-extensions").map(str::to_owned);
    (stream, agreed)
}

/// Upgrades `stream`, connected to `server`, at `/engine.io/?{query}`.
async fn upgrade(server: &TestServer, stream: TcpStream, query: &str) -> TcpStream {
    let path = format!("/engine.io/?{query}");
    upgrade_at(stream, server.addr, &path, None).await.0
}

/// Sends the upgrade request for `path` on `stream` (to `host`), offering
/// `extensions` if any, and checks the 101 and its accept key.
async fn upgrade_at(
    mut stream: TcpStream,
    host: SocketAddr,
    path: &str,
    extensions: Option<&str>,
) -> (TcpStream, HttpResponse) {
    let offer = extensions.map_or(String::new(), |e| {
        format!("Sec-WebSocket-Extensions: {e}\r\n")
    });
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
    );
    stream
        .write_all(req.as_bytes())
        .await
        .expect("write upgrade");
    let res = read_response(&mut stream).await;
    assert_eq!(res.status, StatusCode::SWITCHING_PROTOCOLS, "{res:?}");
    assert_eq!(
        res.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "accept key of RFC 6455's example"
    );
    (stream, res)
}

/// Reads one (unmasked, server) frame; `None` when the connection ends first.
pub async fn read_raw_ws_frame(stream: &mut TcpStream) -> Option<RawWsFrame> {
    within("a raw WebSocket frame", async {
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).await.ok()?;
        let len = match head[1] & 0x7f {
            126 => u64::from(stream.read_u16().await.ok()?),
            127 => stream.read_u64().await.ok()?,
            n => u64::from(n),
        };
        assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
        let mut payload = vec![0; usize::try_from(len).expect("frame length")];
        stream.read_exact(&mut payload).await.ok()?;
        Some(RawWsFrame {
            fin: head[0] & 0x80 != 0,
            rsv1: head[0] & 0x40 != 0,
            opcode: head[0] & 0x0f,
            payload,
        })
    })
    .await
}

/// Opens a WebSocket-only session on a raw socket; returns it with its sid.
pub async fn raw_ws_session(server: &TestServer) -> (TcpStream, Sid) {
    let stream = within("connect", TcpStream::connect(server.addr))
        .await
        .expect("connect");
    raw_ws_session_over(server, stream).await
}

/// [`raw_ws_session`] over a connection made by the caller (to set socket
/// options such as the receive buffer size).
pub async fn raw_ws_session_over(server: &TestServer, stream: TcpStream) -> (TcpStream, Sid) {
    let mut stream = upgrade(server, stream, "EIO=4&transport=websocket").await;
    let open = read_raw_ws_frame(&mut stream)
        .await
        .expect("the open packet");
    let text = String::from_utf8(open.payload).expect("text");
    let json: serde_json::Value =
        serde_json::from_str(text.strip_prefix('0').expect("open packet")).expect("JSON");
    let sid: Sid = json["sid"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("sid");
    server.events.opened(sid).await;
    (stream, sid)
}

/// Reads what the server sends until it ends the connection: it must be one
/// close frame with status `code`, and nothing after it.
pub async fn assert_raw_ws_closed_with(stream: &mut TcpStream, code: u16, case: &str) {
    let close = read_raw_ws_frame(stream).await;
    let close = close.expect("a close frame");
    assert_eq!(
        close.opcode, 8,
        "{case}: only a close frame may come: {close:?}"
    );
    assert_eq!(close.payload, code.to_be_bytes(), "{case}: close code");
    assert!(
        read_raw_ws_frame(stream).await.is_none(),
        "{case}: the connection stays open after the close frame"
    );
}
