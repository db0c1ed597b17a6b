//! Node's `compress(false)` across the cluster: the broadcast's
//! `flags.compress` travels through Redis, and the receiving server sends
//! the packet to its sockets without permessage-deflate, where another
//! broadcast of the same size goes compressed. Seen on the raw wire of a
//! client of ours (the RSV1 bit of each frame), from a Node server, from
//! another of ours, and from our emitter.

use std::net::SocketAddr;

use serde_json::json;
use socketio_axum::SocketIoConfig;
use socketio_axum_tests::{raw_ws_frame, raw_ws_upgrade_offering, read_raw_ws_frame, RawWsFrame};
use socketio_protocol::websocket::deflate::Inflater;
use socketio_redis::RedisEmitter;
use tokio::{io::AsyncWriteExt, net::TcpStream};

use crate::harness::{config, redis_url, unique_prefix, NodeServer, RustServer};

/// Far above the deflate threshold of both servers (1024 bytes, Node's).
const SIZE: usize = 16 * 1024;

/// A client of the main namespace at `url`, over a WebSocket opened by hand
/// that offers permessage-deflate (the server agrees), read frame by frame.
struct RawClient {
    stream: TcpStream,
    /// The server compresses with context takeover: one inflater for all
    /// of its compressed messages, in order.
    inflater: Inflater,
}

impl RawClient {
    async fn connect(url: &str) -> RawClient {
        let addr: SocketAddr = url
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .expect("a server address");
        let (stream, agreed) = raw_ws_upgrade_offering(
            addr,
            "/socket.io/?EIO=4&transport=websocket",
            Some("permessage-deflate"),
        )
        .await;
        assert_eq!(agreed.as_deref(), Some("permessage-deflate"));
        let mut client = RawClient {
            stream,
            inflater: Inflater::new(),
        };
        let open = client.text().await;
        assert!(open.starts_with("0{"), "the open packet: {open}");
        client
            .stream
            .write_all(&raw_ws_frame(true, 1, 2, b"40"))
            .await
            .expect("write CONNECT");
        // The server sends it once the socket is in the namespace.
        let connected = client.text().await;
        assert!(
            connected.starts_with("40{"),
            "the CONNECT answer: {connected}"
        );
        client
    }

    /// The next frame but the server's pings (the test is over long before
    /// an unanswered one matters).
    async fn frame(&mut self) -> RawWsFrame {
        loop {
            let f = read_raw_ws_frame(&mut self.stream)
                .await
                .expect("a frame before the connection ends");
            if !(f.opcode == 1 && !f.rsv1 && f.payload == b"2") {
                return f;
            }
        }
    }

    /// The next text frame, inflated if it came compressed.
    async fn text(&mut self) -> String {
        self.message().await.0
    }

    /// The next text message, and whether its frame was compressed (RSV1).
    async fn message(&mut self) -> (String, bool) {
        let f = self.frame().await;
        assert_eq!(f.opcode, 1, "a text frame");
        let payload = match f.rsv1 {
            true => {
                let mut plain = Vec::new();
                self.inflater
                    .inflate(&f.payload, 1 << 20, &mut plain)
                    .expect("a compressed frame inflates");
                plain
            }
            false => f.payload,
        };
        (String::from_utf8(payload).expect("UTF-8"), f.rsv1)
    }

    /// Reads the event `event` with `arg`; returns whether it came
    /// compressed.
    async fn event(&mut self, event: &str, arg: &str) -> bool {
        let (text, compressed) = self.message().await;
        let want = json!([event, arg]).to_string();
        assert!(
            text.strip_prefix("42") == Some(want.as_str()),
            "expected {event} ({} bytes), got {}...",
            arg.len(),
            text.get(..40).unwrap_or(&text)
        );
        compressed
    }

    /// Reads `plain` then `deflated`, each with `arg`, sent by `who`: the
    /// first must come uncompressed (RSV1 clear), the second compressed.
    async fn plain_then_deflated(&mut self, arg: &str, who: &str) {
        assert!(
            !self.event("plain", arg).await,
            "{who} compress(false): RSV1 clear"
        );
        assert!(
            self.event("deflated", arg).await,
            "{who} plain emit: RSV1 set"
        );
    }
}

#[tokio::test]
async fn compress_false_crosses_the_cluster() {
    let prefix = unique_prefix("compress");
    let redis = redis_url();
    let deflate = SocketIoConfig::builder()
        .engine(|e| e.per_message_deflate(true))
        .build();
    // `b` compresses; `a` (without) and Node broadcast to its client.
    let (mut node, a, b) = tokio::join!(
        NodeServer::start(&prefix, &redis),
        RustServer::start("a", &prefix, &redis),
        RustServer::start_configured("b", config(&prefix, &redis).build(), deflate),
    );
    let mut client = RawClient::connect(&b.url).await;
    let big = "x".repeat(SIZE);

    // From Node: `io.compress(false).emit`, then `io.emit`.
    node.cmd(json!({"cmd": "emit", "event": "plain", "args": [big], "compress": false}))
        .await;
    node.cmd(json!({"cmd": "emit", "event": "deflated", "args": [big]}))
        .await;
    client.plain_then_deflated(&big, "Node's").await;

    // From another of ours: the same.
    a.io.compress(false).emit("plain", &big).expect("emitted");
    a.io.emit("deflated", &big).expect("emitted");
    client.plain_then_deflated(&big, "our").await;

    // From our emitter, which is no server: the same.
    let emitter = RedisEmitter::connect(config(&prefix, &redis).build())
        .await
        .expect("the emitter connects");
    emitter
        .compress(false)
        .emit("plain", &big)
        .await
        .expect("emitted");
    emitter.emit("deflated", &big).await.expect("emitted");
    client.plain_then_deflated(&big, "the emitter's").await;
}
