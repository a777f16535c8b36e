//! BDAT chunk framing on the server (RFC 3030 2): a refused BDAT whose
//! size is known skips exactly its chunk; a BDAT line refused before its
//! size is known ends the session; a failure inside a non-LAST chunk is
//! refused at that chunk.

use smtp_sansio::{AbortReason, Server, ServerEvent, Violation};
use smtp_sansio::{PortMode, ServerConfig};

/// What one input produced: the output, the events (as text) and whether
/// a message was completed.
struct Run {
    out: String,
    events: Vec<String>,
    completed: usize,
}

/// Feeds `input`, accepting every decision.
fn run(server: &mut Server, input: &[u8]) -> Run {
    server.receive(input);
    let mut events = Vec::new();
    let mut completed = 0;
    while let Some(ev) = server.next_event() {
        if matches!(ev, ServerEvent::MessageComplete { .. }) {
            completed += 1;
        }
        events.push(format!("{ev:?}"));
        if ev.needs_decision() {
            server.accept().unwrap();
        }
    }
    let mut out = Vec::new();
    server.transmit(&mut out);
    Run {
        out: String::from_utf8_lossy(&out).into_owned(),
        events,
        completed,
    }
}

fn codes(out: &str) -> Vec<&str> {
    out.split("\r\n")
        .filter(|l| l.len() >= 4 && l.as_bytes()[3] == b' ')
        .map(|l| &l[..3])
        .collect()
}

/// A relay session with a transaction open (MAIL and one RCPT accepted).
fn in_transaction(cfg: ServerConfig) -> Server {
    let mut s = Server::new(cfg);
    run(&mut s, b"");
    let r = run(&mut s, b"EHLO c.example.org\r\n");
    assert_eq!(codes(&r.out), ["250"], "{}", r.out);
    let r = run(
        &mut s,
        b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n",
    );
    assert_eq!(codes(&r.out), ["250", "250"], "{}", r.out);
    s
}

fn relay() -> ServerConfig {
    ServerConfig::new(PortMode::Relay, "mx.example.net")
}

/// Item 1 of issue 11: every BDAT line whose size cannot be known gets one
/// 554 and closes; the smuggled commands behind it are never run.
#[test]
fn unframable_bdat_closes_without_running_what_follows() {
    let smuggled: &[u8] = b"RSET\r\nMAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@target.example>\r\nBDAT 8 LAST\r\nSMUGGLED";
    // Over the command limit (refused by the parser) and over the framing
    // limit (dropped by the framer before any parsing).
    let long = format!("BDAT 8 LAST{}\r\n", " ".repeat(600));
    let huge = format!("BDAT 8 LAST{}\r\n", "0".repeat(20_000));
    let heads: Vec<&[u8]> = vec![
        b"BDAT 18446744073709551616 LAST\r\n",
        b"BDAT -8 LAST\r\n",
        b"BDAT x LAST\r\n",
        b"BDAT +8 LAST\r\n",
        b"BDAT 0x10 LAST\r\n",
        b"BDAT 1e3 LAST\r\n",
        b"BDAT\r\n",
        b"BDAT \r\n",
        b"BDAT LAST\r\n",
        b"BDAT 8  LAST\r\n",
        b"BDAT 8 LAST \r\n",
        b"BDAT 8 LAST X\r\n",
        b"BDAT  8 LAST\r\n",
        b"BDAT\t8 LAST\r\n",
        b"bdat 8 last x\r\n",
        b"BDAT 8\n LAST\r\n",
        b"BDAT 8 LAST\nNOOP\r\n",
        b"BDAT 8\x00 LAST\r\n",
        b"BDAT\x008 LAST\r\n",
        long.as_bytes(),
        huge.as_bytes(),
    ];
    for head in heads {
        let mut s = in_transaction(relay());
        let mut input = head.to_vec();
        input.extend_from_slice(smuggled);
        let r = run(&mut s, &input);
        let shown = String::from_utf8_lossy(head);
        assert_eq!(codes(&r.out), ["554"], "{shown:?}: {}", r.out);
        assert!(r.out.starts_with("554 5.5.4 "), "{shown:?}: {}", r.out);
        assert!(s.is_closed(), "{shown:?}");
        assert_eq!(r.completed, 0, "{shown:?}");
        assert!(
            r.events.iter().any(|e| e.contains("BdatUnframable")),
            "{shown:?}: {:?}",
            r.events
        );
        assert!(
            !r.events.iter().any(|e| e.contains("attacker")),
            "{shown:?}: {:?}",
            r.events
        );
    }
}

/// The overlong BDAT line may arrive in pieces: the verb is recognised at
/// the start of the line the framer drops.
#[test]
fn overlong_bdat_line_in_pieces_closes() {
    let mut s = in_transaction(relay());
    let r = run(&mut s, b"BDAT 1");
    assert_eq!(r.out, "");
    let r = run(&mut s, "0".repeat(20_000).as_bytes());
    assert!(r.out.starts_with("554 5.5.4 "), "{}", r.out);
    assert!(s.is_closed());
    assert!(r.events.contains(&format!(
        "{:?}",
        ServerEvent::Violation(Violation::BdatUnframable)
    )));
}

/// Other verbs that merely start with the letters BDAT are not BDAT, and
/// an ordinary overlong line keeps the session open.
#[test]
fn not_bdat_lines_keep_the_session() {
    let mut s = in_transaction(relay());
    let r = run(&mut s, b"BDATX 8 LAST\r\n");
    assert_eq!(codes(&r.out), ["500"], "{}", r.out);
    assert!(!s.is_closed());
    let long = format!("NOOP {}\r\n", "a".repeat(20_000));
    let r = run(&mut s, long.as_bytes());
    assert_eq!(codes(&r.out), ["500"], "{}", r.out);
    assert!(!s.is_closed());
    let r = run(&mut s, b"NOOP\r\n");
    assert_eq!(codes(&r.out), ["250"], "{}", r.out);
}

/// A mail transaction is aborted (not left half-delivered) when the
/// session ends on an unframable BDAT between chunks.
#[test]
fn unframable_bdat_between_chunks_aborts_the_message() {
    let mut s = in_transaction(relay());
    let r = run(&mut s, b"BDAT 3\r\nabc");
    assert_eq!(codes(&r.out), ["250"], "{}", r.out);
    let r = run(&mut s, b"BDAT 3 LAST junk\r\nxyz");
    assert_eq!(codes(&r.out), ["554"], "{}", r.out);
    assert!(s.is_closed());
    assert!(r.events.contains(&format!(
        "{:?}",
        ServerEvent::MessageAborted(AbortReason::Closed)
    )));
}

/// Item 2 of issue 11: whichever check refuses a well-formed BDAT, its
/// chunk is skipped, exactly.
#[test]
fn every_refused_bdat_skips_its_chunk() {
    // Submission before TLS: 530.
    let mut s = Server::new(ServerConfig::new(PortMode::Submission, "mx"));
    run(&mut s, b"");
    run(&mut s, b"EHLO c\r\n");
    let r = run(&mut s, b"BDAT 6 LAST\r\nHELP\r\n");
    assert_eq!(codes(&r.out), ["530"], "{}", r.out);
    let r = run(&mut s, b"BDAT 10 LAST\r\nSTARTTLS\r\n");
    assert_eq!(codes(&r.out), ["530"], "{}", r.out);
    assert!(!s.wants_tls());
    let r = run(&mut s, b"NOOP\r\n");
    assert_eq!(codes(&r.out), ["250"], "{}", r.out);

    // No transaction: 503; the chunk spans two inputs.
    let mut s = Server::new(relay());
    run(&mut s, b"");
    run(&mut s, b"EHLO c\r\n");
    let r = run(&mut s, b"BDAT 12 LAST\r\nQUIT");
    assert_eq!(codes(&r.out), ["503"], "{}", r.out);
    let r = run(&mut s, b"\r\nNOOP\r\nNOOP\r\n");
    assert_eq!(codes(&r.out), ["250"], "{}", r.out);

    // CHUNKING not in effect after HELO: 502.
    let mut s = Server::new(relay());
    run(&mut s, b"");
    run(&mut s, b"HELO c\r\n");
    let r = run(&mut s, b"BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n");
    assert_eq!(codes(&r.out), ["502", "250"], "{}", r.out);
    assert!(!s.is_closed());

    // No accepted recipient: 554.
    let mut s = Server::new(relay());
    run(&mut s, b"");
    run(&mut s, b"EHLO c\r\n");
    run(&mut s, b"MAIL FROM:<a@b.example>\r\n");
    let r = run(&mut s, b"BDAT 6\r\nQUIT\r\nNOOP\r\n");
    assert_eq!(codes(&r.out), ["554", "250"], "{}", r.out);

    // After a refused greeting (554): 503, and the chunk is skipped there too.
    let mut s = Server::new(relay());
    assert_eq!(s.next_event(), Some(ServerEvent::Connected));
    s.reject(smtp_sansio::OwnedReply {
        code: smtp_sansio::ReplyCode::new(554).unwrap(),
        enhanced: None,
        lines: vec!["no".into()],
    })
    .unwrap();
    let r = run(&mut s, b"BDAT 6\r\nQUIT\r\nNOOP\r\n");
    assert_eq!(codes(&r.out), ["554", "503", "503"], "{}", r.out);
    assert!(!s.is_closed());
    let r = run(&mut s, b"QUIT\r\n");
    assert_eq!(codes(&r.out), ["221"], "{}", r.out);
}

/// Item 3 of issue 11: a failure inside a non-LAST chunk is refused at that
/// chunk; later chunks of the message are skipped and answered with an
/// error; the session goes on.
#[test]
fn failure_in_non_last_chunk_is_refused_at_that_chunk() {
    let cases: [(&str, &[u8]); 3] = [
        ("bare LF", b"BDAT 5\r\nab\ncd"),
        ("NUL", b"BDAT 5\r\na\x00b\r\n"),
        ("too big", b"BDAT 20\r\n01234567890123456789"),
    ];
    for (name, chunk) in cases {
        let mut cfg = relay();
        cfg.limits.message_size = 10;
        let mut s = in_transaction(cfg);
        let r = run(&mut s, chunk);
        assert_eq!(codes(&r.out).len(), 1, "{name}: {}", r.out);
        assert!(r.out.starts_with('5'), "{name}: {}", r.out);
        assert!(
            r.events.iter().any(|e| e.starts_with("MessageAborted")),
            "{name}: {:?}",
            r.events
        );
        // A pipelined further chunk holding commands: skipped, refused.
        let r = run(&mut s, b"BDAT 6\r\nQUIT\r\nBDAT 6 LAST\r\nQUIT\r\n");
        assert_eq!(codes(&r.out), ["554", "554"], "{name}: {}", r.out);
        assert!(!s.is_closed(), "{name}");
        assert_eq!(r.completed, 0, "{name}");
        // The transaction is over: a new one works.
        let r = run(
            &mut s,
            b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nBDAT 2 LAST\r\nok",
        );
        assert_eq!(codes(&r.out), ["250", "250", "250"], "{name}: {}", r.out);
        assert_eq!(r.completed, 1, "{name}");
    }
}

/// A good non-LAST chunk still gets `250 2.0.0 <n> octets received`.
#[test]
fn good_chunks_are_acknowledged() {
    let mut s = in_transaction(relay());
    let r = run(&mut s, b"BDAT 3\r\nabcBDAT 2 LAST\r\nde");
    assert_eq!(
        r.out,
        "250 2.0.0 3 octets received\r\n250 2.0.0 Message accepted\r\n"
    );
    assert_eq!(r.completed, 1);
}
