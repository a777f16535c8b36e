//! SMTP commands: parse and encode (RFC 5321 4.1.1 and the extension RFCs).

use crate::address::{Domain, ForwardPath, ReversePath};
use crate::params::{MailParams, RcptParams};

/// One client command, borrowing the line it was parsed from
/// (RFC 5321 4.1.1, RFC 2033 4.1, RFC 3030 2, RFC 3207 4, RFC 4954 4,
/// RFC 1985, RFC 4468).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// `EHLO` (RFC 5321 4.1.1.1).
    Ehlo {
        /// Domain or address literal, as sent.
        domain: Domain<'a>,
    },
    /// `HELO` (RFC 5321 4.1.1.1).
    Helo {
        /// Domain (or address literal, accepted in practice), as sent.
        domain: Domain<'a>,
    },
    /// `LHLO` (RFC 2033 4.1).
    Lhlo {
        /// Domain or address literal, as sent.
        domain: Domain<'a>,
    },
    /// `MAIL FROM:` (RFC 5321 4.1.1.2).
    Mail {
        /// The reverse path.
        from: ReversePath<'a>,
        /// Its parameters.
        params: MailParams<'a>,
    },
    /// `RCPT TO:` (RFC 5321 4.1.1.3).
    Rcpt {
        /// The forward path.
        to: ForwardPath<'a>,
        /// Its parameters.
        params: RcptParams<'a>,
    },
    /// `DATA` (RFC 5321 4.1.1.4).
    Data,
    /// `BDAT size [LAST]` (RFC 3030 2).
    Bdat {
        /// Chunk size in octets.
        size: u64,
        /// `LAST` was given.
        last: bool,
    },
    /// `RSET` (RFC 5321 4.1.1.5).
    Rset,
    /// `NOOP [String]` (RFC 5321 4.1.1.9).
    Noop {
        /// The argument, as sent.
        arg: Option<&'a [u8]>,
    },
    /// `QUIT` (RFC 5321 4.1.1.10).
    Quit,
    /// `VRFY String [SMTPUTF8]` (RFC 5321 4.1.1.6, RFC 6531 3.7.4.2).
    Vrfy {
        /// The argument, as sent.
        arg: &'a [u8],
        /// The SMTPUTF8 parameter was given.
        smtputf8: bool,
    },
    /// `EXPN String [SMTPUTF8]` (RFC 5321 4.1.1.7, RFC 6531 3.7.4.2).
    Expn {
        /// The argument, as sent.
        arg: &'a [u8],
        /// The SMTPUTF8 parameter was given.
        smtputf8: bool,
    },
    /// `HELP [String]` (RFC 5321 4.1.1.8).
    Help {
        /// The argument, as sent.
        arg: Option<&'a [u8]>,
    },
    /// `STARTTLS` (RFC 3207 4).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954 4).
    Auth {
        /// The SASL mechanism name, as sent (compare case-insensitively).
        mechanism: &'a [u8],
        /// The initial response, base64 as sent; `=` stands for an empty one.
        initial_response: Option<&'a [u8]>,
    },
    /// `ETRN node` (RFC 1985).
    Etrn {
        /// The argument, as sent (with a leading `@` or `#` if given).
        node: &'a [u8],
    },
    /// `BURL url [LAST]` (RFC 4468 3).
    Burl {
        /// The URL, as sent.
        url: &'a [u8],
        /// `LAST` was given.
        last: bool,
    },
}
