//! Examples of socketio-axum; run one with `cargo run --release --example NAME`.
