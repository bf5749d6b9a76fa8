//! Inclusion and consistency proofs (RFC 6962 §2.1.1–2.1.2, RFC 9162 §2.1.3–2.1.4).
//!
//! # Generating proofs from a store
//!
//! Every element of a proof is the Merkle Tree Hash of a range of leaves; all but at most one of
//! those ranges are perfect subtrees, and the exception (on the right edge of a tree whose size is
//! not a power of two) is a fold of at most ⌈log₂ n⌉ perfect subtrees. A *plan*
//! ([`InclusionPlan`], [`ConsistencyPlan`]) lists the perfect subtrees ([`NodeId`]) a proof needs —
//! fewer than 2·⌈log₂ n⌉ — so a store that keeps every completed node (see
//! [`crate::Frontier::append_leaf_hash_with`]) answers a proof with one batched look-up:
//!
//! ```
//! # use vaiti_log::{InclusionPlan, MemoryTree, Error};
//! # let mut tree = MemoryTree::new();
//! # for i in 0..1000u32 { tree.append(&i.to_be_bytes())?; }
//! let plan = InclusionPlan::new(417, 1000)?;
//! // e.g. SELECT hash FROM log_nodes WHERE (level, idx) IN (...plan.nodes()...)
//! let hashes: Vec<_> = plan.nodes().iter().map(|id| tree.node(*id).unwrap()).collect();
//! let proof = plan.assemble(&hashes)?;
//! assert_eq!(proof.path().len(), 10);
//! # Ok::<(), Error>(())
//! ```
//!
//! or, when fetching is synchronous, [`InclusionPlan::resolve`] with a closure. Plans are pure
//! arithmetic and never fail for valid sizes, so a proof request costs no hashing beyond the fold.
//!
//! # Verifying
//!
//! [`verify_inclusion`] and [`verify_consistency`] are the algorithms of RFC 9162 §2.1.3.2 and
//! §2.1.4.2, step for step, over raw paths. The proof types add a strict length check when they
//! are built or decoded: for given sizes there is exactly one valid path length
//! ([`inclusion_proof_len`], [`consistency_proof_len`]).
//!
//! # Sizes
//!
//! An inclusion proof in a tree of n leaves has at most ⌈log₂ n⌉ hashes. A consistency proof has
//! at most ⌈log₂ n⌉ + 1 (RFC 6962 §2.1.2's bound, reached e.g. from size 3 to size 4: the old
//! tree's right subtree `d[2]` is needed as a seed, then `d[3]` and `MTH(d[0..2])`); when the old
//! size is a power of two it has at most ⌈log₂ n⌉. The tests check both bounds exhaustively for
//! small trees and at random for large ones.

use crate::tree::{Hash, NodeId, decompose, fold_right, node_hash, split_point};
use crate::{Error, Result};

/// The number of hashes in the inclusion proof of leaf `index` in a tree of `size` leaves, or
/// `None` if `index ≥ size`.
pub fn inclusion_proof_len(index: u64, size: u64) -> Option<usize> {
    if index >= size {
        return None;
    }
    // Below the level where the paths to `index` and to the last leaf split, every level has a
    // sibling ("inner"); above it, only the levels where `index` is a right child do ("border").
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    Some((inner + border) as usize)
}

/// The number of hashes in the consistency proof from `old_size` to `new_size` leaves, or `None`
/// if no such proof exists (`old_size` is 0 or larger than `new_size`). Equal sizes need none.
pub fn consistency_proof_len(old_size: u64, new_size: u64) -> Option<usize> {
    if old_size == 0 || old_size > new_size {
        return None;
    }
    if old_size == new_size {
        return Some(0);
    }
    // The proof is the inclusion path of the old tree's last leaf, minus the levels inside the
    // old tree's rightmost perfect subtree, plus that subtree's hash as a seed unless it is the
    // whole old tree (then the verifier already has it: the old root).
    let inner = 64 - ((old_size - 1) ^ (new_size - 1)).leading_zeros();
    let border = (old_size - 1).checked_shr(inner).unwrap_or(0).count_ones();
    let shift = old_size.trailing_zeros();
    let seed = u32::from(!old_size.is_power_of_two());
    Some((inner.saturating_sub(shift) + border + seed) as usize)
}

/// Verifies an inclusion proof: RFC 9162 §2.1.3.2, step for step.
///
/// `path` is ordered from the leaf's sibling up to the root's child, as RFC 6962's `PATH`
/// produces it. Fails with [`Error::InvalidProof`] for any mismatch, including a wrong length.
///
/// The proof authenticates the leaf against `root`; it does not authenticate `tree_size` on its
/// own (the path of leaf 0 in a tree of 6 leaves has the same shape as in a tree of 7). The size
/// is bound by the signed checkpoint that carries `root`: verify against checkpoint roots only.
pub fn verify_inclusion(
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &Hash,
    path: &[Hash],
    root: &Hash,
) -> Result<()> {
    // 1. leaf_index must be inside the tree.
    if leaf_index >= tree_size {
        return Err(Error::InvalidProof);
    }
    // 2.–3.
    let mut fnode = leaf_index;
    let mut snode = tree_size - 1;
    let mut r = *leaf_hash;
    // 4.
    for p in path {
        // 4a. More elements than levels.
        if snode == 0 {
            return Err(Error::InvalidProof);
        }
        // 4b.
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        // 4c.
        fnode >>= 1;
        snode >>= 1;
    }
    // 5.
    if snode == 0 && r == *root {
        Ok(())
    } else {
        Err(Error::InvalidProof)
    }
}

/// Verifies that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root`: RFC 9162 §2.1.4.2, step for step.
///
/// Two cases outside the RFC's `0 < old_size < new_size`, decided as transparency-dev/merkle
/// does: equal sizes verify only with an empty path and equal roots; an old size of 0 never
/// verifies (every tree extends the empty tree, so such a "proof" proves nothing — a client with
/// no stored checkpoint has nothing to check yet).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    path: &[Hash],
) -> Result<()> {
    if old_size == 0 || old_size > new_size {
        return Err(Error::InvalidProof);
    }
    if old_size == new_size {
        return if path.is_empty() && old_root == new_root {
            Ok(())
        } else {
            Err(Error::InvalidProof)
        };
    }
    // 1. An empty path never proves a proper extension.
    let Some((first, rest)) = path.split_first() else {
        return Err(Error::InvalidProof);
    };
    // 2. If the old size is a power of two, the old root is the first value (prepended).
    let (seed, rest) = if old_size.is_power_of_two() {
        (old_root, path)
    } else {
        (first, rest)
    };
    // 3.
    let mut fnode = old_size - 1;
    let mut snode = new_size - 1;
    // 4.
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // 5.
    let mut fr = *seed;
    let mut sr = *seed;
    // 6.
    for c in rest {
        // 6a.
        if snode == 0 {
            return Err(Error::InvalidProof);
        }
        // 6b.
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        // 6c.
        fnode >>= 1;
        snode >>= 1;
    }
    // 7.
    if fr == *old_root && sr == *new_root && snode == 0 {
        Ok(())
    } else {
        Err(Error::InvalidProof)
    }
}

/// Decodes a path encoded as concatenated 32-byte hashes, requiring exactly `expected` of them.
fn decode_path(bytes: &[u8], expected: usize) -> Result<Vec<Hash>> {
    if bytes.len() != expected.checked_mul(32).ok_or(Error::Malformed)? {
        return Err(Error::Malformed);
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|chunk| {
            let mut h = [0u8; 32];
            h.copy_from_slice(chunk);
            h
        })
        .collect())
}

fn encode_path(path: &[Hash]) -> Vec<u8> {
    path.iter().flatten().copied().collect()
}

/// A proof that a leaf is in a tree: RFC 6962's audit path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    leaf_index: u64,
    tree_size: u64,
    path: Vec<Hash>,
}

impl InclusionProof {
    /// A proof with the given path. Fails with [`Error::Malformed`] unless `leaf_index <
    /// tree_size` and the path has exactly [`inclusion_proof_len`] hashes.
    pub fn new(leaf_index: u64, tree_size: u64, path: Vec<Hash>) -> Result<Self> {
        if inclusion_proof_len(leaf_index, tree_size) != Some(path.len()) {
            return Err(Error::Malformed);
        }
        Ok(Self {
            leaf_index,
            tree_size,
            path,
        })
    }

    /// Decodes the path from concatenated 32-byte hashes (the encoding of [`Self::to_bytes`]);
    /// the index and size travel next to it (in the leaf and the checkpoint). Strict: the length
    /// must be exactly [`inclusion_proof_len`] · 32 bytes.
    pub fn from_bytes(leaf_index: u64, tree_size: u64, bytes: &[u8]) -> Result<Self> {
        let expected = inclusion_proof_len(leaf_index, tree_size).ok_or(Error::Malformed)?;
        Ok(Self {
            leaf_index,
            tree_size,
            path: decode_path(bytes, expected)?,
        })
    }

    /// The path as concatenated 32-byte hashes, leaf end first.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_path(&self.path)
    }

    /// The index of the leaf this proof is for.
    pub fn leaf_index(&self) -> u64 {
        self.leaf_index
    }

    /// The size of the tree this proof is for.
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }

    /// The path, from the leaf's sibling upwards.
    pub fn path(&self) -> &[Hash] {
        &self.path
    }

    /// Verifies that the leaf with hash `leaf_hash` is at this proof's index in the tree of this
    /// proof's size whose root is `root`.
    pub fn verify(&self, leaf_hash: &Hash, root: &Hash) -> Result<()> {
        verify_inclusion(self.leaf_index, self.tree_size, leaf_hash, &self.path, root)
    }
}

/// A proof that one tree is a prefix of another: RFC 6962's consistency proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    old_size: u64,
    new_size: u64,
    path: Vec<Hash>,
}

impl ConsistencyProof {
    /// A proof with the given path. Fails with [`Error::Malformed`] unless `0 < old_size ≤
    /// new_size` and the path has exactly [`consistency_proof_len`] hashes.
    pub fn new(old_size: u64, new_size: u64, path: Vec<Hash>) -> Result<Self> {
        if consistency_proof_len(old_size, new_size) != Some(path.len()) {
            return Err(Error::Malformed);
        }
        Ok(Self {
            old_size,
            new_size,
            path,
        })
    }

    /// Decodes the path from concatenated 32-byte hashes; strict, as [`InclusionProof::from_bytes`].
    pub fn from_bytes(old_size: u64, new_size: u64, bytes: &[u8]) -> Result<Self> {
        let expected = consistency_proof_len(old_size, new_size).ok_or(Error::Malformed)?;
        Ok(Self {
            old_size,
            new_size,
            path: decode_path(bytes, expected)?,
        })
    }

    /// The path as concatenated 32-byte hashes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_path(&self.path)
    }

    /// The size of the older tree.
    pub fn old_size(&self) -> u64 {
        self.old_size
    }

    /// The size of the newer tree.
    pub fn new_size(&self) -> u64 {
        self.new_size
    }

    /// The path.
    pub fn path(&self) -> &[Hash] {
        &self.path
    }

    /// Verifies that the tree of this proof's new size with root `new_root` extends the tree of
    /// its old size with root `old_root`.
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> Result<()> {
        verify_consistency(self.old_size, self.new_size, old_root, new_root, &self.path)
    }
}

/// The perfect subtrees a proof needs, grouped by proof element.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    nodes: Vec<NodeId>,
    /// How many consecutive entries of `nodes` each proof element folds, in path order.
    groups: Vec<u8>,
}

impl Plan {
    /// A plan for proof elements that are the Merkle Tree Hashes of `ranges`, in path order.
    fn from_ranges(ranges: &[(u64, u64)]) -> Self {
        let mut nodes = Vec::with_capacity(ranges.len() + 8);
        let mut groups = Vec::with_capacity(ranges.len());
        for &(start, end) in ranges {
            let before = nodes.len();
            nodes.extend(decompose(start, end));
            // A range decomposes into at most 64 perfect subtrees.
            groups.push(u8::try_from(nodes.len() - before).unwrap_or(u8::MAX));
        }
        Self { nodes, groups }
    }

    fn fold(&self, hashes: &[Hash]) -> Vec<Hash> {
        let mut path = Vec::with_capacity(self.groups.len());
        let mut rest = hashes;
        for &n in &self.groups {
            let (group, tail) = rest.split_at(usize::from(n).min(rest.len()));
            rest = tail;
            if let Some(h) = fold_right(group) {
                path.push(h);
            }
        }
        path
    }

    fn assemble(&self, hashes: &[Hash]) -> Result<Vec<Hash>> {
        if hashes.len() != self.nodes.len() {
            return Err(Error::InvalidArgument);
        }
        Ok(self.fold(hashes))
    }

    fn resolve<E>(&self, mut fetch: impl FnMut(NodeId) -> Result<Hash, E>) -> Result<Vec<Hash>, E> {
        let hashes = self
            .nodes
            .iter()
            .map(|id| fetch(*id))
            .collect::<Result<Vec<_>, E>>()?;
        Ok(self.fold(&hashes))
    }
}

/// The ranges whose hashes form `PATH(index, d[0..size))`, leaf end first (RFC 6962 §2.1.1).
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let (mut start, mut end) = (0u64, size);
    while end - start > 1 {
        let k = split_point(end - start);
        if index < start + k {
            out.push((start + k, end));
            end = start + k;
        } else {
            out.push((start, start + k));
            start += k;
        }
    }
    out.reverse();
    out
}

/// The ranges whose hashes form `PROOF(old, d[0..new))`, in path order (RFC 6962 §2.1.2's
/// `SUBPROOF`, unrolled). Requires `0 < old ≤ new`.
fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let (mut start, mut end) = (0u64, new);
    let mut m = old;
    // `complete` is SUBPROOF's flag b: true while the range is still a prefix of the old tree's
    // own left spine, whose hash the verifier already has.
    let mut complete = true;
    loop {
        let size = end - start;
        if m == size {
            if !complete {
                out.push((start, end));
            }
            break;
        }
        let k = split_point(size);
        if m <= k {
            out.push((start + k, end));
            end = start + k;
        } else {
            out.push((start, start + k));
            start += k;
            m -= k;
            complete = false;
        }
    }
    out.reverse();
    out
}

/// What to fetch for the inclusion proof of one leaf, and how to assemble it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionPlan {
    leaf_index: u64,
    tree_size: u64,
    plan: Plan,
}

impl InclusionPlan {
    /// Plans the proof of leaf `leaf_index` in the tree of `tree_size` leaves.
    /// [`Error::InvalidArgument`] if `leaf_index ≥ tree_size`.
    pub fn new(leaf_index: u64, tree_size: u64) -> Result<Self> {
        if leaf_index >= tree_size {
            return Err(Error::InvalidArgument);
        }
        Ok(Self {
            leaf_index,
            tree_size,
            plan: Plan::from_ranges(&inclusion_ranges(leaf_index, tree_size)),
        })
    }

    /// The perfect subtrees whose hashes the proof needs (distinct, all completed in a tree of
    /// `tree_size` leaves).
    pub fn nodes(&self) -> &[NodeId] {
        &self.plan.nodes
    }

    /// Builds the proof from the hashes of [`Self::nodes`], in that order.
    /// [`Error::InvalidArgument`] if the count differs.
    pub fn assemble(&self, hashes: &[Hash]) -> Result<InclusionProof> {
        Ok(InclusionProof {
            leaf_index: self.leaf_index,
            tree_size: self.tree_size,
            path: self.plan.assemble(hashes)?,
        })
    }

    /// Builds the proof, fetching each node with `fetch`; its first error is returned.
    pub fn resolve<E>(
        &self,
        fetch: impl FnMut(NodeId) -> Result<Hash, E>,
    ) -> Result<InclusionProof, E> {
        Ok(InclusionProof {
            leaf_index: self.leaf_index,
            tree_size: self.tree_size,
            path: self.plan.resolve(fetch)?,
        })
    }
}

/// What to fetch for a consistency proof, and how to assemble it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyPlan {
    old_size: u64,
    new_size: u64,
    plan: Plan,
}

impl ConsistencyPlan {
    /// Plans the proof from the tree of `old_size` leaves to the tree of `new_size` leaves.
    /// [`Error::InvalidArgument`] unless `0 < old_size ≤ new_size` (equal sizes plan an empty
    /// proof).
    pub fn new(old_size: u64, new_size: u64) -> Result<Self> {
        if old_size == 0 || old_size > new_size {
            return Err(Error::InvalidArgument);
        }
        Ok(Self {
            old_size,
            new_size,
            plan: Plan::from_ranges(&consistency_ranges(old_size, new_size)),
        })
    }

    /// The perfect subtrees whose hashes the proof needs (distinct, all completed in a tree of
    /// `new_size` leaves).
    pub fn nodes(&self) -> &[NodeId] {
        &self.plan.nodes
    }

    /// Builds the proof from the hashes of [`Self::nodes`], in that order.
    pub fn assemble(&self, hashes: &[Hash]) -> Result<ConsistencyProof> {
        Ok(ConsistencyProof {
            old_size: self.old_size,
            new_size: self.new_size,
            path: self.plan.assemble(hashes)?,
        })
    }

    /// Builds the proof, fetching each node with `fetch`; its first error is returned.
    pub fn resolve<E>(
        &self,
        fetch: impl FnMut(NodeId) -> Result<Hash, E>,
    ) -> Result<ConsistencyProof, E> {
        Ok(ConsistencyProof {
            old_size: self.old_size,
            new_size: self.new_size,
            path: self.plan.resolve(fetch)?,
        })
    }
}
