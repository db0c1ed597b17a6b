//! WebSocket-only sessions, and upgrade requests that are not valid WebSocket handshakes.

use bytes::Bytes;
use engineio_tower::Message;
use http::StatusCode;
use socketio_axum_tests::{quiet_config, raw_exchange, raw_ws_upgrade, TestServer, WsClient};
use tokio_tungstenite::tungstenite;

#[tokio::test]
async fn websocket_echoes_text_and_binary_one_packet_per_frame() {
    let server = TestServer::start(quiet_config()).await;
    let (mut ws, sid, _) = WsClient::open(&server).await;

    ws.send_text("4héllo").await;
    ws.send_binary(&[0, 1, 255]).await;
    ws.send_text("4world").await;
    assert_eq!(
        server.events.message(sid).await,
        Message::Text("héllo".into())
    );
    assert_eq!(
        server.events.message(sid).await,
        Message::Binary(Bytes::from_static(&[0, 1, 255]))
    );
    assert_eq!(
        server.events.message(sid).await,
        Message::Text("world".into())
    );
    assert_eq!(ws.recv_text().await, "4héllo");
    assert_eq!(
        ws.recv().await,
        Some(tungstenite::Message::binary(vec![0, 1, 255]))
    );
    assert_eq!(ws.recv_text().await, "4world");

    // Frames queued together are still written one per WebSocket message.
    let socket = server.socket(sid);
    socket.send_text("a").expect("send");
    socket.send_text("b").expect("send");
    socket.send_binary(Bytes::from_static(&[7])).expect("send");
    assert_eq!(ws.recv_text().await, "4a");
    assert_eq!(ws.recv_text().await, "4b");
    assert_eq!(ws.recv().await, Some(tungstenite::Message::binary(vec![7])));
}

/// The server frames what it sends itself: every length encoding of RFC
/// 6455 (7-bit, 16-bit, 64-bit), payloads copied into the write buffer or
/// written on their own, arrive intact, and a client's ping gets its pong,
/// alone or amid those frames.
#[tokio::test]
async fn frames_of_every_length_and_pongs_arrive_intact() {
    let server = TestServer::start(quiet_config()).await;
    let (mut ws, sid, _) = WsClient::open(&server).await;

    // A ping with nothing else going on is answered.
    ws.send_ping(b"p1").await;
    assert_eq!(
        ws.recv_any().await,
        Some(tungstenite::Message::Pong(Bytes::from_static(b"p1")))
    );

    let lengths = [
        0usize, 1, 125, 126, 127, 16_384, 16_385, 65_535, 65_536, 300_000,
    ];
    let socket = server.socket(sid);
    let payload = |n: usize, i: usize| {
        (0..n)
            .map(|j| ((i * 7 + j) % 251) as u8)
            .collect::<Vec<u8>>()
    };
    for (i, &n) in lengths.iter().enumerate() {
        socket
            .send_binary(Bytes::from(payload(n, i)))
            .expect("send");
        socket.send_text(&"é".repeat(n / 2)).expect("send");
    }
    ws.send_ping(b"p2").await;
    let mut pong = false;
    for (i, &n) in lengths.iter().enumerate() {
        for text in [false, true] {
            let msg = loop {
                match ws.recv_any().await.expect("a frame") {
                    tungstenite::Message::Pong(p) if p == b"p2"[..] && !pong => pong = true,
                    m => break m,
                }
            };
            if text {
                assert_eq!(
                    msg,
                    tungstenite::Message::text(format!("4{}", "é".repeat(n / 2)))
                );
            } else {
                assert_eq!(
                    msg,
                    tungstenite::Message::binary(payload(n, i)),
                    "binary frame of {n} bytes"
                );
            }
        }
    }
    if !pong {
        assert_eq!(
            ws.recv_any().await,
            Some(tungstenite::Message::Pong(Bytes::from_static(b"p2")))
        );
    }
}

#[tokio::test]
async fn invalid_websocket_upgrade_is_400_and_opens_no_session() {
    let server = TestServer::start(quiet_config()).await;
    const KEY: &str = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    const UPGRADE: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    const VERSION: &str = "Sec-WebSocket-Version: 13\r\n";
    let cases = [
        ("no key", "GET", format!("{UPGRADE}{VERSION}")),
        (
            "key not base64",
            "GET",
            format!("{UPGRADE}{VERSION}Sec-WebSocket-Key: ???not-base64???\r\n"),
        ),
        (
            "key of 4 bytes",
            "GET",
            format!("{UPGRADE}{VERSION}Sec-WebSocket-Key: AAECAw==\r\n"),
        ),
        (
            "version 8",
            "GET",
            format!("{UPGRADE}{KEY}Sec-WebSocket-Version: 8\r\n"),
        ),
        ("no version", "GET", format!("{UPGRADE}{KEY}")),
        (
            "upgrade to h2c",
            "GET",
            format!("Upgrade: h2c\r\nConnection: Upgrade\r\n{KEY}{VERSION}"),
        ),
        (
            "no upgrade header",
            "GET",
            format!("Connection: Upgrade\r\n{KEY}{VERSION}"),
        ),
        ("method POST", "POST", format!("{UPGRADE}{KEY}{VERSION}")),
        ("method PUT", "PUT", format!("{UPGRADE}{KEY}{VERSION}")),
    ];
    for (case, method, headers) in cases {
        let req = format!(
            "{method} /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {}\r\n{headers}\
             Content-Length: 0\r\n\r\n",
            server.addr
        );
        let res = raw_exchange(&server, req.as_bytes()).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{case}: {res:?}");
        assert_eq!(server.engine.session_count(), 0, "{case}: session created");
    }
    assert_eq!(server.events.pending().await, []);

    // An invalid upgrade of a polling session is refused the same way and
    // leaves the session on polling, working.
    let session = server.polling_session().await;
    let req = format!(
        "GET /engine.io/?{} HTTP/1.1\r\nHost: {}\r\n{UPGRADE}{KEY}Sec-WebSocket-Version: 8\r\n\r\n",
        session.query().replace("polling", "websocket"),
        server.addr
    );
    let res = raw_exchange(&server, req.as_bytes()).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{res:?}");
    assert_eq!(server.engine.session_count(), 1);
    session.assert_echoes("still polling").await;

    // Control: the valid request these cases were made from is accepted.
    let _ws = raw_ws_upgrade(&server, "EIO=4&transport=websocket").await;
    server.events.open().await;
    assert_eq!(server.engine.session_count(), 2);
}
