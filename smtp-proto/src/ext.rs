//! The set of ESMTP service extensions in effect for a session.
//!
//! A server fills it from what it advertises in its EHLO reply (RFC 5321
//! 4.1.1.1); a client fills it from what it read there. Parsers use it as
//! context: a parameter of an extension that is not in effect is refused,
//! and the command-line limit grows by the increments the extensions in
//! effect require.

use crate::limits::*;

/// A set of ESMTP extensions, as bit flags (RFC 5321 2.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Extensions(u32);

macro_rules! extensions {
    ($($(#[$doc:meta])* $name:ident = $bit:expr, $kw:literal;)*) => {
        impl Extensions {
            $($(#[$doc])* pub const $name: Extensions = Extensions(1 << $bit);)*
            /// Every extension this crate knows.
            pub const ALL: Extensions = Extensions(0 $(| (1 << $bit))*);
            /// EHLO keywords of the known extensions, in bit order.
            const NAMES: &'static [(Extensions, &'static str)] = &[$((Extensions::$name, $kw)),*];
        }
    };
}

extensions! {
    /// SIZE, RFC 1870.
    SIZE = 0, "SIZE";
    /// 8BITMIME, RFC 6152.
    EIGHT_BIT_MIME = 1, "8BITMIME";
    /// BINARYMIME, RFC 3030.
    BINARY_MIME = 2, "BINARYMIME";
    /// CHUNKING (BDAT), RFC 3030.
    CHUNKING = 3, "CHUNKING";
    /// PIPELINING, RFC 2920.
    PIPELINING = 4, "PIPELINING";
    /// SMTPUTF8, RFC 6531.
    SMTPUTF8 = 5, "SMTPUTF8";
    /// DSN, RFC 3461.
    DSN = 6, "DSN";
    /// ENHANCEDSTATUSCODES, RFC 2034.
    ENHANCED_STATUS_CODES = 7, "ENHANCEDSTATUSCODES";
    /// STARTTLS, RFC 3207.
    STARTTLS = 8, "STARTTLS";
    /// AUTH, RFC 4954.
    AUTH = 9, "AUTH";
    /// REQUIRETLS, RFC 8689.
    REQUIRETLS = 10, "REQUIRETLS";
    /// MT-PRIORITY, RFC 6710.
    MT_PRIORITY = 11, "MT-PRIORITY";
    /// DELIVERBY, RFC 2852.
    DELIVERBY = 12, "DELIVERBY";
    /// FUTURERELEASE (HOLDFOR/HOLDUNTIL), RFC 4865.
    FUTURERELEASE = 13, "FUTURERELEASE";
    /// ETRN, RFC 1985.
    ETRN = 14, "ETRN";
    /// BURL, RFC 4468.
    BURL = 15, "BURL";
    /// RRVS, RFC 7293.
    RRVS = 16, "RRVS";
    /// VRFY offered as a keyword (RFC 5321 3.5.2).
    VRFY = 17, "VRFY";
    /// EXPN, RFC 5321 3.5.2.
    EXPN = 18, "EXPN";
    /// HELP, RFC 5321 4.1.1.8.
    HELP = 19, "HELP";
    /// LIMITS, RFC 9422.
    LIMITS = 20, "LIMITS";
}

impl Extensions {
    /// XCLIENT (Postfix XCLIENT_README): the command is parsed only when
    /// this bit is in effect. Opt-in: not part of [`Extensions::ALL`] and
    /// not listed by [`Extensions::iter`] (its EHLO keyword carries an
    /// attribute list and is offered only to authorized clients), so a
    /// set that holds it writes no keyword for it.
    pub const XCLIENT: Extensions = Extensions(1 << 30);
    /// XFORWARD (Postfix XFORWARD_README), opt-in like
    /// [`Extensions::XCLIENT`].
    pub const XFORWARD: Extensions = Extensions(1 << 31);
}

impl Extensions {
    /// The empty set.
    pub const NONE: Extensions = Extensions(0);

    /// Whether every extension of `other` is in `self`.
    #[inline]
    pub const fn contains(self, other: Extensions) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of both sets.
    #[inline]
    #[must_use]
    pub const fn union(self, other: Extensions) -> Extensions {
        Extensions(self.0 | other.0)
    }

    /// `self` without the extensions of `other`.
    #[inline]
    #[must_use]
    pub const fn without(self, other: Extensions) -> Extensions {
        Extensions(self.0 & !other.0)
    }

    /// Adds the extensions of `other`.
    #[inline]
    pub fn insert(&mut self, other: Extensions) {
        self.0 |= other.0;
    }

    /// Removes the extensions of `other`.
    #[inline]
    pub fn remove(&mut self, other: Extensions) {
        self.0 &= !other.0;
    }

    /// Whether the set is empty.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The raw bits.
    #[inline]
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The extension whose EHLO keyword is `keyword` (ASCII case-insensitive).
    pub fn from_keyword(keyword: &[u8]) -> Option<Extensions> {
        Self::NAMES
            .iter()
            .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(keyword))
            .map(|(e, _)| *e)
    }

    /// The EHLO keyword of a single extension.
    pub fn keyword(self) -> Option<&'static str> {
        Self::NAMES
            .iter()
            .find(|(e, _)| *e == self)
            .map(|(_, n)| *n)
    }

    /// Iterates over the single extensions in the set, in bit order.
    pub fn iter(self) -> impl Iterator<Item = Extensions> {
        Self::NAMES
            .iter()
            .map(|(e, _)| *e)
            .filter(move |e| self.contains(*e))
    }

    /// Longest MAIL command line, CRLF included, allowed with these
    /// extensions: the base limit plus the RFC increments.
    pub fn mail_line_limit(self, base: usize) -> usize {
        let mut n = base;
        for (ext, inc) in [
            (Extensions::SIZE, MAIL_INCREMENT_SIZE),
            (Extensions::DSN, MAIL_INCREMENT_DSN),
            (Extensions::AUTH, MAIL_INCREMENT_AUTH),
            (Extensions::REQUIRETLS, MAIL_INCREMENT_REQUIRETLS),
            (Extensions::MT_PRIORITY, MAIL_INCREMENT_MT_PRIORITY),
            (Extensions::DELIVERBY, MAIL_INCREMENT_DELIVERBY),
            (Extensions::SMTPUTF8, MAIL_INCREMENT_SMTPUTF8),
            (Extensions::FUTURERELEASE, MAIL_INCREMENT_FUTURERELEASE),
        ] {
            if self.contains(ext) {
                n += inc;
            }
        }
        n
    }

    /// Longest RCPT command line, CRLF included, allowed with these extensions.
    pub fn rcpt_line_limit(self, base: usize) -> usize {
        let mut n = base;
        if self.contains(Extensions::DSN) {
            n += RCPT_INCREMENT_DSN;
        }
        if self.contains(Extensions::RRVS) {
            n += RCPT_INCREMENT_RRVS;
        }
        n
    }
}

impl core::ops::BitOr for Extensions {
    type Output = Extensions;
    fn bitor(self, rhs: Extensions) -> Extensions {
        self.union(rhs)
    }
}

impl core::ops::BitOrAssign for Extensions {
    fn bitor_assign(&mut self, rhs: Extensions) {
        self.insert(rhs)
    }
}

impl core::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_set()
            .entries(self.iter().filter_map(Extensions::keyword))
            .finish()
    }
}
