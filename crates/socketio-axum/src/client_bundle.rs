//! The official browser client, served under the Socket.IO path the way
//! Node's `serveClient` does: `/socket.io/socket.io.min.js` and its siblings.

use std::{
    error::Error as StdError,
    fmt, fs,
    hash::{Hash, Hasher},
    io,
    path::{Path, PathBuf},
    sync::Arc,
};

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;

use crate::trace;

/// The files Node's `serveClient` answers, as named in the `dist/`
/// directory of the `socket.io-client` package.
const FILES: [&str; 8] = [
    "socket.io.esm.min.js",
    "socket.io.esm.min.js.map",
    "socket.io.js",
    "socket.io.js.map",
    "socket.io.min.js",
    "socket.io.min.js.map",
    "socket.io.msgpack.min.js",
    "socket.io.msgpack.min.js.map",
];

/// The official client bundle (`socket.io.min.js`, `socket.io.js`, the
/// `.esm` and `.msgpack` builds and their source maps), read once from a
/// directory and then served from memory under the Socket.IO path, as Node's
/// `serveClient` option does: `<script src="/socket.io/socket.io.min.js">`.
///
/// Nothing is bundled with this crate: point it at the `dist/` directory of
/// the `socket.io-client` npm package (`node_modules/socket.io-client/dist`)
/// or at a copy of it. The responses carry Node's headers: `Cache-Control:
/// public, max-age=0`, a JavaScript or JSON `Content-Type`, and an `ETag`
/// (the package version, `"4.8.4"`, when `../package.json` beside the
/// directory names `socket.io-client`, as Node's does; a hash of the files
/// otherwise), with `304 Not Modified` for a matching `If-None-Match`.
/// Compression is left to a layer such as tower-http's `CompressionLayer`.
///
/// ```no_run
/// use socketio_axum::{ClientBundle, SocketIo, SocketIoConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let bundle = ClientBundle::from_dir("node_modules/socket.io-client/dist")?;
/// let config = SocketIoConfig::builder().serve_client(bundle).build();
/// let (layer, io) = SocketIo::builder().config(config).build_layer();
/// # let _ = (layer, io);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ClientBundle {
    inner: Arc<Inner>,
}

struct Inner {
    files: Vec<(&'static str, Bytes)>,
    etag: HeaderValue,
    weak_etag: HeaderValue,
}

impl fmt::Debug for ClientBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBundle")
            .field("files", &self.files().collect::<Vec<_>>())
            .field("etag", &self.inner.etag)
            .finish()
    }
}

impl ClientBundle {
    /// Reads the bundle's files from `dir`. Files of the list that are
    /// missing are not served (a request for one reaches the inner service);
    /// a directory without any of them is an error, as is one that cannot
    /// be read.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<ClientBundle, ClientBundleError> {
        let dir = dir.as_ref();
        let mut files = Vec::new();
        for name in FILES {
            let path = dir.join(name);
            match fs::read(&path) {
                Ok(bytes) => files.push((name, Bytes::from(bytes))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(ClientBundleError { path, source }),
            }
        }
        if files.is_empty() {
            return Err(ClientBundleError {
                path: dir.join(FILES[4]),
                source: io::Error::new(
                    io::ErrorKind::NotFound,
                    "no Socket.IO client bundle here (expected the `dist/` directory of the socket.io-client npm package)",
                ),
            });
        }
        let tag = package_version(dir).unwrap_or_else(|| content_hash(&files));
        let etag = format!("\"{tag}\"");
        let header = |s: &str| {
            HeaderValue::from_str(s).map_err(|e| ClientBundleError {
                path: dir.to_path_buf(),
                source: io::Error::new(io::ErrorKind::InvalidData, e),
            })
        };
        Ok(ClientBundle {
            inner: Arc::new(Inner {
                weak_etag: header(&format!("W/{etag}"))?,
                etag: header(&etag)?,
                files,
            }),
        })
    }

    /// The names of the files served, such as `socket.io.min.js`.
    pub fn files(&self) -> impl Iterator<Item = &str> + '_ {
        self.inner.files.iter().map(|(name, _)| *name)
    }

    /// The `ETag` of every file, quotes included.
    pub fn etag(&self) -> &str {
        self.inner.etag.to_str().unwrap_or_default()
    }

    /// The answer to a `GET` or `HEAD` of `name` (the path after the
    /// Socket.IO path), or `None` when `name` is not a file of the bundle.
    pub(crate) fn respond(
        &self,
        method: &Method,
        name: &str,
        headers: &HeaderMap,
    ) -> Option<Response<Full<Bytes>>> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let (name, body) = self.inner.files.iter().find(|(n, _)| *n == name)?;
        let mut res = Response::new(Full::new(Bytes::new()));
        if self.matches(headers) {
            trace::debug!(file = name, "socket.io: client file not modified");
            *res.status_mut() = StatusCode::NOT_MODIFIED;
        } else {
            trace::debug!(file = name, "socket.io: serving client file");
            *res.body_mut() = Full::new(body.clone());
            let content_type = if name.ends_with(".map") {
                "application/json; charset=utf-8"
            } else {
                "application/javascript; charset=utf-8"
            };
            let h = res.headers_mut();
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=0"),
            );
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        res.headers_mut()
            .insert(header::ETAG, self.inner.etag.clone());
        Some(res)
    }

    /// Whether an `If-None-Match` of the request names this bundle's tag.
    fn matches(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .any(|tag| tag == "*" || tag == self.inner.etag || tag == self.inner.weak_etag)
    }
}

/// The `version` of `../package.json` beside `dir` when that package is
/// `socket.io-client`: the tag Node's server uses.
fn package_version(dir: &Path) -> Option<String> {
    let text = fs::read(dir.parent()?.join("package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&text).ok()?;
    if json.get("name")?.as_str()? != "socket.io-client" {
        return None;
    }
    let version = json.get("version")?.as_str()?;
    version
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-+".contains(&b))
        .then(|| version.to_owned())
}

fn content_hash(files: &[(&'static str, Bytes)]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for (name, body) in files {
        name.hash(&mut hasher);
        body.hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

/// A client bundle directory that could not be read.
#[derive(Debug)]
pub struct ClientBundleError {
    path: PathBuf,
    source: io::Error,
}

impl ClientBundleError {
    /// The file or directory concerned.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for ClientBundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read the Socket.IO client bundle at {}",
            self.path.display()
        )
    }
}

impl StdError for ClientBundleError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle_in(dir: &Path, with_package: Option<&str>) -> ClientBundle {
        fs::create_dir_all(dir.join("dist")).expect("mkdir");
        fs::write(dir.join("dist/socket.io.min.js"), b"min").expect("write");
        fs::write(dir.join("dist/socket.io.min.js.map"), b"{}").expect("write");
        if let Some(json) = with_package {
            fs::write(dir.join("package.json"), json).expect("write");
        }
        ClientBundle::from_dir(dir.join("dist")).expect("bundle")
    }

    const CLIENT_PACKAGE: &str = r#"{"name":"socket.io-client","version":"4.8.4"}"#;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "socketio-axum-bundle-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn etag_is_the_client_package_version_or_a_content_hash() {
        let dir = temp("version");
        let b = bundle_in(&dir, Some(CLIENT_PACKAGE));
        assert_eq!(b.etag(), "\"4.8.4\"");
        assert_eq!(
            b.files().collect::<Vec<_>>(),
            ["socket.io.min.js", "socket.io.min.js.map"]
        );

        let other = temp("other");
        let b = bundle_in(&other, Some(r#"{"name":"my-app","version":"1.0.0"}"#));
        assert_eq!(b.etag().len(), 18, "{}", b.etag());
        assert_ne!(b.etag(), "\"1.0.0\"");
        let _ = (fs::remove_dir_all(dir), fs::remove_dir_all(other));
    }

    #[test]
    fn responses_have_node_headers_and_honour_if_none_match() {
        let dir = temp("respond");
        let b = bundle_in(&dir, Some(CLIENT_PACKAGE));
        let none = HeaderMap::new();
        let res = b
            .respond(&Method::GET, "socket.io.min.js", &none)
            .expect("served");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/javascript; charset=utf-8"
        );
        assert_eq!(res.headers()[header::CACHE_CONTROL], "public, max-age=0");
        assert_eq!(res.headers()[header::ETAG], "\"4.8.4\"");
        let map = b
            .respond(&Method::HEAD, "socket.io.min.js.map", &none)
            .expect("served");
        assert_eq!(
            map.headers()[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );

        for tag in ["\"4.8.4\"", "W/\"4.8.4\"", "\"x\", \"4.8.4\"", "*"] {
            let mut h = HeaderMap::new();
            h.insert(header::IF_NONE_MATCH, HeaderValue::from_static(tag));
            let res = b
                .respond(&Method::GET, "socket.io.min.js", &h)
                .expect("served");
            assert_eq!(
                res.status(),
                StatusCode::NOT_MODIFIED,
                "If-None-Match: {tag}"
            );
        }
        let mut stale = HeaderMap::new();
        stale.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"4.8.3\""));
        let res = b
            .respond(&Method::GET, "socket.io.min.js", &stale)
            .expect("served");
        assert_eq!(res.status(), StatusCode::OK);

        // Not a file of the bundle, or not a read: left to the inner service.
        assert!(b.respond(&Method::GET, "socket.io.js", &none).is_none());
        assert!(b.respond(&Method::GET, "../Cargo.toml", &none).is_none());
        assert!(b
            .respond(&Method::POST, "socket.io.min.js", &none)
            .is_none());
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_directory_without_a_bundle_is_an_error_with_its_cause() {
        let dir = temp("empty");
        fs::create_dir_all(&dir).expect("mkdir");
        let e = ClientBundle::from_dir(&dir).expect_err("no bundle");
        assert!(e.to_string().contains("client bundle"), "{e}");
        let source = e.source().expect("source");
        assert!(source.to_string().contains("socket.io-client"), "{source}");
        let _ = fs::remove_dir_all(dir);
    }
}
