//! `SmtpClient::submission_plan`: the driver follows an RFC 6186 SRV plan
//! (`srv_plan`), skipping a target that refuses the connection, in the
//! plan's order, with the mode each service implies.

mod support;

use smtp_sansio::PortMode;
use smtp_sansio::client::{ClientCredentials, Envelope, PlanOptions, SrvRecord, srv_plan};
use smtp_sansio_tokio::client::{Error, SmtpClient, TlsTrust};
use support::{Setup, TestServer};

/// A loopback port nothing listens on (bound, then released).
async fn closed_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn follows_the_srv_plan_in_order() {
    let implicit = TestServer::start(Setup::new(PortMode::ImplicitTls)).await;
    let starttls = TestServer::start(Setup::new(PortMode::Submission)).await;
    let dead = closed_port().await;
    // Order: the dead implicit-TLS target (priority 0), the STARTTLS
    // server (priority 1), the implicit-TLS server (priority 2).
    let subs = [
        SrvRecord::new(2, 0, implicit.addr.port(), "localhost"),
        SrvRecord::new(0, 0, dead, "localhost"),
    ];
    let sub = [SrvRecord::new(1, 0, starttls.addr.port(), "localhost")];
    let plan = srv_plan("example.org", PlanOptions::default(), &subs, &sub, || 0).unwrap();
    let order: Vec<_> = plan.attempts.iter().map(|a| (a.port, a.mode)).collect();
    assert_eq!(
        order,
        [
            (dead, PortMode::ImplicitTls),
            (starttls.addr.port(), PortMode::Submission),
            (implicit.addr.port(), PortMode::ImplicitTls)
        ]
    );
    let creds = ClientCredentials::new("alice", "secret");
    let mut c = SmtpClient::submission_plan(
        &plan,
        "localhost",
        "client.example.org",
        creds,
        TlsTrust::DangerAcceptAny,
    )
    .await
    .expect("second attempt connects");
    assert!(c.machine().is_tls());
    let env = Envelope::new("alice@example.org", ["bob@example.net"]);
    let report = c
        .send(env, &b"Subject: srv\r\n\r\nhi\r\n"[..])
        .await
        .unwrap();
    assert!(report.is_delivered(), "{report:?}");
    c.quit().await.unwrap();
    assert_eq!(
        starttls.messages(),
        [b"Subject: srv\r\n\r\nhi\r\n".to_vec()]
    );
    assert_eq!(implicit.seen.lock().unwrap().connections, 0);
}

#[tokio::test]
async fn no_attempt_works_is_no_route() {
    let dead = closed_port().await;
    let subs = [SrvRecord::new(0, 0, dead, "localhost")];
    let plan = srv_plan("example.org", PlanOptions::default(), &subs, &[], || 0).unwrap();
    let result = SmtpClient::submission_plan(
        &plan,
        "localhost",
        "client.example.org",
        ClientCredentials::new("alice", "secret"),
        TlsTrust::DangerAcceptAny,
    )
    .await;
    let Err(err) = result else {
        panic!("nothing listens, yet the plan connected");
    };
    assert!(
        matches!(err, Error::NoRoute(ref e) if matches!(**e, Error::Io(_))),
        "{err}"
    );
}
