//! A certificate authority made for one test, and a server certificate it
//! signed: for the TLS tests of the example (`tests/deploy`) and of the
//! client (`tests/client`).

/// A test CA, and a certificate it signed for `localhost` and `127.0.0.1`
/// with its key: PEM texts.
#[derive(Debug, Clone)]
pub struct TestCerts {
    /// The CA's certificate, for a client to trust.
    pub ca: String,
    /// The server's certificate.
    pub cert: String,
    /// The server's private key.
    pub key: String,
}

/// A fresh [`TestCerts`].
pub fn test_certs() -> TestCerts {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "socketio-axum test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA certificate");
    let key = rcgen::KeyPair::generate().expect("server key");
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("server params");
    let cert = params.signed_by(&key, &ca).expect("server certificate");
    TestCerts {
        ca: ca.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}
