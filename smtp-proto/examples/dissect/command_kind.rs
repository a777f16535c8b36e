//! Placeholder until the parser for this kind lands.
use crate::Outcome;

/// Dissects one input.
pub fn run(_input: &[u8], _split: Option<usize>) -> Outcome {
    Outcome::Err("unimplemented", Vec::new())
}
