//! The attribute lists of Postfix's `XCLIENT` and `XFORWARD` commands
//! (Postfix XCLIENT_README "Command syntax", XFORWARD_README "Command
//! syntax"), parsed zero-copy and encoded.
//!
//! ```text
//! xclient-command  = XCLIENT 1*( SP attribute-name "=" attribute-value )
//! attribute-name   = ( NAME | ADDR | PORT | PROTO | HELO | LOGIN |
//!                      DESTADDR | DESTPORT )
//! xforward-command = XFORWARD 1*( SP attribute-name "=" attribute-value )
//! attribute-name   = ( NAME | ADDR | PORT | PROTO | HELO | IDENT | SOURCE )
//! attribute-value  = xtext
//! ```
//!
//! Decisions taken here:
//!
//! - Names are case-insensitive; a name the command does not define is an
//!   error ([`ParseError::InvalidParameter`], answered 501 5.5.4 as
//!   Postfix does), as is a value that is not xtext (RFC 3461 4).
//! - Values are checked after xtext decoding: `[UNAVAILABLE]` (any
//!   attribute) and `[TEMPUNAVAIL]` (XCLIENT `NAME` only) in any case;
//!   `ADDR`/`DESTADDR` an IPv4 address or `IPV6:` and an IPv6 address;
//!   `PORT`/`DESTPORT` a decimal in 0..=65535; XCLIENT `PROTO` `SMTP` or
//!   `ESMTP`; XFORWARD `PROTO` at most 64 octets; `SOURCE` `LOCAL` or
//!   `REMOTE`. No value is empty or holds a control octet (they end up in
//!   logs and `Received:` fields), and none is longer than
//!   [`Limits::domain`] (255 by default: the READMEs' bound for NAME and
//!   HELO, applied to every attribute).
//! - An attribute may repeat; the last one counts ([`XAttrs::get`]), as
//!   when Postfix applies them in order.
//! - The list is kept as sent ([`XAttrs::as_bytes`]) and iterated on
//!   demand, so a parsed command borrows its line and encodes back to the
//!   same octets.
//!
//! The EHLO keywords `XCLIENT` and `XFORWARD` list the attribute names a
//! server supports; they are read as [`crate::Capability::Other`], whose
//! parameters map to names with [`XAttrName::from_name`].
//!
//! # Example
//!
//! ```
//! use smtp_sansio::{Command, CommandOptions, Extensions, XAttrName, XAttrValue, XAttrs, Limits};
//!
//! let mut opts = CommandOptions::new();
//! opts.extensions |= Extensions::XCLIENT;
//! let line = b"XCLIENT NAME=spike.porcupine.org ADDR=168.100.189.2\r\n";
//! let Ok(Command::Xclient { attrs }) = Command::parse(line, &opts) else { panic!() };
//! assert_eq!(attrs.get(XAttrName::Addr).and_then(|v| v.ip()), Some("168.100.189.2".parse().unwrap()));
//!
//! // Building one for a client.
//! let mut raw = Vec::new();
//! XAttrs::push(&mut raw, XAttrName::Name, &XAttrValue::UNAVAILABLE_TEXT[..]);
//! XAttrs::push(&mut raw, XAttrName::Helo, b"client example");
//! let attrs = XAttrs::xforward(&raw, &Limits::RFC).unwrap();
//! let mut out = Vec::new();
//! Command::Xforward { attrs }.write_to(&mut out).unwrap();
//! assert_eq!(out, b"XFORWARD NAME=[UNAVAILABLE] HELO=client+20example\r\n");
//! ```

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::ParseError;
use crate::limits::Limits;
use crate::params::{XText, is_xtext};

/// An attribute name of XCLIENT or XFORWARD (Postfix XCLIENT_README and
/// XFORWARD_README, "Command syntax").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XAttrName {
    /// `NAME`: the client's (up-stream) host name.
    Name,
    /// `ADDR`: the client's address, IPv4 or `IPV6:`-prefixed IPv6.
    Addr,
    /// `PORT`: the client's TCP port.
    Port,
    /// `PROTO`: `SMTP` or `ESMTP` (XCLIENT); the up-stream mail protocol
    /// (XFORWARD).
    Proto,
    /// `HELO`: the HELO/EHLO argument.
    Helo,
    /// `LOGIN`: the SASL login name (XCLIENT only).
    Login,
    /// `DESTADDR`: the server address the client connected to (XCLIENT only).
    DestAddr,
    /// `DESTPORT`: the server port the client connected to (XCLIENT only).
    DestPort,
    /// `IDENT`: the up-stream message identifier (XFORWARD only).
    Ident,
    /// `SOURCE`: `LOCAL` or `REMOTE` (XFORWARD only).
    Source,
}

impl XAttrName {
    /// Every name, in the READMEs' order.
    pub const ALL: [XAttrName; 10] = [
        XAttrName::Name,
        XAttrName::Addr,
        XAttrName::Port,
        XAttrName::Proto,
        XAttrName::Helo,
        XAttrName::Login,
        XAttrName::DestAddr,
        XAttrName::DestPort,
        XAttrName::Ident,
        XAttrName::Source,
    ];

    /// The upper-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            XAttrName::Name => "NAME",
            XAttrName::Addr => "ADDR",
            XAttrName::Port => "PORT",
            XAttrName::Proto => "PROTO",
            XAttrName::Helo => "HELO",
            XAttrName::Login => "LOGIN",
            XAttrName::DestAddr => "DESTADDR",
            XAttrName::DestPort => "DESTPORT",
            XAttrName::Ident => "IDENT",
            XAttrName::Source => "SOURCE",
        }
    }

    /// The name spelled `name`, compared case-insensitively.
    pub fn from_name(name: &[u8]) -> Option<XAttrName> {
        XAttrName::ALL
            .into_iter()
            .find(|n| n.as_str().as_bytes().eq_ignore_ascii_case(name))
    }

    /// Whether XCLIENT defines it (XCLIENT_README).
    pub const fn in_xclient(self) -> bool {
        !matches!(self, XAttrName::Ident | XAttrName::Source)
    }

    /// Whether XFORWARD defines it (XFORWARD_README).
    pub const fn in_xforward(self) -> bool {
        !matches!(
            self,
            XAttrName::Login | XAttrName::DestAddr | XAttrName::DestPort
        )
    }
}

/// An attribute value (Postfix READMEs: xtext, or one of the two markers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XAttrValue<'a> {
    /// `[UNAVAILABLE]`: the information is not available.
    Unavailable,
    /// `[TEMPUNAVAIL]`: the XCLIENT `NAME` lookup failed temporarily.
    TempUnavail,
    /// A value, as sent (xtext; decode with [`XText::decode`]).
    Value(XText<'a>),
}

impl<'a> XAttrValue<'a> {
    /// The `[UNAVAILABLE]` marker as text, for [`XAttrs::push`].
    pub const UNAVAILABLE_TEXT: &'static [u8; 13] = b"[UNAVAILABLE]";
    /// The `[TEMPUNAVAIL]` marker as text, for [`XAttrs::push`].
    pub const TEMPUNAVAIL_TEXT: &'static [u8; 13] = b"[TEMPUNAVAIL]";

    fn classify(x: XText<'a>, decoded: &[u8]) -> XAttrValue<'a> {
        if decoded.eq_ignore_ascii_case(Self::UNAVAILABLE_TEXT) {
            XAttrValue::Unavailable
        } else if decoded.eq_ignore_ascii_case(Self::TEMPUNAVAIL_TEXT) {
            XAttrValue::TempUnavail
        } else {
            XAttrValue::Value(x)
        }
    }

    /// The decoded value; `None` for the markers.
    pub fn decode(&self) -> Option<Cow<'a, [u8]>> {
        match self {
            XAttrValue::Value(x) => Some(x.decode()),
            _ => None,
        }
    }

    /// The value as an address (`ADDR`, `DESTADDR`): IPv4, or `IPV6:`
    /// followed by IPv6 (the prefix in any case).
    pub fn ip(&self) -> Option<IpAddr> {
        parse_ip(&self.decode()?)
    }

    /// The value as a port (`PORT`, `DESTPORT`).
    pub fn port(&self) -> Option<u16> {
        parse_port(&self.decode()?)
    }
}

/// One attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XAttr<'a> {
    /// Its name.
    pub name: XAttrName,
    /// Its value.
    pub value: XAttrValue<'a>,
}

/// Which command a list belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Xclient,
    Xforward,
}

/// The checked attribute list of an XCLIENT or XFORWARD command, as sent:
/// `attribute *( SP attribute )` (Postfix XCLIENT_README and
/// XFORWARD_README, "Command syntax").
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct XAttrs<'a>(&'a [u8]);

impl<'a> XAttrs<'a> {
    /// Checks an XCLIENT attribute list (XCLIENT_README).
    pub fn xclient(raw: &'a [u8], limits: &Limits) -> Result<XAttrs<'a>, ParseError> {
        check(raw, Verb::Xclient, limits).map(|()| XAttrs(raw))
    }

    /// Checks an XFORWARD attribute list (XFORWARD_README).
    pub fn xforward(raw: &'a [u8], limits: &Limits) -> Result<XAttrs<'a>, ParseError> {
        check(raw, Verb::Xforward, limits).map(|()| XAttrs(raw))
    }

    /// The list as sent.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The attributes in order.
    pub fn iter(&self) -> XAttrIter<'a> {
        XAttrIter(self.0)
    }

    /// The value of the last attribute called `name`.
    pub fn get(&self, name: XAttrName) -> Option<XAttrValue<'a>> {
        self.iter()
            .filter(|a| a.name == name)
            .last()
            .map(|a| a.value)
    }

    /// Appends `NAME=value` to `out`, after a SP when `out` is not empty,
    /// the value xtext-encoded (RFC 3461 4). The plain values
    /// [`XAttrValue::UNAVAILABLE_TEXT`] and [`XAttrValue::TEMPUNAVAIL_TEXT`]
    /// are the markers. Check the result with [`XAttrs::xclient`] or
    /// [`XAttrs::xforward`].
    pub fn push(out: &mut Vec<u8>, name: XAttrName, value: &[u8]) {
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.push(b'=');
        XText::encode(value, out);
    }
}

impl core::fmt::Debug for XAttrs<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for XAttrs<'a> {
    type Item = XAttr<'a>;
    type IntoIter = XAttrIter<'a>;
    fn into_iter(self) -> XAttrIter<'a> {
        self.iter()
    }
}

/// Iterator over [`XAttrs`]. Skips anything malformed, which a checked
/// [`XAttrs`] never holds.
#[derive(Debug, Clone)]
pub struct XAttrIter<'a>(&'a [u8]);

impl<'a> Iterator for XAttrIter<'a> {
    type Item = XAttr<'a>;
    fn next(&mut self) -> Option<XAttr<'a>> {
        while !self.0.is_empty() {
            let end = memchr::memchr(b' ', self.0).unwrap_or(self.0.len());
            let word = &self.0[..end];
            self.0 = self.0.get(end + 1..).unwrap_or(&[]);
            let Some(eq) = memchr::memchr(b'=', word) else {
                continue;
            };
            let (Some(name), Ok(x)) = (
                XAttrName::from_name(&word[..eq]),
                XText::new(&word[eq + 1..]),
            ) else {
                continue;
            };
            let value = XAttrValue::classify(x, &x.decode());
            return Some(XAttr { name, value });
        }
        None
    }
}

fn check(raw: &[u8], verb: Verb, limits: &Limits) -> Result<(), ParseError> {
    if raw.is_empty() {
        return Err(ParseError::Syntax);
    }
    for word in raw.split(|&b| b == b' ') {
        let Some(eq) = memchr::memchr(b'=', word) else {
            return Err(ParseError::Syntax);
        };
        let name = XAttrName::from_name(&word[..eq]).ok_or(ParseError::InvalidParameter)?;
        let allowed = match verb {
            Verb::Xclient => name.in_xclient(),
            Verb::Xforward => name.in_xforward(),
        };
        if !allowed {
            return Err(ParseError::InvalidParameter);
        }
        let text = &word[eq + 1..];
        if !is_xtext(text) {
            return Err(ParseError::InvalidParameter);
        }
        let x = XText::new(text)?;
        let decoded = x.decode();
        check_value(
            name,
            verb,
            XAttrValue::classify(x, &decoded),
            &decoded,
            limits,
        )?;
    }
    Ok(())
}

fn check_value(
    name: XAttrName,
    verb: Verb,
    value: XAttrValue<'_>,
    v: &[u8],
    limits: &Limits,
) -> Result<(), ParseError> {
    let ok = match value {
        XAttrValue::Unavailable => true,
        XAttrValue::TempUnavail => name == XAttrName::Name && verb == Verb::Xclient,
        XAttrValue::Value(_) => {
            !v.is_empty()
                && v.len() <= limits.domain
                && !v.iter().any(|&b| b < 0x20 || b == 0x7f)
                && match name {
                    XAttrName::Addr | XAttrName::DestAddr => parse_ip(v).is_some(),
                    XAttrName::Port | XAttrName::DestPort => parse_port(v).is_some(),
                    XAttrName::Proto if verb == Verb::Xclient => {
                        v.eq_ignore_ascii_case(b"SMTP") || v.eq_ignore_ascii_case(b"ESMTP")
                    }
                    XAttrName::Proto => v.len() <= 64,
                    XAttrName::Source => {
                        v.eq_ignore_ascii_case(b"LOCAL") || v.eq_ignore_ascii_case(b"REMOTE")
                    }
                    _ => true,
                }
        }
    };
    if ok {
        Ok(())
    } else {
        Err(ParseError::InvalidParameter)
    }
}

fn parse_ip(v: &[u8]) -> Option<IpAddr> {
    let s = core::str::from_utf8(v).ok()?;
    match s.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("IPV6:") => {
            s[5..].parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        }
        _ => s.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

fn parse_port(v: &[u8]) -> Option<u16> {
    if v.is_empty() || v.len() > 5 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    core::str::from_utf8(v).ok()?.parse().ok()
}
