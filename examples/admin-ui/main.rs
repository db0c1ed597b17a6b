//! The official Socket.IO Admin UI watching this server (and, with
//! `REDIS_URL`, every server of its Redis cluster, Node's included).
//!
//! ```text
//! npm ci --prefix tests        # the UI's files, from npm @socket.io/admin-ui
//! cargo run --example admin-ui --features admin-ui
//! # open http://localhost:3000/admin-ui/, server URL http://localhost:3000,
//! # username admin, password admin
//! ```
//!
//! Environment: `ADDR` or `PORT` (default 127.0.0.1:3000); `ADMIN_USER`
//! (default `admin`) and `ADMIN_PASSWORD_HASH`, a bcrypt hash (default: the
//! hash of `admin`, with a warning); `SERVER_ID` (default: the host name);
//! `REDIS_URL` to join a cluster (key prefix `ADMIN_UI_PREFIX`, default
//! `socket.io`, Node's); `ADMIN_UI_DIST` where the UI's files are (default
//! `tests/node_modules/@socket.io/admin-ui/ui/dist`); `RUST_LOG`. The
//! application is in `admin-ui/app.rs`.

use socketio_axum::SocketIo;
use socketio_axum_examples::admin_ui::{self, Login};
use socketio_redis::{RedisAdapter, RedisAdapterConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    socketio_axum_examples::init_tracing("info");
    let var = |name: &str| std::env::var(name).ok();
    let dist = var("ADMIN_UI_DIST").map_or_else(admin_ui::default_dist, Into::into);
    if !dist.join("index.html").is_file() {
        return Err(format!(
            "the Admin UI's files are not in {}: run `npm ci --prefix tests`, or set ADMIN_UI_DIST",
            dist.display()
        )
        .into());
    }
    let password_hash = var("ADMIN_PASSWORD_HASH").unwrap_or_else(|| {
        tracing::warn!("ADMIN_PASSWORD_HASH is not set: the UI's password is `admin`");
        admin_ui::ADMIN_HASH.to_owned()
    });
    let login = Login {
        username: var("ADMIN_USER").unwrap_or_else(|| "admin".into()),
        password_hash,
    };
    let mut builder = SocketIo::builder();
    let mut adapter = None;
    if let Some(url) = var("REDIS_URL") {
        let prefix = var("ADMIN_UI_PREFIX").unwrap_or_else(|| "socket.io".into());
        let config = RedisAdapterConfig::builder()
            .url(url)
            .key_prefix(prefix)
            .build();
        let a = RedisAdapter::connect(config).await?;
        builder = builder.adapter(a.clone());
        adapter = Some(a);
    }
    let (layer, io) = builder.build_layer();
    let server_id = var("SERVER_ID").unwrap_or_else(|| "socketio-axum".into());
    let app = admin_ui::app(layer, &io, login, &server_id, &dist)?;
    if let Some(a) = adapter {
        a.ready().await;
    }
    let listener = socketio_axum_examples::listen(3000).await?;
    let addr = listener.local_addr()?;
    tracing::info!("Admin UI at http://{addr}/admin-ui/ (server URL http://{addr})");
    // The connection info gives the UI each client's address.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).await?;
    Ok(())
}
