//! The async client driver against a tiny in-test server (the core
//! `Server` over tokio): every port mode, several messages per
//! connection, per-recipient results, streamed multi-MiB bodies in BDAT
//! chunks and through DATA, NOOP, an idle 421, a failing body reader.

mod support;

use std::pin::Pin;
use std::task::{Context, Poll};

use smtp_sansio::client::{ClientCredentials, ClientError, Envelope, TransactionStage};
use smtp_sansio::{ClientConfig, PortMode};
use smtp_sansio_tokio::client::{Error, Outcome, SmtpClient, TlsTrust};
use support::{Setup, TestServer};
use tokio::io::{AsyncRead, ReadBuf};

fn config(mode: PortMode) -> ClientConfig {
    let cfg = ClientConfig::new(mode, "client.example.org");
    match mode {
        PortMode::Submission | PortMode::ImplicitTls => {
            cfg.with_credentials(ClientCredentials::new("alice", "secret"))
        }
        _ => cfg,
    }
}

async fn connect(server: &TestServer, cfg: ClientConfig) -> SmtpClient {
    SmtpClient::connect(server.addr, "localhost", cfg, TlsTrust::DangerAcceptAny)
        .await
        .expect("connect")
}

/// A body of `n` octets: numbered lines, some starting with a dot.
fn body(n: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(n + 64);
    let mut i = 0u64;
    while b.len() < n {
        if i % 7 == 0 {
            b.extend_from_slice(b".");
        }
        b.extend_from_slice(
            format!("line {i} of the streamed body, abcdefghijklmnop\r\n").as_bytes(),
        );
        i += 1;
    }
    b.truncate(n);
    b.extend_from_slice(b"\r\n");
    b
}

#[tokio::test]
async fn every_mode_two_messages_per_connection_per_recipient_results() {
    for mode in [
        PortMode::Relay,
        PortMode::Submission,
        PortMode::ImplicitTls,
        PortMode::Lmtp,
    ] {
        let server = TestServer::start(Setup::new(mode)).await;
        let mut c = connect(&server, config(mode)).await;
        assert_eq!(c.machine().is_tls(), mode != PortMode::Lmtp, "{mode:?}");
        let env = Envelope::new("alice@example.org", ["bob@example.net", "xeve@example.net"]);
        let first = b"Subject: one\r\n\r\n.dot\r\nhello\r\n".to_vec();
        let r = c.send(env, &first[..]).await.expect("send");
        assert!(r.is_delivered(), "{mode:?}: {r:?}");
        assert_eq!(r.delivered_to(), ["bob@example.net"], "{mode:?}");
        assert!(r.recipients[0].accepted() && !r.recipients[1].accepted());
        assert_eq!(
            r.recipients[1].rcpt.as_ref().map(|r| r.code.get()),
            Some(550)
        );
        if mode == PortMode::Lmtp {
            assert_eq!(r.outcome, Outcome::PerRecipient);
        }
        // Every recipient refused: a failed transaction, the connection
        // stays usable.
        let env = Envelope::new("alice@example.org", ["xnobody@example.net"]);
        let r = c.send(env, &b"x\r\n"[..]).await.expect("send");
        assert!(
            matches!(
                r.outcome,
                Outcome::Failed {
                    stage: TransactionStage::Recipients,
                    ..
                }
            ),
            "{mode:?}: {r:?}"
        );
        let env = Envelope::new("alice@example.org", ["carol@example.net"]);
        let second = b"Subject: two\r\n\r\nbye\r\n".to_vec();
        assert!(c.send(env, &second[..]).await.expect("send").is_delivered());
        assert!(c.is_reusable().await);
        c.quit().await.expect("quit");
        assert_eq!(server.messages(), [first, second], "{mode:?}");
        assert_eq!(server.seen.lock().unwrap().connections, 1);
    }
}

#[tokio::test]
async fn a_streamed_multi_mib_body_in_64_kib_chunks_arrives_byte_exact() {
    let server = TestServer::start(Setup::new(PortMode::Relay)).await;
    let mut c = connect(&server, config(PortMode::Relay)).await;
    assert_eq!(c.machine().config().chunk_size, 64 * 1024);
    let b = body(5 * 1024 * 1024 + 123);
    let env = Envelope::new("alice@example.org", ["bob@example.net"]);
    let r = c.send(env, &b[..]).await.expect("send");
    assert!(r.is_delivered(), "{r:?}");
    c.quit().await.expect("quit");
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.kinds, ["Bdat"]);
    assert!(seen.messages[0] == b, "the body arrived changed");
    // The chunks: full 64 KiB ones, then the rest with LAST. (TLS hides
    // nothing here: the server records what it decrypted.)
    let input = &seen.input;
    let full = input
        .windows(13)
        .filter(|w| *w == b"BDAT 65536\r\n".as_slice().get(..13).unwrap_or(b""))
        .count();
    let full = full.max(
        input
            .windows(12)
            .filter(|w| *w == b"BDAT 65536\r\n")
            .count(),
    );
    assert_eq!(full, b.len() / 65536);
    let last = format!("BDAT {} LAST\r\n", b.len() % 65536);
    assert!(input.windows(last.len()).any(|w| w == last.as_bytes()));
}

#[tokio::test]
async fn without_chunking_a_streamed_body_goes_dot_stuffed_through_data() {
    for pipelining in [true, false] {
        let mut setup = Setup::new(PortMode::Relay);
        setup.chunking = false;
        setup.pipelining = pipelining;
        let server = TestServer::start(setup).await;
        let mut cfg = config(PortMode::Relay);
        cfg.chunk_size = 1000;
        let mut c = connect(&server, cfg).await;
        let b = body(300_000);
        let env = Envelope::new("alice@example.org", ["bob@example.net"]);
        assert!(c.send(env, &b[..]).await.expect("send").is_delivered());
        c.quit().await.expect("quit");
        let seen = server.seen.lock().unwrap();
        assert_eq!(seen.kinds, ["Data"]);
        assert!(seen.messages[0] == b, "the body arrived changed");
    }
}

#[tokio::test]
async fn noop_then_an_idle_421_is_a_typed_result() {
    let mut setup = Setup::new(PortMode::Relay);
    setup.close_after = Some(1);
    let server = TestServer::start(setup).await;
    let mut c = connect(&server, config(PortMode::Relay)).await;
    let reply = c.noop().await.expect("noop");
    assert_eq!(reply.code.get(), 250);
    let reply = c.rset().await.expect("rset");
    assert_eq!(reply.code.get(), 250);
    assert!(c.is_reusable().await);
    let env = Envelope::new("alice@example.org", ["bob@example.net"]);
    assert!(
        c.send(env, &b"hi\r\n"[..])
            .await
            .expect("send")
            .is_delivered()
    );
    // The server sends 421 and closes once the message is stored.
    let mut reusable = true;
    for _ in 0..100 {
        reusable = c.is_reusable().await;
        if !reusable {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(!reusable, "an idled-out connection is not reusable");
    match c.noop().await {
        Err(Error::Protocol(ClientError::ServiceClosing(r))) => assert_eq!(r.code.get(), 421),
        other => panic!("expected the 421, got {other:?}"),
    }
}

/// Gives `ok` octets of a body, then fails.
struct Failing {
    ok: usize,
}

impl AsyncRead for Failing {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.ok == 0 {
            return Poll::Ready(Err(std::io::Error::other("disk gone")));
        }
        let n = self.ok.min(buf.remaining()).min(1000);
        buf.put_slice(&vec![b'a'; n]);
        self.ok -= n;
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_failing_body_reader_gives_the_message_up_and_the_connection_stays_usable() {
    let server = TestServer::start(Setup::new(PortMode::Relay)).await;
    let mut cfg = config(PortMode::Relay);
    cfg.chunk_size = 4096;
    let mut c = connect(&server, cfg).await;
    let env = Envelope::new("alice@example.org", ["bob@example.net"]);
    match c.send(env.clone(), Failing { ok: 10_000 }).await {
        Err(Error::Io(e)) => assert_eq!(e.to_string(), "disk gone"),
        other => panic!("expected the reader's error, got {other:?}"),
    }
    // BDAT chunks were discarded by RSET; the next message goes through.
    assert!(
        c.send(env, &b"ok\r\n"[..])
            .await
            .expect("send")
            .is_delivered()
    );
    c.quit().await.expect("quit");
    assert_eq!(server.messages(), [b"ok\r\n".to_vec()]);
}
