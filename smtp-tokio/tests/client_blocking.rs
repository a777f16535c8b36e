//! The blocking client driver against the tiny in-test server (which runs
//! on its own tokio runtime): every port mode, several messages per
//! connection, per-recipient results, a streamed multi-MiB BDAT body,
//! dot-stuffed DATA, NOOP and an idle 421.

mod support;

use smtp_sansio::client::{ClientCredentials, ClientError, Envelope};
use smtp_sansio::{ClientConfig, PortMode};
use smtp_sansio_tokio::blocking::client::SmtpClient;
use smtp_sansio_tokio::client::{Error, Outcome, TlsTrust};
use support::{Setup, TestServer};

fn server(setup: Setup) -> (tokio::runtime::Runtime, TestServer) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let s = rt.block_on(TestServer::start(setup));
    (rt, s)
}

fn config(mode: PortMode) -> ClientConfig {
    let cfg = ClientConfig::new(mode, "client.example.org");
    match mode {
        PortMode::Submission | PortMode::ImplicitTls => {
            cfg.with_credentials(ClientCredentials::new("alice", "secret"))
        }
        _ => cfg,
    }
}

#[test]
fn every_mode_two_messages_per_connection() {
    for mode in [
        PortMode::Relay,
        PortMode::Submission,
        PortMode::ImplicitTls,
        PortMode::Lmtp,
    ] {
        let (_rt, server) = server(Setup::new(mode));
        let mut c = SmtpClient::connect(
            server.addr,
            "localhost",
            config(mode),
            TlsTrust::DangerAcceptAny,
        )
        .expect("connect");
        assert_eq!(c.machine().is_tls(), mode != PortMode::Lmtp);
        let first = b"Subject: one\r\n\r\n.dot\r\nhello\r\n".to_vec();
        let env = Envelope::new("alice@example.org", ["bob@example.net", "xeve@example.net"]);
        let r = c.send(env, &first[..]).expect("send");
        assert_eq!(r.delivered_to(), ["bob@example.net"], "{mode:?}: {r:?}");
        if mode == PortMode::Lmtp {
            assert_eq!(r.outcome, Outcome::PerRecipient);
        }
        let second = b"Subject: two\r\n\r\nbye\r\n".to_vec();
        let env = Envelope::new("alice@example.org", ["carol@example.net"]);
        assert!(c.send(env, &second[..]).expect("send").is_delivered());
        assert!(c.is_reusable());
        assert_eq!(c.noop().expect("noop").code.get(), 250);
        c.quit().expect("quit");
        assert_eq!(server.messages(), [first, second], "{mode:?}");
    }
}

#[test]
fn streamed_bodies_bdat_and_data_arrive_byte_exact() {
    for chunking in [true, false] {
        let mut setup = Setup::new(PortMode::Relay);
        setup.chunking = chunking;
        let (_rt, server) = server(setup);
        let mut c = SmtpClient::connect(
            server.addr,
            "localhost",
            config(PortMode::Relay),
            TlsTrust::DangerAcceptAny,
        )
        .expect("connect");
        let mut body = Vec::new();
        let mut i = 0;
        while body.len() < 3 * 1024 * 1024 {
            let dot = if i % 3 == 0 { "." } else { "" };
            body.extend_from_slice(format!("{dot}line {i} of a blocking body\r\n").as_bytes());
            i += 1;
        }
        let env = Envelope::new("alice@example.org", ["bob@example.net"]);
        assert!(c.send(env, &body[..]).expect("send").is_delivered());
        c.quit().expect("quit");
        let seen = server.seen.lock().unwrap();
        assert_eq!(seen.kinds, [if chunking { "Bdat" } else { "Data" }]);
        assert!(seen.messages[0] == body, "changed in transit");
        if chunking {
            let n = seen
                .input
                .windows(12)
                .filter(|w| *w == b"BDAT 65536\r\n")
                .count();
            assert_eq!(n, body.len() / 65536);
        }
    }
}

#[test]
fn an_idle_421_is_a_typed_result() {
    let mut setup = Setup::new(PortMode::Relay);
    setup.close_after = Some(1);
    let (_rt, server) = server(setup);
    let mut c = SmtpClient::connect(
        server.addr,
        "localhost",
        config(PortMode::Relay),
        TlsTrust::DangerAcceptAny,
    )
    .expect("connect");
    let env = Envelope::new("alice@example.org", ["bob@example.net"]);
    assert!(c.send(env, &b"hi\r\n"[..]).expect("send").is_delivered());
    let mut reusable = true;
    for _ in 0..100 {
        reusable = c.is_reusable();
        if !reusable {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!reusable);
    match c.noop() {
        Err(Error::Protocol(ClientError::ServiceClosing(r))) => assert_eq!(r.code.get(), 421),
        other => panic!("expected the 421, got {other:?}"),
    }
}
