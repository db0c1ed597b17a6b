//! A Redis restart under servers in streams mode.

use serde_json::json;

use super::Names;
use crate::{
    harness::{within, Clients},
    private::{free_port, PrivateRedis},
};

/// Redis restarts under two of ours: once each adapter is back, a broadcast
/// from either reaches the other's client through the stream.
#[tokio::test]
async fn broadcasts_cross_servers_again_after_a_redis_restart() {
    let port = free_port();
    let mut redis = PrivateRedis::start(port).await;
    let url = redis.url();
    let names = Names::new("streams-restart");
    let (a, b, mut clients) = tokio::join!(
        names.ours("a", &url, None),
        names.ours("b", &url, None),
        Clients::start(),
    );
    clients.connect("a1", &a.url, &["r1"]).await;
    clients.connect("b1", &b.url, &["r1"]).await;
    a.io.to("r1")
        .emit_published("before", &1)
        .unwrap()
        .await
        .unwrap();
    assert_eq!(clients.received("b1", "before").await, json!([1]));

    redis.stop().await;
    within("a to notice", a.adapter.disconnected()).await;
    within("b to notice", b.adapter.disconnected()).await;
    let _redis = PrivateRedis::start(port).await;
    within("a to be back", a.adapter.ready()).await;
    within("b to be back", b.adapter.ready()).await;

    a.io.to("r1")
        .emit_published("from-a", &2)
        .unwrap()
        .await
        .unwrap();
    assert_eq!(clients.received("b1", "from-a").await, json!([2]));
    b.io.to("r1")
        .emit_published("from-b", &3)
        .unwrap()
        .await
        .unwrap();
    assert_eq!(clients.received("a1", "from-b").await, json!([3]));
}
