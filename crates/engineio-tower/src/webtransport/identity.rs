//! The TLS certificate and key a WebTransport listener presents.

use std::{fmt, path::Path};

use base64::{engine::general_purpose::STANDARD, Engine as _};

/// A certificate chain and its private key, for the QUIC handshake of the
/// WebTransport listener.
///
/// Browsers accept a certificate signed by an authority they trust, or, in
/// development, a self-signed one whose SHA-256 hash the page passes in
/// `serverCertificateHashes` (the official client's
/// `transportOptions.webtransport.serverCertificateHashes`). Such a
/// certificate must be an ECDSA one valid for at most 14 days:
/// [`Identity::self_signed`] makes one.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use engineio_tower::webtransport::Identity;
///
/// let identity = Identity::self_signed(["localhost", "127.0.0.1"]).unwrap();
/// // What the page gives the client, decoded into a Uint8Array.
/// assert_eq!(identity.certificate_hash_base64().len(), 44);
/// # }
/// ```
pub struct Identity {
    pub(super) inner: wtransport::Identity,
}

impl Identity {
    /// A new self-signed certificate for `names` (host names or IP
    /// addresses), ECDSA P-256, valid from now for 14 days: what browsers
    /// take through `serverCertificateHashes`. For development.
    pub fn self_signed<I, S>(names: I) -> Result<Identity, IdentityError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        wtransport::Identity::self_signed(names)
            .map(|inner| Identity { inner })
            .map_err(IdentityError::new)
    }

    /// Reads a PEM certificate chain (leaf first) and a PEM private key
    /// (PKCS #8, SEC1 or PKCS #1) from files.
    pub async fn load_pem_files(
        certificate: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Identity, IdentityError> {
        wtransport::Identity::load_pemfiles(certificate, key)
            .await
            .map(|inner| Identity { inner })
            .map_err(IdentityError::new)
    }

    /// Writes the certificate chain and the private key as PEM files (the
    /// key readable by its owner only, on Unix), for
    /// [`load_pem_files`](Self::load_pem_files) to read back.
    pub async fn store_pem_files(
        &self,
        certificate: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> std::io::Result<()> {
        self.inner
            .certificate_chain()
            .store_pemfile(certificate)
            .await?;
        self.inner.private_key().store_secret_pemfile(key).await
    }

    /// The SHA-256 hash of the leaf certificate (all zeros for an empty
    /// chain): the value of `serverCertificateHashes`.
    pub fn certificate_hash(&self) -> [u8; 32] {
        self.inner
            .certificate_chain()
            .as_slice()
            .first()
            .map(|c| *c.hash().as_ref())
            .unwrap_or_default()
    }

    /// [`certificate_hash`](Self::certificate_hash) in standard base64, to
    /// hand to a page.
    pub fn certificate_hash_base64(&self) -> String {
        STANDARD.encode(self.certificate_hash())
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity {
            inner: self.inner.clone_identity(),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("certificate_hash", &self.certificate_hash_base64())
            .finish_non_exhaustive()
    }
}

/// An identity could not be made or read; [`source`](std::error::Error::source)
/// says why.
#[derive(Debug)]
pub struct IdentityError(Box<dyn std::error::Error + Send + Sync>);

impl IdentityError {
    fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        IdentityError(Box::new(e))
    }
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("webtransport: no usable TLS identity")
    }
}

impl std::error::Error for IdentityError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}
