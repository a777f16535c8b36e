//! Command, reply and EHLO-reply parsing: ours against the peer (the
//! `smtp-proto` crate) on the same input, plus incremental command framing.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use smtp_sansio::InputBuffer;
use smtp_sansio::Limits;
use smtp_sansio_benches as b;

fn commands(c: &mut Criterion) {
    let stream = b::command_stream();
    let lines = b::command_mix().len();
    let opts = b::command_options();
    // Both parsers must accept every line of the mix.
    assert_eq!(b::ours_commands(&stream, &opts).0, lines);
    assert_eq!(b::peer_commands(&stream).0, lines);
    let mut g = c.benchmark_group("commands");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("ours", |bn| {
        bn.iter(|| b::ours_commands(black_box(&stream), &opts))
    });
    g.bench_function("peer", |bn| {
        bn.iter(|| b::peer_commands(black_box(&stream)))
    });
    g.finish();
}

fn commands_chunked(c: &mut Criterion) {
    let stream = b::command_stream().repeat(20);
    let opts = b::command_options();
    let lines = stream.iter().filter(|&&x| x == b'\n').count();
    let mut buf = InputBuffer::new();
    for chunk in [1, 7, 64, stream.len()] {
        assert_eq!(
            b::ours_commands_chunked(&stream, chunk, &mut buf, &opts),
            lines
        );
        assert_eq!(b::peer_commands_chunked(&stream, chunk), lines);
    }
    let mut g = c.benchmark_group("commands_chunked");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    for (name, chunk) in [("whole", stream.len()), ("64", 64), ("7", 7), ("1", 1)] {
        g.bench_with_input(BenchmarkId::new("ours", name), &chunk, |bn, &chunk| {
            bn.iter(|| b::ours_commands_chunked(black_box(&stream), chunk, &mut buf, &opts))
        });
        g.bench_with_input(BenchmarkId::new("peer", name), &chunk, |bn, &chunk| {
            bn.iter(|| b::peer_commands_chunked(black_box(&stream), chunk))
        });
    }
    g.finish();
}

fn replies(c: &mut Criterion) {
    let stream = b::REPLY_MIX.concat().into_bytes();
    let n = b::REPLY_MIX.len();
    let limits = Limits::RFC;
    assert_eq!(b::ours_replies(&stream, &limits).0, n);
    assert_eq!(b::peer_replies(&stream).0, n);
    let mut g = c.benchmark_group("replies");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("ours", |bn| {
        bn.iter(|| b::ours_replies(black_box(&stream), &limits))
    });
    g.bench_function("peer", |bn| bn.iter(|| b::peer_replies(black_box(&stream))));
    g.finish();
}

fn ehlo(c: &mut Criterion) {
    let stream = b::EHLO_REPLIES.concat().into_bytes();
    let n = b::EHLO_REPLIES.len();
    let limits = Limits::RFC;
    assert_eq!(b::ours_ehlo(&stream, &limits).0, n);
    assert_eq!(b::peer_ehlo(&stream).0, n);
    let mut g = c.benchmark_group("ehlo");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("ours", |bn| {
        bn.iter(|| b::ours_ehlo(black_box(&stream), &limits))
    });
    g.bench_function("peer", |bn| bn.iter(|| b::peer_ehlo(black_box(&stream))));
    g.finish();
}

criterion_group!(benches, commands, replies, ehlo, commands_chunked);
criterion_main!(benches);
