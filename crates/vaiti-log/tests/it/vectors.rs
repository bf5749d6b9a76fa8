//! Third-party vectors (see `tests/vectors/README.md`): transparency-dev/merkle's RFC 6962 proof
//! probes and reference tree, and signed notes from the C2SP specs and golang.org/x/mod.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use vaiti_log::{
    Checkpoint, ConsistencyProof, EMPTY_ROOT, Frontier, Hash, InclusionProof, LogKey,
    LogSigningKey, MemoryTree, NodeId, SignedNote, leaf_hash, verify_consistency, verify_inclusion,
};

fn read(name: &str) -> String {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn b64(s: &str) -> Vec<u8> {
    BASE64.decode(s).unwrap()
}

/// A 32-byte hash, or `None` for the probes' deliberately wrong-sized "hashes".
fn hash32(s: &str) -> Option<Hash> {
    b64(s).try_into().ok()
}

fn hex32(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionProbe {
    file: String,
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsistencyProbe {
    file: String,
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
struct Reference {
    leaf_inputs_hex: Vec<String>,
    node_hashes_by_level_hex: Vec<Vec<String>>,
    root_by_size_hex: Vec<String>,
    hash_kats: Vec<HashKat>,
}

#[derive(Deserialize)]
struct HashKat {
    desc: String,
    kind: String,
    input_hex: String,
    want_hex: String,
}

fn reference_tree() -> (Reference, MemoryTree) {
    let reference: Reference =
        serde_json::from_str(&read("transparency-dev-reference.json")).unwrap();
    let mut tree = MemoryTree::new();
    for leaf in &reference.leaf_inputs_hex {
        tree.append(&hex::decode(leaf).unwrap()).unwrap();
    }
    (reference, tree)
}

#[test]
fn reference_tree_hashes_and_roots() {
    let (reference, tree) = reference_tree();
    for kat in &reference.hash_kats {
        let input = hex::decode(&kat.input_hex).unwrap();
        let got = match kat.kind.as_str() {
            "empty" => EMPTY_ROOT,
            "leaf" => leaf_hash(&input),
            other => panic!("unknown kind {other}"),
        };
        assert_eq!(got, hex32(&kat.want_hex), "{}", kat.desc);
    }
    for (level, row) in reference.node_hashes_by_level_hex.iter().enumerate() {
        for (index, want) in row.iter().enumerate() {
            let id = NodeId {
                level: level as u8,
                index: index as u64,
            };
            assert_eq!(tree.node(id), Some(hex32(want)), "{id:?}");
        }
    }
    assert_eq!(reference.root_by_size_hex.len(), 9);
    let mut frontier = Frontier::new();
    for (size, want) in reference.root_by_size_hex.iter().enumerate() {
        assert_eq!(
            tree.root_at(size as u64).unwrap(),
            hex32(want),
            "size {size}"
        );
        assert_eq!(frontier.root(), hex32(want), "frontier at size {size}");
        if let Some(leaf) = reference.leaf_inputs_hex.get(size) {
            frontier.append(&hex::decode(leaf).unwrap()).unwrap();
        }
    }
}

#[test]
fn transparency_dev_inclusion_probes() {
    let probes: Vec<InclusionProbe> =
        serde_json::from_str(&read("transparency-dev-inclusion.json")).unwrap();
    assert_eq!(probes.len(), 98);
    let (_, tree) = reference_tree();
    let mut accepted = 0;
    for p in &probes {
        let what = format!("{} ({})", p.file, p.desc);
        let proof_items = p.proof.clone().unwrap_or_default();
        let decoded: Option<(Hash, Hash, Vec<Hash>)> = (|| {
            let path = proof_items
                .iter()
                .map(|s| hash32(s))
                .collect::<Option<Vec<_>>>()?;
            Some((hash32(&p.leaf_hash)?, hash32(&p.root)?, path))
        })();
        let Some((leaf, root, path)) = decoded else {
            // A wrong-sized hash cannot even be represented: rejected at decoding.
            assert!(
                p.want_err,
                "{what}: accepting probe with a non-32-byte hash"
            );
            continue;
        };
        // The RFC 9162 algorithm alone, on the raw path.
        let raw = verify_inclusion(p.leaf_idx, p.tree_size, &leaf, &path, &root);
        assert_eq!(
            raw.is_err(),
            p.want_err,
            "{what}: verify_inclusion = {raw:?}"
        );
        // The typed, length-checked proof.
        let typed = InclusionProof::new(p.leaf_idx, p.tree_size, path.clone())
            .and_then(|proof| proof.verify(&leaf, &root));
        assert_eq!(
            typed.is_err(),
            p.want_err,
            "{what}: InclusionProof = {typed:?}"
        );
        // The byte decoder agrees.
        let bytes: Vec<u8> = path.iter().flatten().copied().collect();
        let decoded = InclusionProof::from_bytes(p.leaf_idx, p.tree_size, &bytes)
            .and_then(|proof| proof.verify(&leaf, &root));
        assert_eq!(
            decoded.is_err(),
            p.want_err,
            "{what}: from_bytes = {decoded:?}"
        );
        if !p.want_err {
            accepted += 1;
            // Our generator produces exactly the published path for the reference tree.
            if p.tree_size <= tree.size() && root == tree.root_at(p.tree_size).unwrap() {
                let ours = tree.inclusion_proof(p.leaf_idx, p.tree_size).unwrap();
                assert_eq!(ours.path(), &path[..], "{what}: generated path");
            }
        }
    }
    assert_eq!(accepted, 6);
}

#[test]
fn transparency_dev_consistency_probes() {
    let probes: Vec<ConsistencyProbe> =
        serde_json::from_str(&read("transparency-dev-consistency.json")).unwrap();
    assert_eq!(probes.len(), 98);
    let (_, tree) = reference_tree();
    let mut accepted = 0;
    for p in &probes {
        let what = format!("{} ({})", p.file, p.desc);
        let proof_items = p.proof.clone().unwrap_or_default();
        let mut roots = (hash32(&p.root1), hash32(&p.root2));
        if p.file
            .ends_with("sizes-are-equal-one-and-proof-is-empty.json")
        {
            // The one accepting probe with 16-byte "don't care" roots: run it with equal 32-byte
            // roots (README.md explains).
            assert!(!p.want_err && p.root1 == p.root2 && roots.0.is_none());
            roots = (Some([0x42; 32]), Some([0x42; 32]));
        }
        let decoded: Option<(Hash, Hash, Vec<Hash>)> = (|| {
            let path = proof_items
                .iter()
                .map(|s| hash32(s))
                .collect::<Option<Vec<_>>>()?;
            Some((roots.0?, roots.1?, path))
        })();
        let Some((root1, root2, path)) = decoded else {
            assert!(
                p.want_err,
                "{what}: accepting probe with a non-32-byte hash"
            );
            continue;
        };
        let raw = verify_consistency(p.size1, p.size2, &root1, &root2, &path);
        assert_eq!(
            raw.is_err(),
            p.want_err,
            "{what}: verify_consistency = {raw:?}"
        );
        let typed = ConsistencyProof::new(p.size1, p.size2, path.clone())
            .and_then(|proof| proof.verify(&root1, &root2));
        assert_eq!(
            typed.is_err(),
            p.want_err,
            "{what}: ConsistencyProof = {typed:?}"
        );
        let bytes: Vec<u8> = path.iter().flatten().copied().collect();
        let decoded = ConsistencyProof::from_bytes(p.size1, p.size2, &bytes)
            .and_then(|proof| proof.verify(&root1, &root2));
        assert_eq!(
            decoded.is_err(),
            p.want_err,
            "{what}: from_bytes = {decoded:?}"
        );
        if !p.want_err {
            accepted += 1;
            if p.size2 <= tree.size() && root2 == tree.root_at(p.size2).unwrap() {
                let ours = tree.consistency_proof(p.size1, p.size2).unwrap();
                assert_eq!(ours.path(), &path[..], "{what}: generated path");
            }
        }
    }
    assert_eq!(accepted, 6);
}

#[derive(Deserialize)]
struct NoteVectors {
    ed25519_notes: Vec<NoteVector>,
    checkpoint_examples: Vec<CheckpointExample>,
}

#[derive(Deserialize)]
struct NoteVector {
    source: String,
    vkey: String,
    skey: Option<String>,
    note: String,
}

#[derive(Deserialize)]
struct CheckpointExample {
    note: String,
    origin: String,
    size: u64,
    cosignature_name: String,
    cosignature_timestamp: u64,
    cosigned_message_example: String,
}

#[test]
fn published_signed_notes_verify_and_reserialize() {
    let vectors: NoteVectors = serde_json::from_str(&read("c2sp-notes.json")).unwrap();
    assert_eq!(vectors.ed25519_notes.len(), 4);
    for v in &vectors.ed25519_notes {
        let key = LogKey::from_vkey(&v.vkey).unwrap_or_else(|e| panic!("{}: {e}", v.source));
        assert_eq!(key.to_vkey(), v.vkey, "{}", v.source);
        let note = SignedNote::parse(v.note.as_bytes()).unwrap();
        assert_eq!(
            note.to_bytes(),
            v.note.as_bytes(),
            "{}: not canonical",
            v.source
        );
        key.verify_note(&note)
            .unwrap_or_else(|e| panic!("{}: {e}", v.source));

        // Any change to the text breaks the signature.
        let tampered = v.note.replacen('s', "S", 1);
        let tampered = SignedNote::parse(tampered.as_bytes()).unwrap();
        assert!(key.verify_note(&tampered).is_err(), "{}", v.source);

        // With a published private key, signing reproduces the note byte for byte.
        if let Some(skey) = &v.skey {
            let fields: Vec<&str> = skey.splitn(5, '+').collect();
            let (name, material) = (fields[2], b64(fields[4]));
            assert_eq!(material[0], 0x01);
            let seed: [u8; 32] = material[1..].try_into().unwrap();
            let signer = LogSigningKey::from_seed(name, &seed).unwrap();
            assert_eq!(signer.log_key(), key);
            let signed = signer.sign_note_text(note.text()).unwrap();
            assert_eq!(signed.to_bytes(), v.note.as_bytes(), "{}", v.source);
        }
    }
}

#[test]
fn published_checkpoint_with_cosignature_parses() {
    let vectors: NoteVectors = serde_json::from_str(&read("c2sp-notes.json")).unwrap();
    let ex = &vectors.checkpoint_examples[0];
    let note = SignedNote::parse(ex.note.as_bytes()).unwrap();
    assert_eq!(note.to_bytes(), ex.note.as_bytes());
    let checkpoint = Checkpoint::parse_body(note.text()).unwrap();
    assert_eq!(checkpoint.origin(), ex.origin);
    assert_eq!(checkpoint.size(), ex.size);
    assert_eq!(checkpoint.to_body(), note.text());

    // The cosignature line: key ID (4) || timestamp (8, big-endian) || Ed25519 signature (64).
    let line = note
        .signatures()
        .iter()
        .find(|s| s.name() == ex.cosignature_name)
        .unwrap();
    assert_eq!(line.signature().len(), 8 + 64);
    let ts = u64::from_be_bytes(line.signature()[..8].try_into().unwrap());
    assert_eq!(ts, ex.cosignature_timestamp);
    // The spec's example of the signed message, for that timestamp and checkpoint.
    assert_eq!(
        vaiti_log::cosignature::signed_message(&checkpoint, ts),
        ex.cosigned_message_example.as_bytes()
    );
}
