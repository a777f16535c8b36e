//! # smtp-sansio
//!
//! A Sans-IO SMTP (RFC 5321) and LMTP (RFC 2033) protocol core: zero-copy,
//! incremental parsers and encoders for every command and reply, message
//! content codecs (DATA dot-stuffing, BDAT chunks), and client and server
//! state machines for the relay (25), submission (587) and implicit TLS
//! (465) port modes. It performs no I/O, reads no clock and starts no
//! thread: a driver feeds bytes in, takes events and bytes out, and makes
//! the decisions.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod address;
pub mod capability;
pub mod client;
pub mod command;
pub mod data;
pub mod error;
pub mod ext;
pub mod limits;
pub mod line;
pub mod mode;
#[doc(hidden)]
pub mod mutants;
pub mod options;
pub mod params;
mod proxy;
pub mod reply;
pub mod sasl;
pub mod server;
mod session;
mod xclient;

pub use address::{AddressLiteral, Domain, ForwardPath, LocalPart, Mailbox, ReversePath};
pub use capability::{
    AuthMechanisms, Capabilities, Capability, EhloReply, RawCapability, ServerLimits,
};
pub use client::{Client, ClientConfig, ClientEvent};
pub use command::{Command, CommandError, OwnedCommand};
pub use error::{EncodeError, ParseError};
pub use ext::Extensions;
pub use limits::Limits;
pub use mode::PortMode;
pub use options::{CommandOptions, Lenient, LineEndingPolicy};
pub use params::{MailParams, Param, RcptParams, XText};
pub use proxy::{
    PROXY_V1_MAX_LEN, PROXY_V2_FIXED_LEN, PROXY_V2_SIGNATURE, ProxyAddresses, ProxyCommand,
    ProxyConfig, ProxyDecoder, ProxyError, ProxyHeader, ProxyStatus, ProxyTlv, ProxyTlvIter,
    ProxyTlvs, ProxyTransport, ProxyVersion,
};
pub use reply::{EnhancedCode, Greeting, OwnedReply, Reply, ReplyClass, ReplyCode, ReplyReader};
pub use server::{
    AbortReason, AuthRequest, ContentKind, HelloKind, ReplyKind, Server, ServerConfig, ServerEvent,
    Violation,
};
pub use xclient::{XAttr, XAttrIter, XAttrName, XAttrValue, XAttrs};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
