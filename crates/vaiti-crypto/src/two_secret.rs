//! Two-secret key derivation: a password and a Secret Key, so that neither alone unlocks an account.
//!
//! The user's OPAQUE password input is `HKDF-SHA256(salt = Secret Key, ikm = password)`, so a
//! server-side attacker who steals the OPAQUE records cannot even start guessing passwords without
//! the 128-bit Secret Key that never leaves the user's devices and Emergency Kit. OPAQUE then runs
//! Argon2id (fixed by [`vaiti_opaque`]'s suite version) once, inside its key-stretching slot.
//!
//! The Secret Key is printed for people as `V1-` followed by 32 Crockford base32 characters in
//! groups of four: 128 key bits and a 32-bit checksum, so a typo is caught before any network call.

use core::fmt;

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization as _;
use zeroize::Zeroizing;

use crate::error::{Error, Result, random_bytes};

/// Crockford's base32 alphabet: no I, L, O or U, so fewer misreadings.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const PRINTED_PREFIX: &str = "V1";

/// A user's 128-bit Secret Key. Secret: zeroized on drop, not `Clone`, printed as `[redacted]`
/// by `Debug`; [`SecretKey::to_printed`] is the one deliberate way to show it.
pub struct SecretKey {
    bytes: Zeroizing<[u8; 16]>,
}

impl SecretKey {
    /// A fresh Secret Key, made at sign-up.
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; 16]);
        random_bytes(bytes.as_mut())?;
        Ok(Self { bytes })
    }

    /// From raw bytes (as stored in a profile).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 16] = bytes.try_into().map_err(|_| Error::InvalidSecretKey)?;
        Ok(Self {
            bytes: Zeroizing::new(arr),
        })
    }

    /// The raw bytes, for storing in a profile sealed under the Account Key. Handle as a secret.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.bytes
    }

    fn checksum(bytes: &[u8; 16]) -> [u8; 4] {
        let digest = Sha256::new()
            .chain_update(b"vaiti v1 secret key checksum")
            .chain_update(bytes)
            .finalize();
        let mut out = [0u8; 4];
        out.copy_from_slice(&digest[..4]);
        out
    }

    /// The printed form for the Emergency Kit, e.g. `V1-7KQ2-...` (eight groups of four).
    pub fn to_printed(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new([0u8; 20]);
        raw[..16].copy_from_slice(self.bytes.as_ref());
        raw[16..].copy_from_slice(&Self::checksum(&self.bytes));
        let chars = Zeroizing::new(base32_encode(raw.as_ref()));
        let mut out = Zeroizing::new(String::with_capacity(3 + 40));
        out.push_str(PRINTED_PREFIX);
        for (i, c) in chars.chars().enumerate() {
            if i % 4 == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }

    /// Parses the printed form as a person would type it: any case, with or without dashes or
    /// spaces, O read as 0 and I or L as 1. A typo fails the checksum.
    pub fn parse_printed(text: &str) -> Result<Self> {
        let mut cleaned = Zeroizing::new(String::with_capacity(text.len()));
        for c in text.chars() {
            match c {
                '-' | ' ' | '\t' => {}
                c => cleaned.push(c.to_ascii_uppercase()),
            }
        }
        let body = cleaned
            .strip_prefix(PRINTED_PREFIX)
            .ok_or(Error::InvalidSecretKey)?;
        if body.len() != 32 {
            return Err(Error::InvalidSecretKey);
        }
        let raw = Zeroizing::new(base32_decode(body)?);
        let (key, check) = raw.split_at(16);
        let key: [u8; 16] = key.try_into().map_err(|_| Error::InvalidSecretKey)?;
        let key = Zeroizing::new(key);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            &Self::checksum(&key)[..],
            check,
        )) {
            return Err(Error::InvalidSecretKey);
        }
        Ok(Self { bytes: key })
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// 20 bytes → 32 Crockford characters (160 bits, no padding). Hand-written: a dozen lines.
fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            let idx = ((acc >> bits) & 31) as usize;
            out.push(char::from(CROCKFORD.get(idx).copied().unwrap_or(b'0')));
        }
    }
    out
}

fn base32_decode(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let c = match c {
            b'O' => b'0',
            b'I' | b'L' => b'1',
            c => c,
        };
        let v = CROCKFORD
            .iter()
            .position(|&a| a == c)
            .ok_or(Error::InvalidSecretKey)? as u32;
        acc = ((acc << 5) | v) & 0xFFFF;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

/// The password input handed to OPAQUE: `HKDF-SHA256(salt = Secret Key, ikm = NFKC(password))`,
/// expanded with the label "vaiti v1 opaque password" to 32 bytes.
///
/// The password is NFKC-normalised so the same password typed on two keyboards is the same input.
pub fn opaque_password_input(
    secret_key: &SecretKey,
    password: &str,
) -> Result<Zeroizing<[u8; 32]>> {
    let normalized: Zeroizing<String> = Zeroizing::new(password.nfkc().collect());
    let hk = Hkdf::<Sha256>::new(Some(secret_key.as_bytes()), normalized.as_bytes());
    let mut out = Zeroizing::new([0u8; 32]);
    hk.expand(b"vaiti v1 opaque password", out.as_mut())
        .map_err(|_| Error::InvalidParameter)?;
    Ok(out)
}
