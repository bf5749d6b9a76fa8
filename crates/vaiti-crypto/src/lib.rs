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

#![forbid(unsafe_code)]

pub mod envelope;
mod error;
pub mod ids;
pub mod keys;
mod record;
pub mod shamir;
pub mod sign;
#[cfg(feature = "test-vectors")]
pub mod testing;
pub mod two_secret;
pub mod wrap;

pub use envelope::{AuthorRole, Context, Envelope, Kind, OpenPolicy, SignedEnvelope};
pub use error::{Error, Result};
pub use ids::{BranchId, ChartId, ClinicId, Epoch, KeyId, ObjectId, Tier, UserId};
pub use keys::{AccountKey, CaseKey, ContentKey, DirectoryKey, IdentityKey, KeyEncryptionKey};
pub use record::{CacheKey, RecordKey, SealedRecord, account_context};
pub use shamir::{EscrowKey, EscrowShare};
pub use sign::{RootFingerprint, RootKey, Signature, SignatureDomain, SigningKey, VerifyingKey};
pub use two_secret::{SecretKey, opaque_password_input};
pub use wrap::{
    DecryptionKey, EncryptionPublicKey, PublicWrap, Scope, WrapTarget, Wrappable, WrappedKind,
};
