//! Symmetric keys, typed by what they may do.
//!
//! A [`ContentKey`] seals content and nothing else; a [`ReportKey`] seals one patient report and
//! nothing else. Key-encryption keys ([`CaseKey`],
//! [`IdentityKey`], [`DirectoryKey`], [`AccountKey`], [`KeyEncryptionKey`]) wrap keys and nothing
//! else; each wraps only the key types it is meant to. The rule is enforced by which methods exist,
//! so a misuse does not compile. All secrets zeroize on drop, are neither `Clone` nor `Serialize`,
//! and print as `[redacted]`.

use core::fmt;

use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result, random_bytes};
use crate::ids::{BranchId, ChartId, Epoch, KeyId, Tier};

/// Salt of the HKDF-Extract that every symmetric key goes through before use.
const KEY_SALT: &[u8] = b"vaiti v1 symmetric key";
const INFO_KEY_ID: &[u8] = b"vaiti v1 key id";
const INFO_COMMIT: &[u8] = b"vaiti v1 commit";
const INFO_ENCRYPT: &[u8] = b"vaiti v1 encrypt";

/// 32 secret bytes plus what is derived from them once, at construction:
/// the key id, the key commitment, and the AEAD key (see `docs/formats.md`, "Key derivation").
pub(crate) struct KeyMaterial {
    secret: Zeroizing<[u8; 32]>,
    key_id: KeyId,
    commitment: [u8; 32],
    aead: XChaCha20Poly1305,
}

impl KeyMaterial {
    pub(crate) fn generate() -> Result<Self> {
        let mut secret = Zeroizing::new([0u8; 32]);
        random_bytes(secret.as_mut())?;
        Self::from_secret(secret)
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| Error::Malformed)?;
        Self::from_secret(Zeroizing::new(arr))
    }

    fn from_secret(secret: Zeroizing<[u8; 32]>) -> Result<Self> {
        let hk = Hkdf::<Sha256>::new(Some(KEY_SALT), secret.as_ref());
        let mut id = [0u8; 16];
        let mut commitment = [0u8; 32];
        let mut enc = Zeroizing::new([0u8; 32]);
        hk.expand(INFO_KEY_ID, &mut id)
            .map_err(|_| Error::InvalidParameter)?;
        hk.expand(INFO_COMMIT, &mut commitment)
            .map_err(|_| Error::InvalidParameter)?;
        hk.expand(INFO_ENCRYPT, enc.as_mut())
            .map_err(|_| Error::InvalidParameter)?;
        let aead = XChaCha20Poly1305::new(&(*enc).into());
        Ok(Self {
            secret,
            key_id: KeyId::from_bytes(id),
            commitment,
            aead,
        })
    }

    pub(crate) fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    pub(crate) fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub(crate) fn commitment(&self) -> &[u8; 32] {
        &self.commitment
    }

    pub(crate) fn aead(&self) -> &XChaCha20Poly1305 {
        &self.aead
    }
}

impl Drop for KeyMaterial {
    fn drop(&mut self) {
        // `secret` zeroizes itself; the commitment is not secret but costs nothing to clear.
        // The AEAD key schedule is zeroized by chacha20poly1305's own `zeroize` feature.
        self.commitment.zeroize();
    }
}

macro_rules! redacted_debug {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

/// A per-object content key (CEK): seals exactly one version of one object. Fresh for each version.
pub struct ContentKey {
    pub(crate) material: KeyMaterial,
}

impl ContentKey {
    /// A fresh content key.
    pub fn generate() -> Result<Self> {
        Ok(Self {
            material: KeyMaterial::generate()?,
        })
    }

    /// This key's id, as written into the header of what it seals.
    pub fn key_id(&self) -> KeyId {
        self.material.key_id()
    }
}
redacted_debug!(ContentKey);

/// A case key of one chart, tier and epoch: wraps the content keys of that chart's notes.
pub struct CaseKey {
    pub(crate) material: KeyMaterial,
    chart: ChartId,
    tier: Tier,
    epoch: Epoch,
}

impl CaseKey {
    /// A fresh case key, made by the first care-team clinician's client.
    pub fn generate(chart: ChartId, tier: Tier, epoch: Epoch) -> Result<Self> {
        Ok(Self {
            material: KeyMaterial::generate()?,
            chart,
            tier,
            epoch,
        })
    }

    pub(crate) fn from_parts(
        material: KeyMaterial,
        chart: ChartId,
        tier: Tier,
        epoch: Epoch,
    ) -> Self {
        Self {
            material,
            chart,
            tier,
            epoch,
        }
    }

    /// The chart this key belongs to.
    pub fn chart(&self) -> ChartId {
        self.chart
    }
    /// The tier this key protects.
    pub fn tier(&self) -> Tier {
        self.tier
    }
    /// The epoch this key belongs to.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }
    /// This key's id.
    pub fn key_id(&self) -> KeyId {
        self.material.key_id()
    }
}
redacted_debug!(CaseKey);

/// A chart's identity key: wraps the content key of the full identity record.
pub struct IdentityKey {
    pub(crate) material: KeyMaterial,
    chart: ChartId,
}

impl IdentityKey {
    /// A fresh identity key, made when the chart is created.
    pub fn generate(chart: ChartId) -> Result<Self> {
        Ok(Self {
            material: KeyMaterial::generate()?,
            chart,
        })
    }

    pub(crate) fn from_parts(material: KeyMaterial, chart: ChartId) -> Self {
        Self { material, chart }
    }

    /// The chart this key belongs to.
    pub fn chart(&self) -> ChartId {
        self.chart
    }
    /// This key's id.
    pub fn key_id(&self) -> KeyId {
        self.material.key_id()
    }
}
redacted_debug!(IdentityKey);

/// A branch's directory key of one epoch: wraps the content keys of that branch's search cards.
pub struct DirectoryKey {
    pub(crate) material: KeyMaterial,
    branch: BranchId,
    epoch: Epoch,
}

impl DirectoryKey {
    /// A fresh directory key for a branch.
    pub fn generate(branch: BranchId, epoch: Epoch) -> Result<Self> {
        Ok(Self {
            material: KeyMaterial::generate()?,
            branch,
            epoch,
        })
    }

    pub(crate) fn from_parts(material: KeyMaterial, branch: BranchId, epoch: Epoch) -> Self {
        Self {
            material,
            branch,
            epoch,
        }
    }

    /// The branch this key belongs to.
    pub fn branch(&self) -> BranchId {
        self.branch
    }
    /// The epoch this key belongs to.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }
    /// This key's id.
    pub fn key_id(&self) -> KeyId {
        self.material.key_id()
    }
}
redacted_debug!(DirectoryKey);

/// A one-report key: seals exactly one patient report about one chart (kind
/// [`AccessReport`](crate::Kind::AccessReport)) and is wrapped, by the reporting patient, to
/// each of the clinic's admins and auditors. Fresh for every report, so a report's readers are
/// exactly the members it was wrapped to.
pub struct ReportKey {
    pub(crate) material: KeyMaterial,
    chart: ChartId,
}

impl ReportKey {
    /// A fresh report key for a report about `chart`.
    pub fn generate(chart: ChartId) -> Result<Self> {
        Ok(Self {
            material: KeyMaterial::generate()?,
            chart,
        })
    }

    pub(crate) fn from_parts(material: KeyMaterial, chart: ChartId) -> Self {
        Self { material, chart }
    }

    /// The chart the report is about.
    pub fn chart(&self) -> ChartId {
        self.chart
    }
    /// This key's id.
    pub fn key_id(&self) -> KeyId {
        self.material.key_id()
    }
}
redacted_debug!(ReportKey);

/// A user's Account Key (AK): wraps the user's private keys, pinned root fingerprint and cache key.
pub struct AccountKey {
    pub(crate) material: KeyMaterial,
}

impl AccountKey {
    /// A fresh Account Key, made at sign-up.
    pub fn generate() -> Result<Self> {
        Ok(Self {
            material: KeyMaterial::generate()?,
        })
    }

    pub(crate) fn from_material(material: KeyMaterial) -> Self {
        Self { material }
    }

    /// This key's id.
    pub fn key_id(&self) -> KeyId {
        self.material.key_id()
    }
}
redacted_debug!(AccountKey);

/// The key-encryption key (KEK) derived from OPAQUE's export key: wraps the Account Key only.
pub struct KeyEncryptionKey {
    pub(crate) material: KeyMaterial,
}

impl KeyEncryptionKey {
    /// Derives the KEK from the export key that OPAQUE hands the client after a successful
    /// registration or login: `HKDF-SHA256(salt = "vaiti v1 account kek", ikm = export_key)`.
    pub fn from_opaque_export_key(export_key: &[u8]) -> Result<Self> {
        if export_key.len() < 32 {
            return Err(Error::InvalidParameter);
        }
        let hk = Hkdf::<Sha256>::new(Some(b"vaiti v1 account kek"), export_key);
        let mut out = Zeroizing::new([0u8; 32]);
        hk.expand(b"vaiti v1 kek", out.as_mut())
            .map_err(|_| Error::InvalidParameter)?;
        Ok(Self {
            material: KeyMaterial::from_bytes(out.as_ref())?,
        })
    }

    /// This key's id.
    pub fn key_id(&self) -> KeyId {
        self.material.key_id()
    }
}
redacted_debug!(KeyEncryptionKey);

// The secret types hold `KeyMaterial`, whose secret zeroizes on drop; this marker documents it.
impl ZeroizeOnDrop for ContentKey {}
impl ZeroizeOnDrop for CaseKey {}
impl ZeroizeOnDrop for IdentityKey {}
impl ZeroizeOnDrop for DirectoryKey {}
impl ZeroizeOnDrop for ReportKey {}
impl ZeroizeOnDrop for AccountKey {}
impl ZeroizeOnDrop for KeyEncryptionKey {}
