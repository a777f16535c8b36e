//! Blocking drivers on `std::net` for both sides, for programs without an
//! async runtime.

pub mod client;
pub mod server;
