//! Mailboxes, domains, address literals and paths (RFC 5321 4.1.2, 4.1.3;
//! RFC 6531 3.3 for SMTPUTF8).
//!
//! Every type borrows the bytes of the line it was parsed from and keeps
//! them exactly as sent; decoded and canonical forms are computed on demand.

use alloc::borrow::Cow;

/// A domain or an address literal, exactly as sent (RFC 5321 4.1.2
/// `Domain / address-literal`). Validated when parsed; for SMTPUTF8 sessions
/// a domain may hold UTF-8 U-labels (RFC 6531 3.3).
///
/// Equality is ASCII case-insensitive (RFC 5321 2.4).
#[derive(Clone, Copy)]
pub struct Domain<'a>(pub(crate) &'a [u8]);

/// A parsed address literal (RFC 5321 4.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressLiteral<'a> {
    /// `[IPv4]`; leading zeros in an octet are accepted.
    Ipv4(core::net::Ipv4Addr),
    /// `[IPv6:...]` in any of the four forms of RFC 5321 4.1.3.
    Ipv6(core::net::Ipv6Addr),
    /// `[tag:content]` (General-address-literal).
    General {
        /// Standardized-tag, as sent.
        tag: &'a [u8],
        /// dcontent, as sent.
        content: &'a [u8],
    },
}

/// The local part of a mailbox as sent: a Dot-string or a Quoted-string
/// with its quotes (RFC 5321 4.1.2).
///
/// Equality compares the canonical form (minimal quoting, RFC 5321 4.1.2:
/// "all quoted forms MUST be treated as equivalent"); local parts are case
/// sensitive.
#[derive(Clone, Copy)]
pub struct LocalPart<'a>(pub(crate) &'a [u8]);

/// `Local-part "@" ( Domain / address-literal )` (RFC 5321 4.1.2).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Mailbox<'a> {
    /// The local part, as sent.
    pub local: LocalPart<'a>,
    /// The domain or address literal, as sent.
    pub domain: Domain<'a>,
}

/// The argument of MAIL FROM (RFC 5321 4.1.1.2 `Reverse-path`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReversePath<'a> {
    /// `<>`: the null reverse path (bounces, RFC 5321 4.5.5).
    Null,
    /// A mailbox; any source route was dropped (RFC 5321 Appendix C).
    Mailbox(Mailbox<'a>),
}

/// The argument of RCPT TO (RFC 5321 4.1.1.3 `Forward-path`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardPath<'a> {
    /// `<Postmaster>` in any case, without a domain (RFC 5321 4.1.1.3).
    Postmaster,
    /// A mailbox; any source route was dropped (RFC 5321 Appendix C).
    Mailbox(Mailbox<'a>),
}

/// Writes bytes for `Debug`: printable ASCII as is, the rest escaped.
pub(crate) fn debug_bytes(f: &mut core::fmt::Formatter<'_>, b: &[u8]) -> core::fmt::Result {
    use core::fmt::Write;
    f.write_char('"')?;
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' | '\\' => write!(f, "\\{c}")?,
                c if c.is_control() => write!(f, "{}", c.escape_default())?,
                c => f.write_char(c)?,
            }
        }
        for byte in chunk.invalid() {
            write!(f, "\\x{byte:02X}")?;
        }
    }
    f.write_char('"')
}

impl<'a> Domain<'a> {
    /// The domain or address literal exactly as sent.
    #[inline]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Whether this is an address literal (`[...]`, RFC 5321 4.1.3).
    #[inline]
    pub fn is_literal(&self) -> bool {
        self.0.first() == Some(&b'[')
    }
}

impl PartialEq for Domain<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}
impl Eq for Domain<'_> {}

impl core::fmt::Debug for Domain<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        debug_bytes(f, self.0)
    }
}

impl<'a> LocalPart<'a> {
    /// The local part exactly as sent (quotes included for a Quoted-string).
    #[inline]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Whether the local part was sent as a Quoted-string.
    #[inline]
    pub fn is_quoted(&self) -> bool {
        self.0.first() == Some(&b'"')
    }

    /// The decoded local part: quotes removed and quoted-pairs resolved
    /// (RFC 5321 4.1.2). Borrows when nothing needs decoding.
    pub fn decoded(&self) -> Cow<'a, [u8]> {
        if !self.is_quoted() {
            return Cow::Borrowed(self.0);
        }
        let inner = &self.0[1..self.0.len().saturating_sub(1).max(1)];
        if !inner.contains(&b'\\') {
            return Cow::Borrowed(inner);
        }
        let mut out = alloc::vec::Vec::with_capacity(inner.len());
        let mut escaped = false;
        for &b in inner {
            if escaped || b != b'\\' {
                out.push(b);
                escaped = false;
            } else {
                escaped = true;
            }
        }
        Cow::Owned(out)
    }
}

impl PartialEq for LocalPart<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.decoded() == other.decoded()
    }
}
impl Eq for LocalPart<'_> {}

impl core::fmt::Debug for LocalPart<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        debug_bytes(f, self.0)
    }
}

impl core::fmt::Debug for Mailbox<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Mailbox({:?}@{:?})", self.local, self.domain)
    }
}
