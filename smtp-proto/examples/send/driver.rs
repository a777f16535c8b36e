//! A tokio driver of the [`smtp_sansio::Client`] machine: sends one
//! message over a TCP stream, with STARTTLS or implicit TLS through
//! tokio-rustls (ring provider).
//!
//! Shared by `examples/send/main.rs` and the interop tests
//! (`tests/tests/interop_client.rs`, through `#[path]`).

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use smtp_sansio::OwnedReply;
use smtp_sansio::{Client, ClientConfig, ClientError, ClientEvent, Envelope};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// Deadline for a TLS handshake (the machine has no timeout while it
/// waits for one).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// How one attempt ended.
#[derive(Debug)]
pub enum Outcome {
    /// The server accepted the message (its reply).
    Delivered(OwnedReply),
    /// The transaction or the session failed.
    Failed(String),
    /// The machine ended the session with a typed error before a result
    /// (downgrade, injection, AUTH failure, ...).
    Error(ClientError),
}

/// A TLS connector: `insecure` accepts any certificate (for the demo
/// server's self-signed one); otherwise the certificates of `ca` (PEM) are
/// the roots, or the system bundle when `ca` is `None`.
pub fn tls_connector(insecure: bool, ca: Option<&Path>) -> Result<TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let cfg = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
            .with_no_client_auth()
    } else {
        use rustls_pki_types::pem::PemObject;
        let path = ca.unwrap_or(Path::new("/etc/ssl/certs/ca-certificates.crt"));
        let mut roots = rustls::RootCertStore::empty();
        let certs =
            CertificateDer::pem_file_iter(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for c in certs {
            let c = c.map_err(|e| format!("{}: {e}", path.display()))?;
            let _ = roots.add(c);
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(TlsConnector::from(Arc::new(cfg)))
}

/// Accepts any server certificate (`--insecure`); signatures are still
/// checked so the handshake itself is sound.
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

enum Conn {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    Gone,
}

impl Conn {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf).await,
            Conn::Tls(s) => s.read(buf).await,
            Conn::Gone => Ok(0),
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.write_all(bytes).await,
            Conn::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Conn::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    async fn shutdown(&mut self) {
        let _ = match self {
            Conn::Plain(s) => s.shutdown().await,
            Conn::Tls(s) => s.shutdown().await,
            Conn::Gone => Ok(()),
        };
    }
}

/// Sends `body` to `envelope`'s recipients over `tcp` with `cfg`, then
/// QUIT. `tls` and `server_name` serve STARTTLS and implicit TLS.
/// `verbose` prints each event to stderr.
pub async fn send(
    tcp: TcpStream,
    cfg: ClientConfig,
    tls: &TlsConnector,
    server_name: ServerName<'static>,
    envelope: Envelope,
    body: Vec<u8>,
    verbose: bool,
) -> Result<Outcome, String> {
    let implicit = cfg.mode.implicit_tls();
    let mut client = Client::new(cfg).map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    let mut conn = if implicit {
        let s = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.connect(server_name.clone(), tcp))
            .await
            .map_err(|_| "TLS handshake timed out".to_string())?
            .map_err(|e| format!("TLS handshake: {e}"))?;
        Conn::Tls(Box::new(s))
    } else {
        Conn::Plain(tcp)
    };
    let mut message = Some((envelope, body));
    let mut outcome: Option<Outcome> = None;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut start_tls = false;
        while let Some(ev) = client.next_event() {
            if verbose {
                eprintln!("event: {ev:?}");
            }
            match ev {
                ClientEvent::Ready => {
                    if let Some((env, body)) = message.take() {
                        if let Err(e) = client.send_mail(env, body) {
                            outcome =
                                Some(Outcome::Failed(format!("message refused locally: {e}")));
                            let _ = client.quit();
                        }
                    } else {
                        let _ = client.quit();
                    }
                }
                // Without pipelining: deliver to the accepted recipients.
                ClientEvent::RecipientsPartial { .. } => {
                    let _ = client.proceed();
                }
                ClientEvent::Delivered(r) => outcome = Some(Outcome::Delivered(r)),
                ClientEvent::TransactionFailed { stage, reply } => {
                    let r = reply.as_ref().map(reply_text).unwrap_or_default();
                    outcome = Some(Outcome::Failed(format!("{stage:?} refused: {r}")));
                }
                ClientEvent::Error(e) if outcome.is_none() => {
                    outcome = Some(Outcome::Error(e));
                }
                ClientEvent::StartTls => start_tls = true,
                _ => {}
            }
        }
        client.transmit(&mut out);
        if !out.is_empty() {
            if let Err(e) = conn.write_all(&out).await {
                return outcome.ok_or_else(|| format!("write: {e}"));
            }
            out.clear();
        }
        if client.is_closed() {
            conn.shutdown().await;
            break;
        }
        if start_tls {
            let Conn::Plain(tcp) = std::mem::replace(&mut conn, Conn::Gone) else {
                return Err("STARTTLS on a TLS stream".into());
            };
            let s = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.connect(server_name.clone(), tcp))
                .await
                .map_err(|_| "TLS handshake timed out".to_string())?
                .map_err(|e| format!("TLS handshake: {e}"))?;
            conn = Conn::Tls(Box::new(s));
            client.tls_established();
            continue;
        }
        let limit = client.timeout().unwrap_or(Duration::from_secs(300));
        match tokio::time::timeout(limit, conn.read(&mut buf)).await {
            Err(_) => client.handle_timeout(),
            Ok(Ok(0)) => client.receive_eof(),
            Ok(Ok(n)) => client.receive(&buf[..n]),
            Ok(Err(e)) => {
                if outcome.is_some() {
                    break;
                }
                return Err(format!("read: {e}"));
            }
        }
    }
    outcome.ok_or_else(|| "the session ended without a result".into())
}

/// A reply as the user should see it: code, enhanced code and every text
/// line (RFC 5321 4.2), lines joined by " / ".
pub fn reply_text(r: &smtp_sansio::OwnedReply) -> String {
    let mut s = r.code.to_string();
    if let Some(e) = r.enhanced {
        s.push_str(&format!(" {e}"));
    }
    for (i, line) in r.lines.iter().enumerate() {
        s.push_str(if i == 0 { " " } else { " / " });
        s.push_str(line);
    }
    s
}
