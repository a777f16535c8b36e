//! A reference parser for SMTP command lines, written with `nom` rule by
//! rule from the ABNF of the RFCs, to check the fast hand-written parser of
//! `smtp-sansio` against (`tests/oracle_props.rs`, the `differential` fuzz
//! body). Each parser carries its ABNF rule in its doc comment, so the code
//! reads next to the RFC text:
//!
//! - [`rfc5321`]: RFC 5321 4.1.2 (argument syntax), 4.1.3 (address
//!   literals), with the RFC 6531 3.3 UTF-8 additions;
//! - this module ([`parse_command`]): RFC 5321 4.1.1 command syntax, RFC 2033 4.1
//!   LHLO, RFC 3207 4 STARTTLS, RFC 6531 3.4 / 3.7.4.2 SMTPUTF8;
//! - [`rfc1870`] SIZE, [`rfc3461`] DSN, [`rfc4954`] AUTH, [`rfc3030`] BDAT
//!   and BODY.
//!
//! The oracle does not aim at speed, limits or leniency: it answers
//! [`Verdict::Accept`] with a [`Decoded`] form (verb, paths, parameters
//! with decoded values) that compares semantically with the fast parser's
//! [`smtp_sansio::Command`] through [`from_ours`],
//! [`Verdict::Reject`] when the grammar refuses the line, and
//! [`Verdict::OutOfScope`] for what the RFCs leave to the implementation
//! or what the oracle does not model (see [`Verdict::OutOfScope`]).

pub mod abnf;
pub mod rfc1870;
pub mod rfc3030;
pub mod rfc3461;
pub mod rfc4954;
pub mod rfc5321;

use nom::Parser;
use nom::bytes::complete::{tag, tag_no_case, take_while1};
use nom::combinator::{all_consuming, opt};
use nom::sequence::{preceded, terminated};

use smtp_sansio::Command;
use smtp_sansio::{ForwardPath, ParseError, ReversePath};

use abnf::{R, crlf, sp};

/// A command line decoded to what it means: the upper-case verb and
/// `(name, value)` fields in wire order. Names: `domain` (as sent), `path`
/// (decoded local part `@` domain as sent; empty for `<>`; `postmaster`
/// for the bare `<Postmaster>`), `arg`, `mechanism`, `initial_response`,
/// `size`, `last`, and each parameter under its upper-case keyword with its
/// decoded value (empty for a parameter without value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The verb, upper case.
    pub verb: String,
    /// The decoded fields, in wire order.
    pub fields: Vec<(String, Vec<u8>)>,
}

impl Decoded {
    fn new(verb: &str) -> Self {
        Decoded {
            verb: verb.to_owned(),
            fields: Vec::new(),
        }
    }
    fn push(&mut self, name: &str, value: impl Into<Vec<u8>>) {
        self.fields.push((name.to_owned(), value.into()));
    }
}

/// The oracle's answer for one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The grammar accepts the line; its meaning.
    Accept(Decoded),
    /// The grammar (or an RFC MUST about the command line) refuses it.
    Reject,
    /// Implementation-defined or not modelled: a line over the RFC 5321
    /// 4.5.3.1 minimum limits (local part 64, domain 255, path 256, command
    /// line 512 octets: a server MAY accept more), a parameter given twice
    /// (no RFC in scope says), and the verbs and parameters of extensions
    /// the oracle does not transliterate (ETRN, BURL, REQUIRETLS,
    /// MT-PRIORITY, HOLDFOR, HOLDUNTIL, BY, RRVS, RFC 6533 `utf-8` ORCPT).
    OutOfScope,
}

/// Keywords of extensions the fast parser knows and the oracle does not
/// model (their values are not checked here).
const UNMODELLED_PARAMS: &[&str] = &[
    "REQUIRETLS",
    "MT-PRIORITY",
    "HOLDFOR",
    "HOLDUNTIL",
    "BY",
    "RRVS",
];

/// Parses one command line (with its CRLF) as a server that advertised
/// every extension in scope. `utf8_transaction`: the transaction's MAIL
/// carried SMTPUTF8 (RFC 6531 3.4), so RCPT may hold UTF-8.
pub fn parse_command(line: &[u8], utf8_transaction: bool) -> Verdict {
    if line.len() > 512 && !line[..4.min(line.len())].eq_ignore_ascii_case(b"AUTH") {
        return Verdict::OutOfScope;
    }
    // RFC 4954 4: an AUTH command line may be up to 12288 octets
    if line.len() > 12288 {
        return Verdict::OutOfScope;
    }
    let Ok((_, (verb, rest))) = verb_and_rest(line) else {
        return Verdict::Reject;
    };
    let verb = verb.to_ascii_uppercase();
    let verb = String::from_utf8_lossy(&verb).into_owned();
    let r = match verb.as_str() {
        "EHLO" | "LHLO" => ehlo(rest, &verb),
        "HELO" => helo(rest),
        "MAIL" => mail(rest),
        "RCPT" => rcpt(rest, utf8_transaction),
        "DATA" | "RSET" | "QUIT" | "STARTTLS" => bare(rest, &verb),
        "VRFY" | "EXPN" => vrfy(rest, &verb, utf8_transaction),
        "NOOP" | "HELP" => noop(rest, &verb),
        "AUTH" => auth(rest),
        "BDAT" => bdat(rest),
        "ETRN" | "BURL" => Verdict::OutOfScope,
        // RFC 5321 4.2.4: an unrecognized command (500)
        _ => Verdict::Reject,
    };
    if let Verdict::Accept(d) = &r {
        if d.fields.iter().any(|(n, v)| n == "domain" && v.len() > 255) {
            return Verdict::OutOfScope;
        }
    }
    r
}

/// The verb (`1*ALPHA`, RFC 5321 4.1.1 commands are four letters or, for
/// STARTTLS, eight) and what follows it.
fn verb_and_rest(i: &[u8]) -> R<'_, (&[u8], &[u8])> {
    (
        take_while1(|c: u8| c.is_ascii_alphabetic()),
        nom::combinator::rest,
    )
        .parse(i)
}

/// Runs `p` over the whole rest of the line, CRLF included.
fn whole<'a, O>(
    rest: &'a [u8],
    p: impl Parser<&'a [u8], Output = O, Error = nom::error::Error<&'a [u8]>>,
) -> Option<O> {
    all_consuming(terminated(p, crlf))
        .parse(rest)
        .ok()
        .map(|(_, o)| o)
}

/// `ehlo = "EHLO" SP ( Domain / address-literal ) CRLF` (RFC 5321 4.1.1.1;
/// LHLO has the same syntax, RFC 2033 4.1). No UTF-8: SMTPUTF8 is not in
/// effect before the EHLO reply.
fn ehlo(rest: &[u8], verb: &str) -> Verdict {
    let p = preceded(
        sp,
        nom::branch::alt((rfc5321::domain(false), rfc5321::address_literal)),
    );
    match whole(rest, p) {
        Some(d) => {
            let mut v = Decoded::new(verb);
            v.push("domain", d);
            Verdict::Accept(v)
        }
        None => Verdict::Reject,
    }
}

/// `helo = "HELO" SP Domain CRLF` (RFC 5321 4.1.1.1).
fn helo(rest: &[u8]) -> Verdict {
    match whole(rest, preceded(sp, rfc5321::domain(false))) {
        Some(d) => {
            let mut v = Decoded::new("HELO");
            v.push("domain", d);
            Verdict::Accept(v)
        }
        None => Verdict::Reject,
    }
}

/// `data = "DATA" CRLF`, `rset = "RSET" CRLF`, `quit = "QUIT" CRLF`
/// (RFC 5321 4.1.1.4, 4.1.1.5, 4.1.1.10), `"STARTTLS" CRLF` (RFC 3207 4).
fn bare(rest: &[u8], verb: &str) -> Verdict {
    match whole(rest, nom::combinator::success(())) {
        Some(()) => Verdict::Accept(Decoded::new(verb)),
        None => Verdict::Reject,
    }
}

/// One parameter checked against its extension's grammar and decoded.
enum Param {
    Value(String, Vec<u8>),
    Reject,
    OutOfScope,
}

/// The decoder of parameter `kw` of command `verb`, from the extension that
/// defines it; `None` when `verb` does not take it.
fn decode_param(verb: &str, kw: &str, value: Option<&[u8]>) -> Param {
    type Dec = fn(&[u8]) -> R<'_, Vec<u8>>;
    let dec: Option<Dec> = match (verb, kw) {
        ("MAIL", "SIZE") => Some(rfc1870::size_value),
        ("MAIL", "BODY") => Some(rfc3030::body_value),
        ("MAIL", "RET") => Some(rfc3461::ret_value),
        ("MAIL", "ENVID") => Some(rfc3461::envid_value),
        ("MAIL", "AUTH") => Some(rfc4954::auth_param_value),
        ("RCPT", "NOTIFY") => Some(rfc3461::notify_value),
        ("RCPT", "ORCPT") => Some(rfc3461::orcpt_value),
        // RFC 6531 3.4: "SMTPUTF8" without a value, on MAIL only
        ("MAIL", "SMTPUTF8") => {
            return if value.is_none() {
                Param::Value(kw.to_owned(), Vec::new())
            } else {
                Param::Reject
            };
        }
        _ if UNMODELLED_PARAMS.contains(&kw) => return Param::OutOfScope,
        // RFC 5321 4.1.1.11: a parameter the server does not recognize, or
        // one of another command (555)
        _ => None,
    };
    let (Some(dec), Some(value)) = (dec, value) else {
        return Param::Reject;
    };
    if kw == "ORCPT" && value.len() >= 6 && value[..6].eq_ignore_ascii_case(b"utf-8;") {
        return Param::OutOfScope;
    }
    match all_consuming(dec).parse(value) {
        Ok((_, v)) => Param::Value(kw.to_owned(), v),
        Err(_) => Param::Reject,
    }
}

/// `[SP Mail-parameters]` / `[SP Rcpt-parameters]` of `verb`, decoded into
/// `d`; `utf8` allows UTF-8 in values (RFC 6531 3.3).
fn params(verb: &str, raw: &[rfc5321::RawParam<'_>], d: &mut Decoded) -> Option<Verdict> {
    let mut seen: Vec<String> = Vec::new();
    for (kw, value) in raw {
        let kw = String::from_utf8_lossy(&kw.to_ascii_uppercase()).into_owned();
        if seen.contains(&kw) {
            return Some(Verdict::OutOfScope);
        }
        seen.push(kw.clone());
        match decode_param(verb, &kw, *value) {
            Param::Value(k, v) => d.push(&k, v),
            Param::Reject => return Some(Verdict::Reject),
            Param::OutOfScope => return Some(Verdict::OutOfScope),
        }
    }
    None
}

/// ```text
/// mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
/// ```
/// (RFC 5321 4.1.1.2). UTF-8 is allowed in the path and values when the
/// line carries the SMTPUTF8 parameter (RFC 6531 3.4).
fn mail(rest: &[u8]) -> Verdict {
    let parse = |utf8: bool| {
        whole(
            rest,
            preceded(
                tag_no_case(&b" FROM:"[..]),
                (
                    rfc5321::reverse_path(utf8),
                    opt(preceded(sp, rfc5321::parameters(utf8))),
                ),
            ),
        )
    };
    let has_smtputf8 = |ps: &Option<Vec<rfc5321::RawParam<'_>>>| {
        ps.iter()
            .flatten()
            .any(|(k, _)| k.eq_ignore_ascii_case(b"SMTPUTF8"))
    };
    let parsed = match parse(true) {
        Some((p, ps)) if has_smtputf8(&ps) => Some((p, ps)),
        _ => parse(false),
    };
    let Some(((path, over), ps)) = parsed else {
        return Verdict::Reject;
    };
    if over {
        return Verdict::OutOfScope;
    }
    let mut d = Decoded::new("MAIL");
    d.push("path", path);
    if let Some(v) = params("MAIL", &ps.unwrap_or_default(), &mut d) {
        return v;
    }
    Verdict::Accept(d)
}

/// ```text
/// rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
///        Forward-path ) [SP Rcpt-parameters] CRLF
/// ```
/// (RFC 5321 4.1.1.3; UTF-8 inside an SMTPUTF8 transaction, RFC 6531 3.4).
fn rcpt(rest: &[u8], utf8: bool) -> Verdict {
    let p = preceded(
        tag_no_case(&b" TO:"[..]),
        (
            rfc5321::rcpt_path(utf8),
            opt(preceded(sp, rfc5321::parameters(utf8))),
        ),
    );
    let Some(((path, over), ps)) = whole(rest, p) else {
        return Verdict::Reject;
    };
    if over {
        return Verdict::OutOfScope;
    }
    let mut d = Decoded::new("RCPT");
    d.push("path", path);
    if let Some(v) = params("RCPT", &ps.unwrap_or_default(), &mut d) {
        return v;
    }
    Verdict::Accept(d)
}

/// ```text
/// vrfy = "VRFY" SP String CRLF
/// expn = "EXPN" SP String CRLF
/// vrfy =/ "VRFY" SP String [ SP "SMTPUTF8" ] CRLF   ; RFC 6531 3.7.4.2
/// ```
/// (RFC 5321 4.1.1.6, 4.1.1.7; 3.5.1 also lets the argument be a mailbox,
/// kept as sent). UTF-8 in the String when SMTPUTF8 is given, or inside
/// an SMTPUTF8 transaction (RFC 6531 3.3 extends the rules for the
/// session's use of the extension).
fn vrfy(rest: &[u8], verb: &str, utf8_transaction: bool) -> Verdict {
    let arg = |utf8: bool| {
        move |i| {
            nom::branch::alt((
                terminated(
                    nom::combinator::recognize(rfc5321::mailbox(utf8)),
                    nom::combinator::peek(nom::branch::alt((sp, crlf))),
                )
                .map(<[u8]>::to_vec),
                rfc5321::string(utf8),
            ))
            .parse(i)
        }
    };
    let with = whole(
        rest,
        preceded(sp, terminated(arg(true), tag_no_case(&b" SMTPUTF8"[..]))),
    );
    let (a, smtputf8) = match with {
        Some(a) => (a, true),
        None => match whole(rest, preceded(sp, arg(utf8_transaction))) {
            Some(a) => (a, false),
            None => return Verdict::Reject,
        },
    };
    let mut d = Decoded::new(verb);
    d.push("arg", a);
    if smtputf8 {
        d.push("SMTPUTF8", Vec::new());
    }
    Verdict::Accept(d)
}

/// ```text
/// help = "HELP" [ SP String ] CRLF
/// noop = "NOOP" [ SP String ] CRLF
/// ```
/// (RFC 5321 4.1.1.8, 4.1.1.9).
fn noop(rest: &[u8], verb: &str) -> Verdict {
    match whole(rest, opt(preceded(sp, rfc5321::string(false)))) {
        Some(a) => {
            let mut d = Decoded::new(verb);
            if let Some(a) = a {
                d.push("arg", a);
            }
            Verdict::Accept(d)
        }
        None => Verdict::Reject,
    }
}

/// ```text
/// auth-command = "AUTH" SP sasl-mech [SP initial-response] CRLF
/// ```
/// (RFC 4954 4, the first line; the continuation lines are not commands).
fn auth(rest: &[u8]) -> Verdict {
    let p = preceded(
        sp,
        (
            rfc4954::sasl_mech,
            opt(preceded(sp, rfc4954::initial_response)),
        ),
    );
    match whole(rest, p) {
        Some((m, ir)) => {
            let mut d = Decoded::new("AUTH");
            d.push("mechanism", m);
            if let Some(ir) = ir {
                d.push("initial_response", ir);
            }
            Verdict::Accept(d)
        }
        None => Verdict::Reject,
    }
}

/// `bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF` (RFC 3030 2).
fn bdat(rest: &[u8]) -> Verdict {
    match whole(rest, rfc3030::bdat_args) {
        Some((size, last)) => {
            let mut d = Decoded::new("BDAT");
            d.push("size", size);
            d.push("last", if last { &b"yes"[..] } else { b"no" });
            Verdict::Accept(d)
        }
        None => Verdict::Reject,
    }
}

/// `tag` re-exported for the proptests' generators.
pub fn literal(t: &'static [u8]) -> impl FnMut(&[u8]) -> R<'_, &[u8]> {
    move |i| tag(t).parse(i)
}

/// A VRFY/EXPN/NOOP/HELP argument as the fast parser keeps it (as sent),
/// decoded the way the oracle decodes a String: a whole Quoted-string
/// loses its quotes and its backslashes.
fn decode_string_arg(arg: &[u8]) -> Vec<u8> {
    if arg.len() >= 2 && arg[0] == b'"' && arg[arg.len() - 1] == b'"' {
        let mut out = Vec::new();
        let mut esc = false;
        for &c in &arg[1..arg.len() - 1] {
            if !esc && c == b'\\' {
                esc = true;
                continue;
            }
            esc = false;
            out.push(c);
        }
        out
    } else {
        arg.to_vec()
    }
}

/// The fast parser's command in the oracle's decoded form; `None` for
/// what the oracle does not model (see [`Verdict::OutOfScope`]).
pub fn from_ours(cmd: &Command<'_>) -> Option<Decoded> {
    let mailbox = |m: &smtp_sansio::Mailbox<'_>| {
        let mut v = m.local.decoded().into_owned();
        v.push(b'@');
        v.extend_from_slice(m.domain.as_bytes());
        v
    };
    let mut d = Decoded::new(cmd.verb());
    match cmd {
        Command::Ehlo { domain } | Command::Helo { domain } | Command::Lhlo { domain } => {
            d.push("domain", domain.as_bytes())
        }
        Command::Mail { from, params } => {
            d.push(
                "path",
                match from {
                    ReversePath::Null => Vec::new(),
                    ReversePath::Mailbox(m) => mailbox(m),
                },
            );
            for p in params.iter() {
                let kw = String::from_utf8_lossy(&p.keyword.to_ascii_uppercase()).into_owned();
                let v = match kw.as_str() {
                    "SIZE" => params.size?.to_string().into_bytes(),
                    "BODY" => match params.body? {
                        smtp_sansio::Body::SevenBit => b"7BIT".to_vec(),
                        smtp_sansio::Body::EightBitMime => b"8BITMIME".to_vec(),
                        smtp_sansio::Body::BinaryMime => b"BINARYMIME".to_vec(),
                    },
                    "RET" => match params.ret()? {
                        smtp_sansio::Ret::Full => b"FULL".to_vec(),
                        smtp_sansio::Ret::Hdrs => b"HDRS".to_vec(),
                    },
                    "ENVID" => params.envid()?.decode().into_owned(),
                    "AUTH" => match params.auth()? {
                        smtp_sansio::MailAuth::Unknown => b"<>".to_vec(),
                        smtp_sansio::MailAuth::Mailbox(x) => x.decode().into_owned(),
                    },
                    "SMTPUTF8" if params.smtputf8 => Vec::new(),
                    _ => return None,
                };
                d.push(&kw, v);
            }
        }
        Command::Rcpt { to, params } => {
            d.push(
                "path",
                match to {
                    ForwardPath::Postmaster => b"postmaster".to_vec(),
                    ForwardPath::Mailbox(m) => mailbox(m),
                },
            );
            for p in params.iter() {
                let kw = String::from_utf8_lossy(&p.keyword.to_ascii_uppercase()).into_owned();
                let v = match kw.as_str() {
                    "NOTIFY" => {
                        let n = params.notify?;
                        if n.is_never() {
                            b"NEVER".to_vec()
                        } else {
                            let names = [
                                (n.success(), "SUCCESS"),
                                (n.failure(), "FAILURE"),
                                (n.delay(), "DELAY"),
                            ];
                            names
                                .iter()
                                .filter(|(on, _)| *on)
                                .map(|(_, s)| *s)
                                .collect::<Vec<_>>()
                                .join(",")
                                .into_bytes()
                        }
                    }
                    "ORCPT" => {
                        let o = params.orcpt()?;
                        if o.is_utf8_type() {
                            return None;
                        }
                        let mut v = o.addr_type.to_ascii_uppercase();
                        v.push(b';');
                        v.extend_from_slice(&o.addr.decode());
                        v
                    }
                    _ => return None,
                };
                d.push(&kw, v);
            }
        }
        Command::Data | Command::Rset | Command::Quit | Command::StartTls => {}
        Command::Vrfy { arg, smtputf8 } | Command::Expn { arg, smtputf8 } => {
            d.push("arg", decode_string_arg(arg));
            if *smtputf8 {
                d.push("SMTPUTF8", Vec::new());
            }
        }
        Command::Noop { arg } | Command::Help { arg } => {
            if let Some(a) = arg {
                d.push("arg", decode_string_arg(a));
            }
        }
        Command::Auth {
            mechanism,
            initial_response,
        } => {
            d.push("mechanism", mechanism.to_ascii_uppercase());
            if let Some(ir) = initial_response {
                d.push("initial_response", *ir.expose());
            }
        }
        Command::Bdat { size, last } => {
            d.push("size", size.to_string().into_bytes());
            d.push("last", if *last { &b"yes"[..] } else { b"no" });
        }
        _ => return None,
    }
    Some(d)
}

/// The options the comparisons parse with on the fast side: strict RFC
/// 5321, every extension in effect (what the oracle models).
pub fn options(utf8_transaction: bool) -> smtp_sansio::CommandOptions {
    let mut o = smtp_sansio::CommandOptions::new();
    o.utf8_transaction = utf8_transaction;
    o
}

/// Compares the fast parser and the oracle on one line (with its CRLF).
/// `Ok` when they agree (same decoded form, or both refuse, or the oracle
/// is out of scope, or the difference is one of [`DISAGREEMENTS`]); `Err`
/// describes the disagreement.
pub fn check(line: &[u8], utf8_transaction: bool) -> Result<(), String> {
    let opts = options(utf8_transaction);
    let ours = Command::parse(line, &opts);
    let oracle = parse_command(line, utf8_transaction);
    let show = || String::from_utf8_lossy(line).escape_debug().to_string();
    match (&ours, oracle) {
        (_, Verdict::OutOfScope) => Ok(()),
        (Err(_), Verdict::Reject) => Ok(()),
        (Ok(c), Verdict::Accept(o)) => match from_ours(c) {
            None => Ok(()),
            Some(d) if d == o => Ok(()),
            Some(d) => Err(format!(
                "decoded forms differ on {}: ours {d:?}, oracle {o:?}",
                show()
            )),
        },
        (Ok(c), Verdict::Reject) => match known_disagreement(line, false) {
            Some(_) => Ok(()),
            None => Err(format!("only ours accepts {}: {c:?}", show())),
        },
        // The ABNF has no size limits; RFC 5321 4.5.3.1 sets them apart
        // (local part 64, domain 255, path 256, line 512), and the core
        // enforces them wherever an address appears (a VRFY argument too).
        (Err(e), Verdict::Accept(_))
            if matches!(
                e.error,
                ParseError::LocalPartTooLong
                    | ParseError::DomainTooLong
                    | ParseError::PathTooLong
                    | ParseError::LineTooLong
            ) =>
        {
            Ok(())
        }
        (Err(e), Verdict::Accept(o)) => match known_disagreement(line, true) {
            Some(_) => Ok(()),
            None => Err(format!(
                "only the oracle accepts {}: {o:?}; ours: {e:?}",
                show()
            )),
        },
    }
}

/// Known, RFC-justified disagreements between the oracle and the fast
/// parser: `(id, only the oracle accepts, reason)`. Each is recognized from
/// the line alone by [`known_disagreement`]; nothing else is tolerated.
pub const DISAGREEMENTS: &[(&str, bool, &str)] = &[
    (
        "route-address-literal",
        false,
        "a source route holding an address literal (`<@[192.0.2.1]:u@d.example>`): \
         RFC 5321 4.1.2 `At-domain = \"@\" Domain` no longer admits address \
         literals (RFC 2821's Domain did); the core accepts and ignores any route \
         as Appendix C asks (and the conformance suite's y_route_4 wants it)",
    ),
    (
        "auth-mechanism-case",
        false,
        "a lower-case SASL mechanism name: RFC 4422 3.1 `mech-char = UPPER-ALPHA / \
         DIGIT / HYPHEN / UNDERSCORE`; the core reads it case-insensitively (RFC \
         5321 2.4 spirit, conformance i_auth_1) and reports it upper-cased",
    ),
    (
        "number-beyond-u64",
        true,
        "a SIZE (RFC 1870 `1*20DIGIT`) or BDAT chunk size (RFC 3030 `1*DIGIT`) \
         above 2^64-1: grammatical, but no server can honour it; the core \
         answers number_overflow (501 5.5.4) instead of wrapping",
    ),
    (
        "notify-repeated-element",
        true,
        "NOTIFY=SUCCESS,SUCCESS: RFC 3461 4.1's `1#notify-list-element` does not \
         forbid a repeated element, the core refuses it as meaningless \
         (invalid_parameter; conformance i_dsn_2)",
    ),
    (
        "orcpt-empty-address",
        true,
        "ORCPT=rfc822; with an empty xtext: `xtext = *(...)` admits it, but RFC \
         3461 4.2 says the parameter carries the original recipient address, so \
         the core refuses an empty one (conformance i_dsn_3)",
    ),
    (
        "helo-address-literal",
        false,
        "HELO [192.0.2.1]: RFC 5321 4.1.1.1 `helo = \"HELO\" SP Domain`, but \
         clients without a name send a literal there as in EHLO; the core \
         accepts it (conformance i_helo_1)",
    ),
    (
        "unknown-parameter",
        false,
        "a MAIL/RCPT parameter no extension defines (or one of the other \
         command): RFC 5321 4.1.1.11 has the server answer 555; the core parses \
         it and leaves the refusal to the server machine (`params.unknown()`)",
    ),
];

/// Keywords the core parses with a typed value (its extensions), per verb.
const MAIL_KEYWORDS: &[&str] = &[
    "SIZE",
    "BODY",
    "RET",
    "ENVID",
    "AUTH",
    "SMTPUTF8",
    "REQUIRETLS",
    "MT-PRIORITY",
    "HOLDFOR",
    "HOLDUNTIL",
    "BY",
];
const RCPT_KEYWORDS: &[&str] = &["NOTIFY", "ORCPT", "RRVS"];

/// The id of the known disagreement `line` falls under, if any (from the
/// line alone: the verb, the path text and the parameter tokens).
pub fn known_disagreement(line: &[u8], oracle_accepts: bool) -> Option<&'static str> {
    let text = line.strip_suffix(b"\r\n").unwrap_or(line);
    let words: Vec<&[u8]> = text.split(|&c| c == b' ').collect();
    let verb = words.first()?.to_ascii_uppercase();
    let kv = |w: &[u8]| -> (Vec<u8>, Option<Vec<u8>>) {
        match w.iter().position(|&c| c == b'=') {
            Some(p) => (w[..p].to_ascii_uppercase(), Some(w[p + 1..].to_vec())),
            None => (w.to_ascii_uppercase(), None),
        }
    };
    let params: Vec<(Vec<u8>, Option<Vec<u8>>)> = words.iter().skip(2).map(|w| kv(w)).collect();
    let big = |v: &[u8]| {
        v.iter().all(u8::is_ascii_digit) && v.iter().skip_while(|&&c| c == b'0').count() >= 20 && {
            let t: Vec<u8> = v.iter().copied().skip_while(|&c| c == b'0').collect();
            t.len() > 20 || t[..] > b"18446744073709551615"[..]
        }
    };
    let id = if oracle_accepts {
        if (verb == b"BDAT" && words.get(1).is_some_and(|w| big(w)))
            || params
                .iter()
                .any(|(k, v)| k == b"SIZE" && v.as_deref().is_some_and(big))
        {
            "number-beyond-u64"
        } else if params.iter().any(|(k, v)| {
            k == b"NOTIFY"
                && v.as_ref().is_some_and(|v| {
                    let els: Vec<Vec<u8>> = v
                        .split(|&c| c == b',')
                        .map(<[u8]>::to_ascii_uppercase)
                        .collect();
                    (1..els.len()).any(|i| els[..i].contains(&els[i]))
                })
        }) {
            "notify-repeated-element"
        } else if params
            .iter()
            .any(|(k, v)| k == b"ORCPT" && v.as_ref().is_some_and(|v| v.ends_with(b";")))
        {
            "orcpt-empty-address"
        } else {
            return None;
        }
    } else if (verb == b"MAIL" || verb == b"RCPT")
        && words.get(1).is_some_and(|p| {
            let route_end = p
                .iter()
                .position(|&c| c == b':')
                .and_then(|_| p.windows(2).position(|w| w == b":<"));
            let path = &p[route_end.map_or(0, |e| e + 1)..];
            path.starts_with(b"<@")
                && path
                    .split(|&c| c == b':')
                    .next()
                    .is_some_and(|r| r.contains(&b'['))
        })
    {
        "route-address-literal"
    } else if verb == b"AUTH"
        && words
            .get(1)
            .is_some_and(|m| m.iter().any(u8::is_ascii_lowercase))
    {
        "auth-mechanism-case"
    } else if verb == b"HELO" && words.get(1).is_some_and(|d| d.starts_with(b"[")) {
        "helo-address-literal"
    } else if (verb == b"MAIL" || verb == b"RCPT")
        && params.iter().any(|(k, _)| {
            let known = if verb == b"MAIL" {
                MAIL_KEYWORDS
            } else {
                RCPT_KEYWORDS
            };
            !known.iter().any(|n| n.as_bytes() == &k[..])
        })
    {
        "unknown-parameter"
    } else {
        return None;
    };
    assert!(
        DISAGREEMENTS
            .iter()
            .any(|(d, side, _)| *d == id && *side == oracle_accepts),
        "disagreement {id:?} is not documented in DISAGREEMENTS"
    );
    Some(id)
}
