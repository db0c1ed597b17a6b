//! Namespaces (static and dynamic), connect middlewares and server-initiated
//! disconnects, seen by the official `socket.io-client`
//! (`tests/node/sio_namespaces.mjs`, `sio_middleware.mjs`, `sio_disconnect.mjs`).

use serde::Deserialize;
use serde_json::{json, Value};
use socketio_axum::{
    extract::{AckSender, Data, Extension, State},
    ConnectError, DisconnectReason, SocketIo, SocketRef,
};
use socketio_axum_tests::{node_script, sio_config, SioServer};

use crate::common::{observe, Seen};

/// The events of a socket in the namespaces test: `whoami` acks the
/// namespace and socket id, `shout` reaches the namespace's other sockets,
/// `ping` acks `pong`.
fn register(socket: &SocketRef) {
    socket.on("whoami", |socket: SocketRef, ack: AckSender| async move {
        ack.send(&(socket.ns().as_str(), socket.id().to_string()))
            .expect("ack whoami");
    });
    socket.on(
        "shout",
        |socket: SocketRef, Data(text): Data<String>, ack: AckSender| async move {
            socket
                .broadcast()
                .emit("shouted", socket.ns().as_str())
                .expect("broadcast");
            ack.send(&text).expect("ack shout");
        },
    );
    socket.on("ping", |ack: AckSender| async move {
        ack.send("pong").expect("ack ping");
    });
}

#[tokio::test]
async fn static_and_dynamic_namespaces_are_separate() {
    let server = SioServer::start(sio_config()).await;
    server.io.ns(
        "/chat",
        |socket: SocketRef| async move { register(&socket) },
    );
    server.io.dyn_ns(
        |path| path.starts_with("/tenant-"),
        |socket: SocketRef| async move { register(&socket) },
    );

    let out = node_script("sio_namespaces.mjs", &[&server.url()]).await;
    out.assert_success();
    let lines = out.json_lines();
    let find = |event: &str, name: &str| -> &Value {
        lines
            .iter()
            .find(|l| l["event"] == event && (name.is_empty() || l["name"] == name))
            .unwrap_or_else(|| panic!("no {event} {name} in {lines:#?}"))
    };

    let nope = find("nope", "");
    assert_eq!(nope["message"], "Invalid namespace", "{nope}");
    assert_eq!(nope["active"], false, "the client gave up on /nope");

    for (name, ns) in [
        ("chat", "/chat"),
        ("t7", "/tenant-7"),
        ("t42a", "/tenant-42"),
        ("t42b", "/tenant-42"),
    ] {
        let who = find("whoami", name);
        assert_eq!(who["ns"], ns, "{who}");
        assert_eq!(
            who["id"], who["clientId"],
            "the server's and client's socket id"
        );
        assert_ne!(
            who["id"], who["engineId"],
            "a socket id is not the connection's id"
        );
    }
    // chat and t7 share a connection (multiplexed), with a socket id each.
    assert_eq!(
        find("whoami", "chat")["engineId"],
        find("whoami", "t7")["engineId"]
    );
    assert_ne!(find("whoami", "chat")["id"], find("whoami", "t7")["id"]);

    // The shout reached the other /tenant-42 socket once, and no one else.
    assert_eq!(find("shout-ack", "")["ack"], json!(["hello"]));
    assert_eq!(
        find("shouted-counts", "")["counts"],
        json!({ "chat": 0, "t7": 0, "t42a": 0, "t42b": 1 }),
        "{lines:#?}"
    );

    let mut namespaces: Vec<String> = server
        .io
        .namespaces()
        .iter()
        .map(|n| n.to_string())
        .collect();
    namespaces.sort();
    assert_eq!(namespaces, ["/", "/chat", "/tenant-42", "/tenant-7"]);
}

#[derive(Debug, Clone)]
struct User(String);

#[derive(Debug, Deserialize)]
struct Typed {
    #[allow(dead_code)]
    name: String,
    age: u32,
}

/// A server-wide middleware refuses banned clients and stores the user
/// name for the namespace middlewares after it.
async fn check_ban(socket: SocketRef, Data(auth): Data<Value>) -> Result<(), ConnectError> {
    if auth["banned"] == true {
        return Err(ConnectError::new("banned").with_data(json!({ "by": "server" })));
    }
    let name = auth["name"].as_str().unwrap_or("anonymous").to_owned();
    socket.insert_extension(User(name));
    Ok(())
}

/// `/admin`'s own middleware, which relies on the server-wide one having run.
async fn admins_only(Extension(user): Extension<User>) -> Result<(), ConnectError> {
    if user.0 == "root" {
        Ok(())
    } else {
        Err(ConnectError::new("admins only").with_data(json!({ "code": 403, "user": user.0 })))
    }
}

fn whoami(socket: &SocketRef) {
    socket.on(
        "whoami",
        |Extension(user): Extension<User>, ack: AckSender| async move {
            ack.send(&user.0).expect("ack whoami");
        },
    );
}

#[tokio::test]
async fn middleware_and_extractor_refusals_reach_the_client_as_connect_error() {
    let (seen, mut joined) = observe::<String>();
    let builder = SocketIo::builder()
        .config(sio_config())
        .with_state(seen)
        .with_middleware(check_ban);
    let server = SioServer::start_with(builder, axum::Router::new()).await;
    server.io.ns(
        "/",
        |socket: SocketRef, State(seen): State<Seen<String>>| async move {
            seen.send(format!("/ {}", socket.id()));
            whoami(&socket);
        },
    );
    server
        .io
        .ns(
            "/admin",
            |socket: SocketRef, State(seen): State<Seen<String>>| async move {
                let user = socket.extension::<User>().map(|u| u.0);
                seen.send(format!("/admin {}", user.unwrap_or_default()));
                whoami(&socket);
            },
        )
        .with(admins_only);
    server.io.ns(
        "/typed",
        |socket: SocketRef, Data(auth): Data<Typed>, State(seen): State<Seen<String>>| async move {
            seen.send(format!("/typed {}", auth.age));
            whoami(&socket);
        },
    );

    let out = node_script("sio_middleware.mjs", &[&server.url()]).await;
    out.assert_success();
    let lines = out.json_lines();
    let find = |name: &str| -> &Value {
        lines
            .iter()
            .find(|l| l["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {lines:#?}"))
    };

    let bob = find("admin-bob");
    assert_eq!(
        (&bob["event"], &bob["message"], &bob["data"], &bob["active"]),
        (
            &json!("refused"),
            &json!("admins only"),
            &json!({ "code": 403, "user": "bob" }),
            &json!(false)
        ),
        "{bob}"
    );
    assert_eq!(
        find("admin-root"),
        &json!({ "event": "joined", "name": "admin-root", "whoami": "root" })
    );
    let banned = find("banned");
    assert_eq!(
        (&banned["event"], &banned["message"], &banned["data"]),
        (
            &json!("refused"),
            &json!("banned"),
            &json!({ "by": "server" })
        ),
        "{banned}"
    );
    let typed = find("typed-bad");
    assert_eq!(typed["event"], "refused", "{typed}");
    assert!(
        typed["message"]
            .as_str()
            .is_some_and(|m| m.contains("missing field `age`")),
        "the extractor's rejection is the message: {typed}"
    );
    assert_eq!(
        find("typed-good"),
        &json!({ "event": "joined", "name": "typed-good", "whoami": "carol" })
    );

    // Only the accepted clients reached a connect handler.
    assert_eq!(joined.next("root's connection").await, "/admin root");
    assert_eq!(joined.next("carol's connection").await, "/typed 7");
    assert_eq!(
        joined.drain(),
        Vec::<String>::new(),
        "refused clients ran a connect handler"
    );
}

#[tokio::test]
async fn server_disconnect_is_io_server_disconnect_for_the_client() {
    let (seen, mut left) = observe::<(String, DisconnectReason)>();
    let builder = SocketIo::builder().config(sio_config()).with_state(seen);
    let server = SioServer::start_with(builder, axum::Router::new()).await;
    server.io.ns("/", |socket: SocketRef| async move {
        socket.on(
            "kick-me",
            |socket: SocketRef| async move { socket.disconnect() },
        );
        socket.on_disconnect(
            |socket: SocketRef,
             reason: DisconnectReason,
             State(seen): State<Seen<(String, DisconnectReason)>>| async move {
                seen.send((socket.id().to_string(), reason));
            },
        );
    });
    server.io.ns(
        "/chat",
        |socket: SocketRef| async move { register(&socket) },
    );

    let out = node_script("sio_disconnect.mjs", &[&server.url()]).await;
    out.assert_success();
    let lines = out.json_lines();
    let disconnect = lines
        .iter()
        .find(|l| l["event"] == "disconnect")
        .unwrap_or_else(|| panic!("no disconnect in {lines:#?}"));
    assert_eq!(disconnect["reason"], "io server disconnect", "{disconnect}");
    assert_eq!(disconnect["active"], false, "the client must not reconnect");
    let ping = lines
        .iter()
        .find(|l| l["event"] == "chat-ping")
        .unwrap_or_else(|| panic!("no chat-ping in {lines:#?}"));
    assert_eq!(
        ping,
        &json!({ "event": "chat-ping", "ack": ["pong"], "connected": true, "mainConnected": false }),
        "/chat outlives the kick on the shared connection"
    );

    let (id, reason) = left.next("the kicked socket's disconnect handler").await;
    assert_eq!(disconnect["id"], id.as_str());
    assert_eq!(reason, DisconnectReason::ServerNamespaceDisconnect);
}
