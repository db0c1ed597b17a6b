//! `examples/tls` (HTTPS and WSS through axum-server's rustls acceptor) with
//! the official client, which trusts a CA made for the test (rcgen) through
//! its `ca` option; without it, the client refuses the server. Then the
//! example's graceful shutdown, as a connected client sees it.

use axum_server::Handle;
use serde_json::json;
use socketio_axum_examples::tls;
use socketio_axum_tests::{test_certs, wait_until, within, TestCerts, TIMEOUT};

use crate::{
    client::{line, session, LiveNode},
    tmp::TempDir,
};

/// The example, serving on 127.0.0.1:0 with a certificate of a fresh CA.
struct TlsServer {
    url: String,
    io: socketio_axum::SocketIo,
    handle: Handle<std::net::SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    dir: TempDir,
}

impl TlsServer {
    async fn start() -> TlsServer {
        let TestCerts { ca, cert, key } = test_certs();
        let dir = TempDir::new("tls");
        dir.write("ca.pem", ca);
        let config = tls::tls_config(cert.into_bytes(), key.into_bytes())
            .await
            .expect("TLS configuration");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().expect("addr").port()
        );
        let (app, io) = tls::app();
        let handle = Handle::new();
        let task = tokio::spawn(tls::serve(listener, config, app, handle.clone()));
        TlsServer {
            url,
            io,
            handle,
            task,
            dir,
        }
    }

    fn ca(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn node_client_over_wss_and_https_trusting_a_test_ca() {
    let server = TlsServer::start().await;
    let (url, ca) = (server.url.clone(), server.ca());
    let (wss, polling, upgrade, untrusted) = tokio::join!(
        session(json!({"url": url, "ca": ca, "transports": ["websocket"], "echo": "over wss"})),
        session(json!({"url": url, "ca": ca, "transports": ["polling"], "echo": "over https"})),
        session(json!({"url": url, "ca": ca, "upgrade": true, "echo": "upgraded"})),
        session(json!({"url": url, "transports": ["websocket"], "expectConnectError": true})),
    );
    assert_eq!(line(&wss, "connected")["transport"], "websocket");
    assert_eq!(line(&wss, "ack")["args"], "over wss");
    assert_eq!(line(&polling, "connected")["transport"], "polling");
    assert_eq!(line(&upgrade, "connected")["first"], "polling");
    assert_eq!(line(&polling, "ack")["args"], "over https");
    assert_eq!(line(&upgrade, "upgraded")["transport"], "websocket");
    assert_eq!(line(&upgrade, "ack")["args"], "upgraded");
    // Without the CA, Node refuses the certificate.
    let refused = line(&untrusted, "connect_error");
    assert!(
        refused["cause"]
            .as_str()
            .is_some_and(|c| c.contains("certificate")),
        "{refused}"
    );
}

#[tokio::test]
async fn graceful_shutdown_closes_connections_then_stops() {
    let mut server = TlsServer::start().await;
    let mut ws = LiveNode::spawn(&json!({
        "url": server.url, "ca": server.ca(), "transports": ["websocket"],
        "echo": 1, "expectDrop": true,
    }));
    let mut polling = LiveNode::spawn(&json!({
        "url": server.url, "ca": server.ca(), "transports": ["polling"],
        "echo": 2, "expectDrop": true,
    }));
    ws.next("ack").await;
    polling.next("ack").await;
    assert_eq!(server.io.sockets().len(), 2);

    tls::shutdown(&server.io, &server.handle, TIMEOUT / 2).await;
    // A WebSocket gets its close frame. A long-poll pending at the close is
    // answered with the close packet (`transport close`); a client between
    // two polls finds the server gone (`transport error`). The official
    // client reconnects after either.
    for (client, reasons) in [
        (&mut ws, &["transport close"][..]),
        (&mut polling, &["transport close", "transport error"][..]),
    ] {
        let dropped = client.next("dropped").await;
        assert!(
            reasons.iter().any(|r| dropped["reason"] == *r),
            "{dropped}, not one of {reasons:?}"
        );
        let status = within("node to exit", client.child.wait())
            .await
            .expect("node");
        assert!(status.success(), "{status}");
    }
    wait_until("no socket left", || server.io.sockets().is_empty()).await;
    let served = within("the server to stop", &mut server.task)
        .await
        .expect("server task");
    served.expect("the server stopped without error");
}
