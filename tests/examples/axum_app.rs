//! `examples/axum-app` with Node: `tests/node/ex_axum_app.mjs` checks the
//! bearer token on the API and on the Socket.IO handshake, the CORS
//! preflight, compression, and a REST broadcast reaching a `socket.io-client`.

use std::time::Duration;

use axum::http::HeaderValue;
use socketio_axum_examples::axum_app::{self, Config};

use crate::{node::run_node, node::tests_dir, server::Server};

const TOKEN: &str = "test-token";
const ORIGIN: &str = "http://front.example";

#[test]
fn rest_broadcast_cors_and_auth() {
    let server = Server::start(|| {
        axum_app::app(Config {
            token: TOKEN.to_owned(),
            cors_origins: vec![HeaderValue::from_static(ORIGIN)],
        })
        .0
    });
    let out = run_node(
        &tests_dir().join("node/ex_axum_app.mjs"),
        &[&server.url(), TOKEN, ORIGIN],
        Duration::from_secs(60),
        |request| panic!("unexpected request {request:?}"),
    );
    out.assert_success();
    let lines = out.json_lines();
    let step = |name: &str| {
        lines
            .iter()
            .find(|l| l["step"] == name)
            .unwrap_or_else(|| panic!("no step {name:?} in {lines:#?}"))
    };
    assert_eq!(step("handshake without token")["status"], 401);
    assert_eq!(step("broadcast received")["message"]["title"], "hello");
    assert_eq!(step("broadcast answered")["body"]["sockets"], 1);
    assert_eq!(step("preflight")["allowOrigin"], ORIGIN);
}
