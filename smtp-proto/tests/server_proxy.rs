//! The PROXY protocol header before the greeting ("The PROXY protocol,
//! Versions 1 & 2", section 2) when `ServerConfig::proxy` is set: versions
//! 1 and 2, split input, LOCAL and UNKNOWN, malformed headers, EOF and
//! timeout before the header, commands behind the header, and a header on
//! a server that does not expect one.

use std::net::SocketAddr;

use smtp_sansio::{
    PortMode, ProxyAddresses, ProxyCommand, ProxyConfig, ProxyError, ProxyHeader, ProxyOrigin,
    ProxyTlvs, ProxyVersion, Server, ServerConfig, ServerEvent, Violation,
};

/// What the server reported, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Proxy(ProxyOrigin),
    Connected,
    Hello(String),
    Mail,
    Violation(Violation),
    Closed,
    Other(String),
}

fn cfg(proxy: Option<ProxyConfig>) -> ServerConfig {
    let mut c = ServerConfig::new(PortMode::Relay, "mx.example.net");
    c.proxy = proxy;
    c
}

/// Handles every event (accepting every decision); returns the events.
fn pump(s: &mut Server) -> Vec<Ev> {
    let mut evs = Vec::new();
    while let Some(ev) = s.next_event() {
        let decide = ev.needs_decision();
        evs.push(match ev {
            ServerEvent::Proxy(o) => Ev::Proxy(o),
            ServerEvent::Connected => Ev::Connected,
            ServerEvent::Hello { domain, .. } => Ev::Hello(domain.to_string()),
            ServerEvent::Mail { .. } => Ev::Mail,
            ServerEvent::Violation(v) => Ev::Violation(v),
            ServerEvent::Closed => Ev::Closed,
            other => Ev::Other(format!("{other:?}")),
        });
        if decide {
            s.accept().unwrap();
        }
    }
    evs
}

/// Feeds `chunks` one read each, handling events and transmitting after
/// each; returns the events and the output.
fn run(proxy: Option<ProxyConfig>, chunks: &[&[u8]]) -> (Server, Vec<Ev>, String) {
    let mut s = Server::new(cfg(proxy));
    let mut evs = pump(&mut s);
    let mut out = Vec::new();
    s.transmit(&mut out);
    for c in chunks {
        s.receive(c);
        evs.extend(pump(&mut s));
        s.transmit(&mut out);
    }
    (s, evs, String::from_utf8(out).unwrap())
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const V1: &[u8] = b"PROXY TCP4 192.0.2.10 198.51.100.25 56324 25\r\n";

fn v2_tcp6_with_tlv() -> Vec<u8> {
    let (SocketAddr::V6(src), SocketAddr::V6(dst)) =
        (addr("[2001:db8::1]:40000"), addr("[2001:db8::25]:25"))
    else {
        unreachable!()
    };
    // One ALPN TLV (type 0x01, section 2.2.1).
    let tlv = [0x01, 0x00, 0x04, b's', b'm', b't', b'p'];
    let mut h = ProxyHeader::v2(ProxyAddresses::Ipv6 {
        source: src,
        destination: dst,
    });
    h.tlvs = ProxyTlvs::new(&tlv).unwrap();
    let mut out = Vec::new();
    h.write_to(&mut out).unwrap();
    out
}

#[test]
fn v1_header_then_greeting_and_commands() {
    let mut s = Server::new(cfg(Some(ProxyConfig::DEFAULT)));
    // Nothing before the header: no event, no greeting.
    assert_eq!(pump(&mut s), vec![]);
    assert!(!s.has_output());
    s.receive(V1);
    let evs = pump(&mut s);
    let Ev::Proxy(o) = &evs[0] else {
        panic!("{evs:?}")
    };
    assert_eq!(o.version, ProxyVersion::V1);
    assert_eq!(o.command, ProxyCommand::Proxy);
    assert_eq!(o.source, Some(addr("192.0.2.10:56324")));
    assert_eq!(o.destination, Some(addr("198.51.100.25:25")));
    assert!(o.tlvs.is_empty());
    assert_eq!(evs[1], Ev::Connected);
    let mut out = Vec::new();
    s.transmit(&mut out);
    assert_eq!(out, b"220 mx.example.net ESMTP ready\r\n");
    s.receive(b"EHLO client.example\r\n");
    assert_eq!(pump(&mut s), vec![Ev::Hello("client.example".into())]);
    out.clear();
    s.transmit(&mut out);
    assert!(out.starts_with(b"250-mx.example.net"));
}

#[test]
fn v2_header_keeps_addresses_and_raw_tlvs() {
    let h = v2_tcp6_with_tlv();
    let (_, evs, out) = run(Some(ProxyConfig::DEFAULT), &[&h]);
    let Ev::Proxy(o) = &evs[0] else {
        panic!("{evs:?}")
    };
    assert_eq!(o.version, ProxyVersion::V2);
    assert_eq!(o.source, Some(addr("[2001:db8::1]:40000")));
    assert_eq!(o.destination, Some(addr("[2001:db8::25]:25")));
    assert_eq!(o.tlvs, [0x01, 0x00, 0x04, b's', b'm', b't', b'p']);
    let tlvs = ProxyTlvs::new(&o.tlvs).unwrap();
    assert_eq!(tlvs.get(0x01), Some(&b"smtp"[..]));
    assert_eq!(evs[1], Ev::Connected);
    assert_eq!(out, "220 mx.example.net ESMTP ready\r\n");
}

#[test]
fn header_split_byte_by_byte_gives_the_same_result() {
    for header in [V1.to_vec(), v2_tcp6_with_tlv()] {
        let (_, whole, whole_out) = run(Some(ProxyConfig::DEFAULT), &[&header, b"NOOP\r\n"]);
        let mut chunks: Vec<&[u8]> = header.chunks(1).collect();
        chunks.push(b"NOOP\r\n");
        let mut s = Server::new(cfg(Some(ProxyConfig::DEFAULT)));
        let mut evs = Vec::new();
        let mut out = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            s.receive(c);
            evs.extend(pump(&mut s));
            s.transmit(&mut out);
            if i + 1 < header.len() {
                // No greeting and no event before the last octet.
                assert!(evs.is_empty() && out.is_empty(), "after {} octets", i + 1);
            }
        }
        assert_eq!(evs, whole);
        assert_eq!(String::from_utf8(out).unwrap(), whole_out);
        let codes: Vec<&str> = whole_out
            .split_terminator("\r\n")
            .map(|l| &l[..3])
            .collect();
        assert_eq!(codes, ["220", "250"], "{whole_out}");
    }
}

#[test]
fn v2_local_means_the_real_peer() {
    let mut h = Vec::new();
    ProxyHeader::v2_local().write_to(&mut h).unwrap();
    let (_, evs, out) = run(Some(ProxyConfig::DEFAULT), &[&h]);
    let Ev::Proxy(o) = &evs[0] else {
        panic!("{evs:?}")
    };
    assert_eq!(o.command, ProxyCommand::Local);
    assert_eq!((o.source, o.destination), (None, None));
    assert_eq!(evs[1], Ev::Connected);
    assert!(out.starts_with("220 "));
}

#[test]
fn v1_unknown_means_the_real_peer() {
    let (_, evs, out) = run(
        Some(ProxyConfig::DEFAULT),
        &[b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"],
    );
    let Ev::Proxy(o) = &evs[0] else {
        panic!("{evs:?}")
    };
    assert_eq!((o.source, o.destination), (None, None));
    assert!(out.starts_with("220 "));
}

#[test]
fn malformed_headers_close_without_any_output() {
    let cases: [(&[u8], ProxyError); 4] = [
        (b"EHLO client.example\r\n", ProxyError::NotProxy),
        (
            b"PROXY TCP4 192.0.2.010 198.51.100.25 1 25\r\n",
            ProxyError::V1Address,
        ),
        (
            b"PROXY TCP4 192.0.2.1 198.51.100.25 1 25\n",
            ProxyError::V1BareLineEnding,
        ),
        (&[b'A'; 10], ProxyError::NotProxy),
    ];
    for (input, err) in cases {
        let (s, evs, out) = run(Some(ProxyConfig::DEFAULT), &[input, b"QUIT\r\n"]);
        assert_eq!(
            evs,
            vec![Ev::Violation(Violation::ProxyHeader(err)), Ev::Closed],
            "{input:?}"
        );
        assert_eq!(out, "", "{input:?}");
        assert!(s.is_closed());
    }
}

#[test]
fn v2_header_over_the_bound_closes_without_output() {
    let h = v2_tcp6_with_tlv();
    let bound = ProxyConfig {
        max_v2_len: 36,
        ..ProxyConfig::DEFAULT
    };
    // Refused as soon as the length field is known.
    let (s, evs, out) = run(Some(bound), &[&h[..16]]);
    assert_eq!(
        evs,
        vec![
            Ev::Violation(Violation::ProxyHeader(ProxyError::V2TooLong)),
            Ev::Closed
        ]
    );
    assert_eq!(out, "");
    assert!(s.is_closed());
}

#[test]
fn version_not_configured_is_refused() {
    let v2_only = ProxyConfig {
        v1: false,
        ..ProxyConfig::DEFAULT
    };
    let (_, evs, out) = run(Some(v2_only), &[V1]);
    assert_eq!(
        evs,
        vec![
            Ev::Violation(Violation::ProxyHeader(ProxyError::VersionRefused)),
            Ev::Closed
        ]
    );
    assert_eq!(out, "");
}

#[test]
fn eof_and_timeout_before_the_header_close_without_output() {
    let mut s = Server::new(cfg(Some(ProxyConfig::DEFAULT)));
    assert_eq!(s.timeout(), Some(std::time::Duration::from_secs(300)));
    s.receive(&V1[..20]);
    assert_eq!(pump(&mut s), vec![]);
    s.receive_eof();
    assert_eq!(
        pump(&mut s),
        vec![Ev::Violation(Violation::ProxyHeaderIncomplete), Ev::Closed]
    );
    assert!(!s.has_output() && s.is_closed());

    let mut s = Server::new(cfg(Some(ProxyConfig::DEFAULT)));
    s.receive(&V1[..20]);
    pump(&mut s);
    s.handle_timeout();
    assert_eq!(
        pump(&mut s),
        vec![Ev::Violation(Violation::ProxyHeaderTimeout), Ev::Closed]
    );
    assert!(!s.has_output() && s.is_closed());
}

#[test]
fn pipelined_commands_behind_the_header_in_the_same_read_are_kept() {
    // EHLO ends a group (RFC 2920 3.1): it alone behind the header.
    let mut input = V1.to_vec();
    input.extend_from_slice(b"EHLO client.example\r\n");
    let (s, evs, out) = run(Some(ProxyConfig::DEFAULT), &[&input]);
    assert!(matches!(evs[0], Ev::Proxy(_)));
    assert_eq!(
        evs[1..],
        [Ev::Connected, Ev::Hello("client.example".into())]
    );
    assert!(out.starts_with("220 mx.example.net ESMTP ready\r\n250-mx.example.net"));
    assert!(!s.is_closed());

    // A group: RSET then NOOP, answered in order after the greeting.
    let mut input = V1.to_vec();
    input.extend_from_slice(b"RSET\r\nNOOP\r\n");
    let (s, evs, out) = run(Some(ProxyConfig::DEFAULT), &[&input]);
    assert!(matches!(evs[0], Ev::Proxy(_)));
    assert_eq!(evs[1], Ev::Connected);
    let codes: Vec<&str> = out.split_terminator("\r\n").map(|l| &l[..3]).collect();
    assert_eq!(codes, ["220", "250", "250"], "{out}");
    assert!(!s.is_closed());
}

#[test]
fn commands_behind_the_header_are_early_talk_when_refused() {
    let mut c = cfg(Some(ProxyConfig::DEFAULT));
    c.early_talker = true;
    let mut s = Server::new(c);
    let mut input = V1.to_vec();
    input.extend_from_slice(b"EHLO client.example\r\n");
    s.receive(&input);
    let evs = pump(&mut s);
    assert!(matches!(evs[0], Ev::Proxy(_)));
    assert_eq!(
        evs[1..],
        [Ev::Violation(Violation::EarlyTalker), Ev::Closed]
    );
    let mut out = Vec::new();
    s.transmit(&mut out);
    assert!(
        out.starts_with(b"554 "),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(s.is_closed());

    // The header alone is not early talk.
    let mut c = cfg(Some(ProxyConfig::DEFAULT));
    c.early_talker = true;
    let mut s = Server::new(c);
    s.receive(V1);
    let evs = pump(&mut s);
    assert_eq!(evs[1], Ev::Connected);
    out.clear();
    s.transmit(&mut out);
    assert!(out.starts_with(b"220 ") && !s.is_closed());
}

#[test]
fn header_on_a_server_that_does_not_expect_one_is_a_bad_command() {
    let (s, evs, out) = run(None, &[V1, b"EHLO client.example\r\n"]);
    assert_eq!(evs[0], Ev::Connected);
    assert!(!evs.iter().any(|e| matches!(e, Ev::Proxy(_))));
    let lines: Vec<&str> = out.split("\r\n").collect();
    assert!(lines[0].starts_with("220 "), "{out}");
    assert!(lines[1].starts_with("500 "), "{out}");
    assert!(out.contains("\r\n250 "), "{out}");
    assert!(!s.is_closed());
}
