//! `dissect command`: one client command line, fields per dissect.md
//! "Command fields", "Canonical mailbox" and "Parameters".
use crate::Outcome;
use smtp_sansio::{ByMode, MailAuth, MailParams, Param, RcptParams};
use smtp_sansio::{Command, CommandOptions, LineEndingPolicy, LocalPart, Mailbox, XAttrValue};
use smtp_sansio::{ForwardPath, ReversePath};
use smtp_sansio::{InputBuffer, LineStatus};

/// Dissects one input: the bytes go through the server's incremental
/// framer ([`InputBuffer`]) `split` bytes at a time (all at once without
/// `--split`), and the framed line through [`Command::parse_line`], so every
/// split gives the same verdict by construction of the framer.
pub fn run(input: &[u8], split: Option<usize>) -> Outcome {
    let mut opts = CommandOptions::new();
    opts.utf8_transaction = true;
    // Frame with the largest limit any command may have (AUTH lines,
    // RFC 4954 4); the parser then applies each command's own limit.
    let frame_limit = opts
        .limits
        .auth_line
        .max(opts.extensions.mail_line_limit(opts.limits.command_line))
        .max(opts.extensions.rcpt_line_limit(opts.limits.command_line));
    let mut buf = InputBuffer::new();
    let mut line = None;
    for chunk in input.chunks(split.unwrap_or(input.len()).max(1)) {
        if line.is_some() {
            return Outcome::Err("trailing_data", Vec::new());
        }
        buf.receive(chunk);
        match buf.next_line(frame_limit, LineEndingPolicy::Reject) {
            LineStatus::Pending => {}
            LineStatus::TooLong => return Outcome::Err("line_too_long", Vec::new()),
            LineStatus::BareLineEnding(_) => {
                return Outcome::Err("bare_line_ending", Vec::new());
            }
            LineStatus::Line(r) => line = Some(buf.get(r).to_vec()),
        }
    }
    let Some(line) = line else {
        return Outcome::Err("incomplete", Vec::new());
    };
    if !buf.is_empty() {
        return Outcome::Err("trailing_data", Vec::new());
    }
    match Command::parse_line(&line, &opts) {
        Ok(cmd) => Outcome::Ok(fields(&cmd)),
        Err(e) => Outcome::Err(e.error.kind(), Vec::new()),
    }
}

fn kv(k: &str, v: &[u8]) -> Vec<u8> {
    let mut f = k.as_bytes().to_vec();
    f.push(b'=');
    f.extend_from_slice(v);
    f
}

fn mailbox(m: &Mailbox<'_>) -> Vec<u8> {
    let mut v = Vec::new();
    m.write_canonical(&mut v);
    v
}

/// A String argument decoded: a whole Quoted-string loses its quotes and
/// quoted-pairs; anything else stays as sent.
fn decode_string(arg: &[u8]) -> Vec<u8> {
    if arg.len() >= 2 && arg.first() == Some(&b'"') && arg.last() == Some(&b'"') {
        if let Ok(lp) = LocalPart::parse(arg, true) {
            return lp.decoded().into_owned();
        }
    }
    arg.to_vec()
}

fn fields(cmd: &Command<'_>) -> Vec<Vec<u8>> {
    let mut f = vec![cmd.verb().as_bytes().to_vec()];
    match *cmd {
        Command::Ehlo { domain } | Command::Helo { domain } | Command::Lhlo { domain } => {
            f.push(kv("domain", domain.as_bytes()));
        }
        Command::Mail { from, params } => {
            f.push(match from {
                ReversePath::Null => kv("reverse_path", b""),
                ReversePath::Mailbox(m) => kv("reverse_path", &mailbox(&m)),
            });
            mail_params(&params, &mut f);
        }
        Command::Rcpt { to, params } => {
            f.push(match to {
                ForwardPath::Postmaster => kv("forward_path", b"postmaster"),
                ForwardPath::Mailbox(m) => kv("forward_path", &mailbox(&m)),
            });
            rcpt_params(&params, &mut f);
        }
        Command::Data | Command::Rset | Command::Quit | Command::StartTls => {}
        Command::Noop { arg } | Command::Help { arg } => {
            if let Some(a) = arg {
                f.push(kv("arg", &decode_string(a)));
            }
        }
        Command::Vrfy { arg, smtputf8 } | Command::Expn { arg, smtputf8 } => {
            f.push(kv("arg", &decode_string(arg)));
            if smtputf8 {
                f.push(b"SMTPUTF8".to_vec());
            }
        }
        Command::Auth {
            mechanism,
            initial_response,
        } => {
            f.push(kv("mechanism", &mechanism.to_ascii_uppercase()));
            if let Some(r) = initial_response {
                // `=` stands for an empty initial response (RFC 4954 4).
                let r: &[u8] = r.expose();
                let r: &[u8] = if r == b"=" { b"" } else { r };
                f.push(kv("initial_response", r));
            }
        }
        Command::Bdat { size, last } => {
            f.push(kv("size", size.to_string().as_bytes()));
            f.push(kv("last", if last { b"yes" } else { b"no" }));
        }
        Command::Etrn { node } => f.push(kv("node", node)),
        Command::Burl { url, last } => {
            f.push(kv("url", url));
            f.push(kv("last", if last { b"yes" } else { b"no" }));
        }
        Command::Xclient { attrs } | Command::Xforward { attrs } => {
            for a in attrs {
                let value = match a.value {
                    XAttrValue::Unavailable => b"[UNAVAILABLE]".to_vec(),
                    XAttrValue::TempUnavail => b"[TEMPUNAVAIL]".to_vec(),
                    XAttrValue::Value(x) => x.decode().into_owned(),
                };
                f.push(param_field(a.name.as_str().as_bytes(), Some(&value)));
            }
        }
    }
    f
}

/// `KEYWORD` or `KEYWORD=value` with the keyword upper-cased.
fn param_field(keyword: &[u8], value: Option<&[u8]>) -> Vec<u8> {
    let mut out = keyword.to_ascii_uppercase();
    if let Some(v) = value {
        out.push(b'=');
        out.extend_from_slice(v);
    }
    out
}

fn mail_params(p: &MailParams<'_>, f: &mut Vec<Vec<u8>>) {
    for Param { keyword, value } in p.iter() {
        let kw = keyword.to_ascii_uppercase();
        let norm: Option<Vec<u8>> = match kw.as_slice() {
            b"SIZE" => p.size.map(|n| n.to_string().into_bytes()),
            b"BODY" | b"RET" => value.map(<[u8]>::to_ascii_uppercase),
            b"ENVID" => p.envid().map(|x| x.decode().into_owned()),
            b"AUTH" => p.auth().map(|a| match a {
                MailAuth::Unknown => b"<>".to_vec(),
                MailAuth::Mailbox(x) => x.decode().into_owned(),
            }),
            b"MT-PRIORITY" => p.mt_priority().map(|n| n.to_string().into_bytes()),
            b"BY" => p.by().map(|b| {
                let m = match b.mode {
                    ByMode::Notify => "N",
                    ByMode::Return => "R",
                };
                format!("{};{m}{}", b.time, if b.trace { "T" } else { "" }).into_bytes()
            }),
            b"SMTPUTF8" | b"REQUIRETLS" => None,
            _ => value.map(<[u8]>::to_vec),
        };
        f.push(param_field(&kw, norm.as_deref()));
    }
}

fn rcpt_params(p: &RcptParams<'_>, f: &mut Vec<Vec<u8>>) {
    for Param { keyword, value } in p.iter() {
        let kw = keyword.to_ascii_uppercase();
        let norm: Option<Vec<u8>> = match kw.as_slice() {
            b"NOTIFY" => value.map(<[u8]>::to_ascii_uppercase),
            b"ORCPT" => p.orcpt().map(|o| {
                let mut v = o.addr_type.to_vec();
                v.push(b';');
                v.extend_from_slice(&o.decoded());
                v
            }),
            _ => value.map(<[u8]>::to_vec),
        };
        f.push(param_field(&kw, norm.as_deref()));
    }
}
