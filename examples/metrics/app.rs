//! The application of `examples/metrics`: a Socket.IO server whose metrics
//! (docs/operations.md) are served as Prometheus text at `GET /metrics`.
//!
//! The recorder is installed before the server is built: the server
//! registers its metrics with the recorder installed at that moment.

use std::time::Duration;

use axum::{http::header, routing::get, Router};
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusHandle};
use socketio_axum::{
    extract::{AckSender, Data, RawArgs},
    SocketIo, SocketRef,
};

/// How long the server waits for the answer to `question`.
pub const QUESTION_TIMEOUT: Duration = Duration::from_millis(200);

/// Installs the Prometheus recorder as the process's global recorder, and
/// returns the handle that renders what it recorded. Call it once, before
/// [`app`].
pub fn install_recorder() -> Result<PrometheusHandle, BuildError> {
    PrometheusBuilder::new().install_recorder()
}

/// The router: the Socket.IO layer and `GET /metrics`.
///
/// On the main namespace, each socket is greeted with `welcome`; `echo`
/// acknowledges with its arguments; `join` joins the room named by its
/// argument, then acknowledges; `ask` emits `question` to the sender and
/// waits [`QUESTION_TIMEOUT`] for its answer.
pub fn app(metrics: PrometheusHandle) -> Router {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", |socket: SocketRef| async move {
        let _ = socket.emit("welcome", &socket.id().to_string());
        socket.on("echo", |ack: AckSender, args: RawArgs| async move {
            let _ = ack.send_raw(args);
        });
        socket.on(
            "join",
            |socket: SocketRef, ack: AckSender, Data(room): Data<String>| async move {
                socket.join(room);
                let _ = ack.send(&());
            },
        );
        socket.on("ask", |socket: SocketRef| async move {
            let answer = socket
                .timeout(QUESTION_TIMEOUT)
                .emit_with_ack::<_, serde_json::Value>("question", &())
                .await;
            tracing::info!(sid = %socket.id(), ?answer, "answer to question");
        });
    });
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let text = metrics.render();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        text,
                    )
                }
            }),
        )
        .layer(layer)
}
