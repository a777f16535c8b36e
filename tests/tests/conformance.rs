//! Conformance suite for the `dissect` tool (`corpus/conformance/`).
//!
//! Every case file is `y_*` (the RFCs say it MUST be accepted; its expected
//! output is in the kind's `expected.tsv`), `n_*` (MUST be rejected:
//! `ERR` and the expected error kind, which must be the one dissect prints,
//! for `data` optionally followed by the `consumed=N` detail that must
//! match) or `i_*` (implementation-defined: any verdict, but a line must be
//! printed, so no panic). The dissect example is run once per kind and per
//! split (whole buffer, `--split 1`, `--split 7`); every split must give the
//! same output as the whole buffer. Comparison follows dissect.md: exact
//! field lists, except that domain parts compare ASCII-case-insensitively.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const KINDS: [&str; 5] = ["command", "reply", "greeting", "ehlo", "data"];
/// One output field, escaped as dissect prints it.
type Field = Vec<u8>;

const SPLITS: [Option<usize>; 3] = [None, Some(1), Some(7)];

/// Runs dissect over `files`; returns file name -> fields after the FILE
/// column (still escaped, as bytes: raw 8-bit content is not UTF-8), and
/// the process status.
fn dissect(
    kind: &str,
    split: Option<usize>,
    files: &[PathBuf],
) -> (BTreeMap<String, Vec<Field>>, String) {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args([
        "run",
        "-q",
        "--release",
        "-p",
        "smtp-sansio",
        "--example",
        "dissect",
        "--",
    ]);
    if let Some(n) = split {
        cmd.args(["--split", &n.to_string()]);
    }
    cmd.arg(kind).args(files);
    cmd.current_dir(smtp_sansio_tests::corpus_dir().join(".."));
    let out = cmd.output().expect("spawning cargo run for dissect");
    let mut map = BTreeMap::new();
    for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let mut fields = line.split(|&b| b == b'\t');
        let file = String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
        let name = Path::new(&file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        map.insert(name, fields.map(<[u8]>::to_vec).collect());
    }
    let status = if out.status.success() {
        String::new()
    } else {
        format!(
            "{} ({})",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )
    };
    (map, status)
}

/// Splits a canonical mailbox into (local part, domain) at the last `@`
/// outside a quoted string.
fn split_mailbox(s: &[u8]) -> (&[u8], &[u8]) {
    let (mut quoted, mut escaped, mut at) = (false, false, None);
    for (i, &c) in s.iter().enumerate() {
        match c {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b'@' if !quoted => at = Some(i),
            _ => {}
        }
    }
    match at {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, b""),
    }
}

/// Field equality under dissect.md's comparison rules.
fn field_eq(expected: &[u8], got: &[u8]) -> bool {
    if expected == got {
        return true;
    }
    for key in [&b"domain="[..], b"node="] {
        if let (Some(e), Some(g)) = (expected.strip_prefix(key), got.strip_prefix(key)) {
            return e.eq_ignore_ascii_case(g);
        }
    }
    for key in [&b"reverse_path="[..], b"forward_path="] {
        if let (Some(e), Some(g)) = (expected.strip_prefix(key), got.strip_prefix(key)) {
            let (el, ed) = split_mailbox(e);
            let (gl, gd) = split_mailbox(g);
            return el == gl && ed.eq_ignore_ascii_case(gd);
        }
    }
    false
}

/// Whether `got` satisfies the expectation of a `y_` or `n_` case.
fn matches(expected: &[Field], got: &[Field]) -> bool {
    match expected.first().map(Vec::as_slice) {
        Some(b"OK") => {
            expected.len() == got.len() && expected.iter().zip(got).all(|(e, g)| field_eq(e, g))
        }
        // `ERR KIND [detail...]`: the error kind must be the one printed,
        // every expected detail must be among the printed ones.
        Some(b"ERR") => {
            got.first().map(Vec::as_slice) == Some(b"ERR")
                && expected.get(1).is_some_and(|k| got.get(1) == Some(k))
                && expected[2..]
                    .iter()
                    .all(|e| got.iter().skip(2).any(|g| g == e))
        }
        _ => false,
    }
}

/// A field list for a failure message.
fn show(fields: &[Field]) -> String {
    String::from_utf8_lossy(&fields.join(&b'\t')).into_owned()
}

#[test]
fn dissect_conformance() {
    let root = smtp_sansio_tests::corpus_dir().join("conformance");
    let mut failures = Vec::new();
    let (mut total, mut passed, mut implementation_defined) = (0usize, 0usize, 0usize);
    let mut summary = Vec::new();
    for kind in KINDS {
        let dir = root.join(kind);
        let tsv = std::fs::read(dir.join("expected.tsv")).expect("expected.tsv");
        let mut expected: BTreeMap<String, Vec<Field>> = BTreeMap::new();
        for line in tsv.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let mut fields = line.split(|&b| b == b'\t').map(<[u8]>::to_vec);
            let name = String::from_utf8(fields.next().unwrap()).expect("UTF-8 case name");
            assert!(
                expected.insert(name.clone(), fields.collect()).is_none(),
                "{kind}: duplicate {name}"
            );
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("reading the kind's folder")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        files.sort();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for name in &names {
            let graded = name.starts_with("y_") || name.starts_with("n_");
            assert!(
                graded || name.starts_with("i_"),
                "{kind}/{name}: bad prefix"
            );
            assert_eq!(
                graded,
                expected.contains_key(name),
                "{kind}/{name}: expected.tsv line missing or extra"
            );
        }
        let (whole, status) = dissect(kind, None, &files);
        if !status.is_empty() {
            failures.push(format!("{kind}: dissect exited with {status}"));
        }
        for split in SPLITS.iter().skip(1) {
            let (out, status) = dissect(kind, *split, &files);
            if !status.is_empty() {
                failures.push(format!(
                    "{kind} --split {split:?}: dissect exited with {status}"
                ));
            }
            for name in &names {
                if out.get(name) != whole.get(name) {
                    failures.push(format!(
                        "{kind}/{name}: --split {} gives {:?}, whole buffer {:?}",
                        split.unwrap(),
                        out.get(name).map(|f| show(f)),
                        whole.get(name).map(|f| show(f))
                    ));
                }
            }
        }
        let (mut k_total, mut k_passed) = (0, 0);
        for name in &names {
            let Some(got) = whole.get(name) else {
                failures.push(format!("{kind}/{name}: no output line (panic?)"));
                continue;
            };
            let Some(exp) = expected.get(name) else {
                implementation_defined += 1;
                continue;
            };
            k_total += 1;
            if matches(exp, got) {
                k_passed += 1;
            } else {
                failures.push(format!(
                    "{kind}/{name}:\n    expected {}\n    got      {}",
                    show(exp),
                    show(got)
                ));
            }
        }
        summary.push(format!("{kind}: {k_passed}/{k_total}"));
        total += k_total;
        passed += k_passed;
    }
    let rate = format!(
        "conformance: {passed}/{total} graded cases pass ({:.1}%), {implementation_defined} implementation-defined; {}",
        100.0 * passed as f64 / total.max(1) as f64,
        summary.join(", ")
    );
    println!("{rate}");
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}\n{rate}",
        failures.len(),
        failures.join("\n")
    );
}
