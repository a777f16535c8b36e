//! Scripted client sessions: decisions, MAIL/RCPT parameters, local
//! refusals, timeouts, the connection plan and the wrong-port check.

use std::time::Duration;

use smtp_sansio::Mechanism;
use smtp_sansio::PortMode;
use smtp_sansio::client::{
    self, Client, ClientConfig, ClientCredentials, ClientError, ClientEvent, ConfigError, Dsn,
    Envelope, MessageError, PlanOptions, SendError, TlsPolicy, TransactionStage, WrongPort,
};
use smtp_sansio::{Notify, Ret};

fn step(c: &mut Client, input: &[u8]) -> (String, Vec<ClientEvent>) {
    c.receive(input);
    let mut evs = Vec::new();
    while let Some(e) = c.next_event() {
        evs.push(e);
    }
    let mut out = Vec::new();
    c.transmit(&mut out);
    (String::from_utf8_lossy(&out).into_owned(), evs)
}

/// A relay client past EHLO with these extensions (no STARTTLS offered).
fn relay_ready(ext: &str, pipelining: bool) -> Client {
    let mut cfg = ClientConfig::new(PortMode::Relay, "client.example.org");
    cfg.pipelining = pipelining;
    let mut c = Client::new(cfg).unwrap();
    let (out, _) = step(&mut c, b"220 mx ESMTP\r\n");
    assert_eq!(out, "EHLO client.example.org\r\n");
    let reply = format!("250-mx\r\n{ext}250 ENHANCEDSTATUSCODES\r\n");
    let (out, evs) = step(&mut c, reply.as_bytes());
    assert_eq!(out, "");
    assert_eq!(evs.last(), Some(&ClientEvent::Ready));
    c
}

fn env(to: &[&str]) -> Envelope {
    Envelope::new("alice@example.org", to.iter().copied())
}

#[test]
fn partial_recipients_abort_then_next_message_resets() {
    let mut c = relay_ready("", false);
    c.send_mail(
        env(&["bob@example.net", "eve@example.net"]),
        b"hi\r\n".to_vec(),
    )
    .unwrap();
    assert_eq!(c.proceed(), Err(client::Misuse(())));
    let (out, _) = step(&mut c, b"");
    assert_eq!(out, "MAIL FROM:<alice@example.org>\r\n");
    let (out, _) = step(&mut c, b"250 2.1.0 ok\r\n");
    assert_eq!(out, "RCPT TO:<bob@example.net>\r\n");
    let (out, _) = step(&mut c, b"250 2.1.5 ok\r\n");
    assert_eq!(out, "RCPT TO:<eve@example.net>\r\n");
    let (out, evs) = step(&mut c, b"550 5.1.1 no such user\r\n");
    assert_eq!(out, "");
    let refused = evs.iter().find_map(|e| match e {
        ClientEvent::Recipient {
            index: 1,
            accepted: false,
            reply,
        } => Some(reply.clone()),
        _ => None,
    });
    let refused = refused.expect("recipient event");
    assert_eq!(refused.code.get(), 550);
    assert_eq!(
        refused.enhanced.map(|e| e.to_string()),
        Some("5.1.1".into())
    );
    assert_eq!(refused.lines[0], "no such user");
    assert_eq!(
        evs.last(),
        Some(&ClientEvent::RecipientsPartial {
            accepted: 1,
            refused: 1
        })
    );
    c.abort().unwrap();
    let (out, evs) = step(&mut c, b"");
    assert_eq!(out, "RSET\r\n");
    assert!(evs.is_empty());
    let (_, evs) = step(&mut c, b"250 2.0.0 ok\r\n");
    assert_eq!(
        evs,
        vec![
            ClientEvent::TransactionFailed {
                stage: TransactionStage::Aborted,
                reply: None
            },
            ClientEvent::Ready
        ]
    );
    // All recipients refused: the next MAIL is preceded by RSET.
    c.send_mail(env(&["eve@example.net"]), b"x".to_vec())
        .unwrap();
    let (out, _) = step(&mut c, b"");
    assert_eq!(out, "MAIL FROM:<alice@example.org>\r\n");
    let (_, _) = step(&mut c, b"250 ok\r\n");
    let (out, evs) = step(&mut c, b"550 no\r\n");
    assert_eq!(out, "");
    assert!(matches!(
        evs.as_slice(),
        [
            ClientEvent::Recipient { .. },
            ClientEvent::TransactionFailed {
                stage: TransactionStage::Recipients,
                reply: Some(_)
            },
            ClientEvent::Ready
        ]
    ));
    c.send_mail(env(&["bob@example.net"]), b"x".to_vec())
        .unwrap();
    let (out, _) = step(&mut c, b"");
    assert_eq!(out, "RSET\r\n");
    let (out, _) = step(&mut c, b"250 ok\r\n");
    assert_eq!(out, "MAIL FROM:<alice@example.org>\r\n");
}

#[test]
fn pipelined_group_with_rset_and_parameters() {
    let mut c = relay_ready(
        "250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n",
        true,
    );
    let mut e = Envelope::new(
        "j\u{f6}rg@example.org",
        ["bob@example.net", "\u{e9}l@example.net"],
    );
    e.dsn = Some(Dsn {
        ret: Some(Ret::Hdrs),
        envid: Some("id 1+".into()),
        notify: Notify::on(true, true, false),
        orcpt: true,
    });
    c.send_mail(e, "caf\u{e9}\n.dot".as_bytes().to_vec())
        .unwrap();
    let (out, _) = step(&mut c, b"");
    let lines: Vec<&str> = out.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "MAIL FROM:<j\u{f6}rg@example.org> SIZE=13 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+201+2B"
    );
    assert_eq!(
        lines[1],
        "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.net"
    );
    assert_eq!(
        lines[2],
        "RCPT TO:<\u{e9}l@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=utf-8;\\x{E9}l@example.net"
    );
    assert_eq!(lines[3], "DATA");
    assert_eq!(c.timeout(), Some(client::MAIL_TIMEOUT));
    let (out, _) = step(&mut c, b"250 ok\r\n250 ok\r\n550 no\r\n");
    assert_eq!(out, "");
    assert_eq!(c.timeout(), Some(client::DATA_INIT_TIMEOUT));
    let (out, _) = step(&mut c, b"354 go\r\n");
    assert_eq!(out, "caf\u{e9}\r\n..dot\r\n.\r\n");
    assert_eq!(c.timeout(), Some(client::DATA_END_TIMEOUT));
    let (_, evs) = step(&mut c, b"250 2.0.0 queued\r\n");
    assert!(matches!(
        evs.as_slice(),
        [ClientEvent::Delivered(_), ClientEvent::Ready]
    ));
    assert_eq!(c.timeout(), None);
    c.quit().unwrap();
    let (out, _) = step(&mut c, b"");
    assert_eq!(out, "QUIT\r\n");
    let (_, evs) = step(&mut c, b"221 bye\r\n");
    assert_eq!(evs, vec![ClientEvent::Closed]);
    assert!(c.is_closed());
}

#[test]
fn local_refusals_keep_the_machine_ready() {
    let mut c = relay_ready("250-SIZE 10\r\n", false);
    let refuse = |c: &mut Client, e: Envelope, body: &[u8]| match c.send_mail(e, body.to_vec()) {
        Err(SendError::Invalid { error, message }) => {
            assert_eq!(message.1, body);
            error
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        refuse(&mut c, env(&["bob@example.net"]), b"0123456789ab"),
        MessageError::TooBig {
            size: 14,
            limit: 10
        }
    );
    assert_eq!(
        refuse(&mut c, env(&["a@b\r\nRCPT TO:<c@d>"]), b"x"),
        MessageError::InvalidRecipient(0)
    );
    assert_eq!(refuse(&mut c, env(&[]), b"x"), MessageError::NoRecipients);
    assert_eq!(
        refuse(&mut c, Envelope::new("a b@c", ["bob@example.net"]), b"x"),
        MessageError::InvalidSender
    );
    assert_eq!(
        refuse(&mut c, env(&["bob@example.net"]), b"\xff"),
        MessageError::EightBitUnsupported
    );
    let mut e = env(&["bob@example.net"]);
    e.dsn = Some(Dsn::default());
    assert_eq!(refuse(&mut c, e, b"x"), MessageError::DsnUnsupported);
    let mut e = env(&["bob@example.net"]);
    e.requiretls = true;
    assert_eq!(refuse(&mut c, e, b"x"), MessageError::RequireTlsUnsupported);
    assert!(c.is_ready());
    let (out, evs) = step(&mut c, b"");
    assert!(out.is_empty() && evs.is_empty());
    // Postmaster and the null reverse path.
    c.send_mail(Envelope::new("", ["Postmaster"]), b"x".to_vec())
        .unwrap();
    let (out, _) = step(&mut c, b"");
    assert_eq!(out, "MAIL FROM:<> SIZE=3\r\n");
    let (out, _) = step(&mut c, b"250 ok\r\n");
    assert_eq!(out, "RCPT TO:<Postmaster>\r\n");
    // Not Ready: the value is handed back.
    match c.send_mail(env(&["bob@example.net"]), b"y".to_vec()) {
        Err(SendError::Misuse(client::Misuse(m))) => assert_eq!(m.1, b"y"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unsolicited_421_closes_at_once() {
    let mut c = relay_ready("", true);
    let (out, evs) = step(&mut c, b"421 4.3.2 going down\r\n");
    assert_eq!(out, "");
    assert!(matches!(
        evs.as_slice(),
        [
            ClientEvent::Error(ClientError::ServiceClosing(_)),
            ClientEvent::Closed
        ]
    ));
}

#[test]
fn timeouts_follow_rfc5321() {
    let mut c = Client::new(ClientConfig::new(PortMode::Relay, "c.example.org")).unwrap();
    assert_eq!(c.timeout(), Some(Duration::from_secs(300)));
    c.handle_timeout();
    let (out, evs) = step(&mut c, b"");
    assert_eq!(out, "");
    assert_eq!(
        evs,
        vec![
            ClientEvent::Error(ClientError::Timeout),
            ClientEvent::Closed
        ]
    );
    assert_eq!(c.timeout(), None);
}

#[test]
fn xoauth2_with_initial_response_under_implicit_tls() {
    let mut cfg = ClientConfig::new(PortMode::ImplicitTls, "c.example.org")
        .with_credentials(ClientCredentials::new("alice", "tok"));
    cfg.mechanisms = vec![Mechanism::XOAuth2, Mechanism::Plain];
    let mut c = Client::new(cfg).unwrap();
    let _ = step(&mut c, b"220 mx\r\n");
    let (out, _) = step(&mut c, b"250-mx\r\n250 AUTH PLAIN XOAUTH2\r\n");
    let b64 = smtp_sansio::sasl::encode_base64(b"user=alice\x01auth=Bearer tok\x01\x01");
    assert_eq!(out, format!("AUTH XOAUTH2 {b64}\r\n"));
    let (out, _) = step(&mut c, b"334 eyJzdGF0dXMiOiI0MDEifQ==\r\n");
    assert_eq!(out, "\r\n");
    let (out, evs) = step(&mut c, b"535 5.7.8 bad token\r\n");
    assert_eq!(out, "QUIT\r\n");
    assert!(matches!(
        evs.as_slice(),
        [ClientEvent::Error(ClientError::AuthFailed(_))]
    ));
}

#[test]
fn plaintext_mechanisms_need_tls() {
    // tls=none with credentials and only plaintext mechanisms: no AUTH.
    let cfg = ClientConfig::new(PortMode::Relay, "c.example.org")
        .with_tls_policy(TlsPolicy::None)
        .unwrap()
        .with_credentials(ClientCredentials::new("alice", "secret"));
    let mut c = Client::new(cfg.clone()).unwrap();
    let _ = step(&mut c, b"220 mx\r\n");
    let (out, evs) = step(&mut c, b"250-mx\r\n250 AUTH PLAIN LOGIN\r\n");
    assert_eq!(out, "QUIT\r\n");
    assert!(evs.contains(&ClientEvent::Error(ClientError::AuthUnavailable)));
    // Explicitly allowed.
    let mut cfg = cfg;
    cfg.plaintext_auth_without_tls = true;
    let mut c = Client::new(cfg).unwrap();
    let _ = step(&mut c, b"220 mx\r\n");
    let (out, _) = step(&mut c, b"250-mx\r\n250 AUTH PLAIN LOGIN\r\n");
    assert!(out.starts_with("AUTH PLAIN "));
}

#[test]
fn config_rules() {
    for mode in [PortMode::Submission, PortMode::ImplicitTls, PortMode::Lmtp] {
        assert_eq!(
            ClientConfig::new(mode, "c.example.org")
                .with_tls_policy(TlsPolicy::Opportunistic)
                .unwrap_err(),
            ConfigError::OpportunisticTlsNotAllowed
        );
    }
    let mut cfg = ClientConfig::new(PortMode::Submission, "c.example.org");
    assert_eq!(cfg.tls, TlsPolicy::Required);
    assert_eq!(ClientConfig::new(PortMode::Lmtp, "x").tls, TlsPolicy::None);
    cfg.tls = TlsPolicy::Opportunistic;
    assert_eq!(
        Client::new(cfg).unwrap_err(),
        ConfigError::OpportunisticTlsNotAllowed
    );
    assert_eq!(
        Client::new(ClientConfig::new(PortMode::Relay, "bad name\r\n")).unwrap_err(),
        ConfigError::InvalidHelo
    );
    let mut cfg = ClientConfig::new(PortMode::Relay, "c.example.org");
    cfg.mechanisms = vec![Mechanism::CramMd5];
    assert_eq!(
        Client::new(cfg).unwrap_err(),
        ConfigError::UnsupportedMechanism(Mechanism::CramMd5)
    );
}

#[test]
fn connection_plan_rfc8314() {
    let plan = client::connection_plan("example.com.", PlanOptions::default());
    assert_eq!(plan.len(), 2);
    assert_eq!(plan[0].mode, PortMode::ImplicitTls);
    assert_eq!(plan[0].port, 465);
    assert_eq!(plan[0].srv_name, "_submissions._tcp.example.com");
    assert_eq!(plan[1].mode, PortMode::Submission);
    assert_eq!(plan[1].port, 587);
    assert_eq!(plan[1].srv_name, "_submission._tcp.example.com");
    assert!(plan.iter().all(|a| a.tls == TlsPolicy::Required));
    let only = client::connection_plan(
        "example.com",
        PlanOptions {
            implicit_tls: false,
            starttls: true,
        },
    );
    assert_eq!(only.len(), 1);
    assert!(client::connection_plan("bad domain", PlanOptions::default()).is_empty());
    assert!(client::connection_plan("", PlanOptions::default()).is_empty());
}

#[test]
fn wrong_port_detection() {
    use client::detect_wrong_port as d;
    assert_eq!(
        d(&[0x16, 0x03, 0x03], PortMode::Submission),
        Some(WrongPort::TlsWherePlaintextExpected)
    );
    assert_eq!(
        d(&[0x15, 0x03, 0x01], PortMode::Relay),
        Some(WrongPort::TlsWherePlaintextExpected)
    );
    assert_eq!(d(b"220 mx ESMTP\r\n", PortMode::Relay), None);
    assert_eq!(d(&[0x16], PortMode::Relay), None);
    assert_eq!(
        d(b"220 mx ESMTP\r\n", PortMode::ImplicitTls),
        Some(WrongPort::PlaintextWhereTlsExpected)
    );
    assert_eq!(d(b"220", PortMode::ImplicitTls), None);
    assert_eq!(d(&[0x16, 0x03, 0x03], PortMode::ImplicitTls), None);
}

/// A body holding NUL is given up before MAIL (RFC 5321 2.3.8, RFC 5322
/// 2.3); the machine stays Ready.
#[test]
fn nul_in_body_is_refused_locally() {
    use smtp_sansio::PortMode;
    use smtp_sansio::{
        Client, ClientConfig, ClientEvent, Envelope, MessageError, SendError, TlsPolicy,
    };
    let cfg = ClientConfig::new(PortMode::Relay, "c.example")
        .with_tls_policy(TlsPolicy::None)
        .unwrap();
    let mut c = Client::new(cfg).unwrap();
    c.receive(b"220 mx.example.net ESMTP\r\n");
    while c.next_event().is_some() {}
    let mut out = Vec::new();
    c.transmit(&mut out);
    c.receive(b"250-mx.example.net\r\n250 8BITMIME\r\n");
    let mut ready = false;
    while let Some(ev) = c.next_event() {
        ready |= ev == ClientEvent::Ready;
    }
    assert!(ready);
    let err = c
        .send_mail(
            Envelope::new("a@example.org", ["b@example.net"]),
            b"a\0b\r\n".to_vec(),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            SendError::Invalid {
                error: MessageError::Nul,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(c.is_ready());
}

/// `Client` is `Clone` and its `Debug` shows the whole state (the explorer
/// merges equal states by it): a clone fed the same input stays equal to
/// the original, different states print differently, and the output does
/// not grow with the number of transactions (no ever-growing counter).
#[test]
fn clone_and_debug_show_the_state_and_stay_bounded() {
    let mut c = relay_ready("250-PIPELINING\r\n", true);
    let ready = format!("{c:?}");
    let mut twin = c.clone();
    assert_eq!(format!("{twin:?}"), ready);
    let mut sizes = Vec::new();
    for _ in 0..30 {
        c.send_mail(env(&["bob@example.org"]), b"Hi\r\n".to_vec())
            .unwrap();
        twin.send_mail(env(&["bob@example.org"]), b"Hi\r\n".to_vec())
            .unwrap();
        let (_, _) = step(&mut c, b"");
        let (_, _) = step(&mut twin, b"");
        assert_eq!(format!("{c:?}"), format!("{twin:?}"));
        assert_ne!(
            format!("{c:?}"),
            ready,
            "a transaction in flight is a new state"
        );
        let replies = b"250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n";
        let (_, evs) = step(&mut c, replies);
        let _ = step(&mut twin, replies);
        assert_eq!(evs.last(), Some(&ClientEvent::Ready));
        assert_eq!(format!("{c:?}"), format!("{twin:?}"));
        sizes.push(format!("{c:?}").len());
    }
    let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
    assert!(max - min <= 64, "Debug grows: {sizes:?}");
}

/// The hidden state label (for the explorer's graphs) names the security
/// and the phase, and changes at each transition of the opening.
#[test]
fn state_label_names_security_and_phase() {
    let cfg = ClientConfig::new(PortMode::Submission, "client.example.org");
    let mut c = Client::new(cfg).unwrap();
    assert_eq!(c.state_label(), "Plain Greeting");
    let _ = step(&mut c, b"220 mx\r\n");
    assert_eq!(c.state_label(), "Plain Hello(Ehlo)");
    let _ = step(&mut c, b"250-mx\r\n250 STARTTLS\r\n");
    assert_eq!(c.state_label(), "Plain StartTls");
    let _ = step(&mut c, b"220 go\r\n");
    assert_eq!(c.state_label(), "Plain AwaitTls");
    assert!(c.tls_established());
    assert_eq!(c.state_label(), "Tls Hello(Ehlo)");
    let _ = step(&mut c, b"250 mx\r\n");
    assert_eq!(c.state_label(), "Tls Open(Idle(Clean))");
    c.quit().unwrap();
    assert_eq!(c.state_label(), "Tls Quitting { ahead: [] }");
    let _ = step(&mut c, b"221 bye\r\n");
    assert_eq!(c.state_label(), "Tls Closed { reported: true }");
}
