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
//! undone, CRLF kept), with its envelope in the sidecar `ID.env`. The pair
//! commits atomically: the `.eml`, then the `.env` (the commit marker),
//! each written to a dot-prefixed temporary name, fsynced and renamed; then
//! the folder is fsynced (group commit: one folder fsync serves every
//! message that finished while the previous one ran), all before the 250
//! goes out. At start, [`recover`] removes what a crash left incomplete: a
//! temporary file, an `.eml` without its `.env` or an `.env` without its
//! `.eml` (none of those got a 250).
//!
//! The `.env` format: one `key: value` field per line, LF-terminated, in
//! this order: `mode`, `peer`, `helo`, `tls` (`yes`/`no`), `auth` (the
//! authenticated user or `-`), `from`, one `to` per recipient, `size`
//! (content octets). Every value is escaped by [`escape`]: the bytes
//! 0x20-0x7E stand for themselves except `\`, which is written `\\`;
//! every other byte (controls, DEL, and each octet of a non-ASCII UTF-8
//! character) is written `\xHH` (two upper-case hex digits). The file is
//! therefore pure printable ASCII plus the LF ending each field, so one
//! field is one line under any line-splitting rule (including Unicode's
//! U+0085, U+2028 and U+2029), and unescaping gives back the exact octets.

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
/// A content buffer (and the read buffer) larger than this is freed when
/// its message is over, so that an idle session goes back to its idle
/// cost whatever the size of its last message.
const KEEP_BUF: usize = 64 * 1024;
/// Content octets that count as one data block: the data block timeout
/// (RFC 5321 4.5.3.2.5) restarts only after this many octets arrived since
/// it last started, so that content trickled an octet at a time
/// (slowloris) cannot hold a session open forever.
pub const DATA_BLOCK_MIN: usize = 1000;
/// How long sessions may run on after a shutdown request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Default of `--max-connections`: sessions served at once, over every
/// listener (well inside the usual limit of 1,024 open files).
pub const DEFAULT_MAX_CONNECTIONS: usize = 500;

/// The server timeouts of RFC 5321 4.5.3.2 as the demo applies them. Each
/// deadline starts when the server starts waiting (for a command, for a
/// data block) and is not pushed back by partial input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Waiting for the next command line (RFC 5321 4.5.3.2.7, server
    /// timeout: 5 minutes). Partial lines do not restart it.
    pub command: Duration,
    /// Waiting for the next block of DATA or BDAT content (RFC 5321
    /// 4.5.3.2.5: 3 minutes); a block is [`DATA_BLOCK_MIN`] octets or the
    /// end of the content.
    pub data_block: Duration,
    /// Processing a complete message before its reply (RFC 5321 4.5.3.2.6,
    /// DATA termination: the client waits 10 minutes for it): storage that
    /// takes longer is answered 451.
    pub data_end: Duration,
    /// A TLS handshake (implicit TLS or after STARTTLS); the RFC gives
    /// none, the demo uses 30 s.
    pub handshake: Duration,
}

impl Timeouts {
    /// The RFC 5321 4.5.3.2 values (and 30 s for a TLS handshake).
    pub const RFC: Timeouts = Timeouts {
        command: Duration::from_secs(5 * 60),
        data_block: Duration::from_secs(3 * 60),
        data_end: Duration::from_secs(10 * 60),
        handshake: Duration::from_secs(30),
    };

    /// Every timeout set to `d` (`--timeout SECS`).
    pub fn all(d: Duration) -> Timeouts {
        Timeouts {
            command: d,
            data_block: d,
            data_end: d,
            handshake: d,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::RFC
    }
}

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
    /// spec, `side: server`) into this folder (`--trace DIR`), streamed to
    /// its file as the session runs.
    pub trace: Option<PathBuf>,
    /// The server timeouts (`--timeout SECS` sets them all).
    pub timeouts: Timeouts,
    /// Sessions served at once over every listener; a connection beyond
    /// gets `421 4.3.2` and is closed (`--max-connections N`).
    pub max_connections: usize,
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
    /// Connections refused with 421 4.3.2 (over `--max-connections`).
    pub refused_connections: AtomicU64,
    /// Sessions closed by a timeout (421 4.4.2).
    pub timeouts: AtomicU64,
    /// Folder fsyncs run by the group committer (at most one per message).
    pub dir_syncs: AtomicU64,
}

/// Settings and counters of one running demo server.
pub struct Shared {
    /// The settings.
    pub settings: Settings,
    /// The counters.
    pub stats: Arc<Stats>,
    /// Sessions running now (for `max_connections`).
    live: AtomicUsize,
    /// The group committer of the mail folder (storage on).
    committer: Option<Committer>,
}

impl Shared {
    /// Settings plus fresh counters; starts the group committer when
    /// storage is on.
    pub fn new(settings: Settings) -> Shared {
        let stats = Arc::new(Stats::default());
        let committer = settings
            .maildir
            .as_ref()
            .map(|d| Committer::start(d.clone(), stats.clone()));
        Shared {
            settings,
            stats,
            live: AtomicUsize::new(0),
            committer,
        }
    }
}

/// Group commit (RFC 5321 6.1: a 250 means the message is stored): each
/// message's files are written and fsynced on the blocking pool, in
/// parallel; then the message waits here for ONE folder fsync shared with
/// every message that became ready while the previous folder fsync ran.
/// Its 250 goes out only after that fsync returned.
struct Committer {
    tx: std::sync::Mutex<std::sync::mpsc::Sender<tokio::sync::oneshot::Sender<Result<(), String>>>>,
}

impl Committer {
    fn start(dir: PathBuf, stats: Arc<Stats>) -> Committer {
        let (tx, rx) =
            std::sync::mpsc::channel::<tokio::sync::oneshot::Sender<Result<(), String>>>();
        std::thread::Builder::new()
            .name("demo-committer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    batch.extend(rx.try_iter());
                    let r = std::fs::File::open(&dir)
                        .and_then(|f| f.sync_all())
                        .map_err(|e| e.to_string());
                    stats.dir_syncs.fetch_add(1, Ordering::Relaxed);
                    for waiter in batch {
                        let _ = waiter.send(r.clone());
                    }
                }
            })
            .expect("spawn the committer thread");
        Committer {
            tx: std::sync::Mutex::new(tx),
        }
    }

    /// Resolves once a folder fsync that started after this call returned.
    async fn commit(&self) -> io::Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.tx
            .lock()
            .map_err(|_| io::Error::other("committer lock poisoned"))?
            .send(tx)
            .map_err(|_| io::Error::other("committer gone"))?;
        rx.await
            .map_err(|_| io::Error::other("committer gone"))?
            .map_err(io::Error::other)
    }
}

/// The listener kinds of the demo and their machine configuration.
pub fn server_config(mode: PortMode, hostname: &str) -> ServerConfig {
    // This driver runs STARTTLS (tokio-rustls).
    ServerConfig::new(mode, hostname).with_tls()
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
                        // One slot over every listener; a connection beyond
                        // the limit gets 421 4.3.2 (RFC 3463: system not
                        // accepting network messages) and is closed.
                        let slot = Slot::take(&shared);
                        tokio::spawn(async move {
                            let Some(slot) = slot else {
                                shared.stats.refused_connections.fetch_add(1, Ordering::Relaxed);
                                log(&shared, format_args!(
                                    "{} {peer} refused: over --max-connections {}",
                                    mode_name(mode), shared.settings.max_connections
                                ));
                                refuse(tcp, mode, &shared).await;
                                drop(token);
                                return;
                            };
                            shared.stats.sessions.fetch_add(1, Ordering::Relaxed);
                            if let Err(e) = connection(tcp, peer, mode, &shared, sd).await {
                                log(&shared, format_args!("{} {peer} session error: {e}", mode_name(mode)));
                            }
                            shared.stats.sessions_ended.fetch_add(1, Ordering::Relaxed);
                            drop(slot);
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

/// A session's place under `max_connections`; given back on drop.
struct Slot(Arc<Shared>);

impl Slot {
    /// A slot, or `None` when `max_connections` sessions run already.
    fn take(shared: &Arc<Shared>) -> Option<Slot> {
        let max = shared.settings.max_connections;
        shared
            .live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(shared.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answers a connection over the limit with `421 4.3.2` and closes it (on
/// the implicit-TLS port inside TLS, after a handshake bounded by the
/// handshake timeout).
async fn refuse(tcp: TcpStream, mode: PortMode, shared: &Shared) {
    const TOO_MANY: &[u8] = b"421 4.3.2 Too many connections, try again later\r\n";
    let _ = tcp.set_nodelay(true);
    let mut conn = if mode.implicit_tls() {
        match tokio::time::timeout(
            shared.settings.timeouts.handshake,
            shared.settings.tls.accept(tcp),
        )
        .await
        {
            Ok(Ok(tls)) => Conn::Tls(Box::new(tls)),
            _ => return,
        }
    } else {
        Conn::Plain(tcp)
    };
    let _ = tokio::time::timeout(shared.settings.timeouts.handshake, async {
        let _ = conn.write_all(TOO_MANY).await;
        conn.shutdown().await;
    })
    .await;
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
        let tls = tokio::time::timeout(
            shared.settings.timeouts.handshake,
            shared.settings.tls.accept(tcp),
        )
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        shared.stats.tls_handshakes.fetch_add(1, Ordering::Relaxed);
        Conn::Tls(Box::new(tls))
    } else {
        Conn::Plain(tcp)
    };
    session(conn, peer, mode, shared, shutdown).await
}

/// The envelope of the transaction in progress (values escaped, see
/// [`escape`]).
#[derive(Default)]
struct Txn {
    from: String,
    to: Vec<String>,
    content: Vec<u8>,
}

/// Frees a buffer that grew past [`KEEP_BUF`] (an idle session goes back
/// to its idle cost); a small one is kept for the next message.
fn release(buf: &mut Vec<u8>) {
    if buf.capacity() > KEEP_BUF {
        *buf = Vec::new();
    } else {
        buf.clear();
    }
}

/// Escapes an envelope or log value so that it is one line of printable
/// ASCII whatever it holds: 0x20-0x7E stand for themselves except `\`
/// (written `\\`); every other octet is written `\xHH`. Reversible.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                s.push_str("\\x");
                s.push(HEX[usize::from(b >> 4)] as char);
                s.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
    s
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
    escape(&out)
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

/// The user name of a credentials attempt, for the log (never the
/// password).
fn credentials_user(c: &Credentials) -> String {
    match c {
        Credentials::Password { username, .. } => escape(username.as_bytes()),
        _ => "?".into(),
    }
}

/// Which command each reply answers, for the refusal log lines: the verbs
/// of the complete command lines the client sent, in order, paired with
/// the replies as they go out (one reply per command line; RFC 5321 4.2).
/// Only known verbs are recorded (never an AUTH response line, which may
/// hold a password). Content is not scanned: tracking pauses at DATA and
/// BDAT and resumes once their reply (or the message's) went out.
#[derive(Default)]
struct Verbs {
    queue: std::collections::VecDeque<&'static str>,
    /// The start of the line in progress (enough for a verb).
    partial: Vec<u8>,
    /// Bytes are content or may be: not scanned.
    paused: bool,
}

impl Verbs {
    const KNOWN: [&'static str; 16] = [
        "EHLO", "HELO", "LHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT", "VRFY",
        "EXPN", "HELP", "AUTH", "STARTTLS", "ETRN",
    ];

    fn client(&mut self, mut bytes: &[u8]) {
        while !self.paused && !bytes.is_empty() {
            let (line, rest, complete) = match bytes.iter().position(|&b| b == b'\n') {
                Some(i) => (&bytes[..i], &bytes[i + 1..], true),
                None => (bytes, &[][..], false),
            };
            bytes = rest;
            let room = 8usize.saturating_sub(self.partial.len());
            self.partial
                .extend_from_slice(&line[..line.len().min(room)]);
            if !complete {
                return;
            }
            let word: Vec<u8> = self
                .partial
                .iter()
                .take_while(|b| b.is_ascii_alphabetic())
                .map(u8::to_ascii_uppercase)
                .collect();
            self.partial.clear();
            let verb = Self::KNOWN
                .iter()
                .find(|v| v.as_bytes() == word.as_slice())
                .copied()
                .unwrap_or("?");
            self.queue.push_back(verb);
            if verb == "DATA" || verb == "BDAT" || verb == "STARTTLS" {
                self.paused = true;
            }
        }
    }

    /// The verb a final reply line answers (`None` for the greeting and
    /// replies the tracker could not pair).
    fn reply(&mut self, code: &[u8]) -> Option<&'static str> {
        let verb = self.queue.pop_front();
        if matches!(verb, Some("DATA" | "BDAT" | "STARTTLS")) && code != b"354" {
            self.resume();
        }
        verb
    }

    fn resume(&mut self) {
        self.paused = false;
        self.partial.clear();
    }
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
    let timeouts = settings.timeouts;
    let mut server = Server::new(server_config(mode, &settings.hostname));
    let mut rbuf = vec![0u8; READ_BUF];
    let mut out = Vec::with_capacity(512);
    let mut txn = Txn::default();
    let mut auth_user: Option<String> = None;
    let store = settings.maildir.is_some();
    let mut trace = settings
        .trace
        .as_ref()
        .and_then(|dir| Trace::create(dir, mode, peer));
    let mut verbs = (!settings.quiet).then(Verbs::default);
    // RFC 5321 4.5.3.2: the deadline starts when the server starts waiting
    // (for a command or a data block) and only progress moves it: a reply
    // that went out, or DATA_BLOCK_MIN content octets. Partial input never
    // does, so a trickled command (slowloris) times out.
    let mut deadline = tokio::time::Instant::now() + timeouts.command;
    let mut block_octets = 0usize;
    let timer = tokio::time::sleep_until(deadline);
    tokio::pin!(timer);
    // Registered once for the whole session.
    let stop = stopping(&mut shutdown);
    tokio::pin!(stop);
    loop {
        let mut start_tls = false;
        let mut message_over = false;
        while let Some(ev) = server.next_event() {
            match ev {
                ServerEvent::Mail { from, .. } => {
                    stats.mail_events.fetch_add(1, Ordering::Relaxed);
                    txn.from = reverse_path(&from);
                    txn.to.clear();
                    release(&mut txn.content);
                    server.accept().expect("MAIL decision pending");
                }
                ServerEvent::Rcpt { to, .. } => {
                    txn.to.push(forward_path(&to));
                    server.accept().expect("RCPT decision pending");
                }
                ServerEvent::MessageStart { .. } => txn.content.clear(),
                ServerEvent::MessageData(piece) => {
                    block_octets += piece.len();
                    if store {
                        txn.content.extend_from_slice(piece);
                    }
                }
                ServerEvent::MessageComplete { size, .. } => {
                    let helo = server.client_name().map(escape).unwrap_or_default();
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
                        // RFC 5321 4.5.3.2.6: the client waits this long
                        // for the reply; storage that takes longer gets 451.
                        tokio::time::timeout(
                            timeouts.data_end,
                            deliver(shared, dir, &env, &mut txn.content),
                        )
                        .await
                        .unwrap_or_else(|_| Err(io::Error::other("storage timed out")))
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
                    release(&mut txn.content);
                    message_over = true;
                }
                ServerEvent::MessageAborted(why) => {
                    log(
                        shared,
                        format_args!("{} {peer} message aborted: {why:?}", mode_name(mode)),
                    );
                    release(&mut txn.content);
                    message_over = true;
                }
                ServerEvent::Reset => {
                    txn.from.clear();
                    txn.to.clear();
                    release(&mut txn.content);
                }
                ServerEvent::Auth(AuthRequest::Credentials { credentials, .. }) => {
                    match check_credentials(&settings.users, &credentials) {
                        Some(user) => {
                            stats.auth_ok.fetch_add(1, Ordering::Relaxed);
                            auth_user = Some(escape(user.as_bytes()));
                            server.accept().expect("AUTH decision pending");
                        }
                        None => {
                            log(
                                shared,
                                format_args!(
                                    "{} {peer} auth failed user={}",
                                    mode_name(mode),
                                    credentials_user(&credentials)
                                ),
                            );
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
        if message_over && rbuf.len() > READ_BUF {
            // Back to the idle cost (item: buffers at their high-water mark).
            rbuf = vec![0u8; READ_BUF];
        }
        server.transmit(&mut out);
        if let Some(t) = &mut trace {
            t.server(&out);
        }
        if !out.is_empty() {
            if let Some(v) = &mut verbs {
                log_refusals(shared, mode, peer, v, &out, message_over);
            }
            conn.write_all(&out).await?;
            // A reply went out: the server now waits for the next command,
            // or, after a 354, for the first data block.
            let limit = if last_reply_code(&out) == Some(&b"354"[..]) {
                timeouts.data_block
            } else {
                timeouts.command
            };
            deadline = tokio::time::Instant::now() + limit;
            block_octets = 0;
            out.clear();
        } else if block_octets >= DATA_BLOCK_MIN {
            // A data block arrived: wait for the next one.
            deadline = tokio::time::Instant::now() + timeouts.data_block;
            block_octets = 0;
        }
        if server.is_closed() {
            conn.shutdown().await;
            if let Some(t) = trace.take() {
                t.finish(true);
            }
            return Ok(());
        }
        if start_tls {
            let Conn::Plain(tcp) = std::mem::replace(&mut conn, Conn::Gone) else {
                return Err(io::Error::other("STARTTLS on a TLS stream"));
            };
            // The handshake reads the socket directly: nothing the client
            // sent in plaintext after our 220 ever reaches the machine.
            let tls = tokio::time::timeout(timeouts.handshake, settings.tls.accept(tcp))
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
            if let Some(v) = &mut verbs {
                *v = Verbs::default();
            }
            auth_user = None;
            deadline = tokio::time::Instant::now() + timeouts.command;
            continue;
        }
        // The timer moves only when the deadline does (once per command,
        // not per read).
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
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
                    if let Some(v) = &mut verbs {
                        v.client(&rbuf[..n]);
                    }
                    server.receive(&rbuf[..n]);
                    if n == rbuf.len() && rbuf.len() < READ_BUF_MAX {
                        rbuf.resize(READ_BUF_MAX, 0);
                    }
                }
                Err(e) => return Err(e),
            },
            () = &mut timer => {
                if tokio::time::Instant::now() >= deadline && server.timeout().is_some() {
                    stats.timeouts.fetch_add(1, Ordering::Relaxed);
                    log(shared, format_args!("{} {peer} timeout: closing", mode_name(mode)));
                    server.handle_timeout();
                } else {
                    // Nothing to wait for now (decision or handshake
                    // pending): look again after another period.
                    deadline = tokio::time::Instant::now() + timeouts.command;
                }
            }
            () = &mut stop => {
                // RFC 5321 3.8: a server that must shut down answers 421.
                let _ = conn.write_all(b"421 4.3.2 Service shutting down\r\n").await;
                conn.shutdown().await;
                if let Some(t) = trace.take() {
                    t.finish(true);
                }
                return Ok(());
            }
        }
    }
}

/// The code of the last reply in `out` (its last line).
fn last_reply_code(out: &[u8]) -> Option<&[u8]> {
    let body = out.strip_suffix(b"\r\n").unwrap_or(out);
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    body.get(start..start + 3)
}

/// Logs every 4xx/5xx reply in `out` with the command it answers (a
/// refused MAIL or RCPT among them).
fn log_refusals(
    shared: &Shared,
    mode: PortMode,
    peer: SocketAddr,
    verbs: &mut Verbs,
    out: &[u8],
    message_over: bool,
) {
    for line in out.split_inclusive(|&b| b == b'\n') {
        if line.get(3) == Some(&b'-') || line.len() < 3 {
            continue;
        }
        let code = &line[..3];
        let verb = verbs.reply(code);
        if matches!(code.first(), Some(b'4' | b'5')) {
            let text = line.strip_suffix(b"\r\n").unwrap_or(line);
            log(
                shared,
                format_args!(
                    "{} {peer} refused {}: {}",
                    mode_name(mode),
                    verb.unwrap_or("-"),
                    escape(text)
                ),
            );
        }
    }
    if message_over {
        verbs.resume();
    }
}

/// What the sidecar `.env` file and the log line record (values escaped).
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
    /// The `.env` text (format: see the module documentation).
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

/// Stores the message and returns its id: the files are written and
/// fsynced on the blocking pool (in parallel with other sessions'), then
/// the folder fsync is shared through the group committer. Returns only
/// once the message is durable.
async fn deliver(
    shared: &Shared,
    dir: &Path,
    env: &Envelope<'_>,
    content: &mut Vec<u8>,
) -> io::Result<String> {
    let id = message_id();
    let dir = dir.to_path_buf();
    let env_text = env.file_text();
    let bytes = std::mem::take(content);
    let id2 = id.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        write_pair(&dir, &id2, env_text.as_bytes(), &bytes).map(|()| bytes)
    })
    .await
    .map_err(io::Error::other)??;
    // Keep a small allocation for the next message of the session.
    *content = bytes;
    release(content);
    match &shared.committer {
        Some(c) => c.commit().await?,
        None => return Err(io::Error::other("no committer")),
    }
    Ok(id)
}

/// Writes the pair: the message, then the envelope as the commit marker,
/// each to a temporary name, fsynced and renamed. On failure removes what
/// it wrote. The folder fsync is the caller's (it makes both renames
/// durable; until it returned the pair may vanish in a crash, and no 250
/// was sent).
pub fn write_pair(dir: &Path, id: &str, envelope: &[u8], message: &[u8]) -> io::Result<()> {
    let eml = format!("{id}.eml");
    write_durable(dir, &eml, message)?;
    if let Err(e) = write_durable(dir, &format!("{id}.env"), envelope) {
        let _ = std::fs::remove_file(dir.join(&eml));
        return Err(e);
    }
    Ok(())
}

fn write_durable(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let r = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, dir.join(name))
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Removes what a crash left incomplete in the mail folder: dot-prefixed
/// `.tmp` files, an `ID.eml` whose `ID.env` (the commit marker) is
/// missing, an `ID.env` whose `ID.eml` is missing. A complete pair (the
/// only kind that can have got a 250) and every other file are left
/// alone. Returns the removed names with the reason.
pub fn recover(dir: &Path) -> io::Result<Vec<(String, &'static str)>> {
    let names: std::collections::BTreeSet<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    let mut removed = Vec::new();
    for name in &names {
        let why = if name.starts_with('.') && name.ends_with(".tmp") {
            Some("temporary file of an unfinished delivery")
        } else if let Some(id) = name.strip_suffix(".eml") {
            (!names.contains(&format!("{id}.env"))).then_some("message without its envelope")
        } else if let Some(id) = name.strip_suffix(".env") {
            (!names.contains(&format!("{id}.eml"))).then_some("envelope without its message")
        } else {
            None
        };
        if let Some(why) = why {
            std::fs::remove_file(dir.join(name))?;
            removed.push((name.clone(), why));
        }
    }
    if !removed.is_empty() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(removed)
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
/// offered). Streamed to its file through a small buffer: the memory a
/// trace costs does not grow with the session.
struct Trace {
    w: Option<io::BufWriter<std::fs::File>>,
}

impl Trace {
    fn create(dir: &Path, mode: PortMode, peer: SocketAddr) -> Option<Trace> {
        let name = format!("{}-{}.txt", message_id(), peer.port());
        let f = std::fs::File::create(dir.join(name)).ok()?;
        let mut t = Trace {
            w: Some(io::BufWriter::with_capacity(8 * 1024, f)),
        };
        t.put(
            format!(
                "# side: server\n# mode: {}\n# title: captured from {peer} by demo-server --trace\n\n",
                mode_name(mode)
            )
            .as_bytes(),
        );
        Some(t)
    }

    /// Writes; on an error the trace stops (the session goes on).
    fn put(&mut self, bytes: &[u8]) {
        if let Some(w) = &mut self.w {
            if w.write_all(bytes).is_err() {
                self.w = None;
            }
        }
    }

    fn step(&mut self, s: &str) {
        self.put(s.as_bytes());
        self.put(b"\n");
    }

    fn client(&mut self, bytes: &[u8]) {
        let mut line = Vec::with_capacity(bytes.len() + 8);
        line.extend_from_slice(b"C: ");
        for &b in bytes {
            match b {
                b'\r' => line.extend_from_slice(b"\\r"),
                b'\n' => line.extend_from_slice(b"\\n"),
                b'\t' => line.extend_from_slice(b"\\t"),
                b'\\' => line.extend_from_slice(b"\\\\"),
                0x20..=0x7e => line.push(b),
                _ => line.extend_from_slice(format!("\\x{b:02X}").as_bytes()),
            }
        }
        line.push(b'\n');
        self.put(&line);
    }

    fn server(&mut self, bytes: &[u8]) {
        let mut lines: Vec<&[u8]> = Vec::new();
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            lines.push(line);
            // The last line of a reply has a space (or nothing) after the code.
            if line.get(3) != Some(&b'-') {
                let pattern = reply_pattern(&lines);
                self.put(format!("S: {pattern}\n").as_bytes());
                lines.clear();
            }
        }
    }

    fn finish(mut self, closed: bool) {
        if closed {
            self.step("CLOSE");
        }
        if let Some(w) = &mut self.w {
            let _ = w.flush();
        }
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
