//! `dissect`: prints what the crate's parsers make of raw protocol bytes,
//! one normalized TAB-separated line per input file.
//!
//! ```text
//! cargo run -q --release -p smtp-sansio --example dissect -- [--split N] KIND FILE...
//! ```
//!
//! KIND is `command`, `reply`, `greeting`, `ehlo` or `data`. `--split N`
//! feeds the input N bytes at a time through the incremental parser; every
//! N gives the same output as the whole buffer. Exit status 0 when every
//! file was read, 2 on a usage or I/O error.

mod command_kind;
mod data_kind;
mod reply_kinds;

use std::io::Write;
use std::process::ExitCode;

/// What a kind module makes of one file.
pub enum Outcome {
    /// `OK` followed by these fields (the first is the kind or verb).
    Ok(Vec<Vec<u8>>),
    /// `ERR`, the stable error kind, and optional detail fields.
    Err(&'static str, Vec<Vec<u8>>),
}

/// TSV escaping of dissect.md: `\` `\t` `\r` `\n`, other controls as `\xHH`.
fn escape(field: &[u8], out: &mut Vec<u8>) {
    for &b in field {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b if b < 0x20 || b == 0x7f => out.extend_from_slice(format!("\\x{b:02X}").as_bytes()),
            b => out.push(b),
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: dissect [--split N] command|reply|greeting|ehlo|data FILE...");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    if matches!(args.peek().map(String::as_str), Some("-h" | "--help")) {
        println!("usage: dissect [--split N] command|reply|greeting|ehlo|data FILE...");
        return ExitCode::SUCCESS;
    }
    let mut split = None;
    if args.peek().map(String::as_str) == Some("--split") {
        args.next();
        match args.next().and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n > 0 => split = Some(n),
            _ => return usage(),
        }
    }
    let Some(kind) = args.next() else {
        return usage();
    };
    let run: fn(&[u8], Option<usize>) -> Outcome = match kind.as_str() {
        "command" => command_kind::run,
        "reply" => reply_kinds::reply,
        "greeting" => reply_kinds::greeting,
        "ehlo" => reply_kinds::ehlo,
        "data" => data_kind::run,
        _ => return usage(),
    };
    let files: Vec<String> = args.collect();
    if files.is_empty() {
        return usage();
    }
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    let mut status = ExitCode::SUCCESS;
    for file in files {
        let input = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("dissect: {file}: {e}");
                status = ExitCode::from(2);
                continue;
            }
        };
        let mut line = Vec::new();
        escape(file.as_bytes(), &mut line);
        let fields = match run(&input, split) {
            Outcome::Ok(fields) => {
                line.extend_from_slice(b"\tOK");
                fields
            }
            Outcome::Err(kind, detail) => {
                line.extend_from_slice(b"\tERR\t");
                line.extend_from_slice(kind.as_bytes());
                detail
            }
        };
        for f in fields {
            line.push(b'\t');
            escape(&f, &mut line);
        }
        line.push(b'\n');
        if stdout.write_all(&line).is_err() {
            return ExitCode::from(2);
        }
    }
    status
}
