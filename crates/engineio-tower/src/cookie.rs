use std::time::Duration;

use http::HeaderValue;

use crate::{trace, Sid};

/// The `SameSite` attribute of the [`SessionCookie`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None` (browsers then require [`SessionCookie::secure`]).
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// The cookie that carries the session id, set on the response to a polling
/// handshake, as Node's `cookie` option does: a load balancer that sticks
/// clients by cookie can route every request of a session to the server
/// that holds it. Off unless [`EngineIoConfigBuilder::cookie`] sets it.
///
/// The default is Node's `cookie: true`: `io=<sid>; Path=/; HttpOnly; SameSite=Lax`.
/// Attributes come in the order of Node's `cookie` package, so the header
/// is the same byte for byte.
///
/// As in Node, the cookie is set on the handshake over polling only: a
/// WebSocket-only session never sends a second request, and its `101`
/// carries no cookie.
///
/// Names and values must be valid in a `Set-Cookie` header (no `;`, `,`,
/// spaces or control characters in the name, no `;` or control characters in
/// `path` and `domain`); with an invalid one, no cookie is set and a
/// `tracing` warning says why.
///
/// ```
/// use std::time::Duration;
/// use engineio_tower::{EngineIoConfig, SameSite, SessionCookie};
///
/// // Node's `cookie: { name: "sticky", sameSite: "strict", secure: true }`.
/// let config = EngineIoConfig::builder()
///     .cookie(SessionCookie::default().name("sticky").same_site(Some(SameSite::Strict)).secure(true))
///     .build();
/// assert_eq!(config.cookie().map(|c| c.get_name()), Some("sticky"));
/// ```
///
/// [`EngineIoConfigBuilder::cookie`]: crate::EngineIoConfigBuilder::cookie
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct SessionCookie {
    name: String,
    path: Option<String>,
    domain: Option<String>,
    max_age: Option<Duration>,
    http_only: bool,
    secure: bool,
    same_site: Option<SameSite>,
}

impl Default for SessionCookie {
    fn default() -> Self {
        SessionCookie {
            name: "io".to_owned(),
            path: Some("/".to_owned()),
            domain: None,
            max_age: None,
            http_only: true,
            secure: false,
            same_site: Some(SameSite::Lax),
        }
    }
}

impl SessionCookie {
    /// The cookie's name (default `io`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The `Path` attribute (default `Some("/")`); `None` leaves it out,
    /// like Node's `path: false`.
    pub fn path(mut self, path: Option<&str>) -> Self {
        self.path = path.map(str::to_owned);
        self
    }

    /// The `Domain` attribute (default none).
    pub fn domain(mut self, domain: Option<&str>) -> Self {
        self.domain = domain.map(str::to_owned);
        self
    }

    /// The `Max-Age` attribute, in whole seconds (default none: a session
    /// cookie, gone when the browser closes).
    pub fn max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// The `HttpOnly` attribute (default true): page scripts cannot read it.
    pub fn http_only(mut self, yes: bool) -> Self {
        self.http_only = yes;
        self
    }

    /// The `Secure` attribute (default false): sent over HTTPS only.
    pub fn secure(mut self, yes: bool) -> Self {
        self.secure = yes;
        self
    }

    /// The `SameSite` attribute (default `Some(SameSite::Lax)`); `None` leaves it out.
    pub fn same_site(mut self, same_site: Option<SameSite>) -> Self {
        self.same_site = same_site;
        self
    }

    /// The cookie's name.
    pub fn get_name(&self) -> &str {
        &self.name
    }

    /// The `Set-Cookie` value for `sid`, or `None` (and a warning) when the
    /// configured name or an attribute cannot appear in a header.
    pub(crate) fn header_value(&self, sid: Sid) -> Option<HeaderValue> {
        let name_ok = !self.name.is_empty()
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
        let attr_ok = |v: &Option<String>| {
            v.as_deref()
                .is_none_or(|v| v.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b';'))
        };
        if !name_ok || !attr_ok(&self.path) || !attr_ok(&self.domain) {
            trace::warn!(cookie = ?self, "engine.io: invalid session cookie, not set");
            return None;
        }
        let mut s = format!("{}={sid}", self.name);
        if let Some(age) = self.max_age {
            s.push_str(&format!("; Max-Age={}", age.as_secs()));
        }
        if let Some(domain) = &self.domain {
            s.push_str("; Domain=");
            s.push_str(domain);
        }
        if let Some(path) = &self.path {
            s.push_str("; Path=");
            s.push_str(path);
        }
        if self.http_only {
            s.push_str("; HttpOnly");
        }
        if self.secure {
            s.push_str("; Secure");
        }
        if let Some(same_site) = self.same_site {
            s.push_str("; SameSite=");
            s.push_str(same_site.as_str());
        }
        HeaderValue::try_from(s).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid() -> Sid {
        Sid::from_random_bytes([7; 15])
    }

    #[test]
    fn default_is_nodes_cookie_true() {
        let v = SessionCookie::default().header_value(sid()).expect("valid");
        assert_eq!(v, format!("io={}; Path=/; HttpOnly; SameSite=Lax", sid()));
    }

    #[test]
    fn every_attribute_in_nodes_order() {
        let v = SessionCookie::default()
            .name("s")
            .max_age(Some(Duration::from_millis(90_500)))
            .domain(Some("example.com"))
            .path(Some("/x"))
            .secure(true)
            .same_site(Some(SameSite::None))
            .header_value(sid())
            .expect("valid");
        assert_eq!(
            v,
            format!(
                "s={}; Max-Age=90; Domain=example.com; Path=/x; HttpOnly; Secure; SameSite=None",
                sid()
            )
        );
        let bare = SessionCookie::default()
            .path(None)
            .http_only(false)
            .same_site(None)
            .header_value(sid())
            .expect("valid");
        assert_eq!(bare, format!("io={}", sid()));
    }

    #[test]
    fn invalid_names_and_attributes_set_no_cookie() {
        for cookie in [
            SessionCookie::default().name(""),
            SessionCookie::default().name("a b"),
            SessionCookie::default().name("a;b"),
            SessionCookie::default().path(Some("/; Domain=evil")),
            SessionCookie::default().domain(Some("a\r\nX-Injected: 1")),
        ] {
            assert_eq!(cookie.header_value(sid()), None, "{cookie:?}");
        }
    }
}
