//! The PROXY protocol header, versions 1 (text) and 2 (binary), as HAProxy
//! specifies it ("The PROXY protocol, Versions 1 & 2", 2020/03/05;
//! section numbers below refer to that document).
//!
//! A proxy in front of a server prepends one header to the connection that
//! carries the original client's addresses. This module decodes it
//! incrementally and zero-copy ([`ProxyDecoder`]) and encodes it
//! ([`ProxyHeader::write_to`]) for a client that sits behind a proxy and
//! for tests. It performs no I/O: a driver feeds the bytes received since
//! the connection started and, once a header is complete, skips its
//! length and hands the rest to the SMTP machine.
//!
//! Decisions taken here:
//!
//! - The receiver is told which versions to expect ([`ProxyConfig`]):
//!   section 2 forbids guessing whether a header is present, so input that
//!   starts with neither signature is [`ProxyError::NotProxy`] and the
//!   connection must be closed without a greeting.
//! - Version 1 (section 2.1) is strict: exactly one SP between fields, IPv4
//!   as four decimal numbers without leading zeros, IPv6 in RFC 4291 text
//!   form, ports without leading zeros, `CRLF` within the first 107 octets
//!   (a bare CR or LF is an error). After `UNKNOWN` anything up to the
//!   `CRLF` is ignored, as the section requires.
//! - Version 2 (section 2.2): the 12-octet signature, version 2 only,
//!   commands LOCAL and PROXY, families UNSPEC, INET, INET6 and UNIX,
//!   transports UNSPEC, STREAM and DGRAM; any other value is an error. The
//!   16-bit length is bounded by [`ProxyConfig::max_v2_len`] (default the
//!   field's maximum, 65535) and must cover the family's address block.
//!   UNIX paths are the 108-octet fields cut at their first NUL.
//! - The octets after the address block are TLVs (section 2.2), kept raw in
//!   [`ProxyTlvs`]; their bounds are checked once while decoding (a TLV
//!   that overruns the header is [`ProxyError::Tlv`]) and iterated without
//!   copying. Their values (ALPN, authority, CRC32C, SSL sub-TLVs, ...)
//!   are the application's to interpret; the CRC32C checksum (2.2.3) is
//!   not verified here.
//! - The verdict depends only on the bytes, never on how they were split:
//!   each error is reported at the first prefix that proves it, and the
//!   decoder resumes its CRLF search where it stopped, so feeding one
//!   octet at a time costs the same order as one buffer.
//!
//! # Example
//!
//! ```
//! use smtp_sansio::{ProxyAddresses, ProxyConfig, ProxyDecoder, ProxyStatus};
//!
//! let mut dec = ProxyDecoder::new(ProxyConfig::default());
//! let input = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 25\r\nEHLO x\r\n";
//! assert_eq!(dec.decode(&input[..10]), Ok(ProxyStatus::Incomplete));
//! let Ok(ProxyStatus::Complete { header, len }) = dec.decode(input) else {
//!     panic!("a complete header")
//! };
//! assert_eq!(&input[len..], b"EHLO x\r\n");
//! let source = header.source().unwrap();
//! assert_eq!(source.to_string(), "192.168.0.1:56324");
//! assert!(matches!(header.addresses, ProxyAddresses::Ipv4 { .. }));
//! ```

use alloc::vec::Vec;
use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::error::EncodeError;

/// The version 2 signature (section 2.2): `\r\n\r\n\0\r\nQUIT\n`.
pub const PROXY_V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The longest version 1 header, `CRLF` included (section 2.1: 107
/// octets, the `UNKNOWN` worst case).
pub const PROXY_V1_MAX_LEN: usize = 107;

/// The fixed part of a version 2 header (section 2.2): signature,
/// version and command, family and transport, length.
pub const PROXY_V2_FIXED_LEN: usize = 16;

/// A version 1 header starts with `PROXY` and exactly one space (2.1).
const V1_PREFIX: &[u8; 6] = b"PROXY ";

/// The size of one UNIX address field (section 2.2, `unix_addr`).
const UNIX_PATH_LEN: usize = 108;

/// Which versions a listener expects, and the version 2 length bound
/// (section 2: the receiver is configured, it never guesses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Accept the text format (section 2.1).
    pub v1: bool,
    /// Accept the binary format (section 2.2).
    pub v2: bool,
    /// The largest version 2 length field accepted (section 2.2: the
    /// octets after the 16-octet fixed part). Default 65535, the field's
    /// maximum; 520 keeps a header within the 536-octet segment that
    /// section 2 designs for.
    pub max_v2_len: u16,
}

impl ProxyConfig {
    /// Both versions, any version 2 length (sections 2.1 and 2.2).
    pub const DEFAULT: ProxyConfig = ProxyConfig {
        v1: true,
        v2: true,
        max_v2_len: u16::MAX,
    };
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig::DEFAULT
    }
}

/// The header's format (section 2: version 1 is text, version 2 binary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyVersion {
    /// The human-readable format (section 2.1).
    V1,
    /// The binary format (section 2.2).
    V2,
}

/// The version 2 command (section 2.2, the low nibble of the 13th octet).
/// A version 1 header is always [`ProxyCommand::Proxy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyCommand {
    /// `\x0`: the proxy opened the connection itself (a health check); the
    /// receiver uses the real endpoints and ignores the addresses.
    Local,
    /// `\x1`: the connection is relayed; the addresses are the original
    /// client's and server's.
    Proxy,
}

/// The transport protocol (section 2.2, the low nibble of the 14th
/// octet). Version 1 `TCP4`/`TCP6` are [`ProxyTransport::Stream`],
/// `UNKNOWN` is [`ProxyTransport::Unspec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyTransport {
    /// `\x0`: unknown or unspecified.
    Unspec,
    /// `\x1`: `SOCK_STREAM` (TCP, UNIX stream).
    Stream,
    /// `\x2`: `SOCK_DGRAM` (UDP, UNIX datagram).
    Dgram,
}

impl ProxyTransport {
    const fn nibble(self) -> u8 {
        match self {
            ProxyTransport::Unspec => 0,
            ProxyTransport::Stream => 1,
            ProxyTransport::Dgram => 2,
        }
    }
}

/// The original connection's addresses (section 2.1 protocols, section
/// 2.2 address families and the `proxy_addr` block).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyAddresses<'a> {
    /// Version 1 `UNKNOWN`, version 2 `AF_UNSPEC`: no address; the
    /// receiver uses the real endpoints.
    Unspecified,
    /// Version 1 `TCP4`, version 2 `AF_INET` (12-octet block).
    Ipv4 {
        /// The original client.
        source: SocketAddrV4,
        /// The address the client connected to.
        destination: SocketAddrV4,
    },
    /// Version 1 `TCP6`, version 2 `AF_INET6` (36-octet block). Flow
    /// information and scope are zero: the protocol does not carry them.
    Ipv6 {
        /// The original client.
        source: SocketAddrV6,
        /// The address the client connected to.
        destination: SocketAddrV6,
    },
    /// Version 2 `AF_UNIX` (216-octet block): each path is its 108-octet
    /// field up to the first NUL, borrowed from the input.
    Unix {
        /// The client's socket path.
        source: &'a [u8],
        /// The server's socket path.
        destination: &'a [u8],
    },
}

impl ProxyAddresses<'_> {
    /// The version 2 family nibble (section 2.2).
    const fn family(&self) -> u8 {
        match self {
            ProxyAddresses::Unspecified => 0,
            ProxyAddresses::Ipv4 { .. } => 1,
            ProxyAddresses::Ipv6 { .. } => 2,
            ProxyAddresses::Unix { .. } => 3,
        }
    }
}

/// The size of the address block of a version 2 family nibble (2.2).
const fn block_len(family: u8) -> usize {
    match family {
        1 => 12,
        2 => 36,
        3 => 2 * UNIX_PATH_LEN,
        _ => 0,
    }
}

/// A decoded PROXY header, borrowing the input (sections 2.1 and 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProxyHeader<'a> {
    /// Text or binary.
    pub version: ProxyVersion,
    /// LOCAL or PROXY (always PROXY in version 1).
    pub command: ProxyCommand,
    /// The transport protocol.
    pub transport: ProxyTransport,
    /// The original endpoints.
    pub addresses: ProxyAddresses<'a>,
    /// The version 2 TLVs, raw (empty in version 1).
    pub tlvs: ProxyTlvs<'a>,
}

impl<'a> ProxyHeader<'a> {
    /// A version 1 header for a relayed TCP connection (section 2.1), or
    /// `PROXY UNKNOWN` for [`ProxyAddresses::Unspecified`].
    pub const fn v1(addresses: ProxyAddresses<'a>) -> Self {
        let transport = match addresses {
            ProxyAddresses::Unspecified => ProxyTransport::Unspec,
            _ => ProxyTransport::Stream,
        };
        ProxyHeader {
            version: ProxyVersion::V1,
            command: ProxyCommand::Proxy,
            transport,
            addresses,
            tlvs: ProxyTlvs::EMPTY,
        }
    }

    /// A version 2 PROXY header for a relayed stream connection (section
    /// 2.2), without TLVs.
    pub const fn v2(addresses: ProxyAddresses<'a>) -> Self {
        let transport = match addresses {
            ProxyAddresses::Unspecified => ProxyTransport::Unspec,
            _ => ProxyTransport::Stream,
        };
        ProxyHeader {
            version: ProxyVersion::V2,
            command: ProxyCommand::Proxy,
            transport,
            addresses,
            tlvs: ProxyTlvs::EMPTY,
        }
    }

    /// A version 2 LOCAL header (section 2.2: a health check by the proxy
    /// itself): family and transport UNSPEC, no address.
    pub const fn v2_local() -> Self {
        ProxyHeader {
            version: ProxyVersion::V2,
            command: ProxyCommand::Local,
            transport: ProxyTransport::Unspec,
            addresses: ProxyAddresses::Unspecified,
            tlvs: ProxyTlvs::EMPTY,
        }
    }

    /// The original client's IP address and port, when the header relays
    /// one (command PROXY, family INET or INET6; sections 2.1, 2.2).
    /// `None` means: use the real peer address.
    pub fn source(&self) -> Option<SocketAddr> {
        match (self.command, self.addresses) {
            (ProxyCommand::Proxy, ProxyAddresses::Ipv4 { source, .. }) => Some(source.into()),
            (ProxyCommand::Proxy, ProxyAddresses::Ipv6 { source, .. }) => Some(source.into()),
            _ => None,
        }
    }

    /// The address the client connected to, as [`ProxyHeader::source`].
    pub fn destination(&self) -> Option<SocketAddr> {
        match (self.command, self.addresses) {
            (ProxyCommand::Proxy, ProxyAddresses::Ipv4 { destination, .. }) => {
                Some(destination.into())
            }
            (ProxyCommand::Proxy, ProxyAddresses::Ipv6 { destination, .. }) => {
                Some(destination.into())
            }
            _ => None,
        }
    }

    /// Decodes one header at the start of `input` (both sections) without
    /// keeping state: [`ProxyDecoder::decode`] on a fresh decoder.
    pub fn parse(input: &'a [u8], config: &ProxyConfig) -> Result<ProxyStatus<'a>, ProxyError> {
        ProxyDecoder::new(*config).decode(input)
    }

    /// Writes the header (section 2.1 line or section 2.2 block).
    ///
    /// Version 1 can carry only a PROXY command with TCP over IPv4 or IPv6
    /// (transport STREAM), or `UNKNOWN` (no address, transport UNSPEC),
    /// and no TLV: anything else is [`EncodeError::OutOfRange`]. In
    /// version 2 a UNIX path longer than 108 octets is
    /// [`EncodeError::TooLong`], one with a NUL [`EncodeError::InvalidByte`]
    /// (it would read back cut), and a header whose length does not fit
    /// the 16-bit field [`EncodeError::TooLong`]. On error nothing is
    /// written; otherwise decoding the output gives back `self`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self.version {
            ProxyVersion::V1 => self.write_v1(out),
            ProxyVersion::V2 => self.write_v2(out),
        }
    }

    fn write_v1(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        use core::fmt::Write;
        if self.command != ProxyCommand::Proxy || !self.tlvs.is_empty() {
            return Err(EncodeError::OutOfRange);
        }
        let mut w = crate::params::VecWriter(out);
        // Writing into a Vec cannot fail; the results are ignored.
        match (self.addresses, self.transport) {
            (ProxyAddresses::Unspecified, ProxyTransport::Unspec) => {
                let _ = w.write_str("PROXY UNKNOWN\r\n");
            }
            (
                ProxyAddresses::Ipv4 {
                    source,
                    destination,
                },
                ProxyTransport::Stream,
            ) => {
                let _ = write!(
                    w,
                    "PROXY TCP4 {} {} {} {}\r\n",
                    source.ip(),
                    destination.ip(),
                    source.port(),
                    destination.port()
                );
            }
            (
                ProxyAddresses::Ipv6 {
                    source,
                    destination,
                },
                ProxyTransport::Stream,
            ) => {
                let _ = write!(
                    w,
                    "PROXY TCP6 {} {} {} {}\r\n",
                    source.ip(),
                    destination.ip(),
                    source.port(),
                    destination.port()
                );
            }
            _ => return Err(EncodeError::OutOfRange),
        }
        Ok(())
    }

    fn write_v2(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if let ProxyAddresses::Unix {
            source,
            destination,
        } = self.addresses
        {
            for p in [source, destination] {
                if p.len() > UNIX_PATH_LEN {
                    return Err(EncodeError::TooLong);
                }
                if p.contains(&0) {
                    return Err(EncodeError::InvalidByte);
                }
            }
        }
        let family = self.addresses.family();
        let len = block_len(family) + self.tlvs.as_bytes().len();
        let Ok(len) = u16::try_from(len) else {
            return Err(EncodeError::TooLong);
        };
        let cmd = match self.command {
            ProxyCommand::Local => 0,
            ProxyCommand::Proxy => 1,
        };
        out.reserve(PROXY_V2_FIXED_LEN + usize::from(len));
        out.extend_from_slice(&PROXY_V2_SIGNATURE);
        out.push(0x20 | cmd);
        out.push(family << 4 | self.transport.nibble());
        out.extend_from_slice(&len.to_be_bytes());
        match self.addresses {
            ProxyAddresses::Unspecified => {}
            ProxyAddresses::Ipv4 {
                source,
                destination,
            } => {
                out.extend_from_slice(&source.ip().octets());
                out.extend_from_slice(&destination.ip().octets());
                out.extend_from_slice(&source.port().to_be_bytes());
                out.extend_from_slice(&destination.port().to_be_bytes());
            }
            ProxyAddresses::Ipv6 {
                source,
                destination,
            } => {
                out.extend_from_slice(&source.ip().octets());
                out.extend_from_slice(&destination.ip().octets());
                out.extend_from_slice(&source.port().to_be_bytes());
                out.extend_from_slice(&destination.port().to_be_bytes());
            }
            ProxyAddresses::Unix {
                source,
                destination,
            } => {
                for p in [source, destination] {
                    out.extend_from_slice(p);
                    out.resize(out.len() + UNIX_PATH_LEN - p.len(), 0);
                }
            }
        }
        out.extend_from_slice(self.tlvs.as_bytes());
        Ok(())
    }
}

/// Why a PROXY header was refused. Every one means: close the connection
/// without a greeting (section 2.1: "any sequence which does not exactly
/// match the protocol must be discarded and cause the receiver to abort").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyError {
    /// The input starts with neither signature (section 2: the header is
    /// missing, or this is not a PROXY connection).
    NotProxy,
    /// A well-formed signature of a version the listener does not accept
    /// ([`ProxyConfig`]).
    VersionRefused,
    /// Version 1: no `CRLF` within the first 107 octets (section 2.1).
    V1TooLong,
    /// Version 1: a bare CR or LF (section 2.1: only `CRLF` ends the line).
    V1BareLineEnding,
    /// Version 1: an unknown protocol or a missing or extra field or space.
    V1Syntax,
    /// Version 1: an address not in its family's canonical text form.
    V1Address,
    /// Version 1: a port that is not a decimal in 0..=65535 without leading
    /// zeros.
    V1Port,
    /// Version 2: the version nibble is not 2 (section 2.2).
    V2Version,
    /// Version 2: a command other than LOCAL and PROXY (section 2.2).
    V2Command,
    /// Version 2: an unassigned family or transport (section 2.2).
    V2Family,
    /// Version 2: a length over [`ProxyConfig::max_v2_len`].
    V2TooLong,
    /// Version 2: a length shorter than the family's address block
    /// (section 2.2: 12, 36 or 216 octets).
    V2AddressTruncated,
    /// Version 2: a TLV runs past the end of the header (section 2.2).
    Tlv,
}

impl ProxyError {
    /// Short stable identifier, e.g. `not_proxy`, `v1_syntax`.
    pub const fn kind(self) -> &'static str {
        match self {
            ProxyError::NotProxy => "not_proxy",
            ProxyError::VersionRefused => "version_refused",
            ProxyError::V1TooLong => "v1_too_long",
            ProxyError::V1BareLineEnding => "v1_bare_line_ending",
            ProxyError::V1Syntax => "v1_syntax",
            ProxyError::V1Address => "v1_address",
            ProxyError::V1Port => "v1_port",
            ProxyError::V2Version => "v2_version",
            ProxyError::V2Command => "v2_command",
            ProxyError::V2Family => "v2_family",
            ProxyError::V2TooLong => "v2_too_long",
            ProxyError::V2AddressTruncated => "v2_address_truncated",
            ProxyError::Tlv => "tlv",
        }
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

impl core::error::Error for ProxyError {}

/// The outcome of [`ProxyDecoder::decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyStatus<'a> {
    /// More input is needed (not an error: section 2 recommends being
    /// tolerant of a header split across reads).
    Incomplete,
    /// A whole header.
    Complete {
        /// The header, borrowing the input.
        header: ProxyHeader<'a>,
        /// Its length in octets: the SMTP session starts at `input[len..]`.
        len: usize,
    },
}

/// An incremental PROXY header decoder (sections 2.1 and 2.2).
///
/// Call [`ProxyDecoder::decode`] with all the bytes received since the
/// connection started, each time more arrive, until it returns a header
/// or an error. It keeps only how far it has searched for the version 1
/// `CRLF`, so that byte-at-a-time input is scanned once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyDecoder {
    config: ProxyConfig,
    /// Octets of a version 1 line already searched for CR and LF.
    scanned: usize,
}

impl ProxyDecoder {
    /// A decoder for a listener configured with `config`.
    pub const fn new(config: ProxyConfig) -> Self {
        ProxyDecoder { config, scanned: 0 }
    }

    /// The configuration.
    pub const fn config(&self) -> &ProxyConfig {
        &self.config
    }

    /// Decodes the header at the start of `input`, which must hold every
    /// byte received so far (a prefix of what the previous call saw,
    /// extended). Returns [`ProxyStatus::Incomplete`] until the header is
    /// whole; the verdict is the same however the bytes were split.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<ProxyStatus<'a>, ProxyError> {
        match input.first() {
            None => Ok(ProxyStatus::Incomplete),
            Some(b'P') => self.decode_v1(input),
            Some(b'\r') => self.decode_v2(input),
            Some(_) => Err(ProxyError::NotProxy),
        }
    }

    fn decode_v1<'a>(&mut self, input: &'a [u8]) -> Result<ProxyStatus<'a>, ProxyError> {
        let n = input.len().min(V1_PREFIX.len());
        if input[..n] != V1_PREFIX[..n] {
            return Err(ProxyError::NotProxy);
        }
        if n < V1_PREFIX.len() {
            return Ok(ProxyStatus::Incomplete);
        }
        if !self.config.v1 {
            return Err(ProxyError::VersionRefused);
        }
        let window = &input[..input.len().min(PROXY_V1_MAX_LEN)];
        let from = self.scanned.min(window.len());
        let Some(i) = memchr::memchr2(b'\r', b'\n', &window[from..]).map(|i| from + i) else {
            self.scanned = window.len();
            return if window.len() >= PROXY_V1_MAX_LEN {
                Err(ProxyError::V1TooLong)
            } else {
                Ok(ProxyStatus::Incomplete)
            };
        };
        // Resume at the CR itself: its LF may not have arrived yet.
        self.scanned = i;
        if input[i] == b'\n' {
            return Err(ProxyError::V1BareLineEnding);
        }
        if i + 2 > PROXY_V1_MAX_LEN {
            return Err(ProxyError::V1TooLong);
        }
        match input.get(i + 1) {
            None => Ok(ProxyStatus::Incomplete),
            Some(b'\n') => {
                let header = parse_v1(&input[V1_PREFIX.len()..i])?;
                Ok(ProxyStatus::Complete { header, len: i + 2 })
            }
            Some(_) => Err(ProxyError::V1BareLineEnding),
        }
    }

    fn decode_v2<'a>(&mut self, input: &'a [u8]) -> Result<ProxyStatus<'a>, ProxyError> {
        let n = input.len().min(PROXY_V2_SIGNATURE.len());
        if input[..n] != PROXY_V2_SIGNATURE[..n] {
            return Err(ProxyError::NotProxy);
        }
        let Some(&[ver_cmd, fam, hi, lo]) = input.get(12..16) else {
            // Check what has arrived of the fixed part, in order.
            if n == PROXY_V2_SIGNATURE.len() && !self.config.v2 {
                return Err(ProxyError::VersionRefused);
            }
            if let Some(&vc) = input.get(12) {
                check_ver_cmd(vc)?;
            }
            if let Some(&f) = input.get(13) {
                check_family(f)?;
            }
            return Ok(ProxyStatus::Incomplete);
        };
        if !self.config.v2 {
            return Err(ProxyError::VersionRefused);
        }
        let command = check_ver_cmd(ver_cmd)?;
        let (family, transport) = check_family(fam)?;
        let len = u16::from_be_bytes([hi, lo]);
        if len > self.config.max_v2_len {
            return Err(ProxyError::V2TooLong);
        }
        let len = usize::from(len);
        let block = block_len(family);
        if len < block {
            return Err(ProxyError::V2AddressTruncated);
        }
        let Some(body) = input.get(PROXY_V2_FIXED_LEN..PROXY_V2_FIXED_LEN + len) else {
            return Ok(ProxyStatus::Incomplete);
        };
        let (addr, tlvs) = body.split_at(block);
        let addresses = match family {
            1 => ProxyAddresses::Ipv4 {
                source: SocketAddrV4::new(ipv4(&addr[0..4]), port(&addr[8..10])),
                destination: SocketAddrV4::new(ipv4(&addr[4..8]), port(&addr[10..12])),
            },
            2 => ProxyAddresses::Ipv6 {
                source: SocketAddrV6::new(ipv6(&addr[0..16]), port(&addr[32..34]), 0, 0),
                destination: SocketAddrV6::new(ipv6(&addr[16..32]), port(&addr[34..36]), 0, 0),
            },
            3 => {
                let (s, d) = addr.split_at(UNIX_PATH_LEN);
                ProxyAddresses::Unix {
                    source: until_nul(s),
                    destination: until_nul(d),
                }
            }
            _ => ProxyAddresses::Unspecified,
        };
        let header = ProxyHeader {
            version: ProxyVersion::V2,
            command,
            transport,
            addresses,
            tlvs: ProxyTlvs::new(tlvs)?,
        };
        Ok(ProxyStatus::Complete {
            header,
            len: PROXY_V2_FIXED_LEN + len,
        })
    }
}

fn check_ver_cmd(b: u8) -> Result<ProxyCommand, ProxyError> {
    if b >> 4 != 2 {
        return Err(ProxyError::V2Version);
    }
    match b & 0x0f {
        0 => Ok(ProxyCommand::Local),
        1 => Ok(ProxyCommand::Proxy),
        _ => Err(ProxyError::V2Command),
    }
}

fn check_family(b: u8) -> Result<(u8, ProxyTransport), ProxyError> {
    let family = b >> 4;
    let transport = match b & 0x0f {
        0 => ProxyTransport::Unspec,
        1 => ProxyTransport::Stream,
        2 => ProxyTransport::Dgram,
        _ => return Err(ProxyError::V2Family),
    };
    if family > 3 {
        return Err(ProxyError::V2Family);
    }
    Ok((family, transport))
}

fn ipv4(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

fn ipv6(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    Ipv6Addr::from(a)
}

fn port(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn until_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

/// The version 1 line after `PROXY ` and before `CRLF` (section 2.1).
fn parse_v1(line: &[u8]) -> Result<ProxyHeader<'static>, ProxyError> {
    if let Some(rest) = line.strip_prefix(b"UNKNOWN") {
        // "the receiver must ignore anything presented before the CRLF".
        return match rest.first() {
            None | Some(b' ') => Ok(ProxyHeader::v1(ProxyAddresses::Unspecified)),
            Some(_) => Err(ProxyError::V1Syntax),
        };
    }
    let (v6, rest) = if let Some(r) = line.strip_prefix(b"TCP4 ") {
        (false, r)
    } else if let Some(r) = line.strip_prefix(b"TCP6 ") {
        (true, r)
    } else {
        return Err(ProxyError::V1Syntax);
    };
    let mut fields = rest.split(|&b| b == b' ');
    let mut next = || fields.next().ok_or(ProxyError::V1Syntax);
    let (src, dst, sport, dport) = (next()?, next()?, next()?, next()?);
    if fields.next().is_some() {
        return Err(ProxyError::V1Syntax);
    }
    let (sport, dport) = (v1_port(sport)?, v1_port(dport)?);
    let addresses = if v6 {
        ProxyAddresses::Ipv6 {
            source: SocketAddrV6::new(v1_ipv6(src)?, sport, 0, 0),
            destination: SocketAddrV6::new(v1_ipv6(dst)?, dport, 0, 0),
        }
    } else {
        ProxyAddresses::Ipv4 {
            source: SocketAddrV4::new(v1_ipv4(src)?, sport),
            destination: SocketAddrV4::new(v1_ipv4(dst)?, dport),
        }
    };
    Ok(ProxyHeader::v1(addresses))
}

/// 1 to `max_digits` decimal digits, no leading zero, value at most `max`.
fn decimal(s: &[u8], max_digits: usize, max: u32) -> Option<u32> {
    if s.is_empty() || s.len() > max_digits || (s.len() > 1 && s[0] == b'0') {
        return None;
    }
    let mut v: u32 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(b - b'0');
    }
    (v <= max).then_some(v)
}

fn v1_port(s: &[u8]) -> Result<u16, ProxyError> {
    decimal(s, 5, 65535)
        .and_then(|v| u16::try_from(v).ok())
        .ok_or(ProxyError::V1Port)
}

/// Four decimal numbers in 0..=255 without leading zeros (section 2.1).
fn v1_ipv4(s: &[u8]) -> Result<Ipv4Addr, ProxyError> {
    let mut o = [0u8; 4];
    let mut parts = s.split(|&b| b == b'.');
    for slot in &mut o {
        let p = parts.next().ok_or(ProxyError::V1Address)?;
        let v = decimal(p, 3, 255).ok_or(ProxyError::V1Address)?;
        *slot = u8::try_from(v).map_err(|_| ProxyError::V1Address)?;
    }
    if parts.next().is_some() {
        return Err(ProxyError::V1Address);
    }
    Ok(Ipv4Addr::from(o))
}

/// RFC 4291 2.2 text form, at most 39 octets (section 2.1).
fn v1_ipv6(s: &[u8]) -> Result<Ipv6Addr, ProxyError> {
    if s.len() > 45
        || !s
            .iter()
            .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    {
        return Err(ProxyError::V1Address);
    }
    core::str::from_utf8(s)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(ProxyError::V1Address)
}

/// The TLV vectors after a version 2 address block (section 2.2), kept
/// raw. A value always holds a whole number of well-formed TLVs: the
/// constructor checks every length against the remaining octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ProxyTlvs<'a>(&'a [u8]);

impl<'a> ProxyTlvs<'a> {
    /// No TLV.
    pub const EMPTY: ProxyTlvs<'static> = ProxyTlvs(&[]);

    /// Checks that `raw` is a sequence of whole TLVs (type, 16-bit length,
    /// value; section 2.2). A TLV that runs past the end is
    /// [`ProxyError::Tlv`].
    pub fn new(raw: &'a [u8]) -> Result<Self, ProxyError> {
        let mut rest = raw;
        while !rest.is_empty() {
            let Some(&[_, hi, lo]) = rest.get(..3) else {
                return Err(ProxyError::Tlv);
            };
            let end = 3 + usize::from(u16::from_be_bytes([hi, lo]));
            rest = rest.get(end..).ok_or(ProxyError::Tlv)?;
        }
        Ok(ProxyTlvs(raw))
    }

    /// The raw octets.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Whether there is no TLV.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The TLVs in order.
    pub fn iter(&self) -> ProxyTlvIter<'a> {
        ProxyTlvIter(self.0)
    }

    /// The value of the first TLV of type `kind`, if any.
    pub fn get(&self, kind: u8) -> Option<&'a [u8]> {
        self.iter().find(|t| t.kind == kind).map(|t| t.value)
    }

    /// Appends one TLV to `out` (section 2.2: type, length in network
    /// order, value), for building [`ProxyTlvs`] to encode. A value longer
    /// than 65535 octets is [`EncodeError::TooLong`].
    pub fn push(out: &mut Vec<u8>, kind: u8, value: &[u8]) -> Result<(), EncodeError> {
        let len = u16::try_from(value.len()).map_err(|_| EncodeError::TooLong)?;
        out.push(kind);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(value);
        Ok(())
    }
}

impl<'a> IntoIterator for ProxyTlvs<'a> {
    type Item = ProxyTlv<'a>;
    type IntoIter = ProxyTlvIter<'a>;
    fn into_iter(self) -> ProxyTlvIter<'a> {
        self.iter()
    }
}

/// One TLV (section 2.2, `pp2_tlv`), borrowing the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProxyTlv<'a> {
    /// The type octet (see the `PP2_TYPE_*` constants on this type).
    pub kind: u8,
    /// The value.
    pub value: &'a [u8],
}

impl ProxyTlv<'_> {
    /// `PP2_TYPE_ALPN` (section 2.2.1).
    pub const ALPN: u8 = 0x01;
    /// `PP2_TYPE_AUTHORITY`: the TLS SNI or host name (section 2.2.2).
    pub const AUTHORITY: u8 = 0x02;
    /// `PP2_TYPE_CRC32C` (section 2.2.3).
    pub const CRC32C: u8 = 0x03;
    /// `PP2_TYPE_NOOP`: padding (section 2.2.4).
    pub const NOOP: u8 = 0x04;
    /// `PP2_TYPE_UNIQUE_ID` (section 2.2.5).
    pub const UNIQUE_ID: u8 = 0x05;
    /// `PP2_TYPE_SSL`, with sub-TLVs inside its value (section 2.2.6).
    pub const SSL: u8 = 0x20;
    /// `PP2_TYPE_NETNS` (section 2.2.7).
    pub const NETNS: u8 = 0x30;
}

/// Iterator over [`ProxyTlvs`] (section 2.2). It re-checks each length and
/// stops at the first TLV that would run past the end (which a checked
/// [`ProxyTlvs`] never holds).
#[derive(Debug, Clone)]
pub struct ProxyTlvIter<'a>(&'a [u8]);

impl<'a> Iterator for ProxyTlvIter<'a> {
    type Item = ProxyTlv<'a>;
    fn next(&mut self) -> Option<ProxyTlv<'a>> {
        let &[kind, hi, lo, ..] = self.0 else {
            self.0 = &[];
            return None;
        };
        let end = 3 + usize::from(u16::from_be_bytes([hi, lo]));
        let Some(value) = self.0.get(3..end) else {
            self.0 = &[];
            return None;
        };
        self.0 = &self.0[end..];
        Some(ProxyTlv { kind, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn complete(input: &[u8]) -> (ProxyHeader<'_>, usize) {
        match ProxyHeader::parse(input, &ProxyConfig::DEFAULT) {
            Ok(ProxyStatus::Complete { header, len }) => (header, len),
            other => panic!("{other:?}"),
        }
    }

    fn err(input: &[u8]) -> ProxyError {
        match ProxyHeader::parse(input, &ProxyConfig::DEFAULT) {
            Err(e) => e,
            other => panic!("{other:?}"),
        }
    }

    /// Byte by byte, the decoder gives the one-buffer verdict.
    fn bytewise(input: &[u8]) -> Result<ProxyStatus<'_>, ProxyError> {
        let mut d = ProxyDecoder::new(ProxyConfig::DEFAULT);
        for i in 0..input.len() {
            match d.decode(&input[..=i]) {
                Ok(ProxyStatus::Incomplete) => {}
                other => return other,
            }
        }
        Ok(ProxyStatus::Incomplete)
    }

    #[test]
    fn v1_spec_example() {
        // Section 2.1's example line before an HTTP request.
        let input = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
        let (h, len) = complete(input);
        assert_eq!(len, 47);
        assert_eq!(h.version, ProxyVersion::V1);
        assert_eq!(h.command, ProxyCommand::Proxy);
        assert_eq!(h.transport, ProxyTransport::Stream);
        assert_eq!(
            h.addresses,
            ProxyAddresses::Ipv4 {
                source: SocketAddrV4::new(Ipv4Addr::new(192, 168, 0, 1), 56324),
                destination: SocketAddrV4::new(Ipv4Addr::new(192, 168, 0, 11), 443),
            }
        );
        assert_eq!(
            bytewise(input),
            Ok(ProxyStatus::Complete { header: h, len })
        );
    }

    #[test]
    fn v1_spec_maximum_lines() {
        // Section 2.1's longest lines: 56, 104 and 107 octets.
        let tcp4 = b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
        assert_eq!(complete(tcp4).1, 56);
        let f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        let tcp6 = alloc::format!("PROXY TCP6 {f} {f} 65535 65535\r\n");
        let (h, len) = complete(tcp6.as_bytes());
        assert_eq!(len, 104);
        assert_eq!(
            h.source(),
            Some(
                "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"
                    .parse()
                    .unwrap()
            )
        );
        let unknown = alloc::format!("PROXY UNKNOWN {f} {f} 65535 65535\r\n");
        let (h, len) = complete(unknown.as_bytes());
        assert_eq!(len, PROXY_V1_MAX_LEN);
        assert_eq!(h.addresses, ProxyAddresses::Unspecified);
        assert_eq!(h.source(), None);
        assert_eq!(
            complete(b"PROXY UNKNOWN\r\n"),
            (ProxyHeader::v1(ProxyAddresses::Unspecified), 15)
        );
        // One octet more than the worst case.
        let over = alloc::format!("PROXY UNKNOWN {f} {f} 65535 655350\r\n");
        assert_eq!(err(over.as_bytes()), ProxyError::V1TooLong);
        assert_eq!(bytewise(over.as_bytes()), Err(ProxyError::V1TooLong));
    }

    #[test]
    fn v1_refusals() {
        let cases: &[(&[u8], ProxyError)] = &[
            (
                b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n",
                ProxyError::V1BareLineEnding,
            ),
            (
                b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\rx",
                ProxyError::V1BareLineEnding,
            ),
            (b"PROXY  TCP4 1.2.3.4 1.2.3.4 1 2\r\n", ProxyError::V1Syntax),
            (b"PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", ProxyError::V1Syntax),
            (b"PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", ProxyError::V1Syntax),
            (b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n", ProxyError::V1Syntax),
            (b"PROXY UNKNOWNX\r\n", ProxyError::V1Syntax),
            (
                b"PROXY TCP4 01.2.3.4 1.2.3.4 1 2\r\n",
                ProxyError::V1Address,
            ),
            (
                b"PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n",
                ProxyError::V1Address,
            ),
            (b"PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n", ProxyError::V1Address),
            (b"PROXY TCP4 ::1 1.2.3.4 1 2\r\n", ProxyError::V1Address),
            (b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", ProxyError::V1Address),
            (b"PROXY TCP6 ::1 ::1 1 65536\r\n", ProxyError::V1Port),
            (b"PROXY TCP6 ::1 ::1 01 2\r\n", ProxyError::V1Port),
            (b"PROXY TCP6 ::1 ::1 -1 2\r\n", ProxyError::V1Port),
            (b"proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n", ProxyError::NotProxy),
            (b"EHLO x\r\n", ProxyError::NotProxy),
            (b"PROXYTCP4\r\n", ProxyError::NotProxy),
        ];
        for (input, want) in cases {
            assert_eq!(err(input), *want, "{:?}", core::str::from_utf8(input));
            assert_eq!(
                bytewise(input),
                Err(*want),
                "{:?}",
                core::str::from_utf8(input)
            );
        }
    }

    fn v2(cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
        let mut v = PROXY_V2_SIGNATURE.to_vec();
        v.push(cmd);
        v.push(fam);
        v.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn v2_tcp4_known_answer() {
        // Section 2.2 layout: \x21 (v2, PROXY), \x11 (TCP over IPv4),
        // length 12, then src, dst, sport, dport in network order.
        let mut input = v2(
            0x21,
            0x11,
            &[192, 168, 0, 1, 192, 168, 0, 11, 0xdc, 0x04, 0x00, 0x19],
        );
        input.extend_from_slice(b"EHLO x\r\n");
        let (h, len) = complete(&input);
        assert_eq!(len, 28);
        assert_eq!(h.version, ProxyVersion::V2);
        assert_eq!(h.source(), Some("192.168.0.1:56324".parse().unwrap()));
        assert_eq!(h.destination(), Some("192.168.0.11:25".parse().unwrap()));
        assert!(h.tlvs.is_empty());
        let mut out = Vec::new();
        h.write_to(&mut out).unwrap();
        assert_eq!(out, input[..len]);
        assert_eq!(
            bytewise(&input),
            Ok(ProxyStatus::Complete { header: h, len })
        );
    }

    #[test]
    fn v2_tcp6_unix_local_and_tlvs() {
        let mut body = Vec::new();
        body.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        body.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        body.extend_from_slice(&[0, 1, 0, 25]);
        ProxyTlvs::push(&mut body, ProxyTlv::AUTHORITY, b"mx.example.com").unwrap();
        ProxyTlvs::push(&mut body, ProxyTlv::NOOP, b"").unwrap();
        let input = v2(0x21, 0x21, &body);
        let (h, len) = complete(&input);
        assert_eq!(len, input.len());
        assert_eq!(h.source(), Some("[::1]:1".parse().unwrap()));
        assert_eq!(
            h.tlvs.get(ProxyTlv::AUTHORITY),
            Some(&b"mx.example.com"[..])
        );
        let kinds: Vec<u8> = h.tlvs.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, vec![ProxyTlv::AUTHORITY, ProxyTlv::NOOP]);

        let mut unix = vec![0u8; 216];
        unix[..8].copy_from_slice(b"/tmp/cli");
        unix[108..116].copy_from_slice(b"/tmp/srv");
        let input = v2(0x21, 0x31, &unix);
        let (h, _) = complete(&input);
        assert_eq!(
            h.addresses,
            ProxyAddresses::Unix {
                source: b"/tmp/cli",
                destination: b"/tmp/srv"
            }
        );
        assert_eq!(h.source(), None);

        // LOCAL with UNSPEC and no address (a health check).
        let input = v2(0x20, 0x00, &[]);
        assert_eq!(complete(&input), (ProxyHeader::v2_local(), 16));
        // LOCAL with an address: parsed, but no source to use.
        let input = v2(0x20, 0x11, &[1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2]);
        let (h, _) = complete(&input);
        assert_eq!(h.command, ProxyCommand::Local);
        assert_eq!(h.source(), None);
    }

    #[test]
    fn v2_refusals() {
        let tcp4 = [1u8, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2];
        let cases: &[(Vec<u8>, ProxyError)] = &[
            (v2(0x11, 0x11, &tcp4), ProxyError::V2Version),
            (v2(0x22, 0x11, &tcp4), ProxyError::V2Command),
            (v2(0x21, 0x41, &tcp4), ProxyError::V2Family),
            (v2(0x21, 0x13, &tcp4), ProxyError::V2Family),
            (v2(0x21, 0x21, &tcp4), ProxyError::V2AddressTruncated),
            (
                v2(0x21, 0x11, &[&tcp4[..], &[1, 0, 5, 0]].concat()),
                ProxyError::Tlv,
            ),
            (
                v2(0x21, 0x11, &[&tcp4[..], &[1, 0]].concat()),
                ProxyError::Tlv,
            ),
            (b"\r\n\r\n\0\r\nQUIT\r".to_vec(), ProxyError::NotProxy),
        ];
        for (input, want) in cases {
            assert_eq!(err(input), *want, "{input:?}");
            assert_eq!(bytewise(input), Err(*want), "{input:?}");
        }
        let small = ProxyConfig {
            max_v2_len: 11,
            ..ProxyConfig::DEFAULT
        };
        let input = v2(0x21, 0x11, &tcp4);
        assert_eq!(
            ProxyHeader::parse(&input, &small),
            Err(ProxyError::V2TooLong)
        );
        let v1_only = ProxyConfig {
            v2: false,
            ..ProxyConfig::DEFAULT
        };
        assert_eq!(
            ProxyHeader::parse(&input, &v1_only),
            Err(ProxyError::VersionRefused)
        );
        assert_eq!(
            ProxyHeader::parse(&input[..12], &v1_only),
            Err(ProxyError::VersionRefused)
        );
        let v2_only = ProxyConfig {
            v1: false,
            ..ProxyConfig::DEFAULT
        };
        assert_eq!(
            ProxyHeader::parse(b"PROXY UNKNOWN\r\n", &v2_only),
            Err(ProxyError::VersionRefused)
        );
        assert_eq!(
            ProxyHeader::parse(b"PROXY", &v2_only),
            Ok(ProxyStatus::Incomplete)
        );
    }

    #[test]
    fn encoder_refusals() {
        let mut out = Vec::new();
        let unix = ProxyAddresses::Unix {
            source: b"/a",
            destination: b"/b",
        };
        assert_eq!(
            ProxyHeader::v1(unix).write_to(&mut out),
            Err(EncodeError::OutOfRange)
        );
        let mut local = ProxyHeader::v2_local();
        local.version = ProxyVersion::V1;
        assert_eq!(local.write_to(&mut out), Err(EncodeError::OutOfRange));
        let long = [b'a'; 109];
        let h = ProxyHeader::v2(ProxyAddresses::Unix {
            source: &long,
            destination: b"/b",
        });
        assert_eq!(h.write_to(&mut out), Err(EncodeError::TooLong));
        let h = ProxyHeader::v2(ProxyAddresses::Unix {
            source: b"a\0b",
            destination: b"/b",
        });
        assert_eq!(h.write_to(&mut out), Err(EncodeError::InvalidByte));
        let mut big = Vec::new();
        ProxyTlvs::push(&mut big, 0xe0, &[0; 65530]).unwrap();
        let mut h = ProxyHeader::v2(unix);
        h.tlvs = ProxyTlvs::new(&big).unwrap();
        assert_eq!(h.write_to(&mut out), Err(EncodeError::TooLong));
        assert!(out.is_empty());
        assert_eq!(ProxyTlvs::new(&[1, 0]), Err(ProxyError::Tlv));
        let v1 = ProxyHeader::v1(ProxyAddresses::Unspecified);
        v1.write_to(&mut out).unwrap();
        assert_eq!(out, b"PROXY UNKNOWN\r\n");
    }
}
