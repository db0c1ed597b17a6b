//! Hostile input over raw WebSocket frames: the server answers with the
//! protocol's error or closes that one connection, never panics, and keeps
//! serving everyone else (a witness client, connected before, round-trips an
//! event after each attack; a new client can still join).

use serde_json::Value;
use socketio_axum::{
    extract::{AckSender, Data, RawArgs},
    Binary, SocketIoConfig, SocketRef,
};
use socketio_axum_tests::{raw_ws_frame, read_raw_ws_frame, sio_config, SioServer, SioWs};
use socketio_protocol::socket::DecodeLimits;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

/// A server where "/" acks `echo` with its argument (deserialized), `raw`
/// with its arguments as received and `bytes` with the length of its binary
/// argument, and "/admin" exists; plus a witness client joined to "/".
async fn server_with(config: SocketIoConfig) -> (SioServer, SioWs) {
    let server = SioServer::start(config).await;
    server.io.ns("/", |socket: SocketRef| async move {
        socket.on("echo", |Data(v): Data<Value>, ack: AckSender| async move {
            ack.send(&(v,)).expect("ack");
        });
        socket.on("raw", |ack: AckSender, args: RawArgs| async move {
            ack.send_raw(args).expect("ack");
        });
        socket.on(
            "bytes",
            |Data(b): Data<Binary>, ack: AckSender| async move {
                ack.send(&(b.len(),)).expect("ack");
            },
        );
    });
    server.io.ns("/admin", |_: SocketRef| async move {});
    let mut witness = server.ws().await;
    witness.join("/").await;
    (server, witness)
}

async fn server() -> (SioServer, SioWs) {
    server_with(sio_config()).await
}

/// The witness and a newcomer are both served.
async fn assert_still_serving(server: &SioServer, witness: &mut SioWs) {
    witness.send(r#"42900["echo","still here"]"#).await;
    assert_eq!(
        witness.recv_text().await,
        r#"43900["still here"]"#,
        "the witness"
    );
    let mut newcomer = server.ws().await;
    newcomer.join("/").await;
    newcomer.send(r#"421["echo",{"new":true}]"#).await;
    assert_eq!(
        newcomer.recv_text().await,
        r#"431[{"new":true}]"#,
        "a newcomer"
    );
}

/// Joins "/" on a new connection, sends `frames`, and fails the test
/// unless the server then closes the connection without answering.
async fn assert_closed_silently(server: &SioServer, frames: &[&str]) {
    let mut client = server.ws().await;
    client.join("/").await;
    for frame in frames {
        client.send(frame).await;
    }
    let before = client.closed_by_server().await;
    assert_eq!(before, Vec::<Message>::new(), "answered {frames:?}");
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn ten_thousand_nested_arrays_close_the_connection() {
    let (server, mut witness) = server().await;
    for event in ["echo", "raw"] {
        let frame = format!("421[\"{event}\",{}]", nested(10_000));
        assert_closed_silently(&server, &[&frame]).await;
    }
    assert_still_serving(&server, &mut witness).await;
}

#[tokio::test]
async fn deep_nesting_past_serde_limits_is_an_ack_error_when_the_decoder_allows_it() {
    // The packet decoder lets it through; deserializing must then refuse it
    // instead of overflowing the stack.
    let mut limits = DecodeLimits::default();
    limits.max_depth = 20_000;
    let config = SocketIoConfig::builder()
        .ping_interval(std::time::Duration::from_secs(60))
        .decode_limits(limits)
        .build();
    let (server, mut witness) = server_with(config).await;
    let mut client = server.ws().await;
    client.join("/").await;
    client
        .send(&format!("421[\"echo\",{}]", nested(10_000)))
        .await;
    let reply = client.recv_text().await;
    let args: Value = serde_json::from_str(
        reply
            .strip_prefix("431")
            .unwrap_or_else(|| panic!("expected ack 1, got {:.80}", reply)),
    )
    .expect("ack JSON");
    assert!(
        args[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("nested too deep")),
        "{args}"
    );
    // Echoed as received, the nesting goes back untouched.
    let nest = nested(10_000);
    client.send(&format!("422[\"raw\",{nest}]")).await;
    assert_eq!(client.recv_text().await, format!("432[{nest}]"));
    assert_still_serving(&server, &mut witness).await;
}

#[tokio::test]
async fn attachment_count_bombs_close_the_connection() {
    let (server, mut witness) = server().await;
    for frame in [
        r#"451000000-["x"]"#,
        r#"4599999999999999999999999-["x"]"#,
        r#"4511-["echo",{"_placeholder":true,"num":0}]"#,
        r#"461000000-/admin,1[]"#,
    ] {
        assert_closed_silently(&server, &[frame]).await;
    }
    assert_still_serving(&server, &mut witness).await;
}

#[tokio::test]
async fn placeholder_that_points_nowhere_is_refused() {
    let (server, mut witness) = server().await;
    let mut client = server.ws().await;
    client.join("/").await;
    client
        .send(r#"451-1["bytes",{"_placeholder":true,"num":7}]"#)
        .await;
    client.send_binary(b"\x00\x01").await;
    // Either the extractor's ack error (then the connection goes on), or the
    // close of the connection, as Node does.
    match client.recv().await {
        None => {}
        Some(Message::Text(text)) => {
            assert!(text.as_str().starts_with(r#"431[{"error":"#), "{text}");
            client
                .send(r#"451-2["bytes",{"_placeholder":true,"num":0}]"#)
                .await;
            client.send_binary(b"\x00\x01\x02").await;
            assert_eq!(
                client.recv_text().await,
                "432[3]",
                "a good one goes through"
            );
        }
        Some(other) => panic!("expected an ack error or a close, got {other:?}"),
    }
    assert_still_serving(&server, &mut witness).await;
}

#[tokio::test]
async fn packet_with_a_dangling_placeholder_closes_the_connection() {
    let (server, mut witness) = server().await;
    let mut client = server.ws().await;
    client.join("/").await;
    client
        .send(r#"451-1["raw",{"_placeholder":true,"num":7}]"#)
        .await;
    client.send_binary(b"\x00\x01").await;
    // Today the server acks `461-1[{"_placeholder":true,"num":7}]` and one
    // attachment: a packet that socket.io-parser refuses to decode.
    let answer = client.recv().await;
    assert!(answer.is_none(), "answered {answer:?}");
    assert_still_serving(&server, &mut witness).await;
}

#[tokio::test]
async fn truncated_packets_close_the_connection() {
    let (server, mut witness) = server().await;
    for frame in [
        "4",
        "42",
        "42[",
        r#"42["echo""#,
        r#"421["echo",{"a":"#,
        r#"42["echo",1]]"#,
        "45",
        "451-",
        r#"42/admin"#,
        "43",
        "49",
    ] {
        assert_closed_silently(&server, &[frame]).await;
    }
    assert_still_serving(&server, &mut witness).await;
}

#[tokio::test]
async fn binary_frame_where_text_is_expected_closes_the_connection() {
    let (server, mut witness) = server().await;
    let mut client = server.ws().await;
    client.join("/").await;
    client.send_binary(b"\xff\xfe42[\"echo\"]").await;
    assert_eq!(client.closed_by_server().await, Vec::<Message>::new());
    assert_still_serving(&server, &mut witness).await;
}

#[tokio::test]
async fn text_frame_that_is_not_utf8_closes_the_connection() {
    let (server, mut witness) = server().await;
    let mut stream = server.raw_ws().await;
    let open = read_raw_ws_frame(&mut stream).await.expect("open packet");
    assert_eq!((open.opcode, open.payload[0]), (1, b'0'), "{open:?}");
    stream
        .write_all(&raw_ws_frame(true, 1, 2, b"40"))
        .await
        .expect("write");
    let connect = read_raw_ws_frame(&mut stream).await.expect("CONNECT");
    assert!(connect.payload.starts_with(b"40{\"sid\":"), "{connect:?}");

    let payload = b"421[\"echo\",\"\xff\xfe\"]";
    stream
        .write_all(&raw_ws_frame(true, 1, payload.len() as u64, payload))
        .await
        .expect("write");
    // A close frame (1007, invalid payload data) or the end of the stream;
    // never an answer.
    let after = read_raw_ws_frame(&mut stream).await;
    if let Some(frame) = &after {
        assert_eq!(frame.opcode, 8, "expected a close, got {frame:?}");
    }
    assert_still_serving(&server, &mut witness).await;
}

#[tokio::test]
async fn packets_for_a_namespace_not_joined_close_the_connection() {
    let (server, mut witness) = server().await;
    for frame in [
        r#"42/admin,["echo",1]"#,
        r#"42/admin,1["echo",1]"#,
        "43/admin,1[]",
        r#"42/nowhere,["echo",1]"#,
    ] {
        assert_closed_silently(&server, &[frame]).await;
    }
    assert_still_serving(&server, &mut witness).await;
}

#[tokio::test]
async fn client_sending_connect_error_closes_the_connection() {
    let (server, mut witness) = server().await;
    assert_closed_silently(&server, &[r#"44{"message":"nope"}"#]).await;
    assert_still_serving(&server, &mut witness).await;
}

#[tokio::test]
async fn a_second_connect_to_a_joined_namespace_closes_the_connection() {
    // Node closes the connection on a CONNECT for a namespace it holds ("invalid state").
    let (server, mut witness) = server().await;
    assert_closed_silently(&server, &["40"]).await;
    let mut client = server.ws().await;
    client.join("/admin").await;
    client.send("40/admin,").await;
    assert_eq!(client.closed_by_server().await, Vec::<Message>::new());
    assert_eq!(server.io.sockets().len(), 1, "only the witness");
    assert_still_serving(&server, &mut witness).await;
}

#[tokio::test]
async fn a_binary_packet_declaring_no_attachment_closes_the_connection() {
    // Node's parser refuses a count below one ("Illegal attachments").
    let (server, mut witness) = server().await;
    for frame in [
        r#"450-["echo",1]"#,
        r#"450-1["echo",1]"#,
        "460-1[1]",
        r#"4500-["echo"]"#,
    ] {
        assert_closed_silently(&server, &[frame]).await;
    }
    assert_still_serving(&server, &mut witness).await;
}

#[tokio::test]
async fn a_packet_type_that_is_not_a_digit_closes_the_connection() {
    // Engine.IO's type (`x…`, `é…`), then Socket.IO's (`4x…`): Node closes
    // with a parse error.
    let (server, mut witness) = server().await;
    for frame in [
        r#"x["echo",1]"#,
        "\u{e9}4",
        r#"4x["echo",1]"#,
        "4",
        r#"4 2["echo",1]"#,
        "4\u{e9}",
    ] {
        assert_closed_silently(&server, &[frame]).await;
    }
    assert_still_serving(&server, &mut witness).await;
}
