//! # smtp-sansio
//!
//! A Sans-IO SMTP (RFC 5321) and LMTP (RFC 2033) protocol core: zero-copy,
//! incremental parsers and encoders for every command and reply, message
//! content codecs (DATA dot-stuffing, BDAT chunks), and client and server
//! state machines for the relay (25), submission (587) and implicit TLS
//! (465) port modes. It performs no I/O, reads no clock and starts no
//! thread: a driver feeds bytes in, takes events and bytes out, and makes
//! the decisions.
//!
//! # The model: bytes in, events out, decisions in, bytes out
//!
//! A [`Server`] or [`Client`] is one connection's protocol state. Your
//! driver (tokio, `std::net`, an embedded loop, a test) does four things,
//! in a loop:
//!
//! 1. **Bytes in**: whatever the socket read goes to `receive` (any chunk
//!    size, even one byte; end of stream to `receive_eof`).
//! 2. **Events out**: `next_event` parses what it can and reports it
//!    ([`ServerEvent`], [`ClientEvent`]); `None` means "need more input" or
//!    "waiting for your decision".
//! 3. **Decisions in**: an event that asks for one
//!    ([`ServerEvent::needs_decision`]; [`ClientEvent::Ready`] and
//!    [`ClientEvent::RecipientsPartial`] on the client) stops the machine
//!    until you answer: [`Server::accept`] (the default positive reply),
//!    [`Server::respond`] / [`Server::reject`] with an [`OwnedReply`]
//!    ([`OwnedReply::ok`], [`OwnedReply::permanent_failure`],
//!    [`OwnedReply::from_parts`]...), [`Client::send_mail`],
//!    [`Client::quit`], [`Client::proceed`].
//! 4. **Bytes out**: `transmit` appends what must be written to the socket.
//!
//! Timeouts are the driver's clock: `timeout()` says how long the current
//! state may wait (RFC 5321 4.5.3.2), `handle_timeout()` says it passed.
//! TLS is the driver's too: on [`ServerEvent::StartTls`] /
//! [`ClientEvent::StartTls`] transmit the pending bytes, run the handshake
//! and call `tls_established()`.
//!
//! ## Decisions need no `unwrap`
//!
//! A decision call returns a `Decided` (in the `server` and `client`
//! modules), which, unlike a `Result`, is fine to drop: answering the event
//! that asked for a decision cannot be misuse, so the normal flow is just
//! `server.accept();`. Misuse detection stays where misuse is possible: a
//! call with no decision pending, or a reply of the wrong class, changes
//! nothing and hands its value back in a `Misuse`; check it with
//! `is_err()`, `into_result()?` or `unwrap()` in tests.
//!
//! ## TLS must be declared
//!
//! STARTTLS (RFC 3207) is offered only when the driver says it can run a
//! handshake: [`ServerConfig::with_tls`]. A driver without TLS never
//! answers `220` to STARTTLS; a TLS ClientHello that reaches the machine
//! anyway is reported as a [`Violation`] naming the cause.
//!
//! # A server over an in-memory peer
//!
//! The loop a socket driver runs, with the "socket" a list of what the
//! client writes. It refuses an unknown recipient, stores the message and
//! answers each decision:
//!
//! ```
//! use smtp_sansio::{OwnedReply, PortMode, Server, ServerConfig, ServerEvent};
//!
//! /// Runs one session; returns everything the server wrote and the
//! /// messages it accepted.
//! fn serve(client_writes: &[&[u8]]) -> (String, Vec<Vec<u8>>) {
//!     let cfg = ServerConfig::new(PortMode::Relay, "mx.example.net");
//!     let mut server = Server::new(cfg);
//!     let (mut wire, mut stored, mut message) = (Vec::new(), Vec::new(), Vec::new());
//!     let mut reads = client_writes.iter();
//!     loop {
//!         while let Some(event) = server.next_event() {
//!             match event {
//!                 ServerEvent::Rcpt { to, .. } => {
//!                     let known = to.to_string() == "<bob@example.net>";
//!                     if known {
//!                         server.accept();
//!                     } else {
//!                         let no = OwnedReply::from_parts(550, "5.1.1", "No such user");
//!                         server.reject(no.expect("a valid reply"));
//!                     }
//!                 }
//!                 ServerEvent::MessageData(piece) => message.extend_from_slice(piece),
//!                 ServerEvent::MessageComplete { .. } => {
//!                     stored.push(std::mem::take(&mut message));
//!                     server.respond(OwnedReply::ok("Queued"));
//!                 }
//!                 ServerEvent::MessageAborted(_) => message.clear(),
//!                 event if event.needs_decision() => {
//!                     server.accept();
//!                 }
//!                 _ => {}
//!             }
//!         }
//!         server.transmit(&mut wire); // write to the socket
//!         if server.is_closed() {
//!             break;
//!         }
//!         match reads.next() {
//!             Some(bytes) => server.receive(bytes), // read from the socket
//!             None => server.receive_eof(),
//!         }
//!     }
//!     (String::from_utf8(wire).unwrap(), stored)
//! }
//!
//! let (wire, stored) = serve(&[
//!     b"EHLO client.example.org\r\n",
//!     b"MAIL FROM:<alice@example.org>\r\n",
//!     b"RCPT TO:<eve@example.net>\r\n",
//!     b"RCPT TO:<bob@example.net>\r\n",
//!     b"DATA\r\n",
//!     b"Subject: hi\r\n\r\nhel", // any chunking
//!     b"lo\r\n.\r\nQUIT\r\n",
//! ]);
//! assert!(wire.starts_with("220 mx.example.net"));
//! assert!(wire.contains("550 5.1.1 No such user\r\n"));
//! assert!(wire.contains("250 2.0.0 Queued\r\n"));
//! assert!(wire.ends_with("221 2.0.0 Bye\r\n"));
//! assert_eq!(stored, [b"Subject: hi\r\n\r\nhello\r\n".to_vec()]);
//! ```
//!
//! # A client session
//!
//! The client machine sends one message to a server machine, the bytes
//! moved in memory where a driver would use a socket:
//!
//! ```
//! use smtp_sansio::{Envelope, TlsPolicy};
//! use smtp_sansio::{Client, ClientConfig, ClientEvent, PortMode, Server, ServerConfig};
//!
//! // Relay without TLS must be chosen explicitly (TlsPolicy::None).
//! let cfg = ClientConfig::new(PortMode::Relay, "client.example.org")
//!     .with_tls_policy(TlsPolicy::None)
//!     .expect("relay may go without TLS");
//! let mut client = Client::new(cfg).expect("a valid configuration");
//! let mut server = Server::new(ServerConfig::new(PortMode::Relay, "mx.example.net"));
//!
//! let mut outbox = vec![Envelope::new("alice@example.org", ["bob@example.net"])];
//! let mut delivered = Vec::new();
//! for _round in 0..20 {
//!     if client.is_closed() {
//!         break;
//!     }
//!     // The peer: a server that accepts everything.
//!     while let Some(event) = server.next_event() {
//!         if event.needs_decision() {
//!             server.accept();
//!         }
//!     }
//!     let mut bytes = Vec::new();
//!     server.transmit(&mut bytes);
//!     client.receive(&bytes);
//!
//!     while let Some(event) = client.next_event() {
//!         match event {
//!             ClientEvent::Ready => match outbox.pop() {
//!                 Some(envelope) => {
//!                     let body = b"Subject: hi\r\n\r\nhello\r\n".to_vec();
//!                     client.send_mail(envelope, body).expect("a valid message");
//!                 }
//!                 None => {
//!                     client.quit();
//!                 }
//!             },
//!             ClientEvent::Delivered(reply) => delivered.push(reply.code.get()),
//!             ClientEvent::Error(e) => panic!("{e:?}"),
//!             _ => {}
//!         }
//!     }
//!     let mut bytes = Vec::new();
//!     client.transmit(&mut bytes);
//!     server.receive(&bytes);
//! }
//! assert_eq!(delivered, [250]);
//! assert!(client.is_closed());
//! ```
//!
//! # Where things are
//!
//! | you want to | use |
//! | --- | --- |
//! | run a server session | [`Server`], [`ServerConfig`], [`ServerEvent`], [`OwnedReply`] |
//! | run a client session | [`Client`], [`ClientConfig`], [`ClientEvent`] |
//! | parse or encode one command | [`Command::parse`], [`Command::write_to`], `Display` |
//! | parse or encode replies | [`Reply::parse`], [`ReplyReader`], [`OwnedReply::write_to`] |
//! | read an EHLO reply | [`EhloReply`], [`Capabilities`] |
//! | addresses | [`Mailbox`], [`Domain`], [`ReversePath`], [`ForwardPath`] |
//! | limits and lenient habits | [`Limits`] (RFC defaults), [`CommandOptions`], [`Lenient`] |
//!
//! Every type is at the crate root: the machines ([`Server`], [`Client`]),
//! their configurations ([`ServerConfig`], [`ClientConfig`], [`PortMode`]),
//! their events ([`ServerEvent`], [`ClientEvent`]), and the grammar types
//! of commands, replies, addresses and parameters (RFC 5321 4.1).
//!
//! A few public modules group secondary items that read better with a
//! prefix; each holds API only, and its main types are at the root too:
//!
//! * [`client`]: the client machine, the submission connection plan
//!   (RFC 8314 5.1, RFC 6186), the wrong-port check and the RFC 5321
//!   4.5.3.2 client timeouts.
//! * [`server`]: the server machine and its events, replies and
//!   violations.
//! * [`data`]: message content codecs (RFC 5321 4.5.2 dot-stuffing,
//!   RFC 3030 BDAT chunks, the content inspector).
//! * [`sasl`]: SASL for AUTH (RFC 4954): base64 and the payloads of PLAIN,
//!   LOGIN, XOAUTH2 and OAUTHBEARER.
//! * [`limits`]: the RFC 5321 4.5.3.1 limits and the extension increments
//!   of the command line.
//!
//! Everything else (the line framer, the state types, the parsers'
//! modules) is private.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

// Implementation modules: private. Every type a user needs is
// re-exported below, at the crate root.
mod address;
mod capability;
mod command;
mod error;
mod ext;
mod line;
mod mode;
mod mutants;
mod options;
mod params;
mod proxy;
mod reply;
mod session;
mod xclient;

// Curated public namespaces, for secondary items that read better with a
// prefix (as `rustls::client` / `rustls::server`): each holds only API,
// and its main types are at the root as well.
pub mod client;
pub mod data;
pub mod limits;
pub mod sasl;
pub mod server;

pub use address::{AddressLiteral, Domain, ForwardPath, LocalPart, Mailbox, ReversePath};
pub use capability::{
    AuthMechanisms, Capabilities, Capability, EhloReply, Params as EhloParams, RawCapability,
    ServerLimits,
};
pub use client::{
    BodyError, BodyInfo, Client, ClientConfig, ClientCredentials, ClientError, ClientEvent,
    ConfigError, Dsn, Envelope, MessageError, QueryError, RecipientDsn, SendError,
    ServerCapabilities, StartError, TlsPolicy, TransactionStage,
};
pub use command::{Command, CommandError, OwnedCommand};
pub use data::{
    BdatChunks, BdatDecoder, BdatHeader, ContentError, ContentInfo, DataDecoder, DataEncoder,
    DataOutcome,
};
pub use error::{EncodeError, ParseError};
pub use ext::Extensions;
pub use limits::Limits;
pub use mode::PortMode;
pub use options::{CommandOptions, Lenient, LineEndingPolicy};
pub use params::{
    Body, ByMode, DeliverBy, Hold, MailAuth, MailParams, Notify, Orcpt, Param,
    Params as EsmtpParams, RcptParams, Ret, Rrvs, XText,
};
pub use proxy::{
    PROXY_V1_MAX_LEN, PROXY_V2_FIXED_LEN, PROXY_V2_SIGNATURE, ProxyAddresses, ProxyCommand,
    ProxyConfig, ProxyDecoder, ProxyError, ProxyHeader, ProxyStatus, ProxyTlv, ProxyTlvIter,
    ProxyTlvs, ProxyTransport, ProxyVersion,
};
pub use reply::{
    EnhancedCode, Greeting, Lines as ReplyLines, MAX_REPLY_LINE, OwnedReply, Reply, ReplyClass,
    ReplyCode, ReplyReader,
};
pub use sasl::{Credentials, Mechanism, Secret};
pub use server::{
    AbortReason, AuthRequest, ContentKind, ProxyOrigin, ReplyKind, Server, ServerConfig,
    ServerEvent, Violation,
};
pub use session::{Decided, HelloKind, Misuse};
pub use xclient::{XAttr, XAttrIter, XAttrName, XAttrValue, XAttrs};

// Public only for the benchmarks, the fuzz targets and the explorer.
#[doc(hidden)]
pub use line::{InputBuffer, LineStatus};
#[doc(hidden)]
pub use mutants::{Mutant, MutantSlot};
