//! Whole transactions through the server machine in memory (no I/O):
//! EHLO, MAIL, 2 RCPT, DATA, a 4 KiB message, QUIT, every decision
//! accepted. Compared with the bare parsers on the same bytes (the
//! machine's overhead). And our client and server machines as a pair.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smtp_sansio_benches as b;

fn server(c: &mut Criterion) {
    let cfg = b::server_config();
    let body = b::realistic_body(4096);
    let opts = b::command_options();
    let limits = b::data_limits();
    let mut out = Vec::with_capacity(1 << 16);
    for txns in [1usize, 10] {
        let groups = b::session_groups(txns, &body);
        let bytes: usize = groups.iter().map(Vec::len).sum();
        let (content, msgs) = b::run_server_session(&cfg, &groups, &mut out);
        assert_eq!(msgs, txns);
        assert_eq!(content, (body.len() * txns) as u64);
        // The same bytes through the bare parsers: command lines and content.
        let commands: Vec<u8> = groups
            .iter()
            .enumerate()
            .filter(|(i, _)| *i == 0 || *i == groups.len() - 1 || i % 2 == 1)
            .flat_map(|(_, g)| g.iter().copied())
            .collect();
        let wire = b::wire_form(&body);
        let mut g = c.benchmark_group(format!("server/{txns}tx"));
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function("machine", |bn| {
            bn.iter(|| {
                out.clear();
                b::run_server_session(&cfg, black_box(&groups), &mut out)
            })
        });
        g.bench_function("bare_parsers", |bn| {
            bn.iter(|| {
                let n = b::ours_commands(black_box(&commands), &opts);
                let mut total = 0;
                for _ in 0..txns {
                    total += b::ours_decode(black_box(&wire), &limits).0;
                }
                (n, total)
            })
        });
        g.finish();
    }
}

fn pair(c: &mut Criterion) {
    let (ccfg, scfg) = b::pair_configs();
    let body = b::realistic_body(4096);
    for txns in [1usize, 10] {
        assert_eq!(b::run_pair_session(&ccfg, &scfg, txns, &body), txns);
        let mut g = c.benchmark_group(format!("pair/{txns}tx"));
        g.throughput(Throughput::Bytes((body.len() * txns) as u64));
        g.bench_function("client_server", |bn| {
            bn.iter(|| b::run_pair_session(&ccfg, &scfg, txns, black_box(&body)))
        });
        g.finish();
    }
}

criterion_group!(benches, server, pair);
criterion_main!(benches);
