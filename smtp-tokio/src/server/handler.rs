//! The application's side of a server: [`Handler`] (one per server) makes a
//! [`Session`] (one per connection), whose methods take every decision the
//! SMTP/LMTP dialogue asks for (RFC 5321 4.1, RFC 4954, RFC 2033).

use std::future::Future;
use std::net::SocketAddr;

use smtp_sansio::sasl::Credentials;

use smtp_sansio::{
    AbortReason, ContentKind, Domain, EnhancedCode, ForwardPath, HelloKind, MailParams, OwnedReply,
    PortMode, ProxyOrigin, RcptParams, ReplyCode, ReversePath, Violation,
};

/// The user name and the secret to check for AUTH credentials (RFC 4954
/// 4): the password (PLAIN, LOGIN) or the token (XOAUTH2, OAUTHBEARER).
/// No secret when PLAIN names an authorization identity other than the
/// user's own (RFC 4616 2), which both servers refuse with 535 5.7.8.
pub(crate) fn user_and_secret(credentials: &Credentials) -> (&str, Option<&str>) {
    match credentials {
        Credentials::Password {
            authzid,
            username,
            password,
        } if authzid.is_empty() || authzid == username => {
            (username.as_str(), Some(password.expose().as_str()))
        }
        Credentials::Password { username, .. } => (username.as_str(), None),
        Credentials::Bearer { user, token } => (user.as_str(), Some(token.expose().as_str())),
    }
}

/// The answer to one decision (RFC 5321 4.2): accept with the core's
/// default positive reply, or answer with a reply of your own (a 2xx reply
/// accepts with that text, a 4xx or 5xx reply refuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The default positive reply of the command (RFC 5321 4.2.2).
    Accept,
    /// This reply: 2xx accepts, 4xx refuses for now, 5xx for good.
    Reply(OwnedReply),
}

impl Decision {
    /// A one-line reply with an enhanced status code (RFC 5321 4.2,
    /// RFC 3463), e.g. `Decision::reply(550, (5, 1, 1), "No such user")`.
    /// A code outside 200..=599 becomes `451 4.3.0`.
    pub fn reply(code: u16, enhanced: (u8, u16, u16), text: &'static str) -> Decision {
        Decision::Reply(reply(code, enhanced, text))
    }
}

impl Decision {
    /// The answer to a credential check (RFC 4954 4, 6): accept (`235`) or
    /// `535 5.7.8 Authentication credentials invalid`.
    pub fn credentials(valid: bool) -> Decision {
        match valid {
            true => Decision::Accept,
            false => Decision::reply(535, (5, 7, 8), "Authentication credentials invalid"),
        }
    }
}

/// The outcome of storing or relaying a message: `Ok` accepts (the
/// message is the server's responsibility, RFC 5321 6.1), `Err` answers
/// `451 4.3.0` so that the client tries again later (RFC 5321 4.2.3).
impl<T> From<std::io::Result<T>> for Decision {
    fn from(r: std::io::Result<T>) -> Decision {
        match r {
            Ok(_) => Decision::Accept,
            Err(_) => Decision::reply(451, (4, 3, 0), "Local error in processing, try again later"),
        }
    }
}

/// A one-line reply with an enhanced code (RFC 5321 4.2, RFC 3463); an
/// invalid code becomes `451 4.3.0` (RFC 5321 4.2.2).
pub(crate) fn reply(code: u16, enh: (u8, u16, u16), text: &'static str) -> OwnedReply {
    match ReplyCode::new(code).filter(|c| (200..600).contains(&c.get())) {
        Some(c) => OwnedReply::new(c, EnhancedCode::new(enh.0, enh.1, enh.2), text),
        None => OwnedReply::new(
            ReplyCode::LOCAL_ERROR,
            EnhancedCode::new(4, 3, 0),
            "Local error in processing",
        ),
    }
}

/// The answer to one step of an application-run SASL mechanism
/// (RFC 4954 4: a `334` challenge, or the end of the exchange).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// Send this challenge (the driver base64-encodes it, RFC 4954 4).
    Challenge(Vec<u8>),
    /// End the exchange: accept (235) or refuse (535 5.7.8 is usual).
    Done(Decision),
}

/// Where a connection came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// A TCP peer.
    Tcp(SocketAddr),
    /// A Unix-socket peer (LMTP, RFC 2033 4.1 "not over TCP port 25").
    Unix,
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Tcp(a) => a.fmt(f),
            Peer::Unix => f.write_str("unix"),
        }
    }
}

/// What the driver knows of a connection when it opens (RFC 5321 3.1).
///
/// On a listener that expects a PROXY protocol header
/// ([`Server::proxy_protocol`](super::Server::proxy_protocol)), the
/// header is read before [`Handler::connect`] and `peer` and `local` are
/// the original client's and the address it connected to, as the header
/// names them (the effective peer, PROXY protocol section 2); the proxy's
/// own address is in [`Connection::proxy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The listener's port mode.
    pub mode: PortMode,
    /// The client: the socket's peer, or the original client a PROXY
    /// header names.
    pub peer: Peer,
    /// The address the client connected to: the listener's (`None` on a
    /// Unix socket), or the destination a PROXY header names.
    pub local: Option<SocketAddr>,
    /// The PROXY protocol header read before the greeting, if the listener
    /// expects one.
    pub proxy: Option<Proxied>,
}

/// A connection that came through a proxy speaking the PROXY protocol
/// (HAProxy PROXY protocol, sections 2.1 and 2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxied {
    /// The proxy itself: the socket's peer.
    pub via: Peer,
    /// The decoded header. A version 2 `LOCAL` header (the proxy's own
    /// health check) or a version 1 `UNKNOWN` one names no client: the
    /// connection's `peer` then stays the proxy (sections 2.1, 2.2).
    pub header: ProxyOrigin,
}

/// What the driver knows of a complete message (RFC 5321 4.1.1.4, 6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// The connection.
    pub connection: &'a Connection,
    /// The EHLO/HELO/LHLO argument in effect (RFC 5321 4.1.1.1).
    pub helo: &'a [u8],
    /// Whether TLS is active (RFC 3207, RFC 8314).
    pub tls: bool,
    /// The user AUTH accepted in this session, if any (RFC 4954 4); for a
    /// mechanism the application runs ([`Session::auth_step`]) the
    /// mechanism's name in parentheses.
    pub auth: Option<&'a str>,
    /// The reverse path in canonical form with its brackets (`<>` for the
    /// null path), RFC 5321 4.1.2.
    pub from: &'a [u8],
    /// The accepted forward paths in canonical form with brackets, in RCPT
    /// order (RFC 5321 4.1.1.3).
    pub to: &'a [Vec<u8>],
    /// Content size in octets (dot-stuffing undone, RFC 5321 4.5.2).
    pub size: u64,
}

/// Makes one [`Session`] per connection.
///
/// `connect` is the connection and greeting decision (RFC 5321 3.1): a
/// session accepts with `220`; `Err` with a `554` reply refuses the
/// session (the core then answers 503 to everything but QUIT), a `421`
/// closes at once.
///
/// Methods return `impl Future + Send` so that the driver can run sessions
/// with `tokio::spawn`; write them as `async fn` in your impl (the compiler
/// checks that their futures are `Send`).
pub trait Handler: Send + Sync + 'static {
    /// The per-connection state.
    type Session: Session;

    /// A connection opened (RFC 5321 3.1 greeting decision).
    fn connect(
        &self,
        conn: &Connection,
    ) -> impl Future<Output = Result<Self::Session, OwnedReply>> + Send;
}

/// A closure that makes a session per connection is a handler (every
/// connection is greeted with `220`).
impl<F, S> Handler for F
where
    F: Fn(&Connection) -> S + Send + Sync + 'static,
    S: Session,
{
    type Session = S;

    fn connect(&self, conn: &Connection) -> impl Future<Output = Result<S, OwnedReply>> + Send {
        std::future::ready(Ok(self(conn)))
    }
}

/// One connection's decisions (RFC 5321 4.1, RFC 4954, RFC 3030, RFC 2033).
/// Every method has a default that accepts, except AUTH (see
/// [`Session::auth`]).
///
/// Message content arrives in pieces through [`Session::data`] as the core
/// hands them out (dot-stuffing undone, RFC 5321 4.5.2): the driver reads
/// no further input until a piece's future is done, so memory stays
/// bounded whatever the message size. The decision on the message comes
/// last, in [`Session::message`] (or [`Session::lmtp_message`]).
#[allow(unused_variables)]
pub trait Session: Send + 'static {
    /// EHLO, HELO or LHLO (RFC 5321 4.1.1.1, RFC 2033 4.1).
    fn hello(
        &mut self,
        kind: HelloKind,
        domain: &Domain<'_>,
    ) -> impl Future<Output = Decision> + Send {
        async { Decision::Accept }
    }

    /// A PLAIN or LOGIN credential check (RFC 4616, RFC 4954 4); the
    /// password is never logged by the driver. XOAUTH2/OAUTHBEARER come
    /// here too, with the bearer token as `password`. The default refuses
    /// with `535 5.7.8`: a server that accepts any password is never a safe
    /// default (the one method whose default refuses).
    fn auth(&mut self, user: &str, password: &str) -> impl Future<Output = Decision> + Send {
        async { Decision::credentials(false) }
    }

    /// One step of a mechanism the application runs (CRAM-MD5, SCRAM,
    /// EXTERNAL; RFC 4954 4). The default refuses with `504 5.5.4`.
    fn auth_step(
        &mut self,
        mechanism: &str,
        response: Option<&[u8]>,
    ) -> impl Future<Output = AuthStep> + Send {
        async {
            AuthStep::Done(Decision::reply(
                504,
                (5, 5, 4),
                "Authentication mechanism not supported",
            ))
        }
    }

    /// MAIL FROM (RFC 5321 4.1.1.2).
    fn mail(
        &mut self,
        from: &ReversePath<'_>,
        params: &MailParams<'_>,
    ) -> impl Future<Output = Decision> + Send {
        async { Decision::Accept }
    }

    /// RCPT TO (RFC 5321 4.1.1.3).
    fn rcpt(
        &mut self,
        to: &ForwardPath<'_>,
        params: &RcptParams<'_>,
    ) -> impl Future<Output = Decision> + Send {
        async { Decision::Accept }
    }

    /// Content begins (after the 354, or with the first BDAT chunk;
    /// RFC 5321 4.1.1.4, RFC 3030 2).
    fn data_start(&mut self, kind: ContentKind) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A piece of content, in order (RFC 5321 4.5.2 transparency undone).
    fn data(&mut self, piece: &[u8]) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// The whole message arrived (RFC 5321 4.1.1.4, 6.1: accept only once
    /// the message is stored). SMTP: one decision for the message.
    fn message(&mut self, msg: &Message<'_>) -> impl Future<Output = Decision> + Send {
        async { Decision::Accept }
    }

    /// The whole message arrived over LMTP: one decision per accepted
    /// recipient, in RCPT order (RFC 2033 4.2). The default asks
    /// [`Session::message`] once and gives its answer to every recipient.
    fn lmtp_message(&mut self, msg: &Message<'_>) -> impl Future<Output = Vec<Decision>> + Send {
        async move {
            let d = self.message(msg).await;
            vec![d; msg.to.len()]
        }
    }

    /// The message in progress was dropped (the core has replied, e.g.
    /// 552 for size, RFC 5321 4.5.3.1.10): forget what [`Session::data`]
    /// received of it.
    fn aborted(&mut self, reason: AbortReason) {}

    /// The transaction was cleared (RSET, EHLO, STARTTLS; RFC 5321 4.1.1.5).
    fn reset(&mut self) {}

    /// TLS started (implicit TLS at connect, or after STARTTLS, RFC 3207 4.2:
    /// everything learned before is forgotten).
    fn tls_started(&mut self) {}

    /// The core reported a protocol violation (it has acted already).
    fn violation(&mut self, violation: Violation) {}

    /// The connection is over (QUIT, close, timeout or shutdown).
    fn closed(&mut self) {}
}
