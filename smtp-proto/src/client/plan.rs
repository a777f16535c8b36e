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

/// The two RFC 6186 / RFC 8314 submission services an SRV record can be
/// found for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SrvService {
    /// `_submissions._tcp`: submission with implicit TLS (RFC 8314 5.1,
    /// 7.3). Preferred at equal priority.
    Submissions,
    /// `_submission._tcp`: submission with STARTTLS (RFC 6186 3.1, RFC
    /// 6409), TLS required (RFC 8314 5.1).
    Submission,
}

impl SrvService {
    /// The SRV label, without the domain: `_submissions._tcp` or
    /// `_submission._tcp` (RFC 6186 3.1, RFC 8314 7.3).
    pub const fn label(self) -> &'static str {
        match self {
            SrvService::Submissions => "_submissions._tcp",
            SrvService::Submission => "_submission._tcp",
        }
    }

    /// The port mode a target of this service is spoken with (RFC 8314
    /// 3, RFC 6409).
    pub const fn mode(self) -> PortMode {
        match self {
            SrvService::Submissions => PortMode::ImplicitTls,
            SrvService::Submission => PortMode::Submission,
        }
    }
}

/// One SRV resource record as the driver's resolver returned it (RFC 2782:
/// priority, weight, port, target).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SrvRecord {
    /// Lower is tried first (RFC 2782 "Priority").
    pub priority: u16,
    /// Relative share among records of the same priority; 0 means "very
    /// small chance of being selected" (RFC 2782 "Weight").
    pub weight: u16,
    /// The TCP port of the service on the target (RFC 2782 "Port").
    pub port: u16,
    /// The host name of the target; `.` (or the empty string, as some
    /// resolvers print the root) alone means the service is decidedly not
    /// available at this domain (RFC 2782 "Target", RFC 6186 3.4). A
    /// trailing dot is allowed.
    pub target: String,
}

impl SrvRecord {
    /// A record with these fields (RFC 2782).
    pub fn new(priority: u16, weight: u16, port: u16, target: impl Into<String>) -> Self {
        SrvRecord {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }
}

/// Why [`srv_plan`] left out one record (the others are still used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrvRecordError {
    /// The target is not a host name (RFC 2782 "Target": a domain name,
    /// not an address literal; RFC 1035 syntax).
    InvalidTarget,
    /// Port 0 (no service can be reached there).
    PortZero,
    /// A `.` target next to other records of the same service: `.` means
    /// "not available" only as the sole record (RFC 2782), so it is
    /// ignored here.
    DotAmongOthers,
}

/// A record [`srv_plan`] left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SkippedRecord {
    /// The service it was found for.
    pub service: SrvService,
    /// Its index in the slice given for that service.
    pub index: usize,
    /// Why it was left out.
    pub reason: SrvRecordError,
}

/// One place to connect to, in [`SrvPlan::attempts`] order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SrvAttempt {
    /// The host to connect to: the SRV target (trailing dot dropped), or
    /// the domain itself for the fallback (RFC 8314 7.3 well-known ports).
    pub host: String,
    /// The port: the record's, or the well-known port of the fallback.
    pub port: u16,
    /// The mode to configure the client with (RFC 8314 3 for
    /// `_submissions`, RFC 6409 for `_submission`).
    pub mode: PortMode,
    /// Always [`TlsPolicy::Required`] (RFC 8314 3, 5.1: never plaintext
    /// submission).
    pub tls: TlsPolicy,
    /// The service this attempt comes from.
    pub service: SrvService,
    /// The record's priority and weight; `None` for the fallback to the
    /// domain on the well-known port (no usable SRV record, RFC 6186 3.4).
    pub srv: Option<(u16, u16)>,
}

/// The ordered attempts of [`srv_plan`], with the records it left out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SrvPlan {
    /// Where to connect, in order; the driver tries each until one works.
    pub attempts: Vec<SrvAttempt>,
    /// Records left out (bad target, port 0, a `.` among others).
    pub skipped: Vec<SkippedRecord>,
    /// Services whose only record had the target `.`: decidedly not
    /// available at this domain (RFC 2782), so no fallback for them either.
    pub unavailable: Vec<SrvService>,
}

/// Why [`srv_plan`] has no attempt at all.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SrvPlanError {
    /// The domain is not a valid host name (RFC 5321 4.1.2 `Domain`; an
    /// address literal has no SRV records).
    InvalidDomain,
    /// Every allowed service is unavailable (a sole `.` target, RFC 2782),
    /// or [`PlanOptions`] allows none. The plan says which were skipped.
    NotAvailable(SrvPlan),
}

impl core::fmt::Display for SrvPlanError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SrvPlanError::InvalidDomain => f.write_str("invalid submission domain"),
            SrvPlanError::NotAvailable(_) => {
                f.write_str("message submission is not available at this domain (RFC 6186)")
            }
        }
    }
}

impl core::error::Error for SrvPlanError {}

/// The root name `.` (some resolvers give it as the empty string): the
/// "service not available" target of RFC 2782.
fn is_root(target: &str) -> bool {
    target == "." || target.is_empty()
}

/// A host name as SRV targets and submission domains must be: a valid
/// `Domain` (RFC 5321 4.1.2), not an address literal; the trailing dot
/// dropped.
fn host_name(s: &str) -> Option<&str> {
    let d = s.strip_suffix('.').unwrap_or(s);
    let ok = !d.is_empty() && !d.starts_with('[') && Domain::parse(d.as_bytes(), true).is_ok();
    ok.then_some(d)
}

/// The submission plan from the RFC 6186 SRV records the driver looked up
/// for `domain` (`_submissions._tcp.<domain>` and `_submission._tcp.<domain>`,
/// see [`SrvService::label`]), merged with the RFC 8314 5.1 preference:
///
/// * records are ordered by priority, lowest first, across both services
///   (RFC 6186 3.4, RFC 2782);
/// * at equal priority, implicit TLS (`_submissions`) comes before
///   STARTTLS (`_submission`) (RFC 8314 5.1, RFC 6186 3.4);
/// * within one priority and service, the order is weight-randomized as RFC
///   2782 describes: weight-0 records first, a uniform number between 0 and
///   the sum of the remaining weights picks the first record whose running
///   sum reaches it, repeatedly. The core reads no randomness: `random`
///   gives uniformly random `u32`s (scaled to the range needed without
///   modulo, so any value is safe; a constant makes the order
///   deterministic);
/// * a service whose only record has the target `.` is decidedly not
///   available (RFC 2782) and gets no attempt; other unusable records are
///   skipped and listed in [`SrvPlan::skipped`];
/// * when no usable record is left for any service, the plan falls back to
///   [`connection_plan`]: `domain` itself on the well-known ports (RFC 8314
///   7.3), for the services not declared unavailable.
///
/// [`PlanOptions`] removes a service entirely. Every attempt requires TLS.
/// RFC 6186 6 / RFC 7817: the driver verifies the server certificate
/// against `domain` (not the target, unless the SRV answer was
/// DNSSEC-validated). Pure logic, no panic on any input; O(n²) in the
/// number of records of one priority.
pub fn srv_plan(
    domain: &str,
    allow: PlanOptions,
    submissions: &[SrvRecord],
    submission: &[SrvRecord],
    mut random: impl FnMut() -> u32,
) -> Result<SrvPlan, SrvPlanError> {
    let domain = host_name(domain).ok_or(SrvPlanError::InvalidDomain)?;
    let mut plan = SrvPlan::default();
    // (service, record) still usable, in input order per service.
    let mut usable: Vec<(SrvService, &SrvRecord)> = Vec::new();
    let mut allowed = Vec::new();
    for (service, records, on) in [
        (SrvService::Submissions, submissions, allow.implicit_tls),
        (SrvService::Submission, submission, allow.starttls),
    ] {
        if !on {
            continue;
        }
        if let [only] = records {
            if is_root(&only.target) {
                plan.unavailable.push(service);
                continue;
            }
        }
        allowed.push(service);
        for (index, r) in records.iter().enumerate() {
            let reason = if is_root(&r.target) {
                Some(SrvRecordError::DotAmongOthers)
            } else if host_name(&r.target).is_none() {
                Some(SrvRecordError::InvalidTarget)
            } else if r.port == 0 {
                Some(SrvRecordError::PortZero)
            } else {
                None
            };
            match reason {
                Some(reason) => plan.skipped.push(SkippedRecord {
                    service,
                    index,
                    reason,
                }),
                None => usable.push((service, r)),
            }
        }
    }
    if usable.is_empty() {
        for service in allowed {
            plan.attempts.push(SrvAttempt {
                host: String::from(domain),
                port: service.mode().default_port(),
                mode: service.mode(),
                tls: TlsPolicy::Required,
                service,
                srv: None,
            });
        }
    } else {
        // Stable: input order is kept inside each (priority, service) group.
        usable.sort_by_key(|(s, r)| (r.priority, *s));
        let mut rest = usable.as_slice();
        while let Some((first, _)) = rest.split_first() {
            let key = (first.1.priority, first.0);
            let n = rest
                .iter()
                .take_while(|(s, r)| (r.priority, *s) == key)
                .count();
            let (group, tail) = rest.split_at(n);
            weighted_order(group, &mut random, &mut plan.attempts);
            rest = tail;
        }
    }
    if plan.attempts.is_empty() {
        return Err(SrvPlanError::NotAvailable(plan));
    }
    Ok(plan)
}

/// RFC 2782's selection within one priority: weight-0 records first (in
/// input order), then repeatedly a uniform number in `0..=sum` picks the
/// first record whose running weight sum is at least that number.
fn weighted_order(
    group: &[(SrvService, &SrvRecord)],
    random: &mut impl FnMut() -> u32,
    out: &mut Vec<SrvAttempt>,
) {
    let mut left: Vec<&(SrvService, &SrvRecord)> =
        group.iter().filter(|e| e.1.weight == 0).collect();
    left.extend(group.iter().filter(|e| e.1.weight != 0));
    while !left.is_empty() {
        let sum: u64 = left.iter().map(|e| u64::from(e.1.weight)).sum();
        // A uniform u32 scaled to 0..=sum: (r * (sum + 1)) / 2^32, exact in
        // u128 and always <= sum.
        let pick = ((u128::from(random()) * u128::from(sum + 1)) >> 32) as u64;
        let mut running = 0u64;
        let mut chosen = left.len() - 1;
        for (i, e) in left.iter().enumerate() {
            running += u64::from(e.1.weight);
            if running >= pick {
                chosen = i;
                break;
            }
        }
        let (service, r) = *left.remove(chosen);
        out.push(SrvAttempt {
            host: String::from(r.target.strip_suffix('.').unwrap_or(&r.target)),
            port: r.port,
            mode: service.mode(),
            tls: TlsPolicy::Required,
            service,
            srv: Some((r.priority, r.weight)),
        });
    }
}
