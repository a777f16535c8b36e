//! Interop of the client's recipient splitting (RFC 5321 4.5.3.1.10, RFC
//! 9422) with a real peer: Python's aiosmtpd with a handler that takes at
//! most two recipients per transaction (`452 4.5.3` beyond). The driver's
//! `send_seekable` sends the message again for the recipients a
//! transaction did not carry: every recipient gets the message exactly
//! once, byte-exact, and the report has a result for each.

mod common;

use std::io::Cursor;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use smtp_sansio::client::{Envelope, TlsPolicy};
use smtp_sansio::{ClientConfig, PortMode};
use smtp_sansio_tokio::client::{Outcome, SendOptions, SmtpClient, TlsTrust};

const LIMITED: &str = r#"
import sys, os
from aiosmtpd.controller import Controller
port, outdir, limit = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if len(envelope.rcpt_tos) >= limit:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"
    async def handle_DATA(self, server, session, envelope):
        n = len([f for f in os.listdir(outdir) if f.endswith(".eml")])
        name = os.path.join(outdir, "msg-%d" % n)
        with open(name + ".rcpt", "w") as f:
            f.write("\n".join(envelope.rcpt_tos))
        with open(name + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(name + ".tmp", name + ".eml")
        return "250 2.0.0 OK"
c = Controller(Handler(), hostname="127.0.0.1", port=port)
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

#[test]
fn client_splits_recipients_for_aiosmtpd_with_a_low_limit() {
    require_python_module("aiosmtpd", "pip install aiosmtpd");
    // The demo server is only used for its temporary folder here.
    let server = TestServer::start();
    let script = temp_file(&server, "aiosmtpd_limited.py", LIMITED.as_bytes());
    let dir = script.parent().expect("dir").join("aiosmtpd-limited");
    std::fs::create_dir_all(&dir).expect("dir");
    let port = free_port();
    let child = Command::new(peers_python())
        .args([path_str(&script), &port.to_string(), path_str(&dir), "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the peers venv python");
    let mut peer = Peer { child };
    wait_listening(port, &mut peer.child);

    let msg = message("aiosmtpd-limited");
    let to: Vec<String> = (0..5).map(|i| format!("r{i}@example.net")).collect();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let cfg = ClientConfig::new(PortMode::Relay, "client.example.org")
        .with_tls_policy(TlsPolicy::None)
        .expect("relay without TLS");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let report = rt
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(60), async {
                let mut c =
                    SmtpClient::connect(addr, "localhost", cfg, TlsTrust::DangerAcceptAny).await?;
                let env = Envelope::new("alice@example.org", to.clone());
                let r = c
                    .send_seekable(env, Cursor::new(msg.clone()), SendOptions::default())
                    .await?;
                c.quit().await?;
                Ok::<_, smtp_sansio_tokio::client::Error>(r)
            })
            .await
        })
        .expect("in time")
        .expect("sent");
    assert_eq!(report.outcome, Outcome::PerRecipient, "{report:?}");
    assert_eq!(report.recipients.len(), 5);
    for r in &report.recipients {
        assert!(r.accepted() && !r.unsent, "{report:?}");
        assert_eq!(
            r.delivery.as_ref().map(|d| d.code.get()),
            Some(250),
            "{report:?}"
        );
    }
    drop(peer);

    // What aiosmtpd stored: three transactions of at most two recipients,
    // each recipient once, each message byte-exact.
    let mut seen: Vec<String> = Vec::new();
    let mut n = 0;
    while let Ok(stored) = std::fs::read(dir.join(format!("msg-{n}.eml"))) {
        assert_eq!(
            String::from_utf8_lossy(&stored),
            String::from_utf8_lossy(&msg),
            "aiosmtpd received a different message"
        );
        let rcpts = std::fs::read_to_string(dir.join(format!("msg-{n}.rcpt"))).expect("rcpts");
        let rcpts: Vec<String> = rcpts.lines().map(str::to_string).collect();
        assert!(!rcpts.is_empty() && rcpts.len() <= 2, "{rcpts:?}");
        seen.extend(rcpts);
        n += 1;
    }
    assert_eq!(n, 3, "transactions stored");
    seen.sort();
    assert_eq!(seen, to);
}
