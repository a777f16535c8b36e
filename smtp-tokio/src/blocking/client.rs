//! The blocking client: the async client's semantics on `std::net` and
//! rustls (`StreamOwned`), for programs without an async runtime. Port
//! modes (RFC 5321 relay, RFC 6409 submission with STARTTLS, RFC 8314
//! implicit TLS, RFC 2033 LMTP), bodies streamed from a [`Read`] (RFC
//! 3030 BDAT chunks or dot-stuffed DATA), per-recipient reports, several
//! messages per connection, NOOP/RSET and a reuse check.
//!
//! ```no_run
//! use smtp_sansio::client::{ClientCredentials, Envelope};
//! use smtp_sansio::{ClientConfig, PortMode};
//! use smtp_sansio_tokio::blocking::client::SmtpClient;
//! use smtp_sansio_tokio::client::TlsTrust;
//!
//! let cfg = ClientConfig::new(PortMode::Submission, "client.example.org")
//!     .with_credentials(ClientCredentials::new("alice", "secret"));
//! let mut smtp = SmtpClient::connect(("mail.example.org", 587), "mail.example.org", cfg, TlsTrust::WebPki)?;
//! let env = Envelope::new("alice@example.org", ["bob@example.net"]);
//! let report = smtp.send(env, std::fs::File::open("message.eml")?)?;
//! assert!(report.is_delivered());
//! smtp.quit()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, Read, Seek, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use smtp_sansio::client::{BodyError, BodyInfo, COMMAND_TIMEOUT, Envelope, StartError};
use smtp_sansio::{Client, ClientConfig, Extensions, OwnedReply};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::client::{ConnectOptions, Engine, Error, Rounds, SendOptions, SendReport, TlsTrust};

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
    Gone,
}

impl Conn {
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Conn::Plain(s) => Some(s),
            Conn::Tls(s) => Some(&s.sock),
            Conn::Gone => None,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
            Conn::Gone => Ok(0),
        }
    }

    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.write_all(b),
            Conn::Tls(s) => {
                s.write_all(b)?;
                s.flush()
            }
            Conn::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn shutdown(&mut self) {
        if let Conn::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        if let Some(t) = self.tcp() {
            let _ = t.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// One blocking SMTP/LMTP client connection.
pub struct SmtpClient {
    engine: Engine,
    conn: Conn,
    tls: Arc<rustls::ClientConfig>,
    server_name: ServerName<'static>,
    options: ConnectOptions,
    buf: Vec<u8>,
}

impl std::fmt::Debug for SmtpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpClient")
            .field("client", &self.engine.client)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl SmtpClient {
    /// Connects to `addr` and runs the session up to the first Ready (see
    /// [`crate::client::SmtpClient::connect`]).
    pub fn connect<A: ToSocketAddrs>(
        addr: A,
        server_name: &str,
        cfg: ClientConfig,
        trust: TlsTrust,
    ) -> Result<SmtpClient, Error> {
        Self::connect_with(addr, server_name, cfg, trust, ConnectOptions::default())
    }

    /// [`SmtpClient::connect`] with the driver's own limits.
    pub fn connect_with<A: ToSocketAddrs>(
        addr: A,
        server_name: &str,
        cfg: ClientConfig,
        trust: TlsTrust,
        options: ConnectOptions,
    ) -> Result<SmtpClient, Error> {
        let server_name = ServerName::try_from(server_name.to_string())
            .map_err(|e| Error::ServerName(e.to_string()))?;
        let tls = trust.client_config().map_err(Error::Tls)?;
        let implicit = cfg.mode.implicit_tls();
        let client = Client::new(cfg).map_err(Error::Config)?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        let mut tcp = None;
        for a in addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&a, options.connect_timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let tcp = tcp.ok_or(if timed_out(&last) {
            Error::Timeout
        } else {
            Error::Io(last)
        })?;
        let _ = tcp.set_nodelay(true);
        tcp.set_write_timeout(Some(options.write_timeout))?;
        tracing::info!(target: "smtp_sansio_tokio::client", peer = ?tcp.peer_addr().ok(), implicit_tls = implicit, "connected");
        let mut c = SmtpClient {
            engine: Engine::new(client),
            conn: Conn::Plain(tcp),
            tls,
            server_name,
            options,
            buf: vec![0; 16 * 1024],
        };
        if implicit {
            c.handshake()?;
        }
        c.until_ready()?;
        Ok(c)
    }

    /// The core machine.
    pub fn machine(&self) -> &Client {
        &self.engine.client
    }

    /// Sends one message whose body is read from `body` to its end (see
    /// [`crate::client::SmtpClient::send`]).
    pub fn send<R: Read>(&mut self, envelope: Envelope, body: R) -> Result<SendReport, Error> {
        self.send_with(envelope, body, SendOptions::default())
    }

    /// [`SmtpClient::send_with`] for a body that can be read again: the
    /// recipients a transaction did not carry (a recipient limit, RFC
    /// 9422, RFC 5321 4.5.3.1.10) get the body again from its start in
    /// further transactions (see
    /// [`crate::client::SmtpClient::send_seekable`]).
    pub fn send_seekable<R: Read + Seek>(
        &mut self,
        envelope: Envelope,
        mut body: R,
        options: SendOptions,
    ) -> Result<SendReport, Error> {
        let start = body.stream_position()?;
        let mut rounds = Rounds::new(envelope);
        let mut sub = rounds.envelope();
        loop {
            let r = self.send_with(sub, &mut body, options)?;
            match rounds.next(r) {
                Some(next) => {
                    body.seek(io::SeekFrom::Start(start))?;
                    sub = next;
                }
                None => return rounds.report().ok_or_else(|| self.closed_error()),
            }
        }
    }

    /// [`SmtpClient::send`] with the body's size and 8-bit declaration.
    pub fn send_with<R: Read>(
        &mut self,
        envelope: Envelope,
        mut body: R,
        options: SendOptions,
    ) -> Result<SendReport, Error> {
        self.until_ready()?;
        let eight_bit = options.eight_bit.unwrap_or_else(|| {
            self.engine
                .client
                .capabilities()
                .is_some_and(|c| c.supports(Extensions::EIGHT_BIT_MIME))
        });
        self.engine.begin(&envelope);
        match self
            .engine
            .client
            .start_mail(envelope, BodyInfo::new(options.size, eight_bit))
        {
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
            while self.engine.client.wants_body() {
                let room = self.engine.client.body_room();
                if room == 0 {
                    break;
                }
                piece.resize(room.min(64 * 1024), 0);
                let n = match body.read(&mut piece) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        tracing::warn!(target: "smtp_sansio_tokio::client", error = %e, "body reader failed: message given up");
                        let _ = self.engine.client.abort();
                        body_error = Some(Error::Io(e));
                        break;
                    }
                };
                let fed = if n == 0 {
                    self.engine.client.end_body()
                } else {
                    self.engine
                        .client
                        .send_body(piece.get(..n).unwrap_or(&[]))
                        .map(|_| ())
                };
                if let Err(BodyError::Invalid(e)) = fed {
                    body_error = Some(Error::Message(e));
                }
                self.engine.pump();
                self.flush()?;
            }
            self.engine.pump();
            self.flush()?;
            if let Some(report) = self.engine.take_report() {
                return match body_error {
                    Some(e) => Err(e),
                    None => Ok(report),
                };
            }
            if self.engine.client.is_closed() {
                self.conn.shutdown();
                return Err(body_error.unwrap_or_else(|| self.closed_error()));
            }
            self.read_once()?;
        }
    }

    /// Sends NOOP and returns its reply (RFC 5321 4.1.1.9).
    pub fn noop(&mut self) -> Result<OwnedReply, Error> {
        self.until_ready()?;
        self.engine.ready = false;
        if self.engine.client.noop().is_err() {
            return Err(self.closed_error());
        }
        self.query()
    }

    /// Sends RSET and returns its reply (RFC 5321 4.1.1.5).
    pub fn rset(&mut self) -> Result<OwnedReply, Error> {
        self.until_ready()?;
        self.engine.ready = false;
        if self.engine.client.rset().is_err() {
            return Err(self.closed_error());
        }
        self.query()
    }

    /// Whether another message can go over this connection now, without
    /// waiting: what the server sent meanwhile (an idle-timeout 421, RFC
    /// 5321 3.8, or EOF) is read first.
    pub fn is_reusable(&mut self) -> bool {
        if !self.engine.ready || self.engine.client.is_closed() {
            return false;
        }
        let Some(tcp) = self.conn.tcp() else {
            return false;
        };
        if tcp.set_nonblocking(true).is_err() {
            return false;
        }
        let mut buf = std::mem::take(&mut self.buf);
        match self.conn.read(&mut buf) {
            Ok(0) => self.engine.client.receive_eof(),
            Ok(n) => self.engine.client.receive(buf.get(..n).unwrap_or(&[])),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => self.engine.client.receive_eof(),
        }
        self.buf = buf;
        let blocking = self.conn.tcp().map(|t| t.set_nonblocking(false));
        self.engine.pump();
        matches!(blocking, Some(Ok(()))) && self.engine.client.is_reusable()
    }

    /// Ends the session: QUIT, its reply, close (RFC 5321 4.1.1.10).
    pub fn quit(mut self) -> Result<(), Error> {
        self.until_ready()?;
        if self.engine.client.quit().is_err() {
            return Err(self.closed_error());
        }
        loop {
            self.engine.pump();
            self.flush()?;
            if self.engine.client.is_closed() {
                self.conn.shutdown();
                return Ok(());
            }
            self.read_once()?;
        }
    }

    fn query(&mut self) -> Result<OwnedReply, Error> {
        self.engine.query_reply = None;
        loop {
            self.engine.pump();
            self.flush()?;
            if self.engine.ready {
                if let Some(r) = self.engine.query_reply.take() {
                    return Ok(r);
                }
            }
            if self.engine.client.is_closed() {
                self.conn.shutdown();
                return Err(self.closed_error());
            }
            self.read_once()?;
        }
    }

    fn until_ready(&mut self) -> Result<(), Error> {
        loop {
            self.engine.pump();
            self.flush()?;
            if self.engine.ready {
                return Ok(());
            }
            if self.engine.client.is_closed() {
                self.conn.shutdown();
                return Err(self.closed_error());
            }
            if std::mem::take(&mut self.engine.start_tls) {
                self.handshake()?;
                tracing::info!(target: "smtp_sansio_tokio::client", "STARTTLS done");
                self.engine.client.tls_established();
                continue;
            }
            self.read_once()?;
        }
    }

    /// The TLS handshake on the plain stream (implicit TLS, or after the
    /// 220 to STARTTLS, RFC 3207 4), bounded by the handshake timeout.
    fn handshake(&mut self) -> Result<(), Error> {
        let Conn::Plain(mut tcp) = std::mem::replace(&mut self.conn, Conn::Gone) else {
            return Err(Error::Tls("TLS on a TLS stream".into()));
        };
        let mut conn = rustls::ClientConnection::new(self.tls.clone(), self.server_name.clone())
            .map_err(|e| Error::Tls(e.to_string()))?;
        tcp.set_read_timeout(Some(self.options.handshake_timeout))?;
        while conn.is_handshaking() {
            match conn.complete_io(&mut tcp) {
                Ok(_) => {}
                Err(e) if timed_out(&e) => return Err(Error::Timeout),
                Err(e) => return Err(Error::Tls(e.to_string())),
            }
        }
        tracing::info!(target: "smtp_sansio_tokio::client", "TLS established");
        self.conn = Conn::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)));
        Ok(())
    }

    fn closed_error(&mut self) -> Error {
        match self.engine.error.take() {
            Some(e) => Error::Protocol(e),
            None => Error::Closed,
        }
    }

    fn flush(&mut self) -> Result<(), Error> {
        if self.engine.out.is_empty() {
            return Ok(());
        }
        let r = self.conn.write_all(&self.engine.out);
        self.engine.out.clear();
        match r {
            Ok(()) => Ok(()),
            Err(e) if timed_out(&e) => Err(Error::Timeout),
            Err(e) => Err(Error::Io(e)),
        }
    }

    /// One read, bounded by the core's timeout for the reply awaited.
    fn read_once(&mut self) -> Result<(), Error> {
        let limit: Duration = self.engine.client.timeout().unwrap_or(COMMAND_TIMEOUT);
        if let Some(t) = self.conn.tcp() {
            t.set_read_timeout(Some(limit))?;
        }
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.conn.read(&mut buf);
        match r {
            Ok(0) => self.engine.client.receive_eof(),
            Ok(n) => self.engine.client.receive(buf.get(..n).unwrap_or(&[])),
            Err(e) if timed_out(&e) => self.engine.client.handle_timeout(),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => self.engine.client.receive_eof(),
            Err(e) => {
                self.buf = buf;
                return Err(Error::Io(e));
            }
        }
        self.buf = buf;
        Ok(())
    }
}
