//! One server behind nginx: the official client connects over long-polling,
//! upgrades to WebSocket through the proxy, exchanges an event and an ack;
//! heartbeats keep a connection open across several of nginx's
//! `proxy_read_timeout`s, and a ping interval longer than that timeout gets
//! the connection cut.

use std::time::Duration;

use serde_json::json;
use socketio_axum::SocketIoConfig;

use crate::{
    client::{line, session},
    nginx::Nginx,
    servers,
};

fn config(ping_interval: Duration, ping_timeout: Duration) -> SocketIoConfig {
    SocketIoConfig::builder()
        .ping_interval(ping_interval)
        .ping_timeout(ping_timeout)
        .build()
}

#[tokio::test]
async fn upgrade_event_ack_and_heartbeats_across_read_timeouts() {
    // Pings every 300 ms, nginx's read timeout 1 s: held for 3.5 s, a
    // connection outlives three read timeouts only because of the pings.
    let server = servers::start(
        "one",
        config(Duration::from_millis(300), Duration::from_secs(1)),
        None,
    )
    .await;
    let nginx = Nginx::start(&[server.addr], "1s").await;
    let hold = 3_500;
    let upgraded = session(json!({
        "url": nginx.url(), "upgrade": true,
        "echo": {"n": 1, "text": "through nginx"}, "echoEvent": "echoed",
        "holdMs": hold,
    }));
    let polling = session(json!({
        "url": nginx.url(), "transports": ["polling"],
        "echo": "long-polling", "holdMs": hold,
    }));
    let (upgraded, polling) = tokio::join!(upgraded, polling);

    assert_eq!(line(&upgraded, "connected")["first"], "polling");
    assert_eq!(line(&upgraded, "upgraded")["transport"], "websocket");
    assert_eq!(
        line(&upgraded, "ack")["args"],
        json!({"n": 1, "text": "through nginx"})
    );
    assert_eq!(
        line(&upgraded, "message")["args"],
        json!([{"n": 1, "text": "through nginx"}])
    );
    assert_eq!(line(&polling, "ack")["args"], json!("long-polling"));
    for (out, transport) in [(&upgraded, "websocket"), (&polling, "polling")] {
        let held = line(out, "held");
        assert_eq!(held["connected"], true, "{held}");
        assert_eq!(held["disconnects"], json!([]), "{held}");
        assert_eq!(held["transport"], transport, "{held}");
        // 3.5 s / 300 ms is 11 pings; a loaded machine may lag a few.
        let pings = held["pings"].as_u64().unwrap_or(0);
        assert!(pings >= 7, "only {pings} pings in {hold} ms: {held}");
    }
    // The WebSocket went through nginx (logged when it closed).
    nginx
        .logged("the WebSocket upgrade in nginx's log", |l| {
            l.contains("transport=websocket") && l.contains("\" 101 ")
        })
        .await;
}

#[tokio::test]
async fn ping_interval_longer_than_the_read_timeout_is_cut() {
    // The advice of docs/deployment.md, the other way round: pings every
    // 5 s, nginx's read timeout 1 s.
    let server = servers::start(
        "one",
        config(Duration::from_secs(5), Duration::from_secs(2)),
        None,
    )
    .await;
    let nginx = Nginx::start(&[server.addr], "1s").await;
    let out = session(json!({
        "url": nginx.url(), "upgrade": true, "echo": "x", "expectDrop": true,
    }))
    .await;
    let dropped = line(&out, "dropped");
    assert_eq!(dropped["reason"], "transport close", "{dropped}");
    assert_eq!(dropped["pings"], 0, "cut before the first ping: {dropped}");
    let after = dropped["afterMs"].as_u64().unwrap_or(0);
    assert!(
        (800..3_000).contains(&after),
        "cut {after} ms after the last exchange, not after nginx's 1 s: {dropped}"
    );
}
