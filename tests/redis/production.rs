//! Redis as production runs it: with a password or an ACL user, and over
//! TLS (`rediss://`) with a private CA. Each test runs its own
//! `redis-server` on a free port.

use std::{error::Error as _, path::Path, process::Command};

use serde_json::json;
use socketio_redis::{Error, RedisAdapter, RedisAdapterConfig};

use crate::{
    harness::{config, unique_prefix, within, Clients, NodeServer, RustServer},
    private::{free_port, PrivateRedis, TempDir},
};

/// A Redis that wants a password (`requirepass`), with an ACL user `alice`.
async fn redis_with_passwords() -> PrivateRedis {
    PrivateRedis::start_with(
        free_port(),
        &[
            "--requirepass",
            "default-pw",
            "--user",
            "alice",
            "on",
            ">alice-pw",
            "~*",
            "&*",
            "+@all",
        ],
    )
    .await
}

#[tokio::test]
async fn passwords_in_the_url_authenticate_the_publishing_and_the_subscribed_connection() {
    let redis = redis_with_passwords().await;
    let default_user = format!("redis://:default-pw@127.0.0.1:{}", redis.port);
    let alice = format!("redis://alice:alice-pw@127.0.0.1:{}", redis.port);
    let prefix = unique_prefix("auth");
    let (a, b, mut node, mut clients) = tokio::join!(
        RustServer::start("a", &prefix, &default_user),
        RustServer::start("b", &prefix, &alice),
        NodeServer::start(&prefix, &alice),
        Clients::start(),
    );
    clients.connect("a1", &a.url, &["r1"]).await;
    clients.connect("b1", &b.url, &["r1"]).await;
    clients.connect("n1", &node.url, &["r1"]).await;
    // PUBSUB NUMSUB on the publishing connection counts the subscribed ones.
    assert_eq!(a.io.server_count().await.unwrap(), 3);

    // Published by a, received through the subscriptions of b and node.
    a.io.to("r1").emit("from-a", &1).unwrap();
    assert_eq!(clients.received("b1", "from-a").await, json!([1]));
    assert_eq!(clients.received("n1", "from-a").await, json!([1]));
    // And the other way round.
    node.cmd(json!({"cmd": "emit", "rooms": ["r1"], "event": "from-node", "args": [2]}))
        .await;
    assert_eq!(clients.received("a1", "from-node").await, json!([2]));
    assert_eq!(clients.received("b1", "from-node").await, json!([2]));
}

/// `RedisAdapter::connect` with this URL, expected to fail.
async fn connect_error(url: &str) -> Error {
    let config = config(&unique_prefix("auth-fail"), url).build();
    within("connect to fail", RedisAdapter::connect(config))
        .await
        .expect_err("connect must fail")
}

/// The Redis client's error under ours.
fn redis_source(err: &Error) -> &redis::RedisError {
    err.source()
        .and_then(|s| s.downcast_ref::<redis::RedisError>())
        .unwrap_or_else(|| panic!("{err:?} has the Redis client's error as its source"))
}

#[tokio::test]
async fn a_wrong_or_missing_password_fails_with_the_auth_failure_as_its_source() {
    let redis = redis_with_passwords().await;
    for url in [
        format!("redis://:wrong@127.0.0.1:{}", redis.port),
        format!("redis://alice:wrong@127.0.0.1:{}", redis.port),
    ] {
        let err = connect_error(&url).await;
        assert!(err.is_auth(), "{url}: {err:?}");
        assert_eq!(err.to_string(), "Redis refused the credentials");
        let source = redis_source(&err);
        assert_eq!(
            source.kind(),
            redis::ErrorKind::AuthenticationFailed,
            "{source:?}"
        );
    }
    // Without a password, Redis refuses the first command.
    let err = connect_error(&redis.url()).await;
    assert!(err.is_auth(), "{err:?}");
    assert_eq!(redis_source(&err).code(), Some("NOAUTH"), "{err:?}");
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA (`ca.crt`), a certificate it signed for the server
/// (`server.crt`, for 127.0.0.1 and localhost) and one for a client
/// (`client.crt`), each with its P-256 key (`*.key`).
fn certificates(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    openssl(
        dir,
        &[
            &[
                "req",
                "-x509",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=test CA",
            ][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.crt"],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for who in ["server", "client"] {
        let (key, csr, crt, ext) = (
            format!("{who}.key"),
            format!("{who}.csr"),
            format!("{who}.crt"),
            format!("{who}.ext"),
        );
        let subject = format!("/CN=test {who}");
        openssl(
            dir,
            &[
                &["req", "-nodes", "-subj", &subject][..],
                &ec,
                &["-keyout", &key, "-out", &csr],
            ]
            .concat(),
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-days",
                "1",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-extfile",
                &ext,
                "-out",
                &crt,
            ],
        );
    }
}

/// A Redis that speaks TLS only, on a free port.
async fn tls_redis(dir: &Path, auth_clients: &str) -> PrivateRedis {
    let port = free_port();
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let (cert, key, ca) = (path("server.crt"), path("server.key"), path("ca.crt"));
    PrivateRedis::start_with(
        port,
        &[
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-ca-cert-file",
            &ca,
            "--tls-auth-clients",
            auth_clients,
        ],
    )
    .await
}

#[tokio::test]
async fn rediss_with_a_private_ca_spans_servers_and_refuses_an_unknown_issuer() {
    let dir = TempDir::new("tls");
    certificates(&dir.0);
    let ca = std::fs::read(dir.0.join("ca.crt")).unwrap();
    let redis = tls_redis(&dir.0, "no").await;
    let url = format!("rediss://127.0.0.1:{}", redis.port);
    let prefix = unique_prefix("tls");
    let tls = |prefix: &str| config(prefix, &url).tls_root_certificates(ca.clone());
    let (a, b, mut clients) = tokio::join!(
        RustServer::start_with("a", tls(&prefix).build()),
        RustServer::start_with("b", tls(&prefix).build()),
        Clients::start(),
    );
    clients.connect("a1", &a.url, &["r1"]).await;
    clients.connect("b1", &b.url, &["r1"]).await;
    assert_eq!(a.io.server_count().await.unwrap(), 2);
    a.io.to("r1").emit("over-tls", &1).unwrap();
    assert_eq!(clients.received("b1", "over-tls").await, json!([1]));
    b.io.emit("back", &2).unwrap();
    assert_eq!(clients.received("a1", "back").await, json!([2]));

    // The system's roots do not know the test CA: the handshake fails.
    let err = within(
        "connect without the CA",
        RedisAdapter::connect(config(&prefix, &url).build()),
    )
    .await
    .expect_err("an unknown issuer is refused");
    assert!(err.is_connect(), "{err:?}");
    let chain = error_chain(&err);
    assert!(chain.contains("UnknownIssuer"), "{chain}");
}

/// Every message of the error's `source()` chain, one per line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push('\n');
        out.push_str(&format!("{e} ({e:?})"));
        source = e.source();
    }
    out
}

#[tokio::test]
async fn a_redis_that_asks_for_a_client_certificate_gets_the_configured_one() {
    let dir = TempDir::new("mtls");
    certificates(&dir.0);
    let read = |f: &str| std::fs::read(dir.0.join(f)).unwrap();
    let redis = tls_redis(&dir.0, "yes").await;
    let url = format!("rediss://127.0.0.1:{}", redis.port);
    let base = || {
        RedisAdapterConfig::builder()
            .url(url.clone())
            .key_prefix(unique_prefix("mtls"))
            .tls_root_certificates(read("ca.crt"))
    };

    let with_cert = base()
        .tls_client_certificate(read("client.crt"), read("client.key"))
        .build();
    let adapter = within(
        "connect with a client certificate",
        RedisAdapter::connect(with_cert),
    )
    .await
    .unwrap();
    assert!(adapter.is_connected());

    let err = within("connect without one", RedisAdapter::connect(base().build()))
        .await
        .expect_err("Redis refuses a client without a certificate");
    assert!(err.is_connect(), "{err:?}");
}
