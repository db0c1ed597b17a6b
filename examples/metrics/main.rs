//! A Socket.IO server with Prometheus metrics at `GET /metrics`, through
//! the `metrics` crate's facade and `metrics-exporter-prometheus` (any
//! other exporter of the `metrics` ecosystem works the same way).
//!
//! ```text
//! cargo run --release --example metrics --features metrics
//! curl localhost:3000/metrics
//! ```
//!
//! Environment: `ADDR` or `PORT` (default 127.0.0.1:3000), `RUST_LOG`
//! (default `info`). Every metric is listed in docs/operations.md. The
//! application is in `metrics/app.rs`.

use socketio_axum_examples::metrics;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    socketio_axum_examples::init_tracing("info");
    // First the recorder, then the server: it registers its metrics with
    // the recorder installed when it is built.
    let handle = metrics::install_recorder()?;
    let app = metrics::app(handle);
    let listener = socketio_axum_examples::listen(3000).await?;
    tracing::info!("metrics example on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
