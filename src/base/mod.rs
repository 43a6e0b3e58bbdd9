//! What every room uses and what uses nothing else of skconn: the one error type with input
//! diagnostics and exit codes, what the build knew about itself, civil time, and hexadecimal.
//!
//! It must never import another room: everything else stands on it.

pub mod build_info;
pub mod error;
pub mod hex;
pub mod time;
