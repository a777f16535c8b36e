//! MAIL and RCPT parameters (RFC 5321 4.1.2 `Mail-parameters`,
//! `Rcpt-parameters`) and xtext (RFC 3461 4).

/// An xtext value as sent (RFC 3461 4): `+HH` escapes are decoded on demand.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct XText<'a>(pub(crate) &'a [u8]);

/// `BODY=` (RFC 6152 3, RFC 3030 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// `7BIT`.
    SevenBit,
    /// `8BITMIME` (RFC 6152).
    EightBitMime,
    /// `BINARYMIME` (RFC 3030): content must go with BDAT.
    BinaryMime,
}

/// `RET=` (RFC 3461 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// `FULL`.
    Full,
    /// `HDRS`.
    Hdrs,
}

/// The `AUTH=` MAIL parameter (RFC 4954 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailAuth<'a> {
    /// `AUTH=<>`: the submitter is not known or not trusted.
    Unknown,
    /// An xtext-encoded mailbox.
    Mailbox(XText<'a>),
}

/// `HOLDFOR=` / `HOLDUNTIL=` (RFC 4865 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold<'a> {
    /// `HOLDFOR=` seconds.
    For(u64),
    /// `HOLDUNTIL=` an RFC 3339 date-time, as sent.
    Until(&'a [u8]),
}

/// `BY=` (RFC 2852 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverBy {
    /// by-time in seconds, may be negative in R mode (RFC 2852 4).
    pub time: i64,
    /// `N` (notify) or `R` (return).
    pub mode: ByMode,
    /// `T`: trace requested.
    pub trace: bool,
}

/// The by-mode of `BY=` (RFC 2852 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByMode {
    /// `N`: notify if the deadline passes.
    Notify,
    /// `R`: return the message if the deadline passes.
    Return,
}

/// `NOTIFY=` (RFC 3461 4.1): a set of conditions, or NEVER alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Notify(pub(crate) u8);

/// `ORCPT=` (RFC 3461 4.2; RFC 6533 for `utf-8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Orcpt<'a> {
    /// addr-type as sent (`rfc822`, `utf-8`, ...).
    pub addr_type: &'a [u8],
    /// The address, xtext (or utf-8-addr-xtext / unitext) encoded as sent.
    pub addr: XText<'a>,
}

/// `RRVS=` (RFC 7293 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rrvs<'a> {
    /// The date-time, as sent.
    pub time: &'a [u8],
    /// `;C` or `;R` if given.
    pub mode: Option<u8>,
}

/// One parameter, raw (RFC 5321 4.1.2 `esmtp-param`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// esmtp-keyword as sent.
    pub keyword: &'a [u8],
    /// esmtp-value as sent, if `=` was present.
    pub value: Option<&'a [u8]>,
}

/// The parameters of a MAIL command (RFC 5321 4.1.1.2 and the extension RFCs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MailParams<'a> {
    /// `SIZE=` (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152, RFC 3030).
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531 3.4).
    pub smtputf8: bool,
    /// `RET=` (RFC 3461 4.3).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461 4.4).
    pub envid: Option<XText<'a>>,
    /// `AUTH=` (RFC 4954 5).
    pub auth: Option<MailAuth<'a>>,
    /// `REQUIRETLS` (RFC 8689 2).
    pub requiretls: bool,
    /// `MT-PRIORITY=` (RFC 6710).
    pub mt_priority: Option<i8>,
    /// `HOLDFOR=` / `HOLDUNTIL=` (RFC 4865).
    pub hold: Option<Hold<'a>>,
    /// `BY=` (RFC 2852).
    pub by: Option<DeliverBy>,
    /// The whole parameter text as sent (after the path), for iterating
    /// every parameter in wire order, unknown ones included.
    pub(crate) raw: &'a [u8],
}

/// The parameters of a RCPT command (RFC 5321 4.1.1.3 and the extension RFCs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RcptParams<'a> {
    /// `NOTIFY=` (RFC 3461 4.1).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461 4.2).
    pub orcpt: Option<Orcpt<'a>>,
    /// `RRVS=` (RFC 7293).
    pub rrvs: Option<Rrvs<'a>>,
    /// The whole parameter text as sent.
    pub(crate) raw: &'a [u8],
}

impl<'a> XText<'a> {
    /// The value exactly as sent.
    #[inline]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl core::fmt::Debug for XText<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        crate::address::debug_bytes(f, self.0)
    }
}
