//! The client (the `smtp-sansio-tokio` driver over the core machine)
//! against real mail servers, each a private instance on a free loopback
//! port from its own temp folder (see `peers/mod.rs`):
//!
//! * Postfix `smtpd`: STARTTLS, PIPELINING, CHUNKING (`BDAT` chunks) and
//!   DSN (`RET`, `ENVID`, `NOTIFY`, `ORCPT`), and dot-stuffed DATA when
//!   CHUNKING is not offered; the message is read back from the hold queue
//!   byte-exact, the DSN requests from its envelope records.
//! * Postfix submission (STARTTLS required, AUTH) and implicit TLS (AUTH)
//!   with Cyrus SASL.
//! * Postfix answering the blocking client's VRFY, EXPN, HELP and ETRN.
//! * Exim: CHUNKING and PRDR advertised (the client has no PRDR; it must
//!   take the EHLO reply and send with BDAT), the message appended
//!   byte-exact to a file.
//!
//! A missing peer fails with `bash scripts/install-peers.sh`.

mod peers;

use std::net::SocketAddr;
use std::time::Duration;

use peers::{Exim, Postfix};
use smtp_sansio::client::{ClientConfig, ClientCredentials, ClientError, Dsn, Envelope, TlsPolicy};
use smtp_sansio::{Extensions, Notify, PortMode, Ret};
use smtp_sansio_tokio::client::{Error, Outcome, SendReport, SmtpClient, TlsTrust};

/// The message every test sends: CRLF lines, a line starting with a dot
/// and one that is only a dot (dot-stuffing under DATA), an empty line,
/// 8-bit-free.
fn message(tag: &str) -> Vec<u8> {
    let mut m = format!(
        "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: peers {tag}\r\n\
         Message-ID: <{tag}@peers.test>\r\n\r\n\
         first line\r\n.leading dot\r\n..two dots\r\n\r\n.\r\nafter the dot line\r\n"
    )
    .into_bytes();
    for i in 0..200 {
        m.extend_from_slice(format!("line {i:03} {}\r\n", "x".repeat(70)).as_bytes());
    }
    m.extend_from_slice(b"end\r\n");
    m
}

/// What the client saw of the server and the transaction.
struct Sent {
    report: SendReport,
    extensions: Extensions,
    tls: bool,
}

/// Connects (relay, opportunistic STARTTLS), sends `body` with `env` and
/// `chunk_size`, QUITs.
fn send(addr: SocketAddr, env: Envelope, body: &[u8], chunk_size: usize) -> Result<Sent, Error> {
    let mut cfg = ClientConfig::new(PortMode::Relay, "client.example.org")
        .with_tls_policy(TlsPolicy::Opportunistic)
        .expect("policy");
    cfg.chunk_size = chunk_size;
    send_with(addr, cfg, env, body)
}

/// Connects with `cfg`, sends `body` with `env`, QUITs.
fn send_with(
    addr: SocketAddr,
    cfg: ClientConfig,
    env: Envelope,
    body: &[u8],
) -> Result<Sent, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), async {
            let mut c =
                SmtpClient::connect(addr, "localhost", cfg, TlsTrust::DangerAcceptAny).await?;
            let extensions = c
                .machine()
                .capabilities()
                .map(|caps| caps.extensions)
                .unwrap_or_default();
            let tls = c.machine().is_tls();
            let report = c.send(env, body).await?;
            c.quit().await?;
            Ok(Sent {
                report,
                extensions,
                tls,
            })
        })
        .await
        .map_err(|_| Error::Timeout)?
    })
}

fn assert_delivered(r: &SendReport) {
    match &r.outcome {
        Outcome::Delivered(reply) => assert_eq!(reply.code.get(), 250, "{r:?}"),
        other => panic!("not delivered: {other:?}"),
    }
    assert!(r.recipients.iter().all(|x| x.accepted()), "{r:?}");
}

/// The EHLO reply of the server at `addr`, read with a plain socket.
fn raw_ehlo(addr: SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut sock = std::net::TcpStream::connect(addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let mut read_reply = |sock: &mut std::net::TcpStream, got: &mut Vec<u8>| {
        let start = got.len();
        loop {
            let n = sock.read(&mut buf).unwrap_or(0);
            if n == 0 {
                return;
            }
            got.extend_from_slice(&buf[..n]);
            let t = &got[start..];
            // Complete: the last line is `ddd ...\r\n`.
            if t.ends_with(b"\r\n") {
                let body = &t[..t.len() - 2];
                let last = body.rsplit(|&b| b == b'\n').next().unwrap_or(body);
                if last.get(3) == Some(&b' ') {
                    return;
                }
            }
        }
    };
    read_reply(&mut sock, &mut got);
    got.clear();
    sock.write_all(b"EHLO client.example.org\r\n")
        .expect("write");
    read_reply(&mut sock, &mut got);
    let _ = sock.write_all(b"QUIT\r\n");
    text(&got)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts `got == want` byte for byte; on a difference, shows the lengths
/// and the first differing offset with some context (not the whole
/// message).
fn assert_same(got: &[u8], want: &[u8], what: &str) {
    if got == want {
        return;
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let ctx = |b: &[u8]| text(&b[at.saturating_sub(40)..(at + 40).min(b.len())]);
    panic!(
        "{what}: {} octets received, {} sent, first difference at {at}:\n received {:?}\n sent     {:?}",
        got.len(),
        want.len(),
        ctx(got),
        ctx(want)
    );
}

fn dsn_envelope() -> Envelope {
    let mut env = Envelope::new(
        "alice@example.org",
        ["bob@example.net", "carol@example.net"],
    );
    env.dsn = Some(Dsn {
        ret: Some(Ret::Hdrs),
        envid: Some("QQ314159+peers".into()),
        notify: Notify::on(true, true, false),
        orcpt: true,
    });
    env
}

#[test]
fn client_to_postfix_bdat_pipelining_dsn() {
    let pf = Postfix::start("");
    let msg = message("postfix-bdat");
    // 1000-octet chunks: several BDAT commands, the last one `LAST`.
    let sent = send(pf.addr, dsn_envelope(), &msg, 1000).expect("send to postfix");
    assert_delivered(&sent.report);
    assert!(sent.tls, "STARTTLS was offered and must be used");
    for (ext, name) in [
        (Extensions::CHUNKING, "CHUNKING"),
        (Extensions::PIPELINING, "PIPELINING"),
        (Extensions::DSN, "DSN"),
    ] {
        assert!(
            sent.extensions.contains(ext),
            "postfix did not offer {name}"
        );
    }
    let files = pf.held(1);
    assert_eq!(files.len(), 1);
    let got = pf.message(&files[0]);
    assert_same(&got, &msg, "postfix's held message");
    assert!(
        pf.received(&files[0]).contains("with ESMTPS"),
        "{}",
        pf.received(&files[0])
    );
    let env = pf.envelope(&files[0]);
    for want in [
        "sender: alice@example.org",
        "recipient: bob@example.net",
        "recipient: carol@example.net",
        "named_attribute: envelope_id=QQ314159+peers",
        // RET=HDRS is Postfix's DSN_RET_HDRS (2).
        "named_attribute: ret_flags=2",
        "named_attribute: dsn_orig_rcpt=rfc822;bob@example.net",
        "named_attribute: dsn_orig_rcpt=rfc822;carol@example.net",
    ] {
        assert!(env.contains(want), "no {want:?} in the envelope:\n{env}");
    }
    // NOTIFY=SUCCESS,FAILURE is DSN_NOTIFY_SUCCESS (2) | DSN_NOTIFY_FAILURE
    // (4), once per recipient.
    assert_eq!(
        env.matches("named_attribute: notify_flags=6\n").count(),
        2,
        "{env}"
    );
    let line = pf.session_line();
    let chunks = msg.len().div_ceil(1000);
    assert!(
        line.contains(&format!("bdat={chunks} ")) && line.contains("starttls=1"),
        "expected {chunks} BDAT commands after STARTTLS: {line}"
    );
    assert!(
        !line.contains("data="),
        "DATA used despite CHUNKING: {line}"
    );
}

#[test]
fn client_to_postfix_data_without_chunking() {
    let pf = Postfix::start("smtpd_discard_ehlo_keywords = chunking\n");
    let msg = message("postfix-data");
    let sent = send(pf.addr, dsn_envelope(), &msg, 1000).expect("send to postfix");
    assert_delivered(&sent.report);
    assert!(!sent.extensions.contains(Extensions::CHUNKING));
    let files = pf.held(1);
    assert_same(&pf.message(&files[0]), &msg, "postfix's held message");
    let line = pf.session_line();
    assert!(line.contains("data=1") && !line.contains("bdat="), "{line}");
}

/// Submission (STARTTLS required, then AUTH) and implicit TLS (AUTH) to
/// Postfix with Cyrus SASL: both messages held byte-exact with the SASL
/// user in their envelope; a wrong password is the typed AUTH failure.
#[test]
fn client_to_postfix_submission_and_implicit_tls_with_auth() {
    let pf = Postfix::start_with_auth();
    let creds = ClientCredentials::new("alice", "secret");
    let mut sent = Vec::new();
    for (mode, addr) in [
        (PortMode::Submission, pf.submission.expect("submission")),
        (
            PortMode::ImplicitTls,
            pf.implicit_tls.expect("implicit TLS"),
        ),
    ] {
        let msg = message(&format!("postfix-{mode:?}"));
        let cfg = ClientConfig::new(mode, "client.example.org").with_credentials(creds.clone());
        let env = Envelope::new("alice@example.org", ["bob@example.net"]);
        let r = send_with(addr, cfg, env, &msg)
            .unwrap_or_else(|e| panic!("{mode:?}: {e}\npostfix's log:\n{}", pf.log()));
        assert!(r.tls, "{mode:?}");
        assert!(r.report.is_delivered(), "{mode:?}: {:?}", r.report);
        sent.push(msg);
    }
    let files = pf.held(2);
    let mut held: Vec<(Vec<u8>, String)> = files
        .iter()
        .map(|f| (pf.message(f), pf.envelope(f)))
        .collect();
    held.sort_by(|a, b| a.0.cmp(&b.0));
    sent.sort();
    for ((got, env), want) in held.iter().zip(&sent) {
        assert_same(got, want, "postfix's held message");
        assert!(
            env.contains("named_attribute: sasl_username=alice"),
            "{env}"
        );
        assert!(env.contains("named_attribute: sasl_method=PLAIN"), "{env}");
    }

    // A wrong password: 535, the typed error.
    let cfg = ClientConfig::new(PortMode::Submission, "client.example.org")
        .with_credentials(ClientCredentials::new("alice", "wrong"));
    let env = Envelope::new("alice@example.org", ["bob@example.net"]);
    match send_with(pf.submission.expect("submission"), cfg, env, b"x\r\n") {
        Err(Error::Protocol(ClientError::AuthFailed(reply))) => {
            assert_eq!(reply.code.get(), 535, "{reply:?}")
        }
        Err(e) => panic!("expected AuthFailed, got {e}"),
        Ok(_) => panic!("a wrong password was accepted"),
    }
}

#[test]
fn client_to_exim_bdat_with_prdr_offered() {
    let ex = Exim::start("");
    let msg = message("exim");
    let env = dsn_envelope();
    let sent = send(ex.addr, env, &msg, 1000).expect("send to exim");
    assert_delivered(&sent.report);
    assert!(sent.tls, "STARTTLS was offered and must be used");
    for (ext, name) in [
        (Extensions::CHUNKING, "CHUNKING"),
        (Extensions::PIPELINING, "PIPELINING"),
        (Extensions::DSN, "DSN"),
    ] {
        assert!(sent.extensions.contains(ext), "exim did not offer {name}");
    }
    // PRDR is not among the client's known extensions: check that Exim
    // advertised it (so the client took an EHLO reply with PRDR).
    let ehlo = raw_ehlo(ex.addr);
    assert!(ehlo.contains("250-PRDR\r\n"), "{ehlo}");
    // One appended copy per recipient, each byte-exact, then the success
    // notification NOTIFY=SUCCESS asked for (to alice, same file): two
    // completed messages.
    let file = ex.delivered(2);
    let mut want = msg.clone();
    want.extend_from_slice(&msg);
    assert_same(
        &file[..want.len().min(file.len())],
        &want,
        "exim's mail file",
    );
    let dsn = text(&file[want.len()..]);
    for line in [
        "Subject: Delivery Status Notification",
        // ENVID, reported xtext-encoded (RFC 3464 2.2.1).
        "Original-Envelope-ID: QQ314159+2Bpeers",
        "Original-Recipient: rfc822;bob@example.net",
        "Original-Recipient: rfc822;carol@example.net",
        // RET=HDRS: only the headers come back.
        "Content-type: text/rfc822-headers",
    ] {
        assert!(dsn.contains(line), "no {line:?} in exim's DSN:\n{dsn}");
    }
    assert_eq!(dsn.matches("Action: delivered").count(), 2, "{dsn}");
    assert!(!dsn.contains("first line"), "RET=HDRS returned the body");
    let log = ex.log();
    let arrival = log
        .lines()
        .find(|l| l.contains(" <= alice@example.org"))
        .unwrap_or_else(|| panic!("no arrival line:\n{log}"));
    assert!(arrival.contains(" K "), "CHUNKING not used: {arrival}");
    assert!(arrival.contains("X=TLS"), "not over TLS: {arrival}");
}

/// Postfix with `smtpd_recipient_limit = 2` answers `452 4.5.3` to the
/// third and later RCPT of a transaction (RFC 5321 4.5.3.1.10). With a
/// body it can read again (`send_seekable`) the client carries the
/// deferred recipients in further transactions on the same connection
/// (RFC 9422 / issue 16): 5 recipients make 3 held messages (2 + 2 + 1),
/// together exactly the 5, each byte-exact, and every recipient is
/// accepted once.
#[test]
fn client_to_postfix_with_a_low_recipient_limit() {
    let pf = Postfix::start("smtpd_recipient_limit = 2\n");
    let rcpts: Vec<String> = (1..=5).map(|i| format!("r{i}@example.net")).collect();
    let env = Envelope::new("alice@example.org", rcpts.clone());
    let msg = message("postfix-rcpt-limit");
    let cfg = ClientConfig::new(PortMode::Relay, "client.example.org")
        .with_tls_policy(TlsPolicy::Opportunistic)
        .expect("policy");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let report = rt
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(60), async {
                let mut c =
                    SmtpClient::connect(pf.addr, "localhost", cfg, TlsTrust::DangerAcceptAny)
                        .await?;
                let body = std::io::Cursor::new(msg.clone());
                let report = c
                    .send_seekable(env, body, smtp_sansio_tokio::client::SendOptions::default())
                    .await?;
                c.quit().await?;
                Ok::<_, Error>(report)
            })
            .await
            .map_err(|_| Error::Timeout)?
        })
        .expect("send to postfix");
    assert_eq!(report.recipients.len(), rcpts.len());
    for r in &report.recipients {
        assert!(r.accepted() && !r.unsent, "{}: {r:?}", r.address);
    }
    let accepted: Vec<&str> = report
        .recipients
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(
        accepted,
        rcpts.iter().map(String::as_str).collect::<Vec<_>>()
    );
    // One held message per transaction the client made; together they go
    // to exactly the accepted recipients, each message byte-exact.
    let transactions = accepted.len().div_ceil(2);
    let files = pf.held(transactions);
    let mut held_rcpts = Vec::new();
    for f in &files {
        assert_same(&pf.message(f), &msg, "postfix's held message");
        let env = pf.envelope(f);
        held_rcpts.extend(
            env.lines()
                .filter_map(|l| l.strip_prefix("recipient: "))
                .map(str::to_string),
        );
    }
    held_rcpts.sort();
    let mut want: Vec<String> = accepted.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(held_rcpts, want);
}

/// The blocking client (std::net, no runtime) to Exim: two messages on one
/// connection, the body from a `Read`, BDAT chunks, a NOOP between them;
/// both appended byte-exact.
#[test]
fn blocking_client_to_exim_two_messages_one_connection() {
    use smtp_sansio_tokio::blocking::client::SmtpClient as Blocking;
    let ex = Exim::start("");
    let mut cfg = ClientConfig::new(PortMode::Relay, "client.example.org")
        .with_tls_policy(TlsPolicy::Opportunistic)
        .expect("policy");
    cfg.chunk_size = 4096;
    let mut c =
        Blocking::connect(ex.addr, "localhost", cfg, TlsTrust::DangerAcceptAny).expect("connect");
    assert!(c.machine().is_tls());
    let first = message("exim-blocking-1");
    let second = message("exim-blocking-2");
    for (i, msg) in [&first, &second].into_iter().enumerate() {
        if i > 0 {
            assert!(c.is_reusable(), "the connection should still be usable");
            let noop = c.noop().expect("noop");
            assert_eq!(noop.code.get(), 250, "{noop:?}");
        }
        let env = Envelope::new("alice@example.org", ["bob@example.net"]);
        let r = c.send(env, std::io::Cursor::new(msg)).expect("send");
        assert_delivered(&r);
    }
    c.quit().expect("quit");
    let file = ex.delivered(2);
    let mut want = first.clone();
    want.extend_from_slice(&second);
    assert_same(&file, &want, "exim's mail file");
    let log = ex.log();
    assert_eq!(
        log.lines()
            .filter(|l| l.contains(" <= alice@example.org") && l.contains(" K "))
            .count(),
        2,
        "two arrivals over CHUNKING expected:\n{log}"
    );
}

/// VRFY, EXPN, HELP and ETRN (RFC 5321 4.1.1.6 to 4.1.1.8, RFC 1985) from
/// the blocking client to Postfix: VRFY answered 252 with the address,
/// EXPN and HELP (not implemented by Postfix) 500 5.5.2 without ending the
/// session, ETRN offered and refused with RFC 1985's 459 (no fast flush
/// domains); then a message on the same connection, held byte-exact.
#[test]
fn blocking_client_queries_to_postfix() {
    use smtp_sansio_tokio::blocking::client::SmtpClient as Blocking;
    let pf = Postfix::start("");
    let cfg = ClientConfig::new(PortMode::Relay, "client.example.org")
        .with_tls_policy(TlsPolicy::Opportunistic)
        .expect("policy");
    let mut c =
        Blocking::connect(pf.addr, "localhost", cfg, TlsTrust::DangerAcceptAny).expect("connect");
    let v = c.vrfy("bob@example.net").expect("vrfy");
    assert_eq!(v.code.get(), 252, "{v:?}");
    assert_eq!(v.lines, ["bob@example.net"], "{v:?}");
    for r in [c.expn("staff").expect("expn"), c.help(None).expect("help")] {
        assert_eq!(r.code.get(), 500, "{r:?}");
        assert_eq!(r.enhanced.map(|e| e.to_string()), Some("5.5.2".into()));
    }
    assert!(
        c.machine()
            .capabilities()
            .is_some_and(|caps| caps.supports(Extensions::ETRN)),
        "Postfix offers ETRN"
    );
    let t = c.etrn("example.net").expect("etrn");
    assert_eq!(t.code.get(), 459, "{t:?}");
    assert!(t.lines[0].contains("example.net"), "{t:?}");
    let env = Envelope::new("alice@example.org", ["bob@example.net"]);
    let msg = message("postfix-queries");
    let r = c.send(env, std::io::Cursor::new(&msg)).expect("send");
    assert_delivered(&r);
    c.quit().expect("quit");
    let files = pf.held(1);
    assert_same(&pf.message(&files[0]), &msg, "postfix's held message");
}
