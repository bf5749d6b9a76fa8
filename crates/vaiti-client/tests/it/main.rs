//! The integration tests of `vaiti-client`, linked as one test binary rather than one per file:
//! each file here is a module, and its tests' names start with the module's, so one file's tests
//! run with e.g. `cargo test -p vaiti-client --test it access_log::`.

// This whole crate is test code: a failed assumption must fail loudly. clippy.toml's
// `allow-*-in-tests` covers `#[test]` functions only, not the helpers they share.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access_log;
mod browser_session;
mod clinic_login;
mod detection;
mod layering;
mod malicious_server;
mod model;
mod paging;
mod password_change;
mod portal_invites;
mod reports;
mod review;
mod staff_after_portal;
mod support;
mod witness;
