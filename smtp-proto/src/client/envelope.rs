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

use super::config::ClientConfig;
use super::event::ServerCapabilities;
#[allow(unused_imports)]
use super::{Client, ClientEvent};

/// Delivery status notification requests (RFC 3461).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dsn {
    /// `RET=FULL` or `RET=HDRS` (RFC 3461 4.3).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461 4.4), xtext-encoded by the client.
    pub envid: Option<String>,
    /// `NOTIFY=` on every RCPT (RFC 3461 4.1).
    pub notify: Option<Notify>,
    /// `ORCPT=` on every RCPT with the recipient's address (RFC 3461 4.2;
    /// addr-type `rfc822`, or `utf-8` for a non-ASCII address, RFC 6533).
    pub orcpt: bool,
}

/// The envelope of one message (RFC 5321 2.3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse path; empty for the null path `<>` (RFC 5321 4.5.5).
    pub from: String,
    /// The forward paths; `Postmaster` (any case) is the bare postmaster
    /// path (RFC 5321 4.1.1.3).
    pub to: Vec<String>,
    /// DSN parameters, if any (RFC 3461; an error if DSN is not offered).
    pub dsn: Option<Dsn>,
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
            requiretls: false,
        }
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
    /// 2.3.8, RFC 5322 2.3), refused by strict servers.
    Nul,
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

/// A checked message, encoded and ready to go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Prepared {
    /// The MAIL line.
    pub(super) mail: Vec<u8>,
    /// One RCPT line per recipient, in envelope order.
    pub(super) rcpt_lines: Vec<Vec<u8>>,
    /// DATA: the dot-stuffed content with its terminator. BDAT: the `BDAT
    /// n LAST` line and the chunk.
    pub(super) content: Vec<u8>,
    /// Content as one `BDAT n LAST` (RFC 3030) rather than DATA.
    pub(super) bdat: bool,
    /// MAIL, RCPT and DATA/BDAT go out as one group (RFC 2920 3.1).
    pub(super) pipelined: bool,
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
    let info = data::inspect(body);
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
    if env.dsn.is_some() && !ext.contains(Extensions::DSN) {
        return Err(MessageError::DsnUnsupported);
    }
    if env.requiretls && (!tls || !ext.contains(Extensions::REQUIRETLS)) {
        return Err(MessageError::RequireTlsUnsupported);
    }

    // Content.
    let normalized = normalize_line_endings(body);
    let bdat = cfg.chunking && ext.contains(Extensions::CHUNKING);
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
    let mut size_param = None;
    if ext.contains(Extensions::SIZE) {
        if let Some(limit) = caps.and_then(|c| c.size) {
            if limit > 0 && size > limit {
                return Err(MessageError::TooBig { size, limit });
            }
        }
        size_param = Some(size);
    }

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
    params.body = info.eight_bit.then_some(Body::EightBitMime);
    params.smtputf8 = utf8;
    params.requiretls = env.requiretls;
    let mut mail = Vec::new();
    Command::Mail { from, params }
        .write_to(&mut mail)
        .map_err(|_| MessageError::InvalidSender)?;

    // RCPT.
    let mut rcpt_lines = Vec::with_capacity(to.len());
    for (i, path) in to.into_iter().enumerate() {
        let mut orcpt = Vec::new();
        let dsn = env.dsn.as_ref();
        if dsn.is_some_and(|d| d.orcpt) {
            let addr = env.to.get(i).map(String::as_str).unwrap_or("");
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
        let mut params = RcptParams::parse(text, Extensions::ALL, true)
            .map_err(|_| MessageError::InvalidRecipient(i))?;
        params.notify = dsn.and_then(|d| d.notify);
        let mut line = Vec::new();
        Command::Rcpt { to: path, params }
            .write_to(&mut line)
            .map_err(|_| MessageError::InvalidRecipient(i))?;
        rcpt_lines.push(line);
    }

    let pipelined = cfg.pipelining && ext.contains(Extensions::PIPELINING);
    Ok(Prepared {
        mail,
        rcpt_lines,
        content,
        bdat,
        pipelined,
    })
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
