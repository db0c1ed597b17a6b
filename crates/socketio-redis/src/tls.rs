//! TLS (`rediss://`) through rustls, with the `tls` feature.

/// Makes ring the process's rustls crypto provider, unless one is already
/// installed. The Redis client asks rustls for the process default; without
/// this, a program in which some other crate enables a second provider
/// (aws-lc-rs) would have none chosen, and rustls would panic.
///
/// ring, not aws-lc-rs, because it builds in seconds; rustls 0.23.48
/// deprecates its provider for lacking post-quantum key exchange. A program
/// that wants aws-lc-rs installs it as the process default before it
/// connects, and this leaves it in place.
#[allow(deprecated)]
pub(crate) fn install_crypto_provider() {
    // An `Err` means a provider is installed already: that one is used.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
