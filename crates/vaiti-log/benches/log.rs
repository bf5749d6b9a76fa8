//! Access-log costs, each next to a baseline measured in the same run.
//!
//! `cargo bench -p vaiti-log` (or `cargo xtask bench`). Criterion measures every function; at the
//! end this harness reads Criterion's estimates and prints the ratios that `BENCHMARKS.md`
//! records:
//!
//! - appending a 256-byte leaf to the in-memory frontier (and to a tree that keeps every node) vs
//!   a bare SHA-256 of the same leaf;
//! - inclusion and consistency proof generation (plan + node look-ups + fold, from a tree held in
//!   memory) and verification at n = 10⁶ and 10⁷ leaves, vs ⌈log₂ n⌉ chained node hashes — the
//!   least work any proof of that size can cost;
//! - verifying a signed checkpoint and a witness cosignature vs a bare Ed25519 `verify_strict` of
//!   the same bytes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A benchmark fails loudly.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput};
use ed25519_dalek::Signer as _;
use sha2::{Digest as _, Sha256};
use vaiti_log::{
    Checkpoint, ConsistencyPlan, Frontier, Hash, InclusionPlan, LogSigningKey, MemoryTree,
    SignedCheckpoint, WitnessSigningKey, leaf_hash, node_hash, verify_consistency,
    verify_inclusion,
};

const LEAF_BYTES: usize = 256;
const SIZES: [(u64, &str); 2] = [(1_000_000, "1e6"), (10_000_000, "1e7")];
const PROOFS: usize = 256;

/// A small deterministic PRNG (xorshift64*), so runs pick the same indices.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn leaf(i: u64) -> [u8; LEAF_BYTES] {
    let mut l = [0x5a; LEAF_BYTES];
    l[..8].copy_from_slice(&i.to_be_bytes());
    l
}

fn ceil_log2(n: u64) -> u32 {
    64 - (n - 1).leading_zeros()
}

fn bench_append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(1));
    let l = leaf(7);
    g.bench_function("bare_sha256_leaf", |b| {
        b.iter(|| black_box(<[u8; 32]>::from(Sha256::digest(black_box(&l)))))
    });
    // Start from a frontier of 10^6 leaves: appends cost the same at any size (amortised two
    // hashes), which the ratio shows.
    let mut frontier = Frontier::new();
    for i in 0..1_000_000 {
        frontier.append_leaf_hash(leaf_hash(&leaf(i))).unwrap();
    }
    g.bench_function("frontier_append", |b| {
        b.iter(|| black_box(frontier.append(black_box(&l)).unwrap()))
    });
    g.bench_function("frontier_root", |b| b.iter(|| black_box(frontier.root())));
    let mut tree = MemoryTree::new();
    g.bench_function("memory_tree_append", |b| {
        b.iter(|| black_box(tree.append(black_box(&l)).unwrap()))
    });
    g.finish();
}

fn bench_proofs(c: &mut Criterion) {
    for (n, label) in SIZES {
        let mut tree = MemoryTree::new();
        for i in 0..n {
            tree.append(&leaf(i)).unwrap();
        }
        let root = tree.root();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ n);
        let indices: Vec<u64> = (0..PROOFS).map(|_| rng.next() % n).collect();
        let old_sizes: Vec<u64> = (0..PROOFS).map(|_| 1 + rng.next() % (n - 1)).collect();
        let inclusion: Vec<_> = indices
            .iter()
            .map(|&i| (leaf_hash(&leaf(i)), tree.inclusion_proof(i, n).unwrap()))
            .collect();
        let consistency: Vec<_> = old_sizes
            .iter()
            .map(|&m| {
                (
                    tree.root_at(m).unwrap(),
                    tree.consistency_proof(m, n).unwrap(),
                )
            })
            .collect();
        let hashes = ceil_log2(n);

        let mut g = c.benchmark_group(format!("proofs_{label}"));
        g.bench_function("baseline_log2n_node_hashes", |b| {
            b.iter(|| {
                let mut acc: Hash = black_box([1; 32]);
                for _ in 0..hashes {
                    acc = node_hash(&acc, black_box(&root));
                }
                black_box(acc)
            })
        });
        let mut k = 0usize;
        g.bench_function("inclusion_generate", |b| {
            b.iter(|| {
                k = (k + 1) % PROOFS;
                let plan = InclusionPlan::new(indices[k], n).unwrap();
                black_box(plan.resolve(|id| tree.node(id).ok_or(())).unwrap())
            })
        });
        g.bench_function("inclusion_verify", |b| {
            b.iter(|| {
                k = (k + 1) % PROOFS;
                let (leaf, proof) = &inclusion[k];
                verify_inclusion(proof.leaf_index(), n, leaf, proof.path(), &root).unwrap();
            })
        });
        g.bench_function("consistency_generate", |b| {
            b.iter(|| {
                k = (k + 1) % PROOFS;
                let plan = ConsistencyPlan::new(old_sizes[k], n).unwrap();
                black_box(plan.resolve(|id| tree.node(id).ok_or(())).unwrap())
            })
        });
        g.bench_function("consistency_verify", |b| {
            b.iter(|| {
                k = (k + 1) % PROOFS;
                let (old_root, proof) = &consistency[k];
                verify_consistency(proof.old_size(), n, old_root, &root, proof.path()).unwrap();
            })
        });
        g.finish();
        drop(tree);
    }
}

fn bench_checkpoints(c: &mut Criterion) {
    let log = LogSigningKey::from_seed("log.clinic.example", &[1; 32]).unwrap();
    let witness = WitnessSigningKey::from_seed("witness.clinic.example", &[2; 32]).unwrap();
    let checkpoint = Checkpoint::new("log.clinic.example", 1_000_000, [7; 32]).unwrap();
    let mut signed = log.sign(&checkpoint).unwrap();
    let line = witness.cosign(&signed, 1_800_000_000).unwrap();
    signed
        .add_cosignature(&witness.witness_key(), line)
        .unwrap();
    let bytes = signed.to_bytes();
    let (log_key, witness_key) = (log.log_key(), witness.witness_key());

    let body = checkpoint.to_body();
    let dalek = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
    let dalek_vk = dalek.verifying_key();
    let bare_sig = dalek.sign(body.as_bytes());

    let mut g = c.benchmark_group("checkpoint");
    g.bench_function("bare_ed25519_verify", |b| {
        b.iter(|| {
            dalek_vk
                .verify_strict(black_box(body.as_bytes()), &bare_sig)
                .unwrap()
        })
    });
    g.bench_function("checkpoint_verify", |b| {
        b.iter(|| black_box(SignedCheckpoint::verify(black_box(&bytes), &log_key).unwrap()))
    });
    let opened = SignedCheckpoint::verify(&bytes, &log_key).unwrap();
    g.bench_function("cosignature_verify", |b| {
        b.iter(|| black_box(opened.verify_cosignature(&witness_key).unwrap()))
    });
    g.bench_function("bare_ed25519_sign", |b| {
        b.iter(|| black_box(dalek.sign(black_box(body.as_bytes()))))
    });
    g.bench_function("checkpoint_sign", |b| {
        b.iter_batched(
            || checkpoint.clone(),
            |cp| black_box(log.sign(&cp).unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// Criterion's point estimate (mean, ns) of one benchmark, from its `new/estimates.json`.
fn mean_ns(root: &std::path::Path, group: &str, bench: &str) -> Option<f64> {
    let path = root
        .join(group)
        .join(bench)
        .join("new")
        .join("estimates.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

fn criterion_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("criterion")
}

fn report() {
    let root = criterion_dir();
    println!("\nvaiti-log ratios (same run; mean times; lower is better)");
    println!(
        "{:<12} {:<28} {:>12} {:>28} {:>12} {:>7}",
        "group", "subject", "mean", "baseline", "mean", "ratio"
    );
    let mut rows = vec![
        ("append", "frontier_append", "bare_sha256_leaf"),
        ("append", "frontier_root", "bare_sha256_leaf"),
        ("append", "memory_tree_append", "bare_sha256_leaf"),
    ];
    let groups: Vec<String> = SIZES.iter().map(|(_, l)| format!("proofs_{l}")).collect();
    for g in &groups {
        for subject in [
            "inclusion_generate",
            "inclusion_verify",
            "consistency_generate",
            "consistency_verify",
        ] {
            rows.push((g.as_str(), subject, "baseline_log2n_node_hashes"));
        }
    }
    rows.extend([
        ("checkpoint", "checkpoint_verify", "bare_ed25519_verify"),
        ("checkpoint", "cosignature_verify", "bare_ed25519_verify"),
        ("checkpoint", "checkpoint_sign", "bare_ed25519_sign"),
    ]);
    for (group, subject, baseline) in rows {
        let (Some(s), Some(b)) = (
            mean_ns(&root, group, subject),
            mean_ns(&root, group, baseline),
        ) else {
            println!(
                "{group:<12} {subject:<28} (no estimates under {})",
                root.display()
            );
            continue;
        };
        println!(
            "{group:<12} {subject:<28} {:>10.3}µs {baseline:>28} {:>10.3}µs {:>7.2}",
            s / 1e3,
            b / 1e3,
            s / b
        );
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    bench_append(&mut c);
    bench_proofs(&mut c);
    bench_checkpoints(&mut c);
    c.final_summary();
    report();
}
