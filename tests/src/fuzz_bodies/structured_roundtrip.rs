//! `structured_roundtrip`: `arbitrary`-driven generators build VALID
//! commands (as wire lines, from grammar pieces: RFC 5321 4.1.2 paths,
//! the extension RFCs' parameters), replies and capability sets; each must
//! be accepted, carry the generated values, and encode then parse back to
//! the same value.
//!
//! The command generator writes lines rather than values because the
//! parameter and path types only come from the parser (they borrow the
//! line); the fields the generator chose are then checked on the parse.

use std::borrow::Cow;

use arbitrary::{Result, Unstructured};
use smtp_sansio::Command;
use smtp_sansio::Reply;
use smtp_sansio::ServerLimits;
use smtp_sansio::{
    AuthMechanisms, Capabilities, Capability, CommandOptions, EhloReply, EnhancedCode, Extensions,
    Limits, OwnedReply, ReplyCode, ReversePath,
};

const ATEXT: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~";
const LD: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789ABCDEF";

fn pick<T: Copy>(u: &mut Unstructured<'_>, from: &[T]) -> Result<T> {
    Ok(*u.choose(from)?)
}

fn chars(u: &mut Unstructured<'_>, from: &[u8], min: usize, max: usize) -> Result<Vec<u8>> {
    let n = u.int_in_range(min..=max)?;
    (0..n).map(|_| pick(u, from)).collect()
}

/// Random ASCII case (keywords and verbs are case-insensitive, RFC 5321 2.4).
fn any_case(u: &mut Unstructured<'_>, s: &str) -> Result<Vec<u8>> {
    s.bytes()
        .map(|b| {
            Ok(if u.arbitrary::<bool>()? {
                b.to_ascii_lowercase()
            } else {
                b
            })
        })
        .collect()
}

/// `sub-domain = Let-dig [Ldh-str]`.
fn label(u: &mut Unstructured<'_>, utf8: bool) -> Result<Vec<u8>> {
    if utf8 && u.ratio(1, 4)? {
        return Ok(pick(u, &["b\u{fc}cher", "\u{4f8b}\u{3048}", "caf\u{e9}"])?
            .as_bytes()
            .to_vec());
    }
    let mut l = chars(u, LD, 1, 8)?;
    if l.len() > 2 && u.ratio(1, 4)? {
        l[1] = b'-';
    }
    Ok(l)
}

/// `Domain / address-literal` (RFC 5321 4.1.2, 4.1.3).
fn domain(u: &mut Unstructured<'_>, utf8: bool) -> Result<Vec<u8>> {
    Ok(match u.int_in_range(0..=5)? {
        0 => format!(
            "[{}.{}.{}.{}]",
            u.arbitrary::<u8>()?,
            u.arbitrary::<u8>()?,
            u.arbitrary::<u8>()?,
            u.arbitrary::<u8>()?
        )
        .into_bytes(),
        1 => {
            let g: Vec<String> = (0..8)
                .map(|_| Ok(format!("{:x}", u.arbitrary::<u16>()?)))
                .collect::<Result<_>>()?;
            if u.arbitrary::<bool>()? {
                format!("[IPv6:{}]", g.join(":")).into_bytes()
            } else {
                format!("[IPv6:{}::{}]", g[0], g[7]).into_bytes()
            }
        }
        _ => {
            let n = u.int_in_range(1..=3)?;
            let labels: Vec<Vec<u8>> = (0..n).map(|_| label(u, utf8)).collect::<Result<_>>()?;
            labels.join(&b'.')
        }
    })
}

/// `Local-part = Dot-string / Quoted-string`.
fn local(u: &mut Unstructured<'_>, utf8: bool) -> Result<Vec<u8>> {
    if u.ratio(1, 4)? {
        let mut q = vec![b'"'];
        for _ in 0..u.int_in_range(0..=10)? {
            let b = u.int_in_range(32u8..=126)?;
            if b == b'"' || b == b'\\' {
                q.push(b'\\');
            }
            q.push(b);
        }
        q.push(b'"');
        return Ok(q);
    }
    let n = u.int_in_range(1..=3)?;
    let mut atoms: Vec<Vec<u8>> = (0..n)
        .map(|_| chars(u, ATEXT, 1, 8))
        .collect::<Result<_>>()?;
    if utf8 && u.ratio(1, 3)? {
        atoms[0].extend_from_slice("\u{e9}t\u{e9}".as_bytes());
    }
    Ok(atoms.join(&b'.'))
}

/// `xtext` (RFC 3461 4), non-empty.
fn xtext(u: &mut Unstructured<'_>, max: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let n = u.int_in_range(1..=max)?;
    while out.len() < n {
        if u.ratio(1, 6)? && out.len() + 3 <= max {
            out.push(b'+');
            out.push(pick(u, HEX)?);
            out.push(pick(u, HEX)?);
        } else {
            let b = u.int_in_range(33u8..=126)?;
            out.push(if b == b'+' || b == b'=' { b'x' } else { b });
        }
    }
    Ok(out)
}

/// RFC 3339 `date-time`.
fn date_time(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        u.int_in_range(0..=9999)?,
        u.int_in_range(1..=12)?,
        u.int_in_range(1..=28)?,
        u.int_in_range(0..=23)?,
        u.int_in_range(0..=59)?,
        u.int_in_range(0..=59)?
    );
    if u.arbitrary::<bool>()? {
        s.push_str(&format!(".{}", u.int_in_range(0..=999)?));
    }
    match u.int_in_range(0..=2)? {
        0 => s.push('Z'),
        1 => s.push_str(&format!(
            "+{:02}:{:02}",
            u.int_in_range(0..=23)?,
            u.int_in_range(0..=59)?
        )),
        _ => s.push_str(&format!(
            "-{:02}:{:02}",
            u.int_in_range(0..=23)?,
            u.int_in_range(0..=59)?
        )),
    }
    Ok(s.into_bytes())
}

/// An unknown esmtp-param (`X-...`), possibly with a value.
fn unknown_param(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut p = b"X-".to_vec();
    p.extend(chars(u, LD, 1, 6)?);
    if u.arbitrary::<bool>()? {
        p.push(b'=');
        for _ in 0..u.int_in_range(1..=8)? {
            let b = u.int_in_range(33u8..=126)?;
            p.push(if b == b'=' { b'v' } else { b });
        }
    }
    Ok(p)
}

/// What the generator put in a line, checked on the parse.
#[derive(Debug, Default)]
struct Expect {
    verb: &'static str,
    path: Option<Vec<u8>>,
    size: Option<u64>,
    bdat: Option<(u64, bool)>,
}

/// One valid command line (without CRLF) and what it must parse to.
fn command_line(u: &mut Unstructured<'_>) -> Result<(Vec<u8>, Expect)> {
    let mut e = Expect::default();
    let verbs = [
        "EHLO", "HELO", "LHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT", "VRFY",
        "EXPN", "HELP", "STARTTLS", "AUTH", "ETRN", "BURL",
    ];
    let verb = pick(u, &verbs)?;
    e.verb = verb;
    let mut line = any_case(u, verb)?;
    match verb {
        "EHLO" | "HELO" | "LHLO" => {
            line.push(b' ');
            line.extend(domain(u, false)?);
        }
        "MAIL" => {
            let utf8 = u.ratio(1, 4)?;
            line.extend(any_case(u, " FROM:<")?);
            if u.ratio(1, 5)? {
                e.path = Some(Vec::new());
            } else {
                let mut p = local(u, utf8)?;
                p.push(b'@');
                p.extend(domain(u, utf8)?);
                line.extend_from_slice(&p);
                e.path = Some(p);
            }
            line.push(b'>');
            let mut params: Vec<Vec<u8>> = Vec::new();
            if utf8 {
                params.push(any_case(u, "SMTPUTF8")?);
            }
            for i in 0..10 {
                if !u.ratio(1, 3)? {
                    continue;
                }
                let mut p = Vec::new();
                match i {
                    0 => {
                        let n = u.int_in_range(0..=10_000_000_000u64)?;
                        e.size = Some(n);
                        p.extend(any_case(u, &format!("SIZE={n}"))?);
                    }
                    1 => {
                        let b = pick(u, &["BODY=7BIT", "BODY=8BITMIME", "BODY=BINARYMIME"])?;
                        p.extend(any_case(u, b)?)
                    }
                    2 => {
                        let r = pick(u, &["RET=FULL", "RET=HDRS"])?;
                        p.extend(any_case(u, r)?)
                    }
                    3 => {
                        p.extend(any_case(u, "ENVID=")?);
                        p.extend(xtext(u, 100)?);
                    }
                    4 => {
                        p.extend(any_case(u, "AUTH=")?);
                        if u.arbitrary::<bool>()? {
                            p.extend_from_slice(b"<>");
                        } else {
                            p.extend(xtext(u, 60)?);
                        }
                    }
                    5 => p.extend(any_case(u, "REQUIRETLS")?),
                    6 => {
                        // RFC 6710 7: priority-value = (["-"] NZDIGIT) / "0"
                        // (no "+", no "-0").
                        let d = u.int_in_range(0..=9)?;
                        let sign = if d != 0 && u.arbitrary::<bool>()? {
                            "-"
                        } else {
                            ""
                        };
                        p.extend(any_case(u, &format!("MT-PRIORITY={sign}{d}"))?);
                    }
                    7 => {
                        if u.arbitrary::<bool>()? {
                            let n = u.int_in_range(0..=999_999_999u32)?;
                            p.extend(any_case(u, &format!("HOLDFOR={n}"))?);
                        } else {
                            p.extend(any_case(u, "HOLDUNTIL=")?);
                            p.extend(date_time(u)?);
                        }
                    }
                    8 => {
                        let mode = pick(u, &["N", "R", "NT", "RT"])?;
                        // RFC 2852 4: by-mode R needs a by-time above zero.
                        let (sign, t) = if mode.starts_with('R') {
                            (pick(u, &["", "+"])?, u.int_in_range(1..=999_999_999u32)?)
                        } else {
                            (
                                pick(u, &["", "+", "-"])?,
                                u.int_in_range(0..=999_999_999u32)?,
                            )
                        };
                        p.extend(any_case(u, &format!("BY={sign}{t};{mode}"))?);
                    }
                    _ => p.extend(unknown_param(u)?),
                }
                params.push(p);
            }
            for p in params {
                line.push(b' ');
                line.extend(p);
            }
        }
        "RCPT" => {
            line.extend(any_case(u, " TO:<")?);
            if u.ratio(1, 6)? {
                line.extend(any_case(u, "Postmaster")?);
                e.path = Some(b"Postmaster".to_vec());
            } else {
                let mut p = local(u, false)?;
                p.push(b'@');
                p.extend(domain(u, false)?);
                line.extend_from_slice(&p);
                e.path = Some(p);
            }
            line.push(b'>');
            if u.arbitrary::<bool>()? {
                line.extend(any_case(u, " NOTIFY=")?);
                if u.ratio(1, 4)? {
                    line.extend(any_case(u, "NEVER")?);
                } else {
                    let mut list: Vec<&str> = ["SUCCESS", "FAILURE", "DELAY"]
                        .into_iter()
                        .filter(|_| u.arbitrary::<bool>().unwrap_or(false))
                        .collect();
                    if list.is_empty() {
                        list.push("DELAY");
                    }
                    line.extend(any_case(u, &list.join(","))?);
                }
            }
            if u.arbitrary::<bool>()? {
                line.extend(any_case(u, " ORCPT=rfc822;")?);
                line.extend(xtext(u, 40)?);
            }
            if u.ratio(1, 4)? {
                line.extend(any_case(u, " RRVS=")?);
                line.extend(date_time(u)?);
                if u.arbitrary::<bool>()? {
                    let m = pick(u, &[";C", ";R"])?;
                    line.extend(any_case(u, m)?);
                }
            }
            if u.ratio(1, 4)? {
                line.push(b' ');
                line.extend(unknown_param(u)?);
            }
        }
        "BDAT" => {
            let n = u.arbitrary::<u64>()? >> u.int_in_range(0..=63)?;
            let last = u.arbitrary::<bool>()?;
            e.bdat = Some((n, last));
            line.extend(format!(" {n}").into_bytes());
            if last {
                line.extend(any_case(u, " LAST")?);
            }
        }
        "NOOP" | "HELP" => {
            let with_arg = u.arbitrary::<bool>()?;
            if with_arg {
                line.push(b' ');
                if u.arbitrary::<bool>()? {
                    line.extend(chars(u, ATEXT, 1, 10)?);
                } else {
                    line.extend(b"\"quoted text\"");
                }
            }
        }
        "VRFY" | "EXPN" => {
            line.push(b' ');
            match u.int_in_range(0..=2)? {
                0 => line.extend(chars(u, ATEXT, 1, 10)?),
                1 => line.extend(b"\"Some User\""),
                _ => {
                    line.extend(local(u, false)?);
                    line.push(b'@');
                    line.extend(domain(u, false)?);
                }
            }
            if u.arbitrary::<bool>()? {
                line.extend(any_case(u, " SMTPUTF8")?);
            }
        }
        "AUTH" => {
            line.push(b' ');
            let m = chars(u, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", 1, 20)?;
            line.extend(m);
            if u.arbitrary::<bool>()? {
                line.push(b' ');
                if u.ratio(1, 5)? {
                    line.push(b'=');
                } else {
                    let raw: Vec<u8> = chars(u, &(0..=255).collect::<Vec<u8>>(), 1, 40)?;
                    line.extend(smtp_sansio::sasl::encode_base64(&raw).into_bytes());
                }
            }
        }
        "ETRN" => {
            line.push(b' ');
            match u.int_in_range(0..=2)? {
                0 => line.extend(domain(u, false)?),
                1 => {
                    line.push(b'@');
                    line.extend(domain(u, false)?);
                }
                _ => {
                    line.push(b'#');
                    line.extend(chars(u, &(0x21..=0x7e).collect::<Vec<u8>>(), 1, 12)?);
                }
            }
        }
        "BURL" => {
            line.push(b' ');
            line.extend(pick(u, &["imap", "https", "x+y-z.w"])?.bytes());
            line.push(b':');
            line.extend(chars(u, &(0x21..=0x7e).collect::<Vec<u8>>(), 1, 30)?);
            if u.arbitrary::<bool>()? {
                line.extend(any_case(u, " LAST")?);
            }
        }
        _ => {}
    }
    Ok((line, e))
}

fn check_command(u: &mut Unstructured<'_>) -> Result<()> {
    let (mut line, e) = command_line(u)?;
    line.extend_from_slice(b"\r\n");
    let mut opts = CommandOptions::new();
    opts.limits.command_line = 4096;
    opts.utf8_transaction = true;
    let cmd = Command::parse(&line, &opts).unwrap_or_else(|err| {
        panic!(
            "valid generated command refused: {:?} {:?}",
            err.error,
            String::from_utf8_lossy(&line)
        )
    });
    assert_eq!(cmd.verb(), e.verb);
    match cmd {
        Command::Mail { from, params } => {
            let path = match from {
                ReversePath::Null => Vec::new(),
                ReversePath::Mailbox(m) => {
                    let mut p = m.local.as_bytes().to_vec();
                    p.push(b'@');
                    p.extend_from_slice(m.domain.as_bytes());
                    p
                }
            };
            assert_eq!(Some(path), e.path);
            assert_eq!(params.size, e.size);
        }
        Command::Rcpt { to, .. } => {
            let path = match to {
                smtp_sansio::ForwardPath::Postmaster => b"Postmaster".to_vec(),
                smtp_sansio::ForwardPath::Mailbox(m) => {
                    let mut p = m.local.as_bytes().to_vec();
                    p.push(b'@');
                    p.extend_from_slice(m.domain.as_bytes());
                    p
                }
            };
            assert_eq!(Some(path), e.path);
        }
        Command::Bdat { size, last } => assert_eq!(Some((size, last)), e.bdat),
        _ => {}
    }
    let mut enc = Vec::new();
    cmd.write_to(&mut enc).expect("generated command encodes");
    let back = Command::parse(&enc, &opts).expect("encoding parses back");
    assert_eq!(back, cmd);
    Ok(())
}

fn text(u: &mut Unstructured<'_>) -> Result<String> {
    let mut t: Vec<u8> = chars(u, &(0x20..=0x7e).chain([b'\t']).collect::<Vec<u8>>(), 0, 80)?;
    if t.first().is_some_and(u8::is_ascii_digit) {
        t.insert(0, b'n');
    }
    Ok(String::from_utf8(t).expect("ASCII"))
}

fn check_reply(u: &mut Unstructured<'_>) -> Result<()> {
    let code = u.int_in_range(2u16..=5)? * 100
        + u.int_in_range(0u16..=5)? * 10
        + u.int_in_range(0u16..=9)?;
    let code = ReplyCode::new(code).expect("valid code");
    let class = code.first_digit();
    let enhanced = if class != 3 && u.arbitrary::<bool>()? {
        EnhancedCode::new(class, u.int_in_range(0..=999)?, u.int_in_range(0..=999)?)
    } else {
        None
    };
    let mut reply = OwnedReply::new(code, enhanced, text(u)?);
    for _ in 0..u.int_in_range(0..=4)? {
        reply = reply.with_line(text(u)?);
    }
    let enc = reply
        .to_bytes()
        .unwrap_or_else(|e| panic!("valid reply refused: {e:?} {reply:?}"));
    let (back, n) = Reply::parse(&enc, &Limits::RFC).expect("encoded reply parses");
    assert_eq!(n, enc.len());
    assert_eq!(back.code(), code);
    assert_eq!(back.enhanced(), enhanced);
    assert_eq!(back.line_count(), reply.lines.len());
    assert_eq!(back.to_owned_reply(), reply);
    Ok(())
}

fn token(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    chars(u, &(0x21..=0x7e).collect::<Vec<u8>>(), 1, 10)
}

fn tokens(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let n = u.int_in_range(1..=4)?;
    let t: Vec<Vec<u8>> = (0..n).map(|_| token(u)).collect::<Result<_>>()?;
    Ok(t.join(&b' '))
}

fn check_capabilities(u: &mut Unstructured<'_>) -> Result<()> {
    // A server name that starts like an enhanced status code (`2.2.2`) is
    // refused by the builder when a greeting follows (see the `ehlo` body's
    // documented refusals): start it with a letter.
    let domain = format!("h{}", String::from_utf8(domain(u, false)?).expect("ASCII"));
    let greet = if u.arbitrary::<bool>()? {
        text(u)?
    } else {
        String::new()
    };
    // Parameters first (the capabilities borrow them).
    let n = u.int_in_range(0..=8)?;
    let arena: Vec<(u8, Vec<u8>, Vec<u8>)> = (0..n)
        .map(|_| {
            // Unknown keywords are prefixed so they never name a known extension.
            let kw = [b"X-".as_slice(), &chars(u, LD, 1, 8)?].concat();
            Ok((u.int_in_range(0..=21)?, tokens(u)?, kw))
        })
        .collect::<Result<_>>()?;
    let mut list = Vec::new();
    for (kind, params, kw) in &arena {
        let num = |u: &mut Unstructured<'_>| -> Result<Option<u64>> {
            Ok(if u.arbitrary::<bool>()? {
                Some(u.arbitrary::<u64>()?)
            } else {
                None
            })
        };
        list.push(match kind {
            0 => Capability::Size(num(u)?),
            1 => Capability::EightBitMime,
            2 => Capability::BinaryMime,
            3 => Capability::Chunking,
            4 => Capability::Pipelining,
            5 => Capability::SmtpUtf8,
            6 => Capability::Dsn,
            7 => Capability::EnhancedStatusCodes,
            8 => Capability::StartTls,
            9 => Capability::Auth(AuthMechanisms::new(if u.arbitrary::<bool>()? {
                params
            } else {
                b""
            })),
            10 => Capability::RequireTls,
            11 => Capability::MtPriority(u.arbitrary::<bool>()?.then_some(&params[..])),
            12 => Capability::DeliverBy(num(u)?),
            13 => Capability::FutureRelease {
                max_interval: u.arbitrary()?,
                max_datetime: params.split(|&b| b == b' ').next().unwrap_or(b"x"),
            },
            14 => Capability::Etrn,
            15 => Capability::Burl(u.arbitrary::<bool>()?.then_some(&params[..])),
            16 => Capability::Rrvs,
            17 => Capability::Vrfy,
            18 => Capability::Expn,
            19 => Capability::Help,
            20 => Capability::Limits(ServerLimits {
                mail_max: num(u)?,
                rcpt_max: num(u)?,
                rcpt_domain_max: num(u)?,
            }),
            _ => Capability::Other {
                keyword: kw,
                params: if u.arbitrary::<bool>()? { params } else { b"" },
            },
        });
    }
    let caps = Capabilities {
        domain: Cow::Owned(domain.clone()),
        greet: Cow::Owned(greet.clone()),
        list: list.clone(),
    };
    let mut enc = Vec::new();
    caps.write_to(&mut enc)
        .unwrap_or_else(|e| panic!("valid capabilities refused: {e:?} {caps:?}"));
    let (back, m) = EhloReply::parse(&enc, &Limits::RFC).expect("rendered EHLO reply parses");
    assert_eq!(m, enc.len());
    assert_eq!(back.domain(), domain.as_bytes());
    assert_eq!(back.greet(), greet.as_bytes());
    let got: Vec<Capability<'_>> = back.capabilities().collect();
    assert_eq!(got, list);
    let mut ext = Extensions::NONE;
    for c in &list {
        if let Some(e) = c.extension() {
            ext.insert(e);
        }
    }
    assert_eq!(back.extensions(), ext);
    Ok(())
}

/// The body.
pub fn structured_roundtrip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    while !u.is_empty() {
        let r = match u.int_in_range(0..=3).unwrap_or(0) {
            0 | 1 => check_command(&mut u),
            2 => check_reply(&mut u),
            _ => check_capabilities(&mut u),
        };
        if r.is_err() {
            return;
        }
    }
}
