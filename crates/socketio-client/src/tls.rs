//! TLS settings (feature `tls`): which root certificates the client
//! trusts for `https://`, `wss://` and WebTransport, and which certificate
//! hashes it pins for WebTransport.
//!
//! The platform's roots come from rustls-native-certs: the certificates the
//! operating system trusts (with whatever an administrator added, such as
//! a company's authority), not a list compiled into the binary that ages
//! with it. It is also the root store wtransport uses by default, so the
//! three transports trust the same authorities.

use std::sync::{Arc, OnceLock};

use rustls::{
    pki_types::{pem::PemObject, CertificateDer},
    ClientConfig, RootCertStore,
};

use crate::{trace, Error};

/// The TLS options of a client, as set on its builder.
#[derive(Debug, Clone)]
pub(crate) struct TlsSettings {
    custom_roots: Vec<CertificateDer<'static>>,
    platform_roots: bool,
    /// SHA-256 hashes of the WebTransport server's certificate: when any
    /// is given, WebTransport checks the certificate against them alone,
    /// as a browser does with `serverCertificateHashes`.
    #[cfg(feature = "webtransport")]
    pub(crate) certificate_hashes: Vec<[u8; 32]>,
    /// The root store, made on first use (reading the platform's roots
    /// takes a few milliseconds), and kept across reconnections.
    roots: Arc<OnceLock<Result<Arc<RootCertStore>, Error>>>,
    /// The configuration of `https://` and `wss://` connections.
    stream_config: Arc<OnceLock<Result<Arc<ClientConfig>, Error>>>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            custom_roots: Vec::new(),
            platform_roots: true,
            #[cfg(feature = "webtransport")]
            certificate_hashes: Vec::new(),
            roots: Arc::default(),
            stream_config: Arc::default(),
        }
    }
}

impl TlsSettings {
    /// Trusts the certificates of a PEM file's contents (one or more
    /// `CERTIFICATE` blocks).
    pub(crate) fn add_pem(&mut self, pem: &[u8]) -> Result<(), Error> {
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::config(format!("invalid PEM certificate: {e}")))?;
            self.custom_roots.push(cert);
            n += 1;
        }
        match n {
            0 => Err(Error::config("no certificate in the PEM data")),
            _ => Ok(()),
        }
    }

    /// Trusts one DER certificate.
    pub(crate) fn add_der(&mut self, der: Vec<u8>) {
        self.custom_roots.push(CertificateDer::from(der));
    }

    pub(crate) fn set_platform_roots(&mut self, yes: bool) {
        self.platform_roots = yes;
    }

    /// The roots to trust: the custom ones, and the platform's unless
    /// turned off.
    pub(crate) fn root_store(&self) -> Result<Arc<RootCertStore>, Error> {
        self.roots
            .get_or_init(|| {
                let mut store = RootCertStore::empty();
                for cert in &self.custom_roots {
                    store.add(cert.clone()).map_err(|e| {
                        Error::config(format!("invalid root certificate: {e}"))
                    })?;
                }
                if self.platform_roots {
                    let found = rustls_native_certs::load_native_certs();
                    for e in &found.errors {
                        trace::debug!(error = %e, "socket.io client: reading the platform's root certificates");
                    }
                    let (added, ignored) = store.add_parsable_certificates(found.certs);
                    trace::debug!(added, ignored, "socket.io client: platform root certificates");
                }
                match store.is_empty() {
                    true => Err(Error::config(
                        "no root certificate to trust: the platform has none, and none was added",
                    )),
                    false => Ok(Arc::new(store)),
                }
            })
            .clone()
    }

    /// The rustls configuration of `https://` polling and `wss://`
    /// WebSocket connections.
    pub(crate) fn stream_config(&self) -> Result<Arc<ClientConfig>, Error> {
        self.stream_config
            .get_or_init(|| {
                // ring, as the rest of the workspace (no aws-lc-rs to build);
                // rustls deprecates it for its lack of post-quantum key
                // exchange, which ring does not offer.
                #[allow(deprecated)]
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let mut config = ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| Error::config(format!("TLS: {e}")))?
                    .with_root_certificates(self.root_store()?)
                    .with_no_client_auth();
                // Both transports speak HTTP/1.1 (WebSocket starts as an
                // HTTP/1.1 upgrade).
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                Ok(Arc::new(config))
            })
            .clone()
    }
}

/// TLS options (feature `tls`).
impl crate::ClientBuilder {
    /// Trusts the root certificates of PEM data (the contents of a `.pem`
    /// file: one or more `CERTIFICATE` blocks), besides the platform's,
    /// for `https://`, `wss://` and WebTransport. PEM data without a
    /// certificate makes [`build`](Self::build) fail.
    ///
    /// ```
    /// # use socketio_client::Client;
    /// let no_pem = Client::builder("https://localhost:3000").add_root_certificate_pem("hello").build();
    /// assert!(no_pem.unwrap_err().is_config());
    /// ```
    pub fn add_root_certificate_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        if let Err(e) = self.tls.add_pem(pem.as_ref()) {
            self.error.get_or_insert(e);
        }
        self
    }

    /// Trusts one DER root certificate, besides the platform's. (An
    /// invalid certificate fails the first connection, as a configuration
    /// error.)
    ///
    /// ```no_run
    /// # use socketio_client::Client;
    /// let der = std::fs::read("ca.der").unwrap();
    /// let builder = Client::builder("https://localhost:3000").add_root_certificate_der(der);
    /// ```
    pub fn add_root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.tls.add_der(der.into());
        self
    }

    /// Whether to trust the root certificates of the platform (default
    /// `true`): those the operating system trusts, read once per client
    /// through rustls-native-certs. Off, only the added ones are trusted.
    ///
    /// ```no_run
    /// # use socketio_client::Client;
    /// let ca_pem = std::fs::read("ca.pem").unwrap();
    /// let builder = Client::builder("https://localhost:3000")
    ///     .platform_roots(false)
    ///     .add_root_certificate_pem(ca_pem);
    /// ```
    pub fn platform_roots(mut self, yes: bool) -> Self {
        self.tls.set_platform_roots(yes);
        self
    }

    /// Pins the SHA-256 hashes of the WebTransport server's certificate
    /// (feature `webtransport`), as a browser's `serverCertificateHashes`:
    /// WebTransport then trusts a certificate with one of these hashes,
    /// and no other, whoever signed it. The certificate must be an ECDSA
    /// P-256 one valid for at most 14 days (what the server's
    /// `Identity::self_signed` makes), for development. Polling and
    /// WebSocket do not use the hashes.
    ///
    /// ```
    /// # use socketio_client::{Client, Transports};
    /// // The server printed its certificate's hash, in base64 or hex.
    /// let hash: [u8; 32] = [0x5a; 32];
    /// let client = Client::builder("http://127.0.0.1:3000")
    ///     .transports(Transports::WebTransportOnly)
    ///     .server_certificate_hashes([hash])
    ///     .build()
    ///     .unwrap();
    /// ```
    #[cfg(feature = "webtransport")]
    pub fn server_certificate_hashes(mut self, hashes: impl IntoIterator<Item = [u8; 32]>) -> Self {
        self.tls.certificate_hashes.extend(hashes);
        self
    }
}
