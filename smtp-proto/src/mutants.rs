//! Deliberately broken security rules, for the explorer's self-test only.
//!
//! A check that cannot fail proves nothing: the `explore --self-test` binary
//! of the tests crate builds the core with the `mutants` cargo feature and
//! runs the exhaustive exploration once per [`Mutant`], each time with one
//! rule disabled through [`MutantSlot`], and expects a violation.
//!
//! Without the feature a [`MutantSlot`] is a zero-sized value whose
//! [`MutantSlot::is`] is always `false`, so the checks compile to the
//! unmutated code. Never enable the feature outside that self-test.

/// One security rule the machines enforce, named so that it can be
/// disabled in a self-test build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutant {
    /// Server: bytes behind STARTTLS (or before `tls_established`) are
    /// executed (RFC 3207 4, CVE-2011-0411 class).
    StartTlsInjection,
    /// Server: MAIL is accepted before AUTH where AUTH is required
    /// (RFC 4954 6, RFC 6409 4.3).
    AuthBeforeMail,
    /// Server: AUTH is offered and accepted in plaintext where TLS is
    /// required first (RFC 4954 4, RFC 3207 4).
    TlsBeforeAuth,
    /// Server: AUTH is accepted for a mechanism that was not offered
    /// (RFC 4954 4).
    AuthNotOffered,
    /// Server: a refused BDAT with a known size does not skip its chunk
    /// (RFC 3030 2).
    BdatChunkSkip,
    /// Server: a BDAT line whose size cannot be known does not end the
    /// session (RFC 3030 2).
    BdatUnframable,
    /// Server: commands pipelined behind a group-ending command are not
    /// refused (RFC 2920 3.1).
    PipeliningSync,
    /// Server: the greeting goes out before the expected PROXY protocol
    /// header was read (PROXY protocol section 2).
    ProxyHeader,
    /// Server: a malformed or missing PROXY protocol header does not end
    /// the connection; the server greets and reads on (PROXY protocol
    /// section 2.1: the receiver must abort).
    ProxyMalformed,
    /// Client: MAIL, AUTH or content is sent without TLS where the policy
    /// requires TLS (RFC 3207 4, RFC 8314).
    ClientTlsRequired,
    /// Client: bytes after the 220 to STARTTLS are taken as replies
    /// (response injection, RFC 3207 4).
    ClientResponseInjection,
    /// Client: a "too many recipients" reply to the first RCPT of a fresh
    /// transaction defers the recipients to yet another transaction (a
    /// loop; RFC 5321 4.5.3.1.10).
    ClientSplitLoop,
}

impl Mutant {
    /// Every mutant, in a fixed order.
    pub const ALL: [Mutant; 12] = [
        Mutant::StartTlsInjection,
        Mutant::AuthBeforeMail,
        Mutant::TlsBeforeAuth,
        Mutant::AuthNotOffered,
        Mutant::BdatChunkSkip,
        Mutant::BdatUnframable,
        Mutant::PipeliningSync,
        Mutant::ProxyHeader,
        Mutant::ProxyMalformed,
        Mutant::ClientTlsRequired,
        Mutant::ClientResponseInjection,
        Mutant::ClientSplitLoop,
    ];

    /// Whether the mutant breaks a server rule (else a client rule).
    pub const fn is_server(self) -> bool {
        !matches!(
            self,
            Mutant::ClientTlsRequired | Mutant::ClientResponseInjection | Mutant::ClientSplitLoop
        )
    }
}

/// Which rule (if any) a machine runs without. Zero-sized and always empty
/// without the `mutants` feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MutantSlot {
    #[cfg(feature = "mutants")]
    active: Option<Mutant>,
}

impl MutantSlot {
    /// No rule disabled.
    pub const NONE: MutantSlot = MutantSlot {
        #[cfg(feature = "mutants")]
        active: None,
    };

    /// A slot that disables `m` (only with the `mutants` feature).
    #[cfg(feature = "mutants")]
    pub const fn with(m: Mutant) -> MutantSlot {
        MutantSlot { active: Some(m) }
    }

    /// Whether rule `m` is disabled. Always `false` without the feature.
    #[inline(always)]
    pub fn is(self, m: Mutant) -> bool {
        #[cfg(feature = "mutants")]
        {
            self.active == Some(m)
        }
        #[cfg(not(feature = "mutants"))]
        {
            let _ = m;
            false
        }
    }
}
