//! The submission connection plan (RFC 8314 5.1, RFC 6186) and the
//! wrong-port check (RFC 8314 3.3).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::address::Domain;
use crate::mode::PortMode;

use super::config::TlsPolicy;

/// Which attempts [`connection_plan`] may list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlanOptions {
    /// Implicit TLS on port 465 (RFC 8314 3). Default true.
    pub implicit_tls: bool,
    /// STARTTLS on port 587 (RFC 6409, RFC 3207), TLS required. Default
    /// true.
    pub starttls: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            implicit_tls: true,
            starttls: true,
        }
    }
}

/// One connection attempt for message submission.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attempt {
    /// The mode to configure the client with.
    pub mode: PortMode,
    /// The port to use when the SRV lookup gives nothing (RFC 8314 7.3).
    pub port: u16,
    /// The RFC 6186 SRV name to look up first (`_submissions._tcp.<domain>`
    /// or `_submission._tcp.<domain>`).
    pub srv_name: String,
    /// The TLS policy: always [`TlsPolicy::Required`] (RFC 8314 3, 5.1:
    /// never plaintext submission).
    pub tls: TlsPolicy,
}

/// The ordered attempts RFC 8314 5.1 recommends for submission to
/// `domain`: implicit TLS on 465 first, then STARTTLS (required) on 587;
/// never plaintext. Each carries its RFC 6186 SRV name (RFC 8314 5.1 adds
/// `_submissions._tcp`). Pure logic: the driver does the DNS. An invalid
/// domain gives an empty plan; a trailing dot is dropped.
pub fn connection_plan(domain: &str, allow: PlanOptions) -> Vec<Attempt> {
    let d = domain.strip_suffix('.').unwrap_or(domain);
    if d.is_empty() || Domain::parse(d.as_bytes(), true).is_err() || d.starts_with('[') {
        return Vec::new();
    }
    let mut plan = Vec::new();
    if allow.implicit_tls {
        plan.push(Attempt {
            mode: PortMode::ImplicitTls,
            port: PortMode::ImplicitTls.default_port(),
            srv_name: format!("_submissions._tcp.{d}"),
            tls: TlsPolicy::Required,
        });
    }
    if allow.starttls {
        plan.push(Attempt {
            mode: PortMode::Submission,
            port: PortMode::Submission.default_port(),
            srv_name: format!("_submission._tcp.{d}"),
            tls: TlsPolicy::Required,
        });
    }
    plan
}

/// The peer speaks the other protocol layer than the port mode expects
/// (RFC 8314 3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WrongPort {
    /// A TLS record (handshake or alert) arrived where a plaintext SMTP
    /// greeting was expected.
    TlsWherePlaintextExpected,
    /// A plaintext SMTP greeting (`220 `, `220-`, `554 `, `421 `) arrived
    /// where a TLS handshake was expected (implicit TLS).
    PlaintextWhereTlsExpected,
}

/// Checks the first bytes read from a fresh connection (before any TLS
/// layer) against `mode`: TLS record bytes (`0x16 0x03`, or an alert `0x15
/// 0x03`) where a plaintext greeting is expected, or a plaintext greeting
/// where the implicit-TLS handshake is expected. `None` when the bytes fit
/// the mode or are too few to tell.
pub fn detect_wrong_port(first_bytes: &[u8], mode: PortMode) -> Option<WrongPort> {
    if mode.implicit_tls() {
        let greeting = match first_bytes.get(..4) {
            Some([a, b, c, sep]) => {
                matches!(sep, b' ' | b'-')
                    && matches!(
                        (a, b, c),
                        (b'2', b'2', b'0') | (b'5', b'5', b'4') | (b'4', b'2', b'1')
                    )
            }
            _ => false,
        };
        greeting.then_some(WrongPort::PlaintextWhereTlsExpected)
    } else {
        match first_bytes {
            [0x16 | 0x15, 0x03, ..] => Some(WrongPort::TlsWherePlaintextExpected),
            _ => None,
        }
    }
}
