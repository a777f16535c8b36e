//! The blocking server on `std::net`: one thread per connection, bounded by
//! [`Server::max_connections`]; the same port modes (RFC 5321 relay,
//! RFC 6409 submission with RFC 3207 STARTTLS, RFC 8314 implicit TLS,
//! RFC 2033 LMTP over TCP), the same decisions and defaults as the async
//! [`crate::server`], in a synchronous [`Handler`]/[`Session`] pair.
//! [`Decision`], [`AuthStep`], [`Connection`] and [`Message`] are the async
//! server's types.
//!
//! Timeouts (RFC 5321 4.5.3.2) are socket read timeouts set to what is left
//! of the deadline, so partial input does not push it back; a session
//! checks [`Shutdown`] between reads (every 100 ms at most).
//! [`Timeouts::data_end`] is not enforced here: a blocking handler's
//! [`Session::message`] cannot be interrupted, so keep it within the
//! client's 10 minutes (RFC 5321 4.5.3.2.6).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smtp_sansio::{
    AbortReason, AuthRequest, ContentKind, Domain, ForwardPath, HelloKind, MailParams, OwnedReply,
    PortMode, ProxyConfig, RcptParams, ReversePath, Server as Machine, ServerConfig, ServerEvent,
    Violation,
};
use tokio_rustls::rustls;

pub use crate::server::{AuthStep, Connection, Decision, Message, Peer, Timeouts};
use crate::server::{DATA_BLOCK_MIN, DEFAULT_MAX_CONNECTIONS, escape, mode_name, user_and_secret};

/// Makes one [`Session`] per connection (RFC 5321 3.1 greeting decision:
/// `Err` with a 554 refuses the session, a 421 closes at once).
pub trait Handler: Send + Sync + 'static {
    /// The per-connection state.
    type Session: Session;
    /// A connection opened.
    fn connect(&self, conn: &Connection) -> Result<Self::Session, OwnedReply>;
}

/// One connection's decisions, as [`crate::server::Session`] but blocking
/// (RFC 5321 4.1, RFC 4954, RFC 2033). Every default accepts, except AUTH
/// (`535 5.7.8`) and application-run SASL steps (`504 5.5.4`).
#[allow(unused_variables)]
pub trait Session: Send + 'static {
    /// EHLO, HELO or LHLO (RFC 5321 4.1.1.1).
    fn hello(&mut self, kind: HelloKind, domain: &Domain<'_>) -> Decision {
        Decision::Accept
    }
    /// A PLAIN/LOGIN (or bearer token) check (RFC 4954 4); refuses by default.
    fn auth(&mut self, user: &str, password: &str) -> Decision {
        Decision::reply(535, (5, 7, 8), "Authentication credentials invalid")
    }
    /// A step of an application-run mechanism (RFC 4954 4); refuses by default.
    fn auth_step(&mut self, mechanism: &str, response: Option<&[u8]>) -> AuthStep {
        AuthStep::Done(Decision::reply(
            504,
            (5, 5, 4),
            "Authentication mechanism not supported",
        ))
    }
    /// MAIL FROM (RFC 5321 4.1.1.2).
    fn mail(&mut self, from: &ReversePath<'_>, params: &MailParams<'_>) -> Decision {
        Decision::Accept
    }
    /// RCPT TO (RFC 5321 4.1.1.3).
    fn rcpt(&mut self, to: &ForwardPath<'_>, params: &RcptParams<'_>) -> Decision {
        Decision::Accept
    }
    /// Content begins (RFC 5321 4.1.1.4, RFC 3030 2).
    fn data_start(&mut self, kind: ContentKind) {}
    /// A piece of content, in order (RFC 5321 4.5.2 transparency undone).
    fn data(&mut self, piece: &[u8]) {}
    /// The whole message arrived (RFC 5321 6.1: accept once stored).
    fn message(&mut self, msg: &Message<'_>) -> Decision {
        Decision::Accept
    }
    /// LMTP: one decision per accepted recipient (RFC 2033 4.2).
    fn lmtp_message(&mut self, msg: &Message<'_>) -> Vec<Decision> {
        let d = self.message(msg);
        vec![d; msg.to.len()]
    }
    /// The message in progress was dropped (the core has replied).
    fn aborted(&mut self, reason: AbortReason) {}
    /// The transaction was cleared (RFC 5321 4.1.1.5).
    fn reset(&mut self) {}
    /// TLS started (RFC 3207 4.2, RFC 8314).
    fn tls_started(&mut self) {}
    /// The core reported a protocol violation.
    fn violation(&mut self, violation: Violation) {}
    /// The connection is over.
    fn closed(&mut self) {}
}

/// Stops a blocking [`Server::serve`]: no new connections, `421 4.3.2`
/// to each session at its next command boundary (RFC 5321 3.8).
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    stop: Arc<AtomicBool>,
    wake: Arc<Mutex<Vec<SocketAddr>>>,
}

impl Shutdown {
    /// Starts the shutdown.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake each listener blocked in accept.
        for a in self.wake.lock().map(|v| v.clone()).unwrap_or_default() {
            let _ = TcpStream::connect_timeout(&a, Duration::from_secs(1));
        }
    }
}

/// A blocking SMTP/LMTP server (see the [module docs](self)).
pub struct Server<H: Handler> {
    handler: Arc<H>,
    hostname: String,
    tls: Option<Arc<rustls::ServerConfig>>,
    timeouts: Timeouts,
    max_connections: usize,
    message_size: Option<u64>,
    proxy: Option<ProxyConfig>,
    listeners: Vec<(PortMode, TcpListener, Arc<ServerConfig>)>,
    shutdown: Shutdown,
}

struct Shared<H> {
    handler: Arc<H>,
    tls: Option<Arc<rustls::ServerConfig>>,
    timeouts: Timeouts,
    max: usize,
    live: AtomicUsize,
    stop: Arc<AtomicBool>,
}

impl<H: Handler> Server<H> {
    /// A server with `handler`, hostname `localhost`, no TLS, the RFC
    /// timeouts and [`DEFAULT_MAX_CONNECTIONS`].
    pub fn new(handler: H) -> Server<H> {
        Server {
            handler: Arc::new(handler),
            hostname: "localhost".into(),
            tls: None,
            timeouts: Timeouts::RFC,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            message_size: None,
            proxy: None,
            listeners: Vec::new(),
            shutdown: Shutdown::default(),
        }
    }

    /// The name in the greeting and the EHLO reply (RFC 5321 4.2).
    pub fn hostname(mut self, name: impl Into<String>) -> Self {
        self.hostname = name.into();
        self
    }

    /// TLS for STARTTLS (RFC 3207) and implicit TLS (RFC 8314); without
    /// it STARTTLS is not offered and implicit-TLS listeners are refused.
    pub fn tls(mut self, cfg: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(cfg);
        self
    }

    /// The timeouts (default [`Timeouts::RFC`]).
    pub fn timeouts(mut self, t: Timeouts) -> Self {
        self.timeouts = t;
        self
    }

    /// Connection threads at once; a connection beyond gets `421 4.7.0`.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// The message size limit (RFC 1870).
    pub fn message_size(mut self, octets: u64) -> Self {
        self.message_size = Some(octets);
        self
    }

    /// Every listener bound after this call expects a PROXY protocol
    /// header (version 1 or 2, HAProxy PROXY protocol section 2) before
    /// anything else, as the async
    /// [`Server::proxy_protocol`](crate::server::Server::proxy_protocol):
    /// [`Connection::peer`] is then the original client. Not on
    /// implicit-TLS listeners here ([`Server::listen`] refuses them; the
    /// async server reads the header before the handshake).
    pub fn proxy_protocol(mut self, cfg: ProxyConfig) -> Self {
        self.proxy = Some(cfg);
        self
    }

    /// A handle that stops [`Server::serve`].
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Binds a TCP listener in `mode`; returns its address.
    pub fn listen(
        &mut self,
        mode: PortMode,
        addr: impl std::net::ToSocketAddrs,
    ) -> io::Result<SocketAddr> {
        if mode.implicit_tls() && self.tls.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an implicit-TLS listener needs Server::tls",
            ));
        }
        if mode.implicit_tls() && self.proxy.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the blocking server reads no PROXY header before implicit TLS",
            ));
        }
        let mut cfg = ServerConfig::new(mode, self.hostname.clone());
        cfg.tls_available = self.tls.is_some();
        if let Some(n) = self.message_size {
            cfg.limits.message_size = n;
        }
        cfg.proxy = self.proxy;
        let l = TcpListener::bind(addr)?;
        let local = l.local_addr()?;
        if let Ok(mut w) = self.shutdown.wake.lock() {
            w.push(local);
        }
        self.listeners.push((mode, l, Arc::new(cfg)));
        Ok(local)
    }

    /// Serves until [`Shutdown::shutdown`], then waits for the sessions
    /// (at most [`Timeouts::shutdown_grace`]).
    pub fn serve(self) {
        let shared = Arc::new(Shared {
            handler: self.handler,
            tls: self.tls,
            timeouts: self.timeouts,
            max: self.max_connections,
            live: AtomicUsize::new(0),
            stop: self.shutdown.stop.clone(),
        });
        let loops: Vec<_> = self
            .listeners
            .into_iter()
            .map(|(mode, l, cfg)| {
                let shared = shared.clone();
                std::thread::spawn(move || accept_loop(l, mode, cfg, shared))
            })
            .collect();
        for l in loops {
            let _ = l.join();
        }
        let deadline = Instant::now() + shared.timeouts.shutdown_grace;
        while shared.live.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn accept_loop<H: Handler>(
    l: TcpListener,
    mode: PortMode,
    cfg: Arc<ServerConfig>,
    shared: Arc<Shared<H>>,
) {
    let local = l.local_addr().ok();
    for s in l.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(s) = s else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let Ok(peer) = s.peer_addr() else { continue };
        let taken = shared
            .live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < shared.max).then_some(n + 1)
            })
            .is_ok();
        let (shared, cfg) = (shared.clone(), cfg.clone());
        let conn = Connection {
            mode,
            peer: Peer::Tcp(peer),
            local,
            proxy: None,
        };
        let spawned = std::thread::Builder::new().spawn(move || {
            let _ = s.set_nodelay(true);
            let mut conn = conn;
            let r = start(s, &mut conn, cfg, &shared, taken);
            if taken {
                shared.live.fetch_sub(1, Ordering::SeqCst);
            }
            if let Err(e) = r {
                tracing::info!(mode = mode_name(conn.mode), peer = %conn.peer, "session error: {e}");
            }
        });
        if spawned.is_err() {
            tracing::warn!(mode = mode_name(mode), "cannot start a connection thread");
        }
    }
}

/// A session's byte stream: plaintext until STARTTLS, or TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
        }
    }
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.write_all(b),
            Conn::Tls(s) => s.write_all(b).and_then(|()| s.flush()),
        }
    }
    fn close(&mut self) {
        if let Conn::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.conn.complete_io(&mut s.sock);
        }
    }
}

/// Runs a TLS handshake on `tcp`, bounded by `limit`.
fn handshake(
    tls: &Arc<rustls::ServerConfig>,
    mut tcp: TcpStream,
    limit: Duration,
) -> io::Result<Conn> {
    let mut c = rustls::ServerConnection::new(tls.clone()).map_err(io::Error::other)?;
    tcp.set_read_timeout(Some(limit))?;
    tcp.set_write_timeout(Some(limit))?;
    let deadline = Instant::now() + limit;
    while c.is_handshaking() {
        if Instant::now() >= deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake"));
        }
        c.complete_io(&mut tcp)?;
    }
    Ok(Conn::Tls(Box::new(rustls::StreamOwned::new(c, tcp))))
}

/// Feeds the machine until its PROXY header is complete (then applies it
/// to `info`) or it closes (a malformed or missing header, EOF, a timeout
/// after `wait`: no greeting, no output, PROXY protocol 2.1). `Ok(false)`:
/// closed.
fn read_proxy(
    conn: &mut Conn,
    m: &mut Machine,
    info: &mut Connection,
    wait: Duration,
) -> io::Result<bool> {
    let (mode, via) = (mode_name(info.mode), info.peer.to_string());
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 512];
    loop {
        while let Some(ev) = m.next_event() {
            match ev {
                ServerEvent::Proxy(origin) => {
                    crate::server::apply_proxy(info, origin);
                    return Ok(true);
                }
                ServerEvent::Violation(v) => {
                    tracing::warn!(mode, peer = via, "proxy header refused: {v:?}");
                }
                _ => {}
            }
        }
        if m.is_closed() {
            return Ok(false);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            m.handle_timeout();
            continue;
        }
        conn.tcp().set_read_timeout(Some(left))?;
        match conn.read(&mut buf) {
            Ok(0) => m.receive_eof(),
            Ok(n) => m.receive(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
}

fn start<H: Handler>(
    s: TcpStream,
    info: &mut Connection,
    cfg: Arc<ServerConfig>,
    shared: &Shared<H>,
    slot: bool,
) -> io::Result<()> {
    let t = shared.timeouts;
    let mut conn = match (&shared.tls, info.mode.implicit_tls()) {
        (Some(tls), true) => handshake(tls, s, t.handshake)?,
        _ => Conn::Plain(s),
    };
    if !slot {
        tracing::warn!(mode = mode_name(info.mode), peer = %info.peer, "refused: over max-connections {}", shared.max);
        conn.tcp().set_write_timeout(Some(t.handshake))?;
        conn.write_all(b"421 4.7.0 Too many connections, try again later\r\n")?;
        conn.close();
        return Ok(());
    }
    tracing::info!(mode = mode_name(info.mode), peer = %info.peer, "connection");
    let mut m = Machine::new(cfg);
    if m.config().proxy.is_some() && !read_proxy(&mut conn, &mut m, info, t.command)? {
        return Ok(());
    }
    let mut sess = match shared.handler.connect(info) {
        Ok(s) => Some(s),
        Err(r) => {
            let _ = m.next_event();
            let close = r.code.get() == 421;
            let _ = m.reject(r);
            if close {
                let mut out = Vec::new();
                m.transmit(&mut out);
                conn.write_all(&out)?;
                conn.close();
                return Ok(());
            }
            None
        }
    };
    let r = drive(&mut conn, info, &mut m, sess.as_mut(), shared);
    if let Some(s) = sess.as_mut() {
        s.closed();
    }
    conn.close();
    r
}

fn decide(m: &mut Machine, d: Decision) -> bool {
    match d {
        Decision::Accept => m.accept().is_ok(),
        Decision::Reply(r) => {
            let ok = r.code.is_positive_completion();
            if m.respond(r).is_err() {
                let _ = m.respond(crate::server::handler_reply(
                    451,
                    (4, 3, 0),
                    "Local error in processing",
                ));
                return false;
            }
            ok
        }
    }
}

fn drive<H: Handler>(
    conn: &mut Conn,
    info: &Connection,
    m: &mut Machine,
    mut sess: Option<&mut H::Session>,
    shared: &Shared<H>,
) -> io::Result<()> {
    let t = shared.timeouts;
    let (mode, peer) = (mode_name(info.mode), info.peer.to_string());
    let mut rbuf = vec![0u8; 16 * 1024];
    let mut out = Vec::new();
    let (mut from, mut to): (Vec<u8>, Vec<Vec<u8>>) = (Vec::new(), Vec::new());
    let mut auth_user: Option<String> = None;
    let mut in_message = false;
    if m.is_tls() {
        if let Some(s) = sess.as_deref_mut() {
            s.tls_started();
        }
    }
    let mut deadline = Instant::now() + t.command;
    let mut block = 0usize;
    conn.tcp().set_write_timeout(Some(t.command))?;
    loop {
        let mut start_tls = false;
        while let Some(ev) = m.next_event() {
            let Some(s) = sess.as_deref_mut() else {
                if ev.needs_decision() {
                    let _ = m.accept();
                }
                continue;
            };
            match ev {
                ServerEvent::Hello { kind, domain } => {
                    let d = s.hello(kind, &domain);
                    decide(m, d);
                }
                ServerEvent::Mail { from: f, params } => {
                    let c = crate::server::canonical_reverse(&f);
                    let d = s.mail(&f, &params);
                    if decide(m, d) {
                        (from, to) = (c, Vec::new());
                    }
                }
                ServerEvent::Rcpt { to: f, params } => {
                    let c = crate::server::canonical_forward(&f);
                    let d = s.rcpt(&f, &params);
                    if decide(m, d) {
                        to.push(c);
                    }
                }
                ServerEvent::MessageStart { kind } => {
                    in_message = true;
                    s.data_start(kind);
                }
                ServerEvent::MessageData(p) => {
                    block += p.len();
                    s.data(p);
                }
                ServerEvent::MessageComplete { size, recipients } => {
                    in_message = false;
                    let helo = m.client_name().unwrap_or_default().to_vec();
                    let msg = Message {
                        connection: info,
                        helo: &helo,
                        tls: m.is_tls(),
                        auth: auth_user.as_deref(),
                        from: &from,
                        to: &to,
                        size,
                    };
                    tracing::info!(mode, peer, from = %escape(&from), rcpts = to.len(), size, "delivered");
                    if info.mode == PortMode::Lmtp {
                        let mut ds = s.lmtp_message(&msg);
                        ds.resize(
                            recipients,
                            Decision::reply(451, (4, 3, 0), "Local error in processing"),
                        );
                        let rs = ds.into_iter().map(crate::server::decision_reply).collect();
                        let _ = m.respond_each(rs);
                    } else {
                        let d = s.message(&msg);
                        decide(m, d);
                    }
                    to.clear();
                }
                ServerEvent::MessageAborted(why) => {
                    in_message = false;
                    s.aborted(why);
                }
                ServerEvent::Reset => {
                    (from, to) = (Vec::new(), Vec::new());
                    s.reset();
                }
                ServerEvent::Auth(AuthRequest::Credentials { credentials, .. }) => {
                    let (user, secret) = user_and_secret(&credentials);
                    let d = match secret {
                        Some(p) => s.auth(user, p),
                        None => {
                            Decision::reply(535, (5, 7, 8), "Authentication credentials invalid")
                        }
                    };
                    if decide(m, d) {
                        tracing::info!(mode, peer, user = %escape(user.as_bytes()), "auth ok");
                        auth_user = Some(user.to_string());
                    } else {
                        tracing::warn!(mode, peer, "auth failed user={}", escape(user.as_bytes()));
                    }
                }
                ServerEvent::Auth(AuthRequest::Step {
                    mechanism,
                    response,
                }) => {
                    let r = response.as_ref().map(|r| r.expose().as_slice());
                    match s.auth_step(mechanism.name(), r) {
                        AuthStep::Challenge(c) => {
                            let _ = m.auth_challenge(&c);
                        }
                        AuthStep::Done(d) => {
                            if decide(m, d) {
                                auth_user = Some(format!("({})", mechanism.name()));
                            }
                        }
                    }
                }
                ServerEvent::Etrn { .. } => {
                    let _ = m.reject(crate::server::handler_reply(
                        458,
                        (4, 5, 0),
                        "No queue to run",
                    ));
                }
                ServerEvent::StartTls => start_tls = true,
                ServerEvent::Violation(v) => {
                    tracing::warn!(mode, peer, "violation: {v:?}");
                    s.violation(v);
                }
                ev => {
                    if ev.needs_decision() {
                        let _ = m.accept();
                    }
                }
            }
        }
        m.transmit(&mut out);
        if !out.is_empty() {
            conn.write_all(&out)?;
            let code = out.rsplit(|&b| b == b'\n').nth(1).and_then(|l| l.get(..3));
            deadline = Instant::now()
                + if code == Some(b"354") {
                    t.data_block
                } else {
                    t.command
                };
            block = 0;
            out.clear();
        } else if block >= DATA_BLOCK_MIN {
            deadline = Instant::now() + t.data_block;
            block = 0;
        }
        if m.is_closed() {
            return Ok(());
        }
        if start_tls {
            let (Some(tls), Conn::Plain(tcp)) = (&shared.tls, &*conn) else {
                return Err(io::Error::other("STARTTLS without TLS"));
            };
            // The handshake reads the socket directly: nothing sent in
            // plaintext after our 220 reaches the machine (RFC 3207 5).
            *conn = handshake(tls, tcp.try_clone()?, t.handshake)?;
            m.tls_established();
            tracing::debug!(mode, peer, "tls established");
            auth_user = None;
            (from, to) = (Vec::new(), Vec::new());
            if let Some(s) = sess.as_deref_mut() {
                s.tls_started();
            }
            deadline = Instant::now() + t.command;
            continue;
        }
        if shared.stop.load(Ordering::SeqCst) && !in_message && m.buffered() == 0 {
            conn.write_all(b"421 4.3.2 Service shutting down\r\n")?;
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            if m.timeout().is_some() {
                tracing::info!(mode, peer, "timeout: closing");
                m.handle_timeout();
            } else {
                deadline = now + t.command;
            }
            continue;
        }
        let wait = (deadline - now).min(Duration::from_millis(100));
        conn.tcp()
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        match conn.read(&mut rbuf) {
            Ok(0) => m.receive_eof(),
            Ok(n) => m.receive(&rbuf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
}
