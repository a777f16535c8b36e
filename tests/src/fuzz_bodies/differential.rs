//! `differential`: command lines that both this crate and the `smtp-proto`
//! crate (0.2.5, the peer of the benches) accept must agree on the verb,
//! the paths and the parameters both understand.
//!
//! Every known, justified divergence is listed in [`DIVERGENCES`], the one
//! place that documents them; the comparison code tolerates a difference
//! only through `tolerated`, which refuses ids not in the table.

use std::borrow::Cow;

use smtp_proto_peer as peer;
use smtp_sansio::command::Command;
use smtp_sansio::params::{Body, ByMode, Hold, MailAuth, Ret};
use smtp_sansio::{CommandOptions, ForwardPath, ReversePath};

/// Known divergences between the two parsers, with the reason each is
/// accepted. `id` is what the comparison code names.
pub const DIVERGENCES: &[(&str, &str)] = &[
    (
        "quotes-in-argument",
        "VRFY, EXPN, NOOP, HELP and ETRN arguments holding a DQUOTE: we keep \
     the argument as sent (a Quoted-string for VRFY/EXPN/NOOP/HELP, RFC 5321 \
     4.1.2 String, which the application judges; any %x21-7E for an ETRN \
     queue name, RFC 1985 5), the peer reads every DQUOTE as quoting and \
     returns the text without them",
    ),
    (
        "xtext-octets-as-latin1",
        "ENVID, AUTH= and ORCPT values: a +HH escape above 7F is the octet HH \
     for us (RFC 3461 4: xtext encodes octets), the peer decodes into a \
     String and stores the code point U+00HH (UTF-8 C2/C3 xx); compared \
     after mapping our octets the same way",
    ),
];

/// Our decoded xtext as the peer stores it: each octet as the code point
/// of the same value, UTF-8 encoded (see `xtext-octets-as-latin1`).
fn as_peer_xtext(decoded: Vec<u8>) -> Vec<u8> {
    if decoded.is_ascii() || !tolerated("xtext-octets-as-latin1") {
        return decoded;
    }
    decoded
        .iter()
        .map(|&b| char::from(b))
        .collect::<String>()
        .into_bytes()
}

/// Whether divergence `id` is documented in [`DIVERGENCES`]; panics if the
/// comparison names one that is not (so the table stays the one place).
fn tolerated(id: &str) -> bool {
    assert!(
        DIVERGENCES.iter().any(|(d, _)| *d == id),
        "divergence {id:?} is not documented in DIVERGENCES"
    );
    true
}

type PeerRequest<'a> = peer::Request<Cow<'a, str>>;

/// Our mailbox as the peer reports it: the decoded local part (quotes
/// removed, quoted pairs resolved), `@`, the domain as sent.
fn mailbox_text(m: &smtp_sansio::Mailbox<'_>) -> Vec<u8> {
    let mut v = m.local.decoded().into_owned();
    v.push(b'@');
    v.extend_from_slice(m.domain.as_bytes());
    v
}

fn compare(ours: &Command<'_>, theirs: &PeerRequest<'_>, line: &[u8]) {
    let ctx = || String::from_utf8_lossy(line).into_owned();
    assert_eq!(ours.verb(), theirs.name(), "verb differs: {}", ctx());
    match (ours, theirs) {
        (Command::Ehlo { domain }, peer::Request::Ehlo { host })
        | (Command::Helo { domain }, peer::Request::Helo { host })
        | (Command::Lhlo { domain }, peer::Request::Lhlo { host }) => {
            assert_eq!(domain.as_bytes(), host.as_bytes(), "domain: {}", ctx());
        }
        (Command::Mail { from, params }, peer::Request::Mail { from: f }) => {
            let path = match from {
                ReversePath::Null => Vec::new(),
                ReversePath::Mailbox(m) => mailbox_text(m),
            };
            assert_eq!(path, f.address.as_bytes(), "reverse path: {}", ctx());
            if let Some(size) = params.size {
                assert_eq!(size as usize, f.size, "SIZE: {}", ctx());
            }
            let flag = |bit: u64| f.flags & bit != 0;
            assert_eq!(
                params.body == Some(Body::SevenBit),
                flag(peer::MAIL_BODY_7BIT)
            );
            assert_eq!(
                params.body == Some(Body::EightBitMime),
                flag(peer::MAIL_BODY_8BITMIME)
            );
            assert_eq!(
                params.body == Some(Body::BinaryMime),
                flag(peer::MAIL_BODY_BINARYMIME)
            );
            assert_eq!(params.ret == Some(Ret::Full), flag(peer::MAIL_RET_FULL));
            assert_eq!(params.ret == Some(Ret::Hdrs), flag(peer::MAIL_RET_HDRS));
            assert_eq!(
                params.smtputf8,
                flag(peer::MAIL_SMTPUTF8),
                "SMTPUTF8: {}",
                ctx()
            );
            assert_eq!(
                params.requiretls,
                flag(peer::MAIL_REQUIRETLS),
                "REQUIRETLS: {}",
                ctx()
            );
            let envid = params.envid.map(|x| as_peer_xtext(x.decode().into_owned()));
            assert_eq!(
                envid.as_deref(),
                f.env_id.as_ref().map(|s| s.as_bytes()),
                "ENVID: {}",
                ctx()
            );
            match (params.auth, &f.auth) {
                (None, None) => {}
                (Some(MailAuth::Unknown), Some(a)) => assert_eq!(a, "<>", "AUTH=: {}", ctx()),
                (Some(MailAuth::Mailbox(x)), Some(a)) => {
                    assert_eq!(
                        &as_peer_xtext(x.decode().into_owned())[..],
                        a.as_bytes(),
                        "AUTH=: {}",
                        ctx()
                    )
                }
                (a, b) => panic!("AUTH= differs: {a:?} vs {b:?}: {}", ctx()),
            }
            if let Some(p) = params.mt_priority {
                assert_eq!(i64::from(p), f.mt_priority, "MT-PRIORITY: {}", ctx());
            }
            if let Some(Hold::For(n)) = params.hold {
                assert_eq!(n, f.hold_for, "HOLDFOR: {}", ctx());
            }
            if let Some(by) = params.by {
                assert_eq!(i64::from(by.time), f.by, "BY time: {}", ctx());
                assert_eq!(by.mode == ByMode::Notify, flag(peer::MAIL_BY_NOTIFY));
                assert_eq!(by.mode == ByMode::Return, flag(peer::MAIL_BY_RETURN));
                assert_eq!(by.trace, flag(peer::MAIL_BY_TRACE));
            }
        }
        (Command::Rcpt { to, params }, peer::Request::Rcpt { to: r }) => {
            let path = match to {
                ForwardPath::Postmaster => Vec::new(),
                ForwardPath::Mailbox(m) => mailbox_text(m),
            };
            assert_eq!(path, r.address.as_bytes(), "forward path: {}", ctx());
            let flag = |bit: u64| r.flags & bit != 0;
            let n = params.notify;
            assert_eq!(
                n.is_some_and(|n| n.is_never()),
                flag(peer::RCPT_NOTIFY_NEVER)
            );
            assert_eq!(
                n.is_some_and(|n| n.success()),
                flag(peer::RCPT_NOTIFY_SUCCESS)
            );
            assert_eq!(
                n.is_some_and(|n| n.failure()),
                flag(peer::RCPT_NOTIFY_FAILURE)
            );
            assert_eq!(n.is_some_and(|n| n.delay()), flag(peer::RCPT_NOTIFY_DELAY));
            let orcpt = params
                .orcpt
                .map(|o| as_peer_xtext(o.decoded().into_owned()));
            assert_eq!(
                orcpt.as_deref(),
                r.orcpt.as_ref().map(|s| s.as_bytes()),
                "ORCPT: {}",
                ctx()
            );
        }
        (
            Command::Bdat { size, last },
            peer::Request::Bdat {
                chunk_size,
                is_last,
            },
        ) => {
            assert_eq!(*size as usize, *chunk_size, "BDAT size: {}", ctx());
            assert_eq!(last, is_last, "BDAT LAST: {}", ctx());
        }
        (
            Command::Auth {
                initial_response, ..
            },
            peer::Request::Auth {
                initial_response: ir,
                ..
            },
        ) => {
            assert_eq!(
                initial_response.map_or(&b""[..], |r| *r.expose()),
                ir.as_bytes(),
                "AUTH response: {}",
                ctx()
            );
        }
        (Command::Etrn { node }, peer::Request::Etrn { name })
            if !(node.contains(&b'"') && tolerated("quotes-in-argument")) =>
        {
            assert_eq!(*node, name.as_bytes(), "ETRN: {}", ctx());
        }
        (Command::Burl { url, last }, peer::Request::Burl { uri, is_last }) => {
            assert_eq!(*url, uri.as_bytes(), "BURL url: {}", ctx());
            assert_eq!(last, is_last, "BURL LAST: {}", ctx());
        }
        (Command::Vrfy { arg, .. }, peer::Request::Vrfy { value })
        | (Command::Expn { arg, .. }, peer::Request::Expn { value })
            if !(arg.contains(&b'"') && tolerated("quotes-in-argument")) =>
        {
            assert_eq!(*arg, value.as_bytes(), "VRFY/EXPN: {}", ctx());
        }
        (Command::Noop { arg }, peer::Request::Noop { value })
        | (Command::Help { arg }, peer::Request::Help { value })
            if !(arg.is_some_and(|a| a.contains(&b'"')) && tolerated("quotes-in-argument")) =>
        {
            assert_eq!(arg.unwrap_or(b""), value.as_bytes(), "NOOP/HELP: {}", ctx());
        }
        _ => {}
    }
}

/// The body: the input is one command line (a CRLF is added if missing).
pub fn differential(data: &[u8]) {
    let mut line = data.to_vec();
    if !line.ends_with(b"\r\n") {
        line.extend_from_slice(b"\r\n");
    }
    let opts = CommandOptions::new();
    let Ok(ours) = Command::parse(&line, &opts) else {
        return;
    };
    let Ok(theirs) = PeerRequest::parse(&mut line.iter()) else {
        return;
    };
    compare(&ours, &theirs, &line);
}
