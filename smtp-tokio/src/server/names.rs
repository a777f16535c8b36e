//! Text shared by the server's transcripts, logs and stored envelopes:
//! port mode names, a reversible one-line escape, unique file ids.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use smtp_sansio::PortMode;

/// The short name of a port mode in logs, envelopes and transcripts.
pub fn mode_name(mode: PortMode) -> &'static str {
    match mode {
        PortMode::Relay => "relay",
        PortMode::Submission => "submission",
        PortMode::ImplicitTls => "implicit-tls",
        _ => "lmtp",
    }
}

/// Escapes a value so that it is one line of printable ASCII whatever it
/// holds: 0x20-0x7E stand for themselves except `\` (written `\\`); every
/// other octet is written `\xHH`. Reversible.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02X}")),
        }
    }
    s
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A unique, sortable id (time, process, counter).
pub(crate) fn unique_id() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}.{:06}.P{}Q{}",
        t.as_secs(),
        t.subsec_micros(),
        std::process::id(),
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    )
}
