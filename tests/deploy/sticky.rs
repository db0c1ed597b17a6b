//! Two servers on one Redis behind nginx, with sticky sessions by client
//! address (`hash $remote_addr consistent`): long-polling clients, each
//! connecting from its own loopback address, stay on one server for their
//! whole session, and a broadcast from a client of one server reaches a
//! client of the other.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::json;
use socketio_axum::SocketIoConfig;
use socketio_axum_tests::{node_script, within};
use socketio_redis::{RedisAdapter, RedisAdapterConfig};

use crate::{nginx::Nginx, servers};

/// The shared Redis of the tests (`REDIS_URL`, default `redis://127.0.0.1:6379`).
fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

async fn adapter(prefix: &str) -> RedisAdapter {
    let config = RedisAdapterConfig::builder()
        .url(redis_url())
        .key_prefix(prefix)
        .build();
    let adapter = within(
        "the Redis adapter to connect",
        RedisAdapter::connect(config),
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "cannot reach Redis at {} ({e}): start one (.ci/run does)",
            redis_url()
        )
    });
    within("the Redis adapter to subscribe", adapter.ready()).await;
    adapter
}

#[tokio::test]
async fn polling_sessions_stick_to_their_server_and_broadcasts_cross_servers() {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let prefix = format!("sio-test-deploy-sticky-{}-{nanos}", std::process::id());
    let config = || {
        SocketIoConfig::builder()
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_secs(1))
            .build()
    };
    let s1 = servers::start("s1", config(), Some(adapter(&prefix).await)).await;
    let s2 = servers::start("s2", config(), Some(adapter(&prefix).await)).await;
    let nginx = Nginx::start(&[s1.addr, s2.addr], "60s").await;

    // Loopback addresses until both servers have a client: the hash picks.
    let addresses: Vec<String> = (1..=16).map(|i| format!("127.0.0.{i}")).collect();
    let spec = json!({
        "url": nginx.url(), "servers": ["s1", "s2"], "addresses": addresses,
        "rounds": 5, "holdMs": 700,
    });
    let out = node_script("deploy.mjs", &["sticky", &spec.to_string()]).await;
    out.assert_success();

    let lines = out.json_lines();
    let sessions: Vec<_> = lines.iter().filter(|l| l["event"] == "session").collect();
    assert_eq!(sessions.len(), 2, "{}", out.stdout);
    for s in &sessions {
        assert_eq!(s["connected"], true, "{s}");
        assert_eq!(s["disconnects"], json!([]), "{s}");
        assert!(s["pings"].as_u64().unwrap_or(0) >= 1, "heartbeats ran: {s}");
    }
    let news: Vec<_> = lines.iter().filter(|l| l["event"] == "broadcast").collect();
    assert_eq!(news.len(), 2, "{}", out.stdout);
    for b in news {
        assert_eq!(
            b["args"],
            json!([format!("from {}", b["from"].as_str().unwrap_or(""))]),
            "{b}"
        );
    }

    // nginx's own account: every request of a kept session went to one
    // upstream, and none was refused (a request reaching the wrong server
    // would get 400 "Session ID unknown").
    let log = nginx.access_log();
    let mut upstreams: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in &sessions {
        let sid = s["sid"].as_str().expect("sid");
        let requests: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(&format!("sid={sid}")))
            .collect();
        assert!(
            requests.len() >= 10,
            "{sid}: only {} requests:\n{log}",
            requests.len()
        );
        // 499: the long-poll pending when the client left, which nginx logs
        // as closed by the client.
        for r in &requests {
            assert!(
                r.contains("\" 200 ") || r.contains("\" 499 "),
                "{sid}: refused request {r}\n{log}"
            );
        }
        let used: BTreeSet<String> = requests
            .iter()
            .filter_map(|r| r.rsplit(' ').next().map(str::to_owned))
            .collect();
        assert_eq!(used.len(), 1, "{sid} went to {used:?}:\n{log}");
        upstreams.insert(sid.to_owned(), used);
    }
    let distinct: BTreeSet<_> = upstreams.values().flatten().collect();
    assert_eq!(
        distinct.len(),
        2,
        "the two sessions on two servers: {upstreams:?}"
    );
}
