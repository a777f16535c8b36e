//! A tiny SMTP/LMTP server for the client tests: the core `Server` over
//! tokio, STARTTLS and implicit TLS with a self-signed certificate, every
//! message recorded byte-exact. Independent of the crate's own server.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use smtp_sansio::sasl::Credentials;
use smtp_sansio::{
    AuthRequest, EnhancedCode, Extensions, ForwardPath, OwnedReply, PortMode, ReplyCode, Server,
    ServerConfig, ServerEvent,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// What the server saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Messages completed, as received.
    pub messages: Vec<Vec<u8>>,
    /// Connections accepted.
    pub connections: usize,
    /// Content kinds per message (`Data` or `Bdat`).
    pub kinds: Vec<String>,
    /// Every input read, in order (for counting BDAT chunks).
    pub input: Vec<u8>,
    /// The recipients the application accepted, per completed message.
    pub recipients: Vec<Vec<String>>,
}

/// How the test server behaves.
#[derive(Debug, Clone)]
pub struct Setup {
    pub mode: PortMode,
    pub chunking: bool,
    pub pipelining: bool,
    /// After this many messages on a connection, answer the next command
    /// with 421 and close (an idle-timeout stand-in).
    pub close_after: Option<usize>,
    pub message_size: u64,
    /// The server's recipient limit per transaction (`452 4.5.3` beyond
    /// it, RFC 5321 4.5.3.1.10); `None`: the core's default (100).
    pub max_recipients: Option<usize>,
}

impl Setup {
    pub fn new(mode: PortMode) -> Setup {
        Setup {
            mode,
            chunking: true,
            pipelining: true,
            close_after: None,
            message_size: 64 * 1024 * 1024,
            max_recipients: None,
        }
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Seen>>,
    /// The server's self-signed certificate (PEM), to trust it.
    pub cert_pem: String,
}

fn acceptor() -> (TlsAcceptor, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let pem = cert.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .expect("server cert");
    (TlsAcceptor::from(Arc::new(cfg)), pem)
}

impl TestServer {
    pub async fn start(setup: Setup) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (tls, cert_pem) = acceptor();
        let s2 = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                s2.lock().unwrap().connections += 1;
                let (seen, setup, tls) = (s2.clone(), setup.clone(), tls.clone());
                tokio::spawn(async move {
                    let _ = session(tcp, setup, tls, seen).await;
                });
            }
        });
        TestServer {
            addr,
            seen,
            cert_pem,
        }
    }

    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.seen.lock().unwrap().messages.clone()
    }
}

enum Conn {
    Plain(tokio::net::TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>),
    Gone,
}

impl Conn {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf).await,
            Conn::Tls(s) => s.read(buf).await,
            Conn::Gone => Ok(0),
        }
    }

    async fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.write_all(b).await,
            Conn::Tls(s) => {
                s.write_all(b).await?;
                s.flush().await
            }
            Conn::Gone => Ok(()),
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

async fn session(
    tcp: tokio::net::TcpStream,
    setup: Setup,
    tls: TlsAcceptor,
    seen: Arc<Mutex<Seen>>,
) -> std::io::Result<()> {
    let mut cfg = ServerConfig::new(setup.mode, "mx.example.net").with_tls();
    if !setup.chunking {
        cfg.extensions.remove(Extensions::CHUNKING);
    }
    if !setup.pipelining {
        cfg.extensions.remove(Extensions::PIPELINING);
    }
    cfg.limits.message_size = setup.message_size;
    if let Some(n) = setup.max_recipients {
        cfg.limits.recipients = n;
    }
    let mut server = Server::new(cfg);
    let mut conn = if setup.mode == PortMode::ImplicitTls {
        Conn::Tls(Box::new(tls.accept(tcp).await?))
    } else {
        Conn::Plain(tcp)
    };
    let mut current = Vec::new();
    let mut rcpts: Vec<String> = Vec::new();
    let mut delivered = 0usize;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while let Some(ev) = server.next_event() {
            let reject = |code, e: (u8, u16, u16), text: &'static str| {
                OwnedReply::new(code, EnhancedCode::new(e.0, e.1, e.2), text)
            };
            let decision: Option<Result<(), OwnedReply>> =
                match ev {
                    ServerEvent::Rcpt { to, .. } => Some(match to {
                        ForwardPath::Mailbox(m) if m.local.as_bytes().starts_with(b"x") => Err(
                            reject(ReplyCode::MAILBOX_UNAVAILABLE, (5, 1, 1), "no such user"),
                        ),
                        ForwardPath::Mailbox(m) => {
                            rcpts.push(format!("{}@{}", m.local, m.domain));
                            Ok(())
                        }
                        _ => Ok(()),
                    }),
                    ServerEvent::Mail { .. } => {
                        rcpts.clear();
                        Some(Ok(()))
                    }
                    ServerEvent::Auth(AuthRequest::Credentials {
                        credentials:
                            Credentials::Password {
                                username, password, ..
                            },
                        ..
                    }) => Some(if username == "alice" && password.expose() == "secret" {
                        Ok(())
                    } else {
                        Err(reject(ReplyCode::AUTH_INVALID, (5, 7, 8), "bad"))
                    }),
                    ServerEvent::Auth(_) => {
                        Some(Err(reject(ReplyCode::AUTH_INVALID, (5, 7, 8), "bad")))
                    }
                    ServerEvent::MessageStart { kind } => {
                        current.clear();
                        seen.lock().unwrap().kinds.push(format!("{kind:?}"));
                        None
                    }
                    ServerEvent::MessageData(p) => {
                        current.extend_from_slice(p);
                        None
                    }
                    ServerEvent::MessageComplete { .. } => {
                        let mut seen = seen.lock().unwrap();
                        seen.messages.push(std::mem::take(&mut current));
                        seen.recipients.push(std::mem::take(&mut rcpts));
                        delivered += 1;
                        Some(Ok(()))
                    }
                    ServerEvent::Connected
                    | ServerEvent::Hello { .. }
                    | ServerEvent::Verify { .. }
                    | ServerEvent::Etrn { .. } => Some(Ok(())),
                    _ => None,
                };
            match decision {
                Some(Ok(())) => server.accept().expect("accept"),
                Some(Err(r)) => server.reject(r).expect("reject"),
                None => {}
            }
        }
        server.transmit(&mut out);
        if !out.is_empty() {
            conn.write_all(&out).await?;
            out.clear();
        }
        if setup.close_after.is_some_and(|k| delivered >= k) && !server.has_output() {
            // The server idles the connection out (RFC 5321 3.8).
            conn.write_all(b"421 4.4.2 mx.example.net idle, closing\r\n")
                .await?;
            conn.shutdown().await;
            return Ok(());
        }
        if server.is_closed() {
            conn.shutdown().await;
            return Ok(());
        }
        if server.wants_tls() {
            let Conn::Plain(tcp) = std::mem::replace(&mut conn, Conn::Gone) else {
                return Err(std::io::Error::other("STARTTLS under TLS"));
            };
            conn = Conn::Tls(Box::new(tls.accept(tcp).await?));
            server.tls_established();
            continue;
        }
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            server.receive_eof();
            continue;
        }
        seen.lock().unwrap().input.extend_from_slice(&buf[..n]);
        server.receive(&buf[..n]);
    }
}
