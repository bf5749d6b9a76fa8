//! The integration tests of `vaiti`, linked as one test binary rather than one per file: each file
//! here is a module, and its tests' names start with the module's, so one file's tests run with
//! e.g. `cargo test -p vaiti --test it canary_scanner::`.

// This whole crate is test code: a failed assumption must fail loudly. clippy.toml's
// `allow-*-in-tests` covers `#[test]` functions only, not the helpers they share.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod canary_scanner;
mod cli_clinic;
mod demo_cli;
mod detection_cli;
mod dump_canary;
mod e2e_records;
mod report_cli;
mod serve;
mod sessions_cli;
mod support;
mod witness_cli;
