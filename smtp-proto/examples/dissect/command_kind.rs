//! `dissect command`: one client command line, fields per dissect.md
//! "Command fields", "Canonical mailbox" and "Parameters".
use crate::Outcome;
use smtp_sansio::address::{ForwardPath, ReversePath};
use smtp_sansio::params::{ByMode, MailAuth, MailParams, Param, RcptParams};
use smtp_sansio::{Command, CommandOptions, LocalPart, Mailbox};

/// Dissects one input. With `split`, the input is accumulated `split`
/// bytes at a time and parsed once complete (same result as one buffer).
pub fn run(input: &[u8], split: Option<usize>) -> Outcome {
    let mut opts = CommandOptions::new();
    opts.utf8_transaction = true;
    let owned;
    let buf: &[u8] = match split {
        None => input,
        Some(n) => {
            let mut acc = Vec::with_capacity(input.len());
            for chunk in input.chunks(n.max(1)) {
                acc.extend_from_slice(chunk);
            }
            owned = acc;
            &owned
        }
    };
    match Command::parse(buf, &opts) {
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
            b"ENVID" => p.envid.map(|x| x.decode().into_owned()),
            b"AUTH" => p.auth.map(|a| match a {
                MailAuth::Unknown => b"<>".to_vec(),
                MailAuth::Mailbox(x) => x.decode().into_owned(),
            }),
            b"MT-PRIORITY" => p.mt_priority.map(|n| n.to_string().into_bytes()),
            b"BY" => p.by.map(|b| {
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
            b"ORCPT" => p.orcpt.map(|o| {
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
