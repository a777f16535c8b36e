//! One connection's loop: bytes in, events out, the handler's decisions
//! in, bytes out (the core's driving loop, RFC 5321 4.1), with STARTTLS,
//! timeouts (RFC 5321 4.5.3.2) and shutdown at command boundaries.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use smtp_sansio::{AuthRequest, OwnedReply, Server as Machine, ServerConfig, ServerEvent};
use smtp_sansio::{ForwardPath, ProxyConfig, ProxyDecoder, ProxyOrigin, ProxyStatus, ReversePath};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

use super::handler::{AuthStep, Connection, Decision, Handler, Message, Peer, Proxied, Session};
use super::handler::{reply, user_and_secret};
use super::names::{escape, mode_name};
use super::trace::{Trace, Verbs};
use super::{ABORT, DATA_BLOCK_MIN, STOPPING, Shared};

/// Read buffer: small while idle, grown (once) when a read fills it.
const READ_BUF: usize = 1024;
const READ_BUF_MAX: usize = 16 * 1024;

/// A session's byte stream: plaintext until STARTTLS, or TLS.
pub(crate) enum Conn<S> {
    Plain(S),
    Tls(Box<tokio_rustls::server::TlsStream<S>>),
    Gone,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf).await,
            Conn::Tls(s) => s.read(buf).await,
            Conn::Gone => Ok(0),
        }
    }

    pub(crate) async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.write_all(bytes).await,
            Conn::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Conn::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Ends the stream (TLS sends its close_notify).
    pub(crate) async fn shutdown(&mut self) {
        let _ = match self {
            Conn::Plain(s) => s.shutdown().await,
            Conn::Tls(s) => s.shutdown().await,
            Conn::Gone => Ok(()),
        };
    }
}

/// A stream with octets already read from it in front: what followed a
/// PROXY header in the read that completed it (the start of a TLS
/// handshake on an implicit-TLS listener).
pub(crate) struct Prefixed<S> {
    head: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    pub(crate) fn new(inner: S) -> Self {
        Prefixed {
            head: Vec::new(),
            at: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.at < me.head.len() {
            let n = (me.head.len() - me.at).min(buf.remaining());
            buf.put_slice(&me.head[me.at..me.at + n]);
            me.at += n;
            if me.at == me.head.len() {
                me.head = Vec::new();
                me.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut me.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Reads the PROXY header in front of an implicit-TLS handshake (PROXY
/// protocol section 2) within `wait`; the octets after it stay in `io`
/// for the handshake. A malformed header, EOF or the timeout is an error
/// (section 2.1: the receiver must abort).
pub(crate) async fn proxy_before_tls<S: AsyncRead + Unpin>(
    io: &mut Prefixed<S>,
    cfg: ProxyConfig,
    wait: Duration,
) -> io::Result<ProxyOrigin> {
    let mut dec = ProxyDecoder::new(cfg);
    let mut got = Vec::with_capacity(256);
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + wait;
    loop {
        let n = match tokio::time::timeout_at(deadline, io.inner.read(&mut buf)).await {
            Ok(r) => r?,
            Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "PROXY header")),
        };
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        got.extend_from_slice(&buf[..n]);
        match dec.decode(&got) {
            Ok(ProxyStatus::Incomplete) => {}
            Ok(ProxyStatus::Complete { header, len }) => {
                let origin = ProxyOrigin::from_header(&header);
                io.head = got.split_off(len);
                io.at = 0;
                return Ok(origin);
            }
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
    }
}

/// The connection as the PROXY header names it: the original client as
/// the peer, the address it connected to as `local`, the proxy in
/// [`Connection::proxy`]. A header without addresses (v2 LOCAL, v1
/// UNKNOWN, sections 2.1, 2.2) leaves both as they are.
pub(crate) fn apply_proxy(conn: &mut Connection, header: ProxyOrigin) {
    let via = conn.peer.clone();
    if let Some(src) = header.source {
        conn.peer = Peer::Tcp(src);
    }
    if let Some(dst) = header.destination {
        conn.local = Some(dst);
    }
    tracing::info!(
        mode = mode_name(conn.mode),
        peer = %conn.peer,
        via = %via,
        version = ?header.version,
        command = ?header.command,
        "proxy header"
    );
    conn.proxy = Some(Proxied { via, header });
}

/// What was read before the session proper: the reads that held the
/// PROXY header (for the transcript) and how many octets of the last ones
/// follow the header (commands sent behind it).
#[derive(Default)]
pub(crate) struct PreRead {
    reads: Vec<Vec<u8>>,
    behind: usize,
}

/// Feeds the machine until its PROXY header is complete (then applies it
/// to `info`) or it closes (a malformed or missing header, EOF, a timeout:
/// no greeting, no output, section 2.1). `Ok(None)`: closed.
async fn read_proxy<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    m: &mut Machine,
    info: &mut Connection,
    wait: Duration,
    stop: &mut watch::Receiver<u8>,
) -> io::Result<Option<PreRead>> {
    let (mode, via) = (mode_name(info.mode), info.peer.to_string());
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 512];
    let mut pre = PreRead::default();
    loop {
        while let Some(ev) = m.next_event() {
            match ev {
                ServerEvent::Proxy(origin) => {
                    apply_proxy(info, origin);
                    pre.behind = m.buffered();
                    return Ok(Some(pre));
                }
                ServerEvent::Violation(v) => {
                    tracing::warn!(mode, peer = via, "proxy header refused: {v:?}");
                }
                _ => {}
            }
        }
        if m.is_closed() {
            return Ok(None);
        }
        tokio::select! {
            r = tokio::time::timeout_at(deadline, conn.read(&mut buf)) => match r {
                Ok(Ok(0)) => m.receive_eof(),
                Ok(Ok(n)) => {
                    m.receive(&buf[..n]);
                    pre.reads.push(buf[..n].to_vec());
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => m.handle_timeout(),
            },
            _ = stop.wait_for(|s| *s >= STOPPING) => return Ok(None),
        }
    }
}

/// Answers the pending decision; a reply the core refuses (a 3xx, say)
/// becomes `451 4.3.0`, so the machine never stalls.
fn decide(m: &mut Machine, d: Decision) -> bool {
    match d {
        Decision::Accept => {
            let _ = m.accept();
            true
        }
        Decision::Reply(r) => {
            let ok = r.code.is_positive_completion();
            if m.respond(r).is_err() {
                let _ = m.respond(reply(451, (4, 3, 0), "Local error in processing"));
                return false;
            }
            ok
        }
    }
}

pub(crate) fn canonical_reverse(p: &ReversePath<'_>) -> Vec<u8> {
    match p {
        ReversePath::Null => b"<>".to_vec(),
        ReversePath::Mailbox(m) => bracketed(m),
    }
}

pub(crate) fn canonical_forward(p: &ForwardPath<'_>) -> Vec<u8> {
    match p {
        ForwardPath::Postmaster => b"<Postmaster>".to_vec(),
        ForwardPath::Mailbox(m) => bracketed(m),
    }
}

fn bracketed(m: &smtp_sansio::Mailbox<'_>) -> Vec<u8> {
    let mut out = vec![b'<'];
    m.write_canonical(&mut out);
    out.push(b'>');
    out
}

/// The transaction as the driver tracks it for [`Message`].
#[derive(Default)]
struct Txn {
    from: Vec<u8>,
    to: Vec<Vec<u8>>,
}

pub(crate) async fn run<S, H>(
    mut conn: Conn<S>,
    mut info: Connection,
    cfg: Arc<ServerConfig>,
    shared: &Shared<H>,
    mut stop: watch::Receiver<u8>,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    H: Handler,
{
    let mut machine = Machine::new(cfg);
    let pre = if machine.config().proxy.is_some() {
        let wait = shared.timeouts.command;
        match read_proxy(&mut conn, &mut machine, &mut info, wait, &mut stop).await? {
            Some(pre) => Some(pre),
            None => return Ok(()),
        }
    } else {
        None
    };
    let mut sess = match shared.handler.connect(&info).await {
        Ok(s) => Some(s),
        Err(r) => {
            let _ = machine.next_event();
            let close = r.code.get() == 421;
            let _ = machine.reject(r);
            if close {
                let mut out = Vec::new();
                machine.transmit(&mut out);
                conn.write_all(&out).await?;
                conn.shutdown().await;
                return Ok(());
            }
            None
        }
    };
    let r = drive(
        &mut conn,
        &info,
        pre,
        &mut machine,
        sess.as_mut(),
        shared,
        &mut stop,
    )
    .await;
    if let Some(s) = sess.as_mut() {
        s.closed();
    }
    if r.is_ok() {
        conn.shutdown().await;
    }
    r
}

async fn drive<S, H>(
    conn: &mut Conn<S>,
    info: &Connection,
    pre: Option<PreRead>,
    m: &mut Machine,
    mut sess: Option<&mut H::Session>,
    shared: &Shared<H>,
    stop: &mut watch::Receiver<u8>,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    H: Handler,
{
    let t = shared.timeouts;
    let (mode, peer) = (mode_name(info.mode), info.peer.to_string());
    let mut trace = shared
        .trace
        .as_ref()
        .and_then(|d| Trace::create(d, info.mode, &info.peer, pre.is_some()));
    let mut verbs = Verbs::default();
    if let Some(pre) = &pre {
        // The header's reads as they came (the transcript replays them
        // with `proxy=yes`); only the commands behind it have replies.
        if let Some(tr) = &mut trace {
            pre.reads.iter().for_each(|r| tr.client(r));
        }
        verbs.greeting_first();
        if let Some(last) = pre.reads.last() {
            verbs.client(&last[last.len().saturating_sub(pre.behind)..]);
        }
    }
    let mut rbuf = vec![0u8; READ_BUF];
    let mut out = Vec::with_capacity(512);
    let mut txn = Txn::default();
    let mut auth_user: Option<String> = None;
    let mut in_message = false;
    if m.is_tls() {
        if let Some(s) = sess.as_deref_mut() {
            s.tls_started();
        }
    }
    // RFC 5321 4.5.3.2: the deadline starts when the server starts waiting
    // and only progress moves it (a reply out, or DATA_BLOCK_MIN octets).
    let mut deadline = Instant::now() + t.command;
    let mut block_octets = 0usize;
    let timer = tokio::time::sleep_until(deadline);
    tokio::pin!(timer);
    let result = loop {
        let mut start_tls = false;
        let mut message_over = false;
        while let Some(ev) = m.next_event() {
            let Some(s) = sess.as_deref_mut() else {
                // A refused session: the core answers 503 itself.
                if ev.needs_decision() {
                    let _ = m.accept();
                }
                continue;
            };
            match ev {
                ServerEvent::Connected => {
                    let _ = m.accept();
                }
                ServerEvent::Hello { kind, domain } => {
                    let d = s.hello(kind, &domain).await;
                    decide(m, d);
                }
                ServerEvent::Mail { from, params } => {
                    let f = canonical_reverse(&from);
                    let d = s.mail(&from, &params).await;
                    if decide(m, d) {
                        txn.from = f;
                        txn.to.clear();
                    }
                }
                ServerEvent::Rcpt { to, params } => {
                    let f = canonical_forward(&to);
                    let d = s.rcpt(&to, &params).await;
                    if decide(m, d) {
                        txn.to.push(f);
                    }
                }
                ServerEvent::MessageStart { kind } => {
                    in_message = true;
                    s.data_start(kind).await;
                }
                ServerEvent::MessageData(piece) => {
                    block_octets += piece.len();
                    s.data(piece).await;
                }
                ServerEvent::MessageComplete { size, recipients } => {
                    in_message = false;
                    message_over = true;
                    let helo = m.client_name().unwrap_or_default().to_vec();
                    let msg = Message {
                        connection: info,
                        helo: &helo,
                        tls: m.is_tls(),
                        auth: auth_user.as_deref(),
                        from: &txn.from,
                        to: &txn.to,
                        size,
                    };
                    let fail = || Decision::reply(451, (4, 3, 0), "Local error in processing");
                    let lmtp = info.mode == smtp_sansio::PortMode::Lmtp;
                    let ds = if lmtp {
                        tokio::time::timeout(t.data_end, s.lmtp_message(&msg))
                            .await
                            .unwrap_or_else(|_| vec![fail(); recipients])
                    } else {
                        vec![
                            tokio::time::timeout(t.data_end, s.message(&msg))
                                .await
                                .unwrap_or_else(|_| fail()),
                        ]
                    };
                    let ok = ds.iter().filter(|d| accepted(d)).count();
                    tracing::info!(
                        mode,
                        peer,
                        from = %escape(&txn.from),
                        rcpts = txn.to.len(),
                        size,
                        accepted = ok,
                        "delivered"
                    );
                    if lmtp {
                        let mut ds = ds;
                        ds.resize(recipients, fail());
                        let rs: Vec<OwnedReply> = ds.into_iter().map(into_reply).collect();
                        let _ = m.respond_each(rs);
                    } else if let Some(d) = ds.into_iter().next() {
                        decide(m, d);
                    }
                    txn.to.clear();
                }
                ServerEvent::MessageAborted(why) => {
                    in_message = false;
                    message_over = true;
                    tracing::info!(mode, peer, "message aborted: {why:?}");
                    s.aborted(why);
                }
                ServerEvent::Reset => {
                    txn = Txn::default();
                    s.reset();
                }
                ServerEvent::Auth(AuthRequest::Credentials { credentials, .. }) => {
                    let (user, secret) = user_and_secret(&credentials);
                    let d = match secret {
                        Some(p) => s.auth(user, p).await,
                        None => {
                            Decision::reply(535, (5, 7, 8), "Authentication credentials invalid")
                        }
                    };
                    let shown = escape(user.as_bytes());
                    if decide(m, d) {
                        tracing::info!(mode, peer, user = shown, "auth ok");
                        auth_user = Some(user.to_string());
                    } else {
                        tracing::warn!(mode, peer, "auth failed user={shown}");
                    }
                }
                ServerEvent::Auth(AuthRequest::Step {
                    mechanism,
                    response,
                }) => {
                    let r = response.as_ref().map(|r| r.expose().as_slice());
                    match s.auth_step(mechanism.name(), r).await {
                        AuthStep::Challenge(c) => {
                            let _ = m.auth_challenge(&c);
                        }
                        AuthStep::Done(d) => {
                            if decide(m, d) {
                                tracing::info!(mode, peer, mechanism = mechanism.name(), "auth ok");
                                auth_user = Some(format!("({})", mechanism.name()));
                            } else {
                                tracing::warn!(mode, peer, "auth failed user=?");
                            }
                        }
                    }
                }
                ServerEvent::Verify { .. } => {
                    let _ = m.accept();
                }
                ServerEvent::Etrn { .. } => {
                    let _ = m.reject(reply(458, (4, 5, 0), "No queue to run"));
                }
                ServerEvent::StartTls => start_tls = true,
                ServerEvent::Violation(v) => {
                    tracing::warn!(mode, peer, "violation: {v:?}");
                    s.violation(v);
                }
                ServerEvent::Closed => {}
                ev => {
                    if ev.needs_decision() {
                        let _ = m.accept();
                    }
                }
            }
        }
        if message_over && rbuf.len() > READ_BUF {
            rbuf = vec![0u8; READ_BUF];
        }
        m.transmit(&mut out);
        if !out.is_empty() {
            if let Some(tr) = &mut trace {
                tr.server(&out);
            }
            verbs.replies(&out, |verb, text| {
                tracing::info!(mode, peer, "refused {verb}: {text}");
            });
            if message_over {
                verbs.resume();
            }
            conn.write_all(&out).await?;
            let limit = if last_reply_code(&out) == Some(&b"354"[..]) {
                t.data_block
            } else {
                t.command
            };
            deadline = Instant::now() + limit;
            block_octets = 0;
            out.clear();
        } else if block_octets >= DATA_BLOCK_MIN {
            deadline = Instant::now() + t.data_block;
            block_octets = 0;
        }
        if m.is_closed() {
            break Ok(());
        }
        if start_tls {
            let Some(tls) = &shared.tls else {
                break Err(io::Error::other("STARTTLS without a TLS configuration"));
            };
            let Conn::Plain(tcp) = std::mem::replace(conn, Conn::Gone) else {
                break Err(io::Error::other("STARTTLS on a TLS stream"));
            };
            // The handshake reads the socket directly: nothing sent in
            // plaintext after our 220 reaches the machine (RFC 3207 5).
            let s = match tokio::time::timeout(t.handshake, tls.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => break Err(e),
                Err(_) => break Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake")),
            };
            *conn = Conn::Tls(Box::new(s));
            m.tls_established();
            tracing::debug!(mode, peer, "tls established");
            if let Some(tr) = &mut trace {
                tr.step("TLS");
            }
            verbs.clear();
            auth_user = None;
            txn = Txn::default();
            if let Some(s) = sess.as_deref_mut() {
                s.tls_started();
            }
            deadline = Instant::now() + t.command;
            continue;
        }
        // Shutdown: a session waiting for a command gets 421 4.3.2 now
        // (RFC 5321 3.8); one inside a message finishes it first.
        let boundary = !in_message && m.buffered() == 0;
        if *stop.borrow() >= STOPPING && boundary {
            conn.write_all(b"421 4.3.2 Service shutting down\r\n")
                .await?;
            if let Some(tr) = &mut trace {
                tr.server(b"421 4.3.2 Service shutting down\r\n");
            }
            break Ok(());
        }
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        tokio::select! {
            r = conn.read(&mut rbuf) => match r {
                Ok(0) => {
                    if let Some(tr) = &mut trace {
                        tr.step("EOF");
                    }
                    m.receive_eof();
                }
                Ok(n) => {
                    if let Some(tr) = &mut trace {
                        tr.client(&rbuf[..n]);
                    }
                    verbs.client(&rbuf[..n]);
                    m.receive(&rbuf[..n]);
                    if n == rbuf.len() && rbuf.len() < READ_BUF_MAX {
                        rbuf.resize(READ_BUF_MAX, 0);
                    }
                }
                Err(e) => break Err(e),
            },
            () = &mut timer => {
                if Instant::now() >= deadline && m.timeout().is_some() {
                    tracing::info!(mode, peer, "timeout: closing");
                    m.handle_timeout();
                } else {
                    deadline = Instant::now() + t.command;
                }
            }
            r = stop.changed() => {
                if r.is_err() || *stop.borrow() >= ABORT {
                    break Ok(());
                }
                // STOPPING: the boundary check above runs next turn.
            }
        }
    };
    if let Some(tr) = trace.take() {
        tr.finish();
    }
    result
}

fn accepted(d: &Decision) -> bool {
    match d {
        Decision::Accept => true,
        Decision::Reply(r) => r.code.is_positive_completion(),
    }
}

pub(crate) fn into_reply(d: Decision) -> OwnedReply {
    match d {
        Decision::Accept => reply(250, (2, 0, 0), "OK"),
        Decision::Reply(r) => r,
    }
}

/// The code of the last reply in `out`.
fn last_reply_code(out: &[u8]) -> Option<&[u8]> {
    let body = out.strip_suffix(b"\r\n").unwrap_or(out);
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    body.get(start..start + 3)
}
