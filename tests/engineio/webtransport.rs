//! WebTransport sessions (feature `webtransport`), with wtransport's client
//! pinning the server's self-signed certificate: the framing on the
//! stream, the handshake, the upgrade from polling, the heartbeat, limits
//! and refusals, and both sides' close.

use bytes::Bytes;
use engineio_tower::{CloseReason, Message, TransportType};
use http::StatusCode;
use socketio_axum_tests::{
    assert_pending, heartbeat_config, quiet_config, within, wt_session, TestServer, WtClient,
    MAX_PAYLOAD, PENDING_WINDOW,
};
use socketio_protocol::engine::Frame;

async fn server(config: engineio_tower::EngineIoConfig) -> TestServer {
    TestServer::builder(config).webtransport().start().await
}

#[tokio::test]
async fn a_session_opens_and_carries_text_and_binary_both_ways() {
    let server = server(quiet_config()).await;
    let (mut client, sid, open) = WtClient::open(&server).await;
    assert_eq!(open["upgrades"], serde_json::json!([]));
    assert_eq!(open["pingInterval"], 60_000);
    assert_eq!(open["maxPayload"], MAX_PAYLOAD);
    server.events.opened(sid).await;
    assert_eq!(server.socket(sid).transport(), TransportType::WebTransport);

    client.send_text("4hello").await;
    assert_eq!(
        server.events.message(sid).await,
        Message::Text("hello".into())
    );
    assert_eq!(client.recv_text().await, "4hello");
    client.send_binary(&[1, 2, 3]).await;
    assert_eq!(
        server.events.message(sid).await,
        Message::Binary(Bytes::from_static(&[1, 2, 3]))
    );
    assert_eq!(
        client.recv().await,
        Some(Frame::Binary(Bytes::from_static(&[1, 2, 3])))
    );
    // Frames of the 2- and 8-byte length forms, written in one batch.
    let socket = server.socket(sid);
    let (mid, long) = ("m".repeat(300), "l".repeat(70_000));
    socket.send_text(&mid).expect("send");
    socket.send_text(&long).expect("send");
    assert_eq!(client.recv_text().await, format!("4{mid}"));
    assert_eq!(client.recv_text().await, format!("4{long}"));
}

#[tokio::test]
async fn polling_handshakes_offer_webtransport_after_websocket() {
    let server = server(quiet_config()).await;
    let session = server.polling_session().await;
    assert_eq!(
        session.handshake["upgrades"],
        serde_json::json!(["websocket", "webtransport"])
    );
    // Without a listener, only WebSocket.
    let plain = TestServer::start(quiet_config()).await;
    let session = plain.polling_session().await;
    assert_eq!(
        session.handshake["upgrades"],
        serde_json::json!(["websocket"])
    );
}

#[tokio::test]
async fn protocol_v3_sessions_are_not_offered_webtransport() {
    let config = engineio_tower::EngineIoConfig::builder()
        .allow_eio3(true)
        .ping_interval(std::time::Duration::from_secs(60))
        .build();
    let server = server(config).await;
    let res = server.get("EIO=3&transport=polling").await;
    assert_eq!(res.status, StatusCode::OK, "{res:?}");
    let (_, open) = res.text().split_once(":0").expect("a v3 open packet");
    let open: serde_json::Value = serde_json::from_str(open).expect("JSON");
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    // Nor can they upgrade to it.
    let sid = open["sid"].as_str().expect("sid");
    let mut client = WtClient::connect(&server).await;
    client.send_text(&format!("0{{\"sid\":\"{sid}\"}}")).await;
    assert_eq!(client.recv().await, None);
}

#[tokio::test]
async fn a_polling_session_upgrades_to_webtransport() {
    let server = server(quiet_config()).await;
    let session = server.polling_session().await;
    let sid = session.sid;
    let mut pending_get = Box::pin(session.get());
    assert_pending(
        "a GET with nothing queued",
        &mut pending_get,
        PENDING_WINDOW,
    )
    .await;

    let mut client = WtClient::connect(&server).await;
    client.send_text(&format!("0{{\"sid\":\"{sid}\"}}")).await;
    client.send_text("2probe").await;
    assert_eq!(client.recv_text().await, "3probe");
    // The pending GET is released with a noop, so the client can pause polling.
    let res = pending_get.await;
    assert_eq!((res.status, res.text()), (StatusCode::OK, "6"));
    // Another upgrade while this one is under way is refused.
    let mut rival = WtClient::connect(&server).await;
    rival.send_text(&format!("0{{\"sid\":\"{sid}\"}}")).await;
    assert_eq!(rival.recv().await, None);
    client.send_text("5").await;
    client.send_text("4over webtransport").await;
    assert_eq!(
        server.events.message(sid).await,
        Message::Text("over webtransport".into())
    );
    assert_eq!(client.recv_text().await, "4over webtransport");
    assert_eq!(server.socket(sid).transport(), TransportType::WebTransport);

    // Polling is over for this session, and a second upgrade is refused.
    let res = session.get().await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{res:?}");
    let mut second = WtClient::connect(&server).await;
    second.send_text(&format!("0{{\"sid\":\"{sid}\"}}")).await;
    assert_eq!(second.recv().await, None);
    assert!(!server.socket(sid).is_closed());
}

#[tokio::test]
async fn an_upgrade_of_an_unknown_session_is_closed() {
    let server = server(quiet_config()).await;
    let mut client = WtClient::connect(&server).await;
    client
        .send_text("0{\"sid\":\"AAAAAAAAAAAAAAAAAAAA\"}")
        .await;
    assert_eq!(client.recv().await, None);
    client.closed().await;
}

#[tokio::test]
async fn the_heartbeat_runs_and_times_out() {
    let server = server(heartbeat_config()).await;
    let (mut client, sid, _) = WtClient::open(&server).await;
    for _ in 0..2 {
        assert_eq!(client.recv_text().await, "2");
        client.send_text("3").await;
    }
    assert_eq!(client.recv_text().await, "2");
    // No pong: the server closes the session.
    assert_eq!(server.events.close(sid).await, CloseReason::PingTimeout);
    client.closed().await;
}

#[tokio::test]
async fn the_heartbeat_ends_a_session_whose_peer_vanished() {
    let server = server(heartbeat_config()).await;
    // The client lives on a runtime of its own, shut down without a word:
    // its QUIC endpoint then answers nothing, as a process killed would.
    let listener = server.webtransport.expect("a listener");
    let (runtime, client, sid) = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let (client, sid, _) = runtime.block_on(WtClient::open_at(listener, "/engine.io/"));
        (runtime, client, sid)
    })
    .await
    .expect("the client's thread");
    server.events.opened(sid).await;
    runtime.shutdown_background();
    assert_eq!(server.events.close(sid).await, CloseReason::PingTimeout);
    // Its handles outlive the runtime: their close is never sent.
    drop(client);
}

#[tokio::test]
async fn a_frame_over_max_payload_closes_the_session_as_a_parse_error() {
    let server = server(quiet_config()).await;
    let (mut client, sid, _) = WtClient::open(&server).await;
    // The header alone announces 1,001 bytes: refused before the payload.
    let len = u16::try_from(MAX_PAYLOAD + 1).expect("small");
    let [hi, lo] = len.to_be_bytes();
    client.send_raw(&[126, hi, lo, b'4']).await;
    assert_eq!(server.events.close(sid).await, CloseReason::ParseError);
    client.closed().await;
}

#[tokio::test]
async fn an_empty_frame_or_bad_packet_is_a_parse_error() {
    let server = server(quiet_config()).await;
    let (mut client, sid, _) = WtClient::open(&server).await;
    client.send_raw(&[0x00]).await;
    assert_eq!(server.events.close(sid).await, CloseReason::ParseError);

    let (mut client, sid, _) = WtClient::open(&server).await;
    client.send_text("9nonsense").await;
    assert_eq!(server.events.close(sid).await, CloseReason::ParseError);
}

#[tokio::test]
async fn the_clients_close_is_a_transport_close() {
    let server = server(quiet_config()).await;
    let (client, sid, _) = WtClient::open(&server).await;
    client.conn.close(0u32.into(), b"");
    assert_eq!(server.events.close(sid).await, CloseReason::TransportClose);

    let (mut client, sid, _) = WtClient::open(&server).await;
    client.send_text("1").await;
    assert_eq!(server.events.close(sid).await, CloseReason::TransportClose);
}

#[tokio::test]
async fn what_the_server_queued_before_closing_arrives() {
    let server = server(quiet_config()).await;
    let (mut client, sid, _) = WtClient::open(&server).await;
    let socket = server.socket(sid);
    socket.send_text("last words").expect("send");
    socket.close();
    assert_eq!(client.recv_text().await, "4last words");
    assert_eq!(client.recv().await, None);
    assert_eq!(server.events.close(sid).await, CloseReason::ForcedClose);
    client.closed().await;
}

#[tokio::test]
async fn sessions_elsewhere_than_the_engines_path_are_refused() {
    let server = server(quiet_config()).await;
    let elsewhere = wt_session(&server, "/other/", &[]).await;
    assert!(elsewhere.is_err(), "a session on /other/ was accepted");
    assert!(wt_session(&server, "/engine.io/", &[]).await.is_ok());
}

#[tokio::test]
async fn allow_request_sees_the_connect_request_and_can_refuse_it() {
    let server = TestServer::builder(quiet_config())
        .engine(|b| {
            b.allow_request(|parts| match parts.headers.get("origin") {
                Some(o) if o == "https://allowed.example" => Ok(()),
                _ => Err("origin".into()),
            })
        })
        .webtransport()
        .start()
        .await;
    let refused = wt_session(
        &server,
        "/engine.io/",
        &[("origin", "https://other.example")],
    )
    .await;
    assert!(
        refused.is_err(),
        "a session refused by allow_request was accepted"
    );
    let allowed = wt_session(
        &server,
        "/engine.io/",
        &[("origin", "https://allowed.example")],
    )
    .await;
    assert!(allowed.is_ok(), "{:?}", allowed.err());
    assert_eq!(server.engine.session_count(), 0);
}

#[tokio::test]
async fn connections_past_max_connections_are_refused_until_one_ends() {
    let server = TestServer::builder(quiet_config())
        .webtransport_with(|c| c.max_connections(1))
        .start()
        .await;
    let (client, sid, _) = WtClient::open(&server).await;
    server.events.opened(sid).await;
    let refused = wt_session(&server, "/engine.io/", &[]).await;
    assert!(refused.is_err(), "a second connection was served");
    // Still one session, still served.
    assert_eq!(server.engine.session_count(), 1);
    client.conn.close(0u32.into(), b"bye");
    assert_eq!(server.events.close(sid).await, CloseReason::TransportClose);
    // Its task ends just after the session's close: a new connection is
    // served once it has (each refused attempt is a full round trip).
    within("a connection served after the first ended", async {
        while wt_session(&server, "/engine.io/", &[]).await.is_err() {}
    })
    .await;
}
