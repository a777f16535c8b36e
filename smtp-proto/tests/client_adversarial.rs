//! The client against arbitrary server behaviour (proptest): arbitrary
//! reply bytes in any split. Where TLS is required the client never sends
//! AUTH, MAIL, RCPT or any credential byte without TLS; bytes behind the
//! 220 to STARTTLS are never read as replies; nothing is sent after the
//! machine closed; nothing panics.

use proptest::prelude::*;
use smtp_sansio::PortMode;
use smtp_sansio::{
    Client, ClientConfig, ClientCredentials, ClientError, ClientEvent, Envelope, TlsPolicy,
};

fn token() -> impl Strategy<Value = Vec<u8>> {
    let fixed: Vec<&'static [u8]> = vec![
        b"220 mx ESMTP\r\n",
        b"220-mx\r\n",
        b"250-mx\r\n",
        b"250 mx\r\n",
        b"250-STARTTLS\r\n",
        b"250 STARTTLS\r\n",
        b"250-AUTH PLAIN LOGIN\r\n",
        b"250 AUTH LOGIN\r\n",
        b"250-PIPELINING\r\n",
        b"250 CHUNKING\r\n",
        b"250 8BITMIME\r\n",
        b"334 VXNlcm5hbWU6\r\n",
        b"334 \r\n",
        b"235 2.7.0 ok\r\n",
        b"354 go\r\n",
        b"454 4.7.0 no TLS\r\n",
        b"500 5.5.1 what\r\n",
        b"550 5.1.1 no\r\n",
        b"421 4.3.2 bye\r\n",
        b"221 bye\r\n",
        b"250 2.0.0 ok\r\n",
        b"\r\n",
        b"\n",
    ];
    prop_oneof![
        8 => prop::sample::select(fixed).prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(any::<u8>(), 0..24),
    ]
}

fn required_config(mode: PortMode) -> ClientConfig {
    let mut c = ClientConfig::new(mode, "client.example.org")
        .with_tls_policy(TlsPolicy::Required)
        .expect("required is allowed everywhere")
        .with_credentials(ClientCredentials::new("alice", "secret"));
    c.mechanisms = vec![smtp_sansio::Mechanism::Plain, smtp_sansio::Mechanism::Login];
    c
}

/// Drives the application side; returns the output produced.
fn drive(client: &mut Client, events: &mut Vec<ClientEvent>) -> Vec<u8> {
    while let Some(ev) = client.next_event() {
        match &ev {
            ClientEvent::Ready => {
                let sent = client.send_mail(
                    Envelope::new("alice@example.org", ["bob@example.net"]),
                    b"hello\r\n".to_vec(),
                );
                let _ = sent.or_else(|_| client.quit().map_err(|_| ()));
            }
            ClientEvent::RecipientsPartial { .. } => {
                let _ = client.proceed();
            }
            _ => {}
        }
        events.push(ev);
    }
    let mut out = Vec::new();
    client.transmit(&mut out);
    out
}

fn lines(out: &[u8]) -> impl Iterator<Item = &[u8]> {
    out.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn required_tls_is_never_bypassed(
        mode in prop_oneof![Just(PortMode::Submission), Just(PortMode::Relay), Just(PortMode::Lmtp)],
        tokens in prop::collection::vec(token(), 0..24),
        splits in prop::collection::vec(1usize..40, 1..6),
        handshake in prop::collection::vec(any::<bool>(), 1..4),
        eof in any::<bool>(),
    ) {
        let mut client = Client::new(required_config(mode)).expect("config");
        let input: Vec<u8> = tokens.concat();
        let mut events = Vec::new();
        let mut sent_before_tls: Vec<u8> = Vec::new();
        let mut pos = 0;
        let mut k = 0;
        let mut closed_at: Option<usize> = None;
        let mut out = drive(&mut client, &mut events);
        loop {
            if client.is_tls() {
                // Once TLS is up anything may be sent.
            } else {
                sent_before_tls.extend_from_slice(&out);
            }
            if let Some(at) = closed_at {
                prop_assert!(out.is_empty() || at == k, "output after close");
            }
            if client.is_closed() && closed_at.is_none() {
                closed_at = Some(k);
            }
            if client.wants_tls() && handshake[k % handshake.len()] {
                prop_assert!(client.tls_established());
                out = drive(&mut client, &mut events);
                k += 1;
                continue;
            }
            if pos >= input.len() {
                break;
            }
            let n = splits[k % splits.len()].min(input.len() - pos);
            client.receive(&input[pos..pos + n]);
            pos += n;
            k += 1;
            out = drive(&mut client, &mut events);
        }
        if eof {
            client.receive_eof();
            let out = drive(&mut client, &mut events);
            if !client.is_tls() {
                sent_before_tls.extend_from_slice(&out);
            }
            prop_assert!(client.is_closed());
        }
        for line in lines(&sent_before_tls) {
            let ok = line.starts_with(b"EHLO ")
                || line.starts_with(b"LHLO ")
                || line == b"STARTTLS\r"
                || line == b"QUIT\r";
            prop_assert!(ok, "sent without TLS: {:?}", String::from_utf8_lossy(line));
        }
        prop_assert!(!sent_before_tls.windows(5).any(|w| w == b"alice"));
        // Base64 of "alice" (LOGIN) and of the PLAIN message never leak.
        prop_assert!(!sent_before_tls.windows(8).any(|w| w == b"YWxpY2U="));
        prop_assert!(!sent_before_tls.windows(8).any(|w| w == b"AGFsaWNl"));
    }

    #[test]
    fn bytes_behind_starttls_220_are_never_replies(
        injected in prop::collection::vec(any::<u8>(), 1..64),
        cut in prop::collection::vec(0usize..80, 0..4),
    ) {
        let mut client = Client::new(required_config(PortMode::Submission)).expect("config");
        let mut events = Vec::new();
        let _ = drive(&mut client, &mut events);
        client.receive(b"220 mx ESMTP\r\n");
        let out = drive(&mut client, &mut events);
        prop_assert!(out.starts_with(b"EHLO "));
        client.receive(b"250-mx\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n");
        let out = drive(&mut client, &mut events);
        prop_assert_eq!(out.as_slice(), b"STARTTLS\r\n");
        let mut tail = b"220 2.0.0 go\r\n".to_vec();
        tail.extend_from_slice(&injected);
        let mut cuts: Vec<usize> = cut.iter().map(|c| c % (tail.len() + 1)).collect();
        cuts.push(tail.len());
        cuts.sort_unstable();
        let mut from = 0;
        let mut after = Vec::new();
        for c in cuts {
            client.receive(&tail[from..c]);
            from = c;
            after.extend(drive(&mut client, &mut events));
        }
        prop_assert!(after.is_empty(), "sent after the 220: {:?}", after);
        prop_assert!(client.is_closed());
        prop_assert!(!client.tls_established());
        prop_assert!(events.contains(&ClientEvent::Error(ClientError::ResponseInjection)));
    }
}

#[test]
fn tls_record_where_greeting_expected_is_wrong_port() {
    let mut client = Client::new(ClientConfig::new(PortMode::Relay, "c.example.org")).unwrap();
    let mut events = Vec::new();
    client.receive(&[0x16, 0x03, 0x01, 0x00, 0x2a]);
    let out = drive(&mut client, &mut events);
    assert!(out.is_empty());
    assert!(client.is_closed());
    assert!(matches!(
        events.first(),
        Some(ClientEvent::Error(ClientError::WrongPort(_)))
    ));
}
