//! Port modes and the policies that follow from them (RFC 5321 relay on
//! port 25, RFC 6409 + RFC 3207 submission on port 587, RFC 8314 implicit
//! TLS on port 465, RFC 2033 LMTP).

/// How a listener is used; each mode fixes what is offered and required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortMode {
    /// Port 25 MTA relay (RFC 5321): STARTTLS offered opportunistically
    /// (RFC 3207), no AUTH by default, MAIL needs no AUTH.
    Relay,
    /// Port 587 message submission (RFC 6409): STARTTLS required before
    /// anything but EHLO/HELO/STARTTLS/NOOP/RSET/QUIT/HELP (RFC 3207 4),
    /// AUTH offered only under TLS and required for MAIL (RFC 6409 4.3,
    /// RFC 4954 4).
    Submission,
    /// Port 465 submission over implicit TLS (RFC 8314 3.3): TLS from the
    /// first byte, STARTTLS never offered, AUTH offered at once and
    /// required for MAIL.
    ImplicitTls,
    /// LMTP (RFC 2033): LHLO instead of EHLO, one reply per accepted
    /// recipient after the content; no TLS or AUTH required.
    Lmtp,
}

impl PortMode {
    /// The port the mode is registered for (RFC 5321, RFC 6409, RFC 8314;
    /// LMTP has none, 24 is the conventional one).
    pub const fn default_port(self) -> u16 {
        match self {
            PortMode::Relay => 25,
            PortMode::Submission => 587,
            PortMode::ImplicitTls => 465,
            PortMode::Lmtp => 24,
        }
    }

    /// Whether TLS is up before the first byte (RFC 8314 3.3).
    pub const fn implicit_tls(self) -> bool {
        matches!(self, PortMode::ImplicitTls)
    }
}
