//! Everything a user's device does in vaiti. Builds natively and for `wasm32-unknown-unknown`, so
//! the CLI and the browser app share one implementation.
//!
//! Today: validation of what a person types ([`hetu`]). Login, unlock, sealing, verification and
//! sync arrive with the rest of issue #3.

#![forbid(unsafe_code)]

pub mod hetu;
