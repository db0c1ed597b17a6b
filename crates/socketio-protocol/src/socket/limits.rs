/// Bounds on what a peer may make the decoder accept.
///
/// Everything else a packet can cost is bounded by its length, which the
/// Engine.IO layer limits (`maxPayload`).
///
/// ```
/// use socketio_protocol::socket::DecodeLimits;
///
/// let mut limits = DecodeLimits::default();
/// assert_eq!(limits.max_attachments, 10);
/// limits.max_depth = 32;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeLimits {
    /// The most binary attachments one packet may announce (default 10). A
    /// larger count is rejected when the header is decoded, before anything
    /// is allocated for it.
    pub max_attachments: usize,
    /// The most bytes the attachments of one packet may add up to (default 10 MiB).
    pub max_attachment_bytes: usize,
    /// The deepest nesting of arrays and objects in a payload, the payload's
    /// own array or object included (default 128).
    pub max_depth: usize,
}

impl DecodeLimits {
    /// The default limits.
    pub const DEFAULT: DecodeLimits = DecodeLimits {
        max_attachments: 10,
        max_attachment_bytes: 10 * 1024 * 1024,
        max_depth: 128,
    };
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits::DEFAULT
    }
}
