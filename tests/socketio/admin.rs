//! The admin namespace of `socketio_axum::admin::AdminUi` on the wire, as
//! `@socket.io/admin-ui`'s UI speaks it: the login and its session id, the
//! features offered, the notifications with their arguments, and the
//! actions. The official UI in a browser, and a cluster with Node's
//! instrumented server, are in `tests/examples/admin_ui.rs`.

use serde_json::{json, Value};
use socketio_axum::{
    admin::{AdminUi, Mode},
    SocketIo, SocketRef,
};
use socketio_axum_tests::{sio_config, SioServer, SioWs};

/// bcrypt (cost 4, the lowest: the test pays for each login) of `secret`.
const HASH: &str = "$2a$04$DcKBQ22duH6eRU9CZnM9l.RHL6wvGQIrXMkdiEqdr0h9tUSKTW2qe";

async fn server(admin: AdminUi) -> SioServer {
    let (layer, io) = SocketIo::builder().config(sio_config()).build_layer();
    io.ns("/", |socket: SocketRef| async move {
        socket.on("ping", |socket: SocketRef| async move {
            let _ = socket.emit("pong", &("back", 2));
        });
    });
    admin.instrument(&io).expect("instrumented");
    SioServer::serve((layer, io), axum::Router::new()).await
}

/// An event of the admin namespace: `[name, ...args]`, or `None` for
/// another frame.
fn admin_event(frame: &str) -> Option<Vec<Value>> {
    let json = frame.strip_prefix("42/admin,")?;
    serde_json::from_str::<Vec<Value>>(json).ok()
}

/// Reads frames until the admin event `name` arrives; returns its arguments.
async fn next_event(ws: &mut SioWs, name: &str) -> Vec<Value> {
    loop {
        let frame = ws.recv_text().await;
        if let Some(mut ev) = admin_event(&frame) {
            if ev[0] == name {
                ev.remove(0);
                return ev;
            }
        }
    }
}

async fn connect_admin(server: &SioServer, auth: Value) -> (SioWs, String) {
    let mut ws = server.ws().await;
    ws.send(&format!("40/admin,{auth}")).await;
    let answer = ws.recv_text().await;
    (ws, answer)
}

#[tokio::test]
async fn a_login_gives_a_session_id_that_logs_in_again() {
    let server = server(AdminUi::basic_auth("admin", HASH)).await;
    let (mut ws, answer) =
        connect_admin(&server, json!({"username": "admin", "password": "secret"})).await;
    assert!(answer.starts_with("40/admin,{\"sid\":"), "{answer}");
    let session = next_event(&mut ws, "session").await;
    let id = session[0].as_str().expect("a session id").to_owned();
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let config = next_event(&mut ws, "config").await;
    assert_eq!(
        config[0],
        json!({"supportedFeatures": ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE",
            "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"]})
    );
    // The UI's own socket, as Node serializes it.
    let all = next_event(&mut ws, "all_sockets").await;
    let me = &all[0][0];
    assert_eq!(
        (&me["nsp"], &me["transport"]),
        (&json!("/admin"), &json!("websocket")),
        "{me}"
    );
    assert_eq!(me["clientId"].as_str().map(str::len), Some(12), "{me}");
    assert_eq!(me["data"], json!({}), "{me}");
    assert_eq!(me["handshake"]["query"]["EIO"], "4", "{me}");

    let (_ws2, again) = connect_admin(&server, json!({"sessionId": id})).await;
    assert!(again.starts_with("40/admin,{\"sid\":"), "{again}");
    for refused in [
        json!({"sessionId": "0123456789abcdef"}),
        json!({"username": "admin", "password": "Secret"}),
        json!({"username": "root", "password": "secret"}),
        json!({}),
    ] {
        let (_ws, answer) = connect_admin(&server, refused.clone()).await;
        assert_eq!(
            answer, r#"44/admin,{"message":"invalid credentials"}"#,
            "{refused}"
        );
    }
}

#[tokio::test]
async fn a_hash_that_is_not_bcrypt_is_refused_at_instrumentation() {
    let (_layer, io) = SocketIo::new_layer();
    let err = AdminUi::basic_auth("admin", "secret")
        .instrument(&io)
        .unwrap_err();
    assert!(std::error::Error::source(&err).is_some(), "{err}");
    AdminUi::without_auth()
        .instrument(&io)
        .expect("a first time");
    let again = AdminUi::without_auth().instrument(&io).unwrap_err();
    assert_eq!(
        again.to_string(),
        "the server is already instrumented for the admin UI"
    );

    // The application's own `/admin` is not taken over.
    let (_layer, io) = SocketIo::new_layer();
    io.ns("/admin", |_s: SocketRef| async {});
    let taken = AdminUi::without_auth().instrument(&io).unwrap_err();
    assert_eq!(
        taken.to_string(),
        "the admin UI's namespace /admin is registered already"
    );
}

#[test]
fn instrumenting_outside_a_runtime_is_refused() {
    let (_layer, io) = SocketIo::new_layer();
    let err = AdminUi::without_auth().instrument(&io).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the admin UI must be instrumented inside a tokio runtime"
    );
}

/// Events both ways and the socket's life, with their arguments, each with
/// an ISO date, as the UI reads them.
#[tokio::test]
async fn events_and_sockets_are_reported_as_they_happen() {
    let server = server(AdminUi::without_auth()).await;
    let (mut admin, _) = connect_admin(&server, json!({})).await;
    next_event(&mut admin, "all_sockets").await;

    let mut client = server.ws().await;
    let sid = client.join("/").await;
    // The UI's own socket is reported too, in `/admin`.
    let connected = loop {
        let ev = next_event(&mut admin, "socket_connected").await;
        if ev[0]["nsp"] == "/" {
            break ev;
        }
    };
    assert_eq!(
        (&connected[0]["id"], &connected[0]["nsp"]),
        (&json!(sid), &json!("/"))
    );
    assert_eq!(connected[0]["rooms"], json!([sid]));
    let iso = connected[1].as_str().expect("a date");
    assert!(iso.len() == 24 && iso.ends_with('Z'), "{iso}");

    client.send(r#"42["ping",1,{"a":[true,null]}]"#).await;
    let received = next_event(&mut admin, "event_received").await;
    assert_eq!(
        received[..3],
        [
            json!("/"),
            json!(sid),
            json!(["ping", 1, {"a": [true, null]}])
        ]
    );
    let sent = next_event(&mut admin, "event_sent").await;
    assert_eq!(
        sent[..3],
        [json!("/"), json!(sid), json!(["pong", "back", 2])]
    );

    client.send("41").await;
    let gone = next_event(&mut admin, "socket_disconnected").await;
    assert_eq!(
        gone[..3],
        [json!("/"), json!(sid), json!("client namespace disconnect")]
    );
    // Then its own room, so that the UI forgets it.
    let left = next_event(&mut admin, "room_left").await;
    assert_eq!(left[..3], [json!("/"), json!(sid), json!(sid)]);
}

/// The UI's actions act on the namespace, narrowed to a room when a filter
/// is given: join, emit, leave, disconnect.
#[tokio::test]
async fn actions_join_emit_leave_and_disconnect() {
    let server = server(AdminUi::without_auth()).await;
    let (mut admin, _) = connect_admin(&server, json!({})).await;
    next_event(&mut admin, "all_sockets").await;
    let mut a = server.ws().await;
    let a_id = a.join("/").await;
    let mut b = server.ws().await;
    b.join("/").await;

    admin
        .send(&format!(r#"42/admin,["join","/","vip","{a_id}"]"#))
        .await;
    let joined = next_event(&mut admin, "room_joined").await;
    assert_eq!(joined[..3], [json!("/"), json!("vip"), json!(a_id)]);
    admin
        .send(r#"42/admin,["emit","/","vip","news",{"n":1},"x"]"#)
        .await;
    assert_eq!(a.recv_text().await, r#"42["news",{"n":1},"x"]"#);

    admin.send(r#"42/admin,["leave","/","vip"]"#).await;
    let left = next_event(&mut admin, "room_left").await;
    assert_eq!(left[..3], [json!("/"), json!("vip"), json!(a_id)]);
    admin.send(r#"42/admin,["emit","/",null,"all"]"#).await;
    assert_eq!(a.recv_text().await, r#"42["all"]"#);
    assert_eq!(b.recv_text().await, r#"42["all"]"#);

    admin
        .send(&format!(r#"42/admin,["_disconnect","/",false,"{a_id}"]"#))
        .await;
    assert_eq!(a.recv_text().await, "41");
}

/// Read-only in production: no actions, no per-socket notifications; the
/// aggregated counts still come with `server_stats`.
#[tokio::test]
async fn read_only_production_offers_only_the_counts() {
    let admin_ui = AdminUi::without_auth()
        .read_only(true)
        .mode(Mode::Production)
        .server_id("prod-1");
    let server = server(admin_ui).await;
    let (mut admin, _) = connect_admin(&server, json!({})).await;
    let config = loop {
        let frame = admin.recv_text().await;
        match admin_event(&frame) {
            Some(ev) if ev[0] == "config" => break ev,
            _ => {}
        }
    };
    assert_eq!(
        config[1],
        json!({"supportedFeatures": ["AGGREGATED_EVENTS"]})
    );
    // A report after the config: what it counted (the admin's own
    // connection) is out of what follows. Each report is itself counted,
    // as Node counts it, in the next one.
    let first = loop {
        let frame = admin.recv_text().await;
        if admin_event(&frame).is_some_and(|ev| ev[0] == "server_stats") {
            break frame;
        }
    };
    // Bytes as Node counts them: a packet's data, without the type byte `4`.
    let bytes = |frame: &str| frame.len() as u64 - 1;
    let mut reports_out = vec![bytes(&first)];

    let mut client = server.ws().await;
    let sid = client.join("/").await;
    client.send(r#"42["ping"]"#).await;
    assert_eq!(client.recv_text().await, r#"42["pong","back",2]"#);
    // A refused action changes nothing: the client stays out of the room.
    let join = format!(r#"42/admin,["join","/","vip","{sid}"]"#);
    admin.send(&join).await;
    // Every frame the server read since, as Engine.IO text.
    let frames = ["40", r#"42["ping"]"#, join.as_str()];

    // The counts come in reports every 2 s, each with what happened since
    // the one before: summed until all three frames are in.
    let mut seen = Vec::new();
    let mut total = std::collections::BTreeMap::<String, u64>::new();
    let stats = loop {
        let frame = admin.recv_text().await;
        let ev = admin_event(&frame).expect("only admin events");
        if ev[0] != "server_stats" {
            seen.push(ev[0].clone());
            continue;
        }
        for e in ev[1]["aggregatedEvents"]
            .as_array()
            .expect("aggregatedEvents")
        {
            let kind = e["type"].as_str().expect("a type").to_owned();
            *total.entry(kind).or_default() += e["count"].as_u64().expect("a count");
        }
        if total.get("packetsIn") >= Some(&3) {
            break ev[1].clone();
        }
        reports_out.push(bytes(&frame));
    };
    // Production: nothing per socket or per event.
    assert!(seen.is_empty(), "{seen:?}");
    assert_eq!(total["packetsIn"], 3, "{total:?}");
    assert_eq!(
        total["bytesIn"],
        frames.iter().map(|f| bytes(f)).sum::<u64>()
    );
    assert_eq!(total["rawConnection"], 1, "{total:?}");
    let pong = bytes(r#"42["pong","back",2]"#);
    assert_eq!(
        (total["packetsOut"], total["bytesOut"]),
        (
            1 + reports_out.len() as u64,
            pong + reports_out.iter().sum::<u64>()
        )
    );
    assert_eq!(stats["serverId"], "prod-1");
    assert_eq!(stats["clientsCount"], 2);
    assert_eq!(stats["pollingClientsCount"], 0);
    let main = stats["namespaces"].as_array().expect("namespaces");
    assert!(
        main.contains(&json!({"name": "/", "socketsCount": 1})),
        "{stats}"
    );
    assert!(server.io.rooms().iter().all(|r| r.as_str() != "vip"));
}
