//! Unit tests for bugs the fuzz targets found (each also has a reproducer in
//! `corpus/fuzz/<target>/regressions/`).

use smtp_sansio::LineEndingPolicy;
use smtp_sansio::data::{DataDecoder, DataOutcome};
use smtp_sansio::limits::Limits;

fn outcome(input: &[u8], chunk: usize, limits: &Limits) -> (Option<DataOutcome>, u64) {
    let mut dec = DataDecoder::new(LineEndingPolicy::Reject, limits);
    let mut buf = Vec::new();
    for c in input.chunks(chunk) {
        buf.extend_from_slice(c);
        loop {
            let step = dec.decode(&buf);
            buf.drain(..step.consumed);
            if step.done || (step.consumed == 0 && step.piece.is_empty()) {
                break;
            }
        }
    }
    (dec.outcome(), dec.size())
}

/// `data_decode`: with both a message size and a text-line limit, the
/// outcome named whichever limit a multi-line piece ended on (the line
/// limit) when the whole input came at once, but the size limit, passed
/// earlier in the stream, when it came in small chunks.
#[test]
fn size_limit_passed_before_line_limit_wins_for_every_chunking() {
    let limits = Limits {
        message_size: 64,
        enforce_text_line: true,
        text_line: 20,
        ..Limits::RFC
    };
    let mut input = b"abcdefgh\r\n".repeat(10);
    input.extend_from_slice(&[b'x'; 30]);
    input.extend_from_slice(b"\r\n.\r\n");
    for chunk in [input.len(), 7, 1] {
        assert_eq!(
            outcome(&input, chunk, &limits),
            (Some(DataOutcome::TooBig), 64),
            "chunk size {chunk}"
        );
    }
    // A line limit passed first still wins.
    let mut input = [b'x'; 30].to_vec();
    input.extend_from_slice(&b"abcdefgh\r\n".repeat(10));
    input.extend_from_slice(b".\r\n");
    for chunk in [input.len(), 7, 1] {
        assert_eq!(
            outcome(&input, chunk, &limits).0,
            Some(DataOutcome::LineTooLong),
            "chunk size {chunk}"
        );
    }
}

/// `server_session`: EHLO (or HELO/LHLO) between BDAT chunks cleared the
/// transaction with only a `Reset` event: the message begun by
/// `MessageStart` was never ended by `MessageAborted` (RSET did send it).
#[test]
fn ehlo_between_bdat_chunks_aborts_the_message() {
    use smtp_sansio::server::{AbortReason, Server, ServerEvent};
    use smtp_sansio::{PortMode, ServerConfig};

    let mut s = Server::new(ServerConfig::new(PortMode::Relay, "mx.example.org").with_tls());
    let mut aborted = Vec::new();
    let mut feed = |s: &mut Server, bytes: &[u8]| {
        s.receive(bytes);
        while let Some(ev) = s.next_event() {
            if let ServerEvent::MessageAborted(r) = ev {
                aborted.push(r);
            }
            if s.accept().is_err() {
                // Informational event: nothing to decide.
            }
        }
        let mut out = Vec::new();
        s.transmit(&mut out);
    };
    feed(&mut s, b"");
    for line in [
        &b"EHLO client.example\r\n"[..],
        b"MAIL FROM:<a@example.org>\r\n",
        b"RCPT TO:<b@example.net>\r\n",
        b"BDAT 5\r\nhello",
        b"EHLO client.example\r\n",
    ] {
        feed(&mut s, line);
    }
    assert_eq!(aborted, vec![AbortReason::Reset]);
}
