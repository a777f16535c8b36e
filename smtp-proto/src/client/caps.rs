//! What the client learned of the server from its EHLO/LHLO (or HELO)
//! reply (RFC 5321 4.1.1.1, RFC 9422 LIMITS).

use alloc::string::String;
use alloc::vec::Vec;

use crate::capability::{Capability, EhloReply, ServerLimits};
use crate::ext::Extensions;
use crate::reply::OwnedReply;
use crate::sasl::Mechanism;
use crate::session::HelloKind;

/// What the server offered in its EHLO/LHLO reply (RFC 5321 4.1.1.1), or
/// nothing after HELO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCapabilities {
    /// The greeting command that was answered.
    pub hello: HelloKind,
    /// The server's name as sent (lossy UTF-8).
    pub domain: String,
    /// The known extensions offered.
    pub extensions: Extensions,
    /// The SIZE value (RFC 1870 4; `Some(0)` means no fixed limit).
    pub size: Option<u64>,
    /// The SASL mechanisms of the AUTH line this crate knows, in the
    /// server's order (RFC 4954 3).
    pub mechanisms: Vec<Mechanism>,
    /// The LIMITS values (RFC 9422 4): MAILMAX, RCPTMAX, RCPTDOMAINMAX,
    /// as sent (first LIMITS line; a value that is not a number, or does
    /// not fit 64 bits, is left out). See [`ServerCapabilities::rcpt_max`]
    /// and friends for the values the client applies.
    pub limits: ServerLimits,
}

impl ServerCapabilities {
    pub(super) fn from_ehlo(hello: HelloKind, e: &EhloReply<'_>) -> Self {
        ServerCapabilities {
            hello,
            domain: String::from_utf8_lossy(e.domain()).into_owned(),
            extensions: e.extensions(),
            size: e.size(),
            mechanisms: e
                .auth_mechanisms()
                .iter()
                .filter_map(Mechanism::from_name)
                .collect(),
            limits: e
                .capabilities()
                .find_map(|c| match c {
                    Capability::Limits(l) => Some(l),
                    _ => None,
                })
                .unwrap_or_default(),
        }
    }

    pub(super) fn helo(reply: &OwnedReply) -> Self {
        let domain = reply
            .lines
            .first()
            .and_then(|l| l.split(' ').next())
            .unwrap_or("")
            .into();
        ServerCapabilities {
            hello: HelloKind::Helo,
            domain,
            extensions: Extensions::NONE,
            size: None,
            mechanisms: Vec::new(),
            limits: ServerLimits::default(),
        }
    }

    /// The recipients per transaction the server takes (RFC 9422 4.2
    /// RCPTMAX). `None` when not announced, and for 0, which is no usable
    /// limit (a transaction needs a recipient, RFC 5321 3.3; every server
    /// takes 100, RFC 5321 4.5.3.1.8): the client then relies on `452
    /// 4.5.3` replies (RFC 5321 4.5.3.1.10). A value beyond `usize` is
    /// `usize::MAX`.
    pub fn rcpt_max(&self) -> Option<usize> {
        nonzero(self.limits.rcpt_max)
    }

    /// The transactions per session the server takes (RFC 9422 4.1
    /// MAILMAX); `None` when not announced or 0 (no usable limit).
    pub fn mail_max(&self) -> Option<usize> {
        nonzero(self.limits.mail_max)
    }

    /// The distinct recipient domains per transaction the server takes
    /// (RFC 9422 4.3 RCPTDOMAINMAX); `None` when not announced or 0 (no
    /// usable limit).
    pub fn rcpt_domain_max(&self) -> Option<usize> {
        nonzero(self.limits.rcpt_domain_max)
    }

    /// Whether every extension of `ext` is offered.
    pub fn supports(&self, ext: Extensions) -> bool {
        self.extensions.contains(ext)
    }
}

/// A LIMITS value the client can apply: 0 is none (RFC 9422 4), a value
/// beyond `usize` saturates.
fn nonzero(v: Option<u64>) -> Option<usize> {
    v.filter(|&v| v > 0)
        .map(|v| usize::try_from(v).unwrap_or(usize::MAX))
}
