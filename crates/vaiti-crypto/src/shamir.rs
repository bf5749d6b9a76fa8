//! Shamir secret sharing over GF(2⁸) for the clinic escrow private key (M of N officers).
//!
//! Hand-written because it is small (field arithmetic and Lagrange interpolation at zero) and
//! because the share *format* is ours: each share names its set, its threshold and the escrow
//! public key it rebuilds, so shares from two splits are never combined, and the rebuilt key is
//! checked against the escrow public key before anyone uses it. Field operations are
//! constant-time (no lookup tables indexed by secrets).
//!
//! Share file bytes: `"VS" | version 1 | threshold M | index x | set id 16 | escrow key id 16 |
//! y 32 | checksum 8`, where the checksum is the first 8 bytes of SHA-256 over a label and all
//! preceding bytes (it catches a corrupted or mistyped share and names it; it is not a secret).

use core::fmt;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result, random_bytes};
use crate::ids::KeyId;
use crate::wrap::{DecryptionKey, EncryptionPublicKey};

const SHARE_MAGIC: [u8; 2] = *b"VS";
const SHARE_VERSION: u8 = 1;
/// Length of a serialised share.
pub const SHARE_LEN: usize = 2 + 1 + 1 + 1 + 16 + 16 + 32 + 8;

/// Multiplication in GF(2⁸) with the AES polynomial x⁸+x⁴+x³+x+1, in constant time.
fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    for _ in 0..8 {
        p ^= a & 0u8.wrapping_sub(b & 1);
        let carry = 0u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (0x1b & carry);
        b >>= 1;
    }
    p
}

/// Inverse in GF(2⁸) as a²⁵⁴ (constant time; the inverse of 0 is 0, never asked for).
fn gf_inv(a: u8) -> u8 {
    let mut result = 1u8;
    let mut base = a;
    let mut e = 254u8;
    while e > 0 {
        if e & 1 == 1 {
            result = gf_mul(result, base);
        }
        base = gf_mul(base, base);
        e >>= 1;
    }
    result
}

/// One officer's share of the escrow private key.
pub struct EscrowShare {
    threshold: u8,
    index: u8,
    set_id: [u8; 16],
    escrow_key_id: KeyId,
    y: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for EscrowShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EscrowShare")
            .field("threshold", &self.threshold)
            .field("index", &self.index)
            .field("escrow_key_id", &self.escrow_key_id)
            .field("y", &"[redacted]")
            .finish()
    }
}

impl EscrowShare {
    /// The share's index (1..=N), printed on the officer's share file.
    pub fn index(&self) -> u8 {
        self.index
    }

    /// How many shares rebuild the key.
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// The escrow public key id this share belongs to.
    pub fn escrow_key_id(&self) -> KeyId {
        self.escrow_key_id
    }

    fn checksum(body: &[u8]) -> [u8; 8] {
        let d = Sha256::new()
            .chain_update(b"vaiti v1 escrow share")
            .chain_update(body)
            .finalize();
        let mut out = [0u8; 8];
        out.copy_from_slice(&d[..8]);
        out
    }

    /// The share file's bytes. Secret: handle like the key itself.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(SHARE_LEN));
        out.extend_from_slice(&SHARE_MAGIC);
        out.push(SHARE_VERSION);
        out.push(self.threshold);
        out.push(self.index);
        out.extend_from_slice(&self.set_id);
        out.extend_from_slice(self.escrow_key_id.as_bytes());
        out.extend_from_slice(self.y.as_ref());
        let sum = Self::checksum(&out);
        out.extend_from_slice(&sum);
        out
    }

    /// Parses a share file; a corrupted share fails its checksum.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != SHARE_LEN || bytes.get(..2) != Some(&SHARE_MAGIC[..]) {
            return Err(Error::Malformed);
        }
        if bytes.get(2) != Some(&SHARE_VERSION) {
            return Err(Error::UnsupportedVersion);
        }
        let (body, sum) = bytes.split_at(SHARE_LEN - 8);
        if Self::checksum(body)[..] != *sum {
            return Err(Error::InvalidShares);
        }
        let threshold = *body.get(3).ok_or(Error::Malformed)?;
        let index = *body.get(4).ok_or(Error::Malformed)?;
        if threshold < 2 || index == 0 {
            return Err(Error::Malformed);
        }
        let set_id: [u8; 16] = body
            .get(5..21)
            .ok_or(Error::Malformed)?
            .try_into()
            .map_err(|_| Error::Malformed)?;
        let key_id: [u8; 16] = body
            .get(21..37)
            .ok_or(Error::Malformed)?
            .try_into()
            .map_err(|_| Error::Malformed)?;
        let y: [u8; 32] = body
            .get(37..69)
            .ok_or(Error::Malformed)?
            .try_into()
            .map_err(|_| Error::Malformed)?;
        Ok(Self {
            threshold,
            index,
            set_id,
            escrow_key_id: KeyId::from_bytes(key_id),
            y: Zeroizing::new(y),
        })
    }
}

/// Splits a 32-byte secret into `n` shares, any `m` of which rebuild it; coefficients come from
/// `coefficients`, which must fill its buffer with uniformly random bytes.
fn split_bytes(
    secret: &[u8; 32],
    m: u8,
    n: u8,
    mut coefficients: impl FnMut(&mut [u8]) -> Result<()>,
) -> Result<Vec<(u8, Zeroizing<[u8; 32]>)>> {
    if m < 2 || n < m {
        return Err(Error::InvalidParameter);
    }
    // poly[j][i]: coefficient of x^j for secret byte i; poly[0] is the secret.
    let mut poly: Vec<Zeroizing<[u8; 32]>> = Vec::with_capacity(usize::from(m));
    poly.push(Zeroizing::new(*secret));
    for _ in 1..m {
        let mut c = Zeroizing::new([0u8; 32]);
        coefficients(c.as_mut())?;
        poly.push(c);
    }
    let mut shares = Vec::with_capacity(usize::from(n));
    for x in 1..=n {
        let mut y = Zeroizing::new([0u8; 32]);
        for (i, out) in y.iter_mut().enumerate() {
            // Horner's rule from the highest coefficient down.
            let mut acc = 0u8;
            for c in poly.iter().rev() {
                acc = gf_mul(acc, x) ^ c.get(i).copied().unwrap_or(0);
            }
            *out = acc;
        }
        shares.push((x, y));
    }
    Ok(shares)
}

/// Lagrange interpolation at x = 0.
fn combine_bytes(points: &[(u8, &[u8; 32])]) -> Zeroizing<[u8; 32]> {
    let mut secret = Zeroizing::new([0u8; 32]);
    for (j, (xj, yj)) in points.iter().enumerate() {
        // l_j(0) = Π_{k≠j} x_k / (x_k − x_j); subtraction is XOR in GF(2⁸).
        let mut num = 1u8;
        let mut den = 1u8;
        for (k, (xk, _)) in points.iter().enumerate() {
            if k != j {
                num = gf_mul(num, *xk);
                den = gf_mul(den, xk ^ xj);
            }
        }
        let lj = gf_mul(num, gf_inv(den));
        for (s, y) in secret.iter_mut().zip(yj.iter()) {
            *s ^= gf_mul(lj, *y);
        }
    }
    secret
}

/// The clinic escrow key pair. Its private half exists whole only at clinic creation and at a
/// recovery ceremony; otherwise it lives as M-of-N shares held offline by named officers.
pub struct EscrowKey {
    key: DecryptionKey,
}

impl fmt::Debug for EscrowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EscrowKey([redacted])")
    }
}

impl EscrowKey {
    /// A fresh escrow key pair, made once at clinic creation.
    pub fn generate() -> Result<Self> {
        Ok(Self {
            key: DecryptionKey::generate()?,
        })
    }

    /// The public half, published in the clinic manifest: everything is also wrapped to it.
    pub fn public_key(&self) -> &EncryptionPublicKey {
        self.key.public_key()
    }

    /// The private half, to unwrap what was wrapped to escrow during a recovery ceremony.
    pub fn decryption_key(&self) -> &DecryptionKey {
        &self.key
    }

    /// Splits the private key into `n` shares, any `m` of which rebuild it (2 ≤ m ≤ n ≤ 255).
    pub fn split(&self, m: u8, n: u8) -> Result<Vec<EscrowShare>> {
        let mut set_id = [0u8; 16];
        random_bytes(&mut set_id)?;
        self.split_with(m, n, set_id, random_bytes)
    }

    fn split_with(
        &self,
        m: u8,
        n: u8,
        set_id: [u8; 16],
        coefficients: impl FnMut(&mut [u8]) -> Result<()>,
    ) -> Result<Vec<EscrowShare>> {
        let escrow_key_id = self.key.key_id();
        Ok(split_bytes(self.key.seed(), m, n, coefficients)?
            .into_iter()
            .map(|(index, y)| EscrowShare {
                threshold: m,
                index,
                set_id,
                escrow_key_id,
                y,
            })
            .collect())
    }

    /// Rebuilds the escrow key from shares, and checks it against the pinned escrow public key.
    ///
    /// Fails with [`Error::InvalidShares`] when the shares are fewer than their threshold, repeat an
    /// index, come from different splits or a different escrow key, or rebuild a key whose public
    /// half is not `expected` (a wrong or altered share). It never returns a garbage key.
    pub fn combine(shares: &[EscrowShare], expected: &EncryptionPublicKey) -> Result<Self> {
        let first = shares.first().ok_or(Error::InvalidShares)?;
        if shares.len() < usize::from(first.threshold) {
            return Err(Error::InvalidShares);
        }
        for (i, s) in shares.iter().enumerate() {
            if s.threshold != first.threshold
                || s.set_id != first.set_id
                || s.escrow_key_id != expected.key_id()
            {
                return Err(Error::InvalidShares);
            }
            if shares.iter().skip(i + 1).any(|t| t.index == s.index) {
                return Err(Error::InvalidShares);
            }
        }
        // Use every share given: with more than M, a single altered share still changes the result
        // and is caught by the public-key check below.
        let points: Vec<(u8, &[u8; 32])> = shares.iter().map(|s| (s.index, &*s.y)).collect();
        let seed = combine_bytes(&points);
        let key = DecryptionKey::from_seed(seed.as_ref())?;
        if key.public_key() != expected {
            return Err(Error::InvalidShares);
        }
        Ok(Self { key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gf_inverse_is_inverse() {
        for a in 1..=255u8 {
            assert_eq!(gf_mul(a, gf_inv(a)), 1, "a = {a}");
        }
    }

    #[test]
    fn gf_mul_matches_known_products() {
        // From FIPS 197, section 4.2: {57} • {83} = {c1}, {57} • {13} = {fe}.
        assert_eq!(gf_mul(0x57, 0x83), 0xc1);
        assert_eq!(gf_mul(0x57, 0x13), 0xfe);
    }

    /// Perfect secrecy, exhaustively for M = 2: with one share known, every secret byte is equally
    /// likely — each of the 256 possible coefficients maps a share value to exactly one secret.
    #[test]
    fn one_share_of_two_reveals_nothing() {
        for x in 1..=5u8 {
            for secret in [0u8, 1, 0x5a, 0xff] {
                let mut seen = [0u16; 256];
                for coeff in 0..=255u8 {
                    let s = [secret; 32];
                    let shares = split_bytes(&s, 2, 5, |buf| {
                        buf.fill(coeff);
                        Ok(())
                    })
                    .unwrap();
                    let (_, y) = &shares[usize::from(x - 1)];
                    seen[usize::from(y[0])] += 1;
                }
                assert!(
                    seen.iter().all(|&c| c == 1),
                    "share {x} not uniform for secret {secret}"
                );
            }
        }
    }

    /// The same for M = 3 with two shares known: every pair of share values occurs exactly once
    /// over the 65,536 coefficient pairs, whatever the secret.
    #[test]
    fn two_shares_of_three_reveal_nothing() {
        for secret in [0u8, 0x80] {
            let mut seen = vec![0u8; 65536];
            for c1 in 0..=255u8 {
                for c2 in 0..=255u8 {
                    let mut calls = 0;
                    let shares = split_bytes(&[secret; 32], 3, 3, |buf| {
                        buf.fill(if calls == 0 { c1 } else { c2 });
                        calls += 1;
                        Ok(())
                    })
                    .unwrap();
                    let a = shares[0].1[0];
                    let b = shares[2].1[0];
                    seen[usize::from(a) << 8 | usize::from(b)] += 1;
                }
            }
            assert!(seen.iter().all(|&c| c == 1));
        }
    }
}
