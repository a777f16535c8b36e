//! The async server: listeners per port mode (RFC 5321 relay, RFC 6409
//! submission with RFC 3207 STARTTLS, RFC 8314 implicit TLS, RFC 2033 LMTP
//! over TCP or a Unix socket) driving one [`smtp_sansio::Server`] machine
//! per connection and asking a [`Handler`] for every decision.
//!
//! ```no_run
//! use smtp_sansio::PortMode;
//! use smtp_sansio_tokio::server::{Connection, Decision, Handler, Server, Session};
//!
//! struct Accept;
//! struct Conn;
//! impl Handler for Accept {
//!     type Session = Conn;
//!     async fn connect(&self, _: &Connection) -> Result<Conn, smtp_sansio::OwnedReply> {
//!         Ok(Conn)
//!     }
//! }
//! impl Session for Conn {} // every default accepts (AUTH refuses)
//!
//! # async fn run() -> std::io::Result<()> {
//! let mut server = Server::new(Accept).hostname("mx.example.org");
//! server.listen(PortMode::Relay, "127.0.0.1:2525").await?;
//! let stop = server.shutdown_handle(); // stop.shutdown() from elsewhere
//! server.serve().await;
//! # Ok(()) }
//! ```
//!
//! # Per-session state
//!
//! [`Handler::connect`] makes a [`Session`] value per connection; its
//! methods take `&mut self`, so a session keeps whatever it needs (the
//! user it authenticated, a message writer) without locks. The handler
//! itself is shared by every session (`&self`).
//!
//! # Timeouts (RFC 5321 4.5.3.2)
//!
//! Each deadline starts when the server starts waiting (for a command, for
//! a data block) and only progress moves it: a reply that went out, or
//! [`DATA_BLOCK_MIN`] content octets. Partial input never does, so a
//! command or content trickled an octet at a time times out. When a
//! deadline passes while the core has a timeout running
//! ([`smtp_sansio::Server::timeout`]), the driver calls
//! [`smtp_sansio::Server::handle_timeout`] (`421 4.4.2` and close).
//!
//! # Tracing
//!
//! Events (target `smtp_sansio_tokio::server`): `connection` (info),
//! `tls established` (debug), `auth ok` / `auth failed` with `user` (never
//! the password), `refused VERB: reply` for every 4xx/5xx reply with the
//! command it answers, `delivered` / `delivery failed`, `timeout`,
//! `refused: over max-connections`, `session error`; with the PROXY
//! protocol, `proxy header` (info, with the original `peer` and the proxy
//! as `via`) and `proxy header refused` (warn).
//!
//! # PROXY protocol
//!
//! Behind a load balancer such as HAProxy (`send-proxy`, `send-proxy-v2`),
//! [`Server::proxy_protocol`] makes every listener bound after it expect a
//! PROXY protocol header (version 1 or 2) before anything else. The header
//! is read before [`Handler::connect`], which sees the original client as
//! [`Connection::peer`] (the proxy is in [`Connection::proxy`]); a
//! malformed or missing header, or none within [`Timeouts::command`],
//! closes the connection without a greeting (PROXY protocol section 2.1).
//! On an implicit-TLS listener the header comes before the TLS handshake
//! (section 2: the proxy writes it in front of the client's bytes).

mod handler;
mod names;
mod session;
pub mod store;
mod trace;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use smtp_sansio::{PortMode, ProxyConfig, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub(crate) use handler::reply as handler_reply;
pub(crate) use handler::user_and_secret;
pub use handler::{AuthStep, Connection, Decision, Handler, Message, Peer, Proxied, Session};
pub use names::{escape, mode_name};
pub(crate) use session::{
    apply_proxy, canonical_forward, canonical_reverse, into_reply as decision_reply,
};

/// Content octets that count as one data block: the data-block timeout
/// (RFC 5321 4.5.3.2.5) restarts only after this many octets arrived since
/// it last started, so content trickled an octet at a time (slowloris)
/// cannot hold a session open.
pub const DATA_BLOCK_MIN: usize = 1000;

/// Default of [`Server::max_connections`]: sessions at once over every
/// listener (well inside the usual limit of 1,024 open files).
pub const DEFAULT_MAX_CONNECTIONS: usize = 500;

/// The server timeouts of RFC 5321 4.5.3.2 as the driver applies them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Waiting for the next command (RFC 5321 4.5.3.2.7: 5 minutes).
    pub command: Duration,
    /// Waiting for the next data block (RFC 5321 4.5.3.2.5: 3 minutes).
    pub data_block: Duration,
    /// Deciding on a complete message (RFC 5321 4.5.3.2.6: the client
    /// waits 10 minutes); a handler slower than this is answered `451`.
    pub data_end: Duration,
    /// A TLS handshake (the RFCs give none; 30 s).
    pub handshake: Duration,
    /// How long sessions may run on after [`Shutdown::shutdown`] before
    /// they are dropped (5 s).
    pub shutdown_grace: Duration,
}

impl Timeouts {
    /// The RFC 5321 4.5.3.2 values, 30 s per handshake, 5 s of grace.
    pub const RFC: Timeouts = Timeouts {
        command: Duration::from_secs(5 * 60),
        data_block: Duration::from_secs(3 * 60),
        data_end: Duration::from_secs(10 * 60),
        handshake: Duration::from_secs(30),
        shutdown_grace: Duration::from_secs(5),
    };

    /// Every protocol timeout set to `d` (the grace stays 5 s).
    pub fn all(d: Duration) -> Timeouts {
        Timeouts {
            command: d,
            data_block: d,
            data_end: d,
            handshake: d,
            shutdown_grace: Timeouts::RFC.shutdown_grace,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::RFC
    }
}

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3) for a
/// certificate chain and key (RFC 8314 / RFC 3207 TLS).
pub fn tls_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(cfg))
}

/// A rustls server configuration from a PEM certificate chain and a PEM
/// private key (see [`tls_config`]).
pub fn tls_config_from_pem(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> io::Result<Arc<rustls::ServerConfig>> {
    use rustls_pki_types::pem::PemObject;
    let err = |p: &std::path::Path, e: &dyn std::fmt::Display| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{}: {e}", p.display()))
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| err(cert, &e))?;
    if certs.is_empty() {
        return Err(err(cert, &"no certificate"));
    }
    let k = PrivateKeyDer::from_pem_file(key).map_err(|e| err(key, &e))?;
    tls_config(certs, k).map_err(|e| err(cert, &e))
}

/// How a session talks to the world: what every session of a server shares.
struct Shared<H> {
    handler: H,
    tls: Option<TlsAcceptor>,
    timeouts: Timeouts,
    max_connections: usize,
    trace: Option<PathBuf>,
    live: AtomicUsize,
}

type Configure = Box<dyn Fn(&mut ServerConfig) + Send + Sync>;

enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
}

/// An SMTP/LMTP server: a [`Handler`], settings, and bound listeners.
/// Build it with the methods below, [`Server::listen`] on each port, then
/// [`Server::serve`].
pub struct Server<H: Handler> {
    handler: H,
    hostname: String,
    tls: Option<Arc<rustls::ServerConfig>>,
    timeouts: Timeouts,
    max_connections: usize,
    message_size: Option<u64>,
    configure: Option<Configure>,
    proxy: Option<ProxyConfig>,
    trace: Option<PathBuf>,
    listeners: Vec<(PortMode, Listener, Arc<ServerConfig>)>,
    stop: watch::Sender<u8>,
}

/// Asks a running [`Server`] to stop (RFC 5321 3.8): no new connections;
/// each session gets `421 4.3.2` at its next command boundary; sessions
/// still running after [`Timeouts::shutdown_grace`] are dropped.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Sender<u8>);

impl Shutdown {
    /// Starts the shutdown ([`Server::serve`] returns once it is over).
    pub fn shutdown(&self) {
        self.0.send_if_modified(|s| {
            let changed = *s == RUN;
            *s = (*s).max(STOPPING);
            changed
        });
    }
}

const RUN: u8 = 0;
const STOPPING: u8 = 1;
const ABORT: u8 = 2;

impl<H: Handler> Server<H> {
    /// A server with `handler`, hostname `localhost`, no TLS, the RFC
    /// timeouts and [`DEFAULT_MAX_CONNECTIONS`].
    pub fn new(handler: H) -> Server<H> {
        Server {
            handler,
            hostname: "localhost".into(),
            tls: None,
            timeouts: Timeouts::RFC,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            message_size: None,
            configure: None,
            proxy: None,
            trace: None,
            listeners: Vec::new(),
            stop: watch::channel(RUN).0,
        }
    }

    /// The name in the greeting and the EHLO reply (RFC 5321 4.2).
    pub fn hostname(mut self, name: impl Into<String>) -> Self {
        self.hostname = name.into();
        self
    }

    /// TLS for STARTTLS (RFC 3207) and implicit TLS (RFC 8314). Without
    /// it, STARTTLS is not offered and implicit-TLS listeners are refused.
    pub fn tls(mut self, cfg: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(cfg);
        self
    }

    /// The timeouts (default [`Timeouts::RFC`]).
    pub fn timeouts(mut self, t: Timeouts) -> Self {
        self.timeouts = t;
        self
    }

    /// Sessions at once over every listener; a connection beyond gets
    /// `421 4.7.0` and is closed (RFC 5321 3.8, RFC 3463).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// The message size limit (RFC 1870; default that of
    /// [`smtp_sansio::Limits::RFC`]).
    pub fn message_size(mut self, octets: u64) -> Self {
        self.message_size = Some(octets);
        self
    }

    /// Changes the core configuration of every listener made after this
    /// call (after the driver's own settings: mode defaults, hostname,
    /// STARTTLS only with TLS, message size), e.g. the line-ending policy.
    pub fn configure(mut self, f: impl Fn(&mut ServerConfig) + Send + Sync + 'static) -> Self {
        self.configure = Some(Box::new(f));
        self
    }

    /// Every listener bound after this call expects a PROXY protocol
    /// header (HAProxy PROXY protocol, version 1 or 2, section 2) before
    /// anything else, within `cfg`'s limits ([`ProxyConfig::DEFAULT`]: a
    /// version 2 header of up to 65535 octets): set it only on listeners
    /// that a proxy alone can reach, since the header decides the client
    /// address the handler sees ([`Connection`]). A connection without a
    /// valid header is closed without a greeting. Off by default.
    pub fn proxy_protocol(mut self, cfg: ProxyConfig) -> Self {
        self.proxy = Some(cfg);
        self
    }

    /// Writes each session as a transcript (the project's transcript
    /// format, `side: server`) into `dir`, streamed as the session runs.
    pub fn trace(mut self, dir: impl Into<PathBuf>) -> Self {
        self.trace = Some(dir.into());
        self
    }

    /// A handle that stops [`Server::serve`].
    pub fn shutdown_handle(&self) -> Shutdown {
        Shutdown(self.stop.clone())
    }

    fn core_config(&self, mode: PortMode) -> io::Result<Arc<ServerConfig>> {
        if mode.implicit_tls() && self.tls.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an implicit-TLS listener needs Server::tls",
            ));
        }
        let mut cfg = ServerConfig::new(mode, self.hostname.clone());
        // STARTTLS is offered only by a driver that can do TLS.
        cfg.tls_available = self.tls.is_some();
        if let Some(n) = self.message_size {
            cfg.limits.message_size = n;
        }
        cfg.proxy = self.proxy;
        if let Some(f) = &self.configure {
            f(&mut cfg);
        }
        Ok(Arc::new(cfg))
    }

    /// Binds a TCP listener in `mode`; returns its address (port 0 picks
    /// one).
    pub async fn listen(
        &mut self,
        mode: PortMode,
        addr: impl tokio::net::ToSocketAddrs,
    ) -> io::Result<SocketAddr> {
        let cfg = self.core_config(mode)?;
        let l = TcpListener::bind(addr).await?;
        let local = l.local_addr()?;
        self.listeners.push((mode, Listener::Tcp(l), cfg));
        Ok(local)
    }

    /// Adds a bound TCP listener in `mode`.
    pub fn add_listener(&mut self, mode: PortMode, l: TcpListener) -> io::Result<()> {
        let cfg = self.core_config(mode)?;
        self.listeners.push((mode, Listener::Tcp(l), cfg));
        Ok(())
    }

    /// Binds an LMTP listener on a Unix socket (RFC 2033 4.1).
    #[cfg(unix)]
    pub fn listen_unix(&mut self, path: impl AsRef<std::path::Path>) -> io::Result<()> {
        let cfg = self.core_config(PortMode::Lmtp)?;
        let l = tokio::net::UnixListener::bind(path)?;
        self.listeners
            .push((PortMode::Lmtp, Listener::Unix(l), cfg));
        Ok(())
    }

    /// Serves every listener until [`Shutdown::shutdown`], then waits for
    /// the sessions (at most [`Timeouts::shutdown_grace`]).
    pub async fn serve(self) {
        let shared = Arc::new(Shared {
            handler: self.handler,
            tls: self.tls.map(TlsAcceptor::from),
            timeouts: self.timeouts,
            max_connections: self.max_connections,
            trace: self.trace,
            live: AtomicUsize::new(0),
        });
        let mut loops = tokio::task::JoinSet::new();
        for (mode, l, cfg) in self.listeners {
            let rx = self.stop.subscribe();
            loops.spawn(accept_loop(l, mode, cfg, shared.clone(), rx));
        }
        let mut rx = self.stop.subscribe();
        let _ = rx.wait_for(|s| *s >= STOPPING).await;
        while loops.join_next().await.is_some() {}
        let deadline = tokio::time::Instant::now() + shared.timeouts.shutdown_grace;
        while shared.live.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = self.stop.send(ABORT);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        while shared.live.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A session's place under `max_connections`; given back on drop.
struct Slot<H>(Arc<Shared<H>>);

impl<H> Slot<H> {
    fn take(shared: &Arc<Shared<H>>) -> Option<Slot<H>> {
        let max = shared.max_connections;
        shared
            .live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(shared.clone()))
    }
}

impl<H> Drop for Slot<H> {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn accept_loop<H: Handler>(
    l: Listener,
    mode: PortMode,
    cfg: Arc<ServerConfig>,
    shared: Arc<Shared<H>>,
    mut stop: watch::Receiver<u8>,
) {
    let local = match &l {
        Listener::Tcp(t) => t.local_addr().ok(),
        #[cfg(unix)]
        Listener::Unix(_) => None,
    };
    // Implicit TLS: the driver reads the PROXY header in front of the
    // handshake, the machine behind TLS expects none.
    let (cfg, pre_tls) = match cfg.proxy {
        Some(p) if mode.implicit_tls() => {
            let mut inner = (*cfg).clone();
            inner.proxy = None;
            (Arc::new(inner), Some(p))
        }
        _ => (cfg, None),
    };
    loop {
        let accepted = tokio::select! {
            r = accept(&l) => r,
            _ = stop.wait_for(|s| *s >= STOPPING) => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let conn = Connection {
                    mode,
                    peer,
                    local,
                    proxy: None,
                };
                let (shared, cfg, rx) = (shared.clone(), cfg.clone(), stop.clone());
                match stream {
                    Stream::Tcp(s) => {
                        let _ = s.set_nodelay(true);
                        tokio::spawn(start(s, conn, cfg, pre_tls, shared, rx));
                    }
                    #[cfg(unix)]
                    Stream::Unix(s) => {
                        tokio::spawn(start(s, conn, cfg, pre_tls, shared, rx));
                    }
                }
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(mode = mode_name(mode), "accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

enum Stream {
    Tcp(tokio::net::TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

async fn accept(l: &Listener) -> io::Result<(Stream, Peer)> {
    match l {
        Listener::Tcp(t) => t
            .accept()
            .await
            .map(|(s, a)| (Stream::Tcp(s), Peer::Tcp(a))),
        #[cfg(unix)]
        Listener::Unix(u) => u.accept().await.map(|(s, _)| (Stream::Unix(s), Peer::Unix)),
    }
}

/// One connection: the slot, the implicit-TLS handshake, the session.
async fn start<S, H>(
    io: S,
    conn: Connection,
    cfg: Arc<ServerConfig>,
    pre_tls: Option<ProxyConfig>,
    shared: Arc<Shared<H>>,
    stop: watch::Receiver<u8>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    let (mode, peer) = (mode_name(conn.mode), conn.peer.to_string());
    let slot = Slot::take(&shared);
    let mut conn = conn;
    let mut io = session::Prefixed::new(io);
    if let Some(p) = pre_tls {
        // The header precedes the TLS handshake (PROXY protocol 2): read
        // here; the machine behind TLS expects none.
        match session::proxy_before_tls(&mut io, p, shared.timeouts.command).await {
            Ok(header) => session::apply_proxy(&mut conn, header),
            Err(e) => {
                tracing::warn!(mode, peer, "proxy header refused: {e}");
                return;
            }
        }
    }
    let peer = conn.peer.to_string();
    let mut stream = if conn.mode.implicit_tls() {
        let Some(tls) = &shared.tls else { return };
        match tokio::time::timeout(shared.timeouts.handshake, tls.accept(io)).await {
            Ok(Ok(s)) => session::Conn::Tls(Box::new(s)),
            Ok(Err(e)) => {
                tracing::info!(mode, peer, "tls handshake failed: {e}");
                return;
            }
            Err(_) => {
                tracing::info!(mode, peer, "tls handshake timed out");
                return;
            }
        }
    } else {
        session::Conn::Plain(io)
    };
    let Some(slot) = slot else {
        tracing::warn!(
            mode,
            peer,
            "refused: over max-connections {}",
            shared.max_connections
        );
        let _ = tokio::time::timeout(shared.timeouts.handshake, async {
            let _ = stream
                .write_all(b"421 4.7.0 Too many connections, try again later\r\n")
                .await;
            stream.shutdown().await;
        })
        .await;
        return;
    };
    tracing::info!(mode, peer, "connection");
    if let Err(e) = session::run(stream, conn, cfg, &shared, stop).await {
        tracing::info!(mode, peer, "session error: {e}");
    }
    drop(slot);
}
