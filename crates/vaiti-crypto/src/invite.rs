//! Invite secrets (DESIGN.md flow 2, `docs/protocol.md` "Invites and join").
//!
//! The inviter's device makes 32 random bytes and hands them to the invitee (inside the invite
//! code). Nothing is wrapped to the secret: it only lets the invitee find the invite
//! ([`InviteSecret::id`]), check that the clinic root the server presents is the inviter's
//! ([`InviteSecret::root_check`]), and sign a binding of their new keys
//! ([`InviteSecret::binding_key`]) that the inviter verifies with the public half it signed into the
//! invite. Each value is HKDF-SHA256 of the secret under its own label, so none reveals another.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result, random_bytes};
use crate::sign::{RootFingerprint, SigningKey};

/// Length of an invite secret: 256 bits.
pub const INVITE_SECRET_LEN: usize = 32;

/// An invite secret. Zeroized on drop, not `Clone`, printed as `[redacted]`.
pub struct InviteSecret {
    bytes: Zeroizing<[u8; INVITE_SECRET_LEN]>,
}

impl core::fmt::Debug for InviteSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("InviteSecret([redacted])")
    }
}

impl InviteSecret {
    /// A fresh random secret.
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; INVITE_SECRET_LEN]);
        random_bytes(bytes.as_mut())?;
        Ok(Self { bytes })
    }

    /// The secret from its 32 bytes (as carried in an invite code).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let array: [u8; INVITE_SECRET_LEN] = bytes.try_into().map_err(|_| Error::Malformed)?;
        Ok(Self {
            bytes: Zeroizing::new(array),
        })
    }

    /// The secret's bytes, for the invite code. Handle as a secret.
    pub fn to_bytes(&self) -> Zeroizing<[u8; INVITE_SECRET_LEN]> {
        Zeroizing::new(*self.bytes)
    }

    fn derive<const N: usize>(&self, label: &[u8], extra: &[u8]) -> Zeroizing<[u8; N]> {
        let hk = Hkdf::<Sha256>::new(None, self.bytes.as_ref());
        let mut out = Zeroizing::new([0u8; N]);
        // N ≤ 32 here, far below HKDF-SHA256's 8,160-byte limit, so expand cannot fail.
        let _ = hk.expand_multi_info(&[label, extra], out.as_mut());
        out
    }

    /// The invite's id: what the server stores it under.
    pub fn id(&self) -> [u8; 16] {
        *self.derive::<16>(b"vaiti v1 invite id", &[])
    }

    /// The Ed25519 key that signs the invitee's binding. Its public half is in the signed invite.
    pub fn binding_key(&self) -> SigningKey {
        SigningKey::from_seed(&self.derive::<32>(b"vaiti v1 invite key", &[]))
    }

    /// A value only holders of the secret can compute for a given clinic root: the inviter puts it
    /// in the signed invite, and the invitee recomputes it for the root the server presents, so a
    /// server cannot show a new member a clinic root of its own.
    pub fn root_check(&self, root: &RootFingerprint) -> [u8; 32] {
        *self.derive::<32>(b"vaiti v1 invite root check", &root.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::sign::RootKey;

    #[test]
    fn derived_values_are_stable_and_separate() {
        let s = InviteSecret::from_bytes(&[7u8; 32]).unwrap();
        let again = InviteSecret::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(s.id(), again.id());
        assert_eq!(s.binding_key().key_id(), again.binding_key().key_id());
        let other = InviteSecret::from_bytes(&[8u8; 32]).unwrap();
        assert_ne!(s.id(), other.id());
        assert_ne!(s.binding_key().key_id(), other.binding_key().key_id());
        // The id is not a prefix of anything else derived.
        assert_ne!(&s.root_check(&RootFingerprint([0; 32]))[..16], &s.id());
    }

    #[test]
    fn root_check_depends_on_the_root() {
        let s = InviteSecret::generate().unwrap();
        let a = RootKey::generate().unwrap().fingerprint();
        let b = RootKey::generate().unwrap().fingerprint();
        assert_ne!(s.root_check(&a), s.root_check(&b));
        let t = InviteSecret::generate().unwrap();
        assert_ne!(s.root_check(&a), t.root_check(&a));
    }

    #[test]
    fn wrong_lengths_are_refused_and_debug_is_redacted() {
        assert!(InviteSecret::from_bytes(&[0u8; 31]).is_err());
        assert!(InviteSecret::from_bytes(&[0u8; 33]).is_err());
        let s = InviteSecret::generate().unwrap();
        assert_eq!(format!("{s:?}"), "InviteSecret([redacted])");
    }
}
