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
//! # Where things are
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
mod reply;
mod session;

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
    Client, ClientConfig, ClientCredentials, ClientError, ClientEvent, ConfigError, Dsn, Envelope,
    MessageError, SendError, ServerCapabilities, TlsPolicy, TransactionStage,
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
pub use reply::{
    EnhancedCode, Greeting, Lines as ReplyLines, MAX_REPLY_LINE, OwnedReply, Reply, ReplyClass,
    ReplyCode, ReplyReader,
};
pub use sasl::{Credentials, Mechanism, Secret};
pub use server::{
    AbortReason, AuthRequest, ContentKind, ReplyKind, Server, ServerConfig, ServerEvent, Violation,
};
pub use session::{HelloKind, Misuse};

// Public only for the benchmarks, the fuzz targets and the explorer.
#[doc(hidden)]
pub use line::{InputBuffer, LineStatus};
#[doc(hidden)]
pub use mutants::{Mutant, MutantSlot};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
