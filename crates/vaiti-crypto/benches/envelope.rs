//! Envelope, wrap and key-derivation costs, each next to a baseline measured in the same run.
//!
//! `cargo bench -p vaiti-crypto` (or `cargo xtask bench`). Criterion measures every function;
//! at the end this harness reads Criterion's estimates and prints the ratios that
//! `BENCHMARKS.md` records:
//!
//! - unsigned envelope seal/open vs the raw XChaCha20-Poly1305 AEAD on the same content;
//! - signed envelope seal/open vs raw AEAD + a bare Ed25519 signature over the same content;
//! - HPKE (X-Wing) wrap/unwrap, and the two-secret derivation (HKDF + Argon2id of suite 1).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A benchmark fails loudly.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use criterion::{Criterion, Throughput};
use ed25519_dalek::{Signer as _, Verifier as _};
use vaiti_crypto::wrap::{DecryptionKey, Scope, WrapTarget};
use vaiti_crypto::{
    AuthorRole, CacheKey, CaseKey, ChartId, ClinicId, ContentKey, Context, Epoch, Kind, ObjectId,
    OpenPolicy, SecretKey, SigningKey, Tier, UserId,
};

const SIZES: [(usize, &str); 2] = [(4 * 1024, "4KiB"), (64 * 1024, "64KiB")];

fn context(author: &SigningKey) -> Context {
    Context {
        clinic: ClinicId::from_bytes([1; 16]),
        object: ObjectId::from_bytes([2; 16]),
        object_version: 1,
        chart: Some(ChartId::from_bytes([3; 16])),
        tier: Some(Tier::Team),
        epoch: Epoch(1),
        author: UserId::from_bytes([4; 16]),
        author_key: author.key_id(),
        created_at: 1_800_000_000,
        prev_version_hash: [0; 32],
        chart_state_hash: [5; 32],
    }
}

fn random_nonce() -> XNonce {
    let mut n = [0u8; 24];
    getrandom::fill(&mut n).unwrap();
    XNonce::from(n)
}

fn bench_envelopes(c: &mut Criterion) {
    let author = SigningKey::generate().unwrap();
    let ctx = context(&author);
    let mut cache_ctx = ctx.clone();
    cache_ctx.author_key = vaiti_crypto::KeyId::from_bytes([0; 16]);
    let raw = XChaCha20Poly1305::new(&[7u8; 32].into());
    let dalek = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let dalek_vk = dalek.verifying_key();
    let vk = author.verifying_key();

    for (size, label) in SIZES {
        let content = vec![0x42u8; size];
        let mut g = c.benchmark_group(format!("seal_{label}"));
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function("raw_aead", |b| {
            b.iter(|| {
                let mut buf = content.clone();
                let tag = raw
                    .encrypt_inout_detached(&random_nonce(), b"", buf.as_mut_slice().into())
                    .unwrap();
                black_box((buf, tag))
            })
        });
        g.bench_function("bare_sign", |b| {
            b.iter(|| black_box(dalek.sign(black_box(&content))))
        });
        let cache = CacheKey::generate().unwrap();
        g.bench_function("envelope_unsigned", |b| {
            b.iter(|| black_box(cache.seal(&cache_ctx, &content).unwrap()))
        });
        let cek = ContentKey::generate().unwrap();
        g.bench_function("envelope_signed", |b| {
            b.iter(|| black_box(cek.seal(Kind::Note, &ctx, &content, &author).unwrap()))
        });
        g.finish();

        let mut g = c.benchmark_group(format!("open_{label}"));
        g.throughput(Throughput::Bytes(size as u64));
        let nonce = random_nonce();
        let mut sealed_raw = content.clone();
        let tag = raw
            .encrypt_inout_detached(&nonce, b"", sealed_raw.as_mut_slice().into())
            .unwrap();
        g.bench_function("raw_aead", |b| {
            b.iter(|| {
                let mut buf = sealed_raw.clone();
                raw.decrypt_inout_detached(&nonce, b"", buf.as_mut_slice().into(), &tag)
                    .unwrap();
                black_box(buf)
            })
        });
        let bare_sig = dalek.sign(&content);
        g.bench_function("bare_verify", |b| {
            b.iter(|| dalek_vk.verify(black_box(&content), &bare_sig).unwrap())
        });
        let unsigned = cache.seal(&cache_ctx, &content).unwrap();
        g.bench_function("envelope_unsigned", |b| {
            b.iter(|| black_box(cache.open(&unsigned, &cache_ctx).unwrap()))
        });
        let signed = cek.seal(Kind::Note, &ctx, &content, &author).unwrap();
        let policy = OpenPolicy {
            allowed: &[Kind::Note],
            context: &ctx,
            author: &vk,
            author_roles: &[AuthorRole::Therapist],
            newest_seen_version: None,
        };
        g.bench_function("envelope_signed", |b| {
            b.iter(|| black_box(cek.open(&signed, &policy).unwrap()))
        });
        g.finish();
    }
}

fn bench_wraps(c: &mut Criterion) {
    let recipient = DecryptionKey::generate().unwrap();
    let wrapper = SigningKey::generate().unwrap();
    let wvk = wrapper.verifying_key();
    let chart = ChartId::from_bytes([3; 16]);
    let clinic = ClinicId::from_bytes([1; 16]);
    let ck = CaseKey::generate(chart, Tier::Team, Epoch(1)).unwrap();
    let target = WrapTarget {
        scope: Scope::Chart(chart),
        tier: Some(Tier::Team),
        epoch: Epoch(1),
    };
    let mut g = c.benchmark_group("hpke_xwing");
    g.bench_function("wrap_signed", |b| {
        b.iter(|| black_box(recipient.public_key().wrap(&ck, clinic, &wrapper).unwrap()))
    });
    let w = recipient.public_key().wrap(&ck, clinic, &wrapper).unwrap();
    g.bench_function("unwrap_verified", |b| {
        b.iter(|| {
            black_box(
                recipient
                    .unwrap::<CaseKey>(&w, clinic, &target, &wvk)
                    .unwrap(),
            )
        })
    });
    g.finish();
}

fn bench_two_secret(c: &mut Criterion) {
    let sk = SecretKey::generate().unwrap();
    let mut g = c.benchmark_group("two_secret");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("hkdf_only", |b| {
        b.iter(|| {
            black_box(vaiti_crypto::opaque_password_input(&sk, "correct horse battery").unwrap())
        })
    });
    g.bench_function("hkdf_then_argon2id_suite1", |b| {
        b.iter(|| {
            let input = vaiti_crypto::opaque_password_input(&sk, "correct horse battery").unwrap();
            let mut out = [0u8; 64];
            vaiti_opaque::FixedArgon2id::stretch(input.as_ref(), &mut out).unwrap();
            black_box(out)
        })
    });
    // A whole OPAQUE login with suite 1 (client and server, in process): what a user waits for,
    // network aside. The Argon2id stretch inside it dominates.
    use opaque_ke::{
        ClientLogin, ClientLoginFinishParameters, ClientRegistration,
        ClientRegistrationFinishParameters, ServerLogin, ServerLoginParameters, ServerRegistration,
        ServerSetup,
    };
    use vaiti_opaque::{OsRng, VaitiOpaqueSuite as Suite};
    let setup = ServerSetup::<Suite>::new(&mut OsRng);
    let input = vaiti_crypto::opaque_password_input(&sk, "correct horse battery").unwrap();
    let reg = ClientRegistration::<Suite>::start(&mut OsRng, input.as_ref()).unwrap();
    let resp = ServerRegistration::<Suite>::start(&setup, reg.message, b"handle").unwrap();
    let fin = reg
        .state
        .finish(
            &mut OsRng,
            input.as_ref(),
            resp.message,
            ClientRegistrationFinishParameters::default(),
        )
        .unwrap();
    let record = ServerRegistration::<Suite>::finish(fin.message);
    g.bench_function("opaque_login_suite1", |b| {
        b.iter(|| {
            let input = vaiti_crypto::opaque_password_input(&sk, "correct horse battery").unwrap();
            let start = ClientLogin::<Suite>::start(&mut OsRng, input.as_ref()).unwrap();
            let server = ServerLogin::start(
                &mut OsRng,
                &setup,
                Some(record.clone()),
                start.message,
                b"handle",
                ServerLoginParameters::default(),
            )
            .unwrap();
            let done = start
                .state
                .finish(
                    &mut OsRng,
                    input.as_ref(),
                    server.message,
                    ClientLoginFinishParameters::default(),
                )
                .unwrap();
            black_box(
                server
                    .state
                    .finish(done.message, ServerLoginParameters::default())
                    .unwrap(),
            )
        })
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
    println!("\nvaiti-crypto ratios (same run; mean times; lower is better)");
    println!(
        "{:<10} {:<32} {:>12} {:>12} {:>7} {:>7}",
        "group", "comparison", "subject", "baseline", "ratio", "target"
    );
    for (_, label) in SIZES {
        for op in ["seal", "open"] {
            let group = format!("{op}_{label}");
            let (sig, target_signed) = if op == "seal" {
                ("bare_sign", "1.10")
            } else {
                ("bare_verify", "1.10")
            };
            let (Some(raw), Some(unsigned), Some(signed), Some(bare)) = (
                mean_ns(&root, &group, "raw_aead"),
                mean_ns(&root, &group, "envelope_unsigned"),
                mean_ns(&root, &group, "envelope_signed"),
                mean_ns(&root, &group, sig),
            ) else {
                println!("{group:<10} (no estimates found under {})", root.display());
                continue;
            };
            let t_unsigned = if label == "4KiB" { "1.15" } else { "-" };
            let t_signed = if label == "4KiB" { target_signed } else { "-" };
            println!(
                "{group:<10} {:<32} {:>10.2}µs {:>10.2}µs {:>7.3} {:>7}",
                "unsigned envelope / raw AEAD",
                unsigned / 1e3,
                raw / 1e3,
                unsigned / raw,
                t_unsigned
            );
            println!(
                "{group:<10} {:<32} {:>10.2}µs {:>10.2}µs {:>7.3} {:>7}",
                format!(
                    "signed envelope / (AEAD + {})",
                    if op == "seal" { "sign" } else { "verify" }
                ),
                signed / 1e3,
                (raw + bare) / 1e3,
                signed / (raw + bare),
                t_signed
            );
        }
    }
    for (group, bench) in [
        ("hpke_xwing", "wrap_signed"),
        ("hpke_xwing", "unwrap_verified"),
        ("two_secret", "hkdf_only"),
        ("two_secret", "hkdf_then_argon2id_suite1"),
        ("two_secret", "opaque_login_suite1"),
    ] {
        if let Some(ns) = mean_ns(&root, group, bench) {
            println!("{group:<10} {bench:<32} {:>10.2}µs", ns / 1e3);
        }
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(800))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_envelopes(&mut c);
    bench_wraps(&mut c);
    bench_two_secret(&mut c);
    c.final_summary();
    report();
}
