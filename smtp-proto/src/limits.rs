//! Configurable limits, each defaulting to the RFC value.
//!
//! RFC 5321 section 4.5.3.1 gives the minimum sizes an implementation must
//! accept; the extension RFCs raise the command-line limit by fixed
//! increments (RFC 1870 section 3, RFC 3461 section 4, RFC 4954 section 5,
//! RFC 8689 section 2, RFC 6710 section 4, RFC 2852 section 4) and RFC 4954
//! section 4 sets the AUTH line limit to 12288 octets.

/// Size limits applied by the framers, parsers and state machines.
///
/// All lengths are in octets and, for lines, include the terminating CRLF
/// (RFC 5321 section 4.5.3.1.4: "The maximum total length of a command line
/// including the command word and the `<CRLF>` is 512 octets").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Command line, CRLF included, before extension increments (RFC 5321 4.5.3.1.4).
    pub command_line: usize,
    /// Reply line, CRLF included (RFC 5321 4.5.3.1.5).
    pub reply_line: usize,
    /// Lines in one multi-line reply (not fixed by an RFC; bounds memory).
    pub reply_lines: usize,
    /// Text line of message content, CRLF included (RFC 5321 4.5.3.1.6).
    pub text_line: usize,
    /// Local part of a mailbox (RFC 5321 4.5.3.1.1).
    pub local_part: usize,
    /// Domain name or address literal (RFC 5321 4.5.3.1.2).
    pub domain: usize,
    /// Reverse or forward path, angle brackets included (RFC 5321 4.5.3.1.3).
    pub path: usize,
    /// AUTH command line and SASL response lines, CRLF included (RFC 4954 4).
    pub auth_line: usize,
    /// Message size accepted by a server; also the SIZE it advertises (RFC 1870).
    pub message_size: u64,
    /// Recipients per transaction (RFC 5321 4.5.3.1.8 requires at least 100).
    pub recipients: usize,
    /// Whether the content decoder enforces `text_line` (off by default:
    /// RFC 5321 4.5.3.1 only requires accepting at least that length).
    pub enforce_text_line: bool,
}

impl Limits {
    /// The RFC values: 512-octet command and reply lines, 1000-octet text
    /// lines, local part 64, domain 255, path 256, AUTH lines 12288, 100
    /// recipients (RFC 5321 4.5.3.1, RFC 4954 4), a 10 MiB message.
    pub const RFC: Limits = Limits {
        command_line: 512,
        reply_line: 512,
        reply_lines: 256,
        text_line: 1000,
        local_part: 64,
        domain: 255,
        path: 256,
        auth_line: 12288,
        message_size: 10 * 1024 * 1024,
        recipients: 100,
        enforce_text_line: false,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::RFC
    }
}

/// Extra octets a MAIL command line may carry when SIZE is in use (RFC 1870 3).
pub const MAIL_INCREMENT_SIZE: usize = 26;
/// Extra octets for MAIL (RET, ENVID) when DSN is in use (RFC 3461 4: "the
/// maximum length of a MAIL FROM command line is increased by 110 characters").
pub const MAIL_INCREMENT_DSN: usize = 110;
/// Extra octets for RCPT (NOTIFY, ORCPT) when DSN is in use (RFC 3461 4).
pub const RCPT_INCREMENT_DSN: usize = 500;
/// Extra octets for MAIL (the AUTH= parameter) when AUTH is in use (RFC 4954 5).
pub const MAIL_INCREMENT_AUTH: usize = 500;
/// Extra octets for MAIL (REQUIRETLS) when REQUIRETLS is in use (RFC 8689 2).
pub const MAIL_INCREMENT_REQUIRETLS: usize = 11;
/// Extra octets for MAIL (MT-PRIORITY=) when MT-PRIORITY is in use (RFC 6710 4).
pub const MAIL_INCREMENT_MT_PRIORITY: usize = 16;
/// Extra octets for MAIL (BY=) when DELIVERBY is in use (RFC 2852 4).
pub const MAIL_INCREMENT_DELIVERBY: usize = 17;
/// Extra octets for MAIL (SMTPUTF8) when SMTPUTF8 is in use (RFC 6531 3.4 uses 10).
pub const MAIL_INCREMENT_SMTPUTF8: usize = 10;
/// Extra octets for MAIL (HOLDFOR/HOLDUNTIL) when FUTURERELEASE is in use (RFC 4865 4).
pub const MAIL_INCREMENT_FUTURERELEASE: usize = 40;
/// Extra octets for RCPT (RRVS=) when RRVS is in use (RFC 7293 3.1 allows 31).
pub const RCPT_INCREMENT_RRVS: usize = 31;
