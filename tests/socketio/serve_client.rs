//! The official browser client served under the Socket.IO path
//! (`SocketIoConfigBuilder::serve_client`), compared with Node's
//! `serveClient` in the same run: same files, bytes, headers and 304s.

use std::path::PathBuf;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use socketio_axum::{ClientBundle, SocketIoConfig, SocketRef};
use socketio_axum_tests::{node_script, SioServer};

fn client_dist() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/socket.io-client/dist")
}

fn get(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .body(Full::new(Bytes::new()))
        .expect("request")
}

async fn serving_the_client() -> SioServer {
    let bundle =
        ClientBundle::from_dir(client_dist()).expect("the pinned socket.io-client's dist/");
    let config = SocketIoConfig::builder().serve_client(bundle).build();
    let server = SioServer::start(config).await;
    server.io.ns("/", |_: SocketRef| async {});
    server
}

#[tokio::test]
async fn client_files_match_nodes_serve_client_byte_for_byte() {
    let server = serving_the_client().await;
    let out = node_script("serve_client.mjs", &[&server.url()]).await;
    out.assert_success();
    let lines = out.json_lines();
    assert_eq!(lines.len(), 8 * 3, "{}", out.stdout);
    for line in &lines {
        let (node, ours) = (&line["node"], &line["ours"]);
        let what = format!("{} ({})", line["file"], line["case"]);
        if line["case"] == "plain" {
            assert_eq!(node["status"], 200, "Node's answer to {what}");
            assert!(node["length"].as_u64() > Some(0), "{what}");
            assert_eq!(ours, node, "{what}");
        } else {
            assert_eq!(node["status"], 304, "Node's answer to {what}");
            // Ours also names the tag on a 304 (RFC 9110 §15.4.5); Node's does not.
            assert_eq!(ours["etag"], "\"4.8.4\"", "{what}");
            for key in ["status", "contentType", "cacheControl", "length"] {
                assert_eq!(ours[key], node[key], "{key} of {what}");
            }
        }
    }
}

#[tokio::test]
async fn other_paths_and_methods_are_left_to_the_application() {
    let server = serving_the_client().await;
    // Not a bundle file: the inner router answers (here, its 404).
    let res = server.request(get("/socket.io/socket.io.slim.js")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{res:?}");
    let post = Request::post("/socket.io/socket.io.min.js")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let res = server.request(post).await;
    assert_ne!(res.status, StatusCode::OK, "{res:?}");
    // The handshake is still served on the same path.
    let res = server
        .request(get("/socket.io/?EIO=4&transport=polling"))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{res:?}");
    assert!(res.text().starts_with('0'), "{res:?}");
}

#[tokio::test]
async fn without_a_bundle_nothing_is_served() {
    let server = SioServer::start(SocketIoConfig::builder().build()).await;
    let res = server.request(get("/socket.io/socket.io.min.js")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{res:?}");
}
