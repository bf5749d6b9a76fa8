//! Everything a user's device does in vaiti. Builds natively and for `wasm32-unknown-unknown`, so
//! the CLI and the browser app share one implementation.
//!
//! - [`account`]: creating a clinic with its first admin, logging in and unlocking the account's
//!   keys (OPAQUE with both secrets; nothing secret reaches the server).
//! - [`admin`]: work that needs the clinic root key, such as adding a branch.
//! - [`directory`]: the signed clinic manifest and certificates, and how they are checked.
//! - [`api`]: the HTTP calls.
//! - [`hetu`]: validation of Finnish identity codes as they are typed.
//! - [`detection`]: the clinic's alerts and decoy charts (admins and auditors).

#![forbid(unsafe_code)]

pub mod access_log;
pub mod account;
pub mod admin;
pub mod api;
pub mod chart;
pub mod checkpoint;
mod conv;
pub mod custody;
pub mod detection;
pub mod directory;
pub mod draft;
pub mod hetu;
pub mod invite;
pub mod report;
pub mod seen;
pub mod session;
pub mod witness;

/// What can go wrong on the client, in terms a user can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The login name, password or Secret Key is wrong (OPAQUE cannot say which).
    #[error("wrong login name, password or Secret Key")]
    LoginFailed,
    /// The server answered with an error.
    #[error("the server refused the request ({status} {code}): {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The API's error code.
        code: String,
        /// The API's message.
        message: String,
    },
    /// The server could not be reached.
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The server answered something that breaks the protocol; for a security check, a sign that
    /// the server is faulty or malicious. Nothing was trusted.
    #[error("the server's answer failed a check: {0}")]
    Protocol(String),
    /// A cryptographic check failed.
    #[error("a cryptographic check failed: {0}")]
    Crypto(#[from] vaiti_crypto::Error),
    /// The caller asked for something impossible (bad arguments).
    #[error("{0}")]
    Usage(String),
}

impl From<reqwest::Error> for ClientError {
    fn from(e: reqwest::Error) -> Self {
        ClientError::Network(e.to_string())
    }
}
