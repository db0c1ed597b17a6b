//! The client over WebTransport, against our server: a session opened
//! directly or by upgrade from polling, the certificate pinned by its hash
//! (as a browser's `serverCertificateHashes`), what a wrong hash does, and
//! reconnection after a restart; and against Node's engine, behind the
//! test's HTTP/3 endpoint (`relay_webtransport_to_tcp`).

use std::time::Duration;

use serde_json::json;
use socketio_axum::webtransport::Identity;
use socketio_client::{Client, ClientBuilder, DisconnectReason, Socket, Transport, Transports};

use crate::{
    harness::{builder, wait_until, within, Probe, Seen},
    scenarios,
    servers::{NodeServer, RustServer, Server},
};

const ACK_WAIT: Duration = Duration::from_secs(5);

fn identity() -> Identity {
    Identity::self_signed(["localhost", "127.0.0.1"]).expect("a certificate")
}

/// A client of `server` over `transports` that pins the certificate.
fn client(server: &RustServer, transports: Transports, identity: &Identity) -> ClientBuilder {
    builder(&server.url(), transports).server_certificate_hashes([identity.certificate_hash()])
}

/// The transport the server sees the session on.
async fn server_transport(socket: &socketio_client::Socket) -> String {
    socket
        .emit_with_ack("transport", &())
        .timeout(ACK_WAIT)
        .await
        .expect("the server's transport")
}

/// Connects `/` with a client of `builder`, watched by a probe, and waits
/// for the upgrade: the client, the socket, the probe and the transport
/// it upgraded to.
async fn connect_and_upgrade(builder: ClientBuilder) -> (Client, Socket, Probe, Transport) {
    let client = builder.build().expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_client(&client);
    probe.watch_socket(&socket);
    within("connect", socket.connect()).await.expect("connect");
    let upgraded = probe
        .find("the upgrade", |s| match s {
            Seen::Upgrade(t) => Some(*t),
            _ => None,
        })
        .await;
    (client, socket, probe, upgraded)
}

#[tokio::test]
async fn connects_over_webtransport_directly() {
    let identity = identity();
    let server = RustServer::start_webtransport(0, &identity);
    let auth = json!({"token": "good", "n": 1});
    let client = client(&server, Transports::WebTransportOnly, &identity)
        .header("x-test", "hello")
        .auth(auth.clone())
        .build()
        .expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_client(&client);
    probe.watch_socket(&socket);
    within("connect", socket.connect()).await.expect("connect");
    assert_eq!(client.transport(), Some(Transport::WebTransport));

    let welcome = probe.event("/", "welcome").await;
    assert_eq!(welcome[0]["auth"], auth, "{welcome:?}");
    // The headers go on the CONNECT request of the session.
    assert_eq!(welcome[0]["header"], "hello", "{welcome:?}");
    assert_eq!(server_transport(&socket).await, "webtransport");

    // The server pings every 300 ms and waits 200 ms for the answer:
    // across several of its pings, the session stays up.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let unexpected: Vec<Seen> = probe
        .drain()
        .into_iter()
        .filter(|s| {
            matches!(
                s,
                Seen::Disconnect(..) | Seen::Connect(_) | Seen::Upgrade(_)
            )
        })
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    socket.emit("echo", &("after", 1)).expect("emit");
    assert_eq!(probe.event("/", "echo").await, [json!("after"), json!(1)]);

    client.disconnect();
    let (_, reason) = probe.disconnected("/").await;
    assert_eq!(reason, DisconnectReason::IoClientDisconnect);
    wait_until("the session to close", || client.transport().is_none()).await;
}

#[tokio::test]
async fn events_and_acks_both_ways_over_webtransport() {
    let identity = identity();
    let server = RustServer::start_webtransport(0, &identity);
    scenarios::events_and_acks(client(&server, Transports::WebTransportOnly, &identity)).await;
}

#[tokio::test]
async fn binary_both_ways_over_webtransport() {
    let identity = identity();
    let server = RustServer::start_webtransport(0, &identity);
    scenarios::binary(
        client(&server, Transports::WebTransportOnly, &identity),
        Transport::WebTransport,
    )
    .await;
}

/// Polling first; the server offers both upgrades, WebTransport is probed
/// first and wins.
#[tokio::test]
async fn upgrades_from_polling_to_webtransport() {
    let identity = identity();
    let server = RustServer::start_webtransport(0, &identity);
    let (client, socket, mut probe, upgraded) =
        connect_and_upgrade(client(&server, Transports::Upgrade, &identity)).await;
    assert_eq!(upgraded, Transport::WebTransport);
    assert_eq!(client.transport(), Some(Transport::WebTransport));
    assert_eq!(server_transport(&socket).await, "webtransport");
    socket.emit("echo", "over webtransport").expect("emit");
    assert_eq!(probe.event("/", "echo").await, [json!("over webtransport")]);
    probe.drain();
    let upgrades = probe
        .history
        .iter()
        .filter(|(_, s)| matches!(s, Seen::Upgrade(_)))
        .count();
    assert_eq!(upgrades, 1, "{:?}", probe.history);
    client.disconnect();
}

/// A certificate that does not match the pinned hash: a session over
/// WebTransport alone cannot open; with the default transports the
/// WebTransport probe fails and the session upgrades to WebSocket.
#[tokio::test]
async fn a_wrong_certificate_hash_fails_webtransport() {
    let identity = identity();
    let server = RustServer::start_webtransport(0, &identity);
    let wrong = identity.certificate_hash().map(|b| !b);

    let direct = builder(&server.url(), Transports::WebTransportOnly)
        .server_certificate_hashes([wrong])
        .reconnection(false)
        .build()
        .expect("client");
    let e = within("the failed connect", direct.socket("/").connect())
        .await
        .expect_err("the certificate does not match");
    assert!(e.is_transport(), "{e:?}");

    let (fallback, socket, _, upgraded) = connect_and_upgrade(
        builder(&server.url(), Transports::Upgrade).server_certificate_hashes([wrong]),
    )
    .await;
    assert_eq!(upgraded, Transport::WebSocket);
    assert_eq!(server_transport(&socket).await, "websocket");
    fallback.disconnect();
}

/// The server closes the session (it finishes its stream, then closes
/// the connection): a `transport close`, after which the client
/// reconnects over WebTransport.
#[tokio::test]
async fn reconnects_after_the_server_closes_the_session() {
    let identity = identity();
    let server = RustServer::start_webtransport(0, &identity);
    let client = client(&server, Transports::WebTransportOnly, &identity)
        .build()
        .expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_client(&client);
    probe.watch_socket(&socket);
    within("connect", socket.connect()).await.expect("connect");
    probe.event("/", "welcome").await;

    let dropping: String = socket
        .emit_with_ack("drop", &())
        .timeout(ACK_WAIT)
        .await
        .expect("drop");
    assert_eq!(dropping, "dropping");
    let (_, reason) = probe.disconnected("/").await;
    assert_eq!(reason, DisconnectReason::TransportClose);
    probe.connected("/").await;
    assert_eq!(client.transport(), Some(Transport::WebTransport));
    assert_eq!(server_transport(&socket).await, "webtransport");
    client.disconnect();
}

/// `UpgradeToWebSocket` leaves WebTransport out, though the server offers
/// it and the client would trust its certificate.
#[tokio::test]
async fn upgrade_to_websocket_never_tries_webtransport() {
    let identity = identity();
    let server = RustServer::start_webtransport(0, &identity);
    let (client, socket, _, upgraded) =
        connect_and_upgrade(client(&server, Transports::UpgradeToWebSocket, &identity)).await;
    assert_eq!(upgraded, Transport::WebSocket);
    assert_eq!(server_transport(&socket).await, "websocket");
    client.disconnect();
}

/// The server offers WebTransport, but the client's UDP does not get
/// through: the WebSocket probe, started 200 ms after the WebTransport one
/// and not after it fails, takes over well before the upgrade could time
/// out.
#[tokio::test]
async fn an_unreachable_webtransport_ends_on_websocket_without_waiting() {
    let identity = identity();
    let server = RustServer::start_webtransport_unreachable(&identity);
    let upgrade_timeout = Duration::from_secs(5);
    let client = client(&server, Transports::Upgrade, &identity)
        .connect_timeout(upgrade_timeout)
        .build()
        .expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_client(&client);
    probe.watch_socket(&socket);
    within("connect", socket.connect()).await.expect("connect");
    let connected = probe.connected("/").await;
    let (upgraded_at, upgraded) = probe
        .wait_for("the upgrade", |s| match s {
            Seen::Upgrade(t) => Some(*t),
            _ => None,
        })
        .await;
    assert_eq!(upgraded, Transport::WebSocket);
    assert!(
        upgraded_at - connected < upgrade_timeout / 2,
        "upgraded {:?} after connecting",
        upgraded_at - connected
    );
    assert_eq!(server_transport(&socket).await, "websocket");
    client.disconnect();
}

/// The server goes away and comes back on the same ports with the same
/// certificate: the client reconnects over WebTransport on its own.
#[tokio::test]
async fn reconnects_over_webtransport_after_a_server_restart() {
    let identity = identity();
    let server = RustServer::start_webtransport(0, &identity);
    let port = server.port();
    let client = client(&server, Transports::WebTransportOnly, &identity)
        .build()
        .expect("client");
    let socket = client.socket("/");
    let mut probe = Probe::new();
    probe.watch_client(&client);
    probe.watch_socket(&socket);
    within("connect", socket.connect()).await.expect("connect");
    let first = probe.event("/", "welcome").await[0]["engine"].clone();

    server.kill();
    let (_, reason) = probe.disconnected("/").await;
    assert!(
        matches!(
            reason,
            DisconnectReason::TransportClose
                | DisconnectReason::TransportError
                | DisconnectReason::PingTimeout
        ),
        "{reason:?}"
    );
    let _server = RustServer::start_webtransport(port, &identity);
    probe
        .wait_for("the reconnection", |s| match s {
            Seen::Reconnect(_) => Some(()),
            _ => None,
        })
        .await;
    let second = probe.event("/", "welcome").await[0]["engine"].clone();
    assert_ne!(first, second, "a new session");
    assert_eq!(client.transport(), Some(Transport::WebTransport));
    assert_eq!(server_transport(&socket).await, "webtransport");
    client.disconnect();
}

/// The bytes of a direct session, read by a bare WebTransport server: the
/// URL has no query, and the frames are those of the official client
/// (captured from Chromium in docs/design/webtransport.md): `01 30` (the
/// open request), then `02 34 30` (CONNECT to `/`), then the event.
#[tokio::test]
async fn a_direct_session_sends_the_official_clients_bytes() {
    async fn read(recv: &mut wtransport::RecvStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        within("bytes", recv.read_exact(&mut buf))
            .await
            .expect("read");
        buf
    }

    let identity = wtransport::Identity::self_signed(["localhost", "127.0.0.1"]).expect("identity");
    let hash = *identity.certificate_chain().as_slice()[0].hash().as_ref();
    let config = wtransport::ServerConfig::builder()
        .with_bind_address("127.0.0.1:0".parse().expect("an address"))
        .with_identity(identity)
        .build();
    let endpoint = wtransport::Endpoint::server(config).expect("a server endpoint");
    let port = endpoint.local_addr().expect("address").port();

    let client = builder(
        &format!("http://127.0.0.1:{port}"),
        Transports::WebTransportOnly,
    )
    .query("x", "not sent")
    .server_certificate_hashes([hash])
    .build()
    .expect("client");
    let socket = client.socket("/");
    let connecting = tokio::spawn({
        let socket = socket.clone();
        async move { socket.connect().await }
    });

    let request = within("the session request", async {
        endpoint.accept().await.await.expect("a session request")
    })
    .await;
    assert_eq!(request.path(), "/socket.io/");
    let conn = request.accept().await.expect("accepted");
    let (mut send, mut recv) = within("the stream", conn.accept_bi())
        .await
        .expect("a stream");
    assert_eq!(read(&mut recv, 2).await, b"\x010");
    let open = br#"0{"sid":"abcdefghijklmnopqrst","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
    let mut frame = vec![u8::try_from(open.len()).expect("short")];
    frame.extend_from_slice(open);
    send.write_all(&frame).await.expect("write");
    assert_eq!(read(&mut recv, 3).await, b"\x0240");
    send.write_all(b"\x0d40{\"sid\":\"x\"}")
        .await
        .expect("write");
    within("connect", connecting)
        .await
        .expect("the task")
        .expect("connected");
    socket.emit("hi", &()).expect("emit");
    assert_eq!(read(&mut recv, 9).await, b"\x0842[\"hi\"]");
    client.disconnect();
}

/// Node's engine over WebTransport: events, acks and binary both ways on a
/// session opened directly, and the upgrade from polling, which Node's
/// server offers and our client takes.
#[tokio::test]
async fn talks_to_nodes_engine_over_webtransport() {
    let (node, hash) = NodeServer::start_webtransport(json!({})).await;
    let direct =
        || builder(&node.url(), Transports::WebTransportOnly).server_certificate_hashes([hash]);
    scenarios::events_and_acks(direct()).await;
    scenarios::binary(direct(), Transport::WebTransport).await;

    let (client, socket, _, upgraded) = connect_and_upgrade(
        builder(&node.url(), Transports::Upgrade).server_certificate_hashes([hash]),
    )
    .await;
    assert_eq!(upgraded, Transport::WebTransport);
    assert_eq!(server_transport(&socket).await, "webtransport");
    client.disconnect();
    node.kill().await;
}
