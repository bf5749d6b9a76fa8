//! vaiti's tamper-evident access log, sans I/O.
//!
//! This crate is the part of the access log that both sides share: the server appends leaves and
//! signs checkpoints with it, clients and witnesses verify with it. It does no I/O — no files,
//! sockets, clocks or randomness: callers pass leaf bytes, node hashes they fetched, key seeds and
//! the current time. It builds for `wasm32-unknown-unknown`.
//!
//! - [`tree`]: RFC 6962 / RFC 9162 Merkle tree hashing. [`Frontier`] is the append-only compact
//!   range (O(log n) per append, root after every append); [`MemoryTree`] keeps every node in
//!   memory (tests, benchmarks, small logs).
//! - [`proof`]: inclusion and consistency proofs. Generation is *planned*: [`InclusionPlan`] and
//!   [`ConsistencyPlan`] name the perfect-subtree hashes ([`NodeId`]) a proof needs — at most
//!   2·⌈log₂ n⌉ of them — so a database-backed store fetches them in one query and assembles the
//!   proof without loading the tree. Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 exactly.
//! - [`note`]: the C2SP signed-note format (strict parser and canonical serializer).
//! - [`checkpoint`]: C2SP tlog checkpoints signed by the log's Ed25519 key ([`LogSigningKey`],
//!   [`LogKey`], [`SignedCheckpoint`]).
//! - [`cosignature`]: C2SP `cosignature/v1` witness co-signatures ([`WitnessSigningKey`],
//!   [`WitnessKey`], [`Cosignature`]) with their timestamp, so callers can enforce a maximum age.
//!
//! # Example
//!
//! ```
//! use vaiti_log::{Checkpoint, InclusionPlan, LogSigningKey, MemoryTree, WitnessSigningKey, leaf_hash};
//!
//! // The server appends leaves and signs a checkpoint.
//! let mut tree = MemoryTree::new();
//! for entry in [&b"key release"[..], b"identity read", b"note written"] {
//!     tree.append(entry)?;
//! }
//! let log_key = LogSigningKey::from_seed("log.clinic.example", &[1; 32])?;
//! let checkpoint = Checkpoint::new("log.clinic.example", tree.size(), tree.root())?;
//! let mut signed = log_key.sign(&checkpoint)?;
//!
//! // A witness verifies the log's signature (and, in real life, consistency), then co-signs.
//! let witness = WitnessSigningKey::from_seed("witness.clinic.example", &[2; 32])?;
//! let line = witness.cosign(&signed, 1_800_000_000)?;
//! signed.add_cosignature(&witness.witness_key(), line)?;
//!
//! // A client checks the checkpoint, a fresh cosignature and an inclusion proof.
//! let bytes = signed.to_bytes();
//! let opened = vaiti_log::SignedCheckpoint::verify(&bytes, &log_key.log_key())?;
//! let cosig = opened.verify_cosignature(&witness.witness_key())?;
//! cosig.ensure_fresh(1_800_000_100, 3600)?;
//! let proof = InclusionPlan::new(1, opened.checkpoint().size())?
//!     .resolve(|id| tree.node(id).ok_or(vaiti_log::Error::InvalidArgument))?;
//! proof.verify(&leaf_hash(b"identity read"), opened.checkpoint().root())?;
//! # Ok::<(), vaiti_log::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod checkpoint;
pub mod cosignature;
pub mod leaf;
pub mod note;
pub mod proof;
pub mod tree;

pub use checkpoint::{Checkpoint, LogKey, LogSigningKey, SignedCheckpoint};
pub use cosignature::{Cosignature, MAX_CLOCK_SKEW_SECS, WitnessKey, WitnessSigningKey};
pub use leaf::{Action, ChartLink, LEAF_V1_LEN, Leaf, Purpose, detail_hash};
pub use note::{NoteSignature, SignedNote};
pub use proof::{
    ConsistencyPlan, ConsistencyProof, InclusionPlan, InclusionProof, consistency_proof_len,
    inclusion_proof_len, verify_consistency, verify_inclusion,
};
pub use tree::{EMPTY_ROOT, Frontier, Hash, MemoryTree, NodeId, leaf_hash, node_hash};

/// What went wrong. Deliberately coarse: a verifier learns (and tells an attacker) only *that* a
/// proof, signature or encoding was rejected, not where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An encoding (note, checkpoint, key, proof bytes) is not the one canonical form.
    #[error("malformed log data")]
    Malformed,
    /// A caller-supplied argument is out of range (e.g. a leaf index at or beyond the tree size,
    /// an old size larger than the new one), or fetched node hashes do not fit the plan.
    #[error("invalid argument")]
    InvalidArgument,
    /// An inclusion or consistency proof does not verify.
    #[error("proof verification failed")]
    InvalidProof,
    /// A signature from the expected key is missing or does not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// A cosignature is older than the caller's maximum age, or dated in the future.
    #[error("cosignature is not fresh")]
    Stale,
    /// The tree holds 2⁶⁴ − 1 leaves and cannot grow.
    #[error("the log is full")]
    Full,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
