//! A WebTransport peer (wtransport's client), pinning the test server's
//! self-signed certificate by its hash, as a browser does with
//! `serverCertificateHashes`, and speaking Engine.IO frames on the first
//! bidirectional stream.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use socketio_protocol::{
    engine::Frame,
    webtransport::{put_frame, FrameDecoder},
};
use tokio::io::AsyncReadExt;
use wtransport::{
    endpoint::{endpoint_side, ConnectOptions},
    error::ConnectionError,
    tls::Sha256Digest,
    ClientConfig, Connection, Endpoint, RecvStream, SendStream,
};

use crate::{within, TestServer, WebTransportListener};

/// A WebTransport session to a test server and its one stream.
pub struct WtClient {
    /// The session, to close it or await its close.
    pub conn: Connection,
    send: SendStream,
    recv: RecvStream,
    buf: BytesMut,
    decoder: FrameDecoder,
    _endpoint: Endpoint<endpoint_side::Client>,
}

impl std::fmt::Debug for WtClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WtClient").finish_non_exhaustive()
    }
}

/// Opens a WebTransport session on `path` of the server's listener, with
/// these extra request headers; the error when the server refuses it.
pub async fn wt_session(
    server: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(Connection, Endpoint<endpoint_side::Client>), wtransport::error::ConnectingError> {
    let listener = server
        .webtransport
        .expect("the test server has a WebTransport listener");
    wt_session_at(listener, path, headers).await
}

/// [`wt_session`] given the listener only.
async fn wt_session_at(
    listener: WebTransportListener,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(Connection, Endpoint<endpoint_side::Client>), wtransport::error::ConnectingError> {
    let config = ClientConfig::builder()
        .with_bind_default()
        .with_server_certificate_hashes([Sha256Digest::new(listener.certificate_hash)])
        .build();
    let endpoint = Endpoint::client(config).expect("a client endpoint");
    let mut request = ConnectOptions::builder(format!("https://{}{path}", listener.addr));
    for (name, value) in headers {
        request = request.add_header(*name, *value);
    }
    let conn = within(
        "the WebTransport session",
        endpoint.connect(request.build()),
    )
    .await?;
    Ok((conn, endpoint))
}

impl WtClient {
    /// A session on `/engine.io/` with its stream opened; nothing sent yet.
    pub async fn connect(server: &TestServer) -> WtClient {
        let listener = server
            .webtransport
            .expect("the test server has a WebTransport listener");
        WtClient::connect_at(listener, "/engine.io/").await
    }

    /// [`connect`](Self::connect) given the listener only (from another
    /// runtime), on `path`.
    pub async fn connect_at(listener: WebTransportListener, path: &str) -> WtClient {
        let (conn, endpoint) = wt_session_at(listener, path, &[])
            .await
            .expect("the server accepts the WebTransport session");
        let (send, recv) = within("the stream", async {
            conn.open_bi().await.expect("open").await.expect("opened")
        })
        .await;
        WtClient {
            conn,
            send,
            recv,
            buf: BytesMut::new(),
            decoder: FrameDecoder::new(usize::MAX),
            _endpoint: endpoint,
        }
    }

    /// Writes raw bytes on the stream.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        within(
            "a write",
            tokio::io::AsyncWriteExt::write_all(&mut self.send, bytes),
        )
        .await
        .expect("write on the stream");
    }

    /// Writes one frame.
    pub async fn send(&mut self, frame: &Frame) {
        let mut out = Vec::new();
        put_frame(&mut out, frame);
        self.send_raw(&out).await;
    }

    /// Writes one text packet.
    pub async fn send_text(&mut self, text: &str) {
        self.send(&Frame::Text(text.to_owned().into())).await;
    }

    /// Writes one binary message.
    pub async fn send_binary(&mut self, data: &'static [u8]) {
        self.send(&Frame::Binary(Bytes::from_static(data))).await;
    }

    /// The next frame, or `None` once the stream or the session ended.
    pub async fn recv(&mut self) -> Option<Frame> {
        within("a frame", async {
            loop {
                if let Some(f) = self.decoder.decode(&mut self.buf).expect("valid framing") {
                    return Some(f);
                }
                match self.recv.read_buf(&mut self.buf).await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
        })
        .await
    }

    /// The next frame, which must be text.
    pub async fn recv_text(&mut self) -> String {
        match self.recv().await {
            Some(Frame::Text(t)) => t.as_str().to_owned(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Opens a new session: sends `0`, returns the sid and the open
    /// packet's JSON.
    pub async fn open(server: &TestServer) -> (WtClient, engineio_tower::Sid, serde_json::Value) {
        let listener = server
            .webtransport
            .expect("the test server has a WebTransport listener");
        WtClient::open_at(listener, "/engine.io/").await
    }

    /// [`open`](Self::open) given the listener only (from another
    /// runtime), on `path`.
    pub async fn open_at(
        listener: WebTransportListener,
        path: &str,
    ) -> (WtClient, engineio_tower::Sid, serde_json::Value) {
        let mut client = WtClient::connect_at(listener, path).await;
        client.send_text("0").await;
        let text = client.recv_text().await;
        let json: serde_json::Value =
            serde_json::from_str(text.strip_prefix('0').expect("an open packet")).expect("JSON");
        let sid = json["sid"].as_str().expect("sid").parse().expect("a sid");
        (client, sid, json)
    }

    /// Waits for the session to end; how it ended.
    pub async fn closed(&self) -> ConnectionError {
        within("the session's end", self.conn.closed()).await
    }
}

/// A WebTransport endpoint on `udp`, with a fresh self-signed certificate
/// whose SHA-256 it returns, that forwards each session's first stream to
/// `tcp`, both ways, and closes the session when either side ends: the
/// HTTP/3 side put in front of Node's engine (`tests/node/wt_sessions.mjs`),
/// whose own HTTP/3 server cannot be installed here. Runs on the tokio
/// runtime it is called in.
pub fn relay_webtransport_to_tcp(udp: SocketAddr, tcp: SocketAddr) -> [u8; 32] {
    let identity =
        wtransport::Identity::self_signed(["localhost", "127.0.0.1"]).expect("a certificate");
    let hash = *identity.certificate_chain().as_slice()[0].hash().as_ref();
    let config = wtransport::ServerConfig::builder()
        .with_bind_address(udp)
        .with_identity(identity)
        .build();
    let endpoint = Endpoint::server(config).expect("the relay's udp port");
    tokio::spawn(async move {
        loop {
            let incoming = endpoint.accept().await;
            tokio::spawn(async move {
                let Ok(request) = incoming.await else { return };
                let Ok(conn) = request.accept().await else {
                    return;
                };
                let Ok((mut send, mut recv)) = conn.accept_bi().await else {
                    return;
                };
                if let Ok(node) = tokio::net::TcpStream::connect(tcp).await {
                    let _ = node.set_nodelay(true);
                    let (mut from_node, mut to_node) = node.into_split();
                    tokio::select! {
                        _ = tokio::io::copy(&mut recv, &mut to_node) => {}
                        _ = tokio::io::copy(&mut from_node, &mut send) => {}
                    }
                }
                conn.close(0u32.into(), b"");
            });
        }
    });
    hash
}
