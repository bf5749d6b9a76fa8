//! Untrusted bytes into every parser a server or peer can feed: envelopes (header and the full
//! open path, signed and unsigned), escrow shares, signatures, public-key wrap headers and the
//! printed Secret Key. The property is "never panics"; where a parse succeeds, the parsed value
//! must also re-encode to what was read (formats in `docs/formats.md` have one encoding only).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use vaiti_crypto::shamir::EscrowShare;
use vaiti_crypto::wrap::PublicWrap;
use vaiti_crypto::{Envelope, Kind, OpenPolicy, SecretKey, Signature, SignedEnvelope};

fuzz_target!(|data: &[u8]| {
    let fx = common::fixture();

    // Envelope header: the kind byte (offset 4, after magic, version and suite) must round-trip.
    let envelope = Envelope::from_bytes(data.to_vec());
    if let Ok(header) = envelope.header() {
        assert_eq!(data.get(4), Some(&header.kind.to_byte()));
        assert_eq!(Kind::from_byte(header.kind.to_byte()), Some(header.kind));
    }

    // The full signed open path. Every kind is allowed and every role granted so the fuzzer
    // gets past the cheap checks to key id, commitment, AEAD, signature and padding.
    let policy = OpenPolicy {
        allowed: &Kind::ALL,
        context: &fx.context,
        author: &fx.author_public,
        author_roles: &common::ALL_ROLES,
        newest_seen_version: Some(1),
    };
    let signed = SignedEnvelope {
        envelope,
        signature: fx.signature.clone(),
    };
    let _ = fx.content_key.open(&signed, &policy);
    // The unsigned path (local cache) shares the header and padding code but not the signature.
    let _ = fx.cache_key.open(&signed.envelope, &fx.context);

    // Escrow share files are typed in or read from officers' media.
    if let Ok(share) = EscrowShare::from_bytes(data) {
        assert_eq!(share.to_bytes().as_slice(), data);
    }

    if let Ok(signature) = Signature::from_bytes(data) {
        assert_eq!(signature.to_bytes().as_slice(), data);
    }

    let wrap = PublicWrap {
        bytes: data.to_vec(),
        signature: fx.signature.clone(),
    };
    let _ = wrap.header();

    // The printed Secret Key is typed by a person: any text. A key that parses must print to a
    // form that parses back to the same key.
    let text = String::from_utf8_lossy(data);
    if let Ok(key) = SecretKey::parse_printed(&text) {
        let reparsed = SecretKey::parse_printed(&key.to_printed()).expect("printed form parses");
        assert_eq!(reparsed.as_bytes(), key.as_bytes());
    }
});
