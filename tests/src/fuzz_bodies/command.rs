//! `command`: raw bytes to the command parser ([`Command::parse`],
//! [`Command::parse_line`]) under several option sets. Whatever parses
//! must encode ([`Command::write_to`]), the encoding must parse back to the
//! same value under the same options, and encoding is idempotent.

use smtp_sansio::Command;
use smtp_sansio::{CommandOptions, Extensions, LineEndingPolicy, ParseError};

fn option_sets() -> [CommandOptions; 4] {
    let strict = CommandOptions::new();
    let mut lenient = CommandOptions::new();
    lenient.line_ending = LineEndingPolicy::Normalize;
    lenient.lenient.space_after_colon = true;
    lenient.lenient.missing_brackets = true;
    lenient.lenient.trailing_whitespace = true;
    // The opt-in Postfix extensions (XCLIENT_README, XFORWARD_README).
    lenient.extensions |= Extensions::XCLIENT | Extensions::XFORWARD;
    let mut none = CommandOptions::new();
    none.extensions = Extensions::NONE;
    let mut utf8 = CommandOptions::new();
    utf8.utf8_transaction = true;
    [strict, lenient, none, utf8]
}

/// The first SP-delimited word, as the parser reports it.
fn first_word(s: &[u8]) -> &[u8] {
    let end = s
        .iter()
        .position(|&b| matches!(b, b' ' | b'\r' | b'\n'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Checks one successfully parsed command.
fn check_parsed(cmd: &Command<'_>, input_len: usize, opts: &CommandOptions) {
    let mut enc = Vec::new();
    cmd.write_to(&mut enc)
        .unwrap_or_else(|e| panic!("parsed command does not encode: {e:?} {cmd:?}"));
    assert!(enc.ends_with(b"\r\n"));
    // Read back under the same options, strict line endings and no lenient
    // syntax: the canonical form needs neither. The canonical form is at
    // most two octets longer than the input (brackets added to a lenient
    // bracket-less path); give the limits that room only then.
    let mut back_opts = *opts;
    back_opts.line_ending = LineEndingPolicy::Reject;
    back_opts.lenient = Default::default();
    if enc.len() > input_len {
        back_opts.limits.command_line += enc.len() - input_len;
        back_opts.limits.auth_line += enc.len() - input_len;
        back_opts.limits.path += 2;
    }
    let back = Command::parse(&enc, &back_opts).unwrap_or_else(|e| {
        panic!(
            "encoding does not parse back: {e:?} {:?} from {cmd:?}",
            String::from_utf8_lossy(&enc)
        )
    });
    assert_eq!(back, *cmd, "round trip changed the command");
    let mut enc2 = Vec::new();
    back.write_to(&mut enc2).expect("re-encode");
    assert_eq!(enc, enc2, "encoding is not canonical");
    let owned = cmd.into_owned().expect("into_owned");
    assert_eq!(owned.command(), *cmd);
    assert_eq!(owned.as_bytes(), &enc[..]);
}

/// The body.
pub fn command(data: &[u8]) {
    for opts in option_sets() {
        match Command::parse(data, &opts) {
            Ok(cmd) => {
                let mut verb = first_word(data);
                if opts.lenient.trailing_whitespace {
                    // `HELP\t` is HELP when trailing whitespace is dropped.
                    while let [rest @ .., b'\t' | b' '] = verb {
                        verb = rest;
                    }
                }
                assert!(
                    cmd.verb().as_bytes().eq_ignore_ascii_case(verb),
                    "verb {} from {:?}",
                    cmd.verb(),
                    String::from_utf8_lossy(verb)
                );
                check_parsed(&cmd, data.len(), &opts);
                // The framed entry point agrees on CRLF-terminated lines.
                if let Some(content) = data.strip_suffix(b"\r\n") {
                    let framed = Command::parse_line(content, &opts).expect("parse_line");
                    assert_eq!(framed, cmd);
                }
            }
            Err(e) => {
                assert_eq!(e.verb, first_word(data));
                if !data.contains(&b'\r') && !data.contains(&b'\n') {
                    assert_eq!(e.error, ParseError::Incomplete);
                }
                let _ = (e.error.kind(), e.error.reply_code());
            }
        }
        // The raw bytes as the content of a framed line.
        let framed = Command::parse_line(data, &opts);
        if let Ok(cmd) = &framed {
            check_parsed(cmd, data.len() + 2, &opts);
        }
        if !data.contains(&b'\r') && !data.contains(&b'\n') {
            let mut line = data.to_vec();
            line.extend_from_slice(b"\r\n");
            let whole = Command::parse(&line, &opts).map_err(|e| e.error);
            assert_eq!(
                framed.map_err(|e| e.error),
                whole,
                "parse_line and parse disagree"
            );
        }
    }
}
