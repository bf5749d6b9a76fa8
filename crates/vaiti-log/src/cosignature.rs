//! Witness cosignatures: C2SP `cosignature/v1` over a checkpoint (<https://c2sp.org/tlog-cosignature>).
//!
//! A cosignature is a note signature line from the witness's key, whose key ID is
//! `SHA-256(name || 0x0A || 0x04 || public key)[:4]` and whose signature bytes are
//! `timestamp (u64, big-endian) || Ed25519 signature`, the signature being over
//!
//! ```text
//! cosignature/v1
//! time <timestamp, decimal, no leading zeros>
//! <the checkpoint body, extension lines included, ending in a newline>
//! ```
//!
//! It states that, at `timestamp` (POSIX seconds), the witness had verified this checkpoint as
//! consistent with every earlier one it saw from the log. Clients require one from a witness in
//! the clinic manifest no older than the clinic's policy: [`Cosignature::ensure_fresh`].
//!
//! Only the Ed25519 flavour is implemented; the ML-DSA-44 subtree cosignatures of the same spec
//! (type 0x06) are not, and their lines are ignored like any unknown key's.

use ed25519_dalek::Signer as _;

use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::note::{NoteSignature, SIG_TYPE_COSIGNATURE_V1};
use crate::{Error, Result};

/// How far in the future (by the verifier's clock) a cosignature timestamp may be, in seconds:
/// tolerance for clock skew between a witness and a client. Later timestamps are rejected.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// The largest timestamp the spec allows, 2⁶³ − 1.
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The exact bytes a witness signs for `checkpoint` at `timestamp`.
pub fn signed_message(checkpoint: &Checkpoint, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{}", checkpoint.to_body()).into_bytes()
}

/// A verified cosignature: which witness, and when it co-signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cosignature {
    key_id: u32,
    timestamp: u64,
}

impl Cosignature {
    /// When the witness co-signed, in POSIX seconds.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The witness key's ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Checks the cosignature's age against the caller's clock: [`Error::Stale`] if it is more
    /// than `max_age_secs` older than `now`, or more than [`MAX_CLOCK_SKEW_SECS`] in the future.
    pub fn ensure_fresh(&self, now: u64, max_age_secs: u64) -> Result<()> {
        if self.timestamp > now.saturating_add(MAX_CLOCK_SKEW_SECS)
            || now.saturating_sub(self.timestamp) > max_age_secs
        {
            return Err(Error::Stale);
        }
        Ok(())
    }
}

/// A witness's public key, as listed in the clinic manifest.
#[derive(Clone, PartialEq, Eq)]
pub struct WitnessKey {
    name: String,
    key: ed25519_dalek::VerifyingKey,
    key_id: u32,
}

crate::note::named_ed25519_key!(WitnessKey, SIG_TYPE_COSIGNATURE_V1, "witness key");

impl WitnessKey {
    /// Verifies a cosignature line over `checkpoint`: it must be from this key (name and key ID),
    /// be exactly 8 + 64 bytes, carry a timestamp ≤ 2⁶³ − 1, and verify strictly.
    pub fn verify(&self, checkpoint: &Checkpoint, line: &NoteSignature) -> Result<Cosignature> {
        if !line.is_from(&self.name, self.key_id) {
            return Err(Error::BadSignature);
        }
        let raw: &[u8; 72] = line
            .signature()
            .try_into()
            .map_err(|_| Error::BadSignature)?;
        let (ts, sig) = raw.split_at(8);
        let mut ts_bytes = [0u8; 8];
        ts_bytes.copy_from_slice(ts);
        let timestamp = u64::from_be_bytes(ts_bytes);
        if timestamp > MAX_TIMESTAMP {
            return Err(Error::BadSignature);
        }
        let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|_| Error::BadSignature)?;
        self.key
            .verify_strict(&signed_message(checkpoint, timestamp), &sig)
            .map_err(|_| Error::BadSignature)?;
        Ok(Cosignature {
            key_id: self.key_id,
            timestamp,
        })
    }
}

/// A witness's signing key. Secret: not `Clone`, zeroized on drop (by `ed25519-dalek`), printed
/// without its key material.
pub struct WitnessSigningKey {
    key: ed25519_dalek::SigningKey,
    public: WitnessKey,
}

impl WitnessSigningKey {
    /// The witness key named `name` from a 32-byte Ed25519 seed (generated and kept secret by the
    /// caller). A witness must not reuse its key for another signature type or another name.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self> {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let public = WitnessKey::new(name, &key.verifying_key().to_bytes())?;
        Ok(Self { key, public })
    }

    /// The public half.
    pub fn witness_key(&self) -> WitnessKey {
        self.public.clone()
    }

    /// Co-signs a checkpoint at `timestamp` (POSIX seconds, from the caller's clock).
    ///
    /// Takes a [`SignedCheckpoint`], so the log's signature has been verified; checking
    /// consistency with the last checkpoint this witness co-signed is the caller's job, before
    /// calling this. [`Error::InvalidArgument`] if `timestamp > 2⁶³ − 1`.
    pub fn cosign(&self, checkpoint: &SignedCheckpoint, timestamp: u64) -> Result<NoteSignature> {
        if timestamp > MAX_TIMESTAMP {
            return Err(Error::InvalidArgument);
        }
        let message = signed_message(checkpoint.checkpoint(), timestamp);
        let mut raw = Vec::with_capacity(72);
        raw.extend_from_slice(&timestamp.to_be_bytes());
        raw.extend_from_slice(&self.key.sign(&message).to_bytes());
        NoteSignature::new(&self.public.name, self.public.key_id, raw)
    }
}

impl core::fmt::Debug for WitnessSigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "WitnessSigningKey({}, [redacted])", self.public.name)
    }
}
