//! Property tests of the PROXY protocol header (HAProxy PROXY protocol
//! spec, sections 2.1 and 2.2): `decode(encode(h)) == h` for every header
//! the strategies build, in both versions; arbitrary bytes never panic;
//! and the decoder's verdict is the same whole, byte by byte, and at any
//! split.
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use proptest::prelude::*;
use smtp_sansio::{
    PROXY_V2_SIGNATURE, ProxyAddresses, ProxyCommand, ProxyConfig, ProxyDecoder, ProxyError,
    ProxyHeader, ProxyStatus, ProxyTlvs, ProxyTransport, ProxyVersion,
};

fn leak(v: Vec<u8>) -> &'static [u8] {
    Box::leak(v.into_boxed_slice())
}

fn addresses(v1: bool) -> BoxedStrategy<ProxyAddresses<'static>> {
    let v4 = (
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        any::<u16>(),
        any::<u16>(),
    )
        .prop_map(|(s, d, sp, dp)| ProxyAddresses::Ipv4 {
            source: SocketAddrV4::new(Ipv4Addr::from(s), sp),
            destination: SocketAddrV4::new(Ipv4Addr::from(d), dp),
        });
    let v6 = (
        any::<[u16; 8]>(),
        any::<[u16; 8]>(),
        any::<u16>(),
        any::<u16>(),
    )
        .prop_map(|(s, d, sp, dp)| ProxyAddresses::Ipv6 {
            source: SocketAddrV6::new(Ipv6Addr::from(s), sp, 0, 0),
            destination: SocketAddrV6::new(Ipv6Addr::from(d), dp, 0, 0),
        });
    if v1 {
        prop_oneof![Just(ProxyAddresses::Unspecified), v4, v6].boxed()
    } else {
        let path = proptest::collection::vec(1u8..=255, 0..=108).prop_map(leak);
        let unix = (path.clone(), path).prop_map(|(s, d)| ProxyAddresses::Unix {
            source: s,
            destination: d,
        });
        prop_oneof![Just(ProxyAddresses::Unspecified), v4, v6, unix].boxed()
    }
}

fn tlvs() -> impl Strategy<Value = ProxyTlvs<'static>> {
    proptest::collection::vec(
        (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..40)),
        0..5,
    )
    .prop_map(|list| {
        let mut raw = Vec::new();
        for (k, v) in list {
            ProxyTlvs::push(&mut raw, k, &v).unwrap();
        }
        ProxyTlvs::new(leak(raw)).unwrap()
    })
}

fn v1_header() -> impl Strategy<Value = ProxyHeader<'static>> {
    addresses(true).prop_map(ProxyHeader::v1)
}

fn v2_header() -> impl Strategy<Value = ProxyHeader<'static>> {
    (
        addresses(false),
        prop_oneof![Just(ProxyCommand::Local), Just(ProxyCommand::Proxy)],
        prop_oneof![
            Just(ProxyTransport::Unspec),
            Just(ProxyTransport::Stream),
            Just(ProxyTransport::Dgram)
        ],
        tlvs(),
    )
        .prop_map(|(addresses, command, transport, tlvs)| ProxyHeader {
            version: ProxyVersion::V2,
            command,
            transport,
            addresses,
            tlvs,
        })
}

fn decode_whole(input: &[u8]) -> Result<ProxyStatus<'_>, ProxyError> {
    ProxyDecoder::new(ProxyConfig::DEFAULT).decode(input)
}

/// Feeds growing prefixes ending at each of `cuts` then the whole input;
/// returns the first non-incomplete verdict.
fn decode_split<'a>(input: &'a [u8], cuts: &[usize]) -> Result<ProxyStatus<'a>, ProxyError> {
    let mut d = ProxyDecoder::new(ProxyConfig::DEFAULT);
    let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    ends.sort_unstable();
    ends.push(input.len());
    for e in ends {
        match d.decode(&input[..e]) {
            Ok(ProxyStatus::Incomplete) => {}
            other => return other,
        }
    }
    Ok(ProxyStatus::Incomplete)
}

fn round_trip(h: &ProxyHeader<'_>, trailer: &[u8]) {
    let mut out = Vec::new();
    h.write_to(&mut out).expect("encodes");
    let len = out.len();
    out.extend_from_slice(trailer);
    let want = Ok(ProxyStatus::Complete { header: *h, len });
    assert_eq!(decode_whole(&out), want);
    let cuts: Vec<usize> = (0..out.len()).collect();
    assert_eq!(decode_split(&out, &cuts), want, "byte by byte");
}

proptest! {
    #[test]
    fn v1_round_trip(h in v1_header(), trailer in proptest::collection::vec(any::<u8>(), 0..8)) {
        round_trip(&h, &trailer);
    }

    #[test]
    fn v2_round_trip(h in v2_header(), trailer in proptest::collection::vec(any::<u8>(), 0..8)) {
        round_trip(&h, &trailer);
    }

    #[test]
    fn arbitrary_bytes_same_verdict_at_any_split(
        input in proptest::collection::vec(any::<u8>(), 0..300),
        cuts in proptest::collection::vec(0usize..300, 0..6),
    ) {
        let whole = decode_whole(&input);
        prop_assert_eq!(decode_split(&input, &cuts), whole);
        if let Ok(ProxyStatus::Complete { header, len }) = whole {
            prop_assert!(len <= input.len());
            let mut out = Vec::new();
            if header.write_to(&mut out).is_ok() {
                prop_assert_eq!(decode_whole(&out), Ok(ProxyStatus::Complete { header, len: out.len() }));
            }
        }
    }

    /// Inputs that start with a signature reach the deeper checks.
    #[test]
    fn signed_bytes_same_verdict_at_any_split(
        v2 in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..250),
        cuts in proptest::collection::vec(0usize..270, 0..6),
    ) {
        let mut input = if v2 { PROXY_V2_SIGNATURE.to_vec() } else { b"PROXY ".to_vec() };
        input.extend_from_slice(&tail);
        let whole = decode_whole(&input);
        prop_assert_eq!(decode_split(&input, &cuts), whole);
        let all: Vec<usize> = (0..input.len()).collect();
        prop_assert_eq!(decode_split(&input, &all), whole);
    }

    /// A version 2 header whose length exceeds the configured bound is
    /// refused as soon as the fixed part is in, whatever follows.
    #[test]
    fn v2_length_bound(max in 0u16..600, h in v2_header()) {
        let mut out = Vec::new();
        h.write_to(&mut out).unwrap();
        let len = u16::from_be_bytes([out[14], out[15]]);
        let cfg = ProxyConfig { max_v2_len: max, ..ProxyConfig::DEFAULT };
        let got = ProxyDecoder::new(cfg).decode(&out[..16]);
        if len > max {
            prop_assert_eq!(got, Err(ProxyError::V2TooLong));
        } else {
            prop_assert_eq!(ProxyDecoder::new(cfg).decode(&out).map(|s| s != ProxyStatus::Incomplete), Ok(true));
        }
    }
}
