//! A tokio + rustls driver for the [`smtp_sansio`] protocol core.
//!
//! The core is a pure state machine (bytes in, events out, decisions in,
//! bytes out); this crate moves the bytes over TCP, TLS and Unix sockets,
//! runs the timers and calls your handler for every decision.
//!
//! - [`server`]: listeners per port mode (RFC 5321 relay, RFC 6409
//!   submission with STARTTLS, RFC 8314 implicit TLS, RFC 2033 LMTP) and a
//!   handler trait whose every method has a default that accepts.
//! - [`client`]: connect by port mode (with the RFC 8314 plan when given a
//!   host) and send messages with per-recipient results.
//! - [`blocking`]: the same on `std::net`, for programs without an async
//!   runtime.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod blocking;
pub mod client;
pub mod server;
