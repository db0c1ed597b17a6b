//! WebSocket per-message compression (RFC 7692, `per_message_deflate`) on
//! the raw wire: the offer answered or not, the server's messages from the
//! threshold up compressed (RSV1 set) and the smaller ones not,
//! `Outbound::Uncompressed` never, the client's compressed messages read,
//! and a message that would inflate past `max_payload` closed with 1009.
//! The official client over compression is in `tests/socketio/deflate.rs`.

use engineio_tower::{CloseReason, EngineIoConfig, Message, Outbound};
use socketio_axum_tests::{
    assert_raw_ws_closed_with, quiet_config, raw_ws_frame, raw_ws_upgrade_offering,
    read_raw_ws_frame, RawWsFrame, TestServer,
};
use socketio_protocol::{
    engine::Frame,
    websocket::deflate::{negotiate, Deflater, Inflater},
};
use tokio::{io::AsyncWriteExt, net::TcpStream};

/// Above the open packet (about 100 bytes), which then goes uncompressed.
const THRESHOLD: usize = 256;

fn deflate_config() -> EngineIoConfig {
    let quiet = quiet_config();
    EngineIoConfig::builder()
        .ping_interval(quiet.ping_interval())
        .ping_timeout(quiet.ping_timeout())
        .max_payload(quiet.max_payload())
        .deflate_threshold(THRESHOLD)
        .build()
}

/// A WebSocket-only session opened by hand with `extensions` offered;
/// returns the stream, the response's `Sec-WebSocket-Extensions`, and the
/// session id.
async fn open(
    server: &TestServer,
    extensions: Option<&str>,
) -> (TcpStream, Option<String>, String) {
    let (mut stream, agreed) = raw_ws_upgrade_offering(
        server.addr,
        "/engine.io/?EIO=4&transport=websocket",
        extensions,
    )
    .await;
    let open = frame(&mut stream).await;
    assert!(!open.rsv1, "the open packet is under the threshold");
    let text = String::from_utf8(open.payload).expect("text");
    let json: serde_json::Value = serde_json::from_str(&text[1..]).expect("open JSON");
    let sid = json["sid"].as_str().expect("sid").to_owned();
    (stream, agreed, sid)
}

/// A server frame (with its RSV1 bit).
async fn frame(stream: &mut TcpStream) -> RawWsFrame {
    read_raw_ws_frame(stream).await.expect("a frame")
}

fn deflater() -> Deflater {
    Deflater::new(&negotiate(["permessage-deflate"]).expect("an offer"))
}

/// A masked client frame with RSV1 set: a compressed message.
fn compressed_frame(opcode: u8, plain: &[u8]) -> Vec<u8> {
    let mut payload = Vec::new();
    deflater().deflate(plain, &mut payload);
    let mut bytes = raw_ws_frame(true, opcode, payload.len() as u64, &payload);
    bytes[0] |= 0x40;
    bytes
}

#[tokio::test]
async fn an_offer_is_answered_and_messages_from_the_threshold_up_go_compressed() {
    let server = TestServer::start(deflate_config()).await;
    let (mut stream, agreed, sid) =
        open(&server, Some("permessage-deflate; client_max_window_bits")).await;
    assert_eq!(agreed.as_deref(), Some("permessage-deflate"));
    let socket = server.socket(sid.parse().expect("sid"));

    let large = "x".repeat(THRESHOLD * 4);
    socket.send_text(&large).expect("queued");
    let f = frame(&mut stream).await;
    assert!(f.rsv1 && f.opcode == 1, "compressed text");
    assert!(f.payload.len() < 20, "{} bytes", f.payload.len());
    let mut inflater = Inflater::new();
    let mut plain = Vec::new();
    inflater
        .inflate(&f.payload, 1 << 20, &mut plain)
        .expect("inflates");
    assert_eq!(plain, format!("4{large}").as_bytes());

    // Under the threshold, and a binary message over it.
    socket.send_text("small").expect("queued");
    let f = frame(&mut stream).await;
    assert!(!f.rsv1);
    assert_eq!(f.payload, b"4small");
    socket.send_binary(vec![7u8; 1000].into()).expect("queued");
    let f = frame(&mut stream).await;
    assert!(f.rsv1 && f.opcode == 2);
    plain.clear();
    inflater
        .inflate(&f.payload, 1 << 20, &mut plain)
        .expect("inflates");
    assert_eq!(plain, vec![7u8; 1000]);

    // Never compressed when asked so (Node's `compress(false)`).
    let uncompressed = Outbound::Uncompressed(vec![Frame::message(&large)]);
    socket.send(uncompressed).expect("queued");
    let f = frame(&mut stream).await;
    assert!(!f.rsv1);
    assert_eq!(f.payload, format!("4{large}").as_bytes());

    // The client's compressed and plain messages both arrive.
    let mut bytes = compressed_frame(1, b"4compressed hello");
    bytes.extend(raw_ws_frame(true, 1, 6, b"4plain"));
    stream.write_all(&bytes).await.expect("write");
    let sid = sid.parse().expect("sid");
    assert_eq!(
        server.events.message(sid).await,
        Message::Text("compressed hello".into())
    );
    assert_eq!(
        server.events.message(sid).await,
        Message::Text("plain".into())
    );
}

#[tokio::test]
async fn no_offer_or_no_option_means_no_compression() {
    // The server compresses, the client offers nothing.
    let server = TestServer::start(deflate_config()).await;
    let (mut stream, agreed, sid) = open(&server, None).await;
    assert_eq!(agreed, None);
    let large = "y".repeat(THRESHOLD * 4);
    server
        .socket(sid.parse().expect("sid"))
        .send_text(&large)
        .expect("queued");
    assert!(!frame(&mut stream).await.rsv1);

    // The client offers, the server does not compress: a compressed frame
    // is then a protocol error.
    let server = TestServer::start(quiet_config()).await;
    let (mut stream, agreed, sid) = open(&server, Some("permessage-deflate")).await;
    assert_eq!(agreed, None);
    stream
        .write_all(&compressed_frame(1, b"4hello"))
        .await
        .expect("write");
    assert_raw_ws_closed_with(&mut stream, 1002, "RSV1 without the extension").await;
    let sid = sid.parse().expect("sid");
    assert_eq!(server.events.close(sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn a_message_that_inflates_past_max_payload_is_closed_with_1009() {
    let server = TestServer::start(deflate_config()).await;
    let (mut bystander, _, other) = open(&server, Some("permessage-deflate")).await;
    let (mut stream, _, sid) = open(&server, Some("permessage-deflate")).await;
    // 200 KB of zeros in a few hundred bytes, for a limit of 1000.
    let bomb = compressed_frame(2, &vec![0u8; 200_000]);
    assert!(bomb.len() < 1000, "{}", bomb.len());
    stream.write_all(&bomb).await.expect("write");
    assert_raw_ws_closed_with(&mut stream, 1009, "a deflate bomb").await;
    let sid = sid.parse().expect("sid");
    assert_eq!(server.events.close(sid).await, CloseReason::TransportError);

    // The other session goes on.
    bystander
        .write_all(&compressed_frame(1, b"4still here"))
        .await
        .expect("write");
    let other = other.parse().expect("sid");
    assert_eq!(
        server.events.message(other).await,
        Message::Text("still here".into())
    );
}
