//! Interop of the client (the `smtp-sansio-tokio` driver over the core
//! machine): sending to the demo server in every mode, to Python's
//! aiosmtpd (STARTTLS, implicit TLS, AUTH) and to Postfix's smtp-sink
//! (a streamed multi-MiB body in 64 KiB chunks too); and a
//! STARTTLS-stripping man in the middle, before which the client must stop
//! with nothing but EHLO sent.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use smtp_sansio::client::{ClientCredentials, ClientError, Envelope, TlsPolicy};
use smtp_sansio::{ClientConfig, PortMode};
use smtp_sansio_tokio::client::{Error, Outcome, SendReport, SmtpClient, TlsTrust};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn config(mode: PortMode, auth: bool) -> ClientConfig {
    let cfg = ClientConfig::new(mode, "client.example.org");
    if auth {
        cfg.with_credentials(ClientCredentials::new("alice", "secret"))
    } else {
        cfg
    }
}

/// Sends `body` to `addr` with the driver on a fresh current-thread
/// runtime, then QUIT.
fn send_to(addr: SocketAddr, cfg: ClientConfig, body: &[u8]) -> Result<SendReport, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), async {
            let mut c =
                SmtpClient::connect(addr, "localhost", cfg, TlsTrust::DangerAcceptAny).await?;
            let env = Envelope::new("alice@example.org", ["bob@example.net"]);
            let report = c.send(env, body).await?;
            c.quit().await?;
            Ok(report)
        })
        .await
        .map_err(|_| Error::Timeout)?
    })
}

fn assert_delivered(r: Result<SendReport, Error>) {
    match r {
        Ok(SendReport {
            outcome: Outcome::Delivered(reply),
            ..
        }) => assert_eq!(reply.code.get(), 250),
        other => panic!("not delivered: {other:?}"),
    }
}

// ----- to the demo server ----------------------------------------------------

fn to_demo(mode: PortMode, auth: bool) {
    let server = TestServer::start();
    let msg = message(&format!("client-{mode:?}"));
    assert_delivered(send_to(server.addr(mode), config(mode, auth), &msg));
    assert_stored(&server, &msg, true, auth.then_some("alice"));
}

#[test]
fn client_to_demo_relay_opportunistic_starttls() {
    to_demo(PortMode::Relay, false);
}

#[test]
fn client_to_demo_submission_starttls_auth() {
    to_demo(PortMode::Submission, true);
}

#[test]
fn client_to_demo_implicit_tls_auth() {
    to_demo(PortMode::ImplicitTls, true);
}

// ----- STARTTLS stripping MITM ----------------------------------------------

/// Proxies one connection, replacing `STARTTLS` in the server's EHLO reply
/// with a same-length unknown keyword; returns what the client sent.
async fn stripping_proxy(listener: TcpListener, upstream: SocketAddr) -> Vec<u8> {
    let Ok((mut client, _)) = listener.accept().await else {
        return Vec::new();
    };
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return Vec::new();
    };
    let mut from_client = Vec::new();
    let mut cbuf = vec![0u8; 16 * 1024];
    let mut sbuf = vec![0u8; 16 * 1024];
    let _ = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            tokio::select! {
                r = client.read(&mut cbuf) => {
                    let n = match r { Ok(0) | Err(_) => break, Ok(n) => n };
                    from_client.extend_from_slice(&cbuf[..n]);
                    if server.write_all(&cbuf[..n]).await.is_err() { break; }
                }
                r = server.read(&mut sbuf) => {
                    let n = match r { Ok(0) | Err(_) => break, Ok(n) => n };
                    let mut data = sbuf[..n].to_vec();
                    if let Some(i) = data.windows(8).position(|w| w == b"STARTTLS") {
                        data[i..i + 8].copy_from_slice(b"XSTRIPPD");
                    }
                    if client.write_all(&data).await.is_err() { break; }
                }
            }
        }
    })
    .await;
    from_client
}

#[test]
fn client_stops_when_starttls_is_stripped() {
    let server = TestServer::start();
    let rt = server.runtime();
    let (listener, proxy_addr) = rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let a = l.local_addr().expect("addr");
        (l, a)
    });
    let proxy = rt.spawn(stripping_proxy(listener, server.addr(PortMode::Submission)));
    let msg = message("stripped");
    let r = send_to(proxy_addr, config(PortMode::Submission, true), &msg);
    match r {
        Err(Error::Protocol(ClientError::TlsUnavailable)) => {}
        other => panic!("expected TlsUnavailable, got {other:?}"),
    }
    let sent = rt.block_on(proxy).expect("proxy");
    let text = String::from_utf8_lossy(&sent);
    // EHLO, then at most QUIT: no credential, no envelope, no content.
    for line in text.split_terminator("\r\n") {
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        assert!(
            verb == "EHLO" || verb == "QUIT",
            "client sent {line:?} after STARTTLS was stripped:\n{text}"
        );
    }
    assert!(
        !text.contains("AGFsaWNlAHNlY3JldA"),
        "PLAIN credentials sent"
    );
    server.wait_sessions_ended();
    assert_eq!(server.stat(|s| &s.mail_events), 0);
    assert!(server.messages().is_empty());
}

// ----- to aiosmtpd -----------------------------------------------------------

const AIOSMTPD: &str = r#"
import ssl, sys, time, os
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
mode, port, cert, key, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
def auth(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"alice" and data.password == b"secret"
    return AuthResult(success=ok)
class Handler:
    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(outdir, "msg")
        with open(name + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        with open(name + ".env", "w") as f:
            f.write("from: %s\nto: %s\nauth: %s\ntls: %s\n" % (envelope.mail_from, ",".join(envelope.rcpt_tos),
                    session.authenticated, session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None))
        os.rename(name + ".tmp", name + ".eml")
        return "250 2.0.0 OK"
kw = dict(hostname="127.0.0.1", port=port, authenticator=auth, auth_require_tls=True,
          server_hostname="localhost")
if mode == "implicit-tls":
    kw["ssl_context"] = ctx
    # aiosmtpd only knows STARTTLS as TLS: under implicit TLS it would
    # never offer AUTH with auth_require_tls (the connection is TLS anyway).
    kw["auth_require_tls"] = False
else:
    kw["tls_context"] = ctx
    kw["require_starttls"] = True
c = Controller(Handler(), **kw)
c.start()
print("READY", flush=True)
sys.stdin.read()
c.stop()
"#;

struct Peer {
    child: Child,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn wait_listening(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("peer exited early: {st}");
        }
        assert!(Instant::now() < deadline, "peer never listened on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn write_cert(dir: &Path) -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).expect("cert");
    std::fs::write(&key, ck.key_pair.serialize_pem()).expect("key");
    (path_str(&cert).into(), path_str(&key).into())
}

fn to_aiosmtpd(mode: PortMode, arg: &str) {
    require_python_module("aiosmtpd", "pip install aiosmtpd");
    // The demo server is only used for its temporary folder here.
    let server = TestServer::start();
    let script = temp_file(&server, "aiosmtpd_peer.py", AIOSMTPD.as_bytes());
    let dir = script.parent().expect("dir").join("aiosmtpd");
    std::fs::create_dir_all(&dir).expect("dir");
    let (cert, key) = write_cert(&dir);
    let port = free_port();
    let child = Command::new(peers_python())
        .args([
            path_str(&script),
            arg,
            &port.to_string(),
            &cert,
            &key,
            path_str(&dir),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the peers venv python");
    let mut peer = Peer { child };
    wait_listening(port, &mut peer.child);
    let msg = message(&format!("aiosmtpd-{arg}"));
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    assert_delivered(send_to(addr, config(mode, true), &msg));
    let stored = std::fs::read(dir.join("msg.eml")).expect("aiosmtpd stored the message");
    assert_eq!(
        String::from_utf8_lossy(&stored),
        String::from_utf8_lossy(&msg),
        "aiosmtpd received a different message"
    );
    let env = std::fs::read_to_string(dir.join("msg.env")).expect("envelope");
    assert!(env.contains("from: alice@example.org\n"), "{env}");
    assert!(env.contains("auth: True\n"), "{env}");
    assert!(env.contains("tls: True\n"), "{env}");
    drop(peer);
}

#[test]
fn client_to_aiosmtpd_starttls_auth() {
    to_aiosmtpd(PortMode::Submission, "starttls");
}

#[test]
fn client_to_aiosmtpd_implicit_tls_auth() {
    to_aiosmtpd(PortMode::ImplicitTls, "implicit-tls");
}

// ----- to Postfix smtp-sink ---------------------------------------------------

/// Runs smtp-sink, sends `msg` (relay, opportunistic TLS: smtp-sink
/// offers no STARTTLS) with this chunk size, returns the dump (envelope
/// and message, lines ending in LF) once it holds `last`.
fn through_smtp_sink(msg: &[u8], chunk_size: usize, last: &str) -> String {
    require_tool("smtp-sink", "apt-get install -y postfix (smtp-sink)");
    let server = TestServer::start();
    let dump = server.dir.with_extension("in").join("sink");
    std::fs::create_dir_all(&dump).expect("dump dir");
    // smtp-sink drops root for nobody, who must be able to write the dump.
    let _ = Command::new("chmod")
        .args(["-R", "a+rwx", path_str(dump.parent().expect("parent"))])
        .status();
    let port = free_port();
    let template = format!("{}/msg.", path_str(&dump));
    let child = Command::new("smtp-sink")
        .args([
            "-u",
            "nobody",
            "-d",
            &template,
            &format!("127.0.0.1:{port}"),
            "100",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn smtp-sink");
    let mut peer = Peer { child };
    wait_listening(port, &mut peer.child);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut cfg = config(PortMode::Relay, false)
        .with_tls_policy(TlsPolicy::Opportunistic)
        .expect("policy");
    cfg.chunk_size = chunk_size;
    assert_delivered(send_to(addr, cfg, msg));
    // The dump file holds the envelope and the message.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let found: Vec<_> = std::fs::read_dir(&dump)
            .expect("dump dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        if let Some(p) = found.first() {
            let t = std::fs::read_to_string(p).unwrap_or_default();
            if t.contains(last) {
                break t;
            }
        }
        assert!(Instant::now() < deadline, "smtp-sink wrote no dump");
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(peer);
    text
}

#[test]
fn client_to_smtp_sink() {
    let msg = message("smtp-sink");
    let text = through_smtp_sink(&msg, 64 * 1024, "end");
    assert!(text.contains("Subject: interop smtp-sink"), "{text}");
    assert!(text.contains("alice@example.org"), "{text}");
}

/// A 6 MiB body streamed in 64 KiB pieces through dot-stuffed DATA
/// (smtp-sink offers no CHUNKING; the BDAT path is checked byte-exact
/// against the core server in `smtp-tokio/tests/client.rs`) arrives
/// intact, dot lines included.
#[test]
fn client_streams_multi_mib_to_smtp_sink() {
    let mut msg = b"Subject: interop big\r\n\r\n".to_vec();
    let mut i = 0u64;
    while msg.len() < 6 * 1024 * 1024 {
        let dot = if i % 5 == 0 { "." } else { "" };
        msg.extend_from_slice(
            format!("{dot}line {i:08} abcdefghijklmnopqrstuvwxyz\r\n").as_bytes(),
        );
        i += 1;
    }
    let last = format!("line {:08} abcdefghijklmnopqrstuvwxyz\n", i - 1);
    let text = through_smtp_sink(&msg, 64 * 1024, &last);
    // smtp-sink's dump ends lines in LF.
    let body = String::from_utf8_lossy(&msg).replace("\r\n", "\n");
    assert!(
        text.contains(body.as_str()),
        "smtp-sink's dump does not hold the message byte-exact ({} octets dumped)",
        text.len()
    );
}
