//! The client's VRFY, EXPN, HELP and ETRN (RFC 5321 4.1.1.6, 4.1.1.7,
//! 4.1.1.8; RFC 1985 3): the wire line, every reply kept whole, arguments
//! refused before anything is sent, and the states where they are refused.

use smtp_sansio::client::{ClientError, Query, QueryError, TlsPolicy};
use smtp_sansio::{Client, ClientConfig, ClientEvent, EncodeError, Envelope, PortMode};

const PLAIN: &str = "250-mx.example.net\r\n250 PIPELINING\r\n";
const ETRN: &str = "250-mx.example.net\r\n250-PIPELINING\r\n250 ETRN\r\n";
const UTF8: &str = "250-mx.example.net\r\n250 SMTPUTF8\r\n";

fn ready_with(cfg: ClientConfig, ehlo: &str) -> Client {
    let mut c = Client::new(cfg).unwrap();
    c.receive(b"220 mx.example.net\r\n");
    while c.next_event().is_some() {}
    c.receive(ehlo.as_bytes());
    let ev = events(&mut c);
    assert_eq!(ev.last(), Some(&ClientEvent::Ready), "{ev:?}");
    assert_eq!(out(&mut c), b"EHLO client.example.org\r\n");
    c
}

fn ready(ehlo: &str) -> Client {
    let cfg = ClientConfig::new(PortMode::Relay, "client.example.org")
        .with_tls_policy(TlsPolicy::None)
        .unwrap();
    ready_with(cfg, ehlo)
}

fn events(c: &mut Client) -> Vec<ClientEvent> {
    std::iter::from_fn(|| c.next_event()).collect()
}

fn out(c: &mut Client) -> Vec<u8> {
    let mut o = Vec::new();
    c.transmit(&mut o);
    o
}

/// Feeds `reply` and returns the QueryReply it gave (Ready must follow).
fn answer(c: &mut Client, want: Query, reply: &str) -> smtp_sansio::OwnedReply {
    c.receive(reply.as_bytes());
    let ev = events(c);
    match &ev[..] {
        [ClientEvent::QueryReply { query, reply }, ClientEvent::Ready] => {
            assert_eq!(*query, want);
            assert!(c.is_reusable());
            reply.clone()
        }
        other => panic!("expected QueryReply then Ready, got {other:?}"),
    }
}

fn texts(r: &smtp_sansio::OwnedReply) -> Vec<String> {
    r.lines.iter().map(|l| l.to_string()).collect()
}

#[test]
fn vrfy_sends_its_line_and_hands_every_reply_over() {
    let mut c = ready(PLAIN);
    c.vrfy("alice").unwrap();
    assert_eq!(out(&mut c), b"VRFY alice\r\n");
    let r = answer(
        &mut c,
        Query::Verify,
        "250 2.1.5 Alice <alice@example.net>\r\n",
    );
    assert_eq!(r.code.get(), 250);
    assert_eq!(texts(&r), ["Alice <alice@example.net>"]);

    c.vrfy("bob@example.net").unwrap();
    assert_eq!(out(&mut c), b"VRFY bob@example.net\r\n");
    let r = answer(
        &mut c,
        Query::Verify,
        "251 2.1.5 User not local; will forward to <bob@example.org>\r\n",
    );
    assert_eq!(r.code.get(), 251);

    c.vrfy("\"John Smith\"").unwrap();
    assert_eq!(out(&mut c), b"VRFY \"John Smith\"\r\n");
    let r = answer(&mut c, Query::Verify, "252 2.1.5 Cannot VRFY user\r\n");
    assert_eq!(r.code.get(), 252);

    c.vrfy("nobody").unwrap();
    out(&mut c);
    let r = answer(&mut c, Query::Verify, "550 5.1.1 No such user\r\n");
    assert_eq!(r.code.get(), 550);
    assert_eq!(
        r.enhanced.map(|e| (e.class, e.subject, e.detail)),
        Some((5, 1, 1))
    );

    // RFC 5321 3.5.3: an ambiguous name, one candidate a line.
    c.vrfy("smith").unwrap();
    out(&mut c);
    let r = answer(
        &mut c,
        Query::Verify,
        "553-5.1.4 Ambiguous; possibilities are\r\n553-5.1.4 Joe Smith <jsmith@example.net>\r\n553 5.1.4 Mary Smith <msmith@example.net>\r\n",
    );
    assert_eq!(r.code.get(), 553);
    assert_eq!(
        texts(&r),
        [
            "Ambiguous; possibilities are",
            "Joe Smith <jsmith@example.net>",
            "Mary Smith <msmith@example.net>"
        ]
    );

    // Not implemented: still an answer, the session goes on.
    c.vrfy("alice").unwrap();
    out(&mut c);
    let r = answer(
        &mut c,
        Query::Verify,
        "502 5.5.1 Command not implemented\r\n",
    );
    assert_eq!(r.code.get(), 502);
    assert!(!c.is_closed());
}

#[test]
fn expn_hands_the_multi_line_list_over() {
    let mut c = ready(PLAIN);
    c.expn("staff").unwrap();
    assert_eq!(out(&mut c), b"EXPN staff\r\n");
    let r = answer(
        &mut c,
        Query::Expand,
        "250-Jon Postel <Postel@isi.edu>\r\n250-Fred Fonebone <Fonebone@physics.foo-u.edu>\r\n250 Sam Q. Smith <SQSmith@specific.generic.com>\r\n",
    );
    assert_eq!(r.code.get(), 250);
    assert_eq!(
        texts(&r),
        [
            "Jon Postel <Postel@isi.edu>",
            "Fred Fonebone <Fonebone@physics.foo-u.edu>",
            "Sam Q. Smith <SQSmith@specific.generic.com>"
        ]
    );
    c.expn("list@example.net").unwrap();
    assert_eq!(out(&mut c), b"EXPN list@example.net\r\n");
    let r = answer(&mut c, Query::Expand, "550 5.1.1 Access denied to you\r\n");
    assert_eq!(r.code.get(), 550);
}

#[test]
fn help_with_and_without_a_topic() {
    let mut c = ready(PLAIN);
    c.help(None).unwrap();
    assert_eq!(out(&mut c), b"HELP\r\n");
    let r = answer(
        &mut c,
        Query::Help,
        "214-2.0.0 Commands supported:\r\n214-2.0.0 HELO EHLO MAIL RCPT DATA\r\n214 2.0.0 End of HELP info\r\n",
    );
    assert_eq!(r.code.get(), 214);
    assert_eq!(r.lines.len(), 3);
    assert_eq!(texts(&r)[1], "HELO EHLO MAIL RCPT DATA");
    c.help(Some("MAIL")).unwrap();
    assert_eq!(out(&mut c), b"HELP MAIL\r\n");
    let r = answer(&mut c, Query::Help, "211 2.0.0 MAIL FROM:<sender>\r\n");
    assert_eq!(r.code.get(), 211);
    c.help(Some("nosuchtopic")).unwrap();
    out(&mut c);
    let r = answer(&mut c, Query::Help, "504 5.3.8 HELP topic unknown\r\n");
    assert_eq!(r.code.get(), 504);
}

#[test]
fn etrn_where_offered_with_each_reply_of_rfc_1985() {
    let mut c = ready(ETRN);
    for (node, line) in [
        ("example.org", &b"ETRN example.org\r\n"[..]),
        ("@example.org", b"ETRN @example.org\r\n"),
        ("#queue1", b"ETRN #queue1\r\n"),
    ] {
        c.etrn(node).unwrap();
        assert_eq!(out(&mut c), line);
        let r = answer(&mut c, Query::Etrn, "250 2.0.0 Queuing started\r\n");
        assert_eq!(r.code.get(), 250);
    }
    for code in [251u16, 252, 253, 458, 459] {
        c.etrn("example.org").unwrap();
        assert_eq!(out(&mut c), b"ETRN example.org\r\n");
        let r = answer(&mut c, Query::Etrn, &format!("{code} queue answer\r\n"));
        assert_eq!(r.code.get(), code);
    }
}

#[test]
fn etrn_not_offered_is_refused_and_nothing_is_sent() {
    let mut c = ready(PLAIN);
    assert_eq!(c.etrn("example.org"), Err(QueryError::NotOffered));
    assert!(out(&mut c).is_empty());
    assert!(c.is_ready() && c.is_reusable());
    assert!(events(&mut c).is_empty());
    // After HELO (no extensions at all) the same.
    let cfg = ClientConfig::new(PortMode::Relay, "client.example.org")
        .with_tls_policy(TlsPolicy::None)
        .unwrap();
    let mut c = Client::new(cfg).unwrap();
    c.receive(b"220 mx.example.net\r\n");
    while c.next_event().is_some() {}
    c.receive(b"502 5.5.1 no EHLO\r\n");
    while c.next_event().is_some() {}
    c.receive(b"250 mx.example.net\r\n");
    assert_eq!(events(&mut c).last(), Some(&ClientEvent::Ready));
    out(&mut c);
    assert_eq!(c.etrn("example.org"), Err(QueryError::NotOffered));
    assert!(out(&mut c).is_empty());
    // The other queries are always allowed: the server answers 502.
    c.vrfy("alice").unwrap();
    assert_eq!(out(&mut c), b"VRFY alice\r\n");
}

#[test]
fn injection_and_bad_arguments_are_refused_before_anything_is_sent() {
    let mut c = ready(ETRN);
    let line_break = Err(QueryError::Invalid(EncodeError::LineBreak));
    assert_eq!(c.vrfy("alice\r\nMAIL FROM:<evil@example.org>"), line_break);
    assert_eq!(c.vrfy("alice\n"), line_break);
    assert_eq!(c.expn("staff\rRCPT TO:<x@example.org>"), line_break);
    assert_eq!(c.help(Some("MAIL\r\nQUIT")), line_break);
    assert_eq!(c.etrn("example.org\r\nQUIT"), line_break);
    for bad in [
        "",
        "John Smith",
        "alice SMTPUTF8",
        "a\tb",
        "a\0b",
        "a@",
        "\"unterminated",
    ] {
        assert!(
            matches!(c.vrfy(bad), Err(QueryError::Invalid(_))),
            "vrfy({bad:?})"
        );
        assert!(
            matches!(c.expn(bad), Err(QueryError::Invalid(_))),
            "expn({bad:?})"
        );
    }
    for bad in ["", "a b", "MAIL\0"] {
        assert!(
            matches!(c.help(Some(bad)), Err(QueryError::Invalid(_))),
            "help({bad:?})"
        );
    }
    for bad in ["", "#", "# q", "exa mple.org", "-example.org", "a..b", "@"] {
        assert!(
            matches!(c.etrn(bad), Err(QueryError::Invalid(_))),
            "etrn({bad:?})"
        );
    }
    // Longer than the 512-octet command line (RFC 5321 4.5.3.1.4).
    let long = "a".repeat(600);
    assert_eq!(c.vrfy(&long), Err(QueryError::TooLong));
    assert_eq!(c.help(Some(&long)), Err(QueryError::TooLong));
    assert!(out(&mut c).is_empty(), "nothing was sent");
    assert!(events(&mut c).is_empty());
    assert!(c.is_ready() && c.is_reusable());
    // The limit is configurable.
    let mut cfg = ClientConfig::new(PortMode::Relay, "client.example.org")
        .with_tls_policy(TlsPolicy::None)
        .unwrap();
    cfg.limits.command_line = 1000;
    let mut c = ready_with(cfg, PLAIN);
    c.vrfy(&long).unwrap();
    assert_eq!(out(&mut c), format!("VRFY {long}\r\n").as_bytes());
}

#[test]
fn non_ascii_arguments_need_smtputf8() {
    let mut c = ready(PLAIN);
    assert_eq!(c.vrfy("jösé"), Err(QueryError::Utf8NotAllowed));
    assert_eq!(c.expn("équipe"), Err(QueryError::Utf8NotAllowed));
    assert!(out(&mut c).is_empty());
    let mut c = ready(UTF8);
    c.vrfy("jösé").unwrap();
    assert_eq!(out(&mut c), "VRFY jösé SMTPUTF8\r\n".as_bytes());
    answer(&mut c, Query::Verify, "252 2.1.5 Cannot VRFY\r\n");
    c.expn("équipe@example.net").unwrap();
    assert_eq!(
        out(&mut c),
        "EXPN équipe@example.net SMTPUTF8\r\n".as_bytes()
    );
    answer(&mut c, Query::Expand, "550 5.7.1 no\r\n");
    // HELP and ETRN take ASCII only (RFC 6531 extends VRFY and EXPN).
    assert_eq!(c.help(Some("ü")), Err(QueryError::Utf8NotAllowed));
    assert!(out(&mut c).is_empty());
}

#[test]
fn refused_where_the_machine_is_not_ready() {
    let cfg = ClientConfig::new(PortMode::Relay, "client.example.org")
        .with_tls_policy(TlsPolicy::None)
        .unwrap();
    let mut c = Client::new(cfg).unwrap();
    // Before the greeting.
    assert_eq!(c.vrfy("alice"), Err(QueryError::Misuse));
    c.receive(b"220 mx.example.net\r\n");
    while c.next_event().is_some() {}
    // While EHLO's reply is due.
    assert_eq!(c.expn("staff"), Err(QueryError::Misuse));
    assert_eq!(c.help(None), Err(QueryError::Misuse));
    assert_eq!(out(&mut c), b"EHLO client.example.org\r\n");
    c.receive(ETRN.as_bytes());
    while c.next_event().is_some() {}
    // While another query is in flight (one command per reply).
    c.vrfy("alice").unwrap();
    assert_eq!(c.vrfy("bob"), Err(QueryError::Misuse));
    assert_eq!(c.etrn("example.org"), Err(QueryError::Misuse));
    assert_eq!(out(&mut c), b"VRFY alice\r\n");
    answer(&mut c, Query::Verify, "252 2.1.5 maybe\r\n");
    // During a transaction.
    c.send_mail(
        Envelope::new("alice@example.org", ["bob@example.net"]),
        b"Subject: t\r\n\r\nhi\r\n".to_vec(),
    )
    .unwrap();
    assert_eq!(c.help(None), Err(QueryError::Misuse));
    assert_eq!(c.etrn("example.org"), Err(QueryError::Misuse));
    let o = out(&mut c);
    assert!(
        o.starts_with(b"MAIL FROM:"),
        "{}",
        String::from_utf8_lossy(&o)
    );
    assert!(!o.windows(4).any(|w| w == b"HELP" || w == b"ETRN"));
    // After QUIT.
    c.receive(b"250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n");
    while c.next_event().is_some() {}
    out(&mut c);
    c.quit().unwrap();
    assert_eq!(c.vrfy("alice"), Err(QueryError::Misuse));
    assert_eq!(out(&mut c), b"QUIT\r\n");
}

#[test]
fn never_before_tls_where_tls_is_required() {
    // The server offers STARTTLS: no query until TLS is up.
    let cfg = ClientConfig::new(PortMode::Submission, "client.example.org");
    assert_eq!(cfg.tls, TlsPolicy::Required);
    let mut c = Client::new(cfg.clone()).unwrap();
    c.receive(b"220 mx.example.net\r\n");
    while c.next_event().is_some() {}
    c.receive(b"250-mx.example.net\r\n250-ETRN\r\n250 STARTTLS\r\n");
    while c.next_event().is_some() {}
    assert_eq!(c.vrfy("alice"), Err(QueryError::Misuse));
    assert_eq!(c.etrn("example.org"), Err(QueryError::Misuse));
    assert_eq!(
        out(&mut c),
        b"EHLO client.example.org\r\nSTARTTLS\r\n",
        "nothing but EHLO and STARTTLS before TLS"
    );
    c.receive(b"220 go ahead\r\n");
    assert_eq!(events(&mut c), [ClientEvent::StartTls]);
    assert_eq!(c.help(None), Err(QueryError::Misuse));
    assert!(c.tls_established());
    c.receive(b"250-mx.example.net\r\n250 ETRN\r\n");
    assert_eq!(events(&mut c).last(), Some(&ClientEvent::Ready));
    out(&mut c);
    c.etrn("example.org").unwrap();
    assert_eq!(out(&mut c), b"ETRN example.org\r\n");
    // The server does not offer STARTTLS: fatal, and no query ever.
    let mut c = Client::new(cfg).unwrap();
    c.receive(b"220 mx.example.net\r\n");
    while c.next_event().is_some() {}
    c.receive(b"250-mx.example.net\r\n250 ETRN\r\n");
    let ev = events(&mut c);
    assert!(
        ev.contains(&ClientEvent::Error(ClientError::TlsUnavailable)),
        "{ev:?}"
    );
    assert_eq!(c.vrfy("alice"), Err(QueryError::Misuse));
    assert_eq!(out(&mut c), b"EHLO client.example.org\r\nQUIT\r\n");
}

#[test]
fn a_hostile_reply_to_a_query_is_a_typed_error() {
    // 3xx to VRFY: no such reply exists (RFC 5321 4.3.2): QUIT and close.
    let mut c = ready(PLAIN);
    c.vrfy("alice").unwrap();
    out(&mut c);
    c.receive(b"354 go ahead\r\n");
    let ev = events(&mut c);
    assert!(
        matches!(
            ev.first(),
            Some(ClientEvent::Error(ClientError::UnexpectedReply(_)))
        ),
        "{ev:?}"
    );
    assert_eq!(out(&mut c), b"QUIT\r\n");
    // 421: the server is closing; close at once.
    let mut c = ready(ETRN);
    c.etrn("example.org").unwrap();
    out(&mut c);
    c.receive(b"421 4.3.0 shutting down\r\n");
    let ev = events(&mut c);
    assert!(matches!(
        ev.first(),
        Some(ClientEvent::Error(ClientError::ServiceClosing(_)))
    ));
    assert!(c.is_closed());
    assert!(out(&mut c).is_empty());
    // A malformed reply.
    let mut c = ready(PLAIN);
    c.expn("staff").unwrap();
    out(&mut c);
    c.receive(b"250-a\r\n251 b\r\n");
    let ev = events(&mut c);
    assert!(
        matches!(
            ev.first(),
            Some(ClientEvent::Error(ClientError::MalformedReply(_)))
        ),
        "{ev:?}"
    );
    // Two replies to one query: the second answers nothing.
    let mut c = ready(PLAIN);
    c.help(None).unwrap();
    out(&mut c);
    c.receive(b"214 help\r\n214 again\r\n");
    let ev = events(&mut c);
    assert!(
        ev.iter()
            .any(|e| matches!(e, ClientEvent::Error(ClientError::UnexpectedReply(_)))),
        "{ev:?}"
    );
}

#[test]
fn a_query_keeps_the_pending_reset() {
    // A transaction whose MAIL was accepted ended without completing: the
    // next MAIL needs RSET first (RFC 5321 4.1.1.5), a VRFY in between
    // does not change that.
    let mut c = ready(PLAIN);
    c.send_mail(
        Envelope::new("alice@example.org", ["bob@example.net"]),
        b"Subject: t\r\n\r\nhi\r\n".to_vec(),
    )
    .unwrap();
    out(&mut c);
    c.receive(b"250 ok\r\n550 5.1.1 no\r\n554 no valid recipients\r\n");
    let ev = events(&mut c);
    assert_eq!(ev.last(), Some(&ClientEvent::Ready), "{ev:?}");
    out(&mut c);
    c.vrfy("bob").unwrap();
    assert_eq!(out(&mut c), b"VRFY bob\r\n");
    answer(&mut c, Query::Verify, "252 maybe\r\n");
    c.send_mail(
        Envelope::new("alice@example.org", ["bob@example.net"]),
        b"Subject: t\r\n\r\nhi\r\n".to_vec(),
    )
    .unwrap();
    assert!(out(&mut c).starts_with(b"RSET\r\nMAIL FROM:"));
}
