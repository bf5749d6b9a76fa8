//! The OPAQUE (RFC 9807) cipher suite that vaiti's clients and server share.
//!
//! This crate exists so the server can speak OPAQUE without depending on `vaiti-crypto`, which
//! holds sealing and unwrapping code the server must never contain. It defines only the suite:
//! ristretto255 for the OPRF and the key exchange, SHA-512, and — in OPAQUE's key-stretching slot —
//! Argon2id with parameters **fixed by the suite version**. The parameters are not read from the
//! server or from any message, so a malicious server cannot make a client stretch less.

#![forbid(unsafe_code)]

pub use opaque_ke;

use argon2::{Algorithm, Argon2, Params, Version};
use opaque_ke::errors::InternalError;
use opaque_ke::generic_array::{ArrayLength, GenericArray};
use opaque_ke::ksf::Ksf;

/// The version of this suite. A change of any parameter below is a new version, never an edit.
pub const SUITE_VERSION: u8 = 1;

/// Argon2id memory cost of suite 1, in KiB (64 MiB: the floor set in the design).
pub const ARGON2_M_KIB: u32 = 64 * 1024;
/// Argon2id passes of suite 1.
pub const ARGON2_T: u32 = 3;
/// Argon2id lanes of suite 1.
pub const ARGON2_P: u32 = 1;

/// A fixed, public salt for the key-stretching slot. OPAQUE's input to it is already unique per
/// user (it is the OPRF output under the user's server-side key), so a per-user salt adds nothing;
/// a domain label keeps our Argon2 outputs apart from any other use.
const KSF_SALT: &[u8; 16] = b"vaiti-v1-opaque!";

/// vaiti's OPAQUE cipher suite, version 1.
#[derive(Debug, Clone, Copy, Default)]
pub struct VaitiOpaqueSuite;

impl opaque_ke::CipherSuite for VaitiOpaqueSuite {
    type OprfCs = opaque_ke::Ristretto255;
    type KeyExchange = opaque_ke::TripleDh<opaque_ke::Ristretto255, sha2_010::Sha512>;
    type Ksf = FixedArgon2id;
}

/// Argon2id with suite 1's parameters. Its `Default` is the only way to build it, so whatever
/// path opaque-ke takes, the stretch is the suite's.
#[derive(Debug, Clone, Copy, Default)]
pub struct FixedArgon2id;

impl FixedArgon2id {
    /// Stretches `input` into `output` with the suite's fixed parameters.
    pub fn stretch(input: &[u8], output: &mut [u8]) -> Result<(), InternalError> {
        let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, Some(output.len()))
            .map_err(|_| InternalError::KsfError)?;
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(input, KSF_SALT, output)
            .map_err(|_| InternalError::KsfError)
    }
}

impl Ksf for FixedArgon2id {
    fn hash<L: ArrayLength<u8>>(
        &self,
        input: GenericArray<u8, L>,
    ) -> Result<GenericArray<u8, L>, InternalError> {
        let mut output = GenericArray::default();
        Self::stretch(&input, &mut output)?;
        Ok(output)
    }
}

/// The operating system's CSPRNG in the `rand_core` 0.6 shape that `opaque-ke` expects, over
/// `getrandom` 0.4, so the older `getrandom` 0.2 stays out of every build. Hand-written: a few
/// lines of glue.
///
/// `RngCore::fill_bytes` cannot report an error. If the OS RNG fails (it does not, in practice,
/// on any supported platform) the process aborts: continuing with unfilled bytes would make
/// predictable keys, and a panic could be caught and ignored.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRng;

impl opaque_ke::rand::RngCore for OsRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if getrandom::fill(dest).is_err() {
            std::process::abort();
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), opaque_ke::rand::Error> {
        getrandom::fill(dest).map_err(|e| {
            let code = e
                .raw_os_error()
                .and_then(|c| u32::try_from(c).ok())
                .and_then(core::num::NonZeroU32::new);
            match code {
                Some(code) => opaque_ke::rand::Error::from(code),
                None => opaque_ke::rand::Error::from(core::num::NonZeroU32::MIN),
            }
        })
    }
}

impl opaque_ke::rand::CryptoRng for OsRng {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretch_uses_the_fixed_parameters() {
        // Recompute with argon2 directly and the documented parameters: a change to any of them
        // changes the output, which would lock every existing user out, so it must be a new suite.
        let mut ours = [0u8; 64];
        FixedArgon2id::stretch(b"input", &mut ours).unwrap();
        let params = Params::new(65536, 3, 1, Some(64)).unwrap();
        let mut expected = [0u8; 64];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(b"input", b"vaiti-v1-opaque!", &mut expected)
            .unwrap();
        assert_eq!(ours, expected);
        let weaker = Params::new(8, 1, 1, Some(64)).unwrap();
        let mut weak = [0u8; 64];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, weaker)
            .hash_password_into(b"input", b"vaiti-v1-opaque!", &mut weak)
            .unwrap();
        assert_ne!(ours, weak);
    }
}
