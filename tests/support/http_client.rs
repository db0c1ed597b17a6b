//! HTTP/1.1 peers: well-formed requests through a hyper client (one
//! connection each, so concurrent requests never share one), and raw bytes on
//! a TCP socket for what a well-behaved client would never send.

use bytes::Bytes;
use engineio_tower::Sid;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{within, TestServer};

/// A complete HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl HttpResponse {
    /// The body as text; fails the test if it is not UTF-8.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body)
            .unwrap_or_else(|_| panic!("body is not UTF-8: {:?}", self.body))
    }

    /// The body as JSON; fails the test if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    /// A header's value as text, if present.
    pub fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Fails the test unless this is an Engine.IO error: `status` with body
    /// `{"code":code,"message":message}`.
    pub fn assert_error(&self, status: StatusCode, code: u64, message: &str) {
        assert_eq!(self.status, status, "status of {self:?}");
        assert_eq!(
            self.json(),
            serde_json::json!({ "code": code, "message": message }),
            "error body"
        );
    }
}

impl TestServer {
    /// The Engine.IO URL with this query string.
    pub fn url(&self, query: &str) -> String {
        format!("http://{}/engine.io/?{query}", self.addr)
    }

    /// Sends `req` on a new connection and reads the whole response.
    pub async fn request(&self, req: Request<Full<Bytes>>) -> HttpResponse {
        request(self.addr, req).await
    }

    /// `GET /engine.io/?{query}`.
    pub async fn get(&self, query: &str) -> HttpResponse {
        self.send(Method::GET, query, Bytes::new()).await
    }

    /// `POST /engine.io/?{query}` with a `text/plain` body.
    pub async fn post(&self, query: &str, body: impl Into<Bytes>) -> HttpResponse {
        self.send(Method::POST, query, body.into()).await
    }

    async fn send(&self, method: Method, query: &str, body: Bytes) -> HttpResponse {
        let mut req = Request::builder().method(method).uri(self.url(query));
        if !body.is_empty() {
            req = req.header(header::CONTENT_TYPE, "text/plain;charset=UTF-8");
        }
        let req = req.body(Full::new(body)).expect("valid request");
        self.request(req).await
    }

    /// Opens a polling session and waits until the handler has seen it.
    pub async fn polling_session(&self) -> PollingSession<'_> {
        let res = self.get("EIO=4&transport=polling").await;
        assert_eq!(res.status, StatusCode::OK, "handshake: {res:?}");
        let open = res
            .text()
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("handshake body is not an open packet: {res:?}"));
        let handshake: serde_json::Value = serde_json::from_str(open).expect("handshake JSON");
        let sid: Sid = handshake["sid"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no valid sid in {handshake}"));
        self.events.opened(sid).await;
        PollingSession {
            server: self,
            sid,
            handshake,
            response: res,
        }
    }
}

/// A session opened over long-polling.
#[derive(Debug)]
pub struct PollingSession<'a> {
    /// The server.
    pub server: &'a TestServer,
    /// The session id.
    pub sid: Sid,
    /// The JSON of the `open` packet.
    pub handshake: serde_json::Value,
    /// The handshake response.
    pub response: HttpResponse,
}

impl PollingSession<'_> {
    /// The query string of this session's polling requests.
    pub fn query(&self) -> String {
        format!("EIO=4&transport=polling&sid={}", self.sid)
    }

    /// A long-polling GET.
    pub async fn get(&self) -> HttpResponse {
        self.server.get(&self.query()).await
    }

    /// A POST of `body` (an encoded payload).
    pub async fn post(&self, body: impl Into<Bytes>) -> HttpResponse {
        self.server.post(&self.query(), body).await
    }

    /// Fails the test unless a text message makes the round trip: POST,
    /// handler, echo, GET.
    pub async fn assert_echoes(&self, text: &str) {
        let res = self.post(format!("4{text}")).await;
        assert_eq!(
            (res.status, res.text()),
            (StatusCode::OK, "ok"),
            "POST on {}",
            self.sid
        );
        let res = self.get().await;
        assert_eq!(
            (res.status, res.text()),
            (StatusCode::OK, format!("4{text}").as_str()),
            "GET on {}",
            self.sid
        );
    }
}

/// Connects to `server`, writes `request` as is and reads the response.
pub async fn raw_exchange(server: &TestServer, request: &[u8]) -> HttpResponse {
    let mut stream = within("connect", TcpStream::connect(server.addr))
        .await
        .expect("connect");
    stream.write_all(request).await.expect("write request");
    read_response(&mut stream).await
}

/// Reads one response from `stream`: the head byte by byte (so that nothing
/// after it, such as WebSocket frames, is consumed), then a body of
/// `Content-Length` bytes (none if the header is absent).
pub async fn read_response(stream: &mut TcpStream) -> HttpResponse {
    within("an HTTP response", async {
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let b = stream.read_u8().await.unwrap_or_else(|e| {
                panic!(
                    "connection ended inside a response head ({e}): {:?}",
                    String::from_utf8_lossy(&head)
                )
            });
            head.push(b);
        }
        let head = String::from_utf8(head).expect("response head is ASCII");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = HeaderMap::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("bad header line {line:?}"));
            headers.append(
                HeaderName::from_bytes(name.trim().as_bytes()).expect("header name"),
                HeaderValue::from_str(value.trim()).expect("header value"),
            );
        }
        let len = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        stream.read_exact(&mut body).await.expect("response body");
        HttpResponse {
            status,
            headers,
            body: body.into(),
        }
    })
    .await
}

/// Sends `req` to `addr` on a new connection (with a `Host` header if it
/// has none) and reads the whole response.
pub async fn request(addr: std::net::SocketAddr, mut req: Request<Full<Bytes>>) -> HttpResponse {
    if let Ok(host) = HeaderValue::from_str(&addr.to_string()) {
        req.headers_mut().entry(header::HOST).or_insert(host);
    }
    let what = format!("response to {} {}", req.method(), req.uri());
    within(&what, async move {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP/1.1 handshake");
        tokio::spawn(conn);
        let res = sender.send_request(req).await.expect("send request");
        let (parts, body) = res.into_parts();
        let body = body.collect().await.expect("read body").to_bytes();
        HttpResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    })
    .await
}
