//! Deterministic constructors for the frozen test vectors (feature `test-vectors` only).
//!
//! Real code never builds keys from chosen bytes or seals with a chosen nonce; the vector tests
//! must, to reproduce the exact bytes of a vector from its recorded inputs.

use crate::envelope::{self, Context, Envelope, Kind, SignedEnvelope};
use crate::error::Result;
use crate::ids::UserId;
use crate::ids::{BranchId, ChartId, ClinicId, Epoch, Tier};
use crate::keys::{
    AccountKey, CaseKey, ContentKey, DirectoryKey, IdentityKey, KeyEncryptionKey, KeyMaterial,
    ReportKey,
};
use crate::record::{CacheKey, RecordKey, account_context};
use crate::sign::{RootKey, SigningKey};
use crate::wrap::{EncryptionPublicKey, PublicWrap, Wrappable};

/// A content key from chosen bytes.
pub fn content_key(bytes: &[u8; 32]) -> Result<ContentKey> {
    Ok(ContentKey {
        material: KeyMaterial::from_bytes(bytes)?,
    })
}

/// A case key from chosen bytes.
pub fn case_key(bytes: &[u8; 32], chart: ChartId, tier: Tier, epoch: Epoch) -> Result<CaseKey> {
    Ok(CaseKey::from_parts(
        KeyMaterial::from_bytes(bytes)?,
        chart,
        tier,
        epoch,
    ))
}

/// An identity key from chosen bytes.
pub fn identity_key(bytes: &[u8; 32], chart: ChartId) -> Result<IdentityKey> {
    Ok(IdentityKey::from_parts(
        KeyMaterial::from_bytes(bytes)?,
        chart,
    ))
}

/// A directory key from chosen bytes.
pub fn directory_key(bytes: &[u8; 32], branch: BranchId, epoch: Epoch) -> Result<DirectoryKey> {
    Ok(DirectoryKey::from_parts(
        KeyMaterial::from_bytes(bytes)?,
        branch,
        epoch,
    ))
}

/// A report key from chosen bytes.
pub fn report_key(bytes: &[u8; 32], chart: ChartId) -> Result<ReportKey> {
    Ok(ReportKey::from_parts(
        KeyMaterial::from_bytes(bytes)?,
        chart,
    ))
}

/// Seals and signs a patient report with a chosen nonce.
pub fn seal_report(
    key: &ReportKey,
    context: &Context,
    content: &[u8],
    nonce: &[u8; 24],
    author: &SigningKey,
) -> Result<SignedEnvelope> {
    let env =
        envelope::seal_with_nonce(&key.material, Kind::AccessReport, context, content, nonce)?;
    envelope::sign(env, Kind::AccessReport, context, author)
}

/// An Account Key from chosen bytes.
pub fn account_key(bytes: &[u8; 32]) -> Result<AccountKey> {
    Ok(AccountKey::from_material(KeyMaterial::from_bytes(bytes)?))
}

/// A KEK from chosen bytes (rather than from an OPAQUE export key).
pub fn key_encryption_key(bytes: &[u8; 32]) -> Result<KeyEncryptionKey> {
    Ok(KeyEncryptionKey {
        material: KeyMaterial::from_bytes(bytes)?,
    })
}

/// A cache key from chosen bytes.
pub fn cache_key(bytes: &[u8; 32]) -> Result<CacheKey> {
    CacheKey::from_material(KeyMaterial::from_bytes(bytes)?)
}

/// Seals and signs content with a chosen nonce (Ed25519 signing is deterministic).
pub fn seal_signed(
    key: &ContentKey,
    kind: Kind,
    context: &Context,
    content: &[u8],
    nonce: &[u8; 24],
    author: &SigningKey,
) -> Result<SignedEnvelope> {
    let env = envelope::seal_with_nonce(&key.material, kind, context, content, nonce)?;
    envelope::sign(env, kind, context, author)
}

/// Wraps a content key under a record key with a chosen nonce.
pub fn wrap_content_key<K: RecordKey>(
    key: &K,
    cek: &ContentKey,
    context: &Context,
    nonce: &[u8; 24],
) -> Result<Envelope> {
    envelope::seal_with_nonce(
        key.material(),
        Kind::ContentKeyWrap,
        context,
        cek.material.secret(),
        nonce,
    )
}

/// Seals an account-level secret (`kind` 0x42..=0x46) under the chosen wrapping key bytes.
pub fn seal_account_secret(
    kind: Kind,
    wrapping_key: &[u8; 32],
    secret: &[u8; 32],
    clinic: ClinicId,
    user: UserId,
    nonce: &[u8; 24],
) -> Result<Envelope> {
    let material = KeyMaterial::from_bytes(wrapping_key)?;
    envelope::seal_with_nonce(
        &material,
        kind,
        &account_context(clinic, user),
        secret,
        nonce,
    )
}

/// Seals a local-cache entry with a chosen nonce.
pub fn seal_cache(
    key: &CacheKey,
    context: &Context,
    content: &[u8],
    nonce: &[u8; 24],
) -> Result<Envelope> {
    envelope::seal_with_nonce(key.material(), Kind::LocalCache, context, content, nonce)
}

/// Seals a chosen *raw* plaintext (prefix and padding as given, not computed) with a chosen nonce,
/// to build vectors whose padding is malformed on purpose.
pub fn seal_raw_plaintext(
    key: &ContentKey,
    kind: Kind,
    context: &Context,
    plaintext: &[u8],
    nonce: &[u8; 24],
) -> Result<Envelope> {
    envelope::seal_raw_with_nonce(&key.material, kind, context, plaintext, nonce)
}

/// Signs an envelope as its author would (for vectors built from a raw plaintext).
pub fn sign(
    envelope: Envelope,
    kind: Kind,
    context: &Context,
    author: &SigningKey,
) -> Result<SignedEnvelope> {
    envelope::sign(envelope, kind, context, author)
}

/// An HPKE wrap with chosen encapsulation randomness (64 bytes).
pub fn wrap_with_randomness<K: Wrappable>(
    recipient: &EncryptionPublicKey,
    key: &K,
    clinic: ClinicId,
    wrapper: &SigningKey,
    randomness: [u8; 64],
) -> Result<PublicWrap> {
    recipient.wrap_with_randomness(key, clinic, wrapper, randomness)
}

/// The root key from a chosen seed.
pub fn root_key(seed: &[u8; 32]) -> RootKey {
    RootKey::from_seed(seed)
}

/// Wraps an identity key under a directory key with a chosen nonce.
pub fn wrap_identity_key(
    directory: &DirectoryKey,
    key: &IdentityKey,
    clinic: ClinicId,
    nonce: &[u8; 24],
) -> Result<Envelope> {
    let ctx = crate::record::identity_wrap_context(clinic, key.chart(), directory.epoch());
    envelope::seal_with_nonce(
        &directory.material,
        Kind::IdentityKeyWrap,
        &ctx,
        key.material.secret(),
        nonce,
    )
}
