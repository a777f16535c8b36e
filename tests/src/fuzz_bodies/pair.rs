//! `pair`: the crate's client and server machines talking end to end (as
//! in `smtp-proto/tests/client_pair.rs`, driven here by an `arbitrary`
//! script) in every [`PortMode`], with arbitrary message bodies (any
//! bytes), recipients (some refused), client pipelining/chunking, server
//! PIPELINING/CHUNKING/8BITMIME offers, right or wrong credentials, and
//! arbitrary cuts of the byte streams in both directions. The server's
//! application accepts everything except recipients whose local part
//! starts with `x`, and checks the AUTH credentials. Invariants:
//!
//! - every message the client reports delivered (`Delivered`, or an LMTP
//!   result with `delivered`) arrived at the server byte-exact: the body
//!   with bare CR/LF normalized to CRLF and, with DATA, a final CRLF added
//!   to a non-empty body that lacks one ([`expected_content`]), or
//!   unchanged when it went as BINARYMIME (NUL or bare line endings, the
//!   server offering BINARYMIME and CHUNKING, RFC 3030 3); each
//!   message is tagged by its sender `m<N>@example.org`;
//! - with the right credentials, the session ends cleanly: no client
//!   error, the client closed, TLS and AUTH as the mode wants, one outcome
//!   per message sent (delivered when a recipient was accepted, refused at
//!   `Recipients` otherwise) and no message the client did not report;
//! - with wrong credentials: `AuthFailed` and nothing delivered.

use arbitrary::{Arbitrary, Unstructured};
use smtp_sansio::{AuthRequest, Server, ServerEvent};
use smtp_sansio::{
    Client, ClientConfig, ClientCredentials, ClientError, ClientEvent, Envelope, MessageError,
    SendError, TransactionStage,
};
use smtp_sansio::{Credentials, Mechanism};
use smtp_sansio::{EnhancedCode, OwnedReply, ReplyCode};
use smtp_sansio::{Extensions, ForwardPath, ReversePath};
use smtp_sansio::{PortMode, ServerConfig};

/// The content the server must receive for `body`: bare CR and bare LF
/// normalized to CRLF; with DATA (`bdat` false) a final CRLF is added to a
/// non-empty body that does not end with one (RFC 5321 4.1.1.4).
pub fn expected_content(body: &[u8], bdat: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 2);
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        match b {
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
            _ => {
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

#[derive(Debug, Arbitrary)]
struct MsgSpec {
    /// One recipient per byte: bit 7 refused (`x` local part), low bits
    /// pick the name.
    to: Vec<u8>,
    body: Vec<u8>,
}

#[derive(Debug, Arbitrary)]
struct Script {
    mode: u8,
    flags: u8,
    msgs: Vec<MsgSpec>,
    /// Chunk sizes client to server, cycled (0 is 1).
    c2s: Vec<u8>,
    /// Chunk sizes server to client.
    s2c: Vec<u8>,
}

const NAMES: &[&str] = &["bob", "carol", "dave", "erin", "frank", "grace", "heidi"];

fn recipient(b: u8) -> String {
    let i = usize::from(b & 0x7f);
    if i % 8 == 7 {
        return "Postmaster".into();
    }
    let name = NAMES[i % NAMES.len()];
    if b & 0x80 != 0 {
        format!("x{name}@example.net")
    } else {
        format!("{name}@example.net")
    }
}

fn refused(r: &str) -> bool {
    r.starts_with('x')
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Delivered,
    /// LMTP: results, of which delivered.
    Lmtp(usize, usize),
    Failed(TransactionStage),
}

struct Msg {
    to: Vec<String>,
    body: Vec<u8>,
}

struct Pair {
    client: Client,
    server: Server,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    c2s: Vec<usize>,
    s2c: Vec<usize>,
    c2s_at: usize,
    s2c_at: usize,
    bdat: bool,
    /// The client may send BINARYMIME (offered with CHUNKING, RFC 3030 3):
    /// a body with NUL or bare line endings then arrives unchanged.
    binary: bool,
    msgs: Vec<Msg>,
    next_msg: usize,
    /// The message in flight (index into `msgs`).
    current: Option<usize>,
    /// Messages sent, with their outcome (if reported).
    outcomes: Vec<(usize, Option<Outcome>)>,
    /// Messages the server completed: (tag, content).
    completed: Vec<(Option<usize>, Vec<u8>)>,
    server_tag: Option<usize>,
    server_content: Vec<u8>,
    errors: Vec<ClientError>,
    closed: bool,
    user: &'static str,
    password: &'static str,
}

fn next(splits: &[usize], at: &mut usize) -> usize {
    if splits.is_empty() {
        return usize::MAX;
    }
    let n = splits[*at % splits.len()];
    *at += 1;
    n.max(1)
}

fn refuse(code: ReplyCode, e: [u16; 3], text: &'static str) -> OwnedReply {
    OwnedReply::new(code, EnhancedCode::new(e[0] as u8, e[1], e[2]), text)
}

impl Pair {
    fn drive_server(&mut self) {
        while let Some(ev) = self.server.next_event() {
            enum D {
                None,
                Accept,
                Reject(OwnedReply),
            }
            let d = match ev {
                ServerEvent::Mail { from, .. } => {
                    self.server_tag = match from {
                        ReversePath::Mailbox(m) => std::str::from_utf8(m.local.as_bytes())
                            .ok()
                            .and_then(|l| l.strip_prefix('m'))
                            .and_then(|n| n.parse().ok()),
                        ReversePath::Null => None,
                    };
                    D::Accept
                }
                ServerEvent::Rcpt { to, .. } => match to {
                    ForwardPath::Mailbox(m) if m.local.as_bytes().starts_with(b"x") => D::Reject(
                        refuse(ReplyCode::MAILBOX_UNAVAILABLE, [5, 1, 1], "no such user"),
                    ),
                    _ => D::Accept,
                },
                ServerEvent::MessageStart { .. } => {
                    self.server_content.clear();
                    D::None
                }
                ServerEvent::MessageData(p) => {
                    self.server_content.extend_from_slice(p);
                    D::None
                }
                ServerEvent::MessageComplete { .. } => {
                    let content = std::mem::take(&mut self.server_content);
                    self.completed.push((self.server_tag, content));
                    D::Accept
                }
                ServerEvent::Auth(AuthRequest::Credentials {
                    credentials:
                        Credentials::Password {
                            username, password, ..
                        },
                    ..
                }) => {
                    if username == self.user && password.expose() == self.password {
                        D::Accept
                    } else {
                        D::Reject(refuse(ReplyCode::AUTH_INVALID, [5, 7, 8], "bad"))
                    }
                }
                ServerEvent::Auth(_) => {
                    D::Reject(refuse(ReplyCode::AUTH_INVALID, [5, 7, 8], "bad"))
                }
                ev if ev.needs_decision() => D::Accept,
                _ => D::None,
            };
            match d {
                D::None => {}
                D::Accept => self.server.accept().expect("server accept"),
                D::Reject(r) => self.server.reject(r).expect("server reject"),
            }
        }
        self.server.transmit(&mut self.to_client);
    }

    /// The server content tagged `i`, which the client reports delivered.
    fn check_delivered(&self, i: usize) {
        let body = &self.msgs[i].body;
        let text = smtp_sansio::data::inspect(body);
        let want = if self.binary && (text.nul || text.bare_line_ending) {
            body.clone()
        } else {
            expected_content(body, self.bdat)
        };
        let got: Vec<&Vec<u8>> = self
            .completed
            .iter()
            .filter(|(t, _)| *t == Some(i))
            .map(|(_, c)| c)
            .collect();
        assert_eq!(
            got.len(),
            1,
            "message {i} reported delivered, server has {got:?}"
        );
        assert!(
            got[0] == &want,
            "message {i} differs:\n got {:?}\nwant {:?}",
            String::from_utf8_lossy(got[0]),
            String::from_utf8_lossy(&want)
        );
    }

    fn outcome(&mut self) -> &mut Option<Outcome> {
        let i = self.current.expect("an outcome with no message in flight");
        let slot = self.outcomes.iter_mut().find(|(m, _)| *m == i);
        &mut slot.expect("message sent").1
    }

    fn send_next(&mut self) {
        while self.next_msg < self.msgs.len() {
            let i = self.next_msg;
            self.next_msg += 1;
            let m = &self.msgs[i];
            let env = Envelope::new(format!("m{i}@example.org"), m.to.clone());
            match self.client.send_mail(env, m.body.clone()) {
                Ok(()) => {
                    self.current = Some(i);
                    self.outcomes.push((i, None));
                    return;
                }
                Err(SendError::Invalid { error, .. }) => {
                    let ok = match error {
                        MessageError::NoRecipients => m.to.is_empty(),
                        MessageError::EightBitUnsupported => true,
                        MessageError::Nul => m.body.contains(&0),
                        _ => false,
                    };
                    assert!(ok, "message {i} refused by send_mail: {error:?}");
                }
                Err(e) => panic!("send_mail on Ready: {e:?}"),
            }
        }
        self.current = None;
        self.client.quit().expect("quit");
    }

    fn drive_client(&mut self) {
        while let Some(ev) = self.client.next_event() {
            assert!(!self.closed, "client event {ev:?} after Closed");
            match ev {
                ClientEvent::Ready => self.send_next(),
                ClientEvent::RecipientsPartial { .. } => self.client.proceed().expect("proceed"),
                ClientEvent::Delivered(_) => {
                    let i = self.current.expect("Delivered with no message");
                    self.check_delivered(i);
                    let o = self.outcome();
                    assert!(o.is_none(), "second outcome");
                    *o = Some(Outcome::Delivered);
                }
                ClientEvent::LmtpResult { delivered, .. } => {
                    let i = self.current.expect("LMTP result with no message");
                    if delivered {
                        self.check_delivered(i);
                    }
                    let o = self.outcome();
                    let (n, d) = match o {
                        Some(Outcome::Lmtp(n, d)) => (*n, *d),
                        None => (0, 0),
                        Some(other) => panic!("LMTP result after {other:?}"),
                    };
                    *o = Some(Outcome::Lmtp(n + 1, d + usize::from(delivered)));
                }
                ClientEvent::TransactionFailed { stage, .. } => {
                    let o = self.outcome();
                    assert!(o.is_none(), "second outcome");
                    *o = Some(Outcome::Failed(stage));
                }
                ClientEvent::Error(e) => self.errors.push(e),
                ClientEvent::Closed => self.closed = true,
                _ => {}
            }
        }
        self.client.transmit(&mut self.to_server);
    }

    fn run(&mut self) {
        self.drive_server();
        self.drive_client();
        for _ in 0..200_000 {
            if self.client.wants_tls() && self.server.wants_tls() && self.to_client.is_empty() {
                assert!(self.to_server.is_empty(), "client sent bytes before TLS");
                assert!(self.server.tls_established());
                assert!(self.client.tls_established());
            }
            let mut progressed = false;
            if !self.to_server.is_empty() {
                let n = next(&self.c2s, &mut self.c2s_at).min(self.to_server.len());
                let part: Vec<u8> = self.to_server.drain(..n).collect();
                self.server.receive(&part);
                progressed = true;
            }
            self.drive_server();
            if !self.to_client.is_empty() {
                let n = next(&self.s2c, &mut self.s2c_at).min(self.to_client.len());
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

/// The body.
pub fn pair(data: &[u8]) {
    let Ok(script) = Script::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    if std::env::var_os("SMTP_FUZZ_DEBUG").is_some() {
        eprintln!("{script:#?}");
    }
    let mode = [
        PortMode::Relay,
        PortMode::Submission,
        PortMode::ImplicitTls,
        PortMode::Lmtp,
    ][usize::from(script.mode % 4)];
    let f = script.flags;
    let wrong_password = f & 16 != 0;
    let auth = matches!(mode, PortMode::Submission | PortMode::ImplicitTls);

    let mut ccfg = ClientConfig::new(mode, "client.example.org");
    ccfg.pipelining = f & 1 != 0;
    ccfg.chunking = f & 2 != 0;
    let (user, password) = ("alice", "s3cret Pw");
    if auth {
        let secret = if wrong_password { "wrong" } else { password };
        ccfg = ccfg.with_credentials(ClientCredentials::new(user, secret));
        if f & 32 != 0 {
            ccfg.mechanisms = vec![Mechanism::Login, Mechanism::Plain];
        }
    }
    let mut scfg = ServerConfig::new(mode, "mx.example.net").with_tls();
    if f & 4 != 0 {
        scfg.extensions = scfg.extensions.without(Extensions::PIPELINING);
    }
    if f & 8 != 0 {
        scfg.extensions = scfg.extensions.without(Extensions::CHUNKING);
    }
    if f & 64 != 0 {
        scfg.extensions = scfg
            .extensions
            .without(Extensions::EIGHT_BIT_MIME)
            .without(Extensions::BINARY_MIME);
    }
    if f & 128 != 0 {
        scfg.pipelining_sync = false;
    }
    let bdat = ccfg.chunking && scfg.extensions.contains(Extensions::CHUNKING);
    let binary = bdat && ccfg.binarymime && scfg.extensions.contains(Extensions::BINARY_MIME);

    let msgs: Vec<Msg> = script
        .msgs
        .iter()
        .take(4)
        .map(|m| Msg {
            to: m.to.iter().take(6).map(|&b| recipient(b)).collect(),
            body: m.body.iter().take(4096).copied().collect(),
        })
        .collect();
    let splits = |v: &[u8]| -> Vec<usize> { v.iter().take(16).map(|&n| usize::from(n)).collect() };
    let mut p = Pair {
        client: Client::new(ccfg).expect("client config"),
        server: Server::new(scfg),
        to_server: Vec::new(),
        to_client: Vec::new(),
        c2s: splits(&script.c2s),
        s2c: splits(&script.s2c),
        c2s_at: 0,
        s2c_at: 0,
        bdat,
        binary,
        msgs,
        next_msg: 0,
        current: None,
        outcomes: Vec::new(),
        completed: Vec::new(),
        server_tag: None,
        server_content: Vec::new(),
        errors: Vec::new(),
        closed: false,
        user,
        password,
    };
    p.run();

    assert!(p.closed && p.client.is_closed(), "client did not close");
    if auth && wrong_password {
        assert!(
            matches!(p.errors.as_slice(), [ClientError::AuthFailed(_)]),
            "wrong password: {:?}",
            p.errors
        );
        assert!(p.outcomes.is_empty() && p.completed.is_empty());
        return;
    }
    assert!(p.errors.is_empty(), "client errors: {:?}", p.errors);
    assert_eq!(p.client.is_tls(), mode != PortMode::Lmtp);
    assert_eq!(p.client.is_authenticated(), auth);
    assert_eq!(p.next_msg, p.msgs.len(), "not every message was tried");
    for (i, o) in &p.outcomes {
        let m = &p.msgs[*i];
        let accepted = m.to.iter().filter(|t| !refused(t)).count();
        let o = o
            .as_ref()
            .unwrap_or_else(|| panic!("message {i}: no outcome"));
        if accepted == 0 {
            assert_eq!(
                o,
                &Outcome::Failed(TransactionStage::Recipients),
                "message {i}"
            );
        } else if mode == PortMode::Lmtp {
            assert_eq!(o, &Outcome::Lmtp(accepted, accepted), "message {i}");
        } else {
            assert_eq!(o, &Outcome::Delivered, "message {i}");
        }
    }
    // Nothing completed at the server that the client did not report.
    for (tag, _) in &p.completed {
        let reported = tag.is_some_and(|t| {
            p.outcomes.iter().any(|(i, o)| {
                *i == t && matches!(o, Some(Outcome::Delivered | Outcome::Lmtp(_, _)))
            })
        });
        assert!(
            reported,
            "server completed message {tag:?} the client did not report"
        );
    }
}
