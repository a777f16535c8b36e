//! The demo server's listeners and session loop: a tokio driver of the
//! [`smtp_sansio::server::Server`] machine with STARTTLS and implicit TLS
//! (tokio-rustls, ring provider) and durable storage of accepted messages.
//!
//! This file is shared: `examples/demo-server/main.rs` wraps it in a
//! command line, and the interop tests (`tests/tests/interop_*.rs`) include
//! it with `#[path]` and run listeners in-process on port 0.
//!
//! Storage layout: each accepted message is ONE file `ID.eml` holding the
//! content bytes exactly as the machine handed them out (dot-stuffing
//! undone, CRLF kept), with its envelope in the sidecar `ID.env`. Both are
//! written to a dot-prefixed temporary name, fsynced and renamed, and the
//! folder is fsynced, all before the 250 goes out.

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use smtp_sansio::reply::{EnhancedCode, OwnedReply, ReplyCode};
use smtp_sansio::sasl::Credentials;
use smtp_sansio::server::{AuthRequest, Server, ServerEvent};
use smtp_sansio::{ForwardPath, Mailbox, ReversePath};
use smtp_sansio::{PortMode, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Read buffer per session: it starts small, so that an idle connection
/// costs little memory, and grows (once) to [`READ_BUF_MAX`] when a read
/// fills it, so that DATA content arrives in few reads.
const READ_BUF: usize = 1024;
/// See [`READ_BUF`].
const READ_BUF_MAX: usize = 16 * 1024;
/// Deadline for a TLS handshake (implicit TLS or after STARTTLS): the
/// machine has no timeout while it waits for TLS, so the driver sets one.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long sessions may run on after a shutdown request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What every session of a demo server shares.
pub struct Settings {
    /// The server's name (greeting, EHLO reply).
    pub hostname: String,
    /// `user:password` pairs AUTH accepts.
    pub users: Vec<(String, String)>,
    /// Where messages go; `None` accepts and drops them (`--discard`).
    pub maildir: Option<PathBuf>,
    /// No log lines.
    pub quiet: bool,
    /// TLS for STARTTLS and implicit TLS.
    pub tls: TlsAcceptor,
    /// Write each session as a transcript (the format of the transcript
    /// spec, `side: server`) into this folder (`--trace DIR`).
    pub trace: Option<PathBuf>,
}

/// Counters the tests read (the demo prints none of them).
#[derive(Default, Debug)]
pub struct Stats {
    /// Sessions started (TCP accepted).
    pub sessions: AtomicU64,
    /// MAIL commands the machine handed to the application.
    pub mail_events: AtomicU64,
    /// Messages accepted with 250 (stored or discarded).
    pub messages: AtomicU64,
    /// Protocol violations the machine reported.
    pub violations: AtomicU64,
    /// TLS handshakes completed.
    pub tls_handshakes: AtomicU64,
    /// Successful AUTH exchanges.
    pub auth_ok: AtomicU64,
    /// Sessions that ended (whatever the reason).
    pub sessions_ended: AtomicU64,
}

/// Settings and counters of one running demo server.
pub struct Shared {
    /// The settings.
    pub settings: Settings,
    /// The counters.
    pub stats: Stats,
}

/// The listener kinds of the demo and their machine configuration.
pub fn server_config(mode: PortMode, hostname: &str) -> ServerConfig {
    ServerConfig::new(mode, hostname)
}

/// A certificate chain and key: a self-signed one for `hostname`,
/// `localhost` and `127.0.0.1`.
pub fn self_signed(
    hostname: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let mut names = vec![hostname.to_string()];
    for n in ["localhost", "127.0.0.1"] {
        if !names.iter().any(|x| x == n) {
            names.push(n.to_string());
        }
    }
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    Ok((vec![ck.cert.der().clone()], key))
}

/// A certificate chain and key loaded from PEM files.
pub fn load_pem(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    use rustls_pki_types::pem::PemObject;
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    Ok((certs, key))
}

/// A TLS acceptor (ring provider, TLS 1.2 and 1.3) for a chain and key.
pub fn tls_acceptor(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<TlsAcceptor, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

/// The short name of a mode in logs and envelopes.
pub fn mode_name(mode: PortMode) -> &'static str {
    match mode {
        PortMode::Relay => "relay",
        PortMode::Submission => "submission",
        PortMode::ImplicitTls => "implicit-tls",
        PortMode::Lmtp => "lmtp",
    }
}

/// Accepts connections on `listener` until `shutdown` turns true, then
/// gives the sessions [`SHUTDOWN_GRACE`] to finish (idle ones are sent a
/// 421 at once) and aborts the rest.
pub async fn serve(
    listener: TcpListener,
    mode: PortMode,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Each session holds a clone of `live`; its strong count is the number
    // of sessions still running. (A JoinSet would wake this loop once per
    // finished session; this costs nothing per connection.)
    let live = Arc::new(());
    let session_rx = shutdown.clone();
    {
        let stop = stopping(&mut shutdown);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                r = listener.accept() => match r {
                    Ok((tcp, peer)) => {
                        let shared = shared.clone();
                        let sd = session_rx.clone();
                        let token = live.clone();
                        tokio::spawn(async move {
                            shared.stats.sessions.fetch_add(1, Ordering::Relaxed);
                            if let Err(e) = connection(tcp, peer, mode, &shared, sd).await {
                                log(&shared, format_args!("{} {peer} session error: {e}", mode_name(mode)));
                            }
                            shared.stats.sessions_ended.fetch_add(1, Ordering::Relaxed);
                            drop(token);
                        });
                    }
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        log(&shared, format_args!("{} accept: {e}", mode_name(mode)));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                () = &mut stop => break,
            }
        }
    }
    drop(listener);
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    while Arc::strong_count(&live) > 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Resolves when the shutdown flag turns true (or its sender is gone).
async fn stopping(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

fn log(shared: &Shared, args: std::fmt::Arguments<'_>) {
    if !shared.settings.quiet {
        // One write per line so concurrent sessions do not interleave.
        let line = format!("{args}\n");
        let _ = io::stderr().lock().write_all(line.as_bytes());
    }
}

/// A session's byte stream: plaintext until STARTTLS, or TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
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

    /// Ends the stream: TLS sends its close_notify; plain TCP needs
    /// nothing before the socket is dropped (closed), which saves a
    /// `shutdown` call per connection.
    async fn shutdown(&mut self) {
        if let Conn::Tls(s) = self {
            let _ = s.shutdown().await;
        }
    }
}

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    mode: PortMode,
    shared: &Shared,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    // Replies are written as whole groups; Nagle would hold back the
    // reply to a pipelined group until the client's delayed ACK.
    tcp.set_nodelay(true)?;
    let conn = if mode.implicit_tls() {
        let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, shared.settings.tls.accept(tcp))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        shared.stats.tls_handshakes.fetch_add(1, Ordering::Relaxed);
        Conn::Tls(Box::new(tls))
    } else {
        Conn::Plain(tcp)
    };
    session(conn, peer, mode, shared, shutdown).await
}

/// The envelope of the transaction in progress.
#[derive(Default)]
struct Txn {
    from: String,
    to: Vec<String>,
    content: Vec<u8>,
}

fn reverse_path(p: &ReversePath<'_>) -> String {
    match p {
        ReversePath::Null => "<>".into(),
        ReversePath::Mailbox(m) => mailbox(m),
    }
}

fn forward_path(p: &ForwardPath<'_>) -> String {
    match p {
        ForwardPath::Postmaster => "<Postmaster>".into(),
        ForwardPath::Mailbox(m) => mailbox(m),
    }
}

fn mailbox(m: &Mailbox<'_>) -> String {
    let mut out = vec![b'<'];
    m.write_canonical(&mut out);
    out.push(b'>');
    String::from_utf8_lossy(&out).into_owned()
}

fn reply(code: u16, enh: (u8, u16, u16), text: &'static str) -> OwnedReply {
    OwnedReply::new(
        ReplyCode::new(code).expect("valid reply code"),
        EnhancedCode::new(enh.0, enh.1, enh.2),
        text,
    )
}

/// PLAIN and LOGIN credentials against the user list; a PLAIN
/// authorization identity must be empty or the user's own (RFC 4616 2).
fn check_credentials(users: &[(String, String)], c: &Credentials) -> Option<String> {
    let Credentials::Password {
        authzid,
        username,
        password,
    } = c
    else {
        return None;
    };
    if !authzid.is_empty() && authzid != username {
        return None;
    }
    users
        .iter()
        .any(|(u, p)| u == username && p == password.expose())
        .then(|| username.clone())
}

async fn session(
    mut conn: Conn,
    peer: SocketAddr,
    mode: PortMode,
    shared: &Shared,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let settings = &shared.settings;
    let stats = &shared.stats;
    let mut server = Server::new(server_config(mode, &settings.hostname));
    let mut rbuf = vec![0u8; READ_BUF];
    let mut out = Vec::with_capacity(512);
    let mut txn = Txn::default();
    let mut auth_user: Option<String> = None;
    let store = settings.maildir.is_some();
    let mut trace = settings.trace.as_ref().map(|_| Trace::new(mode, peer));
    let timer = tokio::time::sleep(Duration::from_secs(300));
    tokio::pin!(timer);
    // Registered once for the whole session.
    let stop = stopping(&mut shutdown);
    tokio::pin!(stop);
    loop {
        let mut start_tls = false;
        while let Some(ev) = server.next_event() {
            match ev {
                ServerEvent::Mail { from, .. } => {
                    stats.mail_events.fetch_add(1, Ordering::Relaxed);
                    txn = Txn {
                        from: reverse_path(&from),
                        ..Txn::default()
                    };
                    server.accept().expect("MAIL decision pending");
                }
                ServerEvent::Rcpt { to, .. } => {
                    txn.to.push(forward_path(&to));
                    server.accept().expect("RCPT decision pending");
                }
                ServerEvent::MessageStart { .. } => txn.content.clear(),
                ServerEvent::MessageData(piece) => {
                    if store {
                        txn.content.extend_from_slice(piece);
                    }
                }
                ServerEvent::MessageComplete { size, .. } => {
                    let helo = server
                        .client_name()
                        .map(|n| String::from_utf8_lossy(n).into_owned())
                        .unwrap_or_default();
                    let env = Envelope {
                        mode,
                        peer,
                        helo: &helo,
                        tls: server.is_tls(),
                        auth: auth_user.as_deref(),
                        from: &txn.from,
                        to: &txn.to,
                        size,
                    };
                    let outcome = if let Some(dir) = &settings.maildir {
                        deliver(dir, &env, &mut txn.content).await
                    } else if settings.quiet {
                        // --discard --quiet: nothing to name or log.
                        Ok(String::new())
                    } else {
                        Ok(message_id())
                    };
                    match outcome {
                        Ok(id) => {
                            stats.messages.fetch_add(1, Ordering::Relaxed);
                            if !settings.quiet {
                                let line = env.log_line();
                                log(shared, format_args!("{line} result=accepted id={id}"));
                            }
                            server.accept().expect("message decision pending");
                        }
                        Err(e) => {
                            let line = env.log_line();
                            log(shared, format_args!("{line} result=451 error={e}"));
                            let _ = server.reject(reply(
                                451,
                                (4, 3, 0),
                                "Local error in processing, try again later",
                            ));
                        }
                    }
                    txn.to.clear();
                    txn.content.clear();
                }
                ServerEvent::MessageAborted(why) => {
                    log(
                        shared,
                        format_args!("{} {peer} message aborted: {why:?}", mode_name(mode)),
                    );
                    txn.content.clear();
                }
                ServerEvent::Reset => txn = Txn::default(),
                ServerEvent::Auth(AuthRequest::Credentials { credentials, .. }) => {
                    match check_credentials(&settings.users, &credentials) {
                        Some(user) => {
                            stats.auth_ok.fetch_add(1, Ordering::Relaxed);
                            auth_user = Some(user);
                            server.accept().expect("AUTH decision pending");
                        }
                        None => {
                            let _ = server.reject(reply(
                                535,
                                (5, 7, 8),
                                "Authentication credentials invalid",
                            ));
                        }
                    }
                }
                ServerEvent::Auth(AuthRequest::Step { .. }) => {
                    let _ = server.reject(reply(
                        504,
                        (5, 5, 4),
                        "Authentication mechanism not supported",
                    ));
                }
                ServerEvent::Etrn { .. } => {
                    let _ = server.reject(reply(458, (4, 5, 0), "No queue to run"));
                }
                ServerEvent::StartTls => start_tls = true,
                ServerEvent::Violation(v) => {
                    stats.violations.fetch_add(1, Ordering::Relaxed);
                    log(
                        shared,
                        format_args!("{} {peer} violation: {v:?}", mode_name(mode)),
                    );
                }
                ServerEvent::Closed => {}
                ev => {
                    // Connected, Hello, Verify: the default positive reply.
                    if ev.needs_decision() {
                        server.accept().expect("decision pending");
                    }
                }
            }
        }
        server.transmit(&mut out);
        if let Some(t) = &mut trace {
            t.server(&out);
        }
        if !out.is_empty() {
            conn.write_all(&out).await?;
            out.clear();
        }
        if server.is_closed() {
            conn.shutdown().await;
            if let Some(t) = trace.take() {
                t.finish(settings, true);
            }
            return Ok(());
        }
        if start_tls {
            let Conn::Plain(tcp) = std::mem::replace(&mut conn, Conn::Gone) else {
                return Err(io::Error::other("STARTTLS on a TLS stream"));
            };
            // The handshake reads the socket directly: nothing the client
            // sent in plaintext after our 220 ever reaches the machine.
            let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, settings.tls.accept(tcp))
                .await
                .map_err(|_| {
                    io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")
                })??;
            stats.tls_handshakes.fetch_add(1, Ordering::Relaxed);
            conn = Conn::Tls(Box::new(tls));
            server.tls_established();
            if let Some(t) = &mut trace {
                t.step("TLS");
            }
            auth_user = None;
            continue;
        }
        // The machine's timeout counts from now (we wait for the client).
        // The timer itself is re-armed only when it fires early, not on
        // every read: a read costs a clock read instead of a timer-wheel
        // insert and removal.
        let waiting_since = Instant::now();
        let limit = server.timeout().unwrap_or(Duration::from_secs(300));
        let due = waiting_since + limit;
        let armed = timer.deadline().into_std();
        if armed < waiting_since || armed > due {
            timer.as_mut().reset(due.into());
        }
        tokio::select! {
            r = conn.read(&mut rbuf) => match r {
                Ok(0) => {
                    if let Some(t) = &mut trace {
                        t.step("EOF");
                    }
                    server.receive_eof();
                }
                Ok(n) => {
                    if let Some(t) = &mut trace {
                        t.client(&rbuf[..n]);
                    }
                    server.receive(&rbuf[..n]);
                    if n == rbuf.len() && rbuf.len() < READ_BUF_MAX {
                        rbuf.resize(READ_BUF_MAX, 0);
                    }
                }
                Err(e) => return Err(e),
            },
            () = &mut timer => {
                if Instant::now() >= due {
                    server.handle_timeout();
                } else {
                    timer.as_mut().reset(due.into());
                }
            }
            () = &mut stop => {
                // RFC 5321 3.8: a server that must shut down answers 421.
                let _ = conn.write_all(b"421 4.3.2 Service shutting down\r\n").await;
                conn.shutdown().await;
                return Ok(());
            }
        }
    }
}

/// What the sidecar `.env` file and the log line record.
struct Envelope<'a> {
    mode: PortMode,
    peer: SocketAddr,
    helo: &'a str,
    tls: bool,
    auth: Option<&'a str>,
    from: &'a str,
    to: &'a [String],
    size: u64,
}

impl Envelope<'_> {
    fn file_text(&self) -> String {
        let mut s = format!(
            "mode: {}\npeer: {}\nhelo: {}\ntls: {}\nauth: {}\nfrom: {}\n",
            mode_name(self.mode),
            self.peer,
            self.helo,
            if self.tls { "yes" } else { "no" },
            self.auth.unwrap_or("-"),
            self.from,
        );
        for t in self.to {
            s.push_str("to: ");
            s.push_str(t);
            s.push('\n');
        }
        s.push_str(&format!("size: {}\n", self.size));
        s
    }

    fn log_line(&self) -> String {
        format!(
            "{} {} helo={} tls={} auth={} from={} rcpts={} size={}",
            mode_name(self.mode),
            self.peer,
            self.helo,
            if self.tls { "yes" } else { "no" },
            self.auth.unwrap_or("-"),
            self.from,
            self.to.len(),
            self.size,
        )
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);
static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// A unique, sortable message id (time, process, counter).
fn message_id() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}.{:06}.P{}Q{}",
        t.as_secs(),
        t.subsec_micros(),
        PID.get_or_init(std::process::id),
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    )
}

/// Stores the message and returns its id. Runs the blocking file system
/// calls off the runtime's workers.
async fn deliver(dir: &Path, env: &Envelope<'_>, content: &mut Vec<u8>) -> io::Result<String> {
    let id = message_id();
    let dir = dir.to_path_buf();
    let env_text = env.file_text();
    let bytes = std::mem::take(content);
    let id2 = id.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        store(&dir, &id2, env_text.as_bytes(), &bytes).map(|()| bytes)
    })
    .await
    .map_err(io::Error::other)??;
    // Keep the allocation for the next message of the session.
    *content = bytes;
    content.clear();
    Ok(id)
}

/// Durable store: the envelope, then the message, each written to a
/// temporary name, fsynced and renamed; then the folder is fsynced.
pub fn store(dir: &Path, id: &str, envelope: &[u8], message: &[u8]) -> io::Result<()> {
    write_durable(dir, &format!("{id}.env"), envelope)?;
    write_durable(dir, &format!("{id}.eml"), message)?;
    std::fs::File::open(dir)?.sync_all()
}

fn write_durable(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(name))
}

/// Runs bound listeners, each in its mode, until `shutdown` turns true and
/// their sessions are done (see [`serve`]).
pub async fn run(
    listeners: Vec<(PortMode, TcpListener)>,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    let mut set = tokio::task::JoinSet::new();
    for (mode, l) in listeners {
        set.spawn(serve(l, mode, shared.clone(), shutdown.clone()));
    }
    while set.join_next().await.is_some() {}
}

/// A session recorded in the transcript format: one `C:` line per read
/// (one input call of the replay), one `S:` pattern per reply (code,
/// enhanced code, and for EHLO replies whether STARTTLS and AUTH were
/// offered).
struct Trace {
    text: String,
    peer: SocketAddr,
}

impl Trace {
    fn new(mode: PortMode, peer: SocketAddr) -> Trace {
        Trace {
            text: format!(
                "# side: server\n# mode: {}\n# title: captured from {peer} by demo-server --trace\n\n",
                mode_name(mode)
            ),
            peer,
        }
    }

    fn step(&mut self, s: &str) {
        self.text.push_str(s);
        self.text.push('\n');
    }

    fn client(&mut self, bytes: &[u8]) {
        self.text.push_str("C: ");
        for &b in bytes {
            match b {
                b'\r' => self.text.push_str("\\r"),
                b'\n' => self.text.push_str("\\n"),
                b'\t' => self.text.push_str("\\t"),
                b'\\' => self.text.push_str("\\\\"),
                0x20..=0x7e => self.text.push(b as char),
                _ => self.text.push_str(&format!("\\x{b:02X}")),
            }
        }
        self.text.push('\n');
    }

    fn server(&mut self, bytes: &[u8]) {
        let mut lines: Vec<&[u8]> = Vec::new();
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            lines.push(line);
            // The last line of a reply has a space (or nothing) after the code.
            if line.get(3) != Some(&b'-') {
                let pattern = reply_pattern(&lines);
                self.text.push_str("S: ");
                self.text.push_str(&pattern);
                self.text.push('\n');
                lines.clear();
            }
        }
    }

    fn finish(mut self, settings: &Settings, closed: bool) {
        if closed {
            self.step("CLOSE");
        }
        let Some(dir) = &settings.trace else { return };
        let name = format!("{}-{}.txt", message_id(), self.peer.port());
        let _ = std::fs::write(dir.join(name), self.text);
    }
}

fn reply_pattern(lines: &[&[u8]]) -> String {
    let Some(last) = lines.last() else {
        return String::new();
    };
    let code = String::from_utf8_lossy(&last[..last.len().min(3)]).into_owned();
    let mut p = code;
    let text = last.get(4..).unwrap_or_default();
    let word = text
        .split(|&b| b == b' ' || b == b'\r')
        .next()
        .unwrap_or_default();
    let enh = std::str::from_utf8(word).unwrap_or("");
    if enh.split('.').count() == 3
        && enh
            .split('.')
            .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
    {
        p.push(' ');
        p.push_str(enh);
    }
    if lines.len() > 1 && p.starts_with("250") {
        // An EHLO reply: say what it offered.
        let has = |kw: &[u8]| {
            lines[1..].iter().any(|l| {
                l.get(4..)
                    .is_some_and(|t| t.len() >= kw.len() && t[..kw.len()].eq_ignore_ascii_case(kw))
            })
        };
        for (kw, name) in [
            (&b"STARTTLS"[..], "STARTTLS"),
            (b"AUTH", "AUTH"),
            (b"PIPELINING", "PIPELINING"),
        ] {
            p.push_str(if has(kw) { " +" } else { " -" });
            p.push_str(name);
        }
    }
    p
}
