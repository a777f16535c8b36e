//! The client's configuration (RFC 3207 and RFC 8314 TLS policy, RFC 4954
//! credentials and mechanisms, RFC 2920 pipelining, RFC 3030 chunking).

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use crate::address::Domain;
use crate::limits::Limits;
use crate::mode::PortMode;
use crate::options::LineEndingPolicy;
use crate::sasl::{Mechanism, Secret};

#[allow(unused_imports)]
use super::{Client, MessageError};

/// The client's STARTTLS policy (RFC 3207, RFC 8314, RFC 7672 2.2 for
/// opportunistic relay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsPolicy {
    /// No AUTH, MAIL or credentials without TLS: STARTTLS must be offered
    /// and must succeed, otherwise the session ends with a typed error
    /// before anything else is sent (RFC 3207 4.1, RFC 8314 3). The default
    /// for submission and implicit TLS.
    Required,
    /// STARTTLS when offered; a missing or refused STARTTLS leaves the
    /// session in plaintext (RFC 3207 4.1, RFC 7435). Allowed only for
    /// relay (port 25); the default there.
    Opportunistic,
    /// Never STARTTLS. Only when chosen explicitly; the default in LMTP.
    None,
}

/// Credentials for AUTH (RFC 4954). The secret is a password (PLAIN,
/// LOGIN) or a bearer token (XOAUTH2, OAUTHBEARER, RFC 7628).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The authentication identity (user name).
    pub user: String,
    /// Password or token; `Debug` does not print it.
    pub secret: Secret<String>,
    /// Authorization identity to act as (RFC 4616 2), if any.
    pub authzid: Option<String>,
}

impl ClientCredentials {
    /// Credentials for `user` with `secret` and no authorization identity.
    pub fn new(user: impl Into<String>, secret: impl Into<String>) -> Self {
        ClientCredentials {
            user: user.into(),
            secret: Secret::new(secret.into()),
            authzid: None,
        }
    }
}

/// Client configuration; [`ClientConfig::new`] gives the defaults of a
/// [`PortMode`]. [`Client::new`] checks it.
///
/// # Examples
///
/// ```
/// use smtp_sansio::{ClientCredentials, TlsPolicy};
/// use smtp_sansio::{Client, ClientConfig, PortMode};
///
/// // Submission (587): STARTTLS is required before AUTH and MAIL.
/// let cfg = ClientConfig::new(PortMode::Submission, "laptop.example.org")
///     .with_credentials(ClientCredentials::new("alice", "secret"));
/// assert_eq!(cfg.tls, TlsPolicy::Required);
/// assert!(Client::new(cfg).is_ok());
///
/// // Submission never falls back to plaintext (RFC 8314 3).
/// let fallback = ClientConfig::new(PortMode::Submission, "laptop.example.org")
///     .with_tls_policy(TlsPolicy::Opportunistic);
/// assert!(fallback.is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The port mode (relay 25, submission 587, implicit TLS 465, LMTP).
    pub mode: PortMode,
    /// STARTTLS policy; see [`TlsPolicy`] for the modes each is allowed in.
    /// Ignored in [`PortMode::ImplicitTls`] (TLS is up from the start).
    pub tls: TlsPolicy,
    /// The name sent in EHLO/HELO/LHLO (RFC 5321 4.1.1.1: the client's
    /// fully-qualified domain name or an address literal).
    pub helo: String,
    /// Credentials; with them the client authenticates and a server that
    /// offers no usable mechanism is a fatal error.
    pub credentials: Option<ClientCredentials>,
    /// SASL mechanisms in order of preference; the first one the server
    /// offers is used (RFC 4954 4). Supported: PLAIN, LOGIN, XOAUTH2,
    /// OAUTHBEARER. Default: PLAIN, LOGIN.
    pub mechanisms: Vec<Mechanism>,
    /// Use mechanisms that carry a password or token in the clear without
    /// TLS (RFC 4954 4: SHOULD NOT). Off by default.
    pub plaintext_auth_without_tls: bool,
    /// Pipeline MAIL, RCPT and DATA/BDAT when the server offers PIPELINING
    /// (RFC 2920). On by default.
    pub pipelining: bool,
    /// Send content with `BDAT n LAST` when the server offers CHUNKING
    /// (RFC 3030). On by default.
    pub chunking: bool,
    /// The size of the `BDAT n` chunks of a streamed body
    /// ([`Client::start_mail`], RFC 3030 2), and the bound on the content
    /// the machine holds: a piece is taken only while the unsent content
    /// and output are below it. Default [`DEFAULT_CHUNK_SIZE`]; 0 is
    /// refused ([`ConfigError::InvalidChunkSize`]).
    pub chunk_size: usize,
    /// A body holding NUL octets or bare CR/LF goes unchanged as
    /// `BODY=BINARYMIME` through BDAT when the server offers BINARYMIME
    /// and CHUNKING (RFC 3030 3), rather than normalized (or refused for a
    /// NUL). On by default.
    pub binarymime: bool,
    /// The most recipients the client puts in one transaction; a message
    /// with more goes as several transactions on the same connection, each
    /// with the same body (RFC 5321 4.5.3.1.8: a client SHOULD be prepared
    /// to send its recipients in smaller groups). The server's LIMITS
    /// RCPTMAX (RFC 9422 4.2) applies too: the lower one wins. Default
    /// `None`: no limit of the client's own (RFC 5321 sets none; the
    /// server's RCPTMAX and its `452 4.5.3` replies, RFC 5321 4.5.3.1.10,
    /// still split). `Some(0)` is refused
    /// ([`ConfigError::InvalidRcptMax`]).
    pub rcpt_max: Option<usize>,
    /// Limits: reply lines and line count (RFC 5321 4.5.3.1.5).
    pub limits: Limits,
    /// Bare LF / bare CR in message bodies: normalized to CRLF (the
    /// default: the client never emits a line a strict server would read
    /// differently, RFC 5321 2.3.8) or refused
    /// ([`MessageError::BareLineEnding`]).
    pub line_ending: LineEndingPolicy,
    /// The explorer's self-test only (feature `mutants`): a rule to run
    /// without. Empty and zero-sized otherwise.
    #[doc(hidden)]
    pub mutant: crate::mutants::MutantSlot,
}

impl ClientConfig {
    /// The defaults for `mode`: TLS policy Required for submission and
    /// implicit TLS, Opportunistic for relay, None for LMTP; no
    /// credentials; PLAIN, LOGIN; pipelining and chunking on; RFC limits;
    /// bare line endings normalized.
    pub fn new(mode: PortMode, helo: impl Into<String>) -> Self {
        ClientConfig {
            mode,
            tls: match mode {
                PortMode::Relay => TlsPolicy::Opportunistic,
                PortMode::Submission | PortMode::ImplicitTls => TlsPolicy::Required,
                PortMode::Lmtp => TlsPolicy::None,
            },
            helo: helo.into(),
            credentials: None,
            mechanisms: vec![Mechanism::Plain, Mechanism::Login],
            plaintext_auth_without_tls: false,
            pipelining: true,
            chunking: true,
            chunk_size: DEFAULT_CHUNK_SIZE,
            binarymime: true,
            rcpt_max: None,
            limits: Limits::RFC,
            line_ending: LineEndingPolicy::Normalize,
            mutant: crate::mutants::MutantSlot::NONE,
        }
    }

    /// Sets the TLS policy; [`TlsPolicy::Opportunistic`] is refused outside
    /// relay (RFC 8314 3: submission never falls back to plaintext).
    pub fn with_tls_policy(mut self, policy: TlsPolicy) -> Result<Self, ConfigError> {
        self.tls = policy;
        self.check_tls()?;
        Ok(self)
    }

    /// Sets the credentials.
    #[must_use]
    pub fn with_credentials(mut self, credentials: ClientCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    fn check_tls(&self) -> Result<(), ConfigError> {
        if self.tls == TlsPolicy::Opportunistic && self.mode != PortMode::Relay {
            return Err(ConfigError::OpportunisticTlsNotAllowed);
        }
        Ok(())
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        self.check_tls()?;
        let helo = self.helo.as_bytes();
        if Domain::parse(helo, false).is_err() {
            return Err(ConfigError::InvalidHelo);
        }
        if let Some(c) = &self.credentials {
            let nul = |s: &str| s.as_bytes().contains(&0);
            if c.user.is_empty()
                || nul(&c.user)
                || nul(c.secret.expose())
                || c.authzid.as_deref().is_some_and(nul)
            {
                return Err(ConfigError::InvalidCredentials);
            }
        }
        if self.chunk_size == 0 {
            return Err(ConfigError::InvalidChunkSize);
        }
        if self.rcpt_max == Some(0) {
            return Err(ConfigError::InvalidRcptMax);
        }
        if let Some(m) = self.mechanisms.iter().find(|m| !client_supports(**m)) {
            return Err(ConfigError::UnsupportedMechanism(*m));
        }
        Ok(())
    }
}

/// A configuration [`Client::new`] refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigError {
    /// [`TlsPolicy::Opportunistic`] outside relay (RFC 8314 3).
    OpportunisticTlsNotAllowed,
    /// The HELO name is not a domain or address literal (RFC 5321 4.1.1.1).
    InvalidHelo,
    /// Empty user name, or a NUL in a credential (RFC 4616 2).
    InvalidCredentials,
    /// A preferred mechanism this client cannot run.
    UnsupportedMechanism(Mechanism),
    /// [`ClientConfig::chunk_size`] is 0 (RFC 3030 2: a chunk carries
    /// octets; only the last may be empty).
    InvalidChunkSize,
    /// [`ClientConfig::rcpt_max`] is `Some(0)`: a transaction needs at
    /// least one recipient (RFC 5321 3.3).
    InvalidRcptMax,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ConfigError::OpportunisticTlsNotAllowed => {
                f.write_str("opportunistic TLS is allowed only for relay")
            }
            ConfigError::InvalidHelo => f.write_str("invalid HELO name"),
            ConfigError::InvalidCredentials => f.write_str("invalid credentials"),
            ConfigError::UnsupportedMechanism(m) => {
                write!(f, "unsupported SASL mechanism {}", m.name())
            }
            ConfigError::InvalidChunkSize => f.write_str("chunk size 0"),
            ConfigError::InvalidRcptMax => f.write_str("recipient limit 0"),
        }
    }
}

impl core::error::Error for ConfigError {}

pub(super) fn client_supports(m: Mechanism) -> bool {
    matches!(
        m,
        Mechanism::Plain | Mechanism::Login | Mechanism::XOAuth2 | Mechanism::OAuthBearer
    )
}

/// The default [`ClientConfig::chunk_size`]: 64 KiB (RFC 3030 leaves the
/// chunk size to the client; a common choice of MTAs).
pub const DEFAULT_CHUNK_SIZE: usize = 64 * 1024;

// Timeouts (RFC 5321 4.5.3.2): the driver owns the clock and arms them from
// `Client::timeout`.

/// Initial 220 message: 5 minutes (RFC 5321 4.5.3.2.1).
pub const GREETING_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// MAIL command: 5 minutes (RFC 5321 4.5.3.2.2).
pub const MAIL_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// RCPT command: 5 minutes (RFC 5321 4.5.3.2.3).
pub const RCPT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// DATA initiation (waiting for 354): 2 minutes (RFC 5321 4.5.3.2.4).
pub const DATA_INIT_TIMEOUT: Duration = Duration::from_secs(2 * 60);
/// Data block: 3 minutes per TCP send of content (RFC 5321 4.5.3.2.5); the
/// driver applies it to its writes.
pub const DATA_BLOCK_TIMEOUT: Duration = Duration::from_secs(3 * 60);
/// DATA termination (waiting for the reply to the final dot, or to `BDAT
/// LAST`): 10 minutes (RFC 5321 4.5.3.2.6).
pub const DATA_END_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Other commands (EHLO, STARTTLS, AUTH, RSET, QUIT): 5 minutes, as for
/// MAIL (RFC 5321 4.5.3.2 leaves them open).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(5 * 60);
