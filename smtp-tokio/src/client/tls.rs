//! TLS for the client drivers (RFC 3207 STARTTLS, RFC 8314 implicit TLS):
//! which certificates to trust.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// Which server certificates the client trusts (RFC 8314 3, RFC 6125
/// name checks by rustls).
#[derive(Debug, Clone)]
pub enum TlsTrust {
    /// The Mozilla roots compiled in (`webpki-roots`): public servers.
    WebPki,
    /// A rustls configuration of the application's own (client
    /// certificates, private roots, ...).
    Config(Arc<rustls::ClientConfig>),
    /// Any certificate is accepted (signatures are still checked, so the
    /// handshake is sound, but the peer is not authenticated). Only for
    /// tests and self-signed development servers.
    DangerAcceptAny,
}

impl TlsTrust {
    /// The roots of a PEM file (for example a private CA, or the system
    /// bundle `/etc/ssl/certs/ca-certificates.crt`).
    pub fn from_pem_file(path: &Path) -> Result<TlsTrust, String> {
        let mut roots = rustls::RootCertStore::empty();
        let certs =
            CertificateDer::pem_file_iter(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for c in certs {
            let c = c.map_err(|e| format!("{}: {e}", path.display()))?;
            roots
                .add(c)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let cfg = builder()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsTrust::Config(Arc::new(cfg)))
    }

    /// The rustls configuration this trust stands for.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        Ok(match self {
            TlsTrust::Config(c) => c.clone(),
            TlsTrust::WebPki => {
                let roots = rustls::RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                Arc::new(
                    builder()?
                        .with_root_certificates(roots)
                        .with_no_client_auth(),
                )
            }
            TlsTrust::DangerAcceptAny => {
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                Arc::new(
                    builder()?
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
                        .with_no_client_auth(),
                )
            }
        })
    }
}

fn builder() -> Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>, String> {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())
}

/// Accepts any server certificate; signatures are still verified.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
