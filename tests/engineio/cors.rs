//! tower-http's `CorsLayer` in front of the Engine.IO layer.

use http::{header, HeaderValue, Method, Request, StatusCode};
use http_body_util::Full;
use socketio_axum_tests::{quiet_config, TestServer};
use tower_http::cors::CorsLayer;

const ORIGIN: &str = "http://app.example";

#[tokio::test]
async fn cors_layer_answers_preflight_and_marks_engine_responses() {
    let server = TestServer::builder(quiet_config())
        .wrap(|app| {
            app.layer(
                CorsLayer::new()
                    .allow_origin(HeaderValue::from_static(ORIGIN))
                    .allow_methods([Method::GET, Method::POST])
                    .allow_headers([header::CONTENT_TYPE]),
            )
        })
        .start()
        .await;

    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri(server.url("EIO=4&transport=polling"))
        .header(header::ORIGIN, ORIGIN)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .body(Full::default())
        .expect("request");
    let res = server.request(preflight).await;
    assert_eq!(res.status, StatusCode::OK, "{res:?}");
    assert_eq!(
        res.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(ORIGIN)
    );
    let methods = res
        .header(header::ACCESS_CONTROL_ALLOW_METHODS)
        .unwrap_or_default();
    assert!(methods.contains("POST"), "allowed methods {methods:?}");
    assert_eq!(
        server.engine.session_count(),
        0,
        "the preflight never reached the engine"
    );

    let with_origin = |method: Method, query: String, body: &'static str| {
        Request::builder()
            .method(method)
            .uri(server.url(&query))
            .header(header::ORIGIN, ORIGIN)
            .body(Full::from(body))
            .expect("request")
    };
    let res = server
        .request(with_origin(
            Method::GET,
            "EIO=4&transport=polling".into(),
            "",
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(ORIGIN)
    );
    let sid = server.events.open().await;

    let query = format!("EIO=4&transport=polling&sid={sid}");
    let res = server
        .request(with_origin(Method::POST, query.clone(), "4hi"))
        .await;
    assert_eq!(res.text(), "ok");
    assert_eq!(
        res.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(ORIGIN)
    );
    let res = server.request(with_origin(Method::GET, query, "")).await;
    assert_eq!(res.text(), "4hi");
    assert_eq!(
        res.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(ORIGIN)
    );

    // Errors of the engine carry the header as well.
    let res = server
        .request(with_origin(Method::GET, "EIO=4&transport=nope".into(), ""))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        res.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(ORIGIN)
    );
}
