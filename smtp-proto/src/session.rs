//! What the client and server machines share, below both of them
//! (RFC 5321 4.1.1.1 greeting commands, the decision-misuse error).
//!
//! The two machines never import each other, and this module imports
//! neither: each machine re-exports these types from its own module
//! (`client::HelloKind`, `server::Misuse`, ...).

/// Which greeting command the client used (RFC 5321 4.1.1.1, RFC 2033 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HelloKind {
    /// `HELO`: no extensions.
    Helo,
    /// `EHLO`.
    Ehlo,
    /// `LHLO` (LMTP).
    Lhlo,
}

/// A decision method was called when the machine was not waiting for that
/// decision; the value passed in is handed back (the machine's state is
/// unchanged, RFC 5321 4.1.4 leaves command order to the machines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misuse<T>(pub T);

impl<T> core::fmt::Display for Misuse<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("no decision of this kind is pending")
    }
}

impl<T: core::fmt::Debug> core::error::Error for Misuse<T> {}
