//! Checking signatures the clients make, where the server must act on them.
//!
//! The server never seals or unwraps (it does not depend on `vaiti-crypto`), but verifying a
//! signature is not sealing code: with `ed25519-dalek` it checks a signed message in the format
//! of `docs/formats.md` §5 (`label || 0x00 || suite || payload`, the signature stored as
//! `suite || 64 bytes`). The labels here must equal `vaiti_crypto::SignatureDomain`'s; the
//! server's tests sign with `vaiti-crypto` and check that they verify here.

use ed25519_dalek::{Signature, VerifyingKey};

/// The Ed25519 signature suite byte.
pub(crate) const SUITE_ED25519: u8 = 0x01;

/// The signing domains the server verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Domain {
    /// A client's signed request for a key release (`vaiti v1 log request`).
    LogRequest,
    /// An invitee's binding of their new keys to an invite (`vaiti v1 invite binding`).
    InviteBinding,
    /// The root-signed clinic manifest (`vaiti v1 manifest`).
    Manifest,
    /// An account's revocation, signed by whoever revoked it (`vaiti v1 revocation`).
    Revocation,
}

impl Domain {
    const fn label(self) -> &'static [u8] {
        match self {
            Domain::LogRequest => b"vaiti v1 log request",
            Domain::InviteBinding => b"vaiti v1 invite binding",
            Domain::Manifest => b"vaiti v1 manifest",
            Domain::Revocation => b"vaiti v1 revocation",
        }
    }
}

/// Whether `signature` (`suite || 64 bytes`) is `public`'s (32 bytes) over `payload` in `domain`.
/// Anything malformed — a key of the wrong length or not on the curve, an unknown suite, a
/// signature of the wrong length — is simply not a valid signature.
pub(crate) fn verifies(domain: Domain, public: &[u8], signature: &[u8], payload: &[u8]) -> bool {
    let Ok(public) = <[u8; 32]>::try_from(public) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&public) else {
        return false;
    };
    let Some((&suite, sig)) = signature.split_first() else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(sig) else {
        return false;
    };
    let label = domain.label();
    let mut message = Vec::with_capacity(label.len() + 2 + payload.len());
    message.extend_from_slice(label);
    message.push(0x00);
    message.push(SUITE_ED25519);
    message.extend_from_slice(payload);
    suite == SUITE_ED25519 && key.verify_strict(&message, &sig).is_ok()
}

/// Whether the caller's own signing key (as stored with their account) signed `payload` in
/// `domain`: the key's id if it did, `None` if not.
pub(crate) async fn signed_by_caller(
    state: &crate::state::AppState,
    caller: &crate::auth::Caller,
    domain: Domain,
    signature: &[u8],
    payload: &[u8],
) -> Result<Option<[u8; 16]>, crate::error::ApiError> {
    let keys = state
        .store
        .account_keys(caller.session.clinic, caller.session.user)
        .await?
        .ok_or_else(|| crate::error::ApiError::internal("the caller's account has no keys"))?;
    let public = keys.verifying_key.as_bytes();
    Ok(verifies(domain, public, signature, payload).then(|| key_id(public)))
}

/// The key id of an Ed25519 public key (`docs/formats.md` §1): the first 16 bytes of SHA-256 over
/// `vaiti v1 key id ed25519` and the key, as `vaiti_crypto` computes it.
pub(crate) fn key_id(public: &[u8]) -> [u8; 16] {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::new()
        .chain_update(b"vaiti v1 key id ed25519")
        .chain_update(public)
        .finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

/// Decodes lowercase or uppercase hex; `None` if it is not hex.
pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decodes_and_refuses_non_hex() {
        assert_eq!(from_hex("00ffA0"), Some(vec![0, 255, 160]));
        assert_eq!(from_hex("0"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("é0"), None);
    }

    #[test]
    fn malformed_signatures_do_not_verify() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let public = key.verifying_key().to_bytes();
        let mut message = b"vaiti v1 invite binding\x00\x01".to_vec();
        message.extend_from_slice(b"payload");
        let sig = ed25519_dalek::Signer::sign(&key, &message).to_bytes();
        let mut good = vec![SUITE_ED25519];
        good.extend_from_slice(&sig);
        assert!(verifies(Domain::InviteBinding, &public, &good, b"payload"));
        assert!(!verifies(Domain::LogRequest, &public, &good, b"payload"));
        assert!(!verifies(Domain::InviteBinding, &public, &good, b"payloae"));
        assert!(!verifies(
            Domain::InviteBinding,
            &public[..31],
            &good,
            b"payload"
        ));
        assert!(!verifies(
            Domain::InviteBinding,
            &public,
            &good[..64],
            b"payload"
        ));
        assert!(!verifies(Domain::InviteBinding, &public, &[], b"payload"));
        let mut other_suite = good.clone();
        other_suite[0] = 2;
        assert!(!verifies(
            Domain::InviteBinding,
            &public,
            &other_suite,
            b"payload"
        ));
    }
}
