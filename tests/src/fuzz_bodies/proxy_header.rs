//! `proxy_header`: raw bytes, in fuzzer-chosen pieces, to the PROXY
//! protocol decoder ([`ProxyDecoder`], HAProxy PROXY protocol spec 2.1 and
//! 2.2). The verdict is the same whole, at the chosen splits and byte by
//! byte; a decoded header lies within the input, always encodes again
//! (every header the decoder yields is representable), and decodes back
//! equal from its encoding. Under a configuration that accepts one version
//! only, or a smaller version 2 length bound, the verdict is either the
//! default one or the matching refusal.
//!
//! The same pieces go to a server machine that expects the header
//! (`ServerConfig::proxy`): nothing comes out and nothing is reported but
//! a violation before the header is whole; a refused header closes it
//! with no output (section 2.1); a whole one is reported as
//! `ServerEvent::Proxy` with the decoder's addresses, then `Connected`.

use smtp_sansio::{
    PortMode, ProxyConfig, ProxyDecoder, ProxyError, ProxyOrigin, ProxyStatus, Server,
    ServerConfig, ServerEvent, Violation,
};

use super::{chunkings, split_points};

/// Feeds the growing concatenation of `chunks`; the first verdict that is
/// not `Incomplete`.
fn feed<'a>(
    payload: &'a [u8],
    chunks: &[&[u8]],
    cfg: ProxyConfig,
) -> Result<ProxyStatus<'a>, ProxyError> {
    let mut d = ProxyDecoder::new(cfg);
    let mut end = 0;
    for c in chunks {
        end += c.len();
        match d.decode(&payload[..end]) {
            Ok(ProxyStatus::Incomplete) => {}
            other => return other,
        }
    }
    d.decode(&payload[..end])
}

/// What the first events of a server machine expecting the header were.
#[derive(Debug, PartialEq)]
enum First {
    Proxy(ProxyOrigin),
    Connected,
    Violation(Violation),
    Closed,
    Other,
}

/// Runs a proxied relay machine on `chunks` (every decision accepted);
/// checks that nothing comes out before the header is reported. Returns
/// the first two events (at most), whether it closed, and its output.
fn machine(chunks: &[&[u8]], eof: bool) -> (Vec<First>, bool, Vec<u8>) {
    let mut cfg = ServerConfig::new(PortMode::Relay, "mx.example.net");
    cfg.proxy = Some(ProxyConfig::DEFAULT);
    let mut srv = Server::new(cfg);
    let mut first = Vec::new();
    let mut out = Vec::new();
    let mut reported = false;
    let mut pump = |srv: &mut Server, out: &mut Vec<u8>, first: &mut Vec<First>| {
        while let Some(ev) = srv.next_event() {
            let f = match &ev {
                ServerEvent::Proxy(o) => First::Proxy(o.clone()),
                ServerEvent::Connected => First::Connected,
                ServerEvent::Violation(v) => First::Violation(*v),
                ServerEvent::Closed => First::Closed,
                _ => First::Other,
            };
            if ev.needs_decision() {
                let _ = srv.accept();
            }
            if !reported {
                assert!(
                    matches!(f, First::Proxy(_) | First::Violation(_) | First::Closed),
                    "{f:?} before the PROXY header"
                );
                reported = matches!(f, First::Proxy(_));
            }
            if first.len() < 2 {
                first.push(f);
            }
        }
        let before = out.len();
        srv.transmit(out);
        assert!(
            reported || out.len() == before,
            "output before the PROXY header: {:?}",
            String::from_utf8_lossy(out)
        );
    };
    pump(&mut srv, &mut out, &mut first);
    for c in chunks {
        srv.receive(c);
        pump(&mut srv, &mut out, &mut first);
    }
    if eof {
        srv.receive_eof();
        pump(&mut srv, &mut out, &mut first);
    }
    (first, srv.is_closed(), out)
}

/// The machine's verdict against the decoder's on the whole input.
fn check_machine(chunks: &[&[u8]], whole: &Result<ProxyStatus<'_>, ProxyError>) {
    let (first, closed, out) = machine(chunks, false);
    match whole {
        Ok(ProxyStatus::Complete { header, .. }) => {
            assert_eq!(
                first,
                [
                    First::Proxy(ProxyOrigin::from_header(header)),
                    First::Connected
                ]
            );
            assert!(out.starts_with(b"220 "));
        }
        Ok(ProxyStatus::Incomplete) => {
            assert!(first.is_empty() && !closed && out.is_empty(), "{first:?}");
            let (first, closed, out) = machine(chunks, true);
            assert_eq!(
                first,
                [
                    First::Violation(Violation::ProxyHeaderIncomplete),
                    First::Closed
                ]
            );
            assert!(closed && out.is_empty());
        }
        Err(e) => {
            assert_eq!(
                first,
                [First::Violation(Violation::ProxyHeader(*e)), First::Closed]
            );
            assert!(closed && out.is_empty());
        }
    }
}

/// The fuzz body.
pub fn proxy_header(data: &[u8]) {
    let (payload, chunks) = split_points(data);
    let cfg = ProxyConfig::DEFAULT;
    let whole = ProxyDecoder::new(cfg).decode(payload);
    for ch in chunkings(payload, &chunks, 600) {
        assert_eq!(feed(payload, &ch, cfg), whole, "split {ch:?}");
    }
    check_machine(&chunks, &whole);
    if let Ok(ProxyStatus::Complete { header, len }) = whole {
        assert!(len <= payload.len());
        let mut out = Vec::new();
        header.write_to(&mut out).expect("a decoded header encodes");
        assert_eq!(
            ProxyDecoder::new(cfg).decode(&out),
            Ok(ProxyStatus::Complete {
                header,
                len: out.len()
            })
        );
    }
    // Narrower configurations: the default verdict or the refusal.
    let max = data.first().map_or(0, |&b| u16::from(b) * 4);
    for (narrow, refusal) in [
        (ProxyConfig { v1: false, ..cfg }, ProxyError::VersionRefused),
        (ProxyConfig { v2: false, ..cfg }, ProxyError::VersionRefused),
        (
            ProxyConfig {
                max_v2_len: max,
                ..cfg
            },
            ProxyError::V2TooLong,
        ),
    ] {
        let got = ProxyDecoder::new(narrow).decode(payload);
        assert!(
            got == whole || got == Err(refusal),
            "{narrow:?}: {got:?} vs {whole:?}"
        );
    }
}
