//! The server's decision API: overrides, misuse handing values back, LMTP
//! per-recipient replies, secrets in Debug, timeouts.

use smtp_sansio::{AuthRequest, ReplyKind, Server, ServerEvent};
use smtp_sansio::{EnhancedCode, OwnedReply, ReplyCode};
use smtp_sansio::{PortMode, ServerConfig};

fn reply(code: u16, e: Option<(u8, u16, u16)>, text: &'static str) -> OwnedReply {
    OwnedReply {
        code: ReplyCode::new(code).unwrap(),
        enhanced: e.and_then(|(a, b, c)| EnhancedCode::new(a, b, c)),
        lines: vec![text.into()],
    }
}

/// Feeds `input`, accepting every decision; returns the output.
fn run(server: &mut Server, input: &[u8]) -> String {
    server.receive(input);
    while let Some(ev) = server.next_event() {
        if ev.needs_decision() {
            server.accept().unwrap();
        }
    }
    let mut out = Vec::new();
    server.transmit(&mut out);
    String::from_utf8(out).unwrap()
}

fn connected(cfg: ServerConfig) -> (Server, String) {
    let mut s = Server::new(cfg);
    let out = run(&mut s, b"");
    (s, out)
}

#[test]
fn builtin_replies_can_be_overridden() {
    let mut cfg = ServerConfig::new(PortMode::Relay, "mx.example.net");
    cfg.replies
        .push((ReplyKind::NoopOk, reply(250, Some((2, 0, 0)), "Still here")));
    cfg.replies
        .push((ReplyKind::Bye, reply(221, Some((2, 0, 0)), "See you")));
    let (mut s, greeting) = connected(cfg);
    assert!(greeting.starts_with("220 mx.example.net "), "{greeting}");
    assert_eq!(run(&mut s, b"NOOP\r\n"), "250 2.0.0 Still here\r\n");
    assert_eq!(run(&mut s, b"QUIT\r\n"), "221 2.0.0 See you\r\n");
    assert!(s.is_closed());
}

#[test]
fn default_replies_carry_enhanced_codes() {
    for kind in [
        ReplyKind::SenderOk,
        ReplyKind::TlsRequired,
        ReplyKind::MessageTooBig,
    ] {
        let (code, enh, _) = kind.default_reply();
        let enh = enh.unwrap();
        assert_eq!(code / 100, enh[0], "{kind:?}");
    }
    // 3yz replies never carry one (RFC 2034 4).
    assert_eq!(ReplyKind::StartData.default_reply().1, None);
}

#[test]
fn misuse_hands_the_value_back() {
    let mut s = Server::new(ServerConfig::new(PortMode::Relay, "mx"));
    // No decision is pending before the first event.
    let r = reply(554, Some((5, 0, 0)), "no");
    let back = s.reject(r.clone()).unwrap_err();
    assert_eq!(back.0, r);
    assert_eq!(s.next_event(), Some(ServerEvent::Connected));
    // A 3xx is not a decision.
    let r354 = reply(354, None, "go");
    assert_eq!(s.respond(r354.clone()).unwrap_err().0, r354);
    // reject() needs a 4xx/5xx.
    let ok = reply(250, None, "ok");
    assert_eq!(s.reject(ok.clone()).unwrap_err().0, ok);
    s.accept().unwrap();
    assert!(s.accept().is_err());
}

#[test]
fn refused_greeting_allows_only_quit() {
    let mut s = Server::new(ServerConfig::new(PortMode::Relay, "mx"));
    assert_eq!(s.next_event(), Some(ServerEvent::Connected));
    s.reject(reply(554, Some((5, 3, 2)), "No service")).unwrap();
    let mut out = run(&mut s, b"EHLO x.example\r\n");
    out += &run(&mut s, b"MAIL FROM:<a@b.example>\r\n");
    out += &run(&mut s, b"QUIT\r\n");
    assert_eq!(
        out,
        "554 5.3.2 No service\r\n503 5.5.1 Bad sequence of commands\r\n\
         503 5.5.1 Bad sequence of commands\r\n221 2.0.0 Bye\r\n"
    );
}

#[test]
fn lmtp_answers_each_recipient() {
    let (mut s, _) = connected(ServerConfig::new(PortMode::Lmtp, "lmtp.example"));
    run(&mut s, b"LHLO c.example\r\n");
    run(
        &mut s,
        b"MAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nRCPT TO:<z@y.example>\r\nDATA\r\n",
    );
    s.receive(b"hi\r\n.\r\n");
    let mut complete = None;
    while let Some(ev) = s.next_event() {
        if let ServerEvent::MessageComplete { recipients, .. } = ev {
            complete = Some(recipients);
            break;
        }
    }
    assert_eq!(complete, Some(2));
    // The wrong number of replies is handed back.
    let one = vec![reply(250, Some((2, 1, 5)), "ok")];
    assert_eq!(s.respond_each(one.clone()).unwrap_err().0, one);
    s.respond_each(vec![
        reply(250, Some((2, 1, 5)), "x delivered"),
        reply(452, Some((4, 2, 2)), "z over quota"),
    ])
    .unwrap();
    let mut out = Vec::new();
    s.transmit(&mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "250 2.1.5 x delivered\r\n452 4.2.2 z over quota\r\n"
    );
}

#[test]
fn auth_secrets_never_reach_debug_output() {
    let (mut s, _) = connected(ServerConfig::new(PortMode::ImplicitTls, "mx"));
    run(&mut s, b"EHLO c.example\r\n");
    // "\0alice\0hunter2"
    s.receive(b"AUTH PLAIN AGFsaWNlAGh1bnRlcjI=\r\n");
    let ev = s.next_event().unwrap();
    let dbg = format!("{ev:?}");
    assert!(matches!(
        ev,
        ServerEvent::Auth(AuthRequest::Credentials { .. })
    ));
    assert!(!dbg.contains("hunter2"), "{dbg}");
    let cmd = smtp_sansio::Command::parse(
        b"AUTH PLAIN AGFsaWNlAGh1bnRlcjI=\r\n",
        &smtp_sansio::CommandOptions::new(),
    )
    .unwrap();
    assert!(!format!("{cmd:?}").contains("AGFsaWNlAGh1bnRlcjI"));
}

#[test]
fn timeout_closes_with_421() {
    let (mut s, _) = connected(ServerConfig::new(PortMode::Relay, "mx"));
    assert_eq!(s.timeout(), Some(core::time::Duration::from_secs(300)));
    s.handle_timeout();
    let mut out = Vec::new();
    s.transmit(&mut out);
    assert!(out.starts_with(b"421 4.4.2 "));
    assert!(s.is_closed());
    assert_eq!(s.timeout(), None);
}
