//! Where the Engine.IO requests go: the server's address, the path and the
//! query, for each transport.

use std::fmt::Write;

use http::Uri;

use crate::Error;

/// The URLs of one server, for polling (`http://` or `https://`),
/// WebSocket (`ws://` or `wss://`) and WebTransport (always `https://`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// Whether polling and WebSocket go over TLS.
    pub(crate) secure: bool,
    authority: String,
    path: String,
    /// Percent-encoded `key=value&` pairs, each followed by `&`.
    query: String,
}

impl Endpoint {
    /// Reads a server URL (`http://host:port`, `ws://host:port`, or with
    /// feature `tls` `https://` and `wss://`, with an optional query);
    /// `path` is the Engine.IO path, such as `/socket.io/`.
    pub(crate) fn new(url: &str, path: &str, query: &[(String, String)]) -> Result<Self, Error> {
        let uri: Uri = url
            .parse()
            .map_err(|_| Error::config(format!("{url:?} is not a URL")))?;
        let secure = match uri.scheme_str() {
            Some("http" | "ws") => false,
            Some("https" | "wss") if cfg!(feature = "tls") => true,
            Some("https" | "wss") => {
                return Err(Error::config(
                    "TLS (https://, wss://) needs the `tls` feature of socketio-client",
                ))
            }
            _ => {
                return Err(Error::config(format!(
                    "{url:?} must start with http://, https://, ws:// or wss://"
                )))
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| Error::config(format!("{url:?} has no host")))?
            .as_str()
            .to_owned();
        if !matches!(uri.path(), "" | "/") {
            return Err(Error::config(format!(
                "{url:?} has a path: the URL names the server only; set the Engine.IO path with \
                 `ClientBuilder::path` and pick the namespace with `Client::socket`"
            )));
        }
        let mut pairs = String::new();
        if let Some(q) = uri.query().filter(|q| !q.is_empty()) {
            pairs.push_str(q);
            pairs.push('&');
        }
        for (k, v) in query {
            encode_component(&mut pairs, k);
            pairs.push('=');
            encode_component(&mut pairs, v);
            pairs.push('&');
        }
        Ok(Endpoint {
            secure,
            authority,
            path: normalize_path(path),
            query: pairs,
        })
    }

    /// The URL of a polling request, with the session id once there is one.
    pub(crate) fn polling(&self, sid: Option<&str>) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        self.url(scheme, "polling", sid)
    }

    /// The URL of a WebSocket connection, with the session id for an upgrade.
    pub(crate) fn websocket(&self, sid: Option<&str>) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        self.url(scheme, "websocket", sid)
    }

    /// The URL of a WebTransport session: HTTPS, to the host and port of
    /// the server's URL, without a query (the official client's; the
    /// session id of an upgrade goes in the first packet).
    #[cfg(feature = "webtransport")]
    pub(crate) fn webtransport(&self) -> String {
        format!("https://{}{}", self.authority, self.path)
    }

    fn url(&self, scheme: &str, transport: &str, sid: Option<&str>) -> String {
        let mut url = format!(
            "{scheme}://{}{}?{}EIO=4&transport={transport}",
            self.authority, self.path, self.query
        );
        if let Some(sid) = sid {
            url.push_str("&sid=");
            encode_component(&mut url, sid);
        }
        url
    }
}

/// `socket.io` → `/socket.io/`, as the JS client does.
fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        format!("/{trimmed}/")
    }
}

/// Percent-encodes everything but the unreserved characters of RFC 3986.
fn encode_component(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_transport_urls() {
        let q = [("token".to_owned(), "a b&c".to_owned())];
        let e = Endpoint::new("http://127.0.0.1:3000?x=1", "socket.io", &q).unwrap();
        assert_eq!(
            e.polling(None),
            "http://127.0.0.1:3000/socket.io/?x=1&token=a%20b%26c&EIO=4&transport=polling"
        );
        assert_eq!(
            e.websocket(Some("ab+/")),
            "ws://127.0.0.1:3000/socket.io/?x=1&token=a%20b%26c&EIO=4&transport=websocket&sid=ab%2B%2F"
        );
        let e = Endpoint::new("ws://localhost/", "/custom", &[]).unwrap();
        assert_eq!(
            e.polling(Some("s")),
            "http://localhost/custom/?EIO=4&transport=polling&sid=s"
        );
    }

    #[cfg(feature = "tls")]
    #[test]
    fn secure_urls() {
        let e = Endpoint::new("https://example.com:8443", "socket.io", &[]).unwrap();
        assert_eq!(
            e.polling(None),
            "https://example.com:8443/socket.io/?EIO=4&transport=polling"
        );
        assert_eq!(
            e.websocket(Some("s")),
            "wss://example.com:8443/socket.io/?EIO=4&transport=websocket&sid=s"
        );
        let e = Endpoint::new("wss://example.com", "/", &[]).unwrap();
        assert_eq!(
            e.polling(None),
            "https://example.com/?EIO=4&transport=polling"
        );
    }

    #[cfg(feature = "webtransport")]
    #[test]
    fn webtransport_url_has_no_query() {
        let q = [("token".to_owned(), "t".to_owned())];
        let e = Endpoint::new("http://127.0.0.1:3000?x=1", "socket.io", &q).unwrap();
        assert_eq!(e.webtransport(), "https://127.0.0.1:3000/socket.io/");
    }

    #[test]
    fn rejects_what_it_cannot_serve() {
        #[cfg(not(feature = "tls"))]
        for url in ["https://h", "wss://h"] {
            assert!(Endpoint::new(url, "/", &[]).unwrap_err().is_config());
        }
        for url in ["h:3000", "not a url", "ftp://h", "http://h/chat"] {
            let e = Endpoint::new(url, "/socket.io/", &[]).unwrap_err();
            assert!(e.is_config(), "{url}: {e}");
        }
    }

    #[test]
    fn paths() {
        assert_eq!(normalize_path("/socket.io"), "/socket.io/");
        assert_eq!(normalize_path("/socket.io/"), "/socket.io/");
        assert_eq!(normalize_path("a/b"), "/a/b/");
        assert_eq!(normalize_path(""), "/");
    }
}
