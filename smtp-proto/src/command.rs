//! SMTP commands: parse and encode (RFC 5321 4.1.1 and the extension RFCs).

use crate::address::{Domain, ForwardPath, ReversePath};
use crate::params::{MailParams, RcptParams};
use crate::sasl::Secret;
use crate::xclient::XAttrs;

/// One client command, borrowing the line it was parsed from
/// (RFC 5321 4.1.1, RFC 2033 4.1, RFC 3030 2, RFC 3207 4, RFC 4954 4,
/// RFC 1985, RFC 4468).
///
/// # Examples
///
/// ```
/// use smtp_sansio::{Command, CommandOptions, ForwardPath};
///
/// let opts = CommandOptions::new();
/// let cmd = Command::parse(b"RCPT TO:<bob@example.net>\r\n", &opts).unwrap();
/// let Command::Rcpt { to: ForwardPath::Mailbox(rcpt), .. } = cmd else { panic!() };
/// assert_eq!(rcpt.domain.as_bytes(), b"example.net");
///
/// // Encoding writes the canonical line; Display is that line without CRLF.
/// let mut line = Vec::new();
/// Command::Quit.write_to(&mut line).unwrap();
/// assert_eq!(line, b"QUIT\r\n");
/// assert_eq!(cmd.to_string(), "RCPT TO:<bob@example.net>");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// `EHLO` (RFC 5321 4.1.1.1).
    Ehlo {
        /// Domain or address literal, as sent.
        domain: Domain<'a>,
    },
    /// `HELO` (RFC 5321 4.1.1.1).
    Helo {
        /// Domain (or address literal, accepted in practice), as sent.
        domain: Domain<'a>,
    },
    /// `LHLO` (RFC 2033 4.1).
    Lhlo {
        /// Domain or address literal, as sent.
        domain: Domain<'a>,
    },
    /// `MAIL FROM:` (RFC 5321 4.1.1.2).
    Mail {
        /// The reverse path.
        from: ReversePath<'a>,
        /// Its parameters.
        params: MailParams<'a>,
    },
    /// `RCPT TO:` (RFC 5321 4.1.1.3).
    Rcpt {
        /// The forward path.
        to: ForwardPath<'a>,
        /// Its parameters.
        params: RcptParams<'a>,
    },
    /// `DATA` (RFC 5321 4.1.1.4).
    Data,
    /// `BDAT size [LAST]` (RFC 3030 2).
    Bdat {
        /// Chunk size in octets.
        size: u64,
        /// `LAST` was given.
        last: bool,
    },
    /// `RSET` (RFC 5321 4.1.1.5).
    Rset,
    /// `NOOP [String]` (RFC 5321 4.1.1.9).
    Noop {
        /// The argument, as sent.
        arg: Option<&'a [u8]>,
    },
    /// `QUIT` (RFC 5321 4.1.1.10).
    Quit,
    /// `VRFY String [SMTPUTF8]` (RFC 5321 4.1.1.6, RFC 6531 3.7.4.2).
    Vrfy {
        /// The argument, as sent.
        arg: &'a [u8],
        /// The SMTPUTF8 parameter was given.
        smtputf8: bool,
    },
    /// `EXPN String [SMTPUTF8]` (RFC 5321 4.1.1.7, RFC 6531 3.7.4.2).
    Expn {
        /// The argument, as sent.
        arg: &'a [u8],
        /// The SMTPUTF8 parameter was given.
        smtputf8: bool,
    },
    /// `HELP [String]` (RFC 5321 4.1.1.8).
    Help {
        /// The argument, as sent.
        arg: Option<&'a [u8]>,
    },
    /// `STARTTLS` (RFC 3207 4).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954 4).
    Auth {
        /// The SASL mechanism name, as sent (compare case-insensitively).
        mechanism: &'a [u8],
        /// The initial response, base64 as sent; `=` stands for an empty
        /// one. Wrapped so that `Debug` never prints credentials.
        initial_response: Option<Secret<&'a [u8]>>,
    },
    /// `ETRN node` (RFC 1985).
    Etrn {
        /// The argument, as sent (with a leading `@` or `#` if given).
        node: &'a [u8],
    },
    /// `BURL url [LAST]` (RFC 4468 3).
    Burl {
        /// The URL, as sent.
        url: &'a [u8],
        /// `LAST` was given.
        last: bool,
    },
    /// `XCLIENT attribute-name=value ...` (Postfix XCLIENT_README),
    /// parsed only when [`Extensions::XCLIENT`] is in effect.
    Xclient {
        /// The attributes, as sent.
        attrs: XAttrs<'a>,
    },
    /// `XFORWARD attribute-name=value ...` (Postfix XFORWARD_README),
    /// parsed only when [`Extensions::XFORWARD`] is in effect.
    Xforward {
        /// The attributes, as sent.
        attrs: XAttrs<'a>,
    },
}

// ---------------------------------------------------------------------------
// Parsing.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::address::{
    C_ALNUM, C_ATEXT, C_LDH, Mailbox, PathKind, is, scan_domain, scan_local, scan_path,
    scan_quoted, utf8_non_ascii,
};
use crate::error::{EncodeError, ParseError};
use crate::ext::Extensions;
use crate::limits::Limits;
use crate::options::{CommandOptions, LineEndingPolicy};
use crate::params::parse_decimal;

/// A command line that could not be parsed, with the verb as sent (the
/// first SP-delimited word, possibly empty) so that a server can answer
/// e.g. `500 5.5.1 unknown command X` (RFC 5321 4.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandError<'a> {
    /// What is wrong.
    pub error: ParseError,
    /// The first word of the line, as sent.
    pub verb: &'a [u8],
}

impl core::fmt::Display for CommandError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.error.kind())
    }
}

const fn verb4(v: &[u8; 4]) -> u32 {
    u32::from_be_bytes(*v) & 0xDFDF_DFDF
}

const V_EHLO: u32 = verb4(b"EHLO");
const V_HELO: u32 = verb4(b"HELO");
const V_LHLO: u32 = verb4(b"LHLO");
const V_MAIL: u32 = verb4(b"MAIL");
const V_RCPT: u32 = verb4(b"RCPT");
const V_DATA: u32 = verb4(b"DATA");
const V_BDAT: u32 = verb4(b"BDAT");
const V_RSET: u32 = verb4(b"RSET");
const V_NOOP: u32 = verb4(b"NOOP");
const V_QUIT: u32 = verb4(b"QUIT");
const V_VRFY: u32 = verb4(b"VRFY");
const V_EXPN: u32 = verb4(b"EXPN");
const V_HELP: u32 = verb4(b"HELP");
const V_STAR: u32 = verb4(b"STAR");
const V_TTLS: u32 = verb4(b"TTLS");
const V_AUTH: u32 = verb4(b"AUTH");
const V_ETRN: u32 = verb4(b"ETRN");
const V_BURL: u32 = verb4(b"BURL");
const V_XCLI: u32 = verb4(b"XCLI");
const V_XFOR: u32 = verb4(b"XFOR");

/// Options under which an encoded command is read back: every extension,
/// UTF-8 transaction, no length limits (encoding checks syntax, not size).
const READBACK: CommandOptions = {
    let mut o = CommandOptions::new();
    let big = usize::MAX / 4;
    o.limits = Limits {
        command_line: big,
        local_part: big,
        domain: big,
        path: big,
        auth_line: big,
        ..Limits::RFC
    };
    o.utf8_transaction = true;
    o.extensions = Extensions::ALL
        .union(Extensions::XCLIENT)
        .union(Extensions::XFORWARD);
    o
};

#[inline]
fn first_word(s: &[u8]) -> &[u8] {
    let end = s
        .iter()
        .position(|&b| matches!(b, b' ' | b'\r' | b'\n'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Splits `SP arg` off `rest`: the arg must be non-empty.
#[inline]
fn sp_arg(rest: &[u8]) -> Result<&[u8], ParseError> {
    match rest {
        [b' ', arg @ ..] if !arg.is_empty() => Ok(arg),
        _ => Err(ParseError::Syntax),
    }
}

#[inline]
fn no_arg(rest: &[u8]) -> Result<(), ParseError> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(ParseError::Syntax)
    }
}

/// `[SP "LAST"]` (RFC 3030 2, RFC 4468 3), case-insensitive.
#[inline]
fn opt_last(rest: &[u8]) -> Result<bool, ParseError> {
    match rest {
        [] => Ok(false),
        [b' ', l @ ..] if l.eq_ignore_ascii_case(b"LAST") => Ok(true),
        _ => Err(ParseError::Syntax),
    }
}

/// `String = Atom / Quoted-string` (RFC 5321 4.1.2), `Atom = 1*atext`.
/// Returns the end offset in `s` starting at `i`.
fn scan_string(s: &[u8], i: usize, utf8: bool, seen: &mut bool) -> Result<usize, ParseError> {
    if s.get(i) == Some(&b'"') {
        return scan_quoted(s, i, utf8, seen);
    }
    let mut j = i;
    while let Some(&b) = s.get(j) {
        if b >= 0x80 {
            j += utf8_non_ascii(s, j, utf8)?;
            *seen = true;
        } else if is(b, C_ATEXT) {
            j += 1;
        } else {
            break;
        }
    }
    if j == i {
        Err(ParseError::Syntax)
    } else {
        Ok(j)
    }
}

/// `base64 = base64-terminal / ( 1*(4base64-char) [base64-terminal] )`
/// (RFC 4954 4): the RFC 4648 alphabet, length a multiple of 4, at most two
/// `=` and only at the end.
fn is_base64(s: &[u8]) -> bool {
    if s.is_empty() || s.len() % 4 != 0 {
        return false;
    }
    let pad = s.iter().rev().take_while(|&&b| b == b'=').count();
    if pad > 2 {
        return false;
    }
    s[..s.len() - pad].iter().all(|&b| BASE64[usize::from(b)])
}

/// The RFC 4648 alphabet (without `=`), one lookup per octet.
static BASE64: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
        i += 1;
    }
    t
};

impl<'a> Command<'a> {
    /// Parses one command line INCLUDING its line ending (RFC 5321 4.1.1,
    /// 2.3.8): `CRLF` ends the line; without one the result is
    /// [`ParseError::Incomplete`]; bytes after it give
    /// [`ParseError::TrailingData`]; a bare LF or CR gives
    /// [`ParseError::BareLineEnding`] unless the policy is
    /// [`LineEndingPolicy::Normalize`], where a bare LF (or CR) ends the line.
    pub fn parse(line: &'a [u8], opts: &CommandOptions) -> Result<Command<'a>, CommandError<'a>> {
        // Fast path: a line ending in CRLF whose content parses. Every
        // successful parse has checked each content octet against its
        // field's grammar, none of which admits NUL, CR or LF, so the
        // first CR is the final one and the result is what the full path
        // below would give. Anything else takes the full path.
        if let [content @ .., b'\r', b'\n'] = line {
            if let Ok(c) = parse_fields(content, line.len(), opts) {
                return Ok(c);
            }
        }
        Self::parse_full(line, opts)
    }

    /// [`Command::parse`] with the line-ending and NUL checks done first.
    #[cold]
    #[inline(never)]
    fn parse_full(line: &'a [u8], opts: &CommandOptions) -> Result<Command<'a>, CommandError<'a>> {
        let verb = first_word(line);
        let err = |error| CommandError { error, verb };
        let Some(i) = memchr::memchr2(b'\r', b'\n', line) else {
            return Err(err(ParseError::Incomplete));
        };
        let normalize = opts.line_ending == LineEndingPolicy::Normalize;
        let end = match (line[i], line.get(i + 1)) {
            (b'\r', Some(b'\n')) => i + 2,
            (b'\r', None) => return Err(err(ParseError::Incomplete)),
            _ if normalize => i + 1,
            _ => return Err(err(ParseError::BareLineEnding)),
        };
        if end < line.len() {
            return Err(err(ParseError::TrailingData));
        }
        parse_content(&line[..i], end, opts).map_err(err)
    }

    /// Parses the content of one command line WITHOUT its line ending, as
    /// handed out by a line framer. Length limits count the content plus
    /// two octets for the CRLF (RFC 5321 4.5.3.1.4).
    pub fn parse_line(
        content: &'a [u8],
        opts: &CommandOptions,
    ) -> Result<Command<'a>, CommandError<'a>> {
        let line_len = content.len().saturating_add(2);
        // Fast path, as in `Command::parse`: a successful parse has checked
        // every octet, so the NUL/CR/LF scan can only matter for errors.
        if let Ok(c) = parse_fields(content, line_len, opts) {
            return Ok(c);
        }
        parse_content(content, line_len, opts).map_err(|error| CommandError {
            error,
            verb: first_word(content),
        })
    }

    /// The upper-case verb (`"MAIL"`, `"STARTTLS"`, ...).
    pub const fn verb(&self) -> &'static str {
        match self {
            Command::Ehlo { .. } => "EHLO",
            Command::Helo { .. } => "HELO",
            Command::Lhlo { .. } => "LHLO",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Bdat { .. } => "BDAT",
            Command::Rset => "RSET",
            Command::Noop { .. } => "NOOP",
            Command::Quit => "QUIT",
            Command::Vrfy { .. } => "VRFY",
            Command::Expn { .. } => "EXPN",
            Command::Help { .. } => "HELP",
            Command::StartTls => "STARTTLS",
            Command::Auth { .. } => "AUTH",
            Command::Etrn { .. } => "ETRN",
            Command::Burl { .. } => "BURL",
            Command::Xclient { .. } => "XCLIENT",
            Command::Xforward { .. } => "XFORWARD",
        }
    }

    /// Writes the canonical command line with its CRLF (RFC 5321 4.1.1):
    /// upper-case verb, single SP separators, known parameters in a fixed
    /// order followed by unknown ones as given.
    ///
    /// The written line is read back before returning: an error means the
    /// value would not parse back equal (a byte outside its field's grammar,
    /// or a MAIL with non-ASCII but without SMTPUTF8), and nothing is left
    /// in `out`. So `Command::parse(encoded) == original` always holds.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        self.write_unchecked(out);
        let written = &out[start..];
        let body = &written[..written.len() - 2];
        let verdict = if memchr::memchr2(b'\r', b'\n', body).is_some() {
            Err(EncodeError::LineBreak)
        } else {
            match Command::parse(written, &READBACK) {
                Ok(back) if back == *self => Ok(()),
                _ => Err(EncodeError::InvalidByte),
            }
        };
        if verdict.is_err() {
            out.truncate(start);
        }
        verdict
    }

    fn write_unchecked(&self, out: &mut Vec<u8>) {
        use core::fmt::Write;
        out.extend_from_slice(self.verb().as_bytes());
        match *self {
            Command::Ehlo { domain } | Command::Helo { domain } | Command::Lhlo { domain } => {
                out.push(b' ');
                out.extend_from_slice(domain.as_bytes());
            }
            Command::Mail { from, params } => {
                out.extend_from_slice(b" FROM:<");
                if let crate::address::ReversePath::Mailbox(m) = from {
                    out.extend_from_slice(m.local.as_bytes());
                    out.push(b'@');
                    out.extend_from_slice(m.domain.as_bytes());
                }
                out.push(b'>');
                params.write(out);
            }
            Command::Rcpt { to, params } => {
                out.extend_from_slice(b" TO:<");
                match to {
                    crate::address::ForwardPath::Postmaster => out.extend_from_slice(b"Postmaster"),
                    crate::address::ForwardPath::Mailbox(m) => {
                        out.extend_from_slice(m.local.as_bytes());
                        out.push(b'@');
                        out.extend_from_slice(m.domain.as_bytes());
                    }
                }
                out.push(b'>');
                params.write(out);
            }
            Command::Data | Command::Rset | Command::Quit | Command::StartTls => {}
            Command::Bdat { size, last } => {
                let _ = write!(crate::params::VecWriter(out), " {size}");
                if last {
                    out.extend_from_slice(b" LAST");
                }
            }
            Command::Noop { arg } | Command::Help { arg } => {
                if let Some(a) = arg {
                    out.push(b' ');
                    out.extend_from_slice(a);
                }
            }
            Command::Vrfy { arg, smtputf8 } | Command::Expn { arg, smtputf8 } => {
                out.push(b' ');
                out.extend_from_slice(arg);
                if smtputf8 {
                    out.extend_from_slice(b" SMTPUTF8");
                }
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => {
                out.push(b' ');
                out.extend_from_slice(mechanism);
                if let Some(r) = initial_response {
                    out.push(b' ');
                    out.extend_from_slice(r.expose());
                }
            }
            Command::Etrn { node } => {
                out.push(b' ');
                out.extend_from_slice(node);
            }
            Command::Burl { url, last } => {
                out.push(b' ');
                out.extend_from_slice(url);
                if last {
                    out.extend_from_slice(b" LAST");
                }
            }
            Command::Xclient { attrs } | Command::Xforward { attrs } => {
                out.push(b' ');
                out.extend_from_slice(attrs.as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
    }

    /// An owned copy: the command is encoded ([`Command::write_to`]) and
    /// the line stored; [`OwnedCommand::command`] parses it again on each
    /// call (cheap, allocation-free). Fails only for hand-built values that
    /// do not encode.
    pub fn into_owned(self) -> Result<OwnedCommand, EncodeError> {
        let mut line = Vec::new();
        self.write_to(&mut line)?;
        Ok(OwnedCommand {
            line: line.into_boxed_slice(),
        })
    }
}

/// An owned command: its canonical encoded line (with CRLF). The borrowed
/// view is re-parsed from that line by [`OwnedCommand::command`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OwnedCommand {
    line: Box<[u8]>,
}

impl OwnedCommand {
    /// The command, parsed again from the stored line. The line was
    /// verified when stored, so this always yields the original command.
    pub fn command(&self) -> Command<'_> {
        // The stored line parsed back equal in `write_to`; the fallback is
        // unreachable and only avoids a panic path.
        Command::parse(&self.line, &READBACK).unwrap_or(Command::Noop { arg: None })
    }

    /// The encoded line, CRLF included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.line
    }
}

impl core::fmt::Debug for OwnedCommand {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.command().fmt(f)
    }
}

/// The line `content` (no line ending), whose full length is `line_len`.
fn parse_content<'a>(
    content: &'a [u8],
    line_len: usize,
    opts: &CommandOptions,
) -> Result<Command<'a>, ParseError> {
    if let Some(i) = memchr::memchr3(0, b'\r', b'\n', content) {
        return Err(if content[i] == 0 {
            ParseError::Nul
        } else {
            ParseError::BareLineEnding
        });
    }
    parse_fields(content, line_len, opts)
}

/// [`parse_content`] without the NUL/CR/LF scan. Every `Ok` it returns has
/// checked each octet of `content` against a grammar that excludes NUL, CR
/// and LF (the fast paths of `Command::parse` and `Command::parse_line`
/// rely on this).
#[inline(always)]
fn parse_fields<'a>(
    content: &'a [u8],
    line_len: usize,
    opts: &CommandOptions,
) -> Result<Command<'a>, ParseError> {
    let r = parse_fields_inner(content, line_len, opts);
    debug_assert!(
        r.is_err() || memchr::memchr3(0, b'\r', b'\n', content).is_none(),
        "a command with NUL, CR or LF parsed"
    );
    r
}

#[inline(always)]
fn parse_fields_inner<'a>(
    content: &'a [u8],
    line_len: usize,
    opts: &CommandOptions,
) -> Result<Command<'a>, ParseError> {
    let mut content = content;
    if opts.lenient.trailing_whitespace {
        while let [rest @ .., b' ' | b'\t'] = content {
            content = rest;
        }
    }
    let Some(&[a, b, c, d]) = content.first_chunk::<4>() else {
        return Err(ParseError::UnknownCommand);
    };
    let v = u32::from_be_bytes([a, b, c, d]) & 0xDFDF_DFDF;
    let rest = &content[4..];
    // A four-letter verb must end the line or be followed by SP.
    let four = matches!(rest.first(), None | Some(b' '));
    let limits = &opts.limits;
    let check = |limit: usize| {
        if line_len > limit {
            Err(ParseError::LineTooLong)
        } else {
            Ok(())
        }
    };
    if v == V_STAR {
        let tail = rest
            .get(..4)
            .map(|t| u32::from_be_bytes([t[0], t[1], t[2], t[3]]) & 0xDFDF_DFDF);
        if tail == Some(V_TTLS) && matches!(rest.get(4), None | Some(b' ')) {
            check(limits.command_line)?;
            no_arg(&rest[4..])?;
            return Ok(Command::StartTls);
        }
        return Err(ParseError::UnknownCommand);
    }
    if !four {
        // XCLIENT and XFORWARD are the longer verbs here (off the hot path:
        // every four-letter verb has been dispatched by now).
        if v == V_XCLI || v == V_XFOR {
            return parse_xcommand(v, rest, line_len, opts);
        }
        return Err(ParseError::UnknownCommand);
    }
    match v {
        V_MAIL => {
            // The extensions only raise the limit: reckon it only for a
            // line over the base one.
            if line_len > limits.command_line {
                check(opts.extensions.mail_line_limit(limits.command_line))?;
            }
            parse_mail(content, opts)
        }
        V_RCPT => {
            if line_len > limits.command_line {
                check(opts.extensions.rcpt_line_limit(limits.command_line))?;
            }
            parse_rcpt(content, opts)
        }
        V_AUTH => {
            check(limits.auth_line)?;
            parse_auth(rest)
        }
        V_EHLO | V_HELO | V_LHLO => {
            check(limits.command_line)?;
            let arg = sp_arg(rest)?;
            let end = match simple_domain(arg, 0) {
                Some(end) if end == arg.len() => end,
                _ => {
                    let mut seen = false;
                    scan_domain(arg, 0, false, &mut seen)?
                }
            };
            if end != arg.len() {
                return Err(ParseError::Syntax);
            }
            if end > limits.domain {
                return Err(ParseError::DomainTooLong);
            }
            let domain = crate::address::Domain(arg);
            Ok(match v {
                V_EHLO => Command::Ehlo { domain },
                V_HELO => Command::Helo { domain },
                _ => Command::Lhlo { domain },
            })
        }
        V_DATA | V_RSET | V_QUIT => {
            check(limits.command_line)?;
            no_arg(rest)?;
            Ok(match v {
                V_DATA => Command::Data,
                V_RSET => Command::Rset,
                _ => Command::Quit,
            })
        }
        V_NOOP | V_HELP => {
            check(limits.command_line)?;
            let arg = if rest.is_empty() {
                None
            } else {
                let arg = sp_arg(rest)?;
                let mut seen = false;
                if scan_string(arg, 0, opts.utf8_transaction, &mut seen)? != arg.len() {
                    return Err(ParseError::Syntax);
                }
                Some(arg)
            };
            Ok(if v == V_NOOP {
                Command::Noop { arg }
            } else {
                Command::Help { arg }
            })
        }
        V_VRFY | V_EXPN => {
            check(limits.command_line)?;
            let (arg, smtputf8) = parse_vrfy_arg(sp_arg(rest)?, opts)?;
            Ok(if v == V_VRFY {
                Command::Vrfy { arg, smtputf8 }
            } else {
                Command::Expn { arg, smtputf8 }
            })
        }
        V_BDAT => {
            check(limits.command_line)?;
            let arg = sp_arg(rest)?;
            let end = arg.iter().position(|&b| b == b' ').unwrap_or(arg.len());
            let size = parse_decimal(&arg[..end], usize::MAX, ParseError::Syntax)?;
            let last = opt_last(&arg[end..])?;
            Ok(Command::Bdat { size, last })
        }
        V_ETRN => {
            check(limits.command_line)?;
            let node = sp_arg(rest)?;
            parse_etrn(node, limits)?;
            Ok(Command::Etrn { node })
        }
        V_BURL => {
            check(limits.command_line)?;
            let arg = sp_arg(rest)?;
            let end = arg.iter().position(|&b| b == b' ').unwrap_or(arg.len());
            let url = &arg[..end];
            if !is_absolute_uri(url) {
                return Err(ParseError::Syntax);
            }
            let last = opt_last(&arg[end..])?;
            Ok(Command::Burl { url, last })
        }
        _ => Err(ParseError::UnknownCommand),
    }
}

/// `XCLIENT` / `XFORWARD` `1*( SP attribute-name "=" attribute-value )`
/// (Postfix XCLIENT_README, XFORWARD_README), `rest` following the first
/// four letters of the verb. Either verb is an unknown command unless its
/// extension is in effect.
#[cold]
fn parse_xcommand<'a>(
    v: u32,
    rest: &'a [u8],
    line_len: usize,
    opts: &CommandOptions,
) -> Result<Command<'a>, ParseError> {
    let (tail, ext): (&[u8], _) = if v == V_XCLI {
        (b"ENT", Extensions::XCLIENT)
    } else {
        (b"WARD", Extensions::XFORWARD)
    };
    let verb_ok = rest
        .get(..tail.len())
        .is_some_and(|t| t.eq_ignore_ascii_case(tail))
        && matches!(rest.get(tail.len()), None | Some(b' '));
    if !verb_ok || !opts.extensions.contains(ext) {
        return Err(ParseError::UnknownCommand);
    }
    if line_len > opts.limits.command_line {
        return Err(ParseError::LineTooLong);
    }
    let arg = sp_arg(&rest[tail.len()..])?;
    if v == V_XCLI {
        Ok(Command::Xclient {
            attrs: XAttrs::xclient(arg, &opts.limits)?,
        })
    } else {
        Ok(Command::Xforward {
            attrs: XAttrs::xforward(arg, &opts.limits)?,
        })
    }
}

/// `mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF`
/// (RFC 5321 4.1.1.2). Non-ASCII is allowed only when the SMTPUTF8
/// extension is in effect and the command carries the SMTPUTF8 parameter
/// (RFC 6531 3.4).
fn parse_mail<'a>(content: &'a [u8], opts: &CommandOptions) -> Result<Command<'a>, ParseError> {
    let i = after_keyword(content, b" FROM:", opts)?;
    let utf8 = opts.extensions.contains(Extensions::SMTPUTF8);
    let mut seen = false;
    let lenient = &opts.lenient;
    let (path, end) = match simple_path(content, i, &opts.limits) {
        Some((m, end)) => (PathKind::Mailbox(m), end),
        None => scan_path(
            content,
            i,
            utf8,
            &mut seen,
            &opts.limits,
            true,
            false,
            lenient.missing_brackets,
        )?,
    };
    let raw = params_raw(content, end)?;
    let params = crate::params::MailParams::parse_with(raw, opts.extensions, utf8, &mut seen)?;
    if seen && !params.smtputf8 {
        return Err(ParseError::Utf8NotAllowed);
    }
    let from = match path {
        PathKind::Mailbox(m) => crate::address::ReversePath::Mailbox(m),
        _ => crate::address::ReversePath::Null,
    };
    Ok(Command::Mail { from, params })
}

/// `rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
/// Forward-path ) [SP Rcpt-parameters] CRLF` (RFC 5321 4.1.1.3).
/// Non-ASCII only in a SMTPUTF8 transaction (RFC 6531 3.4).
fn parse_rcpt<'a>(content: &'a [u8], opts: &CommandOptions) -> Result<Command<'a>, ParseError> {
    let i = after_keyword(content, b" TO:", opts)?;
    let utf8 = opts.utf8_transaction;
    let mut seen = false;
    let (path, end) = match simple_path(content, i, &opts.limits) {
        Some((m, end)) => (PathKind::Mailbox(m), end),
        None => scan_path(
            content,
            i,
            utf8,
            &mut seen,
            &opts.limits,
            false,
            true,
            opts.lenient.missing_brackets,
        )?,
    };
    let raw = params_raw(content, end)?;
    let params = crate::params::RcptParams::parse_with(raw, opts.extensions, utf8, &mut seen)?;
    let to = match path {
        PathKind::Mailbox(m) => crate::address::ForwardPath::Mailbox(m),
        _ => crate::address::ForwardPath::Postmaster,
    };
    Ok(Command::Rcpt { to, params })
}

/// The common path, fast: `"<" Dot-string "@" Domain ">"` with an ASCII
/// local part and an ASCII domain of LDH labels (RFC 5321 4.1.2), within
/// the limits. `None` means "not this simple shape" (a quoted local part,
/// UTF-8, an address literal, a source route, `<>`, `<Postmaster>`, a limit
/// exceeded, a syntax error): the caller then runs the general
/// [`scan_path`], so every result is the one the general scan gives.
#[inline(always)]
fn simple_path<'a>(s: &'a [u8], i: usize, limits: &Limits) -> Option<(Mailbox<'a>, usize)> {
    if s.get(i) != Some(&b'<') {
        return None;
    }
    let lstart = i + 1;
    let lend = simple_dot_string(s, lstart)?;
    if s.get(lend) != Some(&b'@') {
        return None;
    }
    let dstart = lend + 1;
    let dend = simple_domain(s, dstart)?;
    if s.get(dend) != Some(&b'>')
        || lend - lstart > limits.local_part
        || dend - dstart > limits.domain
        || dend + 1 - i > limits.path
    {
        return None;
    }
    let local = crate::address::LocalPart(s.get(lstart..lend)?);
    let domain = crate::address::Domain(s.get(dstart..dend)?);
    Some((Mailbox { local, domain }, dend + 1))
}

/// `Dot-string = Atom *("." Atom)` over ASCII `atext` (RFC 5321 4.1.2)
/// from `s[i]`: its end, or `None` (not a dot-string, or non-ASCII).
#[inline(always)]
fn simple_dot_string(s: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let start = i;
        i = run(s, i, C_ATEXT);
        if i == start {
            return None;
        }
        if s.get(i) != Some(&b'.') {
            return Some(i);
        }
        i += 1;
    }
}

/// The end of the run of octets of `class` from `s[i]`.
#[inline(always)]
fn run(s: &[u8], mut i: usize, class: u8) -> usize {
    while let Some(&b) = s.get(i) {
        if !is(b, class) {
            break;
        }
        i += 1;
    }
    i
}

/// `Domain = sub-domain *("." sub-domain)` with ASCII
/// `sub-domain = Let-dig [Ldh-str]` (RFC 5321 4.1.2) from `s[i]`: its end,
/// or `None` (not such a domain; an address literal or U-label included).
#[inline(always)]
fn simple_domain(s: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let start = i;
        i = run(s, i, C_LDH);
        // Let-dig first and last: non-empty, no hyphen at either end.
        let label = s.get(start..i)?;
        match (label.first(), label.last()) {
            (Some(&f), Some(&l)) if f != b'-' && l != b'-' => {}
            _ => return None,
        }
        if s.get(i) != Some(&b'.') {
            return Some(i);
        }
        i += 1;
    }
}

/// Every string of up to six octets over an alphabet with every
/// separator of the path grammar: where the fast path accepts, the
/// general scan gives the same mailbox and end (under the RFC limits
/// and under tiny ones); the fast domain agrees with `scan_domain`.
#[cfg(test)]
#[test]
fn fast_path_agrees_with_general_scan() {
    const ALPHABET: &[u8] = b"a1.-@<>\"[";
    let tiny = Limits {
        local_part: 2,
        domain: 3,
        path: 7,
        ..Limits::RFC
    };
    let mut s = Vec::new();
    let mut checked = 0;
    for len in 0..=6u32 {
        for mut n in 0..ALPHABET.len().pow(len) {
            s.clear();
            for _ in 0..len {
                s.push(ALPHABET[n % ALPHABET.len()]);
                n /= ALPHABET.len();
            }
            for limits in [&Limits::RFC, &tiny] {
                if let Some((m, end)) = simple_path(&s, 0, limits) {
                    let mut seen = false;
                    let general = scan_path(&s, 0, false, &mut seen, limits, true, true, false);
                    assert_eq!(general, Ok((PathKind::Mailbox(m), end)), "{s:?}");
                    checked += 1;
                }
            }
            if let Some(end) = simple_domain(&s, 0) {
                let mut seen = false;
                assert_eq!(scan_domain(&s, 0, false, &mut seen), Ok(end), "{s:?}");
            }
        }
    }
    assert!(checked > 100, "{checked}");
}

/// Checks `kw` (case-insensitive) after the four-letter verb and returns the
/// offset of the path; lenient `space_after_colon` skips SPs after it.
#[inline(always)]
fn after_keyword(content: &[u8], kw: &[u8], opts: &CommandOptions) -> Result<usize, ParseError> {
    let end = 4 + kw.len();
    match content.get(4..end) {
        // ASCII case folding by octet: `kw` is upper-case letters, SP and
        // `:`, so each octet matches its own or its lower-case form.
        Some(k) if k.iter().zip(kw).all(|(&a, &b)| a == b || a == b | 0x20) => {}
        _ => return Err(ParseError::Syntax),
    }
    let mut i = end;
    if opts.lenient.space_after_colon {
        while content.get(i) == Some(&b' ') {
            i += 1;
        }
    }
    Ok(i)
}

/// The parameter text after the path: empty, or SP followed by at least
/// one octet.
fn params_raw(content: &[u8], end: usize) -> Result<&[u8], ParseError> {
    match content.get(end..) {
        Some([]) | None => Ok(&[]),
        Some([b' ', raw @ ..]) if !raw.is_empty() => Ok(raw),
        _ => Err(ParseError::Syntax),
    }
}

/// `vrfy = "VRFY" SP String [SP "SMTPUTF8"] CRLF` (RFC 5321 4.1.1.6,
/// RFC 6531 3.7.4.2), also accepting a `Local-part "@" Domain` argument
/// (RFC 5321 3.5.1). Returns the argument as sent.
fn parse_vrfy_arg<'a>(
    arg: &'a [u8],
    opts: &CommandOptions,
) -> Result<(&'a [u8], bool), ParseError> {
    let ext_utf8 = opts.extensions.contains(Extensions::SMTPUTF8);
    let utf8 = opts.utf8_transaction || ext_utf8;
    let mut seen = false;
    let mut end = scan_local(arg, 0, utf8, &mut seen)?;
    if arg.get(end) == Some(&b'@') {
        let d = end + 1;
        end = scan_domain(arg, d, utf8, &mut seen)?;
        if end - d > opts.limits.domain {
            return Err(ParseError::DomainTooLong);
        }
    } else if arg.first() != Some(&b'"') && arg[..end].contains(&b'.') {
        // A Dot-string with dots is not an Atom.
        return Err(ParseError::Syntax);
    }
    let smtputf8 = match &arg[end..] {
        [] => false,
        [b' ', kw @ ..] if kw.eq_ignore_ascii_case(b"SMTPUTF8") && ext_utf8 => true,
        [b' ', kw @ ..] if kw.eq_ignore_ascii_case(b"SMTPUTF8") => {
            return Err(ParseError::UnsupportedParameter);
        }
        _ => return Err(ParseError::Syntax),
    };
    if seen && !(opts.utf8_transaction || smtputf8) {
        return Err(ParseError::Utf8NotAllowed);
    }
    Ok((&arg[..end], smtputf8))
}

/// `"AUTH" SP sasl-mech [SP initial-response]`,
/// `sasl-mech = 1*20(UPPER-ALPHA / DIGIT / "-" / "_")`,
/// `initial-response = base64 / "="` (RFC 4954 4; lower case accepted).
fn parse_auth(rest: &[u8]) -> Result<Command<'_>, ParseError> {
    let arg = sp_arg(rest)?;
    let end = arg.iter().position(|&b| b == b' ').unwrap_or(arg.len());
    let mechanism = &arg[..end];
    let mech_ok = (1..=20).contains(&mechanism.len())
        && mechanism
            .iter()
            .all(|&b| is(b, C_ALNUM) || b == b'-' || b == b'_');
    if !mech_ok {
        return Err(ParseError::Syntax);
    }
    let initial_response = match &arg[end..] {
        [] => None,
        [b' ', r @ ..] if r == b"=" || is_base64(r) => Some(Secret::new(r)),
        _ => return Err(ParseError::Syntax),
    };
    Ok(Command::Auth {
        mechanism,
        initial_response,
    })
}

/// `"ETRN" SP node-name` with `node-name = domain / "@" domain / "#" queue`
/// (RFC 1985 5): a queue name is 1*(%x21-7E).
fn parse_etrn(node: &[u8], limits: &Limits) -> Result<(), ParseError> {
    match node {
        [b'#', q @ ..] if !q.is_empty() && q.iter().all(|b| (0x21..=0x7e).contains(b)) => Ok(()),
        [b'#', ..] => Err(ParseError::Syntax),
        _ => {
            let d = usize::from(node.first() == Some(&b'@'));
            let mut seen = false;
            let end = scan_domain(node, d, false, &mut seen)?;
            if end != node.len() {
                return Err(ParseError::Syntax);
            }
            if end - d > limits.domain {
                return Err(ParseError::DomainTooLong);
            }
            Ok(())
        }
    }
}

/// `absolute-URI = scheme ":" hier-part [ "?" query ]` (RFC 3986 4.3, as
/// used by RFC 4468 3), checked as `scheme = ALPHA *( ALPHA / DIGIT / "+" /
/// "-" / "." )`, ":" and 1*(%x21-7E).
fn is_absolute_uri(url: &[u8]) -> bool {
    let Some(colon) = url.iter().position(|&b| b == b':') else {
        return false;
    };
    let (scheme, rest) = (&url[..colon], &url[colon + 1..]);
    scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && !rest.is_empty()
        && rest.iter().all(|b| (0x21..=0x7e).contains(b))
}

// ---------------------------------------------------------------------------
// Display: the wire form.

/// The command line as [`Command::write_to`] writes it, without the final
/// CRLF (RFC 5321 4.1.1): `format!("{cmd}\r\n")` is the encoded line and
/// parses back equal.
///
/// One exception keeps logs safe: the initial response of `AUTH`
/// (RFC 4954 4), a credential, is shown as `<redacted>` (as `Debug` does);
/// use [`Command::write_to`] for the bytes to send. A hand-built value that
/// does not encode is shown with its CR, LF and other control octets as
/// `\xNN`, so the output is always one line.
///
/// ```
/// use smtp_sansio::{Command, CommandOptions};
///
/// let opts = CommandOptions::new();
/// let cmd = Command::parse(b"mail from:<alice@example.org> size=1024\r\n", &opts).unwrap();
/// assert_eq!(cmd.to_string(), "MAIL FROM:<alice@example.org> SIZE=1024");
///
/// let auth = Command::parse(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", &opts).unwrap();
/// assert_eq!(auth.to_string(), "AUTH PLAIN <redacted>");
/// ```
impl core::fmt::Display for Command<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let shown = match *self {
            Command::Auth {
                mechanism,
                initial_response: Some(_),
            } => Command::Auth {
                mechanism,
                initial_response: Some(Secret::new(b"<redacted>")),
            },
            cmd => cmd,
        };
        let mut line = Vec::new();
        shown.write_unchecked(&mut line);
        let body = line.strip_suffix(b"\r\n").unwrap_or(&line);
        crate::address::display_bytes(f, body)
    }
}

/// The stored command line without its CRLF; see the `Display` of
/// [`Command`] (an AUTH initial response is redacted).
impl core::fmt::Display for OwnedCommand {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.command().fmt(f)
    }
}
