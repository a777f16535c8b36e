//! Numeric EHLO parameters (SIZE, RFC 1870 4; DELIVERBY, RFC 2852 4):
//! every edge case of the digit reader gives the same answer through the
//! one-pass EHLO line path (`EhloReply::parse`), through the general path
//! (a first line that is not a 250 continuation is read generically, and
//! `RawCapability::split` + `parse`), and through `EhloReply::from_reply`.

use smtp_sansio::{Capability, EhloReply, Limits, ParseError, RawCapability, Reply};

/// (SIZE parameter text, expected SIZE value or error)
const CASES: &[(&str, Result<Option<u64>, ParseError>)] = &[
    ("", Ok(None)),
    ("0", Ok(Some(0))),
    ("10240000", Ok(Some(10_240_000))),
    ("9999999999999999999", Ok(Some(9_999_999_999_999_999_999))),
    ("18446744073709551615", Ok(Some(u64::MAX))),
    ("18446744073709551616", Err(ParseError::NumberOverflow)),
    ("99999999999999999999999", Err(ParseError::NumberOverflow)),
    ("0000000000000000000000042", Ok(Some(42))),
    ("12a", Err(ParseError::InvalidParameter)),
    ("/", Err(ParseError::InvalidParameter)),
    (":", Err(ParseError::InvalidParameter)),
    ("1 2", Err(ParseError::InvalidParameter)),
    ("  77  ", Ok(Some(77))),
];

fn via_ehlo(param: &str) -> Result<Option<u64>, ParseError> {
    let text = if param.is_empty() {
        "250-mx.example\r\n250-PIPELINING\r\n250 SIZE\r\n".to_string()
    } else {
        format!("250-mx.example\r\n250-PIPELINING\r\n250-SIZE {param}\r\n250 DSN\r\n")
    };
    let (e, used) = EhloReply::parse(text.as_bytes(), &Limits::RFC)?;
    assert_eq!(used, text.len());
    Ok(e.size())
}

fn via_split(param: &str) -> Result<Option<u64>, ParseError> {
    let line = format!("SIZE {param}");
    match RawCapability::split(line.trim_end().as_bytes())?.parse()? {
        Capability::Size(s) => Ok(s),
        other => panic!("not SIZE: {other:?}"),
    }
}

fn via_from_reply(param: &str) -> Result<Option<u64>, ParseError> {
    let text = format!("250-mx.example\r\n250 SIZE {param}\r\n");
    let (reply, _) = Reply::parse_plain(text.as_bytes(), &Limits::RFC)?;
    Ok(EhloReply::from_reply(reply)?.size())
}

#[test]
fn size_values_agree_on_every_path() {
    for (param, want) in CASES {
        assert_eq!(&via_ehlo(param), want, "EhloReply::parse, SIZE {param:?}");
        assert_eq!(&via_split(param), want, "split + parse, SIZE {param:?}");
        assert_eq!(&via_from_reply(param), want, "from_reply, SIZE {param:?}");
    }
}

#[test]
fn deliverby_checks_its_number_too() {
    for (param, want) in CASES {
        let text = format!("250-mx.example\r\n250 DELIVERBY {param}\r\n");
        let got = EhloReply::parse(text.as_bytes(), &Limits::RFC).map(|(e, _)| e.size());
        match want {
            Ok(_) => assert_eq!(got, Ok(None), "DELIVERBY {param:?}"),
            Err(e) => assert_eq!(got, Err(*e), "DELIVERBY {param:?}"),
        }
    }
}
