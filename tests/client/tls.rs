//! The client over TLS: polling over `https://` and WebSocket over
//! `wss://` to a server whose certificate a test CA signed, trusted as a
//! custom root; refused without it. WebTransport trusts the same roots
//! when no certificate hash is pinned.

use std::{error::Error as _, path::PathBuf};

use socketio_axum::webtransport::Identity;
use socketio_axum_tests::test_certs;
use socketio_client::{Transport, Transports};

use crate::{
    harness::{builder, within},
    scenarios,
    servers::{RustServer, Server},
};

fn https_url(server: &RustServer) -> String {
    format!("https://127.0.0.1:{}", server.port())
}

/// Polling over HTTPS, then the upgrade to WSS; and WSS alone, from a
/// `wss://` URL. Only the test CA is trusted.
#[tokio::test]
async fn polling_and_websocket_over_tls_trusting_a_custom_root() {
    let certs = test_certs();
    let server = RustServer::start_tls(&certs.cert, &certs.key);
    let trusting = |url: &str, transports| {
        builder(url, transports)
            .platform_roots(false)
            .add_root_certificate_pem(&certs.ca)
    };
    let url = https_url(&server);
    scenarios::connect_over(
        trusting(&url, Transports::Upgrade),
        Transports::Upgrade,
        true,
    )
    .await;
    scenarios::connect_over(
        trusting(&url, Transports::PollingOnly),
        Transports::PollingOnly,
        true,
    )
    .await;
    let wss = format!("wss://127.0.0.1:{}", server.port());
    scenarios::binary(
        trusting(&wss, Transports::WebSocketOnly),
        Transport::WebSocket,
    )
    .await;
}

/// Without the test CA, the certificate is refused, on either transport.
#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let certs = test_certs();
    let server = RustServer::start_tls(&certs.cert, &certs.key);
    let other = test_certs();
    for transports in [Transports::PollingOnly, Transports::WebSocketOnly] {
        let client = builder(&https_url(&server), transports)
            .platform_roots(false)
            .add_root_certificate_pem(&other.ca)
            .reconnection(false)
            .build()
            .expect("client");
        let e = within("the refused connect", client.socket("/").connect())
            .await
            .expect_err("an untrusted certificate");
        assert!(e.is_transport(), "{transports:?}: {e:?}");
        let mut chain = String::new();
        let mut source = e.source();
        while let Some(s) = source {
            chain.push_str(&format!("{s}; "));
            source = s.source();
        }
        assert!(chain.contains("certificate"), "{transports:?}: {chain}");
    }
}

/// A directory of files for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "socketio-client-{name}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A WebTransport server whose certificate the test CA signed (not one a
/// hash could pin: it is valid for years): the client trusts it through
/// the custom root, and refuses it without.
#[tokio::test]
async fn webtransport_trusts_a_custom_root() {
    let certs = test_certs();
    let dir = TempDir::new("wt");
    let (cert, key) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
    std::fs::write(&cert, &certs.cert).expect("write");
    std::fs::write(&key, &certs.key).expect("write");
    let identity = Identity::load_pem_files(&cert, &key)
        .await
        .expect("the identity");
    let server = RustServer::start_webtransport(0, &identity);

    let client = builder(&server.url(), Transports::WebTransportOnly)
        .platform_roots(false)
        .add_root_certificate_pem(&certs.ca)
        .build()
        .expect("client");
    let socket = client.socket("/");
    within("connect", socket.connect()).await.expect("connect");
    assert_eq!(client.transport(), Some(Transport::WebTransport));
    let ack: String = socket
        .emit_with_ack("ack", "over a trusted certificate")
        .await
        .expect("ack");
    assert_eq!(ack, "over a trusted certificate");
    client.disconnect();

    let untrusted = builder(&server.url(), Transports::WebTransportOnly)
        .platform_roots(false)
        .add_root_certificate_pem(test_certs().ca)
        .reconnection(false)
        .build()
        .expect("client");
    let e = within("the refused connect", untrusted.socket("/").connect())
        .await
        .expect_err("an untrusted certificate");
    assert!(e.is_transport(), "{e:?}");
}
