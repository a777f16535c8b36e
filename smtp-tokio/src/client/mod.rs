//! The async client: connect by port mode (RFC 5321 relay on 25, RFC 6409
//! submission on 587 with STARTTLS, RFC 8314 implicit TLS on 465) or with
//! the RFC 8314 5.1 plan for a host, then send messages whose bodies are
//! streamed from an [`AsyncRead`] (RFC 3030 `BDAT` chunks or dot-stuffed
//! DATA), with a result per recipient, several per connection.
//!
//! ```no_run
//! # async fn f() -> Result<(), smtp_sansio_tokio::client::Error> {
//! use smtp_sansio::client::{ClientCredentials, Envelope};
//! use smtp_sansio_tokio::client::{SmtpClient, TlsTrust};
//!
//! let creds = ClientCredentials::new("alice", "secret");
//! let mut smtp = SmtpClient::submission("mail.example.org", "client.example.org", creds, TlsTrust::WebPki).await?;
//! let env = Envelope::new("alice@example.org", ["bob@example.net"]);
//! let report = smtp.send(env, &b"Subject: hi\r\n\r\nhello\r\n"[..]).await?;
//! assert!(report.is_delivered());
//! smtp.quit().await?;
//! # Ok(()) }
//! ```
//!
//! The timeouts are the core's (RFC 5321 4.5.3.2, per reply awaited);
//! each write is bounded by the data block timeout (RFC 5321 4.5.3.2.5);
//! connecting and the TLS handshake by [`ConnectOptions`]. Events go to
//! `tracing` (target `smtp_sansio_tokio::client`): connections, TLS, AUTH
//! success (the mechanism, never the secret), recipients, deliveries and
//! errors.

mod engine;
mod tls;

use std::fmt;
use std::io;
use std::time::Duration;

use smtp_sansio::client::{
    Attempt, BodyError, BodyInfo, ClientCredentials, ClientError, ConfigError, DATA_BLOCK_TIMEOUT,
    Envelope, MessageError, PlanOptions, SrvPlan, StartError, connection_plan,
};
use smtp_sansio::{Client, ClientConfig, Extensions, OwnedReply, PortMode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

pub(crate) use engine::{Engine, Rounds};
pub use engine::{Outcome, RecipientReport, SendReport};
pub use tls::TlsTrust;

/// Why an operation of the client drivers failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket, or the body's reader, failed.
    Io(io::Error),
    /// The TLS handshake failed, or the TLS configuration is unusable.
    Tls(String),
    /// The client configuration was refused ([`Client::new`]).
    Config(ConfigError),
    /// The server name is not a valid DNS name or IP address for TLS.
    ServerName(String),
    /// The session ended with the machine's typed error (a 421, a
    /// downgrade refused under a TLS requirement, AUTH failed, a malformed
    /// reply, ...; RFC 5321 4.2, 3.8). The connection is closed.
    Protocol(ClientError),
    /// The message cannot be sent to this server as configured (checked
    /// before MAIL: an 8-bit body without 8BITMIME, over the server's
    /// SIZE, ...). The connection stays usable.
    Message(MessageError),
    /// Connecting, the TLS handshake or a write took longer than allowed.
    Timeout,
    /// The connection is closed (after QUIT, an error, or the server's
    /// EOF).
    Closed,
    /// No attempt of a connection plan succeeded (RFC 8314 5.1); the last
    /// attempt's error.
    NoRoute(Box<Error>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O: {e}"),
            Error::Tls(e) => write!(f, "TLS: {e}"),
            Error::Config(e) => write!(f, "configuration: {e}"),
            Error::ServerName(e) => write!(f, "server name: {e}"),
            Error::Protocol(e) => match e.reply() {
                Some(r) => write!(f, "{e} ({})", reply_text(r)),
                None => write!(f, "{e}"),
            },
            Error::Message(e) => write!(f, "message refused locally: {e}"),
            Error::Timeout => f.write_str("timeout"),
            Error::Closed => f.write_str("connection closed"),
            Error::NoRoute(e) => write!(f, "no connection attempt succeeded; last: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

/// A reply as a user should see it: code, enhanced code and every text
/// line (RFC 5321 4.2), lines joined by " / ".
pub fn reply_text(r: &OwnedReply) -> String {
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

/// Limits of the driver itself (the protocol's own timeouts come from
/// the core, RFC 5321 4.5.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions {
    /// TCP connect. Default 30 s.
    pub connect_timeout: Duration,
    /// The TLS handshake (implicit TLS or after STARTTLS). Default 60 s.
    pub handshake_timeout: Duration,
    /// Each write to the socket: the data block timeout, 3 minutes (RFC
    /// 5321 4.5.3.2.5).
    pub write_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(60),
            write_timeout: DATA_BLOCK_TIMEOUT,
        }
    }
}

/// The well-known port of a mode: 25 (relay, RFC 5321 4.5.4), 587
/// (submission, RFC 6409 3.1), 465 (implicit TLS, RFC 8314 7.3), 24 (LMTP
/// over TCP, RFC 2033 has none; 24 is the common private choice).
pub fn default_port(mode: PortMode) -> u16 {
    match mode {
        PortMode::Relay => 25,
        PortMode::Submission => 587,
        PortMode::ImplicitTls => 465,
        PortMode::Lmtp => 24,
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

/// Per-message options of [`SmtpClient::send_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// The body's size, if known: `SIZE=` (RFC 1870).
    pub size: Option<u64>,
    /// Whether the body may be 8-bit (`BODY=8BITMIME`, RFC 6152). `None`:
    /// declared when the server offers 8BITMIME (a 7-bit body is valid
    /// 8BITMIME content), otherwise 7-bit, and an 8-bit octet gives the
    /// message up.
    pub eight_bit: Option<bool>,
}

/// One SMTP/LMTP client connection over tokio, TCP and rustls.
pub struct SmtpClient {
    engine: Engine,
    conn: Conn,
    tls: TlsConnector,
    server_name: ServerName<'static>,
    options: ConnectOptions,
    buf: Vec<u8>,
}

impl fmt::Debug for SmtpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpClient")
            .field("client", &self.engine.client)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl SmtpClient {
    /// Connects to `addr` and runs the greeting, EHLO, STARTTLS and AUTH
    /// as `cfg` says (its [`PortMode`]: implicit TLS starts TLS before the
    /// first byte, RFC 8314 3.3), up to the first [`ClientEvent::Ready`]
    /// (RFC 5321 3.1). `server_name` is checked against the certificate.
    ///
    /// [`ClientEvent::Ready`]: smtp_sansio::ClientEvent::Ready
    pub async fn connect<A: ToSocketAddrs>(
        addr: A,
        server_name: &str,
        cfg: ClientConfig,
        trust: TlsTrust,
    ) -> Result<SmtpClient, Error> {
        Self::connect_with(addr, server_name, cfg, trust, ConnectOptions::default()).await
    }

    /// [`SmtpClient::connect`] with the driver's own limits.
    pub async fn connect_with<A: ToSocketAddrs>(
        addr: A,
        server_name: &str,
        cfg: ClientConfig,
        trust: TlsTrust,
        options: ConnectOptions,
    ) -> Result<SmtpClient, Error> {
        let server_name = ServerName::try_from(server_name.to_string())
            .map_err(|e| Error::ServerName(e.to_string()))?;
        let tls = TlsConnector::from(trust.client_config().map_err(Error::Tls)?);
        let implicit = cfg.mode.implicit_tls();
        let client = Client::new(cfg).map_err(Error::Config)?;
        let tcp = tokio::time::timeout(options.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| Error::Timeout)??;
        let _ = tcp.set_nodelay(true);
        tracing::info!(target: "smtp_sansio_tokio::client", peer = ?tcp.peer_addr().ok(), implicit_tls = implicit, "connected");
        let conn = if implicit {
            Conn::Tls(Box::new(
                handshake(&tls, &server_name, tcp, &options).await?,
            ))
        } else {
            Conn::Plain(tcp)
        };
        let mut c = SmtpClient {
            engine: Engine::new(client),
            conn,
            tls,
            server_name,
            options,
            buf: vec![0; 16 * 1024],
        };
        c.until_ready().await?;
        Ok(c)
    }

    /// Connects to `host` on the well-known port of `cfg`'s mode (see
    /// [`default_port`]).
    pub async fn connect_mode(
        host: &str,
        cfg: ClientConfig,
        trust: TlsTrust,
    ) -> Result<SmtpClient, Error> {
        let port = default_port(cfg.mode);
        Self::connect((host, port), host, cfg, trust).await
    }

    /// Message submission to `host` with the RFC 8314 5.1 plan: implicit
    /// TLS on 465 first, then STARTTLS (required) on 587; never plaintext.
    /// The ports are the well-known ones (the RFC 6186 SRV names of the
    /// plan are not looked up: no DNS resolver here). Authenticates with
    /// `credentials`.
    pub async fn submission(
        host: &str,
        helo: &str,
        credentials: ClientCredentials,
        trust: TlsTrust,
    ) -> Result<SmtpClient, Error> {
        let plan = connection_plan(host, PlanOptions::default());
        let mut last = Error::ServerName(format!("no connection plan for {host}"));
        for Attempt { mode, port, .. } in plan {
            let cfg = ClientConfig::new(mode, helo).with_credentials(credentials.clone());
            match Self::connect((host, port), host, cfg, trust.clone()).await {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tracing::info!(target: "smtp_sansio_tokio::client", host, port, error = %e, "attempt failed");
                    last = e;
                }
            }
        }
        Err(Error::NoRoute(Box::new(last)))
    }

    /// Message submission along an RFC 6186 SRV plan made by
    /// [`smtp_sansio::client::srv_plan`] from the records the caller's
    /// resolver returned: each attempt in order (its host, port and mode,
    /// TLS required) until one reaches the ready state. The certificate is
    /// checked against `tls_name`: the submission domain, as RFC 6186 6
    /// and RFC 7817 3 ask (the SRV target only when the answer was
    /// DNSSEC-validated or the user confirmed it). Authenticates with
    /// `credentials`.
    pub async fn submission_plan(
        plan: &SrvPlan,
        tls_name: &str,
        helo: &str,
        credentials: ClientCredentials,
        trust: TlsTrust,
    ) -> Result<SmtpClient, Error> {
        let mut last = Error::ServerName(format!("empty connection plan for {tls_name}"));
        for a in &plan.attempts {
            let mut cfg = ClientConfig::new(a.mode, helo).with_credentials(credentials.clone());
            cfg.tls = a.tls;
            match Self::connect((a.host.as_str(), a.port), tls_name, cfg, trust.clone()).await {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tracing::info!(target: "smtp_sansio_tokio::client", host = %a.host, port = a.port, error = %e, "attempt failed");
                    last = e;
                }
            }
        }
        Err(Error::NoRoute(Box::new(last)))
    }

    /// The core machine (its capabilities, TLS and AUTH state).
    pub fn machine(&self) -> &Client {
        &self.engine.client
    }

    /// Sends one message whose body is read from `body` to its end, in
    /// pieces (BDAT chunks of [`ClientConfig::chunk_size`] when the
    /// server offers CHUNKING, else dot-stuffed DATA; RFC 3030, RFC 5321
    /// 4.5.2): memory stays bounded by the chunk size. A refused
    /// transaction is `Ok` with [`Outcome::Failed`]; the connection stays
    /// usable for the next message.
    pub async fn send<R: AsyncRead + Unpin>(
        &mut self,
        envelope: Envelope,
        body: R,
    ) -> Result<SendReport, Error> {
        self.send_with(envelope, body, SendOptions::default()).await
    }

    /// [`SmtpClient::send`] with the body's size and 8-bit declaration.
    pub async fn send_with<R: AsyncRead + Unpin>(
        &mut self,
        envelope: Envelope,
        mut body: R,
        options: SendOptions,
    ) -> Result<SendReport, Error> {
        self.until_ready().await?;
        let eight_bit = options.eight_bit.unwrap_or_else(|| {
            self.engine
                .client
                .capabilities()
                .is_some_and(|c| c.supports(Extensions::EIGHT_BIT_MIME))
        });
        self.engine.begin(&envelope);
        let info = BodyInfo::new(options.size, eight_bit);
        match self.engine.client.start_mail(envelope, info) {
            Ok(()) => {}
            Err(StartError::Invalid { error, .. }) => {
                self.engine.ready = true;
                return Err(Error::Message(error));
            }
            Err(StartError::Misuse(_)) => return Err(self.closed_error()),
        }
        let mut piece = Vec::new();
        let mut body_error: Option<Error> = None;
        loop {
            self.engine.pump();
            // The body, as far as the machine takes it.
            while self.engine.client.wants_body() {
                let room = self.engine.client.body_room();
                if room == 0 {
                    break;
                }
                piece.resize(room.min(64 * 1024), 0);
                let n = match body.read(&mut piece).await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(target: "smtp_sansio_tokio::client", error = %e, "body reader failed: message given up");
                        let _ = self.engine.client.abort();
                        body_error = Some(Error::Io(e));
                        break;
                    }
                };
                let piece = piece.get(..n).unwrap_or(&[]);
                let fed = if n == 0 {
                    self.engine.client.end_body()
                } else {
                    self.engine.client.send_body(piece).map(|_| ())
                };
                if let Err(BodyError::Invalid(e)) = fed {
                    body_error = Some(Error::Message(e));
                }
                self.engine.pump();
                self.flush().await?;
            }
            self.engine.pump();
            self.flush().await?;
            if let Some(report) = self.engine.take_report() {
                return match body_error {
                    Some(e) => Err(e),
                    None => Ok(report),
                };
            }
            if self.engine.client.is_closed() {
                self.conn.shutdown().await;
                return Err(body_error.unwrap_or_else(|| self.closed_error()));
            }
            self.read_once().await?;
        }
    }

    /// [`SmtpClient::send_with`] for a body that can be read again: a
    /// message with more recipients than one transaction takes
    /// ([`ClientConfig::rcpt_max`], the server's LIMITS RCPTMAX or
    /// RCPTDOMAINMAX, RFC 9422 4.2, 4.3, or a `452 4.5.3` too many
    /// recipients, RFC 5321 4.5.3.1.10) goes as several transactions on
    /// this connection, the body streamed again from its start for each
    /// (memory stays bounded by the chunk size). The report has every
    /// recipient of `envelope`: one transaction gives the report of
    /// [`SmtpClient::send_with`]; several give [`Outcome::PerRecipient`]
    /// with each accepted recipient's
    /// [`RecipientReport::delivery`]. A recipient still
    /// [`RecipientReport::unsent`] is one the server would not take on
    /// this connection (MAILMAX reached, a transaction that failed).
    pub async fn send_seekable<R: AsyncRead + AsyncSeek + Unpin>(
        &mut self,
        envelope: Envelope,
        mut body: R,
        options: SendOptions,
    ) -> Result<SendReport, Error> {
        let start = body.stream_position().await?;
        let mut rounds = Rounds::new(envelope);
        let mut sub = rounds.envelope();
        loop {
            let r = self.send_with(sub, &mut body, options).await?;
            match rounds.next(r) {
                Some(next) => {
                    body.seek(io::SeekFrom::Start(start)).await?;
                    sub = next;
                }
                None => return rounds.report().ok_or_else(|| self.closed_error()),
            }
        }
    }

    /// Sends NOOP and returns its reply (RFC 5321 4.1.1.9): checks that
    /// the connection still works. A server that idled it out gives
    /// [`Error::Protocol`] with [`ClientError::ServiceClosing`] or
    /// [`ClientError::ConnectionClosed`].
    pub async fn noop(&mut self) -> Result<OwnedReply, Error> {
        self.until_ready().await?;
        self.engine.ready = false;
        if self.engine.client.noop().is_err() {
            return Err(self.closed_error());
        }
        self.query().await
    }

    /// Sends RSET and returns its reply (RFC 5321 4.1.1.5).
    pub async fn rset(&mut self) -> Result<OwnedReply, Error> {
        self.until_ready().await?;
        self.engine.ready = false;
        if self.engine.client.rset().is_err() {
            return Err(self.closed_error());
        }
        self.query().await
    }

    /// Whether another message can go over this connection now, without
    /// waiting: what the server sent meanwhile (an idle-timeout 421, RFC
    /// 5321 3.8, or EOF) is read first. A pool drops the connection when
    /// this is false.
    pub async fn is_reusable(&mut self) -> bool {
        if !self.engine.ready || self.engine.client.is_closed() {
            return false;
        }
        // Poll the socket once; what is there is fed to the machine.
        let mut buf = std::mem::take(&mut self.buf);
        if let Ok(r) = tokio::time::timeout(Duration::ZERO, self.conn.read(&mut buf)).await {
            match r {
                Ok(0) => self.engine.client.receive_eof(),
                Ok(n) => self.engine.client.receive(buf.get(..n).unwrap_or(&[])),
                Err(_) => self.engine.client.receive_eof(),
            }
            self.engine.pump();
        }
        self.buf = buf;
        self.engine.client.is_reusable()
    }

    /// Ends the session: QUIT, its reply, close (RFC 5321 4.1.1.10).
    pub async fn quit(mut self) -> Result<(), Error> {
        self.until_ready().await?;
        if self.engine.client.quit().is_err() {
            return Err(self.closed_error());
        }
        loop {
            self.engine.pump();
            self.flush().await?;
            if self.engine.client.is_closed() {
                self.conn.shutdown().await;
                return Ok(());
            }
            self.read_once().await?;
        }
    }

    async fn query(&mut self) -> Result<OwnedReply, Error> {
        self.engine.query_reply = None;
        loop {
            self.engine.pump();
            self.flush().await?;
            if self.engine.ready {
                if let Some(r) = self.engine.query_reply.take() {
                    return Ok(r);
                }
            }
            if self.engine.client.is_closed() {
                self.conn.shutdown().await;
                return Err(self.closed_error());
            }
            self.read_once().await?;
        }
    }

    /// Drives the session until the machine waits for a message.
    async fn until_ready(&mut self) -> Result<(), Error> {
        loop {
            self.engine.pump();
            self.flush().await?;
            if self.engine.ready {
                return Ok(());
            }
            if self.engine.client.is_closed() {
                self.conn.shutdown().await;
                return Err(self.closed_error());
            }
            if std::mem::take(&mut self.engine.start_tls) {
                let Conn::Plain(tcp) = std::mem::replace(&mut self.conn, Conn::Gone) else {
                    return Err(Error::Tls("STARTTLS on a TLS stream".into()));
                };
                let s = handshake(&self.tls, &self.server_name, tcp, &self.options).await?;
                self.conn = Conn::Tls(Box::new(s));
                tracing::info!(target: "smtp_sansio_tokio::client", "STARTTLS done");
                self.engine.client.tls_established();
                continue;
            }
            self.read_once().await?;
        }
    }

    fn closed_error(&mut self) -> Error {
        match self.engine.error.take() {
            Some(e) => Error::Protocol(e),
            None => Error::Closed,
        }
    }

    async fn flush(&mut self) -> Result<(), Error> {
        if self.engine.out.is_empty() {
            return Ok(());
        }
        let out = std::mem::take(&mut self.engine.out);
        let r = tokio::time::timeout(self.options.write_timeout, self.conn.write_all(&out)).await;
        self.engine.out = out;
        self.engine.out.clear();
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::Io(e)),
            Err(_) => Err(Error::Timeout),
        }
    }

    /// One read, bounded by the core's timeout for the reply awaited.
    async fn read_once(&mut self) -> Result<(), Error> {
        let limit = self
            .engine
            .client
            .timeout()
            .unwrap_or(smtp_sansio::client::COMMAND_TIMEOUT);
        let mut buf = std::mem::take(&mut self.buf);
        let r = tokio::time::timeout(limit, self.conn.read(&mut buf)).await;
        match r {
            Err(_) => self.engine.client.handle_timeout(),
            Ok(Ok(0)) => self.engine.client.receive_eof(),
            Ok(Ok(n)) => self.engine.client.receive(buf.get(..n).unwrap_or(&[])),
            Ok(Err(e)) => {
                self.buf = buf;
                return Err(Error::Io(e));
            }
        }
        self.buf = buf;
        Ok(())
    }
}

async fn handshake(
    tls: &TlsConnector,
    name: &ServerName<'static>,
    tcp: TcpStream,
    options: &ConnectOptions,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Error> {
    let s = tokio::time::timeout(options.handshake_timeout, tls.connect(name.clone(), tcp))
        .await
        .map_err(|_| Error::Timeout)?
        .map_err(|e| Error::Tls(e.to_string()))?;
    tracing::info!(target: "smtp_sansio_tokio::client", "TLS established");
    Ok(s)
}
