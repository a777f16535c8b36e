//! Message content: the DATA decoder against the peer's `DataReceiver` and
//! against `memmem` / plain-copy baselines; the dot-stuffing encoder
//! against a plain copy; incremental feeding of the decoder.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use smtp_sansio_benches as b;

fn decode(c: &mut Criterion) {
    let limits = b::data_limits();
    let finder = memchr::memmem::Finder::new(b"\r\n.");
    for (name, body) in [
        ("realistic", b::realistic_body(b::MIB)),
        ("dotted", b::dotted_body(b::MIB)),
        ("short_lines", b::short_lines_body(b::MIB)),
    ] {
        let wire = b::wire_form(&body);
        b::check_decoders(&body, &wire);
        let mut out = Vec::with_capacity(wire.len());
        let mut g = c.benchmark_group(format!("data_decode/{name}"));
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_function("ours", |bn| {
            bn.iter(|| b::ours_decode(black_box(&wire), &limits))
        });
        g.bench_function("ours_into_vec", |bn| {
            bn.iter(|| {
                out.clear();
                b::ours_decode_into(black_box(&wire), &limits, &mut out)
            })
        });
        g.bench_function("peer", |bn| {
            bn.iter(|| {
                out.clear();
                b::peer_decode_into(black_box(&wire), &mut out)
            })
        });
        g.bench_function("memmem", |bn| {
            bn.iter(|| b::memmem_scan(black_box(&wire), &finder))
        });
        g.bench_function("copy", |bn| {
            bn.iter(|| {
                out.clear();
                out.extend_from_slice(black_box(&wire));
                out.len()
            })
        });
        g.finish();
    }
}

fn decode_chunked(c: &mut Criterion) {
    let limits = b::data_limits();
    let body = b::realistic_body(b::MIB);
    let wire = b::wire_form(&body);
    let mut out = Vec::with_capacity(wire.len());
    let mut g = c.benchmark_group("data_chunked");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.sample_size(10);
    for (name, chunk) in [("whole", wire.len()), ("64", 64), ("7", 7), ("1", 1)] {
        g.bench_with_input(BenchmarkId::new("ours", name), &chunk, |bn, &chunk| {
            bn.iter(|| {
                out.clear();
                b::ours_decode_chunked(black_box(&wire), chunk, &limits, &mut out)
            })
        });
        g.bench_with_input(BenchmarkId::new("peer", name), &chunk, |bn, &chunk| {
            bn.iter(|| {
                out.clear();
                b::peer_decode_chunked(black_box(&wire), chunk, &mut out)
            })
        });
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    for (name, body) in [
        ("realistic", b::realistic_body(b::MIB)),
        ("dotted", b::dotted_body(b::MIB)),
        ("short_lines", b::short_lines_body(b::MIB)),
    ] {
        let mut out = Vec::with_capacity(body.len() * 2);
        let mut g = c.benchmark_group(format!("data_encode/{name}"));
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function("ours", |bn| {
            bn.iter(|| {
                out.clear();
                b::ours_encode(black_box(&body), &mut out)
            })
        });
        g.bench_function("copy", |bn| {
            bn.iter(|| {
                out.clear();
                out.extend_from_slice(black_box(&body));
                out.len()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, decode, encode, decode_chunked);
criterion_main!(benches);
