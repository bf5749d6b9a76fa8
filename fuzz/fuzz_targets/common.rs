//! Fixed keys and context shared by the fuzz targets.
//!
//! Everything is deterministic (chosen key bytes and seeds, via the `test-vectors` feature) so a
//! crash reproduces from its input file alone. Built once per process: key derivation is cheap,
//! but libFuzzer calls the target millions of times.

// Each target is its own crate and uses only part of the fixture.
#![allow(dead_code)]

use std::sync::LazyLock;

use vaiti_crypto::testing;
use vaiti_crypto::{
    AuthorRole, CacheKey, ClinicId, ContentKey, Context, Epoch, ObjectId, Signature,
    SignatureDomain, SigningKey, UserId, VerifyingKey,
};

/// Every author role: the fuzz policies grant them all, so the role check never hides a deeper
/// bug from the fuzzer.
pub const ALL_ROLES: [AuthorRole; 5] = [
    AuthorRole::Admin,
    AuthorRole::Therapist,
    AuthorRole::FrontDesk,
    AuthorRole::Auditor,
    AuthorRole::Patient,
];

/// The fixed keys and context every target uses.
pub struct Fixture {
    /// `testing::content_key(&[7; 32])`: the key fuzz inputs are opened with.
    pub content_key: ContentKey,
    /// A cache key with the same bytes, for the unsigned (local cache) open path.
    pub cache_key: CacheKey,
    /// The author whose key id is in `context`.
    pub author: SigningKey,
    /// Its public half, as a reader's policy names it.
    pub author_public: VerifyingKey,
    /// A context with fixed, non-zero ids.
    pub context: Context,
    /// A well-formed signature (over nothing in particular) to pair with fuzzed envelopes.
    pub signature: Signature,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    // A fixture that cannot be built means the harness is broken, not the input: fail loudly.
    let content_key = testing::content_key(&[7u8; 32]).expect("fixed content key");
    let cache_key = testing::cache_key(&[7u8; 32]).expect("fixed cache key");
    let author = SigningKey::from_seed(&[9u8; 32]);
    let author_public = author.verifying_key();
    let context = Context {
        clinic: ClinicId::from_bytes([0x11; 16]),
        object: ObjectId::from_bytes([0x22; 16]),
        object_version: 1,
        chart: None,
        tier: None,
        epoch: Epoch::FIRST,
        author: UserId::from_bytes([0x33; 16]),
        author_key: author.key_id(),
        created_at: 1_767_225_600, // 2026-01-01T00:00:00Z
        prev_version_hash: [0u8; 32],
        chart_state_hash: [0u8; 32],
    };
    let signature = author.sign(SignatureDomain::Record, b"vaiti fuzz fixture");
    Fixture {
        content_key,
        cache_key,
        author,
        author_public,
        context,
        signature,
    }
});

/// The shared fixture.
pub fn fixture() -> &'static Fixture {
    &FIXTURE
}
