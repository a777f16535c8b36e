//! Interop under attack: a man-in-the-middle TCP proxy (tokio, in the
//! test) between swaks and the demo server injects plaintext commands
//! around STARTTLS (CVE-2011-0411 class). The server must execute none of
//! them: no MAIL event, the connection closed, nothing stored.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use common::*;
use smtp_sansio::PortMode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const INJECTED: &[u8] = b"MAIL FROM:<x@evil.example>\r\nRCPT TO:<y@evil.example>\r\n";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Attack {
    /// The client's `STARTTLS\r\n` is forwarded with commands behind it,
    /// in one segment.
    AppendToStartTls,
    /// Plaintext commands are sent to the server after its 220 to
    /// STARTTLS, before the client's TLS handshake.
    PlaintextBeforeHandshake,
}

/// Proxies one connection and returns what the server sent.
async fn proxy(listener: TcpListener, upstream: SocketAddr, attack: Attack) -> Vec<u8> {
    // Bounded: a client that never connects fails the test, not hangs it.
    let Ok(Ok((mut client, _))) =
        tokio::time::timeout(Duration::from_secs(30), listener.accept()).await
    else {
        panic!("the client never connected to the proxy");
    };
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return Vec::new();
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let mut from_server = Vec::new();
    let mut cbuf = vec![0u8; 16 * 1024];
    let mut sbuf = vec![0u8; 16 * 1024];
    let mut starttls_sent = false;
    let mut injected = false;
    // Bounded: the whole exchange is short; a stuck peer ends the proxy.
    let _ = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            tokio::select! {
                r = client.read(&mut cbuf) => {
                    let n = match r { Ok(0) | Err(_) => break, Ok(n) => n };
                    let data = &cbuf[..n];
                    if !starttls_sent && data.eq_ignore_ascii_case(b"STARTTLS\r\n") {
                        starttls_sent = true;
                        if attack == Attack::AppendToStartTls {
                            let mut seg = data.to_vec();
                            seg.extend_from_slice(INJECTED);
                            injected = true;
                            if server.write_all(&seg).await.is_err() { break; }
                            continue;
                        }
                    }
                    if server.write_all(data).await.is_err() { break; }
                }
                r = server.read(&mut sbuf) => {
                    let n = match r { Ok(0) | Err(_) => break, Ok(n) => n };
                    let data = &sbuf[..n];
                    from_server.extend_from_slice(data);
                    if attack == Attack::PlaintextBeforeHandshake
                        && starttls_sent
                        && !injected
                        && data.starts_with(b"220")
                    {
                        injected = true;
                        let _ = server.write_all(INJECTED).await;
                    }
                    if client.write_all(data).await.is_err() { break; }
                }
            }
        }
    })
    .await;
    let _ = client.shutdown().await;
    let _ = server.shutdown().await;
    assert!(injected, "the proxy never saw STARTTLS");
    from_server
}

fn attack(mode: PortMode, attack: Attack) {
    require_swaks_tls();
    let server = TestServer::start();
    let upstream = server.addr(mode);
    let (listener, proxy_addr) = server.runtime().block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let a = l.local_addr().expect("proxy addr");
        (l, a)
    });
    let proxy_task = server.runtime().spawn(proxy(listener, upstream, attack));
    let mut cmd = Command::new("swaks");
    cmd.args([
        "--server",
        "127.0.0.1",
        "--port",
        &port(proxy_addr),
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.net",
        "--tls",
        "--timeout",
        "10",
    ]);
    if mode != PortMode::Relay {
        cmd.args([
            "--auth",
            "PLAIN",
            "--auth-user",
            "alice",
            "--auth-password",
            "secret",
        ]);
    }
    let out = run_peer(&mut cmd, b"");
    let from_server = server.runtime().block_on(proxy_task).expect("proxy task");
    assert!(
        !out.success(),
        "swaks succeeded through the MITM:\n{}",
        out.stdout
    );
    server.wait_sessions_ended();
    let text = String::from_utf8_lossy(&from_server);
    assert_eq!(
        server.stat(|s| &s.mail_events),
        0,
        "an injected MAIL reached the application; server sent:\n{text}"
    );
    assert!(server.messages().is_empty(), "a message was stored");
    assert!(server.files().is_empty(), "files were written");
    // The injected MAIL got no 250 2.1.0: the connection closed first.
    assert!(!text.contains("2.1.0"), "MAIL was answered: {text}");
    match attack {
        Attack::AppendToStartTls => {
            assert!(
                text.contains("554 5.5.0"),
                "no 554 for data after STARTTLS: {text}"
            );
            assert!(server.stat(|s| &s.violations) >= 1);
            assert_eq!(server.stat(|s| &s.tls_handshakes), 0);
        }
        Attack::PlaintextBeforeHandshake => {
            assert_eq!(
                server.stat(|s| &s.tls_handshakes),
                0,
                "TLS came up after injected plaintext"
            );
        }
    }
}

#[test]
fn mitm_relay_commands_behind_starttls_are_not_executed() {
    attack(PortMode::Relay, Attack::AppendToStartTls);
}

#[test]
fn mitm_submission_commands_behind_starttls_are_not_executed() {
    attack(PortMode::Submission, Attack::AppendToStartTls);
}

#[test]
fn mitm_relay_plaintext_before_handshake_is_not_executed() {
    attack(PortMode::Relay, Attack::PlaintextBeforeHandshake);
}

#[test]
fn mitm_submission_plaintext_before_handshake_is_not_executed() {
    attack(PortMode::Submission, Attack::PlaintextBeforeHandshake);
}
