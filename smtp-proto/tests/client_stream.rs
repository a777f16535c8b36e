//! The client's streamed bodies (RFC 3030 2, RFC 5321 4.1.1.4) and its
//! commands outside a transaction (RFC 5321 4.1.1.5, 4.1.1.9), reply by
//! reply.

use smtp_sansio::client::{
    BodyError, BodyInfo, ClientError, Envelope, MessageError, Query, StartError, TransactionStage,
};
use smtp_sansio::{Client, ClientConfig, ClientEvent, PortMode};

fn ready(ehlo: &str, chunk_size: usize) -> Client {
    let mut cfg = ClientConfig::new(PortMode::Relay, "client.example.org");
    cfg.chunk_size = chunk_size;
    let mut c = Client::new(cfg).unwrap();
    c.receive(b"220 mx.example.net\r\n");
    while c.next_event().is_some() {}
    c.receive(ehlo.as_bytes());
    let mut saw_ready = false;
    while let Some(ev) = c.next_event() {
        saw_ready |= ev == ClientEvent::Ready;
    }
    assert!(saw_ready);
    let mut out = Vec::new();
    c.transmit(&mut out);
    assert_eq!(out, b"EHLO client.example.org\r\n");
    c
}

fn events(c: &mut Client) -> Vec<ClientEvent> {
    std::iter::from_fn(|| c.next_event()).collect()
}

fn out(c: &mut Client) -> Vec<u8> {
    let mut o = Vec::new();
    c.transmit(&mut o);
    o
}

fn env() -> Envelope {
    Envelope::new("alice@example.org", ["bob@example.net"])
}

const CHUNKING: &str = "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 100\r\n250 CHUNKING\r\n";
const PLAIN: &str = "250-mx.example.net\r\n250 PIPELINING\r\n";

#[test]
fn size_from_body_info_and_too_big_refused_before_mail() {
    let mut c = ready(CHUNKING, 8);
    let err = c
        .start_mail(env(), BodyInfo::new(Some(101), false))
        .unwrap_err();
    assert!(matches!(
        err,
        StartError::Invalid {
            error: MessageError::TooBig {
                size: 101,
                limit: 100
            },
            ..
        }
    ));
    assert!(c.is_ready() && out(&mut c).is_empty());
    c.start_mail(env(), BodyInfo::new(Some(42), false)).unwrap();
    assert_eq!(events(&mut c), [ClientEvent::BodyWanted]);
    assert_eq!(
        out(&mut c),
        b"MAIL FROM:<alice@example.org> SIZE=42\r\nRCPT TO:<bob@example.net>\r\n"
    );
    // Unknown size: no SIZE parameter.
    let mut c = ready(CHUNKING, 8);
    c.start_mail(env(), BodyInfo::default()).unwrap();
    assert!(out(&mut c).starts_with(b"MAIL FROM:<alice@example.org>\r\n"));
}

#[test]
fn body_calls_before_the_body_is_wanted_are_refused() {
    let mut c = ready(PLAIN, 8);
    assert_eq!(c.send_body(b"x"), Err(BodyError::NotWanted));
    c.start_mail(env(), BodyInfo::default()).unwrap();
    // DATA: wanted only after the 354.
    assert!(!c.wants_body());
    assert_eq!(c.body_room(), 0);
    assert_eq!(c.send_body(b"x"), Err(BodyError::NotWanted));
    assert_eq!(c.end_body(), Err(BodyError::NotWanted));
    assert_eq!(
        out(&mut c),
        b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n"
    );
    c.receive(b"250 ok\r\n250 ok\r\n354 go\r\n");
    assert!(events(&mut c).contains(&ClientEvent::BodyWanted));
    assert_eq!(c.body_room(), 8);
    assert_eq!(c.send_body(b".abcdefghij"), Ok(8));
    assert_eq!(
        c.body_room(),
        0,
        "output holds 9 octets, over the chunk size"
    );
    assert_eq!(out(&mut c), b"..abcdefg");
    assert_eq!(c.send_body(b"hij"), Ok(3));
    c.end_body().unwrap();
    assert_eq!(out(&mut c), b"hij\r\n.\r\n");
    assert_eq!(c.end_body(), Err(BodyError::NotWanted));
    c.receive(b"250 queued\r\n");
    let ev = events(&mut c);
    assert!(
        matches!(ev.first(), Some(ClientEvent::Delivered(_))),
        "{ev:?}"
    );
    assert!(c.is_ready());
}

#[test]
fn a_nul_piece_under_bdat_resets_and_fails_the_transaction() {
    let mut c = ready(CHUNKING, 4);
    c.start_mail(env(), BodyInfo::default()).unwrap();
    assert_eq!(events(&mut c), [ClientEvent::BodyWanted]);
    out(&mut c);
    assert_eq!(c.send_body(b"abcd"), Ok(4));
    assert_eq!(out(&mut c), b"BDAT 4\r\nabcd");
    // No second chunk before the envelope's replies.
    assert_eq!(c.body_room(), 0);
    assert_eq!(c.send_body(b"a\0b"), Ok(0));
    c.receive(b"250 ok\r\n250 ok\r\n");
    assert!(
        events(&mut c)
            .iter()
            .all(|e| matches!(e, ClientEvent::Recipient { .. }))
    );
    assert_eq!(c.body_room(), 4);
    assert_eq!(
        c.send_body(b"a\0b"),
        Err(BodyError::Invalid(MessageError::Nul))
    );
    assert!(!c.wants_body());
    assert_eq!(out(&mut c), b"RSET\r\n");
    c.receive(b"250 chunk\r\n");
    assert!(events(&mut c).is_empty());
    c.receive(b"250 reset\r\n");
    let ev = events(&mut c);
    assert_eq!(
        ev,
        [
            ClientEvent::TransactionFailed {
                stage: TransactionStage::Aborted,
                reply: None
            },
            ClientEvent::Ready
        ]
    );
}

#[test]
fn undeclared_eight_bit_and_abort_inside_data_close_at_once() {
    let mut c = ready(PLAIN, 64);
    c.start_mail(env(), BodyInfo::default()).unwrap();
    out(&mut c);
    c.receive(b"250 ok\r\n250 ok\r\n354 go\r\n");
    events(&mut c);
    assert_eq!(
        c.send_body("caf\u{e9}".as_bytes()),
        Err(BodyError::Invalid(MessageError::EightBitUnsupported))
    );
    let ev = events(&mut c);
    assert_eq!(
        ev,
        [
            ClientEvent::Error(ClientError::ContentRefused(
                MessageError::EightBitUnsupported
            )),
            ClientEvent::Closed
        ]
    );
    assert!(c.is_closed() && out(&mut c).is_empty(), "no dot, no QUIT");

    let mut c = ready(PLAIN, 64);
    c.start_mail(env(), BodyInfo::default()).unwrap();
    out(&mut c);
    c.receive(b"250 ok\r\n250 ok\r\n354 go\r\n");
    events(&mut c);
    c.send_body(b"partial").unwrap();
    c.abort().unwrap();
    assert_eq!(
        events(&mut c),
        [
            ClientEvent::Error(ClientError::ContentAborted),
            ClientEvent::Closed
        ]
    );
    assert!(out(&mut c).is_empty(), "the partial content is dropped");
}

#[test]
fn a_reply_inside_data_content_closes_without_quit() {
    let mut c = ready(PLAIN, 64);
    c.start_mail(env(), BodyInfo::default()).unwrap();
    out(&mut c);
    c.receive(b"250 ok\r\n250 ok\r\n354 go\r\n");
    events(&mut c);
    c.send_body(b"line\r\n").unwrap();
    out(&mut c);
    c.receive(b"250 early\r\n");
    let ev = events(&mut c);
    assert!(
        matches!(
            ev.first(),
            Some(ClientEvent::Error(ClientError::UnexpectedReply(_)))
        ),
        "{ev:?}"
    );
    assert!(c.is_closed());
    assert!(out(&mut c).is_empty(), "QUIT would be read as content");
}

#[test]
fn noop_rset_and_an_idle_421() {
    let mut c = ready(PLAIN, 64);
    assert!(c.is_reusable());
    c.noop().unwrap();
    assert!(!c.is_reusable());
    assert_eq!(c.noop(), Err(smtp_sansio::client::Misuse(())));
    assert_eq!(out(&mut c), b"NOOP\r\n");
    c.receive(b"250 2.0.0 ok\r\n");
    let ev = events(&mut c);
    assert!(matches!(
        &ev[..],
        [
            ClientEvent::QueryReply {
                query: Query::Noop,
                ..
            },
            ClientEvent::Ready
        ]
    ));
    c.rset().unwrap();
    assert_eq!(out(&mut c), b"RSET\r\n");
    c.receive(b"250 2.0.0 ok\r\n");
    assert!(matches!(
        events(&mut c).first(),
        Some(ClientEvent::QueryReply {
            query: Query::Reset,
            ..
        })
    ));
    assert!(c.is_reusable());
    // The server idles the connection out.
    c.receive(b"421 4.4.2 idle timeout\r\n");
    assert!(!c.is_reusable(), "an unread reply is buffered");
    let ev = events(&mut c);
    assert!(matches!(
        ev.first(),
        Some(ClientEvent::Error(ClientError::ServiceClosing(_)))
    ));
    assert!(c.is_closed() && !c.is_reusable());
    assert!(out(&mut c).is_empty());
    // EOF on an idle connection.
    let mut c = ready(PLAIN, 64);
    c.receive_eof();
    assert!(!c.is_reusable());
    assert_eq!(
        events(&mut c),
        [
            ClientEvent::Error(ClientError::ConnectionClosed),
            ClientEvent::Closed
        ]
    );
}

#[test]
fn a_chunk_size_of_zero_is_refused() {
    let mut cfg = ClientConfig::new(PortMode::Relay, "client.example.org");
    cfg.chunk_size = 0;
    assert_eq!(
        Client::new(cfg).unwrap_err(),
        smtp_sansio::client::ConfigError::InvalidChunkSize
    );
}

const BINARY: &str = "250-mx.example.net\r\n250-PIPELINING\r\n250-BINARYMIME\r\n250 CHUNKING\r\n";

#[test]
fn a_binary_body_goes_unchanged_as_binarymime_through_bdat() {
    let mut c = ready(BINARY, 64);
    c.send_mail(env(), b"a\nb\0c\r".to_vec()).unwrap();
    assert_eq!(
        out(&mut c),
        b"MAIL FROM:<alice@example.org> BODY=BINARYMIME\r\nRCPT TO:<bob@example.net>\r\n\
          BDAT 6 LAST\r\na\nb\0c\r"
    );
    // Text bodies stay text (no BODY=).
    let mut c = ready(BINARY, 64);
    c.send_mail(env(), b"plain\r\n".to_vec()).unwrap();
    assert!(out(&mut c).starts_with(b"MAIL FROM:<alice@example.org>\r\n"));
}

#[test]
fn without_binarymime_a_nul_is_refused_and_bare_endings_normalized() {
    // CHUNKING without BINARYMIME.
    let mut c = ready(CHUNKING, 64);
    match c.send_mail(env(), b"a\0b".to_vec()) {
        Err(smtp_sansio::client::SendError::Invalid {
            error: MessageError::Nul,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    c.send_mail(env(), b"a\nb".to_vec()).unwrap();
    assert!(out(&mut c).ends_with(b"BDAT 4 LAST\r\na\r\nb"));
    // BINARYMIME offered but turned off.
    let mut cfg = ClientConfig::new(PortMode::Relay, "client.example.org");
    cfg.binarymime = false;
    let mut c = Client::new(cfg).unwrap();
    c.receive(b"220 mx\r\n");
    events(&mut c);
    c.receive(BINARY.as_bytes());
    events(&mut c);
    out(&mut c);
    assert!(matches!(
        c.send_mail(env(), b"a\0b".to_vec()),
        Err(smtp_sansio::client::SendError::Invalid {
            error: MessageError::Nul,
            ..
        })
    ));
}

#[test]
fn a_streamed_binary_body_needs_binarymime_and_goes_unchanged() {
    let binary = BodyInfo {
        binary: true,
        ..BodyInfo::default()
    };
    let mut c = ready(CHUNKING, 4);
    assert!(matches!(
        c.start_mail(env(), binary),
        Err(StartError::Invalid {
            error: MessageError::BinaryUnsupported,
            ..
        })
    ));
    assert!(c.is_ready() && out(&mut c).is_empty());
    let mut c = ready(BINARY, 4);
    c.start_mail(env(), binary).unwrap();
    assert_eq!(events(&mut c), [ClientEvent::BodyWanted]);
    assert_eq!(
        out(&mut c),
        b"MAIL FROM:<alice@example.org> BODY=BINARYMIME\r\nRCPT TO:<bob@example.net>\r\n"
    );
    assert_eq!(c.send_body(b"\0\n\r\xff"), Ok(4));
    assert_eq!(out(&mut c), b"BDAT 4\r\n\0\n\r\xff");
    c.receive(b"250 ok\r\n250 ok\r\n");
    events(&mut c);
    assert_eq!(c.send_body(b"x\r"), Ok(2));
    c.end_body().unwrap();
    assert_eq!(out(&mut c), b"BDAT 2 LAST\r\nx\r");
}
