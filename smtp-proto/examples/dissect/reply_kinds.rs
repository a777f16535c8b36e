//! Placeholder until the reply parsers land.
use crate::Outcome;

/// `reply`: one complete reply.
pub fn reply(_input: &[u8], _split: Option<usize>) -> Outcome {
    Outcome::Err("unimplemented", Vec::new())
}

/// `greeting`: one 220/554 greeting.
pub fn greeting(_input: &[u8], _split: Option<usize>) -> Outcome {
    Outcome::Err("unimplemented", Vec::new())
}

/// `ehlo`: one EHLO reply.
pub fn ehlo(_input: &[u8], _split: Option<usize>) -> Outcome {
    Outcome::Err("unimplemented", Vec::new())
}
