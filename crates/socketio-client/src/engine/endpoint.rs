//! Where the Engine.IO requests go: the server's address, the path and the
//! query, for each transport.

use std::fmt::Write;

use http::Uri;

use crate::Error;

/// The URLs of one server, for polling (`http://`) and WebSocket (`ws://`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    authority: String,
    path: String,
    /// Percent-encoded `key=value&` pairs, each followed by `&`.
    query: String,
}

impl Endpoint {
    /// Reads a server URL (`http://host:port` or `ws://host:port`, with an
    /// optional query); `path` is the Engine.IO path, such as `/socket.io/`.
    pub(crate) fn new(url: &str, path: &str, query: &[(String, String)]) -> Result<Self, Error> {
        let uri: Uri = url
            .parse()
            .map_err(|_| Error::config(format!("{url:?} is not a URL")))?;
        match uri.scheme_str() {
            Some("http" | "ws") => {}
            Some("https" | "wss") => {
                return Err(Error::config(
                    "TLS (https://, wss://) is not supported: use http:// or ws://",
                ))
            }
            _ => {
                return Err(Error::config(format!(
                    "{url:?} must start with http:// or ws://"
                )))
            }
        }
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
            authority,
            path: normalize_path(path),
            query: pairs,
        })
    }

    /// The URL of a polling request, with the session id once there is one.
    pub(crate) fn polling(&self, sid: Option<&str>) -> String {
        self.url("http", "polling", sid)
    }

    /// The URL of a WebSocket connection, with the session id for an upgrade.
    pub(crate) fn websocket(&self, sid: Option<&str>) -> String {
        self.url("ws", "websocket", sid)
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

    #[test]
    fn rejects_what_it_cannot_serve() {
        for url in [
            "https://h",
            "wss://h",
            "h:3000",
            "not a url",
            "ftp://h",
            "http://h/chat",
        ] {
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
