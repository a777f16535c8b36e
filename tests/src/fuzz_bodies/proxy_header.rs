//! `proxy_header`: raw bytes, in fuzzer-chosen pieces, to the PROXY
//! protocol decoder ([`ProxyDecoder`], HAProxy PROXY protocol spec 2.1 and
//! 2.2). The verdict is the same whole, at the chosen splits and byte by
//! byte; a decoded header lies within the input, always encodes again
//! (every header the decoder yields is representable), and decodes back
//! equal from its encoding. Under a configuration that accepts one version
//! only, or a smaller version 2 length bound, the verdict is either the
//! default one or the matching refusal.

use smtp_sansio::{ProxyConfig, ProxyDecoder, ProxyError, ProxyStatus};

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

/// The fuzz body.
pub fn proxy_header(data: &[u8]) {
    let (payload, chunks) = split_points(data);
    let cfg = ProxyConfig::DEFAULT;
    let whole = ProxyDecoder::new(cfg).decode(payload);
    for ch in chunkings(payload, &chunks, 600) {
        assert_eq!(feed(payload, &ch, cfg), whole, "split {ch:?}");
    }
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
