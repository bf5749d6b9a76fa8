//! What each typed key may do with envelopes: content keys seal content, key-encryption keys wrap
//! keys. The methods here are the only public way to make or open an envelope.

use zeroize::Zeroizing;

use crate::envelope::{self, Context, Envelope, Kind, OpenPolicy, Plaintext, SignedEnvelope};
use crate::error::{Error, Result};
use crate::ids::{ChartId, ClinicId, Epoch, KeyId, ObjectId, UserId};
use crate::keys::{
    AccountKey, CaseKey, ContentKey, DirectoryKey, IdentityKey, KeyEncryptionKey, KeyMaterial,
    ReportKey,
};
use crate::sign::{RootFingerprint, SigningKey};
use crate::wrap::DecryptionKey;

impl ContentKey {
    /// Seals `content` as a signed envelope of `kind`, authored by `author`.
    ///
    /// `context.author_key` must be `author`'s key id; `kind` must be a signed content kind.
    pub fn seal(
        &self,
        kind: Kind,
        context: &Context,
        content: &[u8],
        author: &SigningKey,
    ) -> Result<SignedEnvelope> {
        if !kind.is_signed() {
            return Err(Error::InvalidParameter);
        }
        let envelope = envelope::seal(&self.material, kind, context, content)?;
        envelope::sign(envelope, kind, context, author)
    }

    /// Opens a signed envelope, in the order of `docs/formats.md`: allow-list, key id, key
    /// commitment, AEAD, signature and author role, rollback, padding.
    pub fn open(&self, signed: &SignedEnvelope, policy: &OpenPolicy<'_>) -> Result<Plaintext> {
        envelope::open_signed(&self.material, signed, policy)
    }
}

/// What a patient report's context carries in `chart_state_hash`: the access-log entry it is
/// about, `SHA-256("vaiti v1 access report entry" || entry u64)` (`docs/formats.md` §2.8).
pub fn report_entry_binding(entry: u64) -> [u8; 32] {
    use sha2::{Digest as _, Sha256};
    Sha256::new()
        .chain_update(b"vaiti v1 access report entry")
        .chain_update(entry.to_be_bytes())
        .finalize()
        .into()
}

/// The context of a patient's report about access-log entry `entry` of `chart`: the report is
/// object `report` (version 1), authored by the patient with key `patient_key` at `created_at`,
/// and the entry is bound through [`report_entry_binding`]. A reader rebuilds it from the
/// report's metadata, so a report moved to another clinic, chart, entry, report id, author or
/// time does not open.
pub fn report_context(
    clinic: ClinicId,
    report: ObjectId,
    chart: ChartId,
    entry: u64,
    patient: UserId,
    patient_key: KeyId,
    created_at: i64,
) -> Context {
    Context {
        clinic,
        object: report,
        object_version: 1,
        chart: Some(chart),
        tier: None,
        epoch: Epoch(0),
        author: patient,
        author_key: patient_key,
        created_at,
        prev_version_hash: [0; 32],
        chart_state_hash: report_entry_binding(entry),
    }
}

impl ReportKey {
    fn covers(&self, context: &Context) -> bool {
        context.chart == Some(self.chart())
            && context.tier.is_none()
            && context.epoch == Epoch(0)
            && context.object_version == 1
            && context.prev_version_hash == [0; 32]
    }

    /// Seals and signs a patient's report (kind `AccessReport`) with the context of
    /// [`report_context`]; `context.author_key` must be `author`'s key id.
    pub fn seal_report(
        &self,
        context: &Context,
        content: &[u8],
        author: &SigningKey,
    ) -> Result<SignedEnvelope> {
        if !self.covers(context) {
            return Err(Error::NotAllowed);
        }
        let envelope = envelope::seal(&self.material, Kind::AccessReport, context, content)?;
        envelope::sign(envelope, Kind::AccessReport, context, author)
    }

    /// Opens a patient's report in the order of `docs/formats.md` §2.7. Only `AccessReport`
    /// envelopes open under a report key, whatever else `policy.allowed` lists.
    pub fn open_report(
        &self,
        signed: &SignedEnvelope,
        policy: &OpenPolicy<'_>,
    ) -> Result<Plaintext> {
        if !policy.allowed.contains(&Kind::AccessReport) || !self.covers(policy.context) {
            return Err(Error::NotAllowed);
        }
        envelope::open_signed(
            &self.material,
            signed,
            &OpenPolicy {
                allowed: &[Kind::AccessReport],
                ..*policy
            },
        )
    }
}

/// The key of a client's local cache. Seals only the cache, which is not signed: nobody but the
/// user who holds the key (wrapped under their Account Key) can read or write it.
pub struct CacheKey {
    material: KeyMaterial,
}

impl core::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CacheKey([redacted])")
    }
}

impl zeroize::ZeroizeOnDrop for CacheKey {}

impl CacheKey {
    /// A fresh cache key.
    pub fn generate() -> Result<Self> {
        Ok(Self {
            material: KeyMaterial::generate()?,
        })
    }

    #[cfg(feature = "test-vectors")]
    pub(crate) fn from_material(material: KeyMaterial) -> Result<Self> {
        Ok(Self { material })
    }

    #[cfg(feature = "test-vectors")]
    pub(crate) fn material(&self) -> &KeyMaterial {
        &self.material
    }

    /// This key's id.
    pub fn key_id(&self) -> KeyId {
        self.material.key_id()
    }

    /// Seals one cache entry (`context.object` names the entry, `object_version` its generation).
    pub fn seal(&self, context: &Context, content: &[u8]) -> Result<Envelope> {
        envelope::seal(&self.material, Kind::LocalCache, context, content)
    }

    /// Opens one cache entry.
    pub fn open(&self, envelope: &Envelope, context: &Context) -> Result<Plaintext> {
        envelope::open(&self.material, envelope, &[Kind::LocalCache], context)
    }
}

/// A content envelope together with its content key wrapped under a key-encryption key: what the
/// store keeps for one version of a note, identity record or search card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRecord {
    /// The content key, wrapped (kind `ContentKeyWrap`) under the case, identity or directory key.
    pub wrapped_key: Envelope,
    /// The content, sealed and signed by its author.
    pub content: SignedEnvelope,
}

/// Keys that wrap the content keys of records: [`CaseKey`], [`IdentityKey`], [`DirectoryKey`].
///
/// Each may protect only its own kinds and only contexts of its own chart, tier and epoch (or
/// branch epoch), so a note can never be sealed under a search-card key or a removed epoch.
pub trait RecordKey: private::Sealed {
    /// Whether this key may protect an object of `kind` with `context`.
    fn covers(&self, kind: Kind, context: &Context) -> bool;

    /// Wraps a content key for the record described by `context` (the record's own context).
    fn wrap_content_key(
        &self,
        kind: Kind,
        key: &ContentKey,
        context: &Context,
    ) -> Result<Envelope> {
        if !self.covers(kind, context) {
            return Err(Error::NotAllowed);
        }
        envelope::seal(
            self.material(),
            Kind::ContentKeyWrap,
            context,
            key.material.secret(),
        )
    }

    /// Unwraps the content key of the record described by `context`.
    fn unwrap_content_key(
        &self,
        kind: Kind,
        wrapped: &Envelope,
        context: &Context,
    ) -> Result<ContentKey> {
        if !self.covers(kind, context) {
            return Err(Error::NotAllowed);
        }
        let secret = envelope::open(self.material(), wrapped, &[Kind::ContentKeyWrap], context)?;
        Ok(ContentKey {
            material: KeyMaterial::from_bytes(&secret)?,
        })
    }

    /// Seals a new record version: a fresh content key seals and signs `content`, and is wrapped
    /// under this key.
    fn seal_record(
        &self,
        kind: Kind,
        context: &Context,
        content: &[u8],
        author: &SigningKey,
    ) -> Result<SealedRecord> {
        let cek = ContentKey::generate()?;
        let wrapped_key = self.wrap_content_key(kind, &cek, context)?;
        let content = cek.seal(kind, context, content, author)?;
        Ok(SealedRecord {
            wrapped_key,
            content,
        })
    }

    /// Opens a record version sealed by [`RecordKey::seal_record`].
    fn open_record(&self, record: &SealedRecord, policy: &OpenPolicy<'_>) -> Result<Plaintext> {
        let kind = record.content.envelope.header()?.kind;
        if !policy.allowed.contains(&kind) {
            return Err(Error::NotAllowed);
        }
        let cek = self.unwrap_content_key(kind, &record.wrapped_key, policy.context)?;
        cek.open(&record.content, policy)
    }
}

// The sealed-trait pattern: `Sealed` is public only so it can bound `RecordKey`; no other crate
// can name it, implement it, or reach the key material through it.
#[allow(private_interfaces)]
pub(crate) mod private {
    use crate::keys::KeyMaterial;

    /// Seals [`super::RecordKey`] and gives its provided methods the key material without making
    /// the material reachable from outside the crate.
    pub trait Sealed {
        fn material(&self) -> &KeyMaterial;
    }
    impl Sealed for super::CaseKey {
        fn material(&self) -> &KeyMaterial {
            &self.material
        }
    }
    impl Sealed for super::IdentityKey {
        fn material(&self) -> &KeyMaterial {
            &self.material
        }
    }
    impl Sealed for super::DirectoryKey {
        fn material(&self) -> &KeyMaterial {
            &self.material
        }
    }
}

impl RecordKey for CaseKey {
    fn covers(&self, kind: Kind, context: &Context) -> bool {
        matches!(
            kind,
            Kind::Note | Kind::NoteDraft | Kind::QuestionnaireResponse
        ) && context.chart == Some(self.chart())
            && context.tier == Some(self.tier())
            && context.epoch == self.epoch()
    }
}

impl RecordKey for IdentityKey {
    fn covers(&self, kind: Kind, context: &Context) -> bool {
        kind == Kind::IdentityRecord
            && context.chart == Some(self.chart())
            && context.tier.is_none()
    }
}

impl RecordKey for DirectoryKey {
    fn covers(&self, kind: Kind, context: &Context) -> bool {
        kind == Kind::SearchCard
            && context.chart.is_some()
            && context.tier.is_none()
            && context.epoch == self.epoch()
    }
}

/// The context of an identity key wrapped under a directory key: clinic, chart and the directory
/// key's epoch; nothing else applies.
pub fn identity_wrap_context(clinic: ClinicId, chart: ChartId, directory_epoch: Epoch) -> Context {
    Context {
        chart: Some(chart),
        epoch: directory_epoch,
        ..account_context(clinic, UserId::from_bytes([0; 16]))
    }
}

impl DirectoryKey {
    /// Wraps a chart's identity key for the branch (front desk and admins of the branch hold the
    /// directory key; therapists get identity keys only for their own charts, by public-key wrap).
    pub fn wrap_identity_key(&self, key: &IdentityKey, clinic: ClinicId) -> Result<Envelope> {
        let ctx = identity_wrap_context(clinic, key.chart(), self.epoch());
        envelope::seal(
            &self.material,
            Kind::IdentityKeyWrap,
            &ctx,
            key.material.secret(),
        )
    }

    /// Unwraps the identity key of `chart`.
    pub fn unwrap_identity_key(
        &self,
        wrapped: &Envelope,
        clinic: ClinicId,
        chart: ChartId,
    ) -> Result<IdentityKey> {
        let ctx = identity_wrap_context(clinic, chart, self.epoch());
        let secret = envelope::open(&self.material, wrapped, &[Kind::IdentityKeyWrap], &ctx)?;
        Ok(IdentityKey::from_parts(
            KeyMaterial::from_bytes(&secret)?,
            chart,
        ))
    }
}

/// The context of account-level wraps: bound to the clinic and the user, nothing else applies.
pub fn account_context(clinic: ClinicId, user: UserId) -> Context {
    Context {
        clinic,
        object: ObjectId::from_bytes([0; 16]),
        object_version: 0,
        chart: None,
        tier: None,
        epoch: Epoch(0),
        author: user,
        author_key: KeyId::from_bytes([0; 16]),
        created_at: 0,
        prev_version_hash: [0; 32],
        chart_state_hash: [0; 32],
    }
}

impl KeyEncryptionKey {
    /// Wraps the user's Account Key (at sign-up and on password change).
    pub fn wrap_account_key(
        &self,
        account_key: &AccountKey,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<Envelope> {
        let ctx = account_context(clinic, user);
        envelope::seal(
            &self.material,
            Kind::AccountKeyWrap,
            &ctx,
            account_key.material.secret(),
        )
    }

    /// Unwraps the user's Account Key after login.
    pub fn unwrap_account_key(
        &self,
        wrapped: &Envelope,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<AccountKey> {
        let ctx = account_context(clinic, user);
        let secret = envelope::open(&self.material, wrapped, &[Kind::AccountKeyWrap], &ctx)?;
        Ok(AccountKey::from_material(KeyMaterial::from_bytes(&secret)?))
    }
}

impl AccountKey {
    fn seal_secret(
        &self,
        kind: Kind,
        clinic: ClinicId,
        user: UserId,
        secret: &[u8],
    ) -> Result<Envelope> {
        envelope::seal(&self.material, kind, &account_context(clinic, user), secret)
    }

    fn open_secret(
        &self,
        kind: Kind,
        clinic: ClinicId,
        user: UserId,
        wrapped: &Envelope,
    ) -> Result<Plaintext> {
        envelope::open(
            &self.material,
            wrapped,
            &[kind],
            &account_context(clinic, user),
        )
    }

    /// Wraps the user's HPKE decryption key.
    pub fn wrap_decryption_key(
        &self,
        key: &DecryptionKey,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<Envelope> {
        self.seal_secret(Kind::DecryptionKeyWrap, clinic, user, key.seed().as_ref())
    }

    /// Unwraps the user's HPKE decryption key.
    pub fn unwrap_decryption_key(
        &self,
        wrapped: &Envelope,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<DecryptionKey> {
        let seed = self.open_secret(Kind::DecryptionKeyWrap, clinic, user, wrapped)?;
        DecryptionKey::from_seed(&seed)
    }

    /// Wraps the user's signing key.
    pub fn wrap_signing_key(
        &self,
        key: &SigningKey,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<Envelope> {
        self.seal_secret(Kind::SigningKeyWrap, clinic, user, key.seed().as_ref())
    }

    /// Unwraps the user's signing key.
    pub fn unwrap_signing_key(
        &self,
        wrapped: &Envelope,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<SigningKey> {
        let seed = self.open_secret(Kind::SigningKeyWrap, clinic, user, wrapped)?;
        let seed: [u8; 32] = seed.as_bytes().try_into().map_err(|_| Error::Malformed)?;
        let seed = Zeroizing::new(seed);
        Ok(SigningKey::from_seed(&seed))
    }

    /// Wraps the local cache key.
    pub fn wrap_cache_key(
        &self,
        key: &CacheKey,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<Envelope> {
        self.seal_secret(Kind::CacheKeyWrap, clinic, user, key.material.secret())
    }

    /// Unwraps the local cache key.
    pub fn unwrap_cache_key(
        &self,
        wrapped: &Envelope,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<CacheKey> {
        let secret = self.open_secret(Kind::CacheKeyWrap, clinic, user, wrapped)?;
        Ok(CacheKey {
            material: KeyMaterial::from_bytes(&secret)?,
        })
    }

    /// Seals the pinned clinic root fingerprint, so a server cannot swap the root a client trusts.
    pub fn seal_root_pin(
        &self,
        pin: &RootFingerprint,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<Envelope> {
        self.seal_secret(Kind::RootPin, clinic, user, &pin.0)
    }

    /// Opens the pinned clinic root fingerprint.
    pub fn open_root_pin(
        &self,
        sealed: &Envelope,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<RootFingerprint> {
        let bytes = self.open_secret(Kind::RootPin, clinic, user, sealed)?;
        let arr: [u8; 32] = bytes.as_bytes().try_into().map_err(|_| Error::Malformed)?;
        Ok(RootFingerprint(arr))
    }
}
