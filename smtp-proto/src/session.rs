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

/// What a decision call ([`Server::accept`](crate::Server::accept),
/// [`Server::respond`](crate::Server::respond),
/// [`Server::reject`](crate::Server::reject),
/// [`Client::proceed`](crate::Client::proceed),
/// [`Client::quit`](crate::Client::quit), ...) did: made the decision, or
/// refused it as a [`Misuse`] and handed the value back.
///
/// Unlike a `Result` it is fine to drop, so the normal flow needs no
/// `unwrap`: a decision made in answer to the event that asked for it
/// cannot be misuse. A misuse leaves the machine exactly as it was (RFC
/// 5321 4.1.4 leaves command order to the machines, not to the
/// application). Where misuse is possible (a decision from a stale event,
/// a reply of the wrong class, a reply list of the wrong length), check
/// it: [`Decided::is_err`], [`Decided::into_result`] (then `?`),
/// [`Decided::err`], or `unwrap`/`expect` in tests.
///
/// ```
/// use smtp_sansio::{OwnedReply, PortMode, Server, ServerConfig};
///
/// let mut server = Server::new(ServerConfig::new(PortMode::Relay, "mx.example.net"));
/// server.next_event(); // Connected: a decision is pending
/// server.accept(); // the normal flow: nothing to unwrap
///
/// // No decision is pending now: the call is refused and the reply handed back.
/// let refused = server.respond(OwnedReply::ok("unasked")).err().unwrap();
/// assert_eq!(refused.0, OwnedReply::ok("unasked"));
/// assert!(server.accept().into_result().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided<T>(Result<(), Misuse<T>>);

impl<T> Decided<T> {
    /// The decision was made.
    pub(crate) const fn done() -> Decided<T> {
        Decided(Ok(()))
    }

    /// The call was refused; `value` is handed back.
    pub(crate) const fn misuse(value: T) -> Decided<T> {
        Decided(Err(Misuse(value)))
    }

    /// Whether the decision was made.
    pub fn is_ok(&self) -> bool {
        self.0.is_ok()
    }

    /// Whether the call was refused as a [`Misuse`].
    pub fn is_err(&self) -> bool {
        self.0.is_err()
    }

    /// As a `Result`, for `?` and the `Result` combinators.
    pub fn into_result(self) -> Result<(), Misuse<T>> {
        self.0
    }

    /// The misuse, with the value handed back, if the call was refused.
    pub fn err(self) -> Option<Misuse<T>> {
        self.0.err()
    }

    /// `Result::map_err` on [`Decided::into_result`].
    pub fn map_err<E>(self, f: impl FnOnce(Misuse<T>) -> E) -> Result<(), E> {
        self.0.map_err(f)
    }

    /// Panics if the call was refused (tests and examples).
    #[track_caller]
    pub fn unwrap(self)
    where
        T: core::fmt::Debug,
    {
        self.0.unwrap()
    }

    /// Panics with `msg` if the call was refused (tests and examples).
    #[track_caller]
    pub fn expect(self, msg: &str)
    where
        T: core::fmt::Debug,
    {
        self.0.expect(msg)
    }

    /// The misuse; panics if the decision was made (tests).
    #[track_caller]
    pub fn unwrap_err(self) -> Misuse<T> {
        match self.0 {
            Err(m) => m,
            Ok(()) => panic!("called `Decided::unwrap_err` on a decision that was made"),
        }
    }
}

impl<T> From<Decided<T>> for Result<(), Misuse<T>> {
    fn from(d: Decided<T>) -> Self {
        d.0
    }
}

impl<T: PartialEq> PartialEq<Result<(), Misuse<T>>> for Decided<T> {
    fn eq(&self, other: &Result<(), Misuse<T>>) -> bool {
        self.0 == *other
    }
}
