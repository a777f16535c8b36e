//! Socket tests of the blocking server (`blocking::server`) on 127.0.0.1
//! port 0: relay, STARTTLS, implicit TLS with AUTH, a refused RCPT, a
//! timeout mid-session, the connection limit and shutdown.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smtp_sansio::{ForwardPath, PortMode, RcptParams};
use smtp_sansio_tokio::blocking::server::{
    Connection, Decision, Handler, Message, Server, Session, Shutdown, Timeouts,
};
use smtp_sansio_tokio::server::tls_config;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

#[derive(Default)]
struct Rec {
    messages: Mutex<Vec<String>>,
}

struct H(Arc<Rec>);
struct S(Arc<Rec>, Vec<u8>);

impl Handler for H {
    type Session = S;
    fn connect(&self, _: &Connection) -> Result<S, smtp_sansio::OwnedReply> {
        Ok(S(self.0.clone(), Vec::new()))
    }
}

impl Session for S {
    fn auth(&mut self, user: &str, password: &str) -> Decision {
        match (user, password) == ("alice", "secret") {
            true => Decision::Accept,
            false => Decision::reply(535, (5, 7, 8), "Authentication credentials invalid"),
        }
    }
    fn rcpt(&mut self, to: &ForwardPath<'_>, _: &RcptParams<'_>) -> Decision {
        match to {
            ForwardPath::Mailbox(m) if m.local.as_bytes() == b"nobody" => {
                Decision::reply(550, (5, 1, 1), "No such user here")
            }
            _ => Decision::Accept,
        }
    }
    fn data(&mut self, piece: &[u8]) {
        self.1.extend_from_slice(piece);
    }
    fn message(&mut self, m: &Message<'_>) -> Decision {
        let line = format!(
            "{} rcpts={} auth={} tls={} {:?}",
            String::from_utf8_lossy(m.from),
            m.to.len(),
            m.auth.unwrap_or("-"),
            m.tls,
            String::from_utf8_lossy(&std::mem::take(&mut self.1))
        );
        self.0.messages.lock().unwrap().push(line);
        Decision::Accept
    }
}

struct Running {
    addrs: Vec<(PortMode, SocketAddr)>,
    rec: Arc<Rec>,
    stop: Shutdown,
    served: std::thread::JoinHandle<()>,
    roots: rustls::RootCertStore,
}

fn start(modes: &[PortMode], tweak: impl FnOnce(Server<H>) -> Server<H>) -> Running {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).expect("root");
    let rec = Arc::new(Rec::default());
    let srv =
        Server::new(H(rec.clone())).tls(tls_config(vec![ck.cert.der().clone()], key).expect("tls"));
    let mut srv = tweak(srv);
    let addrs = modes
        .iter()
        .map(|&m| (m, srv.listen(m, "127.0.0.1:0").expect("listen")))
        .collect();
    let stop = srv.shutdown_handle();
    let served = std::thread::spawn(move || srv.serve());
    Running {
        addrs,
        rec,
        stop,
        served,
        roots,
    }
}

struct Wire<T> {
    s: T,
    buf: Vec<u8>,
}

impl<T: Read + Write> Wire<T> {
    fn reply(&mut self) -> String {
        loop {
            let mut start = 0;
            while let Some(i) = self.buf[start..].windows(2).position(|w| w == b"\r\n") {
                let end = start + i + 2;
                if self.buf.get(start + 3) != Some(&b'-') {
                    let r: Vec<u8> = self.buf.drain(..end).collect();
                    return String::from_utf8_lossy(&r).into_owned();
                }
                start = end;
            }
            let mut chunk = [0u8; 4096];
            match self.s.read(&mut chunk) {
                Ok(0) | Err(_) => {
                    return String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned();
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
    fn cmd(&mut self, line: &str) -> String {
        self.s
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("write");
        let _ = self.s.flush();
        self.reply()
    }
}

fn plain(addr: SocketAddr) -> Wire<TcpStream> {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    Wire { s, buf: Vec::new() }
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn tls(s: TcpStream, roots: &rustls::RootCertStore) -> Wire<Tls> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("name");
    let c = rustls::ClientConnection::new(Arc::new(cfg), name).expect("client");
    Wire {
        s: rustls::StreamOwned::new(c, s),
        buf: Vec::new(),
    }
}

fn transaction<T: Read + Write>(w: &mut Wire<T>) -> String {
    assert!(w.cmd("MAIL FROM:<a@example.org>").starts_with("250"));
    assert!(w.cmd("RCPT TO:<b@example.net>").starts_with("250"));
    assert!(w.cmd("DATA").starts_with("354"));
    w.cmd("Subject: s\r\n\r\n..dot\r\n.")
}

#[test]
fn relay_and_a_refused_rcpt() {
    let r = start(&[PortMode::Relay], |s| s);
    let mut w = plain(r.addrs[0].1);
    assert!(w.reply().starts_with("220"));
    assert!(w.cmd("EHLO c.example").contains("STARTTLS"));
    assert!(w.cmd("MAIL FROM:<>").starts_with("250"));
    assert!(
        w.cmd("RCPT TO:<nobody@example.net>")
            .starts_with("550 5.1.1")
    );
    assert!(w.cmd("RCPT TO:<bob@example.net>").starts_with("250"));
    assert!(w.cmd("DATA").starts_with("354"));
    assert!(w.cmd("x\r\n.").starts_with("250"));
    assert!(w.cmd("QUIT").starts_with("221"));
    let msgs = r.rec.messages.lock().unwrap().clone();
    assert_eq!(msgs, ["<> rcpts=1 auth=- tls=false \"x\\r\\n\""]);
}

#[test]
fn starttls_then_auth_on_submission() {
    let r = start(&[PortMode::Submission], |s| s);
    let mut w = plain(r.addrs[0].1);
    w.reply();
    assert!(!w.cmd("EHLO c.example").contains("AUTH"));
    assert!(w.cmd("STARTTLS").starts_with("220"));
    let mut w = tls(w.s, &r.roots);
    assert!(w.cmd("EHLO c.example").contains("AUTH PLAIN LOGIN"));
    assert!(w.cmd("AUTH PLAIN AGFsaWNlAHdyb25n").starts_with("535"));
    assert!(w.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==").starts_with("235"));
    assert!(transaction(&mut w).starts_with("250"));
    let msgs = r.rec.messages.lock().unwrap().clone();
    assert_eq!(
        msgs,
        ["<a@example.org> rcpts=1 auth=alice tls=true \"Subject: s\\r\\n\\r\\n.dot\\r\\n\""]
    );
}

#[test]
fn implicit_tls_with_auth() {
    let r = start(&[PortMode::ImplicitTls], |s| s);
    let s = TcpStream::connect(r.addrs[0].1).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut w = tls(s, &r.roots);
    assert!(w.reply().starts_with("220"));
    let ehlo = w.cmd("EHLO c.example");
    assert!(
        ehlo.contains("AUTH") && !ehlo.contains("STARTTLS"),
        "{ehlo}"
    );
    assert!(w.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==").starts_with("235"));
    assert!(transaction(&mut w).starts_with("250"));
}

#[test]
fn timeout_mid_session_limit_and_shutdown() {
    let t = Timeouts::all(Duration::from_secs(1));
    let r = start(&[PortMode::Relay], |s| s.timeouts(t).max_connections(1));
    let addr = r.addrs[0].1;
    let mut w = plain(addr);
    w.reply();
    w.cmd("EHLO c.example");
    // Over the limit while the first session runs.
    let mut over = plain(addr);
    assert!(over.reply().starts_with("421 4.7.0"));
    // A trickled command does not push the deadline back.
    let started = std::time::Instant::now();
    for b in b"NOOP xxxx" {
        let _ = w.s.write_all(&[*b]);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(w.reply().starts_with("421 4.4.2"));
    assert!(started.elapsed() < Duration::from_secs(8));
    // Shutdown: an idle session gets 421 4.3.2, serve() returns.
    let mut idle = None;
    for _ in 0..100 {
        let mut x = plain(addr);
        if x.reply().starts_with("220") {
            idle = Some(x);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut idle = idle.expect("the freed slot came back");
    r.stop.shutdown();
    assert!(idle.reply().starts_with("421 4.3.2"));
    r.served.join().expect("serve returned");
}
