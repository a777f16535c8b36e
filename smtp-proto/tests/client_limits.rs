//! Recipient splitting (RFC 9422 LIMITS, RFC 5321 4.5.3.1.10 `452` too many
//! recipients) and per-recipient DSN (RFC 3461 4.1, 4.2) on the client.

use smtp_sansio::PortMode;
use smtp_sansio::client::{
    BodyInfo, Client, ClientConfig, ClientEvent, ConfigError, Dsn, Envelope, MessageError,
    RecipientDsn, SendError, TransactionStage,
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

/// A relay client past EHLO with these extension lines (no STARTTLS).
fn ready_with(cfg: ClientConfig, ext: &str) -> Client {
    let mut c = Client::new(cfg).unwrap();
    let (out, _) = step(&mut c, b"220 mx ESMTP\r\n");
    assert_eq!(out, "EHLO client.example.org\r\n");
    let reply = format!("250-mx\r\n{ext}250 ENHANCEDSTATUSCODES\r\n");
    let (out, evs) = step(&mut c, reply.as_bytes());
    assert_eq!(out, "");
    assert_eq!(evs.last(), Some(&ClientEvent::Ready), "{evs:?}");
    c
}

fn cfg(pipelining: bool, rcpt_max: Option<usize>) -> ClientConfig {
    let mut cfg = ClientConfig::new(PortMode::Relay, "client.example.org");
    cfg.pipelining = pipelining;
    cfg.chunking = false;
    cfg.rcpt_max = rcpt_max;
    cfg
}

fn rcpts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("r{i}@example.net")).collect()
}

fn caps(c: &Client) -> &smtp_sansio::ServerCapabilities {
    c.capabilities().expect("capabilities")
}

fn accepted_indices(evs: &[ClientEvent]) -> Vec<usize> {
    evs.iter()
        .filter_map(|e| match e {
            ClientEvent::Recipient {
                index,
                accepted: true,
                ..
            } => Some(*index),
            _ => None,
        })
        .collect()
}

#[test]
fn limits_values_are_exposed_and_zero_or_huge_ignored() {
    let c = ready_with(
        cfg(true, None),
        "250-PIPELINING\r\n250-LIMITS MAILMAX=5 RCPTMAX=2 RCPTDOMAINMAX=1\r\n",
    );
    assert_eq!(caps(&c).limits.rcpt_max, Some(2));
    assert_eq!(caps(&c).rcpt_max(), Some(2));
    assert_eq!(caps(&c).mail_max(), Some(5));
    assert_eq!(caps(&c).rcpt_domain_max(), Some(1));

    let c = ready_with(cfg(true, None), "250-LIMITS RCPTMAX=0 MAILMAX=0\r\n");
    assert_eq!(caps(&c).limits.rcpt_max, Some(0));
    assert_eq!(caps(&c).rcpt_max(), None, "0 is no usable limit");
    assert_eq!(caps(&c).mail_max(), None);

    let c = ready_with(
        cfg(true, None),
        "250-LIMITS RCPTMAX=18446744073709551616\r\n",
    );
    assert_eq!(
        caps(&c).limits.rcpt_max,
        None,
        "2^64 does not fit: left out"
    );
    assert_eq!(caps(&c).rcpt_max(), None);

    let c = ready_with(
        cfg(true, None),
        "250-LIMITS RCPTMAX=18446744073709551615\r\n",
    );
    assert_eq!(caps(&c).rcpt_max(), Some(usize::MAX));
}

#[test]
fn zero_rcpt_max_is_a_config_error() {
    let mut c = cfg(true, Some(0));
    assert_eq!(
        Client::new(c.clone()).unwrap_err(),
        ConfigError::InvalidRcptMax
    );
    c.rcpt_max = Some(1);
    assert!(Client::new(c).is_ok());
}

/// RCPTMAX=2, 5 recipients, pipelining: three transactions, each with the
/// same dot-stuffed body; every recipient accepted exactly once.
#[test]
fn rcptmax_splits_pipelined_message_into_transactions() {
    let mut c = ready_with(
        cfg(true, None),
        "250-PIPELINING\r\n250-LIMITS RCPTMAX=2\r\n",
    );
    c.send_mail(
        Envelope::new("a@example.org", rcpts(5)),
        b".dot\r\nbody\r\n".to_vec(),
    )
    .unwrap();
    let mut all = Vec::new();
    let mut bodies = 0;
    let (mut out, _) = step(&mut c, b"");
    for batch in [&[0, 1][..], &[2, 3], &[4]] {
        let mut want = String::from("MAIL FROM:<a@example.org>\r\n");
        for i in batch {
            want.push_str(&format!("RCPT TO:<r{i}@example.net>\r\n"));
        }
        want.push_str("DATA\r\n");
        assert_eq!(out, want);
        let mut replies = String::from("250 2.1.0 ok\r\n");
        for _ in batch {
            replies.push_str("250 2.1.5 ok\r\n");
        }
        replies.push_str("354 go\r\n");
        let (o, evs) = step(&mut c, replies.as_bytes());
        assert_eq!(o, "..dot\r\nbody\r\n.\r\n");
        bodies += 1;
        all.extend(accepted_indices(&evs));
        let (o, evs) = step(&mut c, b"250 2.0.0 queued\r\n");
        assert!(
            matches!(evs.first(), Some(ClientEvent::Delivered(_))),
            "{evs:?}"
        );
        let last = batch == [4];
        assert_eq!(evs.last() == Some(&ClientEvent::Ready), last, "{evs:?}");
        out = o;
    }
    assert_eq!(out, "");
    assert_eq!(bodies, 3);
    assert_eq!(all, [0, 1, 2, 3, 4]);
}

/// The configured limit wins when lower than RCPTMAX; without pipelining
/// each transaction goes one command per reply.
#[test]
fn configured_rcpt_max_without_pipelining() {
    let mut c = ready_with(cfg(false, Some(1)), "250-LIMITS RCPTMAX=10\r\n");
    c.send_mail(Envelope::new("a@example.org", rcpts(2)), b"x\r\n".to_vec())
        .unwrap();
    let mut out = step(&mut c, b"").0;
    for i in 0..2 {
        assert_eq!(out, "MAIL FROM:<a@example.org>\r\n");
        let (o, _) = step(&mut c, b"250 ok\r\n");
        assert_eq!(o, format!("RCPT TO:<r{i}@example.net>\r\n"));
        let (o, evs) = step(&mut c, b"250 ok\r\n");
        assert_eq!(accepted_indices(&evs), [i]);
        assert_eq!(o, "DATA\r\n");
        let (o, _) = step(&mut c, b"354 go\r\n");
        assert_eq!(o, "x\r\n.\r\n");
        let (o, evs) = step(&mut c, b"250 ok\r\n");
        assert_eq!(evs.last() == Some(&ClientEvent::Ready), i == 1, "{evs:?}");
        out = o;
    }
    assert_eq!(out, "");
}

/// A 452 4.5.3 to the third RCPT (pipelined): the third and fourth go in
/// a new transaction of at most two recipients (the learned limit).
#[test]
fn too_many_recipients_continue_in_a_new_transaction() {
    let mut c = ready_with(cfg(true, None), "250-PIPELINING\r\n");
    c.send_mail(Envelope::new("a@example.org", rcpts(5)), b"x\r\n".to_vec())
        .unwrap();
    let (out, _) = step(&mut c, b"");
    assert_eq!(out.matches("RCPT TO").count(), 5);
    let (out, evs) = step(
        &mut c,
        b"250 ok\r\n250 ok\r\n250 ok\r\n452 4.5.3 too many recipients\r\n452 4.5.3 too many\r\n452 4.5.3 too many\r\n354 go\r\n",
    );
    assert_eq!(accepted_indices(&evs), [0, 1]);
    assert!(
        !evs.iter().any(|e| matches!(
            e,
            ClientEvent::Recipient {
                accepted: false,
                ..
            }
        )),
        "deferred recipients get no final answer yet: {evs:?}"
    );
    assert_eq!(out, "x\r\n.\r\n");
    let (out, evs) = step(&mut c, b"250 queued\r\n");
    assert!(matches!(evs[..], [ClientEvent::Delivered(_)]), "{evs:?}");
    assert_eq!(
        out,
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<r2@example.net>\r\nRCPT TO:<r3@example.net>\r\nDATA\r\n"
    );
    let (out, evs) = step(&mut c, b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    assert_eq!(accepted_indices(&evs), [2, 3]);
    assert_eq!(out, "x\r\n.\r\n");
    let (out, _) = step(&mut c, b"250 queued\r\n");
    assert_eq!(
        out,
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<r4@example.net>\r\nDATA\r\n"
    );
    let (_, evs) = step(&mut c, b"250 ok\r\n250 ok\r\n354 go\r\n");
    assert_eq!(accepted_indices(&evs), [4]);
    let (_, evs) = step(&mut c, b"250 queued\r\n");
    assert_eq!(evs.last(), Some(&ClientEvent::Ready));
}

/// A server answering 452 to every RCPT: the first RCPT of the fresh
/// transaction gets 452, so the recipients fail (temporarily) and no
/// further transaction is tried: no loop.
#[test]
fn a_452_loop_ends() {
    for pipelining in [true, false] {
        let mut c = ready_with(cfg(pipelining, None), "250-PIPELINING\r\n");
        c.send_mail(Envelope::new("a@example.org", rcpts(3)), b"x\r\n".to_vec())
            .unwrap();
        let mut evs_all = Vec::new();
        let mut rounds = 0;
        let mut out = step(&mut c, b"").0;
        while !out.is_empty() {
            rounds += 1;
            assert!(rounds < 20, "no end: {out}");
            let mut replies = String::new();
            for line in out.lines() {
                replies.push_str(if line.starts_with("MAIL") {
                    "250 ok\r\n"
                } else if line.starts_with("RCPT") {
                    "452 4.5.3 too many recipients\r\n"
                } else if line.starts_with("DATA") {
                    "503 5.5.1 no valid recipients\r\n"
                } else {
                    "250 ok\r\n"
                });
            }
            let (o, evs) = step(&mut c, replies.as_bytes());
            out = o;
            evs_all.extend(evs);
        }
        let failed: Vec<usize> = evs_all
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Recipient {
                    index,
                    accepted: false,
                    reply,
                } if reply.code.get() == 452 => Some(*index),
                _ => None,
            })
            .collect();
        let unsent: Vec<usize> = evs_all
            .iter()
            .filter_map(|e| match e {
                ClientEvent::RecipientsUnsent { recipients } => Some(recipients.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        let mut every: Vec<usize> = failed.iter().chain(&unsent).copied().collect();
        every.sort_unstable();
        assert_eq!(
            every,
            [0, 1, 2],
            "each recipient has one final result: {evs_all:?}"
        );
        assert!(failed.contains(&0));
        assert_eq!(evs_all.last(), Some(&ClientEvent::Ready), "{evs_all:?}");
        assert!(matches!(
            evs_all
                .iter()
                .find(|e| matches!(e, ClientEvent::TransactionFailed { .. })),
            Some(ClientEvent::TransactionFailed {
                stage: TransactionStage::Recipients | TransactionStage::Data,
                ..
            })
        ));
    }
}

/// A 452 with another enhanced code (storage) is a plain refusal.
#[test]
fn storage_452_is_not_too_many() {
    let mut c = ready_with(cfg(true, None), "250-PIPELINING\r\n");
    c.send_mail(Envelope::new("a@example.org", rcpts(2)), b"x\r\n".to_vec())
        .unwrap();
    step(&mut c, b"");
    let (out, evs) = step(
        &mut c,
        b"250 ok\r\n250 ok\r\n452 4.3.1 out of storage\r\n354 go\r\n",
    );
    assert!(evs.iter().any(|e| matches!(
        e,
        ClientEvent::Recipient {
            index: 1,
            accepted: false,
            ..
        }
    )));
    assert_eq!(out, "x\r\n.\r\n");
    let (out, evs) = step(&mut c, b"250 ok\r\n");
    assert_eq!(out, "");
    assert_eq!(evs.last(), Some(&ClientEvent::Ready));
}

/// A streamed body is not held whole: recipients beyond the first
/// transaction come back as RecipientsUnsent.
#[test]
fn streamed_body_reports_unsent_recipients() {
    let mut c = ready_with(cfg(true, Some(2)), "250-PIPELINING\r\n");
    c.start_mail(
        Envelope::new("a@example.org", rcpts(5)),
        BodyInfo::default(),
    )
    .unwrap();
    let (out, _) = step(&mut c, b"");
    assert_eq!(out.matches("RCPT TO").count(), 2);
    let (_, evs) = step(&mut c, b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    assert_eq!(evs.last(), Some(&ClientEvent::BodyWanted));
    c.send_body(b"hi\r\n").unwrap();
    c.end_body().unwrap();
    let (out, _) = step(&mut c, b"");
    assert_eq!(out, "hi\r\n.\r\n");
    let (_, evs) = step(&mut c, b"250 ok\r\n");
    assert_eq!(
        evs[1..],
        [
            ClientEvent::RecipientsUnsent {
                recipients: vec![2, 3, 4]
            },
            ClientEvent::Ready
        ]
    );
}

/// MAILMAX=1: no second transaction on this connection.
#[test]
fn mailmax_stops_the_split() {
    let mut c = ready_with(
        cfg(true, Some(1)),
        "250-PIPELINING\r\n250-LIMITS MAILMAX=1\r\n",
    );
    c.send_mail(Envelope::new("a@example.org", rcpts(2)), b"x\r\n".to_vec())
        .unwrap();
    step(&mut c, b"");
    step(&mut c, b"250 ok\r\n250 ok\r\n354 go\r\n");
    let (out, evs) = step(&mut c, b"250 ok\r\n");
    assert_eq!(out, "");
    assert_eq!(
        evs[1..],
        [
            ClientEvent::RecipientsUnsent {
                recipients: vec![1]
            },
            ClientEvent::Ready
        ]
    );
}

/// RCPTDOMAINMAX=1: one domain per transaction, envelope order kept
/// within each.
#[test]
fn rcptdomainmax_groups_by_domain() {
    let mut c = ready_with(
        cfg(true, None),
        "250-PIPELINING\r\n250-LIMITS RCPTDOMAINMAX=1\r\n",
    );
    let to = ["a@one.example", "b@two.example", "c@ONE.example"];
    c.send_mail(Envelope::new("x@example.org", to), b"x\r\n".to_vec())
        .unwrap();
    let (out, _) = step(&mut c, b"");
    assert_eq!(
        out,
        "MAIL FROM:<x@example.org>\r\nRCPT TO:<a@one.example>\r\nRCPT TO:<c@ONE.example>\r\nDATA\r\n"
    );
    step(&mut c, b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    let (out, _) = step(&mut c, b"250 ok\r\n");
    assert_eq!(
        out,
        "MAIL FROM:<x@example.org>\r\nRCPT TO:<b@two.example>\r\nDATA\r\n"
    );
}

/// A 421 after a 452: fatal, closes at once, nothing more sent.
#[test]
fn a_452_then_421_closes() {
    let mut c = ready_with(cfg(true, None), "250-PIPELINING\r\n");
    c.send_mail(Envelope::new("a@example.org", rcpts(3)), b"x\r\n".to_vec())
        .unwrap();
    step(&mut c, b"");
    let (out, evs) = step(
        &mut c,
        b"250 ok\r\n250 ok\r\n452 4.5.3 too many\r\n421 4.3.2 bye\r\n",
    );
    assert_eq!(out, "");
    assert!(evs.iter().any(|e| matches!(e, ClientEvent::Error(_))));
    assert!(c.is_closed());
}

#[test]
fn per_recipient_dsn_overrides_the_envelope() {
    let mut c = ready_with(cfg(true, None), "250-PIPELINING\r\n250-DSN\r\n");
    let env = Envelope {
        dsn: Some(Dsn {
            ret: Some(Ret::Hdrs),
            envid: Some("id+1".into()),
            notify: Notify::on(false, true, false),
            orcpt: true,
        }),
        ..Envelope::new(
            "a@example.org",
            ["b@example.net", "c@example.net", "d@example.net"],
        )
    }
    .with_recipient_dsn(
        1,
        RecipientDsn {
            notify: Some(Notify::NEVER),
            orcpt: Some("c@old.example".into()),
        },
    )
    .with_recipient_dsn(
        2,
        RecipientDsn {
            notify: None,
            orcpt: Some("dé@old.example".into()),
        },
    );
    c.send_mail(env, b"x\r\n".to_vec()).unwrap();
    let (out, _) = step(&mut c, b"");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "MAIL FROM:<a@example.org> RET=HDRS ENVID=id+2B1");
    assert_eq!(
        lines[1],
        "RCPT TO:<b@example.net> NOTIFY=FAILURE ORCPT=rfc822;b@example.net"
    );
    assert_eq!(
        lines[2],
        "RCPT TO:<c@example.net> NOTIFY=NEVER ORCPT=rfc822;c@old.example"
    );
    assert_eq!(
        lines[3],
        "RCPT TO:<d@example.net> NOTIFY=FAILURE ORCPT=utf-8;d\\x{E9}@old.example"
    );
}

#[test]
fn per_recipient_dsn_needs_dsn_offered() {
    let mut c = ready_with(cfg(true, None), "250-PIPELINING\r\n");
    let env = Envelope::new("a@example.org", ["b@example.net"]).with_recipient_dsn(
        0,
        RecipientDsn {
            notify: Notify::on(true, false, false),
            orcpt: None,
        },
    );
    match c.send_mail(env, b"x\r\n".to_vec()) {
        Err(SendError::Invalid { error, .. }) => assert_eq!(error, MessageError::DsnUnsupported),
        other => panic!("{other:?}"),
    }
    assert!(c.is_ready());
    let mut c = ready_with(cfg(true, None), "250-DSN\r\n");
    let env = Envelope::new("a@example.org", ["b@example.net"]).with_recipient_dsn(
        0,
        RecipientDsn {
            notify: None,
            orcpt: Some(String::new()),
        },
    );
    match c.send_mail(env, b"x\r\n".to_vec()) {
        Err(SendError::Invalid { error, .. }) => assert_eq!(error, MessageError::DsnUnsupported),
        other => panic!("{other:?}"),
    }
}
