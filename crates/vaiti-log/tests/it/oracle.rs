//! A second implementation as an oracle: the `ct-merkle` crate (RFC 6962, written independently)
//! must agree with vaiti-log on every root and proof, and each must accept the other's proofs.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof as CtConsistency, InclusionProof as CtInclusion, RootHash};
use proptest::prelude::*;
use sha2::Sha256;
use vaiti_log::{ConsistencyProof, Hash, InclusionProof, MemoryTree, leaf_hash};

type CtTree = MemoryBackedTree<Sha256, Vec<u8>>;

fn leaf(i: u64) -> Vec<u8> {
    // Leaves of varying length, so a bug that ignores the leaf prefix or length shows.
    let mut v = i.to_le_bytes().to_vec();
    v.truncate((i % 9) as usize);
    v
}

fn ct_root(ct: &CtTree) -> Hash {
    ct.root().as_bytes().as_slice().try_into().unwrap()
}

/// Checks every inclusion proof of the current (equal) trees, and every consistency proof from
/// each smaller size, against the oracle in both directions.
fn check_all_proofs(ours: &MemoryTree, ct: &CtTree) {
    let n = ours.size();
    let root = ours.root();
    assert_eq!(root, ct_root(ct), "root at size {n}");
    let ct_root_hash = ct.root();
    for i in 0..n {
        let proof = ours.inclusion_proof(i, n).unwrap();
        let theirs = ct.prove_inclusion(i as usize);
        assert_eq!(proof.to_bytes(), theirs.as_bytes(), "inclusion {i} of {n}");
        // ct-merkle accepts our proof.
        ct_root_hash
            .verify_inclusion(
                &leaf(i),
                i,
                &CtInclusion::<Sha256>::from_bytes(proof.to_bytes()),
            )
            .unwrap();
        // We accept theirs.
        InclusionProof::from_bytes(i, n, theirs.as_bytes())
            .unwrap()
            .verify(&leaf_hash(&leaf(i)), &root)
            .unwrap();
    }
    for m in 1..n {
        let proof = ours.consistency_proof(m, n).unwrap();
        let theirs = ct.prove_consistency((n - m) as usize);
        assert_eq!(
            proof.to_bytes(),
            theirs.as_bytes(),
            "consistency {m} -> {n}"
        );
        let old_root = ours.root_at(m).unwrap();
        let ct_old = RootHash::<Sha256>::new(old_root.into(), m);
        ct_root_hash
            .verify_consistency(
                &ct_old,
                &CtConsistency::<Sha256>::try_from_bytes(proof.to_bytes()).unwrap(),
            )
            .unwrap();
        ConsistencyProof::from_bytes(m, n, theirs.as_bytes())
            .unwrap()
            .verify(&old_root, &root)
            .unwrap();
    }
}

#[test]
fn agrees_with_ct_merkle_on_every_proof_up_to_130_leaves() {
    let mut ours = MemoryTree::new();
    let mut ct = CtTree::new();
    for i in 0..130u64 {
        ours.append(&leaf(i)).unwrap();
        ct.push(leaf(i));
        check_all_proofs(&ours, &ct);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random larger sizes: roots, and proofs at random indices and old sizes.
    #[test]
    fn agrees_with_ct_merkle_at_random_sizes(
        n in 131u64..4000,
        picks in proptest::collection::vec(any::<u64>(), 16),
    ) {
        let mut ours = MemoryTree::new();
        let mut ct = CtTree::new();
        for i in 0..n {
            ours.append(&leaf(i)).unwrap();
            ct.push(leaf(i));
        }
        prop_assert_eq!(ours.root(), ct_root(&ct));
        let root = ours.root();
        for pick in picks {
            let i = pick % n;
            let proof = ours.inclusion_proof(i, n).unwrap();
            let theirs = ct.prove_inclusion(i as usize);
            prop_assert_eq!(proof.to_bytes(), theirs.as_bytes());
            proof.verify(&leaf_hash(&leaf(i)), &root).unwrap();

            let m = 1 + pick % (n - 1);
            let proof = ours.consistency_proof(m, n).unwrap();
            let theirs = ct.prove_consistency((n - m) as usize);
            prop_assert_eq!(proof.to_bytes(), theirs.as_bytes());
            let old_root = ours.root_at(m).unwrap();
            ct.root()
                .verify_consistency(
                    &RootHash::<Sha256>::new(old_root.into(), m),
                    &CtConsistency::<Sha256>::try_from_bytes(proof.to_bytes()).unwrap(),
                )
                .unwrap();
        }
    }
}
