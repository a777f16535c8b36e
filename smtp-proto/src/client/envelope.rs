//! The envelope and message preparation: every check and every encoding
//! of a message happens here, before the first byte of its transaction is
//! written (RFC 5321 4.1.1.2, 4.1.1.3, 4.5.2; RFC 1870; RFC 6152; RFC 6531;
//! RFC 3461; RFC 8689; RFC 3030).

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::address::{ForwardPath, Mailbox, ReversePath};
use crate::command::Command;
use crate::data::{self, DataEncoder};
use crate::ext::Extensions;
use crate::options::LineEndingPolicy;
use crate::params::{Body, MailParams, Notify, RcptParams, Ret, XText};
use crate::session::Misuse;

use super::caps::ServerCapabilities;
use super::config::ClientConfig;
#[allow(unused_imports)]
use super::{Client, ClientEvent};

/// Delivery status notification requests (RFC 3461).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dsn {
    /// `RET=FULL` or `RET=HDRS` (RFC 3461 4.3).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461 4.4), xtext-encoded by the client.
    pub envid: Option<String>,
    /// `NOTIFY=` on every RCPT (RFC 3461 4.1), unless the recipient's
    /// own [`RecipientDsn::notify`] says otherwise.
    pub notify: Option<Notify>,
    /// `ORCPT=` on every RCPT with the recipient's address (RFC 3461 4.2;
    /// addr-type `rfc822`, or `utf-8` for a non-ASCII address, RFC 6533),
    /// unless the recipient has its own [`RecipientDsn::orcpt`].
    pub orcpt: bool,
}

/// DSN requests for one recipient (RFC 3461 4.1 NOTIFY, 4.2 ORCPT), in
/// [`Envelope::recipient_dsn`]. A field left `None` takes the
/// envelope-wide setting of [`Envelope::dsn`].
///
/// # Examples
///
/// ```
/// use smtp_sansio::client::{Envelope, RecipientDsn};
/// use smtp_sansio::Notify;
///
/// let env = Envelope::new("alice@example.org", ["bob@example.net", "carol@example.net"])
///     .with_recipient_dsn(
///         1,
///         RecipientDsn {
///             notify: Some(Notify::NEVER),
///             orcpt: Some("carol@old.example".into()),
///         },
///     );
/// assert_eq!(env.recipient_dsn.len(), 2);
/// assert_eq!(env.recipient_dsn[0], RecipientDsn::default());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecipientDsn {
    /// `NOTIFY=` on this recipient's RCPT (RFC 3461 4.1).
    pub notify: Option<Notify>,
    /// `ORCPT=` on this recipient's RCPT with this original address (RFC
    /// 3461 4.2: the address the message was first sent to, e.g. before
    /// forwarding); addr-type `rfc822`, or `utf-8` when non-ASCII (RFC
    /// 6533 3). Empty is refused ([`MessageError::DsnUnsupported`]).
    pub orcpt: Option<String>,
}

impl RecipientDsn {
    fn is_set(&self) -> bool {
        self.notify.is_some() || self.orcpt.is_some()
    }
}

/// The envelope of one message (RFC 5321 2.3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse path; empty for the null path `<>` (RFC 5321 4.5.5).
    pub from: String,
    /// The forward paths; `Postmaster` (any case) is the bare postmaster
    /// path (RFC 5321 4.1.1.3).
    pub to: Vec<String>,
    /// DSN parameters, if any (RFC 3461; an error if DSN is not offered):
    /// `RET` and `ENVID` for the message, `NOTIFY` and `ORCPT` for every
    /// recipient without its own [`Envelope::recipient_dsn`].
    pub dsn: Option<Dsn>,
    /// Per-recipient DSN requests (RFC 3461 4.1, 4.2), by index into
    /// [`Envelope::to`]; a missing entry takes [`Envelope::dsn`]. Any set
    /// field needs DSN offered ([`MessageError::DsnUnsupported`]).
    pub recipient_dsn: Vec<RecipientDsn>,
    /// `REQUIRETLS` (RFC 8689 4; an error if not offered under TLS).
    pub requiretls: bool,
}

impl Envelope {
    /// An envelope from `from` to `to`, without DSN or REQUIRETLS.
    pub fn new<S: Into<String>>(from: impl Into<String>, to: impl IntoIterator<Item = S>) -> Self {
        Envelope {
            from: from.into(),
            to: to.into_iter().map(Into::into).collect(),
            dsn: None,
            recipient_dsn: Vec::new(),
            requiretls: false,
        }
    }

    /// Sets the DSN requests of recipient `index` (RFC 3461 4.1, 4.2),
    /// growing [`Envelope::recipient_dsn`] as needed.
    #[must_use]
    pub fn with_recipient_dsn(mut self, index: usize, dsn: RecipientDsn) -> Self {
        if self.recipient_dsn.len() <= index {
            self.recipient_dsn
                .resize(index + 1, RecipientDsn::default());
        }
        if let Some(slot) = self.recipient_dsn.get_mut(index) {
            *slot = dsn;
        }
        self
    }
}

/// Why a message cannot be sent as configured to this server. It is given
/// up before MAIL; the machine stays [`ClientEvent::Ready`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageError {
    /// The reverse path is not a valid mailbox (RFC 5321 4.1.2).
    InvalidSender,
    /// This recipient (index into `to`) is not a valid mailbox.
    InvalidRecipient(usize),
    /// No recipient.
    NoRecipients,
    /// An address holds non-ASCII and the server does not offer SMTPUTF8
    /// (RFC 6531 3.4).
    Utf8Unsupported,
    /// The body is 8-bit and the server does not offer 8BITMIME (RFC 6152
    /// 3; RFC 5321 2.4 forbids 8-bit content otherwise).
    EightBitUnsupported,
    /// DSN parameters were asked for and the server does not offer DSN
    /// (RFC 3461 4), or a DSN value is invalid.
    DsnUnsupported,
    /// REQUIRETLS was asked for and the server does not offer it, or TLS
    /// is not active (RFC 8689 4).
    RequireTlsUnsupported,
    /// The message is larger than the server's SIZE (RFC 1870 4).
    TooBig {
        /// The message size in octets.
        size: u64,
        /// The server's limit.
        limit: u64,
    },
    /// A bare CR or LF in the body under [`LineEndingPolicy::Reject`].
    BareLineEnding,
    /// A NUL octet in the body: not allowed in message text (RFC 5321
    /// 2.3.8, RFC 5322 2.3), refused by strict servers; only BINARYMIME
    /// carries it (see [`ClientConfig::binarymime`]).
    Nul,
    /// A streamed body declared binary ([`BodyInfo::binary`]) and the
    /// server does not offer BINARYMIME with CHUNKING (RFC 3030 3), or
    /// [`ClientConfig::binarymime`] is off.
    BinaryUnsupported,
}

impl core::fmt::Display for MessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MessageError::InvalidSender => f.write_str("invalid sender address"),
            MessageError::InvalidRecipient(i) => write!(f, "invalid recipient address #{i}"),
            MessageError::NoRecipients => f.write_str("no recipients"),
            MessageError::Utf8Unsupported => f.write_str("server does not offer SMTPUTF8"),
            MessageError::EightBitUnsupported => f.write_str("server does not offer 8BITMIME"),
            MessageError::DsnUnsupported => f.write_str("server does not offer DSN"),
            MessageError::RequireTlsUnsupported => {
                f.write_str("server does not offer REQUIRETLS under TLS")
            }
            MessageError::TooBig { size, limit } => {
                write!(
                    f,
                    "message of {size} octets exceeds the server's SIZE {limit}"
                )
            }
            MessageError::BareLineEnding => f.write_str("bare CR or LF in the body"),
            MessageError::Nul => f.write_str("NUL octet in the body"),
            MessageError::BinaryUnsupported => {
                f.write_str("server does not offer BINARYMIME with CHUNKING")
            }
        }
    }
}

impl core::error::Error for MessageError {}

/// [`Client::send_mail`] refused the message; the envelope and body are
/// handed back (boxed, to keep the `Result` small).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The machine is not [`ClientEvent::Ready`].
    Misuse(Misuse<Box<(Envelope, Vec<u8>)>>),
    /// The message cannot be sent as configured; the machine stays Ready.
    Invalid {
        /// Why.
        error: MessageError,
        /// The envelope and body.
        message: Box<(Envelope, Vec<u8>)>,
    },
}

impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SendError::Misuse(m) => m.fmt(f),
            SendError::Invalid { error, .. } => error.fmt(f),
        }
    }
}

impl core::error::Error for SendError {}

/// What the application knows about a streamed body before its first
/// octet ([`Client::start_mail`]): what MAIL announces (RFC 1870 `SIZE=`,
/// RFC 6152 `BODY=8BITMIME`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct BodyInfo {
    /// The body's size in octets, if known: sent as `SIZE=` when the
    /// server offers SIZE, and checked against its limit before MAIL
    /// (RFC 1870 4, 6).
    pub size: Option<u64>,
    /// The body may hold octets above 127: `BODY=8BITMIME` (RFC 6152 3),
    /// refused before MAIL when the server does not offer 8BITMIME. Without
    /// it, an 8-bit octet in a piece aborts the transaction
    /// ([`MessageError::EightBitUnsupported`]).
    pub eight_bit: bool,
    /// The body is binary (NUL octets, bare CR or LF, long lines): sent
    /// unchanged as `BODY=BINARYMIME` through BDAT (RFC 3030 3), refused
    /// before MAIL ([`MessageError::BinaryUnsupported`]) when the server
    /// does not offer BINARYMIME and CHUNKING.
    pub binary: bool,
}

impl BodyInfo {
    /// A body of `size` octets (when known), 7-bit unless `eight_bit`.
    pub fn new(size: Option<u64>, eight_bit: bool) -> Self {
        BodyInfo {
            size,
            eight_bit,
            binary: false,
        }
    }
}

/// [`Client::start_mail`] refused the envelope; it is handed back (boxed,
/// to keep the `Result` small).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// The machine is not [`ClientEvent::Ready`].
    Misuse(Misuse<Box<Envelope>>),
    /// The message cannot be sent as configured; the machine stays Ready.
    Invalid {
        /// Why.
        error: MessageError,
        /// The envelope.
        envelope: Box<Envelope>,
    },
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::Misuse(m) => m.fmt(f),
            StartError::Invalid { error, .. } => error.fmt(f),
        }
    }
}

impl core::error::Error for StartError {}

/// [`Client::send_body`] or [`Client::end_body`] took nothing (RFC 5321
/// 4.1.1.4, RFC 3030 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BodyError {
    /// No streamed body is wanted: none was started, it has ended, or the
    /// server already failed the transaction (its
    /// [`ClientEvent::TransactionFailed`] comes once the replies still due
    /// are read). Nothing changed.
    NotWanted,
    /// The piece cannot be sent as configured (a NUL, a bare line ending
    /// under [`LineEndingPolicy::Reject`], an undeclared 8-bit octet). The
    /// transaction is given up: with BDAT an RSET follows, then
    /// [`ClientEvent::TransactionFailed`] with
    /// [`crate::client::TransactionStage::Aborted`]; inside DATA, which
    /// cannot be cancelled, the connection closes at once
    /// ([`crate::client::ClientError::ContentAborted`]) so that no partial
    /// message is delivered.
    Invalid(MessageError),
}

impl core::fmt::Display for BodyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BodyError::NotWanted => f.write_str("no streamed body is wanted now"),
            BodyError::Invalid(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for BodyError {}

/// A checked message, encoded and ready to go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Prepared {
    /// The MAIL line.
    pub(super) mail: Vec<u8>,
    /// One RCPT line per recipient, in envelope order.
    pub(super) rcpt_lines: Vec<Vec<u8>>,
    /// DATA: the dot-stuffed content with its terminator. BDAT: the `BDAT
    /// n LAST` line and the chunk. Empty for a streamed body.
    pub(super) content: Vec<u8>,
    /// Content as BDAT (RFC 3030) rather than DATA.
    pub(super) bdat: bool,
    /// `BODY=BINARYMIME`: the content goes unchanged (RFC 3030 3).
    pub(super) binary: bool,
    /// MAIL, RCPT and DATA/BDAT go out as one group (RFC 2920 3.1).
    pub(super) pipelined: bool,
}

/// The parsed paths of an envelope, and whether one needs SMTPUTF8.
struct Paths<'a> {
    from: ReversePath<'a>,
    to: Vec<ForwardPath<'a>>,
}

fn parse_paths<'a>(ext: Extensions, env: &'a Envelope) -> Result<Paths<'a>, MessageError> {
    let from = if env.from.is_empty() {
        ReversePath::Null
    } else {
        ReversePath::Mailbox(
            Mailbox::parse(env.from.as_bytes(), true).map_err(|_| MessageError::InvalidSender)?,
        )
    };
    if env.to.is_empty() {
        return Err(MessageError::NoRecipients);
    }
    let mut utf8 = matches!(from, ReversePath::Mailbox(m) if m.is_utf8());
    let mut to = Vec::with_capacity(env.to.len());
    for (i, r) in env.to.iter().enumerate() {
        let path = if r.eq_ignore_ascii_case("postmaster") {
            ForwardPath::Postmaster
        } else {
            let m = Mailbox::parse(r.as_bytes(), true)
                .map_err(|_| MessageError::InvalidRecipient(i))?;
            utf8 |= m.is_utf8();
            ForwardPath::Mailbox(m)
        };
        to.push(path);
    }
    if utf8 && !ext.contains(Extensions::SMTPUTF8) {
        return Err(MessageError::Utf8Unsupported);
    }
    Ok(Paths { from, to })
}

fn utf8_paths(p: &Paths<'_>) -> bool {
    matches!(p.from, ReversePath::Mailbox(m) if m.is_utf8())
        || p.to
            .iter()
            .any(|t| matches!(t, ForwardPath::Mailbox(m) if m.is_utf8()))
}

/// Checks a message and builds its MAIL line and transaction.
pub(super) fn prepare(
    cfg: &ClientConfig,
    caps: Option<&ServerCapabilities>,
    tls: bool,
    env: &Envelope,
    body: &[u8],
) -> Result<Prepared, MessageError> {
    let ext = caps.map_or(Extensions::NONE, |c| c.extensions);
    let paths = parse_paths(ext, env)?;
    let info = data::inspect(body);
    let bdat = cfg.chunking && ext.contains(Extensions::CHUNKING);
    // RFC 3030 3: what text cannot carry goes unchanged as BINARYMIME.
    if (info.nul || info.bare_line_ending) && bdat && binary_offered(cfg, ext) {
        let mut content = Vec::new();
        data::write_bdat(&mut content, body, true);
        let (mail, rcpt_lines) = envelope_lines(
            cfg,
            caps,
            tls,
            env,
            paths,
            Some(body.len() as u64),
            Some(Body::BinaryMime),
        )?;
        return Ok(Prepared {
            mail,
            rcpt_lines,
            content,
            bdat: true,
            binary: true,
            pipelined: cfg.pipelining && ext.contains(Extensions::PIPELINING),
        });
    }
    if info.bare_line_ending && cfg.line_ending == LineEndingPolicy::Reject {
        return Err(MessageError::BareLineEnding);
    }
    if info.nul {
        // Not allowed in text (RFC 5321 2.3.8, RFC 5322 2.3); a strict
        // server refuses the message (this crate's server does).
        return Err(MessageError::Nul);
    }
    if info.eight_bit && !ext.contains(Extensions::EIGHT_BIT_MIME) {
        return Err(MessageError::EightBitUnsupported);
    }

    // Content.
    let normalized = normalize_line_endings(body);
    let mut content = Vec::new();
    let size = if bdat {
        data::write_bdat(&mut content, &normalized, true);
        normalized.len() as u64
    } else {
        let mut enc = DataEncoder::new(LineEndingPolicy::Normalize);
        let ok = enc.encode(&normalized, &mut content).is_ok() && enc.finish(&mut content).is_ok();
        if !ok {
            return Err(MessageError::BareLineEnding);
        }
        let missing_crlf = !normalized.is_empty() && !normalized.ends_with(b"\r\n");
        normalized.len() as u64 + if missing_crlf { 2 } else { 0 }
    };
    let body_param = info.eight_bit.then_some(Body::EightBitMime);
    let (mail, rcpt_lines) = envelope_lines(cfg, caps, tls, env, paths, Some(size), body_param)?;
    Ok(Prepared {
        mail,
        rcpt_lines,
        content,
        bdat,
        binary: false,
        pipelined: cfg.pipelining && ext.contains(Extensions::PIPELINING),
    })
}

/// Checks the envelope of a streamed body ([`Client::start_mail`]) and
/// builds its MAIL and RCPT lines; the content comes later.
pub(super) fn prepare_stream(
    cfg: &ClientConfig,
    caps: Option<&ServerCapabilities>,
    tls: bool,
    env: &Envelope,
    info: BodyInfo,
) -> Result<Prepared, MessageError> {
    let ext = caps.map_or(Extensions::NONE, |c| c.extensions);
    let paths = parse_paths(ext, env)?;
    let bdat = cfg.chunking && ext.contains(Extensions::CHUNKING);
    let body_param = if info.binary {
        if !(bdat && binary_offered(cfg, ext)) {
            return Err(MessageError::BinaryUnsupported);
        }
        Some(Body::BinaryMime)
    } else if info.eight_bit {
        if !ext.contains(Extensions::EIGHT_BIT_MIME) {
            return Err(MessageError::EightBitUnsupported);
        }
        Some(Body::EightBitMime)
    } else {
        None
    };
    let (mail, rcpt_lines) = envelope_lines(cfg, caps, tls, env, paths, info.size, body_param)?;
    Ok(Prepared {
        mail,
        rcpt_lines,
        content: Vec::new(),
        bdat,
        binary: info.binary,
        pipelined: cfg.pipelining && ext.contains(Extensions::PIPELINING),
    })
}

/// The DSN, REQUIRETLS and SIZE checks, then the MAIL line and one RCPT
/// line per recipient.
fn envelope_lines(
    _cfg: &ClientConfig,
    caps: Option<&ServerCapabilities>,
    tls: bool,
    env: &Envelope,
    paths: Paths<'_>,
    size: Option<u64>,
    body: Option<Body>,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), MessageError> {
    let ext = caps.map_or(Extensions::NONE, |c| c.extensions);
    let wants_dsn = env.dsn.is_some() || env.recipient_dsn.iter().any(RecipientDsn::is_set);
    if wants_dsn && !ext.contains(Extensions::DSN) {
        return Err(MessageError::DsnUnsupported);
    }
    if env.requiretls && (!tls || !ext.contains(Extensions::REQUIRETLS)) {
        return Err(MessageError::RequireTlsUnsupported);
    }
    let mut size_param = None;
    if let (true, Some(size)) = (ext.contains(Extensions::SIZE), size) {
        if let Some(limit) = caps.and_then(|c| c.size) {
            if limit > 0 && size > limit {
                return Err(MessageError::TooBig { size, limit });
            }
        }
        size_param = Some(size);
    }
    let utf8 = utf8_paths(&paths);
    let Paths { from, to } = paths;

    // MAIL. The rare parameters (RET, ENVID) are written as parameter
    // text and parsed, as on the wire; the common ones are fields.
    let mut rare = Vec::new();
    if let Some(ret) = env.dsn.as_ref().and_then(|d| d.ret) {
        rare.extend_from_slice(match ret {
            Ret::Full => b"RET=FULL",
            Ret::Hdrs => b"RET=HDRS",
        });
    }
    let envid = env.dsn.as_ref().and_then(|d| d.envid.as_ref());
    if let Some(id) = envid.filter(|id| !id.is_empty()) {
        if !rare.is_empty() {
            rare.push(b' ');
        }
        rare.extend_from_slice(b"ENVID=");
        XText::encode(id.as_bytes(), &mut rare);
    }
    let mut params = MailParams::parse(&rare, Extensions::ALL, false)
        .map_err(|_| MessageError::InvalidSender)?;
    params.size = size_param;
    params.body = body;
    params.smtputf8 = utf8;
    params.requiretls = env.requiretls;
    let mut mail = Vec::new();
    Command::Mail { from, params }
        .write_to(&mut mail)
        .map_err(|_| MessageError::InvalidSender)?;

    // RCPT.
    let mut rcpt_lines = Vec::with_capacity(to.len());
    for (i, path) in to.into_iter().enumerate() {
        let dsn = env.dsn.as_ref();
        let own = env.recipient_dsn.get(i);
        // RFC 3461 4.2: this recipient's original address, else its own
        // address when the envelope asks for ORCPT everywhere.
        let original = match own.and_then(|d| d.orcpt.as_deref()) {
            Some("") => return Err(MessageError::DsnUnsupported),
            Some(o) => Some(o),
            None if dsn.is_some_and(|d| d.orcpt) => {
                Some(env.to.get(i).map(String::as_str).unwrap_or(""))
            }
            None => None,
        };
        let mut orcpt = Vec::new();
        if let Some(addr) = original {
            if addr.is_ascii() {
                orcpt.extend_from_slice(b"ORCPT=rfc822;");
                XText::encode(addr.as_bytes(), &mut orcpt);
            } else {
                orcpt.extend_from_slice(b"ORCPT=utf-8;");
                utf8_addr_xtext(addr, &mut orcpt);
            }
        }
        // An empty ORCPT address (no recipient text) is left out, as
        // before; the parameter text is parsed as on the wire.
        let text: &[u8] = if orcpt.ends_with(b";") { &[] } else { &orcpt };
        let mut params = RcptParams::parse(text, Extensions::ALL, true).map_err(|_| {
            if own.is_some_and(|d| d.orcpt.is_some()) {
                MessageError::DsnUnsupported
            } else {
                MessageError::InvalidRecipient(i)
            }
        })?;
        params.notify = own.and_then(|d| d.notify).or(dsn.and_then(|d| d.notify));
        let mut line = Vec::new();
        Command::Rcpt { to: path, params }
            .write_to(&mut line)
            .map_err(|_| MessageError::InvalidRecipient(i))?;
        rcpt_lines.push(line);
    }
    Ok((mail, rcpt_lines))
}

/// Each recipient's domain, ASCII-lowercased (empty for the bare
/// postmaster), for RCPTDOMAINMAX (RFC 9422 4.3).
pub(super) fn recipient_domains(env: &Envelope) -> Vec<String> {
    env.to
        .iter()
        .map(|r| match r.rfind('@') {
            Some(at) => r.get(at + 1..).unwrap_or("").to_ascii_lowercase(),
            None => String::new(),
        })
        .collect()
}

/// Normalizes bare CR and bare LF to CRLF (RFC 5321 2.3.8), as
/// [`DataEncoder`] does under [`LineEndingPolicy::Normalize`].
fn normalize_line_endings(body: &[u8]) -> Cow<'_, [u8]> {
    if !data::inspect(body).bare_line_ending {
        return Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len() + 16);
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
    Cow::Owned(out)
}

/// RFC 6533 3 `utf-8-addr-xtext`: QCHAR as is, anything else as
/// `\x{HEX}`.
fn utf8_addr_xtext(addr: &str, out: &mut Vec<u8>) {
    use core::fmt::Write as _;
    let mut s = String::new();
    for c in addr.chars() {
        if matches!(c, '\x21'..='\x2a' | '\x2c'..='\x3c' | '\x3e'..='\x5b' | '\x5d'..='\x7e') {
            s.push(c);
        } else {
            let _ = write!(s, "\\x{{{:X}}}", u32::from(c));
        }
    }
    out.extend_from_slice(s.as_bytes());
}

/// Whether BINARYMIME may be used: offered, and allowed by
/// [`ClientConfig::binarymime`] (RFC 3030 3; CHUNKING is checked apart).
fn binary_offered(cfg: &ClientConfig, ext: Extensions) -> bool {
    cfg.binarymime && ext.contains(Extensions::BINARY_MIME)
}

/// Checks one piece of a streamed body: no NUL (RFC 5321 2.3.8), no
/// undeclared 8-bit octet (RFC 6152 3).
pub(super) fn check_piece(piece: &[u8], eight_bit: bool) -> Result<(), MessageError> {
    if memchr::memchr(0, piece).is_some() {
        return Err(MessageError::Nul);
    }
    if !eight_bit && !piece.is_ascii() {
        return Err(MessageError::EightBitUnsupported);
    }
    Ok(())
}

/// Appends `piece` to `out` with bare CR and bare LF normalized to CRLF
/// (or refused under [`LineEndingPolicy::Reject`]), a CR at the end of a
/// piece held in `held_cr` until the next octet shows what it is
/// (RFC 5321 2.3.8). Used for BDAT content, which is not dot-stuffed.
pub(super) fn normalize_piece(
    held_cr: &mut bool,
    piece: &[u8],
    policy: LineEndingPolicy,
    out: &mut Vec<u8>,
) -> Result<(), MessageError> {
    let bare = |out: &mut Vec<u8>| match policy {
        LineEndingPolicy::Reject => Err(MessageError::BareLineEnding),
        _ => {
            out.extend_from_slice(b"\r\n");
            Ok(())
        }
    };
    let mut rest = piece;
    if *held_cr {
        let Some((&first, tail)) = rest.split_first() else {
            return Ok(());
        };
        *held_cr = false;
        if first == b'\n' {
            out.extend_from_slice(b"\r\n");
            rest = tail;
        } else {
            bare(out)?;
        }
    }
    while let Some(k) = memchr::memchr2(b'\r', b'\n', rest) {
        let (before, at) = rest.split_at(k);
        out.extend_from_slice(before);
        match at {
            [b'\r', b'\n', tail @ ..] => {
                out.extend_from_slice(b"\r\n");
                rest = tail;
            }
            [b'\r'] => {
                *held_cr = true;
                return Ok(());
            }
            [_, tail @ ..] => {
                bare(out)?;
                rest = tail;
            }
            [] => return Ok(()),
        }
    }
    out.extend_from_slice(rest);
    Ok(())
}

/// The end of a streamed BDAT body: a held CR is a bare CR.
pub(super) fn finish_normalize(
    held_cr: &mut bool,
    policy: LineEndingPolicy,
    out: &mut Vec<u8>,
) -> Result<(), MessageError> {
    if core::mem::take(held_cr) {
        if policy == LineEndingPolicy::Reject {
            return Err(MessageError::BareLineEnding);
        }
        out.extend_from_slice(b"\r\n");
    }
    Ok(())
}
