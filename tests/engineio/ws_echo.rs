//! The plain WebSocket echo of `engineio_tower::testing` (what the
//! Autobahn|Testsuite meets, through `examples/ws_echo`): the same frame
//! reader and writer as an Engine.IO session, with no Engine.IO above.

use engineio_tower::{testing::ws_echo, EngineIoConfig};
use futures_util::{SinkExt, StreamExt};
use socketio_axum_tests::within;
use tokio_tungstenite::tungstenite::{
    protocol::{
        frame::{
            coding::{CloseCode, Data, OpCode},
            Frame,
        },
        CloseFrame,
    },
    Message,
};

/// Serves the echo on 127.0.0.1:0 with a 1 MiB limit; returns its address.
async fn start() -> std::net::SocketAddr {
    let config = EngineIoConfig::builder().max_payload(1 << 20).build();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let res = ws_echo(req, &config);
        async move { res }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn echoes_messages_at_any_path_and_answers_pings_and_the_close() {
    let addr = start().await;
    let (mut ws, _) = within(
        "the handshake",
        tokio_tungstenite::connect_async(format!("ws://{addr}/any/path?x=1")),
    )
    .await
    .expect("WebSocket handshake");
    let large: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let sent = [
        Message::text("héllo"),
        Message::binary(large),
        Message::Ping(b"p".to_vec().into()),
        Message::text(""),
    ];
    for m in &sent {
        ws.send(m.clone()).await.expect("send");
    }
    for m in &sent {
        let expected = match m {
            Message::Ping(p) => Message::Pong(p.clone()),
            other => other.clone(),
        };
        let got = within("an echo", ws.next())
            .await
            .expect("open")
            .expect("frame");
        assert_eq!(got, expected);
    }
    ws.send(Message::Close(Some(CloseFrame {
        code: CloseCode::from(4001),
        reason: "bye".into(),
    })))
    .await
    .expect("send close");
    let close = within("the close", ws.next())
        .await
        .expect("open")
        .expect("frame");
    assert!(
        matches!(&close, Message::Close(Some(f)) if u16::from(f.code) == 4001),
        "{close:?}"
    );
}

#[tokio::test]
async fn invalid_text_and_oversized_messages_get_their_close_codes() {
    let addr = start().await;
    let cases: [(&str, Message, u16); 2] = [
        (
            "text that is not UTF-8",
            Message::Frame(Frame::message(
                b"ok\xff".to_vec(),
                OpCode::Data(Data::Text),
                true,
            )),
            1007,
        ),
        (
            "over the limit",
            Message::binary(vec![0; (1 << 20) + 1]),
            1009,
        ),
    ];
    for (case, message, code) in cases {
        let (mut ws, _) = within(
            "the handshake",
            tokio_tungstenite::connect_async(format!("ws://{addr}/")),
        )
        .await
        .expect("WebSocket handshake");
        // The server may close before it read all of an oversized message.
        let _ = ws.send(message).await;
        let close = within("the close", ws.next()).await.expect("open");
        assert!(
            matches!(&close, Ok(Message::Close(Some(f))) if u16::from(f.code) == code),
            "{case}: {close:?}"
        );
    }
}
