//! The client's states and its one transition function (RFC 5321 3, 4.1,
//! 4.2, 4.5.3.2; RFC 3207 4, 5; RFC 4954 4, 6; RFC 2920 3.1; RFC 3030 2;
//! RFC 2033 4.2; RFC 8314 3).
//!
//! Every (state, input) -> (next state, actions) of the client lives in
//! [`Machine::step`] and the helpers it calls in this file; the public API
//! ([`super::Client`]) only turns calls and bytes into [`Input`]s.
//!
//! # States
//!
//! The machine's state is two enums:
//!
//! * [`Security`], for the whole connection: plaintext or TLS, and whether
//!   AUTH succeeded. Authenticated-in-plaintext is reached only where the
//!   TLS policy is not [`TlsPolicy::Required`] (the downgrade check in
//!   [`Machine::after_hello`] runs first).
//! * [`Phase`], what the machine waits for: the greeting, a hello reply,
//!   the STARTTLS reply, the TLS handshake, an AUTH exchange, an open
//!   session (itself [`Txn`]: idle, a transaction in flight, a decision,
//!   an abort), QUIT's reply, or nothing (closed). A transaction exists
//!   only inside an open session, so only after a greeting and a hello
//!   (and TLS and AUTH where required).
//!
//! ```text
//! Greeting --220--> Hello(EHLO|LHLO) --500/502, HELO allowed--> Hello(HELO)
//! Hello --2xx--> [plaintext, STARTTLS offered, policy not None] StartTls
//!                [credentials] Auth   else Open(Idle)
//! StartTls --220, nothing behind it--> AwaitTls --tls_established--> Hello
//! StartTls --4xx/5xx--> Required: fatal; Opportunistic: as after Hello
//! Auth --334--> Auth --235--> Open(Idle)
//! Open(Idle) --send_mail--> Open(Running) --replies--> Open(Idle)
//! Open(Idle) --start_mail--> Open(Running, stream Held)
//!    --DATA 354 | BDAT due--> stream Open (BodyWanted; send_body pieces:
//!       dot-stuffed, or `BDAT n` chunks of chunk_size)
//!    --end_body--> stream Ended (`.` | `BDAT n LAST`) --reply--> Open(Idle)
//!    stream Open --chunk refused--> Failed --replies drained--> Open(Idle)
//!    stream Open --abort / invalid piece--> BDAT: Abandoning --RSET 250--> Open(Idle)
//!                                           DATA: closed at once
//! Open(Idle) --noop | rset | vrfy | expn | help | etrn--> Open(Query) --reply--> Open(Idle)
//!                                         --partial, no pipelining--> Open(Decide)
//! Open(Decide) --proceed--> Open(Running) | --abort--> Open(Aborting) --RSET 250--> Open(Idle)
//! Open(Idle | Decide) --quit--> Quitting
//! any --fatal--> Quitting (QUIT behind the replies still due) | Closed
//! Quitting --QUIT's reply, EOF--> Closed
//! ```

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use crate::address::Domain;
use crate::capability::EhloReply;
use crate::command::Command;
use crate::error::{EncodeError, ParseError};
use crate::ext::Extensions;
use crate::mode::PortMode;
use crate::mutants::Mutant;
use crate::reply::{OwnedReply, Reply, ReplyCode, ReplyReader};
use crate::sasl::{self, Mechanism, Secret};
use crate::session::HelloKind;

use super::caps::ServerCapabilities;
use super::config::{
    COMMAND_TIMEOUT, ClientConfig, DATA_END_TIMEOUT, DATA_INIT_TIMEOUT, GREETING_TIMEOUT,
    MAIL_TIMEOUT, RCPT_TIMEOUT, TlsPolicy, client_supports,
};
use super::envelope::{self, BodyInfo, Envelope, MessageError, Prepared};
use super::event::{ClientError, ClientEvent, Query, QueryError, TransactionStage};
use super::plan::WrongPort;
use crate::data::{BdatHeader, DataEncoder};

// ---------------------------------------------------------------------------
// The states

/// The connection's security (RFC 3207, RFC 8314, RFC 4954).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Security {
    /// Plaintext, not authenticated.
    Plain,
    /// Plaintext and authenticated: only where the TLS policy is not
    /// [`TlsPolicy::Required`], and with a plaintext mechanism only under
    /// [`ClientConfig::plaintext_auth_without_tls`] (RFC 4954 4).
    PlainAuthenticated(Mechanism),
    /// TLS is up (after STARTTLS, RFC 3207 4.2, or from the first byte,
    /// RFC 8314 3.3), not authenticated.
    Tls,
    /// TLS is up and AUTH succeeded.
    TlsAuthenticated(Mechanism),
}

impl Security {
    pub(super) fn tls(self) -> bool {
        matches!(self, Security::Tls | Security::TlsAuthenticated(_))
    }

    pub(super) fn authenticated(self) -> bool {
        matches!(
            self,
            Security::PlainAuthenticated(_) | Security::TlsAuthenticated(_)
        )
    }

    /// AUTH succeeded with `m` (RFC 4954 4, 235).
    fn authenticate(self, m: Mechanism) -> Security {
        if self.tls() {
            Security::TlsAuthenticated(m)
        } else {
            Security::PlainAuthenticated(m)
        }
    }
}

/// What the machine waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Phase {
    /// The 220 greeting (RFC 5321 3.1).
    Greeting,
    /// The reply to EHLO, LHLO or HELO (RFC 5321 4.1.1.1, RFC 2033 4.1).
    Hello(HelloKind),
    /// The reply to STARTTLS, sent in plaintext (RFC 3207 4).
    StartTls,
    /// The TLS handshake ([`super::Client::tls_established`]); no byte is
    /// read meanwhile (RFC 3207 5).
    AwaitTls,
    /// An AUTH exchange (RFC 4954 4).
    Auth(AuthExchange),
    /// The session is open: greeting and hello answered, TLS and AUTH as
    /// the configuration requires.
    Open(Txn),
    /// QUIT was sent behind the commands in `ahead`, whose replies are
    /// drained (RFC 5321 4.1.1.10).
    Quitting {
        /// The replies still due before QUIT's.
        ahead: VecDeque<Await>,
    },
    /// Closed; `reported` once [`ClientEvent::Closed`] was handed out.
    Closed {
        /// [`ClientEvent::Closed`] was returned.
        reported: bool,
    },
}

/// The mail transaction state of an open session (RFC 5321 3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Txn {
    /// Waiting for [`super::Client::send_mail`] or [`super::Client::quit`].
    Idle(Reset),
    /// A transaction's commands are in flight.
    Running(Box<Transaction>),
    /// Without pipelining, some recipients were refused: waiting for
    /// [`super::Client::proceed`] or [`super::Client::abort`].
    Decide(Box<Transaction>),
    /// The application aborted: RSET is in flight (RFC 5321 4.1.1.5).
    Aborting,
    /// A command outside a transaction (NOOP, RSET, ...) is in flight;
    /// `Reset` is what the session needed before it.
    Query(Query, Reset),
}

/// The line of a query with its argument, encoded by
/// [`Command::write_to`] (so that it parses back the same: no CR/LF
/// injection), or why it cannot be sent.
fn query_line(
    q: Query,
    arg: Option<&[u8]>,
    cfg: &ClientConfig,
    caps: Option<&ServerCapabilities>,
) -> Result<Vec<u8>, QueryError> {
    let offers = |e: Extensions| caps.is_some_and(|c| c.supports(e));
    if q == Query::Etrn && !offers(Extensions::ETRN) {
        return Err(QueryError::NotOffered);
    }
    let utf8 = arg.is_some_and(|a| !a.is_ascii());
    if utf8 && !(matches!(q, Query::Verify | Query::Expand) && offers(Extensions::SMTPUTF8)) {
        return Err(QueryError::Utf8NotAllowed);
    }
    let missing = QueryError::Invalid(EncodeError::InvalidByte);
    let cmd = match q {
        Query::Noop => Command::Noop { arg },
        Query::Reset => Command::Rset,
        Query::Verify => Command::Vrfy {
            arg: arg.ok_or(missing)?,
            smtputf8: utf8,
        },
        Query::Expand => Command::Expn {
            arg: arg.ok_or(missing)?,
            smtputf8: utf8,
        },
        Query::Help => Command::Help { arg },
        Query::Etrn => Command::Etrn {
            node: arg.ok_or(missing)?,
        },
    };
    let mut line = Vec::new();
    cmd.write_to(&mut line).map_err(QueryError::Invalid)?;
    if line.len() > cfg.limits.command_line {
        return Err(QueryError::TooLong);
    }
    Ok(line)
}

/// Whether the next MAIL needs an RSET first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Reset {
    /// No transaction is open on the server.
    Clean,
    /// A transaction whose MAIL was accepted ended without completing:
    /// RSET before the next MAIL (RFC 5321 4.1.1.5).
    Needed,
}

/// A reply the machine waits for, in the order the commands went out
/// (RFC 2920 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Await {
    /// RSET before MAIL.
    Rset(AfterRset),
    /// MAIL (RFC 5321 4.1.1.2).
    Mail,
    /// RCPT of this recipient (RFC 5321 4.1.1.3).
    Rcpt(usize),
    /// DATA, waiting for 354 (RFC 5321 4.1.1.4).
    Data,
    /// The final dot of the content.
    DataEnd,
    /// The final dot sent alone after a 354 to a failed group (RFC 2920
    /// 3.1): its reply ends the transaction as failed.
    DiscardEnd,
    /// `BDAT n LAST` (RFC 3030 2; in LMTP the first recipient's reply).
    Bdat,
    /// A `BDAT n` chunk of a streamed body, not the last (RFC 3030 2).
    BdatChunk,
    /// LMTP: this recipient's reply after the content (RFC 2033 4.2).
    Lmtp(usize),
    /// The reply to the `*` that cancelled an AUTH exchange (RFC 4954 4).
    AuthCancel,
}

/// What follows a successful RSET inside a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum AfterRset {
    /// Part of a pipelined group: nothing to send.
    Group,
    /// Send MAIL next (no pipelining).
    Mail,
    /// The streamed body was given up (RFC 3030 2: RSET after BDAT
    /// chunks): its 250 ends the transaction as aborted.
    Abort,
}

/// An AUTH exchange in flight (RFC 4954 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AuthExchange {
    mechanism: Mechanism,
    /// 334 challenges answered so far.
    step: u8,
    /// The initial response, when it did not fit the AUTH line.
    deferred: Option<Secret<String>>,
}

/// The server's answer to MAIL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum MailReply {
    /// Not yet read.
    Awaited,
    /// 2xx.
    Accepted,
    /// Refused inside a pipelined group (RFC 2920 3.1): the group's
    /// outcome, reported at its last reply.
    Refused(OwnedReply),
}

/// One transaction in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Transaction {
    /// The replies due, in order.
    pending: VecDeque<Await>,
    /// Without pipelining: the MAIL line, held until the RSET before it
    /// is answered.
    unsent_mail: Option<Vec<u8>>,
    /// The MAIL line, sent again by each transaction of a split message.
    mail_line: Vec<u8>,
    /// Every recipient's RCPT line, by envelope index.
    rcpt_lines: Vec<Vec<u8>>,
    /// This transaction's recipients (envelope indices), in RCPT order.
    batch: Vec<usize>,
    /// Position in `batch` of the next RCPT to send (without pipelining).
    next_rcpt: usize,
    /// How the message's recipients are split into transactions.
    split: Split,
    /// The message content.
    content: Content,
    bdat: bool,
    pipelined: bool,
    mail: MailReply,
    accepted: Vec<usize>,
    refused: usize,
    last_refusal: Option<OwnedReply>,
}

/// How a message's recipients are split into transactions (RFC 9422 4.2
/// RCPTMAX and 4.3 RCPTDOMAINMAX, [`ClientConfig::rcpt_max`], RFC 5321
/// 4.5.3.1.10 `452` too many recipients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Split {
    /// Recipients no transaction has carried yet, in envelope order.
    queue: VecDeque<usize>,
    /// Recipients of this transaction answered "too many recipients" (or
    /// not sent after it, without pipelining): for the next transaction.
    deferred: Vec<usize>,
    /// Position in the batch of the first "too many recipients" reply.
    /// At position 0 the server takes no recipient in a fresh
    /// transaction: no further transaction follows (no loop).
    first_full: Option<usize>,
    /// Recipients per transaction: the configured, announced and learned
    /// limits (the number taken before the first "too many").
    rcpt_max: usize,
    /// Distinct recipient domains per transaction (RCPTDOMAINMAX), with
    /// each recipient's domain (lowercase; empty for the bare
    /// postmaster). `domains` is empty without a limit.
    domain_max: usize,
    domains: Vec<String>,
}

impl Split {
    /// A split of `n` recipients.
    fn new(
        n: usize,
        cfg: &ClientConfig,
        caps: Option<&ServerCapabilities>,
        env: &Envelope,
    ) -> Split {
        let rcpt_max = [cfg.rcpt_max, caps.and_then(ServerCapabilities::rcpt_max)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(usize::MAX)
            .max(1);
        let domain_max = caps
            .and_then(ServerCapabilities::rcpt_domain_max)
            .unwrap_or(usize::MAX);
        let domains = if domain_max < n {
            envelope::recipient_domains(env)
        } else {
            Vec::new()
        };
        Split {
            queue: (0..n).collect(),
            deferred: Vec::new(),
            first_full: None,
            rcpt_max,
            domain_max,
            domains,
        }
    }

    /// Whether recipients are left for a later transaction.
    fn more(&self) -> bool {
        !self.queue.is_empty() || !self.deferred.is_empty()
    }

    /// The next transaction's recipients: in envelope order, at most
    /// `rcpt_max`, at most `domain_max` distinct domains; the others stay
    /// queued. Never empty while the queue is not (the first always fits).
    fn take_batch(&mut self) -> Vec<usize> {
        let mut batch = Vec::new();
        let mut picked: Vec<&str> = Vec::new();
        let mut left = VecDeque::new();
        while let Some(i) = self.queue.pop_front() {
            let fits = batch.len() < self.rcpt_max
                && match self.domains.get(i) {
                    None => true,
                    Some(d) => picked.contains(&d.as_str()) || picked.len() < self.domain_max,
                };
            if fits {
                if let Some(d) = self.domains.get(i) {
                    if !picked.contains(&d.as_str()) {
                        picked.push(d);
                    }
                }
                batch.push(i);
            } else {
                left.push_back(i);
            }
            if batch.len() >= self.rcpt_max {
                break;
            }
        }
        left.append(&mut self.queue);
        self.queue = left;
        batch
    }
}

/// Whether a refused RCPT means "too many recipients" (RFC 5321
/// 4.5.3.1.10: 452, or the 552 of RFC 821 read as temporary; enhanced
/// code X.5.3, RFC 3463 3.6): the recipient goes in a later transaction.
/// A 452 with another enhanced code (4.3.1, storage) is a refusal.
pub(super) fn too_many_recipients(reply: &OwnedReply) -> bool {
    let detail = reply.enhanced.map(|e| (e.subject, e.detail));
    match reply.code.get() {
        452 => matches!(detail, None | Some((5, 3))),
        552 => detail == Some((5, 3)),
        _ => false,
    }
}

/// The content of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Content {
    /// [`super::Client::send_mail`]. DATA: the dot-stuffed content with
    /// its terminator; BDAT: the `BDAT n LAST` line and the chunk. Emptied
    /// once sent.
    Whole(Vec<u8>),
    /// [`super::Client::start_mail`]: the application hands the body in
    /// pieces.
    Stream(Box<Stream>),
}

/// A streamed body (RFC 5321 4.1.1.4 DATA, RFC 3030 2 BDAT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Stream {
    pub(super) flow: Flow,
    /// `BODY=8BITMIME` was declared in MAIL (RFC 6152 3).
    eight_bit: bool,
    /// `BODY=BINARYMIME` was declared: pieces go unchanged (RFC 3030 3).
    binary: bool,
    enc: Encoder,
}

/// How the pieces of a streamed body are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Encoder {
    /// Dot-stuffed straight into the output (RFC 5321 4.5.2), state kept
    /// across pieces.
    Data(DataEncoder),
    /// Normalized into `staged`, sent as `BDAT n` chunks of
    /// [`ClientConfig::chunk_size`] (RFC 3030 2).
    Bdat {
        /// A CR ended the last piece (its meaning depends on the next
        /// octet).
        held_cr: bool,
        /// Content not yet in a chunk.
        staged: Vec<u8>,
    },
}

/// Where a streamed body is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Flow {
    /// Not wanted yet: the RCPT replies (without pipelining) or DATA's
    /// 354 are due.
    Held,
    /// The application hands pieces ([`ClientEvent::BodyWanted`]).
    Open,
    /// BDAT without pipelining: the end was asked for while a chunk's
    /// reply was due; `BDAT n LAST` goes out when it comes.
    Ending,
    /// The terminator (`.` or `BDAT n LAST`) went out.
    Ended,
    /// The server refused the transaction while chunks were in flight
    /// (RFC 3030 2: no further chunk); it fails once the replies still
    /// due are read.
    Failed(TransactionStage, OwnedReply),
    /// BDAT: the body was given up; RSET goes out once no chunk reply is
    /// due (without pipelining, one command per reply).
    Abandoning,
    /// BDAT: the RSET that gives the body up went out.
    Abandoned,
}

impl Transaction {
    /// A streamed body is wanted from the application (or its end is
    /// pending).
    fn body_wanted(&self) -> bool {
        matches!(&self.content, Content::Stream(st) if matches!(st.flow, Flow::Open | Flow::Ending))
    }

    /// A BDAT chunk's reply is due and nothing more may go out: without
    /// pipelining (RFC 2920 3.1, RFC 3030 4.2), and with it while the
    /// envelope's replies are still due, so that a refused envelope costs
    /// the server one refused chunk, not one per chunk (servers close
    /// after too many errors).
    fn chunk_blocked(&self) -> bool {
        self.pending.contains(&Await::BdatChunk)
            && (!self.pipelined
                || self
                    .pending
                    .iter()
                    .any(|a| matches!(a, Await::Mail | Await::Rcpt(_) | Await::Rset(_))))
    }

    /// A fatal error inside the transaction: the replies still due and
    /// whether a 354 may still come.
    fn outstanding(&self) -> (VecDeque<Await>, bool) {
        // Inside DATA content (a streamed body after its 354), a command
        // would be read as content.
        let in_content = matches!(&self.content, Content::Stream(st)
            if matches!(st.enc, Encoder::Data(_)) && st.flow == Flow::Open);
        (
            self.pending.clone(),
            in_content || self.pending.contains(&Await::Data),
        )
    }
}

// ---------------------------------------------------------------------------
// Inputs

/// A reply taken out of the reader (owned, so the machine can change).
#[derive(Debug)]
pub(super) struct Incoming {
    reply: OwnedReply,
    /// The parsed EHLO/LHLO reply when one was expected and the code is
    /// 250.
    caps: Option<Result<ServerCapabilities, ParseError>>,
}

impl Incoming {
    pub(super) fn read(reply: &Reply<'_>, awaited: Awaited) -> Incoming {
        let caps = match awaited {
            Awaited::Hello(kind @ (HelloKind::Ehlo | HelloKind::Lhlo))
                if reply.code() == ReplyCode::OK =>
            {
                Some(EhloReply::from_reply(*reply).map(|e| ServerCapabilities::from_ehlo(kind, &e)))
            }
            _ => None,
        };
        Incoming {
            reply: owned_reply(reply),
            caps,
        }
    }
}

/// Which reply comes next, for the reader's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Awaited {
    /// The greeting (checked for a TLS record first, RFC 8314 3.3).
    Greeting,
    /// A hello reply (no enhanced status code, RFC 2034 3).
    Hello(HelloKind),
    /// Any other reply.
    Other,
}

/// Everything that can happen to the machine.
#[derive(Debug)]
pub(super) enum Input<'a> {
    /// Bytes from the server.
    Received(&'a [u8]),
    /// A complete reply (RFC 5321 4.2).
    Reply(Incoming),
    /// A reply that does not parse; it answers the command in front.
    Malformed(ParseError),
    /// A TLS record where the plaintext greeting was due (RFC 8314 3.3).
    WrongPort,
    /// The server closed its side, and every buffered reply was read (or
    /// the machine waits for the TLS handshake).
    Eof,
    /// The RFC 5321 4.5.3.2 timeout passed.
    Timeout,
    /// The TLS handshake asked for by [`ClientEvent::StartTls`] is done.
    TlsEstablished,
    /// Decision on [`ClientEvent::Ready`]: send this message.
    SendMail(&'a Envelope, &'a [u8]),
    /// Decision on [`ClientEvent::Ready`] or
    /// [`ClientEvent::RecipientsPartial`]: QUIT.
    Quit,
    /// Decision on [`ClientEvent::RecipientsPartial`]: send the content.
    Proceed,
    /// Decision on [`ClientEvent::RecipientsPartial`]: RSET; while a
    /// streamed body is wanted: give it up.
    Abort,
    /// Decision on [`ClientEvent::Ready`]: send this envelope, the body
    /// streamed.
    StartMail(&'a Envelope, BodyInfo),
    /// A piece of the streamed body; the octets taken are written back.
    Body(&'a [u8], &'a mut usize),
    /// The streamed body is complete.
    EndBody,
    /// Decision on [`ClientEvent::Ready`]: a command outside a
    /// transaction, with its argument.
    Query(Query, Option<&'a [u8]>),
}

/// An input the current state does not take; nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// Not a decision the machine waits for.
    Misuse,
    /// [`Input::SendMail`]: the message cannot be sent as configured.
    Invalid(MessageError),
    /// [`Input::Body`]: the piece cannot be sent; the body was given up.
    Body(MessageError),
    /// [`Input::Query`]: the command cannot be sent; nothing changed.
    Query(QueryError),
}

// ---------------------------------------------------------------------------
// The machine

/// The client machine: configuration, input and output buffers, and the
/// state ([`Security`], server capabilities, [`Phase`]).
#[derive(Debug, Clone)]
pub(super) struct Machine {
    pub(super) cfg: ClientConfig,
    pub(super) reader: ReplyReader,
    /// The server closed its side; takes effect once the buffered replies
    /// are read.
    pub(super) eof: bool,
    pub(super) out: Vec<u8>,
    pub(super) events: VecDeque<ClientEvent>,
    pub(super) security: Security,
    /// What the last EHLO/LHLO/HELO reply offered (forgotten when TLS
    /// starts, RFC 3207 4.2).
    pub(super) caps: Option<ServerCapabilities>,
    pub(super) phase: Phase,
    /// MAIL commands sent on this connection (RFC 9422 4.1 MAILMAX).
    pub(super) mails: u32,
}

/// The first digit of the reply code.
fn class(reply: &OwnedReply) -> u8 {
    reply.code.first_digit()
}

impl Machine {
    /// A machine for a checked configuration.
    pub(super) fn new(cfg: ClientConfig) -> Machine {
        let reader = ReplyReader::new(cfg.limits);
        Machine {
            security: if cfg.mode.implicit_tls() {
                Security::Tls
            } else {
                Security::Plain
            },
            cfg,
            reader,
            eof: false,
            out: Vec::new(),
            events: VecDeque::new(),
            caps: None,
            phase: Phase::Greeting,
            mails: 0,
        }
    }

    /// Which reply comes next.
    pub(super) fn awaited(&self) -> Awaited {
        match self.phase {
            Phase::Greeting => Awaited::Greeting,
            Phase::Hello(kind) => Awaited::Hello(kind),
            _ => Awaited::Other,
        }
    }

    /// The RFC 5321 4.5.3.2 timeout for the reply waited for.
    pub(super) fn timeout(&self) -> Option<Duration> {
        let of = |a: &Await| match a {
            Await::Mail => MAIL_TIMEOUT,
            Await::Rcpt(_) => RCPT_TIMEOUT,
            Await::Data => DATA_INIT_TIMEOUT,
            Await::DataEnd
            | Await::DiscardEnd
            | Await::Bdat
            | Await::BdatChunk
            | Await::Lmtp(_) => DATA_END_TIMEOUT,
            Await::Rset(_) | Await::AuthCancel => COMMAND_TIMEOUT,
        };
        match &self.phase {
            Phase::Closed { .. } | Phase::AwaitTls => None,
            Phase::Greeting => Some(GREETING_TIMEOUT),
            Phase::Hello(_) | Phase::StartTls | Phase::Auth(_) => Some(COMMAND_TIMEOUT),
            Phase::Open(Txn::Idle(_) | Txn::Decide(_)) => None,
            Phase::Open(Txn::Aborting | Txn::Query(..)) => Some(COMMAND_TIMEOUT),
            Phase::Open(Txn::Running(t)) => t.pending.front().map(of),
            Phase::Quitting { ahead } => Some(ahead.front().map_or(COMMAND_TIMEOUT, of)),
        }
    }

    /// A short name of the state (security, phase, replies due), for
    /// state graphs: equal states have equal labels; the label leaves out
    /// the buffers, the capabilities and the message.
    pub(super) fn label(&self) -> String {
        use core::fmt::Write as _;
        let mut s = String::new();
        let _ = write!(s, "{:?} ", self.security);
        let _ = match &self.phase {
            Phase::Auth(ex) => write!(s, "Auth({:?}, step {})", ex.mechanism, ex.step),
            Phase::Open(Txn::Running(t)) => match &t.content {
                Content::Whole(_) => write!(s, "Open(Running {:?})", t.pending),
                Content::Stream(st) => {
                    let flow = match &st.flow {
                        Flow::Failed(stage, _) => alloc::format!("Failed({stage:?})"),
                        f => alloc::format!("{f:?}"),
                    };
                    write!(s, "Open(Running {:?}, stream {flow})", t.pending)
                }
            },
            Phase::Open(Txn::Decide(_)) => write!(s, "Open(Decide)"),
            other => write!(s, "{other:?}"),
        };
        s
    }

    // ----- the transition function ----------------------------------------

    /// THE transition function: every input, in every state.
    pub(super) fn step(&mut self, input: Input<'_>) -> Result<(), Refused> {
        if let Phase::Closed { .. } = self.phase {
            return match input {
                Input::Received(_)
                | Input::Reply(_)
                | Input::Malformed(_)
                | Input::WrongPort
                | Input::Eof
                | Input::Timeout => Ok(()),
                _ => Err(Refused::Misuse),
            };
        }
        match input {
            Input::Received(bytes) => {
                if self.phase == Phase::AwaitTls
                    && !self.cfg.mutant.is(Mutant::ClientResponseInjection)
                {
                    // RFC 3207 5: nothing may arrive before the handshake.
                    self.fatal(ClientError::ResponseInjection, VecDeque::new(), false);
                } else {
                    self.reader.receive(bytes);
                }
            }
            Input::Reply(inc) => self.on_reply(inc),
            Input::Malformed(e) => {
                // The malformed reply answered the command in front.
                let (ahead, data) = match &mut self.phase {
                    Phase::Open(Txn::Running(t)) => {
                        t.pending.pop_front();
                        t.outstanding()
                    }
                    Phase::Quitting { ahead } => {
                        ahead.pop_front();
                        (VecDeque::new(), false)
                    }
                    _ => (VecDeque::new(), false),
                };
                self.fatal(ClientError::MalformedReply(e), ahead, data);
            }
            Input::WrongPort => self.fatal(
                ClientError::WrongPort(WrongPort::TlsWherePlaintextExpected),
                VecDeque::new(),
                false,
            ),
            Input::Eof => {
                if !matches!(self.phase, Phase::Quitting { .. }) {
                    self.events
                        .push_back(ClientEvent::Error(ClientError::ConnectionClosed));
                }
                self.close_now();
            }
            Input::Timeout => {
                self.events
                    .push_back(ClientEvent::Error(ClientError::Timeout));
                self.close_now();
            }
            Input::TlsEstablished => {
                if self.phase != Phase::AwaitTls {
                    return Err(Refused::Misuse);
                }
                // RFC 3207 4.2: everything learned before is forgotten.
                self.security = Security::Tls;
                if !self.cfg.mutant.is(Mutant::ClientResponseInjection) {
                    self.reader.clear();
                }
                self.caps = None;
                self.send_hello(self.ehlo_kind());
            }
            Input::SendMail(envelope, body) => {
                let Phase::Open(Txn::Idle(reset)) = self.phase else {
                    return Err(Refused::Misuse);
                };
                let prepared = envelope::prepare(
                    &self.cfg,
                    self.caps.as_ref(),
                    self.security.tls(),
                    envelope,
                    body,
                )
                .map_err(Refused::Invalid)?;
                let split = Split::new(envelope.to.len(), &self.cfg, self.caps.as_ref(), envelope);
                self.start_transaction(prepared, reset, None, split);
            }
            Input::Quit => match &self.phase {
                Phase::Open(Txn::Idle(_)) => self.send_quit(VecDeque::new(), false),
                Phase::Open(Txn::Decide(t)) => {
                    let rest = unsent(t);
                    self.report_unsent(rest);
                    self.send_quit(VecDeque::new(), false)
                }
                _ => return Err(Refused::Misuse),
            },
            Input::Proceed => {
                let Phase::Open(Txn::Decide(_)) = self.phase else {
                    return Err(Refused::Misuse);
                };
                let taken = core::mem::replace(&mut self.phase, Phase::AwaitTls);
                if let Phase::Open(Txn::Decide(t)) = taken {
                    self.send_content_command(t);
                }
            }
            Input::Abort => match &self.phase {
                Phase::Open(Txn::Decide(t)) => {
                    let rest = unsent(t);
                    self.report_unsent(rest);
                    self.out.extend_from_slice(b"RSET\r\n");
                    self.phase = Phase::Open(Txn::Aborting);
                }
                Phase::Open(Txn::Running(t)) if t.body_wanted() => {
                    self.abandon_body(ClientError::ContentAborted);
                }
                _ => return Err(Refused::Misuse),
            },
            Input::StartMail(envelope, info) => {
                let Phase::Open(Txn::Idle(reset)) = self.phase else {
                    return Err(Refused::Misuse);
                };
                let prepared = envelope::prepare_stream(
                    &self.cfg,
                    self.caps.as_ref(),
                    self.security.tls(),
                    envelope,
                    info,
                )
                .map_err(Refused::Invalid)?;
                let stream = Stream {
                    flow: Flow::Held,
                    eight_bit: info.eight_bit,
                    binary: prepared.binary,
                    enc: if prepared.bdat {
                        Encoder::Bdat {
                            held_cr: false,
                            staged: Vec::new(),
                        }
                    } else {
                        Encoder::Data(DataEncoder::new(self.cfg.line_ending))
                    },
                };
                let split = Split::new(envelope.to.len(), &self.cfg, self.caps.as_ref(), envelope);
                self.start_transaction(prepared, reset, Some(Box::new(stream)), split);
            }
            Input::Body(piece, taken) => {
                *taken = 0;
                let room = self.body_room();
                let Phase::Open(Txn::Running(t)) = &mut self.phase else {
                    return Err(Refused::Misuse);
                };
                let Content::Stream(st) = &mut t.content else {
                    return Err(Refused::Misuse);
                };
                if st.flow != Flow::Open {
                    return Err(Refused::Misuse);
                }
                let piece = piece.get(..room.min(piece.len())).unwrap_or(&[]);
                if piece.is_empty() {
                    return Ok(());
                }
                let binary = st.binary;
                let checked = if binary {
                    Ok(())
                } else {
                    envelope::check_piece(piece, st.eight_bit)
                };
                let written = checked.and_then(|()| match &mut st.enc {
                    Encoder::Bdat { staged, .. } if binary => {
                        staged.extend_from_slice(piece);
                        Ok(())
                    }
                    Encoder::Data(enc) => enc
                        .encode(piece, &mut self.out)
                        .map_err(|_| MessageError::BareLineEnding),
                    Encoder::Bdat { held_cr, staged } => {
                        envelope::normalize_piece(held_cr, piece, self.cfg.line_ending, staged)
                    }
                });
                if let Err(e) = written {
                    self.abandon_body(ClientError::ContentRefused(e));
                    return Err(Refused::Body(e));
                }
                *taken = piece.len();
                self.pump_stream();
            }
            Input::EndBody => {
                let Phase::Open(Txn::Running(t)) = &mut self.phase else {
                    return Err(Refused::Misuse);
                };
                let Content::Stream(st) = &mut t.content else {
                    return Err(Refused::Misuse);
                };
                if st.flow != Flow::Open {
                    return Err(Refused::Misuse);
                }
                match &mut st.enc {
                    Encoder::Data(enc) => {
                        if enc.finish(&mut self.out).is_err() {
                            self.abandon_body(ClientError::ContentRefused(
                                MessageError::BareLineEnding,
                            ));
                            return Err(Refused::Body(MessageError::BareLineEnding));
                        }
                        st.flow = Flow::Ended;
                        if self.cfg.mode == PortMode::Lmtp {
                            for &i in &t.accepted {
                                t.pending.push_back(Await::Lmtp(i));
                            }
                        } else {
                            t.pending.push_back(Await::DataEnd);
                        }
                    }
                    Encoder::Bdat { held_cr, staged } => {
                        if let Err(e) =
                            envelope::finish_normalize(held_cr, self.cfg.line_ending, staged)
                        {
                            self.abandon_body(ClientError::ContentRefused(e));
                            return Err(Refused::Body(e));
                        }
                        st.flow = Flow::Ending;
                        self.pump_stream();
                    }
                }
            }
            Input::Query(q, arg) => {
                let Phase::Open(Txn::Idle(reset)) = self.phase else {
                    return Err(Refused::Misuse);
                };
                // Ready implies TLS where the policy requires it (the
                // downgrade check runs before the session opens).
                let line =
                    query_line(q, arg, &self.cfg, self.caps.as_ref()).map_err(Refused::Query)?;
                self.out.extend_from_slice(&line);
                self.phase = Phase::Open(Txn::Query(q, reset));
            }
        }
        Ok(())
    }

    /// A streamed body is wanted ([`ClientEvent::BodyWanted`] was
    /// reported, the end not yet asked for).
    pub(super) fn wants_body(&self) -> bool {
        matches!(&self.phase, Phase::Open(Txn::Running(t))
            if matches!(&t.content, Content::Stream(st) if st.flow == Flow::Open))
    }

    /// The octets [`Input::Body`] takes now: none unless the streamed body
    /// is wanted and no chunk reply is due without pipelining; at most
    /// what keeps the unsent content and output within
    /// [`ClientConfig::chunk_size`].
    pub(super) fn body_room(&self) -> usize {
        let Phase::Open(Txn::Running(t)) = &self.phase else {
            return 0;
        };
        let Content::Stream(st) = &t.content else {
            return 0;
        };
        if st.flow != Flow::Open || t.chunk_blocked() {
            return 0;
        }
        let staged = match &st.enc {
            Encoder::Bdat { staged, .. } => staged.len(),
            Encoder::Data(_) => 0,
        };
        self.cfg
            .chunk_size
            .saturating_sub(self.out.len().saturating_add(staged))
    }

    /// BDAT: sends the full chunks staged, `BDAT n LAST` once the end was
    /// asked for, or the RSET of a body given up, as far as the replies
    /// due allow (RFC 3030 2; RFC 2920 3.1 without pipelining: one command
    /// per reply).
    fn pump_stream(&mut self) {
        let chunk_size = self.cfg.chunk_size;
        let Phase::Open(Txn::Running(t)) = &mut self.phase else {
            return;
        };
        let blocked = t.chunk_blocked();
        let pipelined = t.pipelined;
        let Content::Stream(st) = &mut t.content else {
            return;
        };
        let Encoder::Bdat { staged, .. } = &mut st.enc else {
            return;
        };
        if blocked {
            return;
        }
        match st.flow {
            Flow::Open | Flow::Ending => {
                while staged.len() >= chunk_size
                    && (st.flow == Flow::Open || staged.len() > chunk_size)
                {
                    let rest = staged.split_off(chunk_size);
                    self.out
                        .extend_from_slice(BdatHeader::new(staged.len() as u64, false).as_bytes());
                    self.out.extend_from_slice(staged);
                    *staged = rest;
                    t.pending.push_back(Await::BdatChunk);
                    if !pipelined {
                        return;
                    }
                }
                // LMTP: `BDAT LAST` is answered once per recipient, unless
                // the message already failed; it waits for the chunks'
                // replies so that the count is known (RFC 2033 4.2).
                let lmtp_wait =
                    self.cfg.mode == PortMode::Lmtp && t.pending.contains(&Await::BdatChunk);
                if st.flow == Flow::Ending && !lmtp_wait {
                    self.out
                        .extend_from_slice(BdatHeader::new(staged.len() as u64, true).as_bytes());
                    self.out.extend_from_slice(staged);
                    *staged = Vec::new();
                    st.flow = Flow::Ended;
                    t.pending.push_back(Await::Bdat);
                }
            }
            Flow::Abandoning => {
                *staged = Vec::new();
                self.out.extend_from_slice(b"RSET\r\n");
                t.pending.push_back(Await::Rset(AfterRset::Abort));
                st.flow = Flow::Abandoned;
            }
            _ => {}
        }
    }

    /// The streamed body is given up (the application's abort, or a piece
    /// that cannot be sent): with BDAT, RSET (RFC 3030 2); inside DATA,
    /// which cannot be cancelled (RFC 5321 4.1.1.4), the connection
    /// closes at once so that no partial message is delivered.
    fn abandon_body(&mut self, err: ClientError) {
        let Phase::Open(Txn::Running(t)) = &mut self.phase else {
            return;
        };
        let Content::Stream(st) = &mut t.content else {
            return;
        };
        match st.enc {
            Encoder::Bdat { .. } => {
                st.flow = Flow::Abandoning;
                self.pump_stream();
            }
            Encoder::Data(_) => {
                self.events.push_back(ClientEvent::Error(err));
                self.close_now();
            }
        }
    }

    /// Every queued event was read and the machine is closed:
    /// [`ClientEvent::Closed`], once.
    pub(super) fn report_closed(&mut self) -> Option<ClientEvent> {
        match self.phase {
            Phase::Closed { reported: false } => {
                self.phase = Phase::Closed { reported: true };
                Some(ClientEvent::Closed)
            }
            _ => None,
        }
    }

    /// A complete reply, in the current phase.
    fn on_reply(&mut self, inc: Incoming) {
        let reply = inc.reply;
        // RFC 5321 3.8: a 421, at any point, means the server is closing
        // (except as the reply to QUIT).
        let quit_next = matches!(&self.phase, Phase::Quitting { ahead } if ahead.is_empty());
        if reply.code == ReplyCode::SERVICE_NOT_AVAILABLE && !quit_next {
            self.fatal(ClientError::ServiceClosing(reply), VecDeque::new(), false);
            return;
        }
        // Every arm below sets the next phase; the placeholder is one no
        // helper treats specially (`fatal` quits from it, `close_now`
        // closes from it).
        let phase = core::mem::replace(&mut self.phase, Phase::AwaitTls);
        match phase {
            // RFC 5321 3.1, 4.3.1: 220 ready, 554 refused.
            Phase::Greeting => match class(&reply) {
                2 if reply.code == ReplyCode::READY => {
                    self.events.push_back(ClientEvent::Greeting(reply));
                    self.send_hello(self.ehlo_kind());
                }
                5 => self.fatal0(ClientError::GreetingRefused(reply)),
                _ => self.fatal0(ClientError::UnexpectedReply(reply)),
            },

            // RFC 5321 4.1.1.1, 4.1.4 (HELO fallback), RFC 2033 4.1.
            Phase::Hello(kind) => match (class(&reply), kind) {
                (2, HelloKind::Helo) => {
                    let caps = ServerCapabilities::helo(&reply);
                    self.caps = Some(caps.clone());
                    self.events
                        .push_back(ClientEvent::Capabilities(Box::new(caps)));
                    self.after_hello(false);
                }
                (2, _) => match inc.caps {
                    Some(Ok(caps)) => {
                        self.caps = Some(caps.clone());
                        self.events
                            .push_back(ClientEvent::Capabilities(Box::new(caps)));
                        self.after_hello(false);
                    }
                    Some(Err(e)) => self.fatal0(ClientError::MalformedReply(e)),
                    None => self.fatal0(ClientError::UnexpectedReply(reply)),
                },
                (4 | 5, HelloKind::Ehlo)
                    if matches!(reply.code.get(), 500 | 502) && self.helo_allowed() =>
                {
                    self.send_hello(HelloKind::Helo);
                }
                (4 | 5, _) => self.fatal0(ClientError::HelloRefused(reply)),
                _ => self.fatal0(ClientError::UnexpectedReply(reply)),
            },

            // RFC 3207 4, 5.
            Phase::StartTls => match class(&reply) {
                2 if reply.code == ReplyCode::READY => {
                    // Bytes behind the 220, or a 220 read before STARTTLS
                    // was even transmitted (it can only have been sent
                    // ahead by someone else), are never trusted.
                    let injected = !self.reader.buffered().is_empty() || !self.out.is_empty();
                    if injected && !self.cfg.mutant.is(Mutant::ClientResponseInjection) {
                        self.fatal0(ClientError::ResponseInjection);
                    } else {
                        self.phase = Phase::AwaitTls;
                        self.events.push_back(ClientEvent::StartTls);
                    }
                }
                4 | 5 => {
                    if self.cfg.tls == TlsPolicy::Required
                        && !self.cfg.mutant.is(Mutant::ClientTlsRequired)
                    {
                        self.fatal0(ClientError::TlsRefused(reply));
                    } else {
                        self.after_hello(true);
                    }
                }
                _ => self.fatal0(ClientError::UnexpectedReply(reply)),
            },

            // RFC 4954 4, 6.
            Phase::Auth(ex) => self.on_auth_reply(ex, reply),

            Phase::Open(txn) => {
                self.on_txn_reply(txn, reply);
                self.after_stream_reply();
            }

            // RFC 5321 4.1.1.10: drain the replies before QUIT's.
            Phase::Quitting { mut ahead } => {
                if ahead.pop_front().is_none() {
                    self.close_after_quit();
                } else if reply.code == ReplyCode::START_MAIL_INPUT {
                    // The server reads content now; QUIT would be content.
                    self.close_now();
                } else {
                    self.phase = Phase::Quitting { ahead };
                }
            }

            // Never here: no reply is read meanwhile (see `step`).
            Phase::AwaitTls | Phase::Closed { .. } => {
                self.phase = phase;
            }
        }
    }

    /// A reply in an open session.
    fn on_txn_reply(&mut self, txn: Txn, reply: OwnedReply) {
        let mut t = match txn {
            // No command is pending.
            Txn::Idle(_) | Txn::Decide(_) => {
                self.fatal0(ClientError::UnexpectedReply(reply));
                return;
            }
            // RFC 5321 4.1.1.5 to 4.1.1.9, RFC 1985 3: any 2xx (250,
            // 251, 252, 253, 211, 214), 4xx or 5xx is the answer.
            Txn::Query(query, reset) => {
                match class(&reply) {
                    2 | 4 | 5 => {
                        let reset = if query == Query::Reset && class(&reply) == 2 {
                            Reset::Clean
                        } else {
                            reset
                        };
                        self.events
                            .push_back(ClientEvent::QueryReply { query, reply });
                        self.become_ready(reset);
                    }
                    _ => self.fatal0(ClientError::UnexpectedReply(reply)),
                }
                return;
            }
            // RFC 5321 4.1.1.5.
            Txn::Aborting => {
                if class(&reply) != 2 {
                    self.fatal0(ClientError::ResetRefused(reply));
                } else {
                    self.events.push_back(ClientEvent::TransactionFailed {
                        stage: TransactionStage::Aborted,
                        reply: None,
                    });
                    self.become_ready(Reset::Clean);
                }
                return;
            }
            Txn::Running(t) => t,
        };
        let Some(awaited) = t.pending.pop_front() else {
            self.fatal_in(&t, ClientError::UnexpectedReply(reply));
            return;
        };
        // Without pipelining one streamed chunk is in flight; a reply read
        // while it is still in the output (not yet transmitted) answers a
        // BDAT never sent: a server running ahead, or bytes injected.
        if matches!(awaited, Await::BdatChunk | Await::Bdat)
            && !t.pipelined
            && matches!(t.content, Content::Stream(_))
            && !self.out.is_empty()
        {
            self.fatal_in(&t, ClientError::UnexpectedReply(reply));
            return;
        }
        match awaited {
            // RFC 5321 4.1.1.5.
            Await::Rset(after) => {
                if class(&reply) != 2 {
                    self.fatal_in(&t, ClientError::ResetRefused(reply));
                    return;
                }
                if after == AfterRset::Abort {
                    // RFC 3030 2: the chunks sent are discarded.
                    self.events.push_back(ClientEvent::TransactionFailed {
                        stage: TransactionStage::Aborted,
                        reply: None,
                    });
                    self.end_transaction(t, Reset::Clean, Some(TransactionStage::Aborted));
                    return;
                }
                if after == AfterRset::Mail {
                    if let Some(mail) = t.unsent_mail.take() {
                        self.out.extend_from_slice(&mail);
                        t.pending.push_back(Await::Mail);
                    }
                }
                self.phase = Phase::Open(Txn::Running(t));
            }

            // RFC 5321 4.1.1.2.
            Await::Mail => match class(&reply) {
                2 => {
                    t.mail = MailReply::Accepted;
                    if !t.pipelined {
                        self.send_next_rcpt(&mut t);
                    }
                    self.phase = Phase::Open(Txn::Running(t));
                }
                4 | 5 => {
                    if t.pipelined {
                        t.mail = MailReply::Refused(reply);
                        self.phase = Phase::Open(Txn::Running(t));
                    } else {
                        self.fail_transaction(t, TransactionStage::Mail, Some(reply));
                    }
                }
                _ => self.fatal_in(&t, ClientError::UnexpectedReply(reply)),
            },

            // RFC 5321 4.1.1.3.
            Await::Rcpt(index) => {
                let accepted = match class(&reply) {
                    2 => true,
                    4 | 5 => false,
                    _ => {
                        self.fatal_in(&t, ClientError::UnexpectedReply(reply));
                        return;
                    }
                };
                // RFC 5321 4.5.3.1.10: "too many recipients" defers the
                // recipient to a later transaction, unless the server took
                // none in this fresh one (no loop: a plain refusal).
                let pos = t.batch.iter().position(|&i| i == index).unwrap_or(0);
                if !accepted && too_many_recipients(&reply) && t.split.first_full.is_none() {
                    t.split.first_full = Some(pos);
                }
                let defer = !accepted
                    && too_many_recipients(&reply)
                    && (t.split.first_full.is_some_and(|f| f > 0)
                        || self.cfg.mutant.is(Mutant::ClientSplitLoop));
                if defer {
                    t.split.deferred.push(index);
                    t.last_refusal = Some(reply);
                    if !t.pipelined {
                        // The rest of this batch goes in the next one too.
                        let rest = t.batch.get(t.next_rcpt..).unwrap_or(&[]).to_vec();
                        t.split.deferred.extend(rest);
                        t.next_rcpt = t.batch.len();
                    }
                } else {
                    if accepted {
                        t.accepted.push(index);
                    } else {
                        t.refused += 1;
                        t.last_refusal = Some(reply.clone());
                    }
                    self.events.push_back(ClientEvent::Recipient {
                        index,
                        accepted,
                        reply,
                    });
                }
                if t.pipelined {
                    self.phase = Phase::Open(Txn::Running(t));
                } else {
                    self.after_rcpt(t);
                }
            }

            // RFC 5321 4.1.1.4; RFC 2920 3.1 for the group's outcome.
            Await::Data => match class(&reply) {
                3 if reply.code == ReplyCode::START_MAIL_INPUT => {
                    let go = t.mail == MailReply::Accepted && !t.accepted.is_empty();
                    if let (true, Content::Stream(st)) = (go, &mut t.content) {
                        // The terminator (and its replies) come with
                        // `end_body`.
                        st.flow = Flow::Open;
                        self.events.push_back(ClientEvent::BodyWanted);
                        self.phase = Phase::Open(Txn::Running(t));
                    } else if go {
                        // Every RCPT is answered: the body is kept only
                        // for a later transaction.
                        let keep = t.split.more();
                        if let Content::Whole(c) = &mut t.content {
                            if keep {
                                self.out.extend_from_slice(c);
                            } else {
                                self.out.append(c);
                            }
                        }
                        // One reply (SMTP) or one per accepted recipient
                        // (LMTP, RFC 2033 4.2), before any later reply.
                        if self.cfg.mode == PortMode::Lmtp {
                            for &i in t.accepted.iter().rev() {
                                t.pending.push_front(Await::Lmtp(i));
                            }
                        } else {
                            t.pending.push_front(Await::DataEnd);
                        }
                        self.phase = Phase::Open(Txn::Running(t));
                    } else if self.cfg.mode == PortMode::Lmtp {
                        // RFC 2033 4.2: DATA must fail without a successful
                        // RCPT; the number of replies to the dot would be
                        // zero. The server is in content mode, so QUIT
                        // cannot be sent.
                        self.events
                            .push_back(ClientEvent::Error(ClientError::UnexpectedReply(reply)));
                        self.close_now();
                    } else {
                        // RFC 2920 3.1: the group failed but DATA was
                        // accepted: end the content at once.
                        self.out.extend_from_slice(b".\r\n");
                        t.pending.push_front(Await::DiscardEnd);
                        self.phase = Phase::Open(Txn::Running(t));
                    }
                }
                4 | 5 => {
                    let (stage, r) = group_failure(&mut t, TransactionStage::Data, reply);
                    self.fail_transaction(t, stage, Some(r));
                }
                _ => self.fatal_in(&t, ClientError::UnexpectedReply(reply)),
            },

            // RFC 5321 4.1.1.4 (final dot), RFC 3030 2 (BDAT LAST).
            Await::DataEnd | Await::DiscardEnd | Await::Bdat => {
                if !matches!(class(&reply), 2 | 4 | 5) {
                    self.fatal_in(&t, ClientError::UnexpectedReply(reply));
                    return;
                }
                if let Content::Stream(st) = &t.content {
                    if let Flow::Failed(stage, r) = &st.flow {
                        // RFC 3030 2: a refused chunk fails the message,
                        // whatever the reply to its last chunk says.
                        let (stage, r) = (*stage, r.clone());
                        self.fail_transaction(t, stage, Some(r));
                        return;
                    }
                }
                if awaited == Await::DiscardEnd
                    || t.mail != MailReply::Accepted
                    || t.accepted.is_empty()
                {
                    let (stage, r) = group_failure(&mut t, TransactionStage::Content, reply);
                    self.fail_transaction(t, stage, Some(r));
                    return;
                }
                if self.cfg.mode == PortMode::Lmtp {
                    // RFC 2033 4.2 with RFC 3030: one reply per accepted
                    // recipient; this is the first one.
                    let first = t.accepted.first().copied().unwrap_or(0);
                    for &i in t.accepted.iter().skip(1).rev() {
                        t.pending.push_front(Await::Lmtp(i));
                    }
                    self.on_lmtp_reply(t, first, reply);
                    return;
                }
                if class(&reply) == 2 {
                    self.events.push_back(ClientEvent::Delivered(reply));
                    self.end_transaction(t, Reset::Clean, None);
                } else {
                    self.fail_transaction(t, TransactionStage::Content, Some(reply));
                }
            }

            // RFC 2033 4.2.
            Await::Lmtp(index) => {
                if !matches!(class(&reply), 2 | 4 | 5) {
                    self.fatal_in(&t, ClientError::UnexpectedReply(reply));
                    return;
                }
                self.on_lmtp_reply(t, index, reply);
            }

            // RFC 3030 2: a chunk of a streamed body.
            Await::BdatChunk => match class(&reply) {
                2 => self.phase = Phase::Open(Txn::Running(t)),
                4 | 5 => {
                    if let Content::Stream(st) = &mut t.content {
                        if !matches!(
                            st.flow,
                            Flow::Abandoning | Flow::Abandoned | Flow::Failed(..)
                        ) {
                            let (stage, r) =
                                group_failure(&mut t, TransactionStage::Content, reply);
                            if let Content::Stream(st) = &mut t.content {
                                st.flow = Flow::Failed(stage, r);
                            }
                        }
                    }
                    self.phase = Phase::Open(Txn::Running(t));
                }
                _ => self.fatal_in(&t, ClientError::UnexpectedReply(reply)),
            },

            // Only while quitting.
            Await::AuthCancel => self.fatal_in(&t, ClientError::UnexpectedReply(reply)),
        }
    }

    /// After a reply in a transaction with a streamed body: a failed
    /// pipelined group stops the body (RFC 2920 3.1, RFC 3030 2), the
    /// chunks or RSET a reply unblocked go out, and a failed transaction
    /// is reported once no reply is due.
    fn after_stream_reply(&mut self) {
        let Phase::Open(Txn::Running(t)) = &mut self.phase else {
            return;
        };
        let envelope_due = t.pending.iter().any(|a| {
            matches!(
                a,
                Await::Mail | Await::Rcpt(_) | Await::Rset(AfterRset::Group | AfterRset::Mail)
            )
        });
        let Content::Stream(st) = &mut t.content else {
            return;
        };
        if matches!(st.flow, Flow::Open | Flow::Ending) && !envelope_due {
            let failure = match &t.mail {
                MailReply::Refused(r) => Some((TransactionStage::Mail, r.clone())),
                MailReply::Accepted if t.accepted.is_empty() => t
                    .last_refusal
                    .clone()
                    .map(|r| (TransactionStage::Recipients, r)),
                _ => None,
            };
            if let Some((stage, r)) = failure {
                st.flow = Flow::Failed(stage, r);
            }
        }
        self.pump_stream();
        let Phase::Open(Txn::Running(t)) = &mut self.phase else {
            return;
        };
        if let (Content::Stream(st), true) = (&t.content, t.pending.is_empty()) {
            if let Flow::Failed(stage, r) = &st.flow {
                let (stage, r) = (*stage, r.clone());
                let taken = core::mem::replace(&mut self.phase, Phase::AwaitTls);
                if let Phase::Open(Txn::Running(t)) = taken {
                    self.fail_transaction(t, stage, Some(r));
                }
            }
        }
    }

    fn on_lmtp_reply(&mut self, t: Box<Transaction>, index: usize, reply: OwnedReply) {
        self.events.push_back(ClientEvent::LmtpResult {
            index,
            delivered: class(&reply) == 2,
            reply,
        });
        if matches!(t.pending.front(), Some(Await::Lmtp(_))) {
            self.phase = Phase::Open(Txn::Running(t));
        } else {
            self.end_transaction(t, Reset::Clean, None);
        }
    }

    fn fail_transaction(
        &mut self,
        t: Box<Transaction>,
        stage: TransactionStage,
        reply: Option<OwnedReply>,
    ) {
        // RFC 5321 4.1.1.5: a transaction that was opened and not
        // completed is reset before the next MAIL. A refusal after the
        // final dot ends the transaction; after BDAT LAST a reset is
        // harmless and makes sure (RFC 3030 2).
        let reset =
            if t.mail == MailReply::Accepted && (stage != TransactionStage::Content || t.bdat) {
                Reset::Needed
            } else {
                Reset::Clean
            };
        self.events
            .push_back(ClientEvent::TransactionFailed { stage, reply });
        self.end_transaction(t, reset, Some(stage));
    }

    /// A transaction ended (`failed`: where, if it failed). The
    /// recipients it deferred and those not yet carried go in the next
    /// transaction on this connection (RFC 5321 4.5.3.1.10, RFC 9422) when
    /// the body is whole, the transaction made progress (the server took
    /// a recipient before saying "too many"), it did not fail for the
    /// message itself (MAIL, DATA, content, abort), and MAILMAX (RFC 9422
    /// 4.1) allows another; otherwise they are reported as
    /// [`ClientEvent::RecipientsUnsent`]. Then Ready.
    fn end_transaction(
        &mut self,
        mut t: Box<Transaction>,
        reset: Reset,
        failed: Option<TransactionStage>,
    ) {
        let rest = unsent(&t);
        if rest.is_empty() {
            self.become_ready(reset);
            return;
        }
        // The body is kept whole while a later transaction may need it
        // (see `send_content_command`); never a transaction without it.
        let whole = matches!(&t.content, Content::Whole(c) if !c.is_empty());
        let progress = t.split.first_full != Some(0) || self.cfg.mutant.is(Mutant::ClientSplitLoop);
        let message_ok = matches!(failed, None | Some(TransactionStage::Recipients));
        let mail_max = self
            .caps
            .as_ref()
            .and_then(ServerCapabilities::mail_max)
            .unwrap_or(usize::MAX);
        if !(whole && progress && message_ok && (self.mails as usize) < mail_max) {
            self.report_unsent(rest);
            self.become_ready(reset);
            return;
        }
        // The next transaction: the server took `first_full` recipients
        // before "too many"; ask no more of it.
        let sp = &mut t.split;
        if let Some(k) = sp.first_full.take() {
            sp.rcpt_max = sp.rcpt_max.min(k).max(1);
        }
        sp.deferred.clear();
        sp.queue = rest.into_iter().collect();
        t.batch = sp.take_batch();
        t.next_rcpt = 0;
        t.pending.clear();
        t.unsent_mail = None;
        t.mail = MailReply::Awaited;
        t.accepted.clear();
        t.refused = 0;
        t.last_refusal = None;
        self.launch(t, reset);
    }

    /// [`ClientEvent::RecipientsUnsent`], when there are any.
    fn report_unsent(&mut self, recipients: Vec<usize>) {
        if !recipients.is_empty() {
            self.events
                .push_back(ClientEvent::RecipientsUnsent { recipients });
        }
    }

    fn become_ready(&mut self, reset: Reset) {
        self.phase = Phase::Open(Txn::Idle(reset));
        self.events.push_back(ClientEvent::Ready);
    }

    // ----- closing ----------------------------------------------------------

    /// QUIT behind the replies in `ahead` (RFC 5321 4.1.1.10); at once if a
    /// 354 may still come (QUIT would be read as content).
    fn send_quit(&mut self, ahead: VecDeque<Await>, data_pending: bool) {
        if data_pending {
            self.close_now();
            return;
        }
        self.out.extend_from_slice(b"QUIT\r\n");
        self.phase = Phase::Quitting { ahead };
    }

    /// Closes with nothing more sent; unsent output is dropped.
    fn close_now(&mut self) {
        let reported = matches!(self.phase, Phase::Closed { reported: true });
        self.phase = Phase::Closed { reported };
        self.out.clear();
        self.reader.clear();
    }

    /// The reply to QUIT arrived: closed; pending output (the QUIT itself,
    /// if not yet taken) is kept.
    fn close_after_quit(&mut self) {
        self.phase = Phase::Closed { reported: false };
        self.reader.clear();
    }

    /// A fatal error: reported, then QUIT behind `ahead` (or close at
    /// once). While quitting, it closes at once.
    fn fatal(&mut self, err: ClientError, ahead: VecDeque<Await>, data_pending: bool) {
        let at_once = err.closes_at_once();
        self.events.push_back(ClientEvent::Error(err));
        if at_once || matches!(self.phase, Phase::Quitting { .. } | Phase::Closed { .. }) {
            self.close_now();
        } else {
            self.send_quit(ahead, data_pending);
        }
    }

    /// A fatal error with no reply due.
    fn fatal0(&mut self, err: ClientError) {
        self.fatal(err, VecDeque::new(), false);
    }

    /// A fatal error inside a transaction.
    fn fatal_in(&mut self, t: &Transaction, err: ClientError) {
        let (ahead, data) = t.outstanding();
        self.fatal(err, ahead, data);
    }

    // ----- hello, STARTTLS, AUTH ---------------------------------------------

    fn ehlo_kind(&self) -> HelloKind {
        if self.cfg.mode == PortMode::Lmtp {
            HelloKind::Lhlo
        } else {
            HelloKind::Ehlo
        }
    }

    fn send_hello(&mut self, kind: HelloKind) {
        // The name was checked by `ClientConfig::check`.
        let written = Domain::parse(self.cfg.helo.as_bytes(), false).is_ok_and(|domain| {
            let cmd = match kind {
                HelloKind::Ehlo => Command::Ehlo { domain },
                HelloKind::Helo => Command::Helo { domain },
                HelloKind::Lhlo => Command::Lhlo { domain },
            };
            cmd.write_to(&mut self.out).is_ok()
        });
        if written {
            self.phase = Phase::Hello(kind);
        } else {
            self.events
                .push_back(ClientEvent::Error(ClientError::ConnectionClosed));
            self.close_now();
        }
    }

    /// HELO would lose STARTTLS and AUTH (RFC 3207 4.1, RFC 4954 3): only
    /// without credentials, and without a TLS requirement still unmet.
    fn helo_allowed(&self) -> bool {
        self.cfg.credentials.is_none()
            && (self.security.tls() || self.cfg.tls != TlsPolicy::Required)
    }

    /// The hello was answered (or STARTTLS refused, `starttls_refused`):
    /// STARTTLS, AUTH, or the session opens. The downgrade check (RFC
    /// 3207 4.1, RFC 8314 3) is here.
    fn after_hello(&mut self, starttls_refused: bool) {
        let ext = self
            .caps
            .as_ref()
            .map_or(Extensions::NONE, |c| c.extensions);
        if !self.security.tls() {
            let offered = ext.contains(Extensions::STARTTLS) && !starttls_refused;
            match self.cfg.tls {
                TlsPolicy::Required | TlsPolicy::Opportunistic if offered => {
                    self.out.extend_from_slice(b"STARTTLS\r\n");
                    self.phase = Phase::StartTls;
                    return;
                }
                TlsPolicy::Required if !self.cfg.mutant.is(Mutant::ClientTlsRequired) => {
                    self.fatal0(ClientError::TlsUnavailable);
                    return;
                }
                _ => {}
            }
        }
        if self.cfg.credentials.is_some() && !self.security.authenticated() {
            match self.choose_mechanism() {
                Some(m) => self.start_auth(m),
                None => self.fatal0(ClientError::AuthUnavailable),
            }
            return;
        }
        self.become_ready(Reset::Clean);
    }

    fn choose_mechanism(&self) -> Option<Mechanism> {
        let offered = self.caps.as_ref()?;
        if !offered.supports(Extensions::AUTH) {
            return None;
        }
        let tls = self.security.tls();
        self.cfg.mechanisms.iter().copied().find(|m| {
            client_supports(*m)
                && offered.mechanisms.contains(m)
                && (tls || !m.is_plaintext() || self.cfg.plaintext_auth_without_tls)
        })
    }

    fn start_auth(&mut self, mechanism: Mechanism) {
        let Some(c) = self.cfg.credentials.as_ref() else {
            self.fatal0(ClientError::AuthUnavailable);
            return;
        };
        let secret = c.secret.expose().as_str();
        let message = match mechanism {
            Mechanism::Plain => Some(sasl::plain_message(
                c.authzid.as_deref().unwrap_or(""),
                &c.user,
                secret,
            )),
            Mechanism::XOAuth2 => Some(sasl::xoauth2_message(&c.user, secret)),
            Mechanism::OAuthBearer => Some(sasl::oauthbearer_message(&c.user, secret)),
            _ => None,
        };
        let name = mechanism.name();
        let mut deferred = None;
        self.out.extend_from_slice(b"AUTH ");
        self.out.extend_from_slice(name.as_bytes());
        if let Some(msg) = message {
            let ir = Secret::new(sasl::encode_base64(msg.expose()));
            // RFC 4954 4: an initial response that would make the line
            // longer than 512 octets is sent after an empty challenge.
            if 5 + name.len() + 1 + ir.expose().len() + 2 <= 512 {
                self.out.push(b' ');
                self.out.extend_from_slice(ir.expose().as_bytes());
            } else {
                deferred = Some(ir);
            }
        }
        self.out.extend_from_slice(b"\r\n");
        self.phase = Phase::Auth(AuthExchange {
            mechanism,
            step: 0,
            deferred,
        });
    }

    fn on_auth_reply(&mut self, mut ex: AuthExchange, reply: OwnedReply) {
        match class(&reply) {
            2 if reply.code == ReplyCode::AUTH_SUCCEEDED => {
                self.security = self.security.authenticate(ex.mechanism);
                self.events
                    .push_back(ClientEvent::Authenticated(ex.mechanism));
                self.become_ready(Reset::Clean);
            }
            3 if reply.code == ReplyCode::AUTH_CHALLENGE => {
                let step = ex.step;
                ex.step = ex.step.saturating_add(1);
                let response: Option<Secret<String>> = match (ex.mechanism, step) {
                    (_, 0) if ex.deferred.is_some() => ex.deferred.take(),
                    (Mechanism::Login, 0 | 1) => self.cfg.credentials.as_ref().map(|c| {
                        let v = if step == 0 {
                            c.user.as_bytes()
                        } else {
                            c.secret.expose().as_bytes()
                        };
                        Secret::new(sasl::encode_base64(v))
                    }),
                    // XOAUTH2: an error challenge is answered with an
                    // empty response; OAUTHBEARER (RFC 7628 3.2.3) with
                    // %x01. The final 535 follows.
                    (Mechanism::XOAuth2, 0) => Some(Secret::new(String::new())),
                    (Mechanism::OAuthBearer, 0) => Some(Secret::new(String::from("AQ=="))),
                    _ => None,
                };
                match response {
                    Some(r) => {
                        self.out.extend_from_slice(r.expose().as_bytes());
                        self.out.extend_from_slice(b"\r\n");
                        self.phase = Phase::Auth(ex);
                    }
                    None => {
                        // RFC 4954 4: cancel the exchange with "*".
                        self.out.extend_from_slice(b"*\r\n");
                        self.fatal(
                            ClientError::UnexpectedReply(reply),
                            VecDeque::from([Await::AuthCancel]),
                            false,
                        );
                    }
                }
            }
            4 | 5 => self.fatal0(ClientError::AuthFailed(reply)),
            _ => self.fatal0(ClientError::UnexpectedReply(reply)),
        }
    }

    // ----- transactions -------------------------------------------------------

    fn start_transaction(
        &mut self,
        p: Prepared,
        reset: Reset,
        stream: Option<Box<Stream>>,
        mut split: Split,
    ) {
        let batch = split.take_batch();
        let t = Box::new(Transaction {
            pending: VecDeque::new(),
            unsent_mail: None,
            mail_line: p.mail,
            rcpt_lines: p.rcpt_lines,
            batch,
            next_rcpt: 0,
            split,
            content: match stream {
                Some(st) => Content::Stream(st),
                None => Content::Whole(p.content),
            },
            bdat: p.bdat,
            pipelined: p.pipelined,
            mail: MailReply::Awaited,
            accepted: Vec::new(),
            refused: 0,
            last_refusal: None,
        });
        self.launch(t, reset);
    }

    /// Sends a transaction's first commands: [RSET] MAIL and, with
    /// pipelining, every RCPT of its batch and DATA | BDAT.
    fn launch(&mut self, mut t: Box<Transaction>, reset: Reset) {
        self.mails = self.mails.saturating_add(1);
        if t.pipelined {
            // RFC 2920 3.1: [RSET] MAIL RCPT... DATA | BDAT as one group.
            if reset == Reset::Needed {
                self.out.extend_from_slice(b"RSET\r\n");
                t.pending.push_back(Await::Rset(AfterRset::Group));
            }
            self.out.extend_from_slice(&t.mail_line);
            t.pending.push_back(Await::Mail);
            for &i in &t.batch {
                if let Some(line) = t.rcpt_lines.get(i) {
                    self.out.extend_from_slice(line);
                    t.pending.push_back(Await::Rcpt(i));
                }
            }
            t.next_rcpt = t.batch.len();
            self.send_content_command(t);
        } else if reset == Reset::Needed {
            self.out.extend_from_slice(b"RSET\r\n");
            t.pending.push_back(Await::Rset(AfterRset::Mail));
            t.unsent_mail = Some(t.mail_line.clone());
            self.phase = Phase::Open(Txn::Running(t));
        } else {
            self.out.extend_from_slice(&t.mail_line);
            t.pending.push_back(Await::Mail);
            self.phase = Phase::Open(Txn::Running(t));
        }
    }

    fn send_next_rcpt(&mut self, t: &mut Transaction) {
        let Some(&i) = t.batch.get(t.next_rcpt) else {
            return;
        };
        if let Some(line) = t.rcpt_lines.get(i) {
            self.out.extend_from_slice(line);
            t.pending.push_back(Await::Rcpt(i));
        }
        t.next_rcpt += 1;
    }

    /// Without pipelining, after each RCPT reply: the next RCPT, the
    /// failure, the partial-refusal decision, or the content.
    fn after_rcpt(&mut self, mut t: Box<Transaction>) {
        if t.next_rcpt < t.batch.len() {
            self.send_next_rcpt(&mut t);
            self.phase = Phase::Open(Txn::Running(t));
        } else if t.accepted.is_empty() {
            let r = t.last_refusal.take();
            self.fail_transaction(t, TransactionStage::Recipients, r);
        } else if t.refused > 0 {
            let (accepted, refused) = (t.accepted.len(), t.refused);
            self.phase = Phase::Open(Txn::Decide(t));
            self.events
                .push_back(ClientEvent::RecipientsPartial { accepted, refused });
        } else {
            self.send_content_command(t);
        }
    }

    /// DATA, or `BDAT n LAST` with the chunk (RFC 3030 2); a streamed
    /// body sent with BDAT is wanted from here on.
    fn send_content_command(&mut self, mut t: Box<Transaction>) {
        if t.bdat {
            match &mut t.content {
                Content::Whole(content) => {
                    // Kept when a later transaction may send it again:
                    // more recipients are planned or deferred, or (in a
                    // pipelined group, before the RCPT replies) a "too
                    // many recipients" may still defer one (never the
                    // first: a one-recipient message is not kept).
                    if t.split.more() || t.pipelined && t.batch.len() > 1 {
                        self.out.extend_from_slice(content);
                    } else {
                        self.out.append(content);
                    }
                    t.pending.push_back(Await::Bdat);
                }
                Content::Stream(st) => {
                    st.flow = Flow::Open;
                    self.events.push_back(ClientEvent::BodyWanted);
                }
            }
        } else {
            self.out.extend_from_slice(b"DATA\r\n");
            t.pending.push_back(Await::Data);
        }
        self.phase = Phase::Open(Txn::Running(t));
    }
}

/// The recipients of a transaction's message that it did not carry to a
/// final answer: deferred ("too many recipients") and not yet sent, in
/// envelope order.
fn unsent(t: &Transaction) -> Vec<usize> {
    let mut rest: Vec<usize> = t.split.deferred.clone();
    rest.extend(t.split.queue.iter().copied());
    rest.sort_unstable();
    rest.dedup();
    rest
}

/// The first failure of a pipelined group, else `(stage, reply)`
/// (RFC 2920 3.1).
fn group_failure(
    t: &mut Transaction,
    stage: TransactionStage,
    reply: OwnedReply,
) -> (TransactionStage, OwnedReply) {
    match core::mem::replace(&mut t.mail, MailReply::Awaited) {
        MailReply::Refused(r) => return (TransactionStage::Mail, r),
        m => t.mail = m,
    }
    if t.mail == MailReply::Accepted && t.accepted.is_empty() {
        if let Some(r) = t.last_refusal.take() {
            return (TransactionStage::Recipients, r);
        }
    }
    (stage, reply)
}

/// An owned copy keeping the full text and the enhanced status code, also
/// for replies read without enhanced-code detection (RFC 3463, RFC 2034).
fn owned_reply(reply: &Reply<'_>) -> OwnedReply {
    let mut o = reply.to_owned_reply();
    if o.enhanced.is_none() {
        let first = reply.lines().next().unwrap_or(&[]);
        if let Some(e) = reply.line_enhanced(first) {
            o.enhanced = Some(e);
            o.lines = reply
                .lines()
                .map(|l| {
                    let t = if reply.line_enhanced(l) == Some(e) {
                        reply.text_without_enhanced(l)
                    } else {
                        l
                    };
                    Cow::Owned(String::from_utf8_lossy(t).into_owned())
                })
                .collect();
        }
    }
    o
}
