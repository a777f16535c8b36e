//! An in-memory client + server pair (the crate's own `Client` and
//! `Server`) in every port mode, with random messages, random recipients
//! and random splits of the bytes in both directions: every message the
//! server accepts arrives byte-exact.

use proptest::prelude::*;
use smtp_sansio::Credentials;
use smtp_sansio::ForwardPath;
use smtp_sansio::client::{
    BodyInfo, Client, ClientConfig, ClientCredentials, ClientEvent, Envelope, TransactionStage,
};
use smtp_sansio::{AuthRequest, Server, ServerEvent};
use smtp_sansio::{EnhancedCode, OwnedReply, ReplyCode};
use smtp_sansio::{PortMode, ServerConfig};

/// Whether a body holds a bare CR or bare LF (RFC 5321 2.3.8).
fn bare_line_ending(body: &[u8]) -> bool {
    body.iter().enumerate().any(|(i, &b)| {
        b == b'\n' && (i == 0 || body[i - 1] != b'\r')
            || b == b'\r' && body.get(i + 1) != Some(&b'\n')
    })
}

/// What one message should look like on the server side. With BDAT, the
/// server offers BINARYMIME: a body with bare line endings goes unchanged
/// (RFC 3030 3); otherwise they are normalized.
fn expected(body: &[u8], bdat: bool) -> Vec<u8> {
    if bdat && bare_line_ending(body) {
        return body.to_vec();
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                i += if body.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
            }
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    if !bdat && !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[derive(Debug, Clone)]
struct Msg {
    to: Vec<String>,
    body: Vec<u8>,
}

/// Outcome of one message as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Delivered,
    Lmtp(usize),
    Failed(TransactionStage),
}

struct Pair {
    client: Client,
    server: Server,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    splits: Vec<usize>,
    split_at: usize,
    /// Messages the server completed, as received.
    delivered: Vec<Vec<u8>>,
    current: Vec<u8>,
    /// Messages still to send, and outcomes.
    queue: Vec<Msg>,
    outcomes: Vec<Outcome>,
    lmtp_results: usize,
    errors: Vec<String>,
    closed: bool,
    /// Streamed bodies (`start_mail`): the application's piece sizes,
    /// used in turn.
    pieces: Option<Vec<usize>>,
    piece_at: usize,
    /// The body being streamed and how much of it was handed.
    feeding: Option<(Vec<u8>, usize)>,
    /// The largest output seen after one `send_body`.
    peak_output: usize,
}

impl Pair {
    fn chunk(&mut self) -> usize {
        let n = self.splits[self.split_at % self.splits.len()];
        self.split_at += 1;
        n.max(1)
    }

    fn drive_server(&mut self) {
        while let Some(ev) = self.server.next_event() {
            enum D {
                None,
                Accept,
                Reject(OwnedReply),
            }
            let d = match ev {
                ServerEvent::Connected
                | ServerEvent::Hello { .. }
                | ServerEvent::Mail { .. }
                | ServerEvent::Verify { .. }
                | ServerEvent::Etrn { .. } => D::Accept,
                ServerEvent::Rcpt { to, .. } => match to {
                    ForwardPath::Mailbox(m) if m.local.as_bytes().starts_with(b"x") => {
                        D::Reject(OwnedReply::new(
                            ReplyCode::MAILBOX_UNAVAILABLE,
                            EnhancedCode::new(5, 1, 1),
                            "no such user",
                        ))
                    }
                    _ => D::Accept,
                },
                ServerEvent::MessageStart { .. } => {
                    self.current.clear();
                    D::None
                }
                ServerEvent::MessageData(p) => {
                    self.current.extend_from_slice(p);
                    D::None
                }
                ServerEvent::MessageComplete { .. } => {
                    self.delivered.push(std::mem::take(&mut self.current));
                    D::Accept
                }
                ServerEvent::Auth(AuthRequest::Credentials {
                    credentials:
                        Credentials::Password {
                            username, password, ..
                        },
                    ..
                }) => {
                    if username == "alice" && password.expose() == "secret" {
                        D::Accept
                    } else {
                        D::Reject(OwnedReply::new(
                            ReplyCode::AUTH_INVALID,
                            EnhancedCode::new(5, 7, 8),
                            "bad",
                        ))
                    }
                }
                ServerEvent::Auth(_) => D::Reject(OwnedReply::new(
                    ReplyCode::AUTH_INVALID,
                    EnhancedCode::new(5, 7, 8),
                    "bad",
                )),
                _ => D::None,
            };
            match d {
                D::None => {}
                D::Accept => self.server.accept().expect("accept"),
                D::Reject(r) => self.server.reject(r).expect("reject"),
            }
        }
        self.server.transmit(&mut self.to_client);
    }

    fn drive_client(&mut self) {
        while let Some(ev) = self.client.next_event() {
            match ev {
                ClientEvent::Ready => {
                    if self.queue.is_empty() {
                        self.client.quit().expect("quit");
                    } else {
                        let m = self.queue.remove(0);
                        let env = Envelope::new("alice@example.org", m.to.clone());
                        if self.pieces.is_some() {
                            let mut info =
                                BodyInfo::new(Some(m.body.len() as u64), !m.body.is_ascii());
                            // The server offers BINARYMIME and CHUNKING.
                            info.binary =
                                self.client.config().chunking && bare_line_ending(&m.body);
                            self.client.start_mail(env, info).expect("start_mail");
                            self.feeding = Some((m.body.clone(), 0));
                        } else {
                            self.client
                                .send_mail(env, m.body.clone())
                                .expect("send_mail");
                        }
                    }
                }
                ClientEvent::BodyWanted => assert!(self.feeding.is_some()),
                ClientEvent::RecipientsPartial { .. } => self.client.proceed().expect("proceed"),
                ClientEvent::Delivered(_) => self.outcomes.push(Outcome::Delivered),
                ClientEvent::LmtpResult { .. } => self.lmtp_results += 1,
                ClientEvent::TransactionFailed { stage, .. } => {
                    self.feeding = None;
                    self.outcomes.push(Outcome::Failed(stage))
                }
                ClientEvent::Error(e) => self.errors.push(format!("{e:?}")),
                ClientEvent::Closed => self.closed = true,
                _ => {}
            }
            if self.lmtp_results > 0 && self.client.is_ready() {
                self.outcomes.push(Outcome::Lmtp(self.lmtp_results));
                self.lmtp_results = 0;
            }
        }
        self.client.transmit(&mut self.to_server);
        self.feed();
    }

    /// Hands the streamed body in pieces, as far as the client takes
    /// them, transmitting as a driver would.
    fn feed(&mut self) {
        let chunk_size = self.client.config().chunk_size;
        while self.client.wants_body() {
            let Some((body, at)) = self.feeding.as_mut() else {
                return;
            };
            if *at == body.len() {
                self.client.end_body().expect("end_body");
                self.feeding = None;
                self.client.transmit(&mut self.to_server);
                return;
            }
            if self.client.body_room() == 0 {
                return;
            }
            let pieces = self.pieces.as_ref().expect("streaming");
            let want = pieces[self.piece_at % pieces.len()].max(1);
            self.piece_at += 1;
            let end = (*at + want).min(body.len());
            let n = self.client.send_body(&body[*at..end]).expect("send_body");
            assert!(n > 0, "room > 0 but nothing taken");
            *at += n;
            let mut out = Vec::new();
            self.client.transmit(&mut out);
            // Bounded memory: one piece's output, at most one chunk and
            // its header past the room (normalization may double it).
            self.peak_output = self.peak_output.max(out.len());
            assert!(
                out.len() <= 2 * chunk_size + 64,
                "{} octets of output after one piece with chunk size {chunk_size}",
                out.len()
            );
            self.to_server.extend_from_slice(&out);
        }
    }

    fn run(&mut self) {
        self.drive_server();
        self.drive_client();
        for _ in 0..100_000 {
            if self.client.wants_tls() && self.server.wants_tls() && self.to_client.is_empty() {
                assert!(self.to_server.is_empty(), "client sent bytes before TLS");
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

fn configs(mode: PortMode, pipelining: bool, chunking: bool) -> (ClientConfig, ServerConfig) {
    let mut c = ClientConfig::new(mode, "client.example.org");
    c.pipelining = pipelining;
    c.chunking = chunking;
    if matches!(mode, PortMode::Submission | PortMode::ImplicitTls) {
        c = c.with_credentials(ClientCredentials::new("alice", "secret"));
    }
    let s = ServerConfig::new(mode, "mx.example.net").with_tls();
    (c, s)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => Just(b'a'),
            2 => Just(b'.'),
            2 => Just(b'\r'),
            2 => Just(b'\n'),
            1 => Just(b' '),
            1 => Just(0xC3u8),
            1 => 1u8..=255,
        ],
        0..300,
    )
}

fn recipient() -> impl Strategy<Value = String> {
    ("[a-z]{1,6}", any::<bool>()).prop_map(|(local, refuse)| {
        if refuse {
            format!("x{local}@example.net")
        } else {
            format!("{local}@example.net")
        }
    })
}

fn message() -> impl Strategy<Value = Msg> {
    (prop::collection::vec(recipient(), 1..5), body()).prop_map(|(to, body)| Msg { to, body })
}

fn mode() -> impl Strategy<Value = PortMode> {
    prop_oneof![
        Just(PortMode::Relay),
        Just(PortMode::Submission),
        Just(PortMode::ImplicitTls),
        Just(PortMode::Lmtp),
    ]
}

fn check_session(
    mode: PortMode,
    pipelining: bool,
    chunking: bool,
    msgs: Vec<Msg>,
    splits: Vec<usize>,
) -> Result<(), TestCaseError> {
    check_session_with(mode, pipelining, chunking, msgs, splits, None)
}

/// `stream`: the body is streamed with these piece sizes and this chunk
/// size.
fn check_session_with(
    mode: PortMode,
    pipelining: bool,
    chunking: bool,
    msgs: Vec<Msg>,
    splits: Vec<usize>,
    stream: Option<(Vec<usize>, usize)>,
) -> Result<(), TestCaseError> {
    let (mut ccfg, scfg) = configs(mode, pipelining, chunking);
    let pieces = stream.map(|(pieces, chunk_size)| {
        ccfg.chunk_size = chunk_size;
        pieces
    });
    let mut pair = Pair {
        client: Client::new(ccfg).expect("client config"),
        server: Server::new(scfg),
        to_server: Vec::new(),
        to_client: Vec::new(),
        splits,
        split_at: 0,
        delivered: Vec::new(),
        current: Vec::new(),
        queue: msgs.clone(),
        outcomes: Vec::new(),
        lmtp_results: 0,
        errors: Vec::new(),
        closed: false,
        pieces,
        piece_at: 0,
        feeding: None,
        peak_output: 0,
    };
    pair.run();
    prop_assert!(pair.errors.is_empty(), "client errors: {:?}", pair.errors);
    prop_assert!(pair.closed, "client did not close");
    prop_assert!(pair.client.is_closed());
    prop_assert_eq!(pair.client.is_tls(), mode != PortMode::Lmtp);
    prop_assert_eq!(
        pair.client.is_authenticated(),
        matches!(mode, PortMode::Submission | PortMode::ImplicitTls)
    );
    prop_assert_eq!(
        pair.outcomes.len(),
        msgs.len(),
        "outcomes {:?}",
        pair.outcomes
    );
    // BDAT is used when the server offers CHUNKING (it does by default).
    let bdat = chunking;
    let mut delivered = pair.delivered.iter();
    for (m, o) in msgs.iter().zip(&pair.outcomes) {
        let accepted = m.to.iter().filter(|t| !t.starts_with('x')).count();
        if accepted == 0 {
            prop_assert_eq!(o, &Outcome::Failed(TransactionStage::Recipients));
            continue;
        }
        if mode == PortMode::Lmtp {
            prop_assert_eq!(o, &Outcome::Lmtp(accepted));
        } else {
            prop_assert_eq!(o, &Outcome::Delivered);
        }
        let got = delivered.next();
        prop_assert!(got.is_some(), "message not delivered");
        let want = expected(&m.body, bdat);
        prop_assert_eq!(got.map(Vec::as_slice), Some(want.as_slice()));
    }
    prop_assert!(delivered.next().is_none(), "extra message delivered");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn messages_arrive_byte_exact(
        mode in mode(),
        pipelining in any::<bool>(),
        chunking in any::<bool>(),
        msgs in prop::collection::vec(message(), 1..4),
        splits in prop::collection::vec(1usize..80, 1..8),
    ) {
        check_session(mode, pipelining, chunking, msgs, splits)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Streamed bodies (`start_mail`, `send_body`, `end_body`) at random
    /// piece sizes and chunk sizes, DATA and BDAT, with and without
    /// pipelining: byte-exact, as with `send_mail`.
    #[test]
    fn streamed_messages_arrive_byte_exact(
        mode in mode(),
        pipelining in any::<bool>(),
        chunking in any::<bool>(),
        msgs in prop::collection::vec(message(), 1..4),
        splits in prop::collection::vec(1usize..80, 1..8),
        pieces in prop::collection::vec(1usize..40, 1..6),
        chunk_size in 1usize..64,
    ) {
        check_session_with(mode, pipelining, chunking, msgs, splits, Some((pieces, chunk_size)))?;
    }
}

#[test]
fn streamed_one_byte_pieces_every_mode() {
    for mode in [
        PortMode::Relay,
        PortMode::Submission,
        PortMode::ImplicitTls,
        PortMode::Lmtp,
    ] {
        for (p, c) in [(false, false), (true, false), (false, true), (true, true)] {
            for chunk_size in [1, 3, 64 * 1024] {
                let msgs = vec![
                    Msg {
                        to: vec!["bob@example.net".into(), "xeve@example.net".into()],
                        body: b".\r\n..dot\nbare\rcr\r\n.\r".to_vec(),
                    },
                    Msg {
                        to: vec!["xnobody@example.net".into()],
                        body: b"x".to_vec(),
                    },
                    Msg {
                        to: vec!["carol@example.net".into()],
                        body: Vec::new(),
                    },
                ];
                check_session_with(mode, p, c, msgs, vec![1, 7], Some((vec![1], chunk_size)))
                    .unwrap();
            }
        }
    }
}

#[test]
fn one_byte_at_a_time_every_mode() {
    for mode in [
        PortMode::Relay,
        PortMode::Submission,
        PortMode::ImplicitTls,
        PortMode::Lmtp,
    ] {
        for (p, c) in [(false, false), (true, false), (false, true), (true, true)] {
            let msgs = vec![
                Msg {
                    to: vec!["bob@example.net".into(), "xeve@example.net".into()],
                    body: b".\r\n..dot\nbare\rcr\r\n.".to_vec(),
                },
                Msg {
                    to: vec!["xnobody@example.net".into()],
                    body: b"x".to_vec(),
                },
                Msg {
                    to: vec!["carol@example.net".into()],
                    body: Vec::new(),
                },
            ];
            check_session(mode, p, c, msgs, vec![1]).unwrap();
        }
    }
}
