//! The server's configuration (RFC 5321 4.5.3 limits, RFC 3207, RFC 4954,
//! RFC 6409, RFC 8314 defaults per port mode).

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::ext::Extensions;
use crate::limits::Limits;
use crate::mode::PortMode;
use crate::options::{Lenient, LineEndingPolicy};
use crate::proxy::ProxyConfig;
use crate::reply::OwnedReply;
use crate::sasl::Mechanism;

use super::reply::ReplyKind;

/// Server configuration: each field defaults from the [`PortMode`] and the
/// RFCs (see [`ServerConfig::new`]).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use smtp_sansio::{PortMode, Server, ServerConfig};
///
/// // Submission on 587: STARTTLS (the driver runs TLS), AUTH required.
/// let mut cfg = ServerConfig::new(PortMode::Submission, "mail.example.net").with_tls();
/// cfg.limits.message_size = 25 * 1024 * 1024;
/// cfg.limits.recipients = 50;
/// assert!(cfg.require_tls && cfg.require_auth);
///
/// // One shared copy for every connection of the listener.
/// let shared = Arc::new(cfg);
/// let a = Server::new(shared.clone());
/// let b = Server::new(shared);
/// assert_eq!(a.config().limits.recipients, b.config().limits.recipients);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The port mode.
    pub mode: PortMode,
    /// The server's name, in the greeting and the EHLO reply (RFC 5321 4.2).
    pub hostname: String,
    /// Limits (lines, paths, message size, recipients).
    pub limits: Limits,
    /// Extensions advertised in the EHLO reply besides STARTTLS and AUTH,
    /// which follow from the fields below and the TLS state. REQUIRETLS is
    /// advertised only under TLS (RFC 8689 4).
    pub extensions: Extensions,
    /// Offer STARTTLS while TLS is not active (RFC 3207 4), when the
    /// driver can run the handshake ([`ServerConfig::tls_available`]).
    /// Ignored in implicit TLS mode.
    pub starttls: bool,
    /// The driver can run a TLS handshake when the machine asks for one
    /// ([`ServerEvent::StartTls`](crate::ServerEvent::StartTls)). Off by
    /// default: STARTTLS (RFC 3207 4) is offered only when this and
    /// [`ServerConfig::starttls`] are both set, so a driver without TLS
    /// never answers `220` to STARTTLS and then reads the client's TLS
    /// ClientHello as commands. Set it with [`ServerConfig::with_tls`].
    ///
    /// Without it, STARTTLS is answered `502 5.5.1` like any command not
    /// offered, and a ClientHello that arrives anyway is reported as
    /// [`Violation::TlsHandshakeAsCommand`](crate::Violation::TlsHandshakeAsCommand)
    /// (or [`Violation::TlsNotUpgraded`](crate::Violation::TlsNotUpgraded)
    /// after a `220` to STARTTLS), naming the cause, and the session closes.
    ///
    /// Submission without TLS: [`ServerConfig::require_tls`] stays on
    /// (RFC 8314 3, RFC 6409 4.3: submission credentials and mail need
    /// TLS), so MAIL and the rest are refused with `530 5.7.0` (RFC 3207 4)
    /// and no AUTH mechanism carrying a password is offered (RFC 4954 4):
    /// such a server accepts no mail. Clear `require_tls` (and set
    /// [`ServerConfig::plaintext_auth_without_tls`]) deliberately to run
    /// one in the clear, e.g. on loopback. Ignored in implicit TLS mode,
    /// where the driver runs TLS before the first byte (RFC 8314 3.3).
    pub tls_available: bool,
    /// Refuse everything but EHLO, HELO, STARTTLS, NOOP, RSET, QUIT and
    /// HELP with 530 5.7.0 until TLS is active (RFC 3207 4).
    pub require_tls: bool,
    /// Refuse MAIL with 530 5.7.0 until AUTH succeeded (RFC 4954 6).
    pub require_auth: bool,
    /// SASL mechanisms offered, in this order. Empty: no AUTH.
    pub mechanisms: Vec<Mechanism>,
    /// Offer mechanisms that carry a password or token in the clear
    /// ([`Mechanism::is_plaintext`]) without TLS. Off by default
    /// (RFC 4954 4: SHOULD NOT; RFC 6409 4.3).
    pub plaintext_auth_without_tls: bool,
    /// Bare LF / bare CR policy for commands and content (RFC 5321 2.3.8).
    pub line_ending: LineEndingPolicy,
    /// Lenient command syntax options (all off by default).
    pub lenient: Lenient,
    /// Refuse a command received behind a group-ending command before that
    /// command's reply went out with 554 5.5.0 and close (RFC 2920 3.1,
    /// RFC 3207 4, RFC 4954 4). On by default.
    pub pipelining_sync: bool,
    /// Refuse input received before the greeting was sent (554 5.5.0 and
    /// close). Off by default.
    pub early_talker: bool,
    /// Expect a PROXY protocol header (HAProxy, "The PROXY protocol,
    /// Versions 1 & 2", section 2) before the greeting, with these
    /// versions and version 2 length bound. `None` by default: no header
    /// is expected, and a `PROXY ...` line is an ordinary unknown command.
    ///
    /// When set, the machine reads the header first (section 2: the
    /// receiver is configured, it never guesses) and reports it as
    /// [`ServerEvent::Proxy`](crate::ServerEvent::Proxy) before
    /// [`ServerEvent::Connected`](crate::ServerEvent::Connected). A
    /// malformed, refused or overlong header, EOF or a timeout before the
    /// header is complete close the connection without a greeting and
    /// without any output (section 2.1: the receiver must abort), reported
    /// as [`Violation::ProxyHeader`](crate::Violation::ProxyHeader),
    /// [`Violation::ProxyHeaderIncomplete`](crate::Violation::ProxyHeaderIncomplete)
    /// or [`Violation::ProxyHeaderTimeout`](crate::Violation::ProxyHeaderTimeout).
    /// The timeout is the initial 220 timeout of RFC 5321 4.5.3.2.1
    /// (5 minutes). Bytes after the header are commands, read after the
    /// greeting (and refused under [`ServerConfig::early_talker`]).
    pub proxy: Option<ProxyConfig>,
    /// Hand MAIL and RCPT parameters this crate does not know to the
    /// application (through `MailParams::unknown`) instead of refusing them
    /// with 555 5.5.4 (RFC 5321 4.1.1.11). Off by default.
    pub accept_unknown_parameters: bool,
    /// Replacements for the machine's own replies (see
    /// [`ReplyKind`] for each default). Empty by default.
    pub replies: Vec<(ReplyKind, OwnedReply)>,
    /// Errors (4xx/5xx replies to bad commands) before the server answers
    /// 421 4.7.0 and closes.
    pub max_errors: usize,
    /// Failed AUTH attempts before 421 4.7.0 and close.
    pub max_auth_failures: usize,
    /// The explorer's self-test only (feature `mutants`): a rule to run
    /// without. Empty and zero-sized otherwise.
    #[doc(hidden)]
    pub mutant: crate::mutants::MutantSlot,
}

impl ServerConfig {
    /// The defaults for `mode` (STARTTLS is offered only when the driver
    /// can do TLS: [`ServerConfig::with_tls`]):
    ///
    /// | mode | STARTTLS (with TLS) | require TLS | AUTH offered | require AUTH |
    /// | --- | --- | --- | --- | --- |
    /// | relay | yes | no | none | no |
    /// | submission | yes | yes | PLAIN LOGIN, after TLS | yes |
    /// | implicit TLS | never | (TLS is up) | PLAIN LOGIN | yes |
    /// | LMTP | no | no | none | no |
    ///
    /// # Examples
    ///
    /// ```
    /// use smtp_sansio::{PortMode, ServerConfig};
    ///
    /// // A relay whose driver runs STARTTLS, with a 10 MB size limit.
    /// let mut cfg = ServerConfig::new(PortMode::Relay, "mx.example.net").with_tls();
    /// cfg.limits.message_size = 10_000_000;
    /// assert!(cfg.starttls && cfg.tls_available && !cfg.require_tls);
    ///
    /// // Without `with_tls`, STARTTLS is not offered.
    /// assert!(!ServerConfig::new(PortMode::Relay, "mx.example.net").tls_available);
    /// ```
    pub fn new(mode: PortMode, hostname: impl Into<String>) -> Self {
        let submission = matches!(mode, PortMode::Submission | PortMode::ImplicitTls);
        ServerConfig {
            mode,
            hostname: hostname.into(),
            limits: Limits::RFC,
            extensions: Extensions::PIPELINING
                | Extensions::SIZE
                | Extensions::EIGHT_BIT_MIME
                | Extensions::BINARY_MIME
                | Extensions::CHUNKING
                | Extensions::DSN
                | Extensions::ENHANCED_STATUS_CODES
                | Extensions::SMTPUTF8
                | Extensions::REQUIRETLS,
            starttls: matches!(mode, PortMode::Relay | PortMode::Submission),
            tls_available: false,
            require_tls: matches!(mode, PortMode::Submission),
            require_auth: submission,
            mechanisms: if submission {
                vec![Mechanism::Plain, Mechanism::Login]
            } else {
                Vec::new()
            },
            plaintext_auth_without_tls: false,
            line_ending: LineEndingPolicy::Reject,
            lenient: Lenient::default(),
            pipelining_sync: true,
            early_talker: false,
            proxy: None,
            accept_unknown_parameters: false,
            replies: Vec::new(),
            max_errors: 20,
            max_auth_failures: 3,
            mutant: crate::mutants::MutantSlot::NONE,
        }
    }

    /// The driver can run a TLS handshake: sets
    /// [`ServerConfig::tls_available`], so STARTTLS is offered where the
    /// mode's default ([`ServerConfig::starttls`]) says so (RFC 3207 4).
    ///
    /// ```
    /// use smtp_sansio::{PortMode, Server, ServerConfig};
    ///
    /// let mut server = Server::new(ServerConfig::new(PortMode::Submission, "mx").with_tls());
    /// server.next_event(); // Connected
    /// server.accept();
    /// server.receive(b"EHLO client.example\r\n");
    /// while let Some(ev) = server.next_event() {
    ///     if ev.needs_decision() {
    ///         server.accept();
    ///     }
    /// }
    /// let mut out = Vec::new();
    /// server.transmit(&mut out);
    /// assert!(out.windows(8).any(|w| w == b"STARTTLS"));
    /// ```
    #[must_use]
    pub fn with_tls(mut self) -> Self {
        self.tls_available = true;
        self
    }
}
