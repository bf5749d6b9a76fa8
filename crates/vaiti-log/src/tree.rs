//! RFC 6962 / RFC 9162 Merkle tree hashing and the append-only frontier.
//!
//! The tree over leaves `d[0..n)` is RFC 6962 §2.1's Merkle Tree Hash: the empty tree hashes to
//! `SHA-256("")`, a leaf to `SHA-256(0x00 || leaf)`, and a larger list is split at the largest
//! power of two *smaller* than its length, `SHA-256(0x01 || MTH(left) || MTH(right))`.
//!
//! Every hash a log needs to store is the hash of a *perfect* subtree: an aligned range of `2^level`
//! leaves, named by [`NodeId`]. The root of any tree size, and every proof element, is a fold of
//! at most ⌈log₂ n⌉ such hashes. [`Frontier`] keeps only the perfect subtrees that make up the
//! current tree (one per set bit of its size) and reports each perfect subtree an append completes,
//! so a store can persist them; [`MemoryTree`] keeps them all in memory.

use sha2::{Digest as _, Sha256};

use crate::{Error, Result};

/// A SHA-256 output: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// The root of the empty tree: `SHA-256("")` (RFC 6962 §2.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The hash of a leaf: `SHA-256(0x00 || leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(leaf);
    h.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A perfect subtree: the `2^level` leaves `[index · 2^level, (index + 1) · 2^level)`.
///
/// Level 0 is a leaf (its hash is the leaf hash); level `k` is the node whose children are
/// `(k − 1, 2·index)` and `(k − 1, 2·index + 1)`. A node's hash never changes once its last leaf is
/// appended, so a store can key immutable rows by `(level, index)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height above the leaves, 0..=63.
    pub level: u8,
    /// Position among the nodes of this level, counted from the left.
    pub index: u64,
}

impl NodeId {
    /// The leaf at `index`.
    pub const fn leaf(index: u64) -> Self {
        Self { level: 0, index }
    }

    /// The first leaf this node covers.
    pub const fn first_leaf(self) -> u64 {
        self.index << self.level
    }

    /// The number of leaves this node covers, `2^level`.
    pub const fn width(self) -> u64 {
        1 << self.level
    }

    /// The left and right children, or `None` for a leaf.
    pub const fn children(self) -> Option<(NodeId, NodeId)> {
        if self.level == 0 {
            return None;
        }
        let level = self.level - 1;
        let left = self.index << 1;
        Some((
            NodeId { level, index: left },
            NodeId {
                level,
                index: left | 1,
            },
        ))
    }
}

/// The perfect subtrees that make up the leaves `[start, end)`, largest first.
///
/// Requires `start` to be a multiple of the largest power of two not above `end − start` (true of
/// `[0, n)` and of every range in the RFC 6962 proof recursion); then the Merkle Tree Hash of the
/// range is the right fold of these nodes' hashes (see [`fold_right`]).
pub(crate) fn decompose(start: u64, end: u64) -> impl Iterator<Item = NodeId> {
    let width = end.saturating_sub(start);
    let mut pos = start;
    (0..64u8).rev().filter_map(move |level| {
        if width & (1u64 << level) == 0 {
            return None;
        }
        let id = NodeId {
            level,
            index: pos >> level,
        };
        pos = pos.wrapping_add(1u64 << level);
        Some(id)
    })
}

/// Folds the hashes of a range's perfect subtrees (largest first) into the range's Merkle Tree
/// Hash: `H(p₀ ‖ H(p₁ ‖ … H(pₖ₋₁ ‖ pₖ)))`. `None` for an empty slice.
pub(crate) fn fold_right(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

/// The largest power of two strictly smaller than `n` (`n ≥ 2`): RFC 6962's split point `k`.
pub(crate) const fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The Merkle Tree Hash of a list of leaf hashes, computed directly from RFC 6962 §2.1's recursive
/// definition. O(n) hashes and memory: a reference for tests and for auditors recomputing a tree
/// from every stored leaf, not for the append path.
pub fn root_from_leaf_hashes(leaf_hashes: &[Hash]) -> Hash {
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves {
            [] => EMPTY_ROOT,
            [leaf] => *leaf,
            _ => {
                // `leaves.len() ≥ 2`, and a slice length fits a u64 on every target we build for.
                let k = split_point(leaves.len() as u64) as usize;
                let (left, right) = leaves.split_at(k);
                node_hash(&mth(left), &mth(right))
            }
        }
    }
    mth(leaf_hashes)
}

/// The append-only frontier (a "compact range" over `[0, size)`): the hashes of the perfect
/// subtrees that make up the tree, one per set bit of `size`, largest first.
///
/// Appending is O(log n) amortised O(1) hashes; the root is a fold of at most 64 hashes, never a
/// recomputation of the tree. The server keeps one `Frontier` per log (restored at start-up from
/// the store with [`Frontier::peak_ids`] and [`Frontier::from_peaks`]) and persists every node that
/// [`Frontier::append_leaf_hash_with`] reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    pub const fn new() -> Self {
        Self {
            size: 0,
            peaks: Vec::new(),
        }
    }

    /// The nodes whose hashes [`Frontier::from_peaks`] needs to restore the frontier of a tree of
    /// `size` leaves, largest first. These are also the nodes the root of that size is folded from.
    pub fn peak_ids(size: u64) -> Vec<NodeId> {
        decompose(0, size).collect()
    }

    /// Restores a frontier from the hashes of [`Frontier::peak_ids`]`(size)`, in that order.
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Result<Self> {
        if peaks.len() != size.count_ones() as usize {
            return Err(Error::InvalidArgument);
        }
        Ok(Self { size, peaks })
    }

    /// The number of leaves.
    pub const fn size(&self) -> u64 {
        self.size
    }

    /// The peak hashes, largest subtree first (see [`Frontier::peak_ids`]).
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// The Merkle Tree Hash of the current tree.
    pub fn root(&self) -> Hash {
        fold_right(&self.peaks).unwrap_or(EMPTY_ROOT)
    }

    /// Appends a leaf (hashing it); returns its index.
    pub fn append(&mut self, leaf: &[u8]) -> Result<u64> {
        self.append_leaf_hash_with(leaf_hash(leaf), |_, _| {})
    }

    /// Appends an already hashed leaf; returns its index.
    pub fn append_leaf_hash(&mut self, leaf_hash: Hash) -> Result<u64> {
        self.append_leaf_hash_with(leaf_hash, |_, _| {})
    }

    /// Appends an already hashed leaf, calling `completed` for every perfect subtree the append
    /// completes: the leaf itself `(0, index)`, then each parent up to the new largest peak. Those
    /// are exactly the rows a store must add to answer proofs; no other node changes. Returns the
    /// new leaf's index.
    pub fn append_leaf_hash_with(
        &mut self,
        leaf_hash: Hash,
        mut completed: impl FnMut(NodeId, &Hash),
    ) -> Result<u64> {
        let index = self.size;
        let new_size = index.checked_add(1).ok_or(Error::Full)?;
        let mut acc = leaf_hash;
        completed(NodeId::leaf(index), &acc);
        let mut level = 0u8;
        // Each trailing one bit of `index` is a peak of the same height as `acc`: merge it.
        while (index >> level) & 1 == 1 {
            let Some(left) = self.peaks.pop() else {
                // Unreachable while `peaks.len() == size.count_ones()`, which every constructor
                // enforces; refuse rather than corrupt the frontier.
                return Err(Error::InvalidArgument);
            };
            acc = node_hash(&left, &acc);
            level += 1;
            completed(
                NodeId {
                    level,
                    index: index >> level,
                },
                &acc,
            );
        }
        self.peaks.push(acc);
        self.size = new_size;
        Ok(index)
    }
}

/// A whole tree in memory: every perfect-subtree hash, by level (2n hashes for n leaves).
///
/// The reference node store: tests, benchmarks, a witness or auditor holding a small log. It
/// answers [`NodeId`] look-ups, roots at any earlier size and proofs, with the same planning code a
/// database-backed store uses.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    frontier: Frontier,
    /// `levels[k][i]` is the hash of node `(k, i)`; only completed nodes are present.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The frontier of the current tree.
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// Appends a leaf (hashing it); returns its index.
    pub fn append(&mut self, leaf: &[u8]) -> Result<u64> {
        self.append_leaf_hash(leaf_hash(leaf))
    }

    /// Appends an already hashed leaf; returns its index.
    pub fn append_leaf_hash(&mut self, leaf_hash: Hash) -> Result<u64> {
        let levels = &mut self.levels;
        self.frontier.append_leaf_hash_with(leaf_hash, |id, hash| {
            let level = usize::from(id.level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            // Nodes complete left to right, so `id.index` is always the next slot.
            if let Some(row) = levels.get_mut(level) {
                row.push(*hash);
            }
        })
    }

    /// The hash of a completed perfect subtree, or `None` if it is not (yet) in the tree.
    pub fn node(&self, id: NodeId) -> Option<Hash> {
        let row = self.levels.get(usize::from(id.level))?;
        row.get(usize::try_from(id.index).ok()?).copied()
    }

    /// The root of the tree as it was at `size` leaves (`size ≤ self.size()`).
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        if size > self.size() {
            return Err(Error::InvalidArgument);
        }
        let peaks = decompose(0, size)
            .map(|id| self.node(id).ok_or(Error::InvalidArgument))
            .collect::<Result<Vec<_>>>()?;
        Ok(fold_right(&peaks).unwrap_or(EMPTY_ROOT))
    }

    /// The inclusion proof of leaf `index` in the tree at `tree_size` leaves.
    pub fn inclusion_proof(
        &self,
        index: u64,
        tree_size: u64,
    ) -> Result<crate::proof::InclusionProof> {
        if tree_size > self.size() {
            return Err(Error::InvalidArgument);
        }
        crate::proof::InclusionPlan::new(index, tree_size)?
            .resolve(|id| self.node(id).ok_or(Error::InvalidArgument))
    }

    /// The consistency proof from the tree at `old_size` to the tree at `new_size` leaves.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<crate::proof::ConsistencyProof> {
        if new_size > self.size() {
            return Err(Error::InvalidArgument);
        }
        crate::proof::ConsistencyPlan::new(old_size, new_size)?
            .resolve(|id| self.node(id).ok_or(Error::InvalidArgument))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, <[u8; 32]>::from(Sha256::digest(b"")));
        assert_eq!(Frontier::new().root(), EMPTY_ROOT);
        assert_eq!(root_from_leaf_hashes(&[]), EMPTY_ROOT);
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        for (n, k) in [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (u64::MAX, 1 << 63),
        ] {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }

    #[test]
    fn frontier_matches_recursive_definition_and_reports_every_node() {
        let mut f = Frontier::new();
        let mut leaves = Vec::new();
        let mut nodes = std::collections::BTreeMap::new();
        for i in 0..300u64 {
            let h = leaf_hash(&i.to_be_bytes());
            leaves.push(h);
            f.append_leaf_hash_with(h, |id, hash| {
                assert!(nodes.insert(id, *hash).is_none(), "{id:?} reported twice");
            })
            .unwrap();
            assert_eq!(f.root(), root_from_leaf_hashes(&leaves));
            assert_eq!(f.peaks().len(), f.size().count_ones() as usize);
        }
        // Every reported node hashes its children, and every perfect subtree was reported.
        for (id, hash) in &nodes {
            if let Some((l, r)) = id.children() {
                assert_eq!(*hash, node_hash(&nodes[&l], &nodes[&r]));
            }
            let start = id.first_leaf() as usize;
            let end = start + id.width() as usize;
            assert_eq!(*hash, root_from_leaf_hashes(&leaves[start..end]));
        }
        let expected: usize = (0..9).map(|level| 300usize >> level).sum();
        assert_eq!(nodes.len(), expected);
    }

    #[test]
    fn frontier_restores_from_peaks() {
        let mut tree = MemoryTree::new();
        for i in 0..77u8 {
            tree.append(&[i]).unwrap();
        }
        let ids = Frontier::peak_ids(77);
        let peaks = ids.iter().map(|id| tree.node(*id).unwrap()).collect();
        let mut restored = Frontier::from_peaks(77, peaks).unwrap();
        assert_eq!(&restored, tree.frontier());
        restored.append(b"next").unwrap();
        tree.append(b"next").unwrap();
        assert_eq!(restored.root(), tree.root());
        assert_eq!(
            Frontier::from_peaks(77, vec![[0; 32]; 3]),
            Err(Error::InvalidArgument)
        );
    }

    #[test]
    fn full_frontier_refuses_to_grow() {
        let peaks = vec![[7u8; 32]; 64];
        let mut f = Frontier::from_peaks(u64::MAX, peaks).unwrap();
        assert_eq!(f.append(b"x"), Err(Error::Full));
        assert_eq!(f.size(), u64::MAX);
    }
}
