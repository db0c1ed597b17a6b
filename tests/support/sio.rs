//! The Socket.IO side of the harness: a server with the `SocketIoLayer` on
//! 127.0.0.1:0, and a WebSocket client that speaks literal Socket.IO frames
//! (`40`, `42["ev",1]`, ...) for protocol-level and hostile tests.

use std::{net::SocketAddr, time::Duration};

use bytes::Bytes;
use futures_util::{
    stream::{SplitSink, SplitStream},
    SinkExt, StreamExt,
};
use http::{Request, StatusCode};
use http_body_util::Full;
use socketio_axum::{SocketIo, SocketIoBuilder, SocketIoConfig, SocketIoLayer};
use tokio::net::TcpStream;
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

use crate::{within, HttpResponse};

/// A Socket.IO configuration for tests: Node's defaults, except a heartbeat
/// that never fires during a test (so that exact frames can be compared) and
/// a `connect_timeout` longer than any test.
pub fn sio_config() -> SocketIoConfig {
    SocketIoConfig::builder()
        .ping_interval(Duration::from_secs(60))
        .ping_timeout(Duration::from_secs(60))
        .build()
}

/// A running Socket.IO server; it stops accepting connections when dropped.
#[derive(Debug)]
pub struct SioServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The server handle: register namespaces on it, emit from it.
    pub io: SocketIo,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SioServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SioServer {
    /// A server with `config` and no other routes. Register namespaces on
    /// [`io`](Self::io) before any client connects.
    pub async fn start(config: SocketIoConfig) -> SioServer {
        SioServer::start_with(SocketIo::builder().config(config), axum::Router::new()).await
    }

    /// A server built by `builder` (state, middlewares), with the Socket.IO
    /// layer over `routes`.
    pub async fn start_with(builder: SocketIoBuilder, routes: axum::Router) -> SioServer {
        SioServer::serve(builder.build_layer(), routes).await
    }

    /// A server from a layer built already (with a metrics recorder in
    /// scope, say), over `routes`.
    pub async fn serve((layer, io): (SocketIoLayer, SocketIo), routes: axum::Router) -> SioServer {
        crate::server::init_tracing();
        let app = routes.layer(layer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                panic!("server failed: {e}");
            }
        });
        SioServer { addr, io, task }
    }

    /// The URL a Socket.IO client is given (the path is the default `/socket.io/`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A WebSocket-only Engine.IO session, its `open` packet read.
    pub async fn ws(&self) -> SioWs {
        SioWs::open(self.addr).await
    }

    /// Sends `req` (a path such as `/rooms`) on a new connection and reads
    /// the whole response.
    pub async fn request(&self, req: Request<Full<Bytes>>) -> HttpResponse {
        crate::http_client::request(self.addr, req).await
    }

    /// Upgrades a raw TCP connection to a WebSocket session by hand, for
    /// frames no WebSocket library sends (text that is not UTF-8).
    pub async fn raw_ws(&self) -> TcpStream {
        let path = "/socket.io/?EIO=4&transport=websocket";
        crate::raw_ws_upgrade_offering(self.addr, path, None)
            .await
            .0
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket client on `/socket.io/` that sends and reads Engine.IO frames
/// as text: `send("40")` joins the main namespace, `recv_text()` returns
/// frames such as `42["ev",1]`. Pings are answered and skipped.
#[derive(Debug)]
pub struct SioWs {
    tx: SplitSink<Ws, Message>,
    rx: SplitStream<Ws>,
    /// The Engine.IO session id, from the `open` packet.
    pub eio_sid: String,
}

impl SioWs {
    /// Opens a WebSocket-only session and reads its `open` packet.
    pub async fn open(addr: SocketAddr) -> SioWs {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, res) = within(
            "the WebSocket handshake",
            tokio_tungstenite::connect_async(&url),
        )
        .await
        .unwrap_or_else(|e| panic!("WebSocket to {url} refused: {e}"));
        assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
        let (tx, rx) = ws.split();
        let mut client = SioWs {
            tx,
            rx,
            eio_sid: String::new(),
        };
        let open = client.recv_text().await;
        let json = open
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("first frame is not an open packet: {open:?}"));
        let handshake: serde_json::Value = serde_json::from_str(json).expect("handshake JSON");
        client.eio_sid = handshake["sid"]
            .as_str()
            .unwrap_or_else(|| panic!("no sid in {handshake}"))
            .to_owned();
        client
    }

    /// Joins namespace `ns` (`/` or `/chat`) and returns the socket id from
    /// the server's `CONNECT` answer.
    pub async fn join(&mut self, ns: &str) -> String {
        let prefix = if ns == "/" {
            String::new()
        } else {
            format!("{ns},")
        };
        self.send(&format!("40{prefix}")).await;
        let reply = self.recv_text().await;
        let json = reply
            .strip_prefix(&format!("40{prefix}"))
            .unwrap_or_else(|| panic!("expected a CONNECT to {ns}, got {reply:?}"));
        let body: serde_json::Value = serde_json::from_str(json).expect("CONNECT JSON");
        body["sid"]
            .as_str()
            .unwrap_or_else(|| panic!("no sid in {reply:?}"))
            .to_owned()
    }

    /// Sends a text frame, as is (an Engine.IO packet: `40`, `42[...]`).
    pub async fn send(&mut self, text: &str) {
        self.tx
            .send(Message::text(text))
            .await
            .expect("send a text frame");
    }

    /// Queues a text frame without flushing; [`flush`](Self::flush) sends what is queued.
    pub async fn feed(&mut self, text: String) {
        self.tx
            .feed(Message::text(text))
            .await
            .expect("queue a text frame");
    }

    /// Sends the frames queued by [`feed`](Self::feed).
    pub async fn flush(&mut self) {
        self.tx.flush().await.expect("flush");
    }

    /// Sends a binary frame (an attachment).
    pub async fn send_binary(&mut self, data: &[u8]) {
        self.tx
            .send(Message::binary(Bytes::copy_from_slice(data)))
            .await
            .expect("send a binary frame");
    }

    /// Sends every frame of `frames` without waiting for answers, while
    /// reading the server's frames, until `replies` text frames have come
    /// (pings skipped); returns them. Reading as we write keeps a server that
    /// stops reading while its outgoing queue is full from waiting on us.
    pub async fn pipeline(&mut self, frames: Vec<String>, replies: usize) -> Vec<String> {
        let tx = &mut self.tx;
        let rx = &mut self.rx;
        let write = async move {
            for frame in frames {
                tx.feed(Message::text(frame)).await.expect("queue a frame");
            }
            tx.flush().await.expect("flush");
        };
        let read = async move {
            let mut out = Vec::with_capacity(replies);
            while out.len() < replies {
                match rx.next().await {
                    Some(Ok(Message::Text(t))) if t.as_str() == "2" => {}
                    Some(Ok(Message::Text(t))) => out.push(t.as_str().to_owned()),
                    Some(Ok(Message::Binary(b))) => panic!("unexpected binary frame {b:?}"),
                    Some(Ok(_)) => {}
                    None | Some(Err(_)) => {
                        panic!("connection closed after {} of {replies} replies", out.len())
                    }
                }
            }
            out
        };
        within(
            &format!("{replies} replies"),
            futures_util::future::join(write, read),
        )
        .await
        .1
    }

    /// The next data frame, pings answered and skipped; `None` once the
    /// server closed the connection.
    pub async fn recv(&mut self) -> Option<Message> {
        within("a WebSocket frame", self.next_frame()).await
    }

    async fn next_frame(&mut self) -> Option<Message> {
        loop {
            match self.rx.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                    // The heartbeat: answer it, as a client library would.
                    let _ = self.tx.send(Message::text("3")).await;
                }
                Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => return Some(m),
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next frame, which must be text.
    pub async fn recv_text(&mut self) -> String {
        match self.recv().await {
            Some(Message::Text(t)) => t.as_str().to_owned(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next frame, which must be binary.
    pub async fn recv_binary(&mut self) -> Bytes {
        match self.recv().await {
            Some(Message::Binary(b)) => b,
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }

    /// Fails the test unless the server closes the connection; the frames
    /// that came before the close are returned.
    pub async fn closed_by_server(&mut self) -> Vec<Message> {
        let mut before = Vec::new();
        while let Some(m) = self.recv().await {
            before.push(m);
        }
        before
    }
}
