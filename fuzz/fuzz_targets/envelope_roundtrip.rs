//! Any content, sealed and signed, opens to exactly that content: the padding, length prefix and
//! AEAD agree for every length and byte pattern. The first input byte picks which signed kind
//! to seal as (each has its own allowed authors); the whole input is the content.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use vaiti_crypto::envelope::{HEADER_LEN, TAG_LEN, padded_plaintext_len};
use vaiti_crypto::{Context, Kind, OpenPolicy, testing};

/// A fixed nonce keeps every run reproducible; nonce reuse across fuzz inputs leaks nothing real.
const NONCE: [u8; 24] = [0x5a; 24];

fuzz_target!(|data: &[u8]| {
    let fx = common::fixture();

    let signed_kinds: Vec<Kind> = Kind::ALL.into_iter().filter(|k| k.is_signed()).collect();
    let pick = data.first().map_or(0, |&b| usize::from(b)) % signed_kinds.len();
    let kind = signed_kinds[pick];

    let signed = testing::seal_signed(&fx.content_key, kind, &fx.context, data, &NONCE, &fx.author)
        .expect("sealing fuzz-sized content succeeds");

    // The stored size is fixed by the format: header, padded plaintext (length prefix, content,
    // zeros up to the kind's floor and then PADMÉ), tag. Nothing else may leak the length.
    let padded = padded_plaintext_len(kind, data.len() as u64) as usize;
    assert_eq!(
        signed.envelope.as_bytes().len(),
        HEADER_LEN + padded + TAG_LEN
    );
    assert_eq!(signed.envelope.header().map(|h| h.kind).ok(), Some(kind));

    let policy = OpenPolicy {
        allowed: &[kind],
        context: &fx.context,
        author: &fx.author_public,
        author_roles: kind.allowed_authors(),
        newest_seen_version: None,
    };
    let opened = fx
        .content_key
        .open(&signed, &policy)
        .expect("a freshly sealed envelope opens");
    assert_eq!(opened.as_bytes(), data);

    // The context is bound in: the same envelope read as another version must not open.
    let moved = Context {
        object_version: fx.context.object_version + 1,
        ..fx.context.clone()
    };
    let moved_policy = OpenPolicy {
        context: &moved,
        ..policy
    };
    assert!(fx.content_key.open(&signed, &moved_policy).is_err());

    // The unsigned local-cache path round-trips too.
    let cached = testing::seal_cache(&fx.cache_key, &fx.context, data, &NONCE)
        .expect("sealing fuzz-sized cache entry succeeds");
    let reopened = fx
        .cache_key
        .open(&cached, &fx.context)
        .expect("a freshly sealed cache entry opens");
    assert_eq!(reopened.as_bytes(), data);
});
