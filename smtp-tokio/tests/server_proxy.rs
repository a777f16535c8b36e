//! Socket tests of the PROXY protocol in the server drivers
//! (`Server::proxy_protocol`, HAProxy PROXY protocol sections 2.1, 2.2) on
//! 127.0.0.1 port 0: the handler sees the original client as
//! `Connection::peer` (v1, v2, split across writes, pipelined commands
//! behind the header, implicit TLS behind the header); LOCAL keeps the
//! socket's peer; a malformed, missing or late header closes without a
//! greeting and without calling the handler; a listener not expecting a
//! header answers it as an unknown command. The blocking server too.

mod wire;
use wire::Wire;

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smtp_sansio::{PortMode, ProxyCommand, ProxyConfig, ProxyVersion};
use smtp_sansio_tokio::server::{
    Connection, Decision, Handler, Message, Peer, Server, Session, Timeouts, tls_config,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};

/// v1: TCP over IPv4 from 192.0.2.1:40000 to 198.51.100.2:25.
const V1: &[u8] = b"PROXY TCP4 192.0.2.1 198.51.100.2 40000 25\r\n";
/// v2 PROXY, TCP over IPv6 from [2001:db8::1]:50000 to [2001:db8::2]:25.
fn v2_tcp6() -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x24".to_vec();
    h.extend_from_slice(
        &"2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    h.extend_from_slice(
        &"2001:db8::2"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    h.extend_from_slice(&50000u16.to_be_bytes());
    h.extend_from_slice(&25u16.to_be_bytes());
    h
}
/// v2 LOCAL (the proxy's own health check): no addresses.
const V2_LOCAL: &[u8] = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00";

/// Every connection the handler saw, and each message's connection.
#[derive(Default)]
struct Rec {
    connections: Mutex<Vec<Connection>>,
    messages: Mutex<Vec<Connection>>,
}

struct H(Arc<Rec>);
struct S(Arc<Rec>);

/// MAIL, RCPT, DATA, the message and QUIT, each accepted.
async fn transaction<T: AsyncRead + AsyncWrite + Unpin>(w: &mut Wire<T>) {
    assert!(w.cmd("MAIL FROM:<a@example.org>").await.starts_with("250"));
    assert!(w.cmd("RCPT TO:<b@example.net>").await.starts_with("250"));
    assert!(w.cmd("DATA").await.starts_with("354"));
    let r = w.cmd("Subject: t\r\n\r\nhi\r\n.").await;
    assert!(r.starts_with("250"), "{r}");
    assert!(w.cmd("QUIT").await.starts_with("221"));
}

impl Handler for H {
    type Session = S;
    async fn connect(&self, c: &Connection) -> Result<S, smtp_sansio::OwnedReply> {
        self.0.connections.lock().unwrap().push(c.clone());
        Ok(S(self.0.clone()))
    }
}

impl Session for S {
    async fn message(&mut self, msg: &Message<'_>) -> Decision {
        self.0.messages.lock().unwrap().push(msg.connection.clone());
        Decision::Accept
    }
}

fn cert() -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    (vec![ck.cert.der().clone()], key)
}

struct Running {
    addr: SocketAddr,
    rec: Arc<Rec>,
    roots: rustls::RootCertStore,
}

async fn start(mode: PortMode, proxy: bool, timeouts: Timeouts) -> Running {
    let rec = Arc::new(Rec::default());
    let (certs, key) = cert();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certs[0].clone()).expect("root");
    let mut srv = Server::new(H(rec.clone()))
        .hostname("mx.test")
        .tls(tls_config(certs, key).expect("tls"))
        .timeouts(timeouts);
    if proxy {
        srv = srv.proxy_protocol(ProxyConfig::DEFAULT);
    }
    let addr = srv.listen(mode, "127.0.0.1:0").await.expect("listen");
    tokio::spawn(srv.serve());
    Running { addr, rec, roots }
}

async fn connect(addr: SocketAddr) -> (Wire<TcpStream>, SocketAddr) {
    let s = TcpStream::connect(addr).await.expect("connect");
    let me = s.local_addr().expect("local");
    (Wire { s, buf: Vec::new() }, me)
}

fn tcp(a: &str) -> Peer {
    Peer::Tcp(a.parse().unwrap())
}

/// Waits (bounded) until the handler saw `n` messages.
async fn messages(rec: &Rec, n: usize) -> Vec<Connection> {
    for _ in 0..300 {
        let m = rec.messages.lock().unwrap().clone();
        if m.len() >= n {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{n} message(s) expected");
}

#[tokio::test]
async fn v1_header_names_the_client_and_pipelined_commands_are_kept() {
    let r = start(PortMode::Relay, true, Timeouts::RFC).await;
    let (mut w, me) = connect(r.addr).await;
    // The header and the EHLO in one write.
    let mut first = V1.to_vec();
    first.extend_from_slice(b"EHLO c.example\r\n");
    w.send(&first).await;
    assert!(w.reply().await.starts_with("220 mx.test"));
    assert!(w.reply().await.starts_with("250"));
    transaction(&mut w).await;
    let c = r.rec.connections.lock().unwrap()[0].clone();
    assert_eq!(c.peer, tcp("192.0.2.1:40000"));
    assert_eq!(c.local, Some("198.51.100.2:25".parse().unwrap()));
    let p = c.proxy.as_ref().expect("proxied");
    assert_eq!(p.via, Peer::Tcp(me));
    assert_eq!(p.header.version, ProxyVersion::V1);
    assert_eq!(messages(&r.rec, 1).await[0].peer, tcp("192.0.2.1:40000"));
}

#[tokio::test]
async fn v2_header_split_across_writes() {
    let r = start(PortMode::Submission, true, Timeouts::RFC).await;
    let (mut w, _) = connect(r.addr).await;
    let h = v2_tcp6();
    for part in [&h[..5], &h[5..20], &h[20..]] {
        w.send(part).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(w.reply().await.starts_with("220 mx.test"));
    assert!(w.cmd("EHLO c.example").await.starts_with("250"));
    let c = r.rec.connections.lock().unwrap()[0].clone();
    assert_eq!(c.peer, tcp("[2001:db8::1]:50000"));
    assert_eq!(c.local, Some("[2001:db8::2]:25".parse().unwrap()));
    assert_eq!(c.proxy.as_ref().unwrap().header.version, ProxyVersion::V2);
}

#[tokio::test]
async fn v2_local_keeps_the_socket_peer() {
    let r = start(PortMode::Relay, true, Timeouts::RFC).await;
    let (mut w, me) = connect(r.addr).await;
    w.send(V2_LOCAL).await;
    assert!(w.reply().await.starts_with("220"));
    assert!(w.cmd("QUIT").await.starts_with("221"));
    let c = r.rec.connections.lock().unwrap()[0].clone();
    assert_eq!(c.peer, Peer::Tcp(me));
    let p = c.proxy.as_ref().expect("proxied");
    assert_eq!(p.header.command, ProxyCommand::Local);
    assert_eq!(p.via, Peer::Tcp(me));
}

#[tokio::test]
async fn malformed_or_missing_header_closes_without_a_greeting() {
    let r = start(PortMode::Relay, true, Timeouts::RFC).await;
    for bad in [
        &b"PROXY TCP4 192.0.2.01 198.51.100.2 40000 25\r\n"[..],
        b"EHLO c.example\r\n",
        b"\r\n\r\n\0\r\nQUIT\n\x31\x11\x00\x00",
    ] {
        let (mut w, _) = connect(r.addr).await;
        w.send(bad).await;
        assert_eq!(w.rest().await, "", "{}", String::from_utf8_lossy(bad));
    }
    assert!(r.rec.connections.lock().unwrap().is_empty());
}

#[tokio::test]
async fn no_header_in_time_closes_without_a_greeting() {
    let r = start(
        PortMode::Relay,
        true,
        Timeouts::all(Duration::from_millis(300)),
    )
    .await;
    let (mut w, _) = connect(r.addr).await;
    // Half a header, then nothing.
    w.send(&V1[..10]).await;
    assert_eq!(w.rest().await, "");
    let (mut w, _) = connect(r.addr).await;
    assert_eq!(w.rest().await, "");
    assert!(r.rec.connections.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_listener_not_expecting_a_header_refuses_it_as_a_command() {
    let r = start(PortMode::Relay, false, Timeouts::RFC).await;
    let (mut w, me) = connect(r.addr).await;
    assert!(w.reply().await.starts_with("220"));
    let reply = w
        .cmd(std::str::from_utf8(&V1[..V1.len() - 2]).unwrap())
        .await;
    assert!(reply.starts_with("500"), "{reply}");
    assert!(w.cmd("QUIT").await.starts_with("221"));
    let c = r.rec.connections.lock().unwrap()[0].clone();
    assert_eq!((c.peer.clone(), c.proxy.clone()), (Peer::Tcp(me), None));
}

#[tokio::test]
async fn implicit_tls_reads_the_header_before_the_handshake() {
    let r = start(PortMode::ImplicitTls, true, Timeouts::RFC).await;
    let (w, me) = connect(r.addr).await;
    let mut s = w.s;
    s.write_all(V1).await.expect("header");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(r.roots.clone())
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("name");
    let s = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, s)
        .await
        .expect("handshake after the header");
    let mut w = Wire { s, buf: Vec::new() };
    assert!(w.reply().await.starts_with("220 mx.test"));
    assert!(w.cmd("EHLO c.example").await.starts_with("250"));
    let c = r.rec.connections.lock().unwrap()[0].clone();
    assert_eq!(c.peer, tcp("192.0.2.1:40000"));
    assert_eq!(c.proxy.as_ref().unwrap().via, Peer::Tcp(me));
}

#[tokio::test]
async fn implicit_tls_with_a_malformed_header_closes() {
    let r = start(PortMode::ImplicitTls, true, Timeouts::RFC).await;
    let (mut w, _) = connect(r.addr).await;
    w.send(b"PROXY TCP9 x\r\n").await;
    assert_eq!(w.rest().await, "");
    assert!(r.rec.connections.lock().unwrap().is_empty());
}

mod blocking {
    use super::*;
    use smtp_sansio_tokio::blocking::server as bs;

    struct BH(Arc<Rec>);
    struct BS;
    impl bs::Handler for BH {
        type Session = BS;
        fn connect(&self, c: &Connection) -> Result<BS, smtp_sansio::OwnedReply> {
            self.0.connections.lock().unwrap().push(c.clone());
            Ok(BS)
        }
    }
    impl bs::Session for BS {}

    fn read_reply(s: &mut std::net::TcpStream) -> String {
        let mut got = Vec::new();
        let mut b = [0u8; 1];
        while !got.ends_with(b"\r\n") {
            match s.read(&mut b) {
                Ok(1) => got.push(b[0]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    #[test]
    fn blocking_server_reads_the_header_and_refuses_a_malformed_one() {
        let rec = Arc::new(Rec::default());
        let mut srv = bs::Server::new(BH(rec.clone()))
            .hostname("mx.test")
            .proxy_protocol(ProxyConfig::DEFAULT);
        let addr = srv.listen(PortMode::Relay, "127.0.0.1:0").expect("listen");
        let stop = srv.shutdown_handle();
        let t = std::thread::spawn(move || srv.serve());

        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let me = s.local_addr().unwrap();
        s.write_all(V1).unwrap();
        assert!(read_reply(&mut s).starts_with("220 mx.test"));
        s.write_all(b"QUIT\r\n").unwrap();
        assert!(read_reply(&mut s).starts_with("221"));

        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        s.write_all(b"EHLO c.example\r\n").unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert_eq!(String::from_utf8_lossy(&rest), "");

        let cs = rec.connections.lock().unwrap().clone();
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].peer, tcp("192.0.2.1:40000"));
        assert_eq!(cs[0].proxy.as_ref().unwrap().via, Peer::Tcp(me));

        // No PROXY header before implicit TLS in the blocking server.
        let mut srv2 = bs::Server::new(BH(rec.clone())).proxy_protocol(ProxyConfig::DEFAULT);
        let (certs, key) = cert();
        srv2 = srv2.tls(tls_config(certs, key).unwrap());
        let e = srv2
            .listen(PortMode::ImplicitTls, "127.0.0.1:0")
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);

        stop.shutdown();
        t.join().unwrap();
    }
}
