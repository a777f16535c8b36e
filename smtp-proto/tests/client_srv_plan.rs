//! The RFC 6186 SRV connection plan merged with RFC 8314 5.1 (`srv_plan`):
//! priority order, RFC 2782 weighted order with caller-given randomness,
//! implicit TLS first at equal priority, `.` targets, fallback.

use proptest::prelude::*;
use smtp_sansio::PortMode;
use smtp_sansio::client::{
    PlanOptions, SrvPlanError, SrvRecord, SrvRecordError, SrvService, TlsPolicy, srv_plan,
};

fn r(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
    SrvRecord::new(priority, weight, port, target)
}

fn hosts(plan: &smtp_sansio::client::SrvPlan) -> Vec<(&str, u16)> {
    plan.attempts
        .iter()
        .map(|a| (a.host.as_str(), a.port))
        .collect()
}

#[test]
fn priority_then_implicit_tls_first() {
    let subs = [r(10, 0, 465, "b.example."), r(0, 0, 4650, "a.example")];
    let sub = [r(0, 0, 587, "c.example"), r(5, 0, 5870, "d.example")];
    let plan = srv_plan("example.com", PlanOptions::default(), &subs, &sub, || 0).unwrap();
    assert_eq!(
        hosts(&plan),
        [
            ("a.example", 4650),
            ("c.example", 587),
            ("d.example", 5870),
            ("b.example", 465)
        ]
    );
    assert_eq!(plan.attempts[0].mode, PortMode::ImplicitTls);
    assert_eq!(plan.attempts[0].service, SrvService::Submissions);
    assert_eq!(plan.attempts[1].mode, PortMode::Submission);
    assert_eq!(plan.attempts[0].srv, Some((0, 0)));
    assert!(plan.attempts.iter().all(|a| a.tls == TlsPolicy::Required));
    assert!(plan.skipped.is_empty() && plan.unavailable.is_empty());
}

#[test]
fn weights_follow_rfc2782() {
    // Weights 1 and 3: with the random u32 spread evenly over its range,
    // the weight-3 record comes first in 3 of 4 cases (picks 2..=4 of 0..=4
    // reach its running sum first, pick 0 and 1 select the weight-1 one).
    let subs = [
        r(0, 1, 1001, "light.example"),
        r(0, 3, 1003, "heavy.example"),
    ];
    let mut heavy_first = 0u32;
    let n = 1000u32;
    for i in 0..n {
        // ceil(i * 2^32 / n): the scaled pick is then exactly floor(5 i / n).
        let x = ((u64::from(i) << 32).div_ceil(u64::from(n))) as u32;
        let plan = srv_plan("example.com", PlanOptions::default(), &subs, &[], || x).unwrap();
        assert_eq!(plan.attempts.len(), 2);
        if plan.attempts[0].host == "heavy.example" {
            heavy_first += 1;
        }
    }
    // Picks are 0..=4 uniformly; running sums 1 (light) and 4 (heavy):
    // light for picks 0 and 1 (2 of 5), heavy for 2, 3, 4 (3 of 5).
    assert_eq!(heavy_first, 600);
}

#[test]
fn weight_zero_first_when_random_is_zero_last_when_max() {
    let subs = [
        r(0, 5, 1, "five.example"),
        r(0, 0, 2, "zero-a.example"),
        r(0, 7, 3, "seven.example"),
        r(0, 0, 4, "zero-b.example"),
    ];
    let low = srv_plan("example.com", PlanOptions::default(), &subs, &[], || 0).unwrap();
    assert_eq!(
        hosts(&low),
        [
            ("zero-a.example", 2),
            ("zero-b.example", 4),
            ("five.example", 1),
            ("seven.example", 3)
        ]
    );
    let high = srv_plan("example.com", PlanOptions::default(), &subs, &[], || {
        u32::MAX
    })
    .unwrap();
    assert_eq!(
        hosts(&high),
        [
            ("seven.example", 3),
            ("five.example", 1),
            ("zero-a.example", 2),
            ("zero-b.example", 4)
        ]
    );
}

#[test]
fn dot_target_means_not_available() {
    let dot = [r(0, 0, 0, ".")];
    let sub = [r(0, 0, 587, "mail.example.com")];
    let plan = srv_plan("example.com", PlanOptions::default(), &dot, &sub, || 0).unwrap();
    assert_eq!(plan.unavailable, [SrvService::Submissions]);
    assert_eq!(hosts(&plan), [("mail.example.com", 587)]);

    // Both unavailable: no fallback to the well-known ports either.
    let err = srv_plan("example.com", PlanOptions::default(), &dot, &dot, || 0).unwrap_err();
    match err {
        SrvPlanError::NotAvailable(p) => {
            assert!(p.attempts.is_empty());
            assert_eq!(
                p.unavailable,
                [SrvService::Submissions, SrvService::Submission]
            );
        }
        other => panic!("expected NotAvailable, got {other:?}"),
    }

    // Submissions unavailable, no `_submission` record: fallback to 587 only.
    let plan = srv_plan("example.com", PlanOptions::default(), &dot, &[], || 0).unwrap();
    assert_eq!(hosts(&plan), [("example.com", 587)]);
    assert_eq!(plan.attempts[0].srv, None);

    // A `.` among other records is ignored, not "unavailable".
    let mixed = [r(0, 0, 0, "."), r(1, 0, 465, "tls.example")];
    let plan = srv_plan("example.com", PlanOptions::default(), &mixed, &[], || 0).unwrap();
    assert!(plan.unavailable.is_empty());
    assert_eq!(hosts(&plan), [("tls.example", 465)]);
    assert_eq!(plan.skipped.len(), 1);
    assert_eq!(plan.skipped[0].reason, SrvRecordError::DotAmongOthers);
}

#[test]
fn fallback_and_bad_records() {
    let plan = srv_plan("example.com.", PlanOptions::default(), &[], &[], || 0).unwrap();
    assert_eq!(hosts(&plan), [("example.com", 465), ("example.com", 587)]);
    assert_eq!(plan.attempts[0].mode, PortMode::ImplicitTls);
    assert_eq!(plan.attempts[1].mode, PortMode::Submission);

    // Only bad records: all skipped, fallback used.
    let bad = [
        r(0, 0, 465, "bad host"),
        r(0, 0, 0, "ok.example"),
        r(0, 0, 465, "[192.0.2.1]"),
    ];
    let plan = srv_plan("example.com", PlanOptions::default(), &bad, &[], || 0).unwrap();
    assert_eq!(hosts(&plan), [("example.com", 465), ("example.com", 587)]);
    let reasons: Vec<_> = plan.skipped.iter().map(|s| (s.index, s.reason)).collect();
    assert_eq!(
        reasons,
        [
            (0, SrvRecordError::InvalidTarget),
            (1, SrvRecordError::PortZero),
            (2, SrvRecordError::InvalidTarget)
        ]
    );

    assert_eq!(
        srv_plan("bad domain", PlanOptions::default(), &[], &[], || 0),
        Err(SrvPlanError::InvalidDomain)
    );
    assert_eq!(
        srv_plan("[127.0.0.1]", PlanOptions::default(), &[], &[], || 0),
        Err(SrvPlanError::InvalidDomain)
    );

    // A service not allowed is left out with its records.
    let only_starttls = PlanOptions {
        implicit_tls: false,
        starttls: true,
    };
    let subs = [r(0, 0, 465, "tls.example")];
    let plan = srv_plan("example.com", only_starttls, &subs, &[], || 0).unwrap();
    assert_eq!(hosts(&plan), [("example.com", 587)]);
    let none = PlanOptions {
        implicit_tls: false,
        starttls: false,
    };
    assert!(matches!(
        srv_plan("example.com", none, &subs, &[], || 0),
        Err(SrvPlanError::NotAvailable(_))
    ));
}

fn record() -> impl Strategy<Value = SrvRecord> {
    (
        0u16..4,
        prop_oneof![Just(0u16), 0u16..5, any::<u16>()],
        1u16..,
        0u8..8,
    )
        .prop_map(|(p, w, port, t)| r(p, w, port, &format!("h{t}.example")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every usable record appears exactly once; priorities never
    /// decrease; at equal priority `_submissions` comes first; each
    /// priority/service group puts weight-0 records first when the random
    /// number is 0, and the order inside a group with only weight-0
    /// records is the input order.
    #[test]
    fn every_record_once_in_order(
        subs in prop::collection::vec(record(), 0..12),
        sub in prop::collection::vec(record(), 0..12),
        randoms in prop::collection::vec(any::<u32>(), 1..16),
    ) {
        let mut it = randoms.iter().copied().cycle();
        let plan = srv_plan("example.com", PlanOptions::default(), &subs, &sub, || it.next().unwrap_or(0)).unwrap();
        if subs.is_empty() && sub.is_empty() {
            prop_assert_eq!(plan.attempts.len(), 2);
            return Ok(());
        }
        prop_assert_eq!(plan.attempts.len(), subs.len() + sub.len());
        prop_assert!(plan.skipped.is_empty());
        // Each record exactly once (as a multiset).
        let mut want: Vec<(SrvService, u16, u16, u16, String)> = subs.iter().map(|x| (SrvService::Submissions, x.priority, x.weight, x.port, x.target.clone()))
            .chain(sub.iter().map(|x| (SrvService::Submission, x.priority, x.weight, x.port, x.target.clone())))
            .collect();
        let mut got: Vec<(SrvService, u16, u16, u16, String)> = plan.attempts.iter().map(|a| {
            let (p, w) = a.srv.expect("from SRV");
            (a.service, p, w, a.port, a.host.clone())
        }).collect();
        // Order: (priority, service) non-decreasing.
        for pair in got.windows(2) {
            prop_assert!((pair[0].1, pair[0].0) <= (pair[1].1, pair[1].0));
        }
        for a in &plan.attempts {
            prop_assert_eq!(a.mode, a.service.mode());
            prop_assert_eq!(a.tls, TlsPolicy::Required);
        }
        want.sort();
        got.sort();
        prop_assert_eq!(want, got);
    }

    /// With the random number always 0, each group starts with its
    /// weight-0 records in input order (RFC 2782); with all weights 0 the
    /// whole group keeps the input order whatever the random numbers.
    #[test]
    fn weight_zero_rules(
        subs in prop::collection::vec(record(), 1..12),
        randoms in prop::collection::vec(any::<u32>(), 1..16),
    ) {
        let plan = srv_plan("example.com", PlanOptions::default(), &subs, &[], || 0).unwrap();
        for prio in 0u16..4 {
            let zeros: Vec<u16> = subs.iter().filter(|x| x.priority == prio && x.weight == 0).map(|x| x.port).collect();
            let group: Vec<u16> = plan.attempts.iter().filter(|a| a.srv.map(|s| s.0) == Some(prio)).map(|a| a.port).collect();
            prop_assert_eq!(&group[..zeros.len()], &zeros[..]);
        }
        let zeroed: Vec<SrvRecord> = subs.iter().map(|x| SrvRecord { weight: 0, ..x.clone() }).collect();
        let mut it = randoms.iter().copied().cycle();
        let plan = srv_plan("example.com", PlanOptions::default(), &zeroed, &[], || it.next().unwrap_or(0)).unwrap();
        let mut want = zeroed.clone();
        want.sort_by_key(|x| x.priority); // stable
        let got: Vec<u16> = plan.attempts.iter().map(|a| a.port).collect();
        let want: Vec<u16> = want.iter().map(|x| x.port).collect();
        prop_assert_eq!(got, want);
    }

    /// Any input, any random numbers: no panic.
    #[test]
    fn never_panics(
        domain in "\\PC{0,20}",
        subs in prop::collection::vec((any::<u16>(), any::<u16>(), any::<u16>(), "\\PC{0,12}"), 0..8),
        randoms in prop::collection::vec(any::<u32>(), 1..8),
        a in any::<bool>(), b in any::<bool>(),
    ) {
        let recs: Vec<SrvRecord> = subs.into_iter().map(|(p, w, port, t)| SrvRecord::new(p, w, port, t)).collect();
        let mut it = randoms.iter().copied().cycle();
        let _ = srv_plan(&domain, PlanOptions { implicit_tls: a, starttls: b }, &recs, &recs, || it.next().unwrap_or(0));
    }
}
