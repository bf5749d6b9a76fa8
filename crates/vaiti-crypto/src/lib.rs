//! vaiti's cryptographic core: everything a user's device does to keys and records, and nothing
//! else. Sans I/O; builds for native targets and `wasm32-unknown-unknown`.
//!
//! - [`keys`] and [`sign`]: typed keys. A content key only seals content, a key-encryption key
//!   only wraps keys, the root key only signs manifests and certificates. Secrets zeroize on drop,
//!   are not `Clone` or `Serialize`, and print as `[redacted]`.
//! - [`envelope`]: envelope v1, the one format for every symmetrically encrypted thing, with key
//!   commitment, PADMÉ padding and an author signature over header, ciphertext and context.
//! - [`wrap`]: HPKE (X-Wing hybrid post-quantum KEM) wraps of keys to users and to escrow.
//! - [`two_secret`]: the Secret Key and the password input to OPAQUE.
//! - [`shamir`]: M-of-N escrow shares.
//!
//! The byte formats are specified in `docs/formats.md` and pinned by frozen vectors.
//!
//! # Type rules, checked by the compiler
//!
//! A record key wraps content keys, and a content key seals content:
//!
//! ```
//! # fn main() -> Result<(), vaiti_crypto::Error> {
//! use vaiti_crypto::*;
//! let author = SigningKey::generate()?;
//! let chart = ChartId::generate()?;
//! let case = CaseKey::generate(chart, Tier::Team, Epoch::FIRST)?;
//! let ctx = Context {
//!     clinic: ClinicId::generate()?, object: ObjectId::generate()?, object_version: 1,
//!     chart: Some(chart), tier: Some(Tier::Team), epoch: Epoch::FIRST,
//!     author: UserId::generate()?, author_key: author.key_id(), created_at: 0,
//!     prev_version_hash: [0; 32], chart_state_hash: [0; 32],
//! };
//! let cek = ContentKey::generate()?;
//! let wrapped = case.wrap_content_key(Kind::Note, &cek, &ctx)?;
//! let sealed = cek.seal(Kind::Note, &ctx, b"note", &author)?;
//! # let _ = (wrapped, sealed); Ok(()) }
//! ```
//!
//! A content key cannot wrap a key:
//!
//! ```compile_fail
//! # fn main() -> Result<(), vaiti_crypto::Error> {
//! use vaiti_crypto::*;
//! let author = SigningKey::generate()?;
//! let chart = ChartId::generate()?;
//! let ctx = Context {
//!     clinic: ClinicId::generate()?, object: ObjectId::generate()?, object_version: 1,
//!     chart: Some(chart), tier: Some(Tier::Team), epoch: Epoch::FIRST,
//!     author: UserId::generate()?, author_key: author.key_id(), created_at: 0,
//!     prev_version_hash: [0; 32], chart_state_hash: [0; 32],
//! };
//! let cek = ContentKey::generate()?;
//! let other = ContentKey::generate()?;
//! let wrapped = cek.wrap_content_key(Kind::Note, &other, &ctx)?;
//! # let _ = wrapped; Ok(()) }
//! ```
//!
//! A key-encryption key cannot seal content:
//!
//! ```compile_fail
//! # fn main() -> Result<(), vaiti_crypto::Error> {
//! use vaiti_crypto::*;
//! let author = SigningKey::generate()?;
//! let chart = ChartId::generate()?;
//! let case = CaseKey::generate(chart, Tier::Team, Epoch::FIRST)?;
//! let ctx = Context {
//!     clinic: ClinicId::generate()?, object: ObjectId::generate()?, object_version: 1,
//!     chart: Some(chart), tier: Some(Tier::Team), epoch: Epoch::FIRST,
//!     author: UserId::generate()?, author_key: author.key_id(), created_at: 0,
//!     prev_version_hash: [0; 32], chart_state_hash: [0; 32],
//! };
//! let sealed = case.seal(Kind::Note, &ctx, b"note", &author)?;
//! # let _ = sealed; Ok(()) }
//! ```
//!
//! Secrets cannot be copied:
//!
//! ```compile_fail
//! # fn main() -> Result<(), vaiti_crypto::Error> {
//! let cek = vaiti_crypto::ContentKey::generate()?;
//! let copy = cek.clone();
//! # let _ = copy; Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod envelope;
mod error;
pub mod ids;
pub mod invite;
pub mod keys;
mod record;
pub mod shamir;
pub mod sign;
#[cfg(feature = "test-vectors")]
pub mod testing;
pub mod two_secret;
pub mod wrap;

pub use envelope::{AuthorRole, Context, Envelope, Kind, OpenPolicy, Plaintext, SignedEnvelope};
pub use error::{Error, Result};
pub use ids::{BranchId, ChartId, ClinicId, Epoch, KeyId, ObjectId, Tier, UserId};
pub use invite::InviteSecret;
pub use keys::{
    AccountKey, CaseKey, ContentKey, DirectoryKey, IdentityKey, KeyEncryptionKey, ReportKey,
};
pub use record::{
    CacheKey, RecordKey, SealedRecord, account_context, identity_wrap_context, report_context,
    report_entry_binding,
};
pub use shamir::{EscrowKey, EscrowShare};
pub use sign::{
    RootFingerprint, RootKey, Signature, SignatureDomain, SigningKey, VerifyingKey,
    signed_structure_hash,
};
pub use two_secret::{SecretKey, opaque_password_input};
pub use wrap::{
    DecryptionKey, EncryptionPublicKey, PublicWrap, Scope, WrapTarget, Wrappable, WrappedKind,
};
