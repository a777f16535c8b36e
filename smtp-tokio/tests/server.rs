//! Socket tests of the async server driver on 127.0.0.1 port 0 (and a
//! Unix socket): every listener mode, STARTTLS, implicit TLS, AUTH,
//! timeouts mid-session, the connection limit, graceful shutdown, a
//! handler refusing RCPT, LMTP per-recipient replies, a large message
//! streamed in bounded pieces, and bad input answered by the core.
//!
//! Bounds on time are generous (a session must close within several times
//! its timeout): behaviour tests, not speed tests.

mod wire;
use wire::Wire;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smtp_sansio::{ForwardPath, PortMode, RcptParams};
use smtp_sansio_tokio::server::{
    Connection, Decision, Handler, Message, Server, Session, Shutdown, Timeouts, tls_config,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};

/// What the sessions saw.
#[derive(Default)]
struct Rec {
    /// One line per delivered message: `from -> to,to size=N auth=U tls=B`.
    messages: Mutex<Vec<String>>,
    /// Content octets handed to `data`.
    octets: AtomicU64,
    /// The largest piece handed to `data`.
    max_piece: AtomicUsize,
    sessions_ended: AtomicUsize,
}

struct H(Arc<Rec>);
struct S {
    rec: Arc<Rec>,
    size: u64,
}

impl Handler for H {
    type Session = S;
    async fn connect(&self, _: &Connection) -> Result<S, smtp_sansio::OwnedReply> {
        Ok(S {
            rec: self.0.clone(),
            size: 0,
        })
    }
}

impl Session for S {
    async fn auth(&mut self, user: &str, password: &str) -> Decision {
        if (user, password) == ("alice", "secret") {
            Decision::Accept
        } else {
            Decision::reply(535, (5, 7, 8), "Authentication credentials invalid")
        }
    }
    async fn rcpt(&mut self, to: &ForwardPath<'_>, _: &RcptParams<'_>) -> Decision {
        match to {
            ForwardPath::Mailbox(m) if m.local.as_bytes() == b"nobody" => {
                Decision::reply(550, (5, 1, 1), "No such user here")
            }
            _ => Decision::Accept,
        }
    }
    async fn data(&mut self, piece: &[u8]) {
        self.size += piece.len() as u64;
        self.rec
            .octets
            .fetch_add(piece.len() as u64, Ordering::SeqCst);
        self.rec.max_piece.fetch_max(piece.len(), Ordering::SeqCst);
    }
    async fn message(&mut self, m: &Message<'_>) -> Decision {
        let to: Vec<String> =
            m.to.iter()
                .map(|t| String::from_utf8_lossy(t).into())
                .collect();
        let line = format!(
            "{} -> {} size={} seen={} auth={} tls={}",
            String::from_utf8_lossy(m.from),
            to.join(","),
            m.size,
            self.size,
            m.auth.unwrap_or("-"),
            m.tls
        );
        self.size = 0;
        self.rec.messages.lock().unwrap().push(line);
        Decision::Accept
    }
    async fn lmtp_message(&mut self, m: &Message<'_>) -> Vec<Decision> {
        self.message(m).await;
        m.to.iter()
            .map(|t| match t.starts_with(b"<full") {
                true => Decision::reply(452, (4, 2, 2), "Mailbox full"),
                false => Decision::Accept,
            })
            .collect()
    }
    fn closed(&mut self) {
        self.rec.sessions_ended.fetch_add(1, Ordering::SeqCst);
    }
}

fn cert() -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    (vec![ck.cert.der().clone()], key)
}

struct Running {
    addrs: Vec<(PortMode, SocketAddr)>,
    rec: Arc<Rec>,
    stop: Shutdown,
    served: tokio::task::JoinHandle<()>,
    roots: rustls::RootCertStore,
}

impl Running {
    fn addr(&self, mode: PortMode) -> SocketAddr {
        self.addrs.iter().find(|(m, _)| *m == mode).expect("mode").1
    }
}

async fn start(modes: &[PortMode], tweak: impl FnOnce(Server<H>) -> Server<H>) -> Running {
    let rec = Arc::new(Rec::default());
    let (certs, key) = cert();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certs[0].clone()).expect("root");
    let srv = Server::new(H(rec.clone()))
        .hostname("mx.test")
        .tls(tls_config(certs, key).expect("tls"));
    let mut srv = tweak(srv);
    let mut addrs = Vec::new();
    for &m in modes {
        addrs.push((m, srv.listen(m, "127.0.0.1:0").await.expect("listen")));
    }
    let stop = srv.shutdown_handle();
    let served = tokio::spawn(srv.serve());
    Running {
        addrs,
        rec,
        stop,
        served,
        roots,
    }
}

async fn plain(addr: SocketAddr) -> Wire<TcpStream> {
    let s = TcpStream::connect(addr).await.expect("connect");
    Wire { s, buf: Vec::new() }
}

fn connector(roots: &rustls::RootCertStore) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
}

async fn upgrade(
    w: Wire<TcpStream>,
    roots: &rustls::RootCertStore,
) -> Wire<tokio_rustls::client::TlsStream<TcpStream>> {
    assert!(w.buf.is_empty(), "bytes before the handshake");
    let name = ServerName::try_from("localhost").expect("name");
    let s = connector(roots)
        .connect(name, w.s)
        .await
        .expect("handshake");
    Wire { s, buf: Vec::new() }
}

async fn transaction<T: AsyncRead + AsyncWrite + Unpin>(w: &mut Wire<T>, body: &str) -> String {
    assert!(
        w.cmd("MAIL FROM:<alice@example.org>")
            .await
            .starts_with("250")
    );
    assert!(w.cmd("RCPT TO:<bob@example.net>").await.starts_with("250"));
    assert!(w.cmd("DATA").await.starts_with("354"));
    w.cmd(&format!("{body}\r\n.")).await
}

#[tokio::test]
async fn relay_delivers_and_starttls_is_offered_only_with_tls() {
    let r = start(&[PortMode::Relay], |s| s).await;
    let mut w = plain(r.addr(PortMode::Relay)).await;
    assert!(w.reply().await.starts_with("220 mx.test"));
    let ehlo = w.cmd("EHLO c.example").await;
    assert!(ehlo.contains("STARTTLS"), "{ehlo}");
    let reply = transaction(&mut w, "Subject: t\r\n\r\nhello").await;
    assert!(reply.starts_with("250"), "{reply}");
    assert!(w.cmd("QUIT").await.starts_with("221"));
    let msgs = r.rec.messages.lock().unwrap().clone();
    assert_eq!(
        msgs,
        ["<alice@example.org> -> <bob@example.net> size=21 seen=21 auth=- tls=false"]
    );

    // The same listener without TLS: no STARTTLS in the EHLO reply.
    let mut srv = Server::new(H(Arc::new(Rec::default())));
    let addr = srv
        .listen(PortMode::Relay, "127.0.0.1:0")
        .await
        .expect("listen");
    let stop = srv.shutdown_handle();
    let served = tokio::spawn(srv.serve());
    let mut w = plain(addr).await;
    w.reply().await;
    let ehlo = w.cmd("EHLO c.example").await;
    assert!(
        ehlo.starts_with("250") && !ehlo.contains("STARTTLS"),
        "{ehlo}"
    );
    // Without TLS an implicit-TLS listener is refused at once.
    let mut srv = Server::new(H(Arc::new(Rec::default())));
    assert!(
        srv.listen(PortMode::ImplicitTls, "127.0.0.1:0")
            .await
            .is_err()
    );
    stop.shutdown();
    served.await.expect("served");
}

#[tokio::test]
async fn submission_needs_starttls_then_auth() {
    let r = start(&[PortMode::Submission], |s| s).await;
    let mut w = plain(r.addr(PortMode::Submission)).await;
    w.reply().await;
    let ehlo = w.cmd("EHLO c.example").await;
    assert!(!ehlo.contains("AUTH"), "AUTH offered before TLS: {ehlo}");
    assert!(w.cmd("MAIL FROM:<a@example.org>").await.starts_with("530"));
    assert!(w.cmd("STARTTLS").await.starts_with("220"));
    let mut w = upgrade(w, &r.roots).await;
    let ehlo = w.cmd("EHLO c.example").await;
    assert!(ehlo.contains("AUTH PLAIN LOGIN"), "{ehlo}");
    assert!(w.cmd("MAIL FROM:<a@example.org>").await.starts_with("530"));
    // AGFsaWNlAHdyb25n = \0alice\0wrong
    let bad = w.cmd("AUTH PLAIN AGFsaWNlAHdyb25n").await;
    assert!(bad.starts_with("535 5.7.8"), "{bad}");
    // AGFsaWNlAHNlY3JldA== = \0alice\0secret
    let ok = w.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==").await;
    assert!(ok.starts_with("235"), "{ok}");
    let reply = transaction(&mut w, "x").await;
    assert!(reply.starts_with("250"), "{reply}");
    let msgs = r.rec.messages.lock().unwrap().clone();
    assert!(msgs[0].ends_with("auth=alice tls=true"), "{msgs:?}");
}

#[tokio::test]
async fn implicit_tls_greets_inside_tls() {
    let r = start(&[PortMode::ImplicitTls], |s| s).await;
    let tcp = TcpStream::connect(r.addr(PortMode::ImplicitTls))
        .await
        .expect("connect");
    let mut w = upgrade(
        Wire {
            s: tcp,
            buf: Vec::new(),
        },
        &r.roots,
    )
    .await;
    assert!(w.reply().await.starts_with("220"));
    let ehlo = w.cmd("EHLO c.example").await;
    assert!(
        ehlo.contains("AUTH") && !ehlo.contains("STARTTLS"),
        "{ehlo}"
    );
    // AUTH LOGIN: user then password, base64 (RFC 4954 4).
    assert!(w.cmd("AUTH LOGIN").await.starts_with("334"));
    assert!(w.cmd("YWxpY2U=").await.starts_with("334"));
    assert!(w.cmd("c2VjcmV0").await.starts_with("235"));
    assert!(transaction(&mut w, "x").await.starts_with("250"));
}

#[tokio::test]
async fn handler_refuses_one_rcpt_and_the_message_goes_to_the_others() {
    let r = start(&[PortMode::Relay], |s| s).await;
    let mut w = plain(r.addr(PortMode::Relay)).await;
    w.reply().await;
    w.cmd("EHLO c.example").await;
    assert!(w.cmd("MAIL FROM:<>").await.starts_with("250"));
    let no = w.cmd("RCPT TO:<nobody@example.net>").await;
    assert!(no.starts_with("550 5.1.1 No such user here"), "{no}");
    assert!(w.cmd("RCPT TO:<bob@example.net>").await.starts_with("250"));
    assert!(w.cmd("DATA").await.starts_with("354"));
    assert!(w.cmd("x\r\n.").await.starts_with("250"));
    let msgs = r.rec.messages.lock().unwrap().clone();
    assert!(msgs[0].starts_with("<> -> <bob@example.net> "), "{msgs:?}");
}

#[tokio::test]
async fn lmtp_over_tcp_answers_per_recipient() {
    let r = start(&[PortMode::Lmtp], |s| s).await;
    let mut w = plain(r.addr(PortMode::Lmtp)).await;
    w.reply().await;
    assert!(w.cmd("LHLO c.example").await.starts_with("250"));
    w.cmd("MAIL FROM:<a@example.org>").await;
    w.cmd("RCPT TO:<bob@example.net>").await;
    w.cmd("RCPT TO:<full@example.net>").await;
    assert!(w.cmd("DATA").await.starts_with("354"));
    let first = w.cmd("x\r\n.").await;
    let second = w.reply().await;
    assert!(first.starts_with("250"), "{first}");
    assert!(second.starts_with("452 4.2.2"), "{second}");
}

#[cfg(unix)]
#[tokio::test]
async fn lmtp_over_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("smtp-tokio-unix-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("lmtp.sock");
    let rec = Arc::new(Rec::default());
    let mut srv = Server::new(H(rec.clone()));
    srv.listen_unix(&path).expect("bind unix");
    let stop = srv.shutdown_handle();
    let served = tokio::spawn(srv.serve());
    let s = tokio::net::UnixStream::connect(&path)
        .await
        .expect("connect");
    let mut w = Wire { s, buf: Vec::new() };
    assert!(w.reply().await.starts_with("220"));
    assert!(w.cmd("LHLO c.example").await.starts_with("250"));
    assert!(transaction(&mut w, "x").await.starts_with("250"));
    assert_eq!(rec.messages.lock().unwrap().len(), 1);
    stop.shutdown();
    served.await.expect("served");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_large_message_is_streamed_in_bounded_pieces() {
    const SIZE: usize = 16 << 20;
    let r = start(&[PortMode::Relay], |s| s.message_size(32 << 20)).await;
    let mut w = plain(r.addr(PortMode::Relay)).await;
    w.reply().await;
    w.cmd("EHLO c.example").await;
    w.cmd("MAIL FROM:<a@example.org>").await;
    w.cmd("RCPT TO:<b@example.net>").await;
    assert!(w.cmd("DATA").await.starts_with("354"));
    let line = format!("{}\r\n", "m".repeat(998));
    let block = line.repeat(64);
    let mut sent = 0;
    while sent < SIZE {
        w.send(block.as_bytes()).await;
        sent += block.len();
    }
    let reply = w.cmd(".").await;
    assert!(reply.starts_with("250"), "{reply}");
    assert_eq!(r.rec.octets.load(Ordering::SeqCst), sent as u64);
    let max = r.rec.max_piece.load(Ordering::SeqCst);
    // The content went through in pieces no larger than a read, never as
    // one buffer.
    assert!(max <= 64 * 1024, "a piece of {max} octets");
}

#[tokio::test]
async fn bad_input_gets_the_cores_replies_and_the_session_goes_on() {
    let r = start(&[PortMode::Relay], |s| s).await;
    let mut w = plain(r.addr(PortMode::Relay)).await;
    w.reply().await;
    w.cmd("EHLO c.example").await;
    let bad = w.cmd("MAIL FROM:<no closing bracket").await;
    assert!(bad.starts_with("501"), "{bad}");
    let nix = w.cmd("FOO bar").await;
    assert!(nix.starts_with("500"), "{nix}");
    // A bare LF is refused once the line's CRLF arrives (RFC 5321 2.3.8).
    let bare = w.cmd("NOOP\nNOOP").await;
    assert!(bare.starts_with('5'), "bare LF accepted: {bare}");
    let long = w.cmd(&"N".repeat(5000)).await;
    assert!(long.starts_with("500"), "{long}");
    assert!(w.cmd("NOOP").await.starts_with("250"));
    // Socket errors end one session, never the server: a reset mid-command.
    let mut s = plain(r.addr(PortMode::Relay)).await;
    s.reply().await;
    s.send(b"MAIL FROM:<half").await;
    #[allow(deprecated)]
    s.s.set_linger(Some(Duration::ZERO)).expect("linger");
    drop(s);
    assert!(w.cmd("NOOP").await.starts_with("250"));
    let mut again = plain(r.addr(PortMode::Relay)).await;
    assert!(again.reply().await.starts_with("220"));
}

#[tokio::test]
async fn timeouts_fire_mid_session_and_trickling_does_not_push_them_back() {
    let t = Timeouts::all(Duration::from_secs(1));
    let r = start(&[PortMode::Relay], |s| s.timeouts(t)).await;
    // After a few commands, silence.
    let mut w = plain(r.addr(PortMode::Relay)).await;
    w.reply().await;
    w.cmd("EHLO c.example").await;
    w.cmd("MAIL FROM:<a@example.org>").await;
    let rest = w.rest().await;
    assert!(rest.starts_with("421 4.4.2"), "{rest:?}");
    // A command trickled an octet every 300 ms.
    let mut w = plain(r.addr(PortMode::Relay)).await;
    w.reply().await;
    w.cmd("EHLO c.example").await;
    let started = tokio::time::Instant::now();
    let mut closed = String::new();
    for b in b"NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx".iter() {
        if w.s.write_all(&[*b]).await.is_err() {
            break;
        }
        let mut chunk = [0u8; 512];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(300), w.s.read(&mut chunk)).await
        {
            closed = String::from_utf8_lossy(&chunk[..n]).into_owned();
            break;
        }
    }
    assert!(closed.starts_with("421 4.4.2"), "{closed:?}");
    assert!(started.elapsed() < Duration::from_secs(8));
    // Stalled inside DATA.
    let mut w = plain(r.addr(PortMode::Relay)).await;
    w.reply().await;
    w.cmd("EHLO c.example").await;
    w.cmd("MAIL FROM:<a@example.org>").await;
    w.cmd("RCPT TO:<b@example.net>").await;
    w.cmd("DATA").await;
    w.send(b"Subject: half\r\n").await;
    assert!(w.rest().await.starts_with("421 4.4.2"));
    assert!(r.rec.messages.lock().unwrap().is_empty());
}

#[tokio::test]
async fn connections_beyond_the_limit_get_421() {
    let r = start(&[PortMode::Relay, PortMode::ImplicitTls], |s| {
        s.max_connections(1)
    })
    .await;
    let mut first = plain(r.addr(PortMode::Relay)).await;
    assert!(first.reply().await.starts_with("220"));
    let mut over = plain(r.addr(PortMode::Relay)).await;
    let rest = over.rest().await;
    assert!(rest.starts_with("421 4.7.0"), "{rest:?}");
    // On the implicit-TLS port the refusal comes inside TLS.
    let tcp = TcpStream::connect(r.addr(PortMode::ImplicitTls))
        .await
        .expect("connect");
    let mut over = upgrade(
        Wire {
            s: tcp,
            buf: Vec::new(),
        },
        &r.roots,
    )
    .await;
    assert!(over.reply().await.starts_with("421 4.7.0"));
    // The first one is served as before, and a freed slot is a slot again.
    assert!(first.cmd("NOOP").await.starts_with("250"));
    assert!(first.cmd("QUIT").await.starts_with("221"));
    let mut ok = false;
    for _ in 0..100 {
        let mut w = plain(r.addr(PortMode::Relay)).await;
        if w.reply().await.starts_with("220") {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "the freed slot never came back");
}

#[tokio::test]
async fn shutdown_sends_421_at_the_next_command_boundary_and_keeps_accepted_mail() {
    let r = start(&[PortMode::Relay], |s| s).await;
    let addr = r.addr(PortMode::Relay);
    let mut idle = plain(addr).await;
    idle.reply().await;
    idle.cmd("EHLO c.example").await;
    let mut busy = plain(addr).await;
    busy.reply().await;
    busy.cmd("EHLO c.example").await;
    busy.cmd("MAIL FROM:<a@example.org>").await;
    busy.cmd("RCPT TO:<b@example.net>").await;
    assert!(busy.cmd("DATA").await.starts_with("354"));
    busy.send(b"Subject: in flight\r\n\r\n").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    r.stop.shutdown();
    // The idle session is told at once.
    let rest = idle.rest().await;
    assert!(rest.starts_with("421 4.3.2"), "{rest:?}");
    // The one inside DATA finishes its message, then gets the 421.
    let done = busy.cmd("body\r\n.").await;
    assert!(done.starts_with("250"), "{done}");
    assert!(busy.rest().await.starts_with("421 4.3.2"));
    assert_eq!(r.rec.messages.lock().unwrap().len(), 1);
    // No new connections; serve() returns within its grace.
    tokio::time::timeout(Duration::from_secs(10), r.served)
        .await
        .expect("serve returned")
        .expect("no panic");
    assert!(TcpStream::connect(addr).await.is_err());
    assert_eq!(r.rec.sessions_ended.load(Ordering::SeqCst), 2);
}
