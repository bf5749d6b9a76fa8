//! The integration tests of `vaiti-server`, linked as one test binary rather than one per file:
//! each file here is a module, and its tests' names start with the module's, so one file's tests
//! run with e.g. `cargo test -p vaiti-server --test it auth::`.

// This whole crate is test code: a failed assumption must fail loudly. clippy.toml's
// `allow-*-in-tests` covers `#[test]` functions only, not the helpers they share.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod contract;
mod fixture;
mod login_abuse;
mod openapi;
mod web;
