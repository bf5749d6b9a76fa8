//! Properties of the tree and proofs: generated proofs verify, every tampering fails, proof sizes
//! are within RFC 6962's bounds, plans touch few nodes, and nothing overflows near 2⁶⁴ leaves.

use proptest::prelude::*;
use vaiti_log::tree::root_from_leaf_hashes;
use vaiti_log::{
    ConsistencyPlan, ConsistencyProof, Error, Frontier, Hash, InclusionPlan, InclusionProof,
    MemoryTree, NodeId, consistency_proof_len, inclusion_proof_len, leaf_hash, node_hash,
    verify_consistency, verify_inclusion,
};

fn tree_of(n: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.append(&i.to_be_bytes()).unwrap();
    }
    t
}

fn ceil_log2(n: u64) -> usize {
    if n <= 1 {
        0
    } else {
        (64 - (n - 1).leading_zeros()) as usize
    }
}

/// Every single-bit flip anywhere in the path.
fn bit_flips(path: &[Hash]) -> impl Iterator<Item = Vec<Hash>> + '_ {
    (0..path.len() * 256).map(move |bit| {
        let mut p = path.to_vec();
        p[bit / 256][(bit % 256) / 8] ^= 1 << (bit % 8);
        p
    })
}

/// The proof-size bound of issue 4 and RFC 6962 §2.1.1: an inclusion proof in a tree of n leaves
/// is at most 32·⌈log₂ n⌉ bytes. Exhaustive up to 1,100 leaves (past 1,024, so the bound's
/// rounding is crossed), and the bound is reached.
#[test]
fn inclusion_proofs_are_at_most_32_ceil_log2_n_bytes() {
    let tree = tree_of(1100);
    for n in 1..=1100u64 {
        let mut longest = 0;
        for i in 0..n {
            let proof = tree.inclusion_proof(i, n).unwrap();
            let bytes = proof.to_bytes().len();
            assert!(
                bytes <= 32 * ceil_log2(n),
                "inclusion {i} of {n}: {bytes} bytes"
            );
            assert_eq!(Some(proof.path().len()), inclusion_proof_len(i, n));
            longest = longest.max(bytes);
        }
        assert_eq!(longest, 32 * ceil_log2(n), "n = {n}: the bound is tight");
    }
}

/// Consistency proofs are at most 32·(⌈log₂ n⌉ + 1) bytes (RFC 6962 §2.1.2), at most
/// 32·⌈log₂ n⌉ when the old size is a power of two, and the +1 is really needed: from 3 to 4
/// leaves the proof is d[2], d[3], MTH(d[0..2]) — three hashes for ⌈log₂ 4⌉ = 2.
#[test]
fn consistency_proofs_are_within_rfc_6962_bound() {
    let tree = tree_of(300);
    let mut exceeded_log2 = 0;
    for n in 1..=300u64 {
        for m in 1..=n {
            let proof = tree.consistency_proof(m, n).unwrap();
            let len = proof.path().len();
            assert_eq!(Some(len), consistency_proof_len(m, n), "{m} -> {n}");
            assert!(len <= ceil_log2(n) + 1, "{m} -> {n}: {len} hashes");
            if m.is_power_of_two() {
                assert!(len <= ceil_log2(n), "{m} -> {n}: {len} hashes");
            }
            if len > ceil_log2(n) {
                exceeded_log2 += 1;
            }
        }
    }
    assert!(exceeded_log2 > 0);
    assert_eq!(tree.consistency_proof(3, 4).unwrap().path().len(), 3);
}

/// A plan touches fewer than 2·⌈log₂ n⌉ + 1 distinct perfect subtrees, all completed by size n.
#[test]
fn plans_fetch_few_distinct_completed_nodes() {
    for n in 1..=600u64 {
        let bound = 2 * ceil_log2(n) + 1;
        let check = |nodes: &[NodeId], size: u64| {
            assert!(nodes.len() <= bound, "{} nodes for n = {n}", nodes.len());
            let mut sorted = nodes.to_vec();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), nodes.len(), "duplicate node for n = {n}");
            for id in nodes {
                assert!(
                    id.first_leaf() + id.width() <= size,
                    "{id:?} not complete at {size}"
                );
            }
        };
        for i in 0..n {
            check(InclusionPlan::new(i, n).unwrap().nodes(), n);
        }
        for m in 1..=n {
            check(ConsistencyPlan::new(m, n).unwrap().nodes(), n);
        }
        assert_eq!(Frontier::peak_ids(n).len(), n.count_ones() as usize);
    }
}

#[test]
fn invalid_plans_and_sizes_are_refused() {
    assert_eq!(InclusionPlan::new(0, 0), Err(Error::InvalidArgument));
    assert_eq!(InclusionPlan::new(5, 5), Err(Error::InvalidArgument));
    assert_eq!(ConsistencyPlan::new(0, 5), Err(Error::InvalidArgument));
    assert_eq!(ConsistencyPlan::new(6, 5), Err(Error::InvalidArgument));
    assert!(ConsistencyPlan::new(5, 5).unwrap().nodes().is_empty());
    let plan = InclusionPlan::new(3, 10).unwrap();
    assert_eq!(plan.assemble(&[]), Err(Error::InvalidArgument));
    let tree = tree_of(10);
    assert_eq!(tree.inclusion_proof(0, 11), Err(Error::InvalidArgument));
    assert_eq!(tree.consistency_proof(1, 11), Err(Error::InvalidArgument));
    // A fetch error is passed through untouched.
    let failed: Result<InclusionProof, &str> = plan.resolve(|_| Err("database down"));
    assert_eq!(failed, Err("database down"));
    // Strict decoding: wrong length, trailing bytes, index outside the tree.
    let good = tree.inclusion_proof(3, 10).unwrap().to_bytes();
    assert!(InclusionProof::from_bytes(3, 10, &good).is_ok());
    assert_eq!(
        InclusionProof::from_bytes(3, 10, &good[..good.len() - 1]),
        Err(Error::Malformed)
    );
    assert_eq!(
        InclusionProof::from_bytes(3, 10, &[good.clone(), vec![0]].concat()),
        Err(Error::Malformed)
    );
    assert_eq!(
        InclusionProof::from_bytes(10, 10, &[]),
        Err(Error::Malformed)
    );
    assert_eq!(
        ConsistencyProof::from_bytes(0, 10, &[]),
        Err(Error::Malformed)
    );
    assert_eq!(
        ConsistencyProof::from_bytes(11, 10, &[]),
        Err(Error::Malformed)
    );
    assert!(ConsistencyProof::from_bytes(10, 10, &[]).is_ok());
    assert_eq!(
        ConsistencyProof::from_bytes(10, 10, &[0; 32]),
        Err(Error::Malformed)
    );
}

/// A virtual tree whose leaves are all equal: node hashes depend only on the level, so trees of
/// any size up to 2⁶⁴ − 1 can be proven without storing them.
fn uniform_node(id: NodeId) -> Hash {
    let mut h = leaf_hash(b"same");
    for _ in 0..id.level {
        h = node_hash(&h, &h);
    }
    h
}

fn uniform_root(size: u64) -> Hash {
    let peaks: Vec<Hash> = Frontier::peak_ids(size)
        .into_iter()
        .map(uniform_node)
        .collect();
    Frontier::from_peaks(size, peaks).unwrap().root()
}

#[test]
fn huge_trees_do_not_overflow() {
    for n in [
        u64::MAX,
        u64::MAX - 1,
        1 << 63,
        (1 << 63) + 1,
        (1 << 63) - 1,
        1 << 40,
    ] {
        let root = uniform_root(n);
        for i in [0, 1, n / 2, n - 2, n - 1] {
            let proof = InclusionPlan::new(i, n)
                .unwrap()
                .resolve(|id| Ok::<_, ()>(uniform_node(id)))
                .unwrap();
            assert!(proof.path().len() <= 64);
            proof.verify(&leaf_hash(b"same"), &root).unwrap();
        }
        for m in [1, 2, 3, n / 2, n - 1, n] {
            let proof = ConsistencyPlan::new(m, n)
                .unwrap()
                .resolve(|id| Ok::<_, ()>(uniform_node(id)))
                .unwrap();
            proof.verify(&uniform_root(m), &root).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn frontier_root_is_the_merkle_tree_hash(n in 0u64..700) {
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let mut f = Frontier::new();
        for l in &leaves {
            f.append_leaf_hash(*l).unwrap();
        }
        prop_assert_eq!(f.root(), root_from_leaf_hashes(&leaves));
    }

    /// Inclusion: the proof verifies; any bit flip, another index, another size (with that size's
    /// real root), a truncated or extended path, another leaf, or another root fails.
    #[test]
    fn inclusion_proofs_verify_and_resist_tampering(
        n in 1u64..3000,
        pick in any::<u64>(),
        other in any::<u64>(),
    ) {
        let tree = tree_of(n + 1);
        let i = pick % n;
        let root = tree.root_at(n).unwrap();
        let leaf = leaf_hash(&i.to_be_bytes());
        let proof = tree.inclusion_proof(i, n).unwrap();
        prop_assert!(proof.verify(&leaf, &root).is_ok());
        prop_assert!(proof.path().len() <= ceil_log2(n));
        let path = proof.path();

        for flipped in bit_flips(path) {
            prop_assert!(verify_inclusion(i, n, &leaf, &flipped, &root).is_err());
        }
        let j = other % n;
        if j != i {
            prop_assert!(verify_inclusion(j, n, &leaf, path, &root).is_err());
            // Even with the right leaf for j, i's path does not prove j.
            prop_assert!(verify_inclusion(j, n, &leaf_hash(&j.to_be_bytes()), path, &root).is_err());
        }
        // Another size, with that tree's real root (what a lying checkpoint would carry).
        let n2 = 1 + other % (n + 1);
        if n2 != n && i < n2 {
            prop_assert!(verify_inclusion(i, n2, &leaf, path, &tree.root_at(n2).unwrap()).is_err());
        }
        prop_assert!(verify_inclusion(i, n, &leaf, path, &tree.root_at(n + 1).unwrap()).is_err());
        if !path.is_empty() {
            prop_assert!(verify_inclusion(i, n, &leaf, &path[..path.len() - 1], &root).is_err());
            prop_assert!(verify_inclusion(i, n, &leaf, &path[1..], &root).is_err());
        }
        let mut longer = path.to_vec();
        longer.push(root);
        prop_assert!(verify_inclusion(i, n, &leaf, &longer, &root).is_err());
        prop_assert!(verify_inclusion(i, n, &leaf_hash(b"forged"), path, &root).is_err());
        prop_assert!(verify_inclusion(i, n, &leaf, path, &leaf).is_err() || n == 1);
        // The byte encoding round-trips.
        let decoded = InclusionProof::from_bytes(i, n, &proof.to_bytes()).unwrap();
        prop_assert_eq!(decoded, proof);
    }

    /// Consistency: the proof verifies; any bit flip, another old or new size, a wrong old or
    /// new root, a truncated or extended path fails.
    #[test]
    fn consistency_proofs_verify_and_resist_tampering(
        n in 1u64..3000,
        pick in any::<u64>(),
        other in any::<u64>(),
    ) {
        let tree = tree_of(n + 1);
        let m = 1 + pick % n;
        let (old_root, new_root) = (tree.root_at(m).unwrap(), tree.root_at(n).unwrap());
        let proof = tree.consistency_proof(m, n).unwrap();
        prop_assert!(proof.verify(&old_root, &new_root).is_ok());
        prop_assert!(proof.path().len() <= ceil_log2(n) + 1);
        let path = proof.path();

        for flipped in bit_flips(path) {
            prop_assert!(verify_consistency(m, n, &old_root, &new_root, &flipped).is_err());
        }
        // Other sizes, each with its real root.
        let m2 = 1 + other % n;
        if m2 != m {
            prop_assert!(
                verify_consistency(m2, n, &tree.root_at(m2).unwrap(), &new_root, path).is_err()
            );
            prop_assert!(verify_consistency(m2, n, &old_root, &new_root, path).is_err());
        }
        let n2 = m + other % (n + 2 - m);
        if n2 != n {
            prop_assert!(
                verify_consistency(m, n2, &old_root, &tree.root_at(n2).unwrap(), path).is_err()
            );
        }
        if m != n {
            // A fork: the same old tree, a different new tree of the same size.
            let mut forked = MemoryTree::new();
            for k in 0..n {
                let leaf = if k == n - 1 { b"forked".to_vec() } else { k.to_be_bytes().to_vec() };
                forked.append(&leaf).unwrap();
            }
            prop_assert!(verify_consistency(m, n, &old_root, &forked.root(), path).is_err());
            prop_assert!(verify_consistency(m, n, &leaf_hash(b"x"), &new_root, path).is_err());
        }
        if !path.is_empty() {
            prop_assert!(verify_consistency(m, n, &old_root, &new_root, &path[..path.len() - 1]).is_err());
            prop_assert!(verify_consistency(m, n, &old_root, &new_root, &path[1..]).is_err());
        }
        let mut longer = path.to_vec();
        longer.push(new_root);
        prop_assert!(verify_consistency(m, n, &old_root, &new_root, &longer).is_err());
        let decoded = ConsistencyProof::from_bytes(m, n, &proof.to_bytes()).unwrap();
        prop_assert_eq!(decoded, proof);
    }

    /// The verifiers never panic, whatever they are given.
    #[test]
    fn verifiers_never_panic(
        a in any::<u64>(),
        b in any::<u64>(),
        path in proptest::collection::vec(any::<[u8; 32]>(), 0..70),
        x in any::<[u8; 32]>(),
        y in any::<[u8; 32]>(),
    ) {
        let _ = verify_inclusion(a, b, &x, &path, &y);
        let _ = verify_consistency(a, b, &x, &y, &path);
        let _ = inclusion_proof_len(a, b);
        let _ = consistency_proof_len(a, b);
    }
}
