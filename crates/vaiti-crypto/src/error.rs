//! The one error type of the crate.
//!
//! Errors are deliberately coarse (as in `age`): an attacker who feeds us crafted input learns
//! "this failed to decrypt", never "the tag mismatched at byte 17" or "the key id matched but the
//! commitment did not". Callers get enough to tell the user what to do, nothing more.

/// What went wrong. New variants may be added; match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a well-formed vaiti structure (bad magic, wrong length, bad padding).
    #[error("malformed input")]
    Malformed,
    /// The structure names a format version this build does not know. Never a fallback.
    #[error("unsupported format version")]
    UnsupportedVersion,
    /// The structure names a cipher or signature suite this build does not know. Never a fallback.
    #[error("unsupported cipher suite")]
    UnsupportedSuite,
    /// The object's kind is not allowed where it was found, or its author's role may not write it.
    #[error("object not allowed here")]
    NotAllowed,
    /// The object was sealed or wrapped for a different key than the one supplied.
    #[error("wrong key")]
    WrongKey,
    /// Authenticated decryption failed: the object was altered, moved to another context, or the
    /// key is wrong.
    #[error("decryption failed")]
    DecryptionFailed,
    /// A signature did not verify under the expected key, label and suite.
    #[error("invalid signature")]
    BadSignature,
    /// An older version of an object was presented after a newer one had been seen.
    #[error("object version rolled back")]
    RolledBack,
    /// A Secret Key as typed or stored is not valid (a typo is caught by its checksum).
    #[error("invalid Secret Key")]
    InvalidSecretKey,
    /// Escrow shares do not belong together, are too few, or rebuild a key that does not match the
    /// clinic's escrow public key.
    #[error("escrow shares invalid")]
    InvalidShares,
    /// A parameter is outside what the format allows (for example content too large, M > N).
    #[error("invalid parameter")]
    InvalidParameter,
    /// The operating system's random number generator failed.
    #[error("random number generator unavailable")]
    Rng,
}

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Fills `buf` from the operating system's CSPRNG.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|_| Error::Rng)
}
