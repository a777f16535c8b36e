//! Recipient splitting through the async driver against the in-test server
//! with a low recipient limit (`452 4.5.3` beyond it, RFC 5321
//! 4.5.3.1.10), and with the client's own `rcpt_max`: every recipient is
//! reported, each accepted exactly once, the body byte-exact in every
//! transaction.

mod support;

use std::io::Cursor;

use smtp_sansio::client::Envelope;
use smtp_sansio::{ClientConfig, PortMode};
use smtp_sansio_tokio::client::{Outcome, SendOptions, SmtpClient, TlsTrust};
use support::{Setup, TestServer};

fn rcpts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("r{i}@example.net")).collect()
}

async fn connect(server: &TestServer, cfg: ClientConfig) -> SmtpClient {
    SmtpClient::connect(server.addr, "localhost", cfg, TlsTrust::DangerAcceptAny)
        .await
        .expect("connect")
}

const BODY: &[u8] = b"Subject: split\r\n\r\n.a dot line\r\nbody\r\n";

/// Checks the server saw each recipient in exactly one transaction, at
/// most `limit` per transaction, every body byte-exact.
fn check_server(server: &TestServer, n: usize, limit: usize) {
    let seen = server.seen.lock().unwrap();
    assert!(seen.messages.iter().all(|m| m == BODY), "a body changed");
    assert!(
        seen.recipients
            .iter()
            .all(|r| !r.is_empty() && r.len() <= limit),
        "{:?}",
        seen.recipients
    );
    let mut all: Vec<String> = seen.recipients.concat();
    all.sort();
    let mut want = rcpts(n);
    want.sort();
    assert_eq!(all, want, "each recipient exactly once");
    assert_eq!(seen.connections, 1);
}

#[tokio::test]
async fn server_recipient_limit_splits_with_a_seekable_body() {
    for (chunking, pipelining) in [(true, true), (false, true), (true, false), (false, false)] {
        let mut setup = Setup::new(PortMode::Relay);
        setup.max_recipients = Some(3);
        setup.chunking = chunking;
        setup.pipelining = pipelining;
        let server = TestServer::start(setup).await;
        let mut c = connect(
            &server,
            ClientConfig::new(PortMode::Relay, "client.example.org"),
        )
        .await;
        let env = Envelope::new("alice@example.org", rcpts(8));
        let r = c
            .send_seekable(env, Cursor::new(BODY.to_vec()), SendOptions::default())
            .await
            .expect("send");
        let what = format!("chunking {chunking} pipelining {pipelining}: {r:?}");
        assert_eq!(r.recipients.len(), 8, "{what}");
        assert_eq!(r.outcome, Outcome::PerRecipient, "{what}");
        for rr in &r.recipients {
            assert!(rr.accepted(), "{what}");
            assert!(!rr.unsent, "{what}");
            assert_eq!(
                rr.delivery.as_ref().map(|d| d.code.get()),
                Some(250),
                "{what}"
            );
        }
        assert_eq!(r.delivered_to().len(), 8, "{what}");
        assert!(c.is_reusable().await);
        c.quit().await.expect("quit");
        check_server(&server, 8, 3);
        assert_eq!(server.messages().len(), 3, "{what}");
    }
}

/// `send` streams a body it cannot read again: the recipients the first
/// transaction did not carry come back `unsent`.
#[tokio::test]
async fn server_recipient_limit_with_a_one_shot_body_reports_unsent() {
    let mut setup = Setup::new(PortMode::Relay);
    setup.max_recipients = Some(2);
    let server = TestServer::start(setup).await;
    let mut c = connect(
        &server,
        ClientConfig::new(PortMode::Relay, "client.example.org"),
    )
    .await;
    let env = Envelope::new("alice@example.org", rcpts(5));
    let r = c.send(env, BODY).await.expect("send");
    assert!(matches!(r.outcome, Outcome::Delivered(_)), "{r:?}");
    let unsent: Vec<bool> = r.recipients.iter().map(|rr| rr.unsent).collect();
    assert_eq!(unsent, [false, false, true, true, true], "{r:?}");
    assert_eq!(r.delivered_to(), ["r0@example.net", "r1@example.net"]);
    c.quit().await.expect("quit");
    assert_eq!(server.messages().len(), 1);
}

/// The client's own limit (`ClientConfig::rcpt_max`, `send --rcpt-max`),
/// below the server's.
#[tokio::test]
async fn configured_rcpt_max_splits() {
    let server = TestServer::start(Setup::new(PortMode::Relay)).await;
    let mut cfg = ClientConfig::new(PortMode::Relay, "client.example.org");
    cfg.rcpt_max = Some(2);
    let mut c = connect(&server, cfg).await;
    let mut to = rcpts(5);
    to.insert(2, "xnobody@example.net".into());
    let env = Envelope::new("alice@example.org", to);
    let r = c
        .send_seekable(env, Cursor::new(BODY.to_vec()), SendOptions::default())
        .await
        .expect("send");
    assert_eq!(r.recipients.len(), 6);
    assert!(r.recipients.iter().all(|rr| !rr.unsent), "{r:?}");
    let refused: Vec<&str> = r
        .recipients
        .iter()
        .filter(|rr| !rr.accepted())
        .map(|rr| rr.address.as_str())
        .collect();
    assert_eq!(refused, ["xnobody@example.net"]);
    assert_eq!(r.delivered_to().len(), 5, "{r:?}");
    c.quit().await.expect("quit");
    check_server(&server, 5, 2);
}

/// The blocking driver: the same split through `send_seekable`, on a
/// plain thread (the server runs on its own runtime).
#[test]
fn blocking_client_splits_with_a_seekable_body() {
    use smtp_sansio_tokio::blocking::client::SmtpClient as BlockingClient;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut setup = Setup::new(PortMode::Relay);
    setup.max_recipients = Some(2);
    let server = rt.block_on(TestServer::start(setup));
    let mut c = BlockingClient::connect(
        server.addr,
        "localhost",
        ClientConfig::new(PortMode::Relay, "client.example.org"),
        TlsTrust::DangerAcceptAny,
    )
    .expect("connect");
    let env = Envelope::new("alice@example.org", rcpts(5));
    let r = c
        .send_seekable(env, Cursor::new(BODY.to_vec()), SendOptions::default())
        .expect("send");
    assert_eq!(r.outcome, Outcome::PerRecipient, "{r:?}");
    assert!(
        r.recipients.iter().all(|rr| rr.accepted() && !rr.unsent),
        "{r:?}"
    );
    assert_eq!(r.delivered_to().len(), 5);
    c.quit().expect("quit");
    check_server(&server, 5, 2);
    assert_eq!(server.messages().len(), 3);
}
