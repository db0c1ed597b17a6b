//! The query string of an Engine.IO request: `EIO`, `transport`, `sid`, `b64`.

/// The query parameters that Engine.IO reads.
#[derive(Debug, Default)]
pub(crate) struct Query<'a> {
    pub(crate) eio: Option<&'a str>,
    pub(crate) transport: Option<&'a str>,
    pub(crate) sid: Option<&'a str>,
    /// Whether `b64` has a value (a v3 client that takes no binary).
    pub(crate) b64: bool,
}

impl<'a> Query<'a> {
    pub(crate) fn parse(query: &'a str) -> Self {
        let mut q = Query::default();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "EIO" => q.eio = Some(v),
                "transport" => q.transport = Some(v),
                "sid" => q.sid = Some(v),
                "b64" => q.b64 = !v.is_empty(),
                _ => {}
            }
        }
        q
    }
}
