//! Untrusted bytes into every parser of the access log: leaves, signed notes, checkpoint bodies, signed
//! checkpoints (with a fixed log key), cosignature lines (added to a fixed, validly signed
//! checkpoint), verifier keys, and the inclusion and consistency proof decoders and verifiers.
//! The property is "never panics"; where a parse succeeds, the value must re-encode to exactly
//! what was read (every format has one encoding).

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use vaiti_log::{
    Checkpoint, ConsistencyProof, InclusionProof, Leaf, LogKey, LogSigningKey, NoteSignature,
    SignedCheckpoint, SignedNote, WitnessKey, WitnessSigningKey, verify_consistency,
    verify_inclusion,
};

struct Fixture {
    log: LogKey,
    witness: WitnessKey,
    signed: SignedCheckpoint,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let signer = LogSigningKey::from_seed("log.fuzz.example", &[1; 32]).expect("log key");
    let witness = WitnessSigningKey::from_seed("witness.fuzz.example", &[2; 32]).expect("witness");
    let checkpoint = Checkpoint::new("log.fuzz.example", 5, [3; 32]).expect("checkpoint");
    Fixture {
        log: signer.log_key(),
        witness: witness.witness_key(),
        signed: signer.sign(&checkpoint).expect("sign"),
    }
});

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    for (i, byte) in data.iter().skip(at).take(8).enumerate() {
        b[i] = *byte;
    }
    u64::from_be_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    let fx = &*FIXTURE;

    // Access-log leaves: one encoding each.
    if let Ok(leaf) = Leaf::decode(data) {
        assert_eq!(leaf.encode().as_slice(), data);
    }

    // Signed notes and checkpoints.
    if let Ok(note) = SignedNote::parse(data) {
        assert_eq!(note.to_bytes(), data);
    }
    if let Ok(opened) = SignedCheckpoint::verify(data, &fx.log) {
        assert_eq!(opened.to_bytes(), data);
        let _ = opened.verify_cosignature(&fx.witness);
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(checkpoint) = Checkpoint::parse_body(&text) {
        assert_eq!(checkpoint.to_body(), text);
    }

    // A cosignature line submitted by a "witness", against a real checkpoint.
    if let Ok(line) = NoteSignature::parse_line(&text) {
        assert_eq!(line.to_line(), text);
        let mut signed = fx.signed.clone();
        let _ = signed.add_cosignature(&fx.witness, line);
    }

    // Verifier keys from a manifest.
    if let Ok(key) = LogKey::from_vkey(&text) {
        assert_eq!(key.to_vkey(), text);
    }
    if let Ok(key) = WitnessKey::from_vkey(&text) {
        assert_eq!(key.to_vkey(), text);
    }

    // Proofs: two sizes, then the path bytes.
    let (a, b) = (u64_at(data, 0), u64_at(data, 8));
    let path_bytes = data.get(16..).unwrap_or_default();
    let (x, y) = ([4u8; 32], [5u8; 32]);
    if let Ok(proof) = InclusionProof::from_bytes(a, b, path_bytes) {
        assert_eq!(proof.to_bytes(), path_bytes);
        let _ = proof.verify(&x, &y);
    }
    if let Ok(proof) = ConsistencyProof::from_bytes(a, b, path_bytes) {
        assert_eq!(proof.to_bytes(), path_bytes);
        let _ = proof.verify(&x, &y);
    }
    let path: Vec<[u8; 32]> = path_bytes
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32-byte chunk"))
        .collect();
    let _ = verify_inclusion(a, b, &x, &path, &y);
    let _ = verify_consistency(a, b, &x, &y, &path);
});
