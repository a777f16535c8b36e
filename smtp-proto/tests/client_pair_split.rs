//! The in-memory client + server pair with recipient splitting (RFC 9422
//! via `ClientConfig::rcpt_max`, RFC 5321 4.5.3.1.10 `452` from a server
//! with a random recipient limit) and per-recipient DSN (RFC 3461 4.1,
//! 4.2), in every port mode, whole and streamed bodies, random splits of
//! the bytes: every recipient the server takes is accepted exactly once,
//! in a transaction of at most the limits, with its own NOTIFY and ORCPT,
//! and the body arrives byte-exact in every transaction.

use std::collections::BTreeMap;

use proptest::prelude::*;
use smtp_sansio::client::{
    BodyInfo, Client, ClientConfig, ClientCredentials, ClientEvent, Dsn, Envelope, RecipientDsn,
};
use smtp_sansio::{AuthRequest, Credentials, ForwardPath, Notify, Server, ServerEvent};
use smtp_sansio::{EnhancedCode, OwnedReply, ReplyCode};
use smtp_sansio::{PortMode, ServerConfig};

/// One recipient as the server took it: address, NOTIFY bits, ORCPT.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Took {
    addr: String,
    notify: Option<String>,
    orcpt: Option<String>,
}

struct Pair {
    client: Client,
    server: Server,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    splits: Vec<usize>,
    split_at: usize,
    /// The server's transactions: recipients taken and the content.
    rcpts: Vec<Took>,
    current: Vec<u8>,
    transactions: Vec<(Vec<Took>, Vec<u8>)>,
    /// The message: envelope and body; rounds still to send (envelope
    /// indices), for the streamed resends after RecipientsUnsent.
    env: Envelope,
    body: Vec<u8>,
    stream: bool,
    rounds: Vec<Vec<usize>>,
    /// Envelope indices of the round in flight.
    round: Vec<usize>,
    /// Per envelope recipient: RCPT answers seen (accepted, code).
    answers: BTreeMap<usize, Vec<(bool, u16)>>,
    unsent_whole: bool,
    feeding: Option<usize>,
    errors: Vec<String>,
    closed: bool,
}

impl Pair {
    fn chunk(&mut self) -> usize {
        let n = self.splits[self.split_at % self.splits.len()];
        self.split_at += 1;
        n.max(1)
    }

    fn drive_server(&mut self) {
        while let Some(ev) = self.server.next_event() {
            let d: Option<Result<(), OwnedReply>> = match ev {
                ServerEvent::Rcpt { to, params } => match to {
                    ForwardPath::Mailbox(m) if m.local.as_bytes().starts_with(b"x") => {
                        Some(Err(OwnedReply::new(
                            ReplyCode::MAILBOX_UNAVAILABLE,
                            EnhancedCode::new(5, 1, 1),
                            "no such user",
                        )))
                    }
                    ForwardPath::Mailbox(m) => {
                        self.rcpts.push(Took {
                            addr: format!("{}@{}", m.local, m.domain),
                            notify: params.notify.map(|n| format!("{n:?}")),
                            orcpt: params
                                .orcpt()
                                .map(|o| String::from_utf8_lossy(&o.decoded()).into_owned()),
                        });
                        Some(Ok(()))
                    }
                    _ => Some(Ok(())),
                },
                ServerEvent::Mail { .. } => {
                    self.rcpts.clear();
                    Some(Ok(()))
                }
                ServerEvent::MessageStart { .. } => {
                    self.current.clear();
                    None
                }
                ServerEvent::MessageData(p) => {
                    self.current.extend_from_slice(p);
                    None
                }
                ServerEvent::MessageComplete { .. } => {
                    self.transactions.push((
                        std::mem::take(&mut self.rcpts),
                        std::mem::take(&mut self.current),
                    ));
                    Some(Ok(()))
                }
                ServerEvent::Auth(AuthRequest::Credentials {
                    credentials: Credentials::Password { username, .. },
                    ..
                }) if username == "alice" => Some(Ok(())),
                ServerEvent::Connected
                | ServerEvent::Hello { .. }
                | ServerEvent::Verify { .. }
                | ServerEvent::Etrn { .. } => Some(Ok(())),
                _ => None,
            };
            match d {
                Some(Ok(())) => self.server.accept().expect("accept"),
                Some(Err(r)) => self.server.reject(r).expect("reject"),
                None => {}
            }
        }
        self.server.transmit(&mut self.to_client);
    }

    /// The envelope of one round: the message's, restricted to `round`.
    fn round_envelope(&self, round: &[usize]) -> Envelope {
        let mut e = self.env.clone();
        e.to = round.iter().map(|&i| self.env.to[i].clone()).collect();
        e.recipient_dsn = round
            .iter()
            .map(|&i| self.env.recipient_dsn.get(i).cloned().unwrap_or_default())
            .collect();
        e
    }

    fn drive_client(&mut self) {
        while let Some(ev) = self.client.next_event() {
            match ev {
                ClientEvent::Ready => {
                    if self.rounds.is_empty() {
                        self.client.quit().expect("quit");
                        continue;
                    }
                    self.round = self.rounds.remove(0);
                    let env = self.round_envelope(&self.round);
                    if self.stream {
                        let info = BodyInfo::new(Some(self.body.len() as u64), false);
                        self.client.start_mail(env, info).expect("start_mail");
                        self.feeding = Some(0);
                    } else {
                        self.client
                            .send_mail(env, self.body.clone())
                            .expect("send_mail");
                    }
                }
                ClientEvent::Recipient {
                    index,
                    accepted,
                    reply,
                } => self
                    .answers
                    .entry(self.round[index])
                    .or_default()
                    .push((accepted, reply.code.get())),
                ClientEvent::RecipientsUnsent { recipients } => {
                    if !self.stream {
                        self.unsent_whole = true;
                    }
                    let again: Vec<usize> = recipients.iter().map(|&k| self.round[k]).collect();
                    self.rounds.push(again);
                }
                ClientEvent::RecipientsPartial { .. } => self.client.proceed().expect("proceed"),
                ClientEvent::TransactionFailed { .. } => self.feeding = None,
                ClientEvent::Error(e) => self.errors.push(format!("{e:?}")),
                ClientEvent::Closed => self.closed = true,
                _ => {}
            }
        }
        self.client.transmit(&mut self.to_server);
        self.feed();
    }

    fn feed(&mut self) {
        while self.client.wants_body() {
            let Some(at) = self.feeding else {
                return;
            };
            if at == self.body.len() {
                self.client.end_body().expect("end_body");
                self.feeding = None;
                break;
            }
            if self.client.body_room() == 0 {
                break;
            }
            let end = (at + 7).min(self.body.len());
            let n = self
                .client
                .send_body(&self.body[at..end])
                .expect("send_body");
            self.feeding = Some(at + n);
            self.client.transmit(&mut self.to_server);
        }
        self.client.transmit(&mut self.to_server);
    }

    fn run(&mut self) {
        self.drive_server();
        self.drive_client();
        for _ in 0..200_000 {
            if self.client.wants_tls() && self.server.wants_tls() && self.to_client.is_empty() {
                assert!(self.server.tls_established());
                assert!(self.client.tls_established());
            }
            let mut progressed = false;
            if !self.to_server.is_empty() {
                let n = self.chunk().min(self.to_server.len());
                let part: Vec<u8> = self.to_server.drain(..n).collect();
                self.server.receive(&part);
                progressed = true;
            }
            self.drive_server();
            if !self.to_client.is_empty() {
                let n = self.chunk().min(self.to_client.len());
                let part: Vec<u8> = self.to_client.drain(..n).collect();
                self.client.receive(&part);
                progressed = true;
            }
            self.drive_client();
            if self.client.is_closed() && self.to_server.is_empty() {
                break;
            }
            if !progressed && self.to_server.is_empty() && self.to_client.is_empty() {
                if self.client.wants_tls() && self.server.wants_tls() {
                    continue;
                }
                break;
            }
        }
    }
}

/// What DATA or BDAT delivers of a CRLF-clean text body.
fn expected(body: &[u8], bdat: bool) -> Vec<u8> {
    let mut b = body.to_vec();
    if !bdat && !b.is_empty() && !b.ends_with(b"\r\n") {
        b.extend_from_slice(b"\r\n");
    }
    b
}

fn mode() -> impl Strategy<Value = PortMode> {
    prop_oneof![
        Just(PortMode::Relay),
        Just(PortMode::Submission),
        Just(PortMode::ImplicitTls),
        Just(PortMode::Lmtp),
    ]
}

/// A text body with dot lines, CRLF only.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop_oneof![Just(".".to_string()), "[a-z. ]{0,12}"], 0..6)
        .prop_map(|lines| lines.join("\r\n").into_bytes())
}

/// Recipient `i`: refused by the server when `refuse` (local part `x`),
/// with per-recipient DSN `dsn` (0 none, 1 NOTIFY=NEVER, 2 NOTIFY=DELAY
/// and an ORCPT, 3 an ORCPT only), on one of three domains.
fn recipients() -> impl Strategy<Value = Vec<(bool, u8, u8)>> {
    prop::collection::vec((prop::bool::weighted(0.2), 0u8..4, 0u8..3), 1..12)
}

#[allow(clippy::too_many_arguments)]
fn check(
    mode: PortMode,
    pipelining: bool,
    chunking: bool,
    stream: bool,
    rcpt_max: Option<usize>,
    server_max: usize,
    envelope_dsn: bool,
    rs: Vec<(bool, u8, u8)>,
    body: Vec<u8>,
    splits: Vec<usize>,
) -> Result<(), TestCaseError> {
    let mut ccfg = ClientConfig::new(mode, "client.example.org");
    ccfg.pipelining = pipelining;
    ccfg.chunking = chunking;
    ccfg.rcpt_max = rcpt_max;
    ccfg.chunk_size = 16;
    if matches!(mode, PortMode::Submission | PortMode::ImplicitTls) {
        ccfg = ccfg.with_credentials(ClientCredentials::new("alice", "secret"));
    }
    let mut scfg = ServerConfig::new(mode, "mx.example.net").with_tls();
    scfg.limits.recipients = server_max;

    let to: Vec<String> = rs
        .iter()
        .enumerate()
        .map(|(i, (refuse, _, d))| format!("{}r{i}@d{d}.example", if *refuse { "x" } else { "" }))
        .collect();
    let mut env = Envelope::new("alice@example.org", to.clone());
    if envelope_dsn {
        env.dsn = Some(Dsn {
            ret: None,
            envid: Some("env 1".into()),
            notify: Notify::on(false, true, false),
            orcpt: true,
        });
    }
    // What the server must see per recipient: NOTIFY and ORCPT.
    let mut want: Vec<Took> = Vec::new();
    for (i, (refuse, dsn, _)) in rs.iter().enumerate() {
        let own = match dsn {
            1 => RecipientDsn {
                notify: Some(Notify::NEVER),
                orcpt: None,
            },
            2 => RecipientDsn {
                notify: Notify::on(false, false, true),
                orcpt: Some(format!("old{i}@example.com")),
            },
            3 => RecipientDsn {
                notify: None,
                orcpt: Some(format!("orig+{i}@example.com")),
            },
            _ => RecipientDsn::default(),
        };
        let notify = own
            .notify
            .or(env.dsn.as_ref().and_then(|d| d.notify))
            .map(|n| format!("{n:?}"));
        let orcpt = own
            .orcpt
            .clone()
            .or_else(|| envelope_dsn.then(|| to[i].clone()));
        if !refuse {
            want.push(Took {
                addr: to[i].clone(),
                notify,
                orcpt,
            });
        }
        env = env.with_recipient_dsn(i, own);
    }
    let n = to.len();
    let mut pair = Pair {
        client: Client::new(ccfg).expect("client config"),
        server: Server::new(scfg),
        to_server: Vec::new(),
        to_client: Vec::new(),
        splits,
        split_at: 0,
        rcpts: Vec::new(),
        current: Vec::new(),
        transactions: Vec::new(),
        env,
        body: body.clone(),
        stream,
        rounds: vec![(0..n).collect()],
        round: Vec::new(),
        answers: BTreeMap::new(),
        unsent_whole: false,
        feeding: None,
        errors: Vec::new(),
        closed: false,
    };
    pair.run();
    prop_assert!(pair.errors.is_empty(), "client errors: {:?}", pair.errors);
    prop_assert!(pair.closed, "client did not close");
    prop_assert!(
        !pair.unsent_whole,
        "a whole body is sent to every recipient on the connection"
    );
    // Every recipient has exactly one final RCPT answer: accepted unless
    // refused by the application (550).
    for (i, (refuse, _, _)) in rs.iter().enumerate() {
        let a = pair.answers.get(&i).cloned().unwrap_or_default();
        let expect = if *refuse { (false, 550) } else { (true, 250) };
        prop_assert_eq!(a, vec![expect], "recipient {} of {:?}", i, to);
    }
    // Each recipient the server took, once, in a transaction within the
    // limits, with its own NOTIFY and ORCPT; every body byte-exact.
    let limit = rcpt_max.unwrap_or(usize::MAX).min(server_max);
    let mut took: Vec<Took> = Vec::new();
    for (rcpts, content) in &pair.transactions {
        prop_assert!(!rcpts.is_empty() && rcpts.len() <= limit, "{:?}", rcpts);
        prop_assert_eq!(content, &expected(&body, chunking));
        took.extend(rcpts.iter().cloned());
    }
    took.sort();
    want.sort();
    prop_assert_eq!(took, want);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn split_messages_reach_every_recipient_once(
        mode in mode(),
        pipelining in any::<bool>(),
        chunking in any::<bool>(),
        stream in any::<bool>(),
        rcpt_max in prop::option::of(1usize..5),
        server_max in 1usize..6,
        envelope_dsn in any::<bool>(),
        rs in recipients(),
        body in body(),
        splits in prop::collection::vec(1usize..80, 1..6),
    ) {
        check(mode, pipelining, chunking, stream, rcpt_max, server_max, envelope_dsn, rs, body, splits)?;
    }
}

#[test]
fn split_every_mode_fixed() {
    for mode in [
        PortMode::Relay,
        PortMode::Submission,
        PortMode::ImplicitTls,
        PortMode::Lmtp,
    ] {
        for (p, c) in [(false, false), (true, false), (false, true), (true, true)] {
            for stream in [false, true] {
                let rs = vec![
                    (false, 1, 0),
                    (true, 0, 1),
                    (false, 2, 1),
                    (false, 3, 2),
                    (false, 0, 0),
                ];
                check(
                    mode,
                    p,
                    c,
                    stream,
                    Some(3),
                    2,
                    true,
                    rs,
                    b".\r\nhello".to_vec(),
                    vec![1, 9],
                )
                .unwrap();
            }
        }
    }
}
