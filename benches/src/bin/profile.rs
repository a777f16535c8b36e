//! Runs one workload in a loop, for `valgrind --tool=callgrind` (which
//! counts instructions; `perf` may not work on a shared machine):
//!
//! ```text
//! cargo build --release -p smtp-sansio-benches --bin profile
//! valgrind --tool=callgrind target/release/profile commands/ours 20000
//! callgrind_annotate callgrind.out.<pid> | head -40
//! ```
//!
//! Workloads: commands/ours, commands/peer, ehlo/ours, ehlo/peer,
//! replies/ours, replies/peer, decode/ours, decode/peer, chunked1/ours,
//! whole/ours (commands through `InputBuffer`); on the captured traffic of
//! `corpus/captured/`: ccommands/ours, ccommands/peer, cehlo/ours,
//! cehlo/peer, creplies/ours, creplies/peer; the realistic message in
//! 4 KiB reads: decode4k/ours, decode4k/peer. A third argument keeps only
//! the captured command lines with that verb (`ccommands/ours 1000 RCPT`).

use std::hint::black_box;

use smtp_sansio::Limits;
use smtp_sansio_benches as b;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let what = args.first().map_or("commands/ours", String::as_str);
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let stream = b::command_stream();
    let opts = b::command_options();
    let limits = Limits::RFC;
    let ehlo = b::EHLO_REPLIES.concat().into_bytes();
    let replies = b::REPLY_MIX.concat().into_bytes();
    let wire = b::wire_form(&b::realistic_body(b::MIB));
    let dlimits = b::data_limits();
    let mut out = Vec::with_capacity(wire.len());
    let mut sum = 0usize;
    let mut ibuf = smtp_sansio::InputBuffer::new();
    // An optional third argument keeps only the captured command lines
    // with that verb (`ccommands/ours 1000 RCPT`): cost per verb.
    let cstream: Vec<u8> = match args.get(2) {
        Some(verb) => b::captured_commands()
            .into_iter()
            .filter(|l| {
                l.len() >= verb.len() && l[..verb.len()].eq_ignore_ascii_case(verb.as_bytes())
            })
            .collect::<Vec<_>>()
            .concat(),
        None => b::captured_command_stream(),
    };
    let cehlo = b::captured_ehlo();
    let creplies = b::captured_replies();
    for _ in 0..n {
        sum += match what {
            "commands/ours" => b::ours_commands(black_box(&stream), &opts).1,
            "commands/peer" => b::peer_commands(black_box(&stream)).1,
            "ehlo/ours" => b::ours_ehlo(black_box(&ehlo), &limits).1,
            "ehlo/peer" => b::peer_ehlo(black_box(&ehlo)).1,
            "replies/ours" => b::ours_replies(black_box(&replies), &limits).1,
            "replies/peer" => b::peer_replies(black_box(&replies)).1,
            "ccommands/ours" => b::ours_commands(black_box(&cstream), &opts).1,
            "ccommands/peer" => b::peer_commands(black_box(&cstream)).1,
            "cehlo/ours" => b::ours_ehlo(black_box(&cehlo), &limits).1,
            "cehlo/peer" => b::peer_ehlo(black_box(&cehlo)).1,
            "creplies/ours" => b::ours_replies(black_box(&creplies), &limits).1,
            "creplies/peer" => b::peer_replies(black_box(&creplies)).1,
            "decode4k/ours" => {
                out.clear();
                b::ours_decode_chunked(black_box(&wire), b::READ, &dlimits, &mut out);
                out.len()
            }
            "decode4k/peer" => {
                out.clear();
                usize::from(b::peer_decode_chunked(black_box(&wire), b::READ, &mut out))
            }
            "chunked1/ours" => b::ours_commands_chunked(black_box(&stream), 1, &mut ibuf, &opts),
            "whole/ours" => {
                b::ours_commands_chunked(black_box(&stream), stream.len(), &mut ibuf, &opts)
            }
            "decode/ours" => {
                out.clear();
                b::ours_decode_into(black_box(&wire), &dlimits, &mut out)
            }
            "decode/peer" => {
                out.clear();
                usize::from(b::peer_decode_into(black_box(&wire), &mut out))
            }
            other => panic!("unknown workload {other}"),
        };
    }
    println!("{what} x{n}: {sum}");
}
