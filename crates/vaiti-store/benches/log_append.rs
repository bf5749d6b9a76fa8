//! The access log's store-backed append path, next to a plain durable insert measured in the same
//! run, on SQLite and on PostgreSQL.
//!
//! `cargo bench -p vaiti-store --bench log_append` (also part of `cargo xtask bench`). Criterion
//! measures every function; at the end this harness reads Criterion's estimates and prints the
//! per-second rates and ratios that `BENCHMARKS.md` records.
//!
//! - **SQLite**: [`SqliteStore::open`] in a fresh temporary directory — the production settings
//!   (WAL, `synchronous = FULL`, so every commit is on disk before `apply` returns).
//! - **PostgreSQL**: a fresh schema of `VAITI_TEST_DATABASE_URL` (default
//!   `postgres://root@127.0.0.1:5432/test`), as the conformance tests isolate themselves, dropped
//!   at the end. PostgreSQL being unreachable **fails** this benchmark; it never skips.
//!
//! Each store first gets one clinic, one staff account, [`CHARTS`] charts and a log of
//! [`PREFILL`] leaves (7 of 8 concern a chart, round robin, correctly chained; every 8th is a
//! login with no chart), written through [`Store::apply`] in transactions of [`BATCH`]
//! `AppendLogLeaf` writes each, with the subtree hashes computed by an in-memory
//! [`Frontier`]. The harness checks that the stored peaks give the same root before measuring.
//!
//! Then, per backend:
//!
//! - `baseline_record_insert`: one `Write::PutRecordVersion` (version 1 of a fresh object, a row
//!   of about the leaf's size) in its own `apply` — a plain durable insert without the log;
//! - `log_append`: exactly what the server's `apply_logged` does for an action with no other
//!   write (a key release): `log_size`, `log_nodes` of the peaks, `last_chart_log_leaf`, build the
//!   leaf and the completed subtree nodes with [`Frontier`], and one `apply` of
//!   `Write::AppendLogLeaf`;
//! - `log_append_reads`: only the three reads of `log_append`, to show what they cost;
//! - `record_write_logged`: the baseline's record write *with* its leaf, as the server writes a
//!   record (`apply_logged` with the record write and the leaf in one `apply`);
//! - `one_read_log_size`: `log_size` alone — one store read, one query — the unit the reads of
//!   `log_append` are made of (`log_nodes` runs one query per peak, so an append at size `n`
//!   makes `2 + popcount(n)` queries before its transaction);
//! - `caller_session_account` and `caller_with_certificate`: what the server reads to know who
//!   calls, on every authenticated request — the session by its token hash and the account, and
//!   then (since issue 12 made roles count only once certified) the account's newest
//!   certificate too (`Caller.certified`). The store holds [`OTHER_STAFF`] other certified
//!   members of staff, and the caller [`SERIALS`] certificates. The report gives their ratio.
//!
//! After Criterion, an interleaved pass ([`ROUNDS`] rounds of the baseline, `log_append` and
//! `record_write_logged` in rotating order, each timed alone) gives medians whose ratios do not
//! drift with load from elsewhere on a shared machine, as one-function-after-the-other means can.
//!
//! Under `cargo test --benches` or `cargo bench -- --test` (Criterion's test mode) the prefill is
//! [`PREFILL_TEST_MODE`] leaves, each function runs once and no report is printed. A name filter (`cargo bench -- FILTER`) that matches none
//! of this harness's benchmarks, as a substring, skips the stores and the prefill altogether.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A benchmark fails loudly.

use std::collections::HashMap;
use std::hint::black_box;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use tokio::runtime::Runtime;
use vaiti_core::{
    Account, AccountKeys, AccountKind, AccountStatus, BranchId, Certificate, Chart, ChartId,
    Clinic, ClinicId, KeyId, LogLeaf, LogNode, ObjectId, RecordVersion, Role, Sealed, Session,
    UserId,
};
use vaiti_log::{Action, ChartLink, Frontier, Leaf, Purpose};
use vaiti_store::conformance::{TEST_DATABASE_URL_VAR, redact_password, test_database_url};
use vaiti_store::{PostgresStore, SqliteStore, Store, Write};

/// Leaves in each log before measuring: a clinic's log after a good while of use.
const PREFILL: u64 = 100_000;
/// The prefill under `cargo test --benches`, which only checks that the harness runs.
const PREFILL_TEST_MODE: u64 = 1_000;
/// Charts the leaves concern, round robin.
const CHARTS: usize = 1_000;
/// `AppendLogLeaf` writes per prefill transaction.
const BATCH: usize = 1_000;
/// Rounds of the interleaved pass (see [`interleaved`]).
const ROUNDS: usize = 1_000;
/// The interleaved pass under `cargo test --benches`.
const ROUNDS_TEST_MODE: usize = 2;
/// A fixed base time for the data.
const T0: i64 = 1_750_000_000;
/// The size of the baseline's sealed envelope: a record row of about a leaf row's size.
const ENVELOPE_BYTES: usize = vaiti_log::LEAF_V1_LEN;

const BACKENDS: [&str; 2] = ["sqlite", "postgres"];
const FUNCTIONS: [&str; 7] = [
    "baseline_record_insert",
    "log_append",
    "log_append_reads",
    "record_write_logged",
    "one_read_log_size",
    "caller_session_account",
    "caller_with_certificate",
];
/// The log-append functions, compared with [`FUNCTIONS`]`[0]`; the rest are the caller lookup.
const LOG_FUNCTIONS: usize = 5;
/// Other members of staff, each with a certificate, so the certificate lookup searches an index
/// of a clinic's size rather than one row.
const OTHER_STAFF: usize = 200;
/// Certificates the measured user holds (renewals): the lookup takes the newest.
const SERIALS: u64 = 3;

fn group(backend: &str) -> String {
    format!("log_append_{backend}")
}

fn rnd() -> [u8; 16] {
    *ObjectId::generate().expect("random bytes").as_bytes()
}

/// The fixed rows every measured write refers to.
struct World {
    clinic: ClinicId,
    staff: UserId,
    /// The staff member's session (its token hash), for the caller lookup.
    session: [u8; 32],
    charts: Vec<ChartId>,
    /// The next chart to touch, round robin.
    next_chart: AtomicUsize,
    /// Increases per leaf, so times are distinct.
    clock: AtomicI64,
}

impl World {
    fn chart(&self) -> ChartId {
        let i = self.next_chart.fetch_add(1, Ordering::Relaxed);
        self.charts[i % self.charts.len()]
    }

    fn now(&self) -> i64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }
}

/// One backend under test and what to remove afterwards.
struct Backend {
    name: &'static str,
    store: Arc<dyn Store>,
    cleanup: Cleanup,
    world: Option<World>,
    prefill_time: Duration,
}

enum Cleanup {
    SqliteDir(Arc<SqliteStore>, PathBuf),
    PostgresSchema(Arc<PostgresStore>),
}

impl Backend {
    async fn cleanup(self) {
        match self.cleanup {
            Cleanup::SqliteDir(store, dir) => {
                store.close().await;
                if let Err(e) = std::fs::remove_dir_all(&dir) {
                    eprintln!("warning: could not remove {}: {e}", dir.display());
                }
            }
            Cleanup::PostgresSchema(store) => {
                if let Err(e) = store.drop_schema().await {
                    eprintln!("warning: could not drop the benchmark's schema: {e}");
                }
            }
        }
    }
}

async fn open_postgres() -> Backend {
    let url = test_database_url();
    let schema = format!("vaiti_bench_{}", ObjectId::from_bytes(rnd()));
    match PostgresStore::connect_in_schema(&url, &schema).await {
        Ok(store) => {
            let store = Arc::new(store);
            Backend {
                name: "postgres",
                store: store.clone(),
                cleanup: Cleanup::PostgresSchema(store),
                world: None,
                prefill_time: Duration::ZERO,
            }
        }
        Err(e) => panic!(
            "the log_append benchmark measures PostgreSQL too and could not use the database at {}: \
             {e}. Start PostgreSQL or set {TEST_DATABASE_URL_VAR}; this benchmark fails rather than \
             skips.",
            redact_password(&url)
        ),
    }
}

async fn open_sqlite() -> Backend {
    let dir = std::env::temp_dir().join(format!("vaiti-bench-log-{}", ObjectId::from_bytes(rnd())));
    let store = match SqliteStore::open(&dir).await {
        Ok(store) => Arc::new(store),
        Err(e) => panic!("cannot open a SQLite store in {}: {e}", dir.display()),
    };
    Backend {
        name: "sqlite",
        store: store.clone(),
        cleanup: Cleanup::SqliteDir(store, dir),
        world: None,
        prefill_time: Duration::ZERO,
    }
}

fn sealed(len: usize) -> Sealed {
    let mut bytes = vec![0x5a; len];
    bytes[..16].copy_from_slice(&rnd());
    Sealed(bytes)
}

/// A leaf as the server builds one (`access_log::apply_logged`).
fn leaf(
    world: &World,
    action: Action,
    chart: Option<ChartId>,
    chart_previous: Option<ChartLink>,
    object: [u8; 16],
    time: i64,
) -> Leaf {
    Leaf {
        action,
        purpose: if chart.is_some() {
            Purpose::Treatment
        } else {
            Purpose::None
        },
        clinic: *world.clinic.as_bytes(),
        actor: *world.staff.as_bytes(),
        // A key release carries the client's signed request (its content does not change the
        // cost: the encoding has a fixed length).
        actor_key: if action == Action::KeyRelease {
            [0x22; 16]
        } else {
            [0; 16]
        },
        chart: chart.map_or([0; 16], |c| *c.as_bytes()),
        chart_previous,
        object,
        detail: [0x11; 32],
        time,
        request_signature: if action == Action::KeyRelease {
            [0x33; 65]
        } else {
            [0; 65]
        },
    }
}

/// Appends `leaf` to `frontier` and returns the write that stores it with the subtree hashes it
/// completes, as the server does.
fn leaf_write(
    frontier: &mut Frontier,
    world: &World,
    leaf: &Leaf,
    chart: Option<ChartId>,
) -> (Write, [u8; 32]) {
    let bytes = leaf.encode();
    let hash = vaiti_log::leaf_hash(&bytes);
    let mut nodes = Vec::new();
    let index = frontier
        .append_leaf_hash_with(hash, |id, h| {
            nodes.push(LogNode {
                level: id.level,
                index: id.index,
                hash: *h,
            });
        })
        .unwrap();
    let write = Write::AppendLogLeaf {
        leaf: LogLeaf {
            clinic: world.clinic,
            index,
            leaf: Sealed(bytes.to_vec()),
            leaf_hash: hash,
            chart,
            created_at: leaf.time,
        },
        nodes,
    };
    (write, hash)
}

/// The clinic, a staff member, the charts and a log of `prefill` leaves.
async fn populate(store: &dyn Store, prefill: u64) -> World {
    let clinic = ClinicId::from_bytes(rnd());
    let staff = UserId::from_bytes(rnd());
    let branch = BranchId::from_bytes(rnd());
    let key = |label: &str| Sealed([label.as_bytes(), &rnd()].concat());
    let account = |id: UserId, login: &str| Write::CreateAccount {
        account: Account {
            clinic,
            id,
            kind: AccountKind::Staff,
            login: login.to_owned(),
            display_name: Some("Bench Therapist".to_owned()),
            roles: vec![Role::Therapist],
            branches: vec![branch],
            status: AccountStatus::Active,
            created_at: T0,
        },
        keys: AccountKeys {
            wrapped_account_key: key("account key"),
            wrapped_decryption_key: key("decryption key"),
            wrapped_signing_key: key("signing key"),
            wrapped_cache_key: key("cache key"),
            root_pin: key("root pin"),
            encryption_public_key: key("encryption public key"),
            verifying_key: key("verifying key"),
        },
        opaque_record: key("opaque record").0,
    };
    let mut setup = vec![
        Write::CreateClinic(Clinic {
            id: clinic,
            manifest: key("manifest"),
            manifest_signature: key("manifest signature"),
            manifest_version: 1,
            created_at: T0,
        }),
        account(staff, "therapist@clinic.example"),
    ];
    let charts: Vec<ChartId> = (0..CHARTS).map(|_| ChartId::from_bytes(rnd())).collect();
    setup.extend(charts.iter().map(|&id| {
        Write::CreateChart(Chart {
            clinic,
            id,
            branch,
            created_by: staff,
            created_at: T0,
        })
    }));
    // Certificates: the measured user's renewals, and one each for the other members of staff.
    let certificate = |user: UserId, serial: u64| {
        Write::PutCertificate(Certificate {
            clinic,
            user,
            serial,
            body: key("certificate"),
            signature: sealed(65),
            issuer_key: KeyId::from_bytes(rnd()),
            expires_at: T0 + 365 * 86_400,
            revoked_at: None,
            revocation: None,
        })
    };
    setup.extend((1..=SERIALS).map(|serial| certificate(staff, serial)));
    for i in 0..OTHER_STAFF {
        let other = UserId::from_bytes(rnd());
        setup.push(account(other, &format!("staff{i}@clinic.example")));
        setup.push(certificate(other, 1));
    }
    store.apply(setup).await.unwrap();
    let session: [u8; 32] = [rnd(), rnd()].concat().try_into().unwrap();
    store
        .create_session(&Session {
            token_hash: session,
            clinic,
            user: staff,
            created_at: T0,
            expires_at: i64::MAX,
        })
        .await
        .unwrap();
    let world = World {
        clinic,
        staff,
        session,
        charts,
        next_chart: AtomicUsize::new(0),
        clock: AtomicI64::new(T0),
    };

    let mut frontier = Frontier::new();
    let mut last: HashMap<ChartId, ChartLink> = HashMap::new();
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..prefill {
        let (action, chart) = if i % 8 == 7 {
            (Action::Login, None)
        } else {
            (Action::KeyRelease, Some(world.chart()))
        };
        let previous = chart.and_then(|c| last.get(&c).copied());
        let leaf = leaf(&world, action, chart, previous, [0; 16], world.now());
        let index = frontier.size();
        let (write, hash) = leaf_write(&mut frontier, &world, &leaf, chart);
        if let Some(c) = chart {
            last.insert(c, ChartLink { index, hash });
        }
        batch.push(write);
        if batch.len() == BATCH {
            store.apply(std::mem::take(&mut batch)).await.unwrap();
        }
    }
    if !batch.is_empty() {
        store.apply(batch).await.unwrap();
    }

    // The stored log is the one built in memory, so the measured appends start from a sound log.
    let (stored, _) = append_reads(store, &world, None).await;
    assert_eq!(stored.size(), prefill, "the prefilled log's size");
    assert_eq!(stored.root(), frontier.root(), "the prefilled log's root");
    world
}

/// The reads of the server's append: the size, the peaks, the chart's previous leaf.
async fn append_reads(
    store: &dyn Store,
    world: &World,
    chart: Option<ChartId>,
) -> (Frontier, Option<ChartLink>) {
    let size = store.log_size(world.clinic).await.unwrap();
    let ids: Vec<(u8, u64)> = Frontier::peak_ids(size)
        .iter()
        .map(|n| (n.level, n.index))
        .collect();
    let peaks: Option<Vec<[u8; 32]>> = store
        .log_nodes(world.clinic, &ids)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let peaks = peaks.expect("every peak of the log is stored");
    let frontier = Frontier::from_peaks(size, peaks).unwrap();
    let previous = match chart {
        Some(chart) => store
            .last_chart_log_leaf(world.clinic, chart)
            .await
            .unwrap()
            .map(|l| ChartLink {
                index: l.index,
                hash: l.leaf_hash,
            }),
        None => None,
    };
    (frontier, previous)
}

/// The server's `apply_logged` (crates/vaiti-server/src/access_log.rs), without its retry (one
/// writer here, so an append never loses its index): `writes` and the leaf in one `apply`.
async fn apply_logged(
    store: &dyn Store,
    world: &World,
    writes: Vec<Write>,
    action: Action,
    chart: ChartId,
    object: [u8; 16],
) -> u64 {
    let (mut frontier, previous) = append_reads(store, world, Some(chart)).await;
    let leaf = leaf(world, action, Some(chart), previous, object, world.now());
    let (write, _) = leaf_write(&mut frontier, world, &leaf, Some(chart));
    let mut all = writes.clone();
    all.push(write);
    store.apply(all).await.unwrap();
    frontier.size() - 1
}

/// Version 1 of a fresh object in `chart`, with an envelope about the size of a leaf.
fn record(world: &World, chart: ChartId) -> RecordVersion {
    RecordVersion {
        clinic: world.clinic,
        object: ObjectId::from_bytes(rnd()),
        version: 1,
        kind: 1,
        chart,
        tier: 1,
        epoch: 1,
        author: world.staff,
        author_key: KeyId::from_bytes(rnd()),
        created_at: world.now(),
        prev_version_hash: [0; 32],
        chart_state_hash: [7; 32],
        wrapped_key: sealed(64),
        envelope: sealed(ENVELOPE_BYTES),
        signature: sealed(64),
    }
}

/// Runs `op` `iters` times on the runtime and returns the time taken.
fn timed<F, Fut>(rt: &Runtime, iters: u64, mut op: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            op().await;
        }
        start.elapsed()
    })
}

/// The operations measured, by their index in [`FUNCTIONS`].
async fn op(store: &dyn Store, world: &World, which: usize) {
    match which {
        0 => {
            let r = record(world, world.chart());
            store.apply(vec![Write::PutRecordVersion(r)]).await.unwrap();
        }
        1 => {
            let chart = world.chart();
            black_box(apply_logged(store, world, vec![], Action::KeyRelease, chart, [0; 16]).await);
        }
        2 => {
            black_box(append_reads(store, world, Some(world.chart())).await);
        }
        3 => {
            let r = record(world, world.chart());
            let (chart, object) = (r.chart, *r.object.as_bytes());
            let writes = vec![Write::PutRecordVersion(r)];
            black_box(apply_logged(store, world, writes, Action::RecordWrite, chart, object).await);
        }
        4 => {
            black_box(store.log_size(world.clinic).await.unwrap());
        }
        // The caller lookup of every authenticated request (`auth.rs`, `Caller`): without and
        // with the certificate read.
        5 => {
            black_box(caller(store, world, false).await);
        }
        _ => {
            black_box(caller(store, world, true).await);
        }
    }
}

/// What the server reads to know who calls: the session, the account, and (`certified`) the
/// account's newest certificate, judged live as `policy::is_certified` judges it.
async fn caller(store: &dyn Store, world: &World, certified: bool) -> bool {
    let now = T0 + 1;
    let session = store.session(&world.session, now).await.unwrap().unwrap();
    let account = store
        .account(session.clinic, session.user)
        .await
        .unwrap()
        .unwrap();
    if !certified {
        return account.status == AccountStatus::Active;
    }
    store
        .latest_certificate(session.clinic, session.user)
        .await
        .unwrap()
        .is_some_and(|c| c.serial == SERIALS && c.revoked_at.is_none() && c.expires_at > now)
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, backend: &Backend) {
    let store = &*backend.store;
    let world = backend.world.as_ref().expect("a populated store");
    let mut g = c.benchmark_group(group(backend.name));
    g.throughput(Throughput::Elements(1));
    for (which, name) in FUNCTIONS.iter().enumerate() {
        g.bench_function(*name, |b| {
            b.iter_custom(|iters| timed(rt, iters, || op(store, world, which)))
        });
    }
    g.finish();
}

/// The interleaved pass: `rounds` rounds of the baseline, the append and the logged record write
/// (FUNCTIONS 0, 1 and 3), in an order that rotates every round, each timed on its own. Load from
/// elsewhere on the machine then falls on all three alike, so the ratio of their medians holds up
/// where Criterion's one-after-the-other means can drift apart.
fn interleaved(rt: &Runtime, backend: &Backend, rounds: usize) -> Vec<(usize, Vec<Duration>)> {
    let store = &*backend.store;
    let world = backend.world.as_ref().expect("a populated store");
    let ops = [0, 1, 3];
    let mut times: Vec<(usize, Vec<Duration>)> = ops
        .iter()
        .map(|&w| (w, Vec::with_capacity(rounds)))
        .collect();
    rt.block_on(async {
        for round in 0..rounds {
            for k in 0..ops.len() {
                let slot = (round + k) % ops.len();
                let start = Instant::now();
                op(store, world, ops[slot]).await;
                times[slot].1.push(start.elapsed());
            }
        }
    });
    times
}

/// The `q`-quantile of `times`, in nanoseconds.
fn quantile_ns(times: &[Duration], q: f64) -> f64 {
    let mut ns: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1e9).collect();
    ns.sort_by(f64::total_cmp);
    let at = ((ns.len() as f64 * q) as usize).min(ns.len().saturating_sub(1));
    ns.get(at).copied().unwrap_or(f64::NAN)
}

/// The mean of `times`, in nanoseconds.
fn mean_of(times: &[Duration]) -> f64 {
    times.iter().map(Duration::as_secs_f64).sum::<f64>() * 1e9 / times.len().max(1) as f64
}

/// The benchmark-name filter Criterion will apply, if any: the first positional argument.
fn name_filter(args: &[String]) -> Option<&str> {
    // Criterion's options that take a value, so the value is not taken for the filter.
    const WITH_VALUE: [&str; 18] = [
        "--save-baseline",
        "-s",
        "--baseline",
        "-b",
        "--baseline-lenient",
        "--load-baseline",
        "--measurement-time",
        "--warm-up-time",
        "--sample-size",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--profile-time",
        "--plotting-backend",
        "--output-format",
        "--color",
        "--format",
    ];
    let mut skip_next = false;
    for arg in args {
        if skip_next {
            skip_next = false;
        } else if WITH_VALUE.contains(&arg.as_str()) {
            skip_next = true;
        } else if !arg.starts_with('-') {
            return Some(arg);
        }
    }
    None
}

fn all_ids() -> Vec<String> {
    BACKENDS
        .iter()
        .flat_map(|b| FUNCTIONS.iter().map(move |f| format!("{}/{f}", group(b))))
        .collect()
}

/// Criterion's point estimate (mean, ns) of one benchmark, from its `new/estimates.json`.
fn mean_ns(root: &Path, group: &str, bench: &str) -> Option<f64> {
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

/// What the report says about one backend besides Criterion's estimates.
struct Summary {
    name: &'static str,
    prefill: u64,
    prefill_time: Duration,
    final_size: u64,
    /// Per operation (index in [`FUNCTIONS`]), its times in the interleaved pass.
    interleaved: Vec<(usize, Vec<Duration>)>,
}

fn report(summaries: &[Summary]) {
    let root = criterion_dir();
    println!("\nvaiti-store log append (same run; rate = 1 / mean time per operation)");
    for s in summaries {
        println!(
            "{}: prefilled {} leaves in {:.1} s; the log ended at {} leaves",
            s.name,
            s.prefill,
            s.prefill_time.as_secs_f64(),
            s.final_size
        );
    }
    let baseline = FUNCTIONS[0];
    println!("\nCriterion, one function after the other (mean):");
    println!(
        "{:<9} {:<20} {:>10} {:>7} {:>23} {:>10} {:>7} {:>6}",
        "backend", "subject", "mean", "per s", "baseline", "mean", "per s", "ratio"
    );
    for backend in BACKENDS {
        let g = group(backend);
        for subject in &FUNCTIONS[1..LOG_FUNCTIONS] {
            let (Some(s), Some(base)) = (mean_ns(&root, &g, subject), mean_ns(&root, &g, baseline))
            else {
                println!(
                    "{backend:<9} {subject:<20} (no estimates under {})",
                    root.display()
                );
                continue;
            };
            println!(
                "{backend:<9} {subject:<20} {:>8.3}ms {:>7.0} {baseline:>23} {:>8.3}ms {:>7.0} {:>6.2}",
                s / 1e6,
                1e9 / s,
                base / 1e6,
                1e9 / base,
                s / base
            );
        }
    }
    // The caller lookup: what the certificate read adds to every authenticated request.
    let (without, with) = (FUNCTIONS[LOG_FUNCTIONS], FUNCTIONS[LOG_FUNCTIONS + 1]);
    println!("\nCaller lookup per authenticated request, Criterion (mean):");
    println!(
        "{:<9} {:>24} {:>24} {:>6}",
        "backend", "session + account", "+ newest certificate", "ratio"
    );
    for backend in BACKENDS {
        let g = group(backend);
        match (mean_ns(&root, &g, without), mean_ns(&root, &g, with)) {
            (Some(base), Some(s)) => println!(
                "{backend:<9} {:>22.1}µs {:>22.1}µs {:>6.2}",
                base / 1e3,
                s / 1e3,
                s / base
            ),
            _ => println!("{backend:<9} (no estimates under {})", root.display()),
        }
    }
    println!(
        "\nInterleaved (baseline, append, logged record write in rotating order, each timed alone):"
    );
    println!(
        "{:<9} {:<23} {:>5} {:>9} {:>9} {:>9} {:>9} {:>7} {:>8} {:>8}",
        "backend",
        "operation",
        "n",
        "p10",
        "median",
        "p90",
        "mean",
        "per s",
        "ratio(m)",
        "ratio(50)"
    );
    for s in summaries {
        let Some((_, base)) = s.interleaved.iter().find(|(w, _)| *w == 0) else {
            continue;
        };
        let (base_mean, base_median) = (mean_of(base), quantile_ns(base, 0.5));
        for (which, times) in &s.interleaved {
            let mean = mean_of(times);
            let median = quantile_ns(times, 0.5);
            println!(
                "{:<9} {:<23} {:>5} {:>7.3}ms {:>7.3}ms {:>7.3}ms {:>7.3}ms {:>7.0} {:>8.2} {:>8.2}",
                s.name,
                FUNCTIONS[*which],
                times.len(),
                quantile_ns(times, 0.1) / 1e6,
                median / 1e6,
                quantile_ns(times, 0.9) / 1e6,
                mean / 1e6,
                1e9 / mean,
                mean / base_mean,
                median / base_median
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for id in all_ids() {
            println!("{id}: benchmark");
        }
        return;
    }
    if let Some(filter) = name_filter(&args)
        && !all_ids().iter().any(|id| id.contains(filter))
    {
        println!("log_append: the filter `{filter}` names none of this harness's benchmarks");
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and `cargo bench -- --test`
    // adds `--test` (Criterion's test mode, which runs each function once).
    let bench_mode = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    let prefill = if bench_mode {
        PREFILL
    } else {
        PREFILL_TEST_MODE
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // PostgreSQL first: an unreachable server fails the run before anything else is spent.
    let postgres = rt.block_on(open_postgres());
    let sqlite = rt.block_on(open_sqlite());
    let mut backends = vec![sqlite, postgres];

    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        for b in &mut backends {
            let start = Instant::now();
            b.world = Some(rt.block_on(populate(&*b.store, prefill)));
            b.prefill_time = start.elapsed();
            println!(
                "{}: prefilled {prefill} leaves in {:.1} s",
                b.name,
                b.prefill_time.as_secs_f64()
            );
        }
        let mut c = Criterion::default()
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5))
            .sample_size(10)
            .configure_from_args();
        for b in &backends {
            bench_backend(&mut c, &rt, b);
        }
        c.final_summary();
        let rounds = if bench_mode { ROUNDS } else { ROUNDS_TEST_MODE };
        backends
            .iter()
            .map(|b| {
                println!("{}: interleaved pass, {rounds} rounds", b.name);
                let interleaved = interleaved(&rt, b, rounds);
                let clinic = b.world.as_ref().expect("populated").clinic;
                Summary {
                    name: b.name,
                    prefill,
                    prefill_time: b.prefill_time,
                    final_size: rt.block_on(b.store.log_size(clinic)).unwrap(),
                    interleaved,
                }
            })
            .collect::<Vec<_>>()
    }));
    // Remove the temporary directory and schema even when a measurement failed.
    for b in backends {
        rt.block_on(b.cleanup());
    }
    match outcome {
        Ok(summaries) if bench_mode => report(&summaries),
        Ok(_) => {}
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
