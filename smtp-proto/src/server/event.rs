//! What the server machine reports to its driver (RFC 5321 4.1, RFC 3207,
//! RFC 4954, RFC 3030, RFC 2033).

use alloc::vec::Vec;
use core::net::SocketAddr;

use crate::address::{Domain, ForwardPath, ReversePath};
use crate::params::{MailParams, RcptParams};
use crate::proxy::{ProxyCommand, ProxyError, ProxyHeader, ProxyTransport, ProxyVersion};
use crate::sasl::{Credentials, Mechanism, Secret};
use crate::session::HelloKind;

/// How a message's content arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentKind {
    /// `DATA` with dot-stuffing (RFC 5321 4.1.1.4).
    Data,
    /// `BDAT` chunks (RFC 3030).
    Bdat,
}

/// A protocol violation the server detected. It is reported as
/// [`ServerEvent::Violation`]; those marked "closes" end the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Violation {
    /// Bytes followed STARTTLS in the same input, or arrived before TLS was
    /// established (CVE-2011-0411 class). Closes.
    StartTlsInjection,
    /// A command arrived behind a group-ending command before its reply
    /// went out (RFC 2920 3.1). Closes.
    PipeliningSync,
    /// Input arrived before the greeting (early talker). Closes.
    EarlyTalker,
    /// Too many errors. Closes with 421.
    TooManyErrors,
    /// Too many failed AUTH attempts. Closes with 421.
    TooManyAuthFailures,
    /// A line longer than its limit (skipped without being stored).
    LineTooLong,
    /// A bare LF or bare CR under the `Reject` policy.
    BareLineEnding,
    /// A line whose verb is BDAT was refused before its chunk size was
    /// known (malformed, overflowing or missing size, bad spacing, trailing
    /// junk, overlong line, bare line ending, NUL). RFC 3030 2 requires the
    /// chunk's octets to be read whatever the verdict; with no size the
    /// next command cannot be found, so the machine answers
    /// [`ReplyKind::BdatUnframable`](super::ReplyKind::BdatUnframable) and closes. Closes.
    BdatUnframable,
    /// A TLS handshake record (first octet 0x16, a ClientHello) arrived
    /// after the `220` to STARTTLS: the driver gave the machine the bytes
    /// its TLS library should have read, that is it did not upgrade the
    /// connection (or it set
    /// [`ServerConfig::tls_available`](crate::ServerConfig::tls_available)
    /// without being able to run TLS). Other bytes there are
    /// [`Violation::StartTlsInjection`]. RFC 3207 4. Closes.
    TlsNotUpgraded,
    /// A TLS handshake record (0x16 0x03) arrived where a command line
    /// starts: a client speaking implicit TLS (RFC 8314 3.3) to a plaintext
    /// port, or a driver that did not run TLS on an implicit-TLS listener.
    /// Closes without a reply (the peer could not read one).
    TlsHandshakeAsCommand,
    /// The PROXY protocol header that
    /// [`ServerConfig::proxy`](crate::ServerConfig::proxy) expects is
    /// malformed, missing (other bytes came first), of a version not
    /// accepted, or over the version 2 length bound ("The PROXY protocol,
    /// Versions 1 & 2", section 2.1: the receiver must abort). Closes
    /// without a greeting and without a reply.
    ProxyHeader(ProxyError),
    /// The connection ended before the expected PROXY header was complete
    /// (PROXY protocol section 2). Closes without a greeting.
    ProxyHeaderIncomplete,
    /// The initial timeout (RFC 5321 4.5.3.2.1, 5 minutes) passed before
    /// the expected PROXY header was complete (PROXY protocol section 2).
    /// Closes without a greeting and without a reply.
    ProxyHeaderTimeout,
}

impl Violation {
    /// Whether the violation ends the connection.
    pub const fn closes(self) -> bool {
        !matches!(self, Violation::LineTooLong | Violation::BareLineEnding)
    }

    /// A one-line reason for logs, naming the likely cause.
    ///
    /// ```
    /// use smtp_sansio::Violation;
    /// assert_eq!(
    ///     Violation::TlsNotUpgraded.reason(),
    ///     "TLS ClientHello received as a command after 220 to STARTTLS: the driver did not upgrade",
    /// );
    /// ```
    pub const fn reason(self) -> &'static str {
        match self {
            Violation::StartTlsInjection => {
                "plaintext after STARTTLS before the TLS handshake (STARTTLS command injection)"
            }
            Violation::PipeliningSync => {
                "command sent behind a group-ending command before its reply (RFC 2920 3.1)"
            }
            Violation::EarlyTalker => "input before the greeting (early talker)",
            Violation::TooManyErrors => "too many errors",
            Violation::TooManyAuthFailures => "too many failed AUTH attempts",
            Violation::LineTooLong => "line longer than its limit",
            Violation::BareLineEnding => "bare LF or bare CR",
            Violation::BdatUnframable => "BDAT line refused before its chunk size was known",
            Violation::TlsNotUpgraded => {
                "TLS ClientHello received as a command after 220 to STARTTLS: the driver did not upgrade"
            }
            Violation::TlsHandshakeAsCommand => {
                "TLS ClientHello received as a command: a TLS client on a plaintext port, or the driver did not run TLS"
            }
            Violation::ProxyHeader(_) => "malformed or missing PROXY protocol header",
            Violation::ProxyHeaderIncomplete => "connection ended inside the PROXY protocol header",
            Violation::ProxyHeaderTimeout => {
                "timeout before the PROXY protocol header was complete"
            }
        }
    }
}

/// [`Violation::reason`].
impl core::fmt::Display for Violation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.reason())
    }
}

/// Why a message was not delivered after its content started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AbortReason {
    /// Bare LF / bare CR under the `Reject` policy (answered 550 5.6.0).
    BareLineEnding,
    /// The message exceeded the size limit (answered 552 5.3.4).
    TooBig,
    /// A content line exceeded the text-line limit (answered 550 5.6.0).
    LineTooLong,
    /// A NUL octet in the content under the `Reject` policy (answered
    /// 550 5.6.0).
    Nul,
    /// The client reset the transaction (RSET, EHLO, HELO or LHLO) between
    /// BDAT chunks.
    Reset,
    /// The connection ended before the message was complete.
    Closed,
}

/// The original connection as a PROXY protocol header relays it ("The
/// PROXY protocol, Versions 1 & 2", sections 2.1 and 2.2), owned: reported
/// by [`ServerEvent::Proxy`] when
/// [`ServerConfig::proxy`](crate::ServerConfig::proxy) is set.
///
/// `source` and `destination` are `None` when the header carries no IP
/// address (version 1 `UNKNOWN`, version 2 `LOCAL`, `AF_UNSPEC` or
/// `AF_UNIX`): the application then uses the real peer's addresses, as
/// section 2.2 requires for LOCAL. The version 2 TLVs are kept as one raw
/// copy of the header's TLV octets (section 2.2), at most
/// [`ProxyConfig::max_v2_len`](crate::ProxyConfig::max_v2_len) octets;
/// iterate them with [`ProxyTlvs::new`](crate::ProxyTlvs::new).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ProxyOrigin {
    /// Text (version 1) or binary (version 2).
    pub version: ProxyVersion,
    /// LOCAL (a health check by the proxy itself) or PROXY.
    pub command: ProxyCommand,
    /// The original transport.
    pub transport: ProxyTransport,
    /// The original client's address and port (section 2.1, 2.2).
    pub source: Option<SocketAddr>,
    /// The address and port the client connected to.
    pub destination: Option<SocketAddr>,
    /// The version 2 TLV octets, raw (empty in version 1).
    pub tlvs: Vec<u8>,
}

impl ProxyOrigin {
    /// The owned summary of a decoded header (PROXY protocol section 2).
    pub fn from_header(header: &ProxyHeader<'_>) -> ProxyOrigin {
        ProxyOrigin {
            version: header.version,
            command: header.command,
            transport: header.transport,
            source: header.source(),
            destination: header.destination(),
            tlvs: header.tlvs.as_bytes().to_vec(),
        }
    }
}

/// An AUTH exchange step the application decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthRequest {
    /// Credentials of a mechanism the machine decodes itself (PLAIN, LOGIN,
    /// XOAUTH2, OAUTHBEARER): [`Server::accept`](super::Server::accept) (235) or
    /// [`Server::reject`](super::Server::reject) (535 5.7.8 is the usual answer).
    Credentials {
        /// The mechanism used.
        mechanism: Mechanism,
        /// The decoded credentials.
        credentials: Credentials,
    },
    /// A step of a mechanism the application runs (CRAM-MD5, SCRAM,
    /// EXTERNAL): answer with [`Server::auth_challenge`](super::Server::auth_challenge), or end it with
    /// accept or reject. `response` is `None` at the start of a
    /// server-first exchange.
    Step {
        /// The mechanism used.
        mechanism: Mechanism,
        /// The client's decoded response.
        response: Option<Secret<Vec<u8>>>,
    },
}

/// What the server machine reports to its driver.
///
/// # Examples
///
/// ```
/// use smtp_sansio::{PortMode, Server, ServerConfig, ServerEvent};
///
/// let mut server = Server::new(ServerConfig::new(PortMode::Relay, "mx.example.net"));
/// server.receive(b"HELO client.example.org\r\n");
/// let mut seen = Vec::new();
/// while let Some(event) = server.next_event() {
///     match event {
///         ServerEvent::Hello { domain, .. } => seen.push(domain.to_string()),
///         ServerEvent::Connected => seen.push("connected".into()),
///         _ => {}
///     }
///     server.accept(); // both events ask for a decision
/// }
/// assert_eq!(seen, ["connected", "client.example.org"]);
/// ```
///
/// Events marked "decision" stop the machine until the driver calls
/// [`Server::accept`](super::Server::accept), [`Server::respond`](super::Server::respond) or [`Server::reject`](super::Server::reject) (or
/// [`Server::auth_challenge`](super::Server::auth_challenge) for AUTH steps).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent<'a> {
    /// The PROXY protocol header that
    /// [`ServerConfig::proxy`](crate::ServerConfig::proxy) expects was
    /// read ("The PROXY protocol, Versions 1 & 2", section 2): the original
    /// client's addresses. Informative, no decision: [`ServerEvent::Connected`]
    /// follows, and refusing its greeting (554, RFC 5321 3.1) is how an
    /// application refuses a relayed address.
    Proxy(ProxyOrigin),
    /// A connection is ready for its greeting (decision: accept sends 220,
    /// reject with a 554 makes the server answer 503 to everything but
    /// QUIT, RFC 5321 3.1).
    Connected,
    /// EHLO, HELO or LHLO (decision, RFC 5321 4.1.1.1). Accepting sends the
    /// EHLO reply with the extensions in effect.
    Hello {
        /// The command.
        kind: HelloKind,
        /// Its argument.
        domain: Domain<'a>,
    },
    /// MAIL FROM (decision; accept sends 250 2.1.0, RFC 5321 4.1.1.2).
    Mail {
        /// The reverse path.
        from: ReversePath<'a>,
        /// Its parameters.
        params: MailParams<'a>,
    },
    /// RCPT TO (decision; accept sends 250 2.1.5, RFC 5321 4.1.1.3).
    Rcpt {
        /// The forward path.
        to: ForwardPath<'a>,
        /// Its parameters.
        params: RcptParams<'a>,
    },
    /// Message content begins (after the 354, or with the first BDAT chunk).
    MessageStart {
        /// DATA or BDAT.
        kind: ContentKind,
    },
    /// A piece of message content, unstuffed, in order (line endings as
    /// received or normalized per policy). Pieces borrow the input buffer.
    MessageData(&'a [u8]),
    /// The whole message arrived (decision: accept sends 250 2.0.0; in LMTP
    /// one reply per accepted recipient, see [`Server::respond_each`](super::Server::respond_each)).
    MessageComplete {
        /// Content size in octets.
        size: u64,
        /// Accepted recipients.
        recipients: usize,
    },
    /// The message in progress was not delivered; the machine has replied.
    /// Drop what was received of it.
    MessageAborted(AbortReason),
    /// An AUTH step (decision).
    Auth(AuthRequest),
    /// VRFY or EXPN (decision: accept sends 252 2.5.0, RFC 5321 3.5.3).
    Verify {
        /// The argument as sent.
        arg: &'a [u8],
        /// `true` for EXPN.
        expand: bool,
    },
    /// ETRN (decision, RFC 1985).
    Etrn {
        /// The argument as sent.
        node: &'a [u8],
    },
    /// The transaction was cleared (RSET, EHLO, STARTTLS, RFC 5321 4.1.1.5).
    Reset,
    /// STARTTLS was accepted: transmit the pending 220, run the TLS
    /// handshake, then call [`Server::tls_established`](super::Server::tls_established) (RFC 3207 4).
    StartTls,
    /// A protocol violation (informative; the machine has acted).
    Violation(Violation),
    /// The connection is over: transmit what is pending, then close.
    Closed,
}

impl ServerEvent<'_> {
    /// Whether the machine waits for a decision on this event.
    pub fn needs_decision(&self) -> bool {
        matches!(
            self,
            ServerEvent::Connected
                | ServerEvent::Hello { .. }
                | ServerEvent::Mail { .. }
                | ServerEvent::Rcpt { .. }
                | ServerEvent::MessageComplete { .. }
                | ServerEvent::Auth(_)
                | ServerEvent::Verify { .. }
                | ServerEvent::Etrn { .. }
        )
    }
}
