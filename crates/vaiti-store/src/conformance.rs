//! The conformance suite: what every [`Store`] must do, checked against a real backend.
//!
//! The trait's doc comments are the specification; each check here exercises one part of it
//! (happy paths, every precondition's `Conflict` or `NotFound`, atomicity, clinic isolation,
//! concurrency). A check is a `pub async fn name(store: Arc<dyn Store>)` that panics with a message
//! naming what went wrong.
//!
//! [`conformance_tests!`](crate::conformance_tests) turns the suite into one `#[tokio::test]` per
//! check for a backend, each on a fresh store from a [`Fixture`], so a failure names both the
//! check and the backend (`postgres::invite_expiry`). [`run_all`] runs every check in turn on one
//! store, for a caller that has a store but no test harness around it.
//!
//! Checks use fresh random ids, so they neither see nor disturb each other's data; the store-wide
//! counts (`delete_expired_sessions`, `delete_expired_pending_logins`) use times no other check
//! uses. The module is
//! compiled normally, not only under `cfg(test)`, so other crates' tests can reuse it.

// Test-support code: a broken expectation should panic with a clear message, exactly as a test
// would, and `unwrap` on setup steps keeps the checks readable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use vaiti_core::{
    Account, AccountKeys, AccountKind, AccountStatus, Alert, AlertId, AlertKind, BranchId,
    Certificate, Chart, ChartId, ChartStateEntry, Clinic, ClinicId, DirectoryWrap, Invite,
    InviteId, InviteKind, InviteState, KeyId, KeyWrap, LogCheckpoint, LogLeaf, LogNode, ObjectId,
    Recipient, RecordVersion, Role, Sealed, Session, UserId, WrapScope,
};

use crate::{PendingLogin, PostgresStore, Result, SqliteStore, Store, StoreError, Write};

/// The environment variable naming the PostgreSQL database the tests use.
pub const TEST_DATABASE_URL_VAR: &str = "VAITI_TEST_DATABASE_URL";
/// The database used when [`TEST_DATABASE_URL_VAR`] is not set: a local server, trust auth.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://root@127.0.0.1:5432/test";
/// A check that runs longer than this has hung (a deadlock, a lost wake-up) and fails.
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// The future of one check.
pub type CheckFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
/// One check, as a function pointer.
pub type Check = fn(Arc<dyn Store>) -> CheckFuture;

/// Defines one `#[tokio::test]` per check, each on a fresh store from `$fixture`, an expression
/// evaluating to a future of a [`Fixture`]. Put it in a module named after the backend:
///
/// ```text
/// mod sqlite {
///     vaiti_store::conformance_tests!(vaiti_store::conformance::Fixture::sqlite());
/// }
/// ```
///
/// The crate using it needs `tokio` (with `macros` and `rt-multi-thread`) as a dev-dependency.
#[macro_export]
macro_rules! conformance_tests {
    // The one list of checks; `conformance::all` expands it too, so the two cannot disagree.
    (@list $mode:tt) => {
        $crate::conformance_tests! {@expand $mode
            server_secrets,
            clinics,
            manifest_updates,
            large_numbers,
            accounts,
            account_preconditions,
            credentials,
            account_status,
            sessions,
            sessions_expire,
            pending_logins,
            pending_logins_expire,
            concurrent_pending_login_takes,
            certificates,
            certificate_revocation,
            invites,
            invite_lifecycle,
            invite_expiry,
            invite_revocation,
            charts,
            chart_states,
            key_wraps,
            directory_wraps,
            record_versions,
            latest_records,
            batches_see_their_own_writes,
            failed_batches_write_nothing,
            clinic_isolation,
            concurrent_chart_states,
            concurrent_writers,
            access_log,
            access_log_checkpoints,
            log_leaves_by_action,
            witness_cosignatures,
            patient_reports,
            concurrent_log_appends,
            alerts,
            end_sessions,
        }
    };
    (@expand (tests $fixture:expr) $($check:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                $crate::conformance::run_check($fixture.await, $crate::conformance_tests!(@check $check)).await;
            }
        )*
    };
    (@expand (all) $($check:ident),* $(,)?) => {
        ::std::vec![$((::core::stringify!($check), $crate::conformance_tests!(@check $check))),*]
    };
    (@check $check:ident) => {
        (|store: ::std::sync::Arc<dyn $crate::Store>| -> $crate::conformance::CheckFuture {
            ::std::boxed::Box::pin($crate::conformance::$check(store))
        }) as $crate::conformance::Check
    };
    ($fixture:expr) => {
        $crate::conformance_tests!(@list (tests $fixture));
    };
}

/// Every check, by name.
pub fn all() -> Vec<(&'static str, Check)> {
    crate::conformance_tests!(@list (all))
}

/// Runs every check in turn on `store`. A failing check panics; its name is printed first.
pub async fn run_all(store: Arc<dyn Store>) {
    for (name, check) in all() {
        println!("conformance: {name}");
        check(Arc::clone(&store)).await;
    }
}

/// Runs one check on the fixture's store in its own task, then cleans the fixture up — also when
/// the check panicked, whose panic is then resumed so the test fails with the check's message.
pub async fn run_check(fixture: Fixture, check: Check) {
    let mut task = tokio::spawn(check(fixture.store()));
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, &mut task).await;
    if outcome.is_err() {
        task.abort();
    }
    fixture.cleanup().await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Ok(Err(e)) => panic!("the check's task failed: {e}"),
        Err(_) => panic!("the check did not finish within {CHECK_TIMEOUT:?}"),
    }
}

/// A store for one test, and what to remove afterwards.
pub struct Fixture {
    store: Arc<dyn Store>,
    cleanup: Cleanup,
}

enum Cleanup {
    Nothing,
    SqliteDir(Arc<SqliteStore>, PathBuf),
    PostgresSchema(Arc<PostgresStore>),
}

impl core::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kind = match &self.cleanup {
            Cleanup::Nothing => "store",
            Cleanup::SqliteDir(..) => "sqlite",
            Cleanup::PostgresSchema(_) => "postgres",
        };
        f.debug_struct("Fixture")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}

impl Fixture {
    /// A store that needs no cleanup (or whose owner cleans up).
    pub fn new(store: Arc<dyn Store>) -> Fixture {
        Fixture {
            store,
            cleanup: Cleanup::Nothing,
        }
    }

    /// A SQLite store in a fresh directory under the system's temporary directory, removed by
    /// [`cleanup`](Self::cleanup).
    pub async fn sqlite() -> Fixture {
        let dir =
            std::env::temp_dir().join(format!("vaiti-store-test-{}", ObjectId::from_bytes(rnd())));
        let store = match SqliteStore::open(&dir).await {
            Ok(store) => Arc::new(store),
            Err(e) => panic!("cannot open a SQLite store in {}: {e}", dir.display()),
        };
        Fixture {
            store: store.clone(),
            cleanup: Cleanup::SqliteDir(store, dir),
        }
    }

    /// A PostgreSQL store in a fresh schema of the database at [`TEST_DATABASE_URL_VAR`] (or
    /// [`DEFAULT_TEST_DATABASE_URL`]), dropped by [`cleanup`](Self::cleanup).
    ///
    /// # Panics
    /// If PostgreSQL cannot be reached: a missing database fails the tests, it never skips them.
    pub async fn postgres() -> Fixture {
        let url = test_database_url();
        let schema = format!("vaiti_test_{}", ObjectId::from_bytes(rnd()));
        match PostgresStore::connect_in_schema(&url, &schema).await {
            Ok(store) => {
                let store = Arc::new(store);
                Fixture {
                    store: store.clone(),
                    cleanup: Cleanup::PostgresSchema(store),
                }
            }
            Err(e) => panic!(
                "the PostgreSQL tests need a database at {} and could not use it: {e}. Start PostgreSQL or set \
                 {TEST_DATABASE_URL_VAR}; these tests fail rather than skip.",
                redact_password(&url)
            ),
        }
    }

    /// The store.
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// Closes the store and removes its directory or schema. Failures are printed, not raised:
    /// cleanup also runs after a failed check, whose message must stay the test's failure.
    pub async fn cleanup(self) {
        match self.cleanup {
            Cleanup::Nothing => {}
            Cleanup::SqliteDir(store, dir) => {
                store.close().await;
                if let Err(e) = std::fs::remove_dir_all(&dir) {
                    eprintln!("warning: could not remove {}: {e}", dir.display());
                }
            }
            Cleanup::PostgresSchema(store) => {
                if let Err(e) = store.drop_schema().await {
                    eprintln!("warning: could not drop the test schema: {e}");
                }
            }
        }
    }
}

/// The PostgreSQL URL tests use: [`TEST_DATABASE_URL_VAR`] or [`DEFAULT_TEST_DATABASE_URL`].
pub fn test_database_url() -> String {
    std::env::var(TEST_DATABASE_URL_VAR).unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned())
}

/// `scheme://user:secret@host/db` → `scheme://user:***@host/db`, for messages.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

// ----------------------------------------------------------------------------------------------
// Test data.

/// A fixed "now" for data; sessions_expire uses negative times instead so no other data expires.
const T0: i64 = 1_750_000_000;

fn rnd() -> [u8; 16] {
    *ObjectId::generate().expect("random bytes").as_bytes()
}

fn new_clinic_id() -> ClinicId {
    ClinicId::from_bytes(rnd())
}
fn new_user_id() -> UserId {
    UserId::from_bytes(rnd())
}
fn new_chart_id() -> ChartId {
    ChartId::from_bytes(rnd())
}
fn new_branch_id() -> BranchId {
    BranchId::from_bytes(rnd())
}
fn new_invite_id() -> InviteId {
    InviteId::from_bytes(rnd())
}
fn new_object_id() -> ObjectId {
    ObjectId::from_bytes(rnd())
}
fn new_key_id() -> KeyId {
    KeyId::from_bytes(rnd())
}
fn new_token() -> [u8; 32] {
    let mut t = [0u8; 32];
    t[..16].copy_from_slice(&rnd());
    t[16..].copy_from_slice(&rnd());
    t
}

/// Distinct bytes with a readable label, so a leak from another row or clinic is visible.
fn sealed(label: &str) -> Sealed {
    let mut bytes = label.as_bytes().to_vec();
    bytes.extend_from_slice(&rnd());
    Sealed(bytes)
}

fn new_clinic(id: ClinicId) -> Clinic {
    Clinic {
        id,
        manifest: sealed("manifest"),
        manifest_signature: sealed("manifest signature"),
        manifest_version: 1,
        created_at: T0,
    }
}

fn staff(clinic: ClinicId, login: &str) -> Account {
    Account {
        clinic,
        id: new_user_id(),
        kind: AccountKind::Staff,
        login: login.to_owned(),
        display_name: Some(format!("Staff {login}")),
        // Deliberately not in any sorted order: the store keeps the caller's order.
        roles: vec![Role::Therapist, Role::Admin],
        branches: vec![new_branch_id(), new_branch_id()],
        status: AccountStatus::Active,
        created_at: T0,
    }
}

fn patient(clinic: ClinicId, handle: &str) -> Account {
    Account {
        clinic,
        id: new_user_id(),
        kind: AccountKind::Patient,
        login: handle.to_owned(),
        display_name: None,
        roles: vec![],
        branches: vec![],
        status: AccountStatus::Active,
        created_at: T0,
    }
}

/// The keys [`create_account`] stores for `user`, derived from its id so a read can be compared.
fn keys_for(user: UserId) -> AccountKeys {
    let tag = |label: &str| Sealed([label.as_bytes(), user.as_bytes()].concat());
    AccountKeys {
        wrapped_account_key: tag("account key"),
        wrapped_decryption_key: tag("decryption key"),
        wrapped_signing_key: tag("signing key"),
        wrapped_cache_key: tag("cache key"),
        root_pin: tag("root pin"),
        encryption_public_key: tag("encryption public key"),
        verifying_key: tag("verifying key"),
    }
}

fn opaque_for(user: UserId) -> Vec<u8> {
    [b"opaque record ".as_slice(), user.as_bytes()].concat()
}

fn create_account(account: &Account) -> Write {
    Write::CreateAccount {
        account: account.clone(),
        keys: keys_for(account.id),
        opaque_record: opaque_for(account.id),
    }
}

fn new_chart(clinic: ClinicId, branch: BranchId, created_by: UserId) -> Chart {
    Chart {
        clinic,
        id: new_chart_id(),
        branch,
        created_by,
        created_at: T0,
    }
}

fn state(chart: ChartId, seq: u64, author: UserId) -> ChartStateEntry {
    let mut hash = [0u8; 32];
    hash[..16].copy_from_slice(&rnd());
    ChartStateEntry {
        chart,
        seq,
        body: sealed(&format!("chart state {seq}")),
        signature: sealed("chart state signature"),
        author,
        hash,
        created_at: T0 + i64::try_from(seq % 1_000_000).unwrap(),
    }
}

fn append(clinic: ClinicId, entry: &ChartStateEntry) -> Write {
    Write::AppendChartState {
        clinic,
        entry: entry.clone(),
    }
}

fn new_invite(clinic: ClinicId, inviter: UserId, expires_at: i64) -> Invite {
    Invite {
        clinic,
        id: new_invite_id(),
        kind: InviteKind::Staff,
        inviter,
        chart: None,
        body: sealed("invite"),
        signature: sealed("invite signature"),
        expires_at,
        state: InviteState::Open,
        invitee: None,
        binding: None,
        created_at: T0,
    }
}

fn bind(invite: &Invite, invitee: UserId, binding: &Sealed, now: i64) -> Write {
    Write::BindInvite {
        clinic: invite.clinic,
        id: invite.id,
        invitee,
        binding: binding.clone(),
        now,
    }
}

fn cert(clinic: ClinicId, user: UserId, serial: u64) -> Certificate {
    Certificate {
        clinic,
        user,
        serial,
        body: sealed(&format!("certificate {serial}")),
        signature: sealed("certificate signature"),
        issuer_key: new_key_id(),
        expires_at: T0 + 86_400,
        revoked_at: None,
        revocation: None,
    }
}

fn wrap(
    clinic: ClinicId,
    scope: WrapScope,
    recipient: Recipient,
    wrapped_by: UserId,
    created_at: i64,
) -> KeyWrap {
    KeyWrap {
        clinic,
        scope,
        recipient,
        recipient_key: new_key_id(),
        wrap: sealed("wrap"),
        signature: sealed("wrap signature"),
        wrapped_by,
        created_at,
    }
}

fn case(chart: ChartId, tier: u8, epoch: u32) -> WrapScope {
    WrapScope::Case { chart, tier, epoch }
}

fn to(user: &Account) -> Recipient {
    Recipient::User { user: user.id }
}

fn record(
    clinic: ClinicId,
    object: ObjectId,
    version: u64,
    kind: u8,
    chart: ChartId,
    author: UserId,
) -> RecordVersion {
    let mut prev = [0u8; 32];
    if version > 1 {
        prev[..16].copy_from_slice(&rnd());
    }
    let mut chart_state_hash = [7u8; 32];
    chart_state_hash[..16].copy_from_slice(&rnd());
    RecordVersion {
        clinic,
        object,
        version,
        kind,
        chart,
        tier: 1,
        epoch: 1,
        author,
        author_key: new_key_id(),
        created_at: T0,
        prev_version_hash: prev,
        chart_state_hash,
        wrapped_key: sealed("wrapped content key"),
        envelope: sealed(&format!("envelope v{version}")),
        signature: sealed("record signature"),
    }
}

fn session(clinic: ClinicId, user: UserId, expires_at: i64) -> Session {
    Session {
        token_hash: new_token(),
        clinic,
        user,
        created_at: T0,
        expires_at,
    }
}

fn pending_login(clinic: ClinicId, user: Option<UserId>, expires_at: i64) -> PendingLogin {
    PendingLogin {
        id: rnd(),
        clinic,
        user,
        state: format!("server login state {}", ObjectId::from_bytes(rnd())).into_bytes(),
        expires_at,
    }
}

/// A clinic with an admin, a therapist and one chart, created in one batch.
struct World {
    clinic: ClinicId,
    admin: Account,
    therapist: Account,
    branch: BranchId,
    chart: Chart,
}

async fn world(store: &dyn Store) -> World {
    let clinic = new_clinic(new_clinic_id());
    let admin = staff(clinic.id, "admin@clinic.example");
    let therapist = staff(clinic.id, "therapist@clinic.example");
    let branch = new_branch_id();
    let chart = new_chart(clinic.id, branch, therapist.id);
    store
        .apply(vec![
            Write::CreateClinic(clinic.clone()),
            create_account(&admin),
            create_account(&therapist),
            Write::CreateChart(chart.clone()),
        ])
        .await
        .expect("setting up a clinic with two accounts and a chart");
    World {
        clinic: clinic.id,
        admin,
        therapist,
        branch,
        chart,
    }
}

impl World {
    /// Another chart in the world's clinic and branch.
    async fn another_chart(&self, store: &dyn Store) -> Chart {
        let chart = new_chart(self.clinic, self.branch, self.therapist.id);
        store
            .apply(vec![Write::CreateChart(chart.clone())])
            .await
            .expect("creating a chart");
        chart
    }

    /// A new active account in the world's clinic.
    async fn another_account(&self, store: &dyn Store, login: &str) -> Account {
        let account = staff(self.clinic, login);
        store
            .apply(vec![create_account(&account)])
            .await
            .expect("creating an account");
        account
    }
}

// ----------------------------------------------------------------------------------------------
// Assertions.

#[track_caller]
fn ok(result: Result<()>, what: &str) {
    if let Err(e) = result {
        panic!("{what}: expected success, got {e:?}");
    }
}

#[track_caller]
fn conflict(result: Result<()>, what: &str) {
    match result {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{what}: expected Conflict, got {other:?}"),
    }
}

#[track_caller]
fn not_found(result: Result<()>, what: &str) {
    match result {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

async fn apply1(store: &dyn Store, write: Write) -> Result<()> {
    store.apply(vec![write]).await
}

/// Runs two batches at the same moment, each in its own task.
async fn race(store: &Arc<dyn Store>, a: Vec<Write>, b: Vec<Write>) -> (Result<()>, Result<()>) {
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let spawn = |writes: Vec<Write>| {
        let store = Arc::clone(store);
        let barrier = Arc::clone(&barrier);
        tokio::spawn(async move {
            barrier.wait().await;
            store.apply(writes).await
        })
    };
    let (ta, tb) = (spawn(a), spawn(b));
    (
        ta.await.expect("racing task"),
        tb.await.expect("racing task"),
    )
}

/// Exactly one of two racing writes succeeded and the other was a Conflict; true if `a` won.
#[track_caller]
fn exactly_one(results: (Result<()>, Result<()>), what: &str) -> bool {
    match results {
        (Ok(()), Err(StoreError::Conflict(_))) => true,
        (Err(StoreError::Conflict(_)), Ok(())) => false,
        other => panic!("{what}: expected exactly one success and one Conflict, got {other:?}"),
    }
}

// ----------------------------------------------------------------------------------------------
// The checks.

/// `server_secret` / `init_server_secret`: init-once, and the first value wins, also when racing.
pub async fn server_secrets(store: Arc<dyn Store>) {
    let name = format!("opaque-server-setup-{}", ObjectId::from_bytes(rnd()));
    assert_eq!(
        store.server_secret(&name).await.unwrap(),
        None,
        "no secret before init"
    );
    assert_eq!(
        store.init_server_secret(&name, b"first").await.unwrap(),
        b"first"
    );
    assert_eq!(
        store.init_server_secret(&name, b"second").await.unwrap(),
        b"first",
        "a second init returns the first value"
    );
    assert_eq!(
        store.server_secret(&name).await.unwrap().as_deref(),
        Some(&b"first"[..])
    );

    let other = format!("{name}-other");
    assert_eq!(
        store.server_secret(&other).await.unwrap(),
        None,
        "names are independent"
    );
    assert_eq!(
        store.init_server_secret(&other, &[0u8; 0]).await.unwrap(),
        Vec::<u8>::new(),
        "empty values"
    );
    assert_eq!(store.server_secret(&other).await.unwrap(), Some(vec![]));

    let raced = format!("{name}-raced");
    let init = |value: &'static [u8]| {
        let store = Arc::clone(&store);
        let raced = raced.clone();
        tokio::spawn(async move { store.init_server_secret(&raced, value).await })
    };
    let (a, b) = (init(b"from a"), init(b"from b"));
    let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
    assert_eq!(a, b, "concurrent first starts agree on one value");
    assert!(a == b"from a" || a == b"from b");
    assert_eq!(store.server_secret(&raced).await.unwrap(), Some(a));
}

/// `CreateClinic` and `clinic`.
pub async fn clinics(store: Arc<dyn Store>) {
    let clinic = new_clinic(new_clinic_id());
    let first_id = clinic.id;
    assert_eq!(store.clinic(clinic.id).await.unwrap(), None);
    ok(
        apply1(&*store, Write::CreateClinic(clinic.clone())).await,
        "creating a clinic",
    );
    assert_eq!(store.clinic(clinic.id).await.unwrap(), Some(clinic.clone()));

    let mut again = new_clinic(clinic.id);
    again.manifest_version = 9;
    conflict(
        apply1(&*store, Write::CreateClinic(again)).await,
        "creating a clinic whose id exists",
    );
    assert_eq!(
        store.clinic(clinic.id).await.unwrap(),
        Some(clinic),
        "the first clinic is unchanged"
    );

    let mut zero = new_clinic(new_clinic_id());
    zero.manifest_version = 0;
    ok(
        apply1(&*store, Write::CreateClinic(zero.clone())).await,
        "manifest version 0",
    );
    assert_eq!(store.clinic(zero.id).await.unwrap(), Some(zero.clone()));
    assert_eq!(
        store.clinic(new_clinic_id()).await.unwrap(),
        None,
        "an unknown clinic"
    );

    // Every clinic is listed once, oldest first, ties by id.
    let mut older = new_clinic(new_clinic_id());
    older.created_at = T0 - 1_000;
    ok(
        apply1(&*store, Write::CreateClinic(older.clone())).await,
        "an older clinic",
    );
    let ids = store.clinic_ids().await.unwrap();
    let position = |id: ClinicId| {
        let found: Vec<usize> = ids
            .iter()
            .enumerate()
            .filter(|(_, i)| **i == id)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(found.len(), 1, "clinic {id} listed once: {ids:?}");
        found[0]
    };
    let (first, second) = if first_id.as_bytes() < zero.id.as_bytes() {
        (first_id, zero.id)
    } else {
        (zero.id, first_id)
    };
    assert!(
        position(older.id) < position(first) && position(first) < position(second),
        "clinics oldest first, ties by id: {ids:?}"
    );
}

/// `UpdateManifest`: compare-and-set on the version.
pub async fn manifest_updates(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let before = store.clinic(w.clinic).await.unwrap().unwrap();
    let (m2, s2) = (sealed("manifest 2"), sealed("manifest signature 2"));
    let update =
        |expected_version: u64, manifest: &Sealed, signature: &Sealed| Write::UpdateManifest {
            clinic: w.clinic,
            expected_version,
            manifest: manifest.clone(),
            signature: signature.clone(),
        };
    ok(
        apply1(&*store, update(1, &m2, &s2)).await,
        "updating from the current version",
    );
    let after = store.clinic(w.clinic).await.unwrap().unwrap();
    assert_eq!(
        after,
        Clinic {
            manifest: m2.clone(),
            manifest_signature: s2.clone(),
            manifest_version: 2,
            ..before
        }
    );

    let stale = sealed("stale manifest");
    conflict(
        apply1(&*store, update(1, &stale, &stale)).await,
        "updating from a stale version",
    );
    conflict(
        apply1(&*store, update(2 + 1, &stale, &stale)).await,
        "updating from a future version",
    );
    conflict(
        apply1(&*store, update(0, &stale, &stale)).await,
        "updating from version 0",
    );
    assert_eq!(
        store.clinic(w.clinic).await.unwrap(),
        Some(after),
        "refused updates change nothing"
    );

    ok(
        apply1(&*store, update(2, &sealed("m3"), &sealed("s3"))).await,
        "the next update",
    );
    assert_eq!(
        store
            .clinic(w.clinic)
            .await
            .unwrap()
            .unwrap()
            .manifest_version,
        3
    );

    let missing = Write::UpdateManifest {
        clinic: new_clinic_id(),
        expected_version: 1,
        manifest: m2,
        signature: s2,
    };
    not_found(
        apply1(&*store, missing).await,
        "updating an unknown clinic's manifest",
    );
}

/// u64 counters round-trip up to `i64::MAX` and are refused above it, never wrapped; u32 epochs,
/// u8 kinds and tiers, and i64 times round-trip at their extremes.
pub async fn large_numbers(store: Arc<dyn Store>) {
    let max = i64::MAX as u64;

    let mut big = new_clinic(new_clinic_id());
    big.manifest_version = max;
    big.created_at = i64::MIN;
    ok(
        apply1(&*store, Write::CreateClinic(big.clone())).await,
        "a clinic at manifest version i64::MAX",
    );
    assert_eq!(
        store.clinic(big.id).await.unwrap(),
        Some(big.clone()),
        "i64::MAX round-trips"
    );
    let update = Write::UpdateManifest {
        clinic: big.id,
        expected_version: max,
        manifest: sealed("m"),
        signature: sealed("s"),
    };
    conflict(
        apply1(&*store, update).await,
        "a manifest version past i64::MAX",
    );
    let update = Write::UpdateManifest {
        clinic: big.id,
        expected_version: u64::MAX,
        manifest: sealed("m"),
        signature: sealed("s"),
    };
    conflict(apply1(&*store, update).await, "expected version u64::MAX");
    assert_eq!(store.clinic(big.id).await.unwrap(), Some(big));

    for version in [max + 1, u64::MAX] {
        let mut too_big = new_clinic(new_clinic_id());
        too_big.manifest_version = version;
        conflict(
            apply1(&*store, Write::CreateClinic(too_big.clone())).await,
            "a manifest version above i64::MAX",
        );
        assert_eq!(
            store.clinic(too_big.id).await.unwrap(),
            None,
            "nothing stored for {version}"
        );
    }

    let w = world(&*store).await;
    let (c, t, chart) = (w.clinic, w.therapist.id, w.chart.id);
    for huge in [max + 1, u64::MAX] {
        conflict(
            apply1(&*store, Write::PutCertificate(cert(c, t, huge))).await,
            "certificate serial above i64::MAX",
        );
        let revoke = Write::RevokeCertificate {
            clinic: c,
            user: t,
            serial: huge,
            at: T0,
            revocation: None,
        };
        conflict(
            apply1(&*store, revoke).await,
            "revoking serial above i64::MAX",
        );
        conflict(
            apply1(&*store, append(c, &state(chart, huge, t))).await,
            "chart state seq above i64::MAX",
        );
        let r = record(c, new_object_id(), huge, 1, chart, t);
        conflict(
            apply1(&*store, Write::PutRecordVersion(r)).await,
            "record version above i64::MAX",
        );
    }
    assert!(store.certificates(c).await.unwrap().is_empty());
    assert!(store.chart_states(c, chart).await.unwrap().is_empty());

    // Narrow integers and times at their extremes.
    let mut r = record(c, new_object_id(), 1, u8::MAX, chart, t);
    r.tier = u8::MAX;
    r.epoch = u32::MAX;
    r.created_at = i64::MIN;
    ok(
        apply1(&*store, Write::PutRecordVersion(r.clone())).await,
        "a record with extreme kind, tier, epoch, time",
    );
    assert_eq!(
        store.record_versions(c, r.object).await.unwrap(),
        vec![r.clone()]
    );
    assert_eq!(
        store.latest_records(c, chart, &[u8::MAX]).await.unwrap(),
        vec![r]
    );

    let k = wrap(
        c,
        case(chart, u8::MAX, u32::MAX),
        to(&w.therapist),
        t,
        i64::MAX,
    );
    ok(
        apply1(&*store, Write::PutKeyWrap(k.clone())).await,
        "a wrap with extreme tier and epoch",
    );
    assert_eq!(
        store
            .key_wraps(c, to(&w.therapist), Some(chart))
            .await
            .unwrap(),
        vec![k]
    );

    let d = DirectoryWrap {
        clinic: c,
        chart,
        branch: w.branch,
        epoch: u32::MAX,
        envelope: sealed("directory"),
    };
    ok(
        apply1(&*store, Write::PutDirectoryWrap(d.clone())).await,
        "a directory wrap at epoch u32::MAX",
    );
    assert_eq!(
        store.directory_wraps(c, w.branch, u32::MAX).await.unwrap(),
        vec![d]
    );

    let mut extreme = cert(c, t, 1);
    extreme.expires_at = i64::MAX;
    extreme.revoked_at = Some(i64::MIN);
    ok(
        apply1(&*store, Write::PutCertificate(extreme.clone())).await,
        "a certificate with extreme times",
    );
    assert_eq!(store.certificates(c).await.unwrap(), vec![extreme]);
}

/// `CreateAccount` and the account reads: by id, by exact login, all oldest first, keys, OPAQUE.
pub async fn accounts(store: Arc<dyn Store>) {
    let clinic = new_clinic(new_clinic_id());
    ok(
        apply1(&*store, Write::CreateClinic(clinic.clone())).await,
        "creating a clinic",
    );
    let c = clinic.id;
    assert!(store.accounts(c).await.unwrap().is_empty());

    // Inserted a, b, d, e; oldest first is b, d, e (same time: insertion order), then a, then p.
    let mut a = staff(c, "Alice@Clinic.example");
    a.created_at = T0 + 10;
    let b = staff(c, "bob@clinic.example");
    let mut d = staff(c, "dana@clinic.example");
    d.roles = vec![Role::Auditor, Role::Frontdesk, Role::Admin];
    d.display_name = Some("Dana Ä. Ø'Brien — \"quoted\"".into());
    let e = staff(c, "erin@clinic.example");
    let mut p = patient(c, "kit-7Q2F-9XK4");
    p.created_at = T0 + 20;
    for account in [&a, &b, &d, &e, &p] {
        ok(
            apply1(&*store, create_account(account)).await,
            "creating an account",
        );
    }
    assert_eq!(
        store.accounts(c).await.unwrap(),
        vec![b.clone(), d.clone(), e.clone(), a.clone(), p.clone()],
        "accounts oldest first, ties in insertion order"
    );

    for account in [&a, &b, &d, &e, &p] {
        assert_eq!(
            store.account(c, account.id).await.unwrap().as_ref(),
            Some(account)
        );
        assert_eq!(
            store
                .account_by_login(c, &account.login)
                .await
                .unwrap()
                .as_ref(),
            Some(account)
        );
        assert_eq!(
            store.account_keys(c, account.id).await.unwrap(),
            Some(keys_for(account.id))
        );
        assert_eq!(
            store.opaque_record(c, account.id).await.unwrap(),
            Some(opaque_for(account.id))
        );
    }
    assert_eq!(
        store
            .account_by_login(c, "alice@clinic.example")
            .await
            .unwrap(),
        None,
        "logins match exactly"
    );
    assert_eq!(
        store
            .account_by_login(c, "Alice@Clinic.example ")
            .await
            .unwrap(),
        None,
        "logins match exactly"
    );
    assert_eq!(
        store
            .account_by_login(c, "nobody@clinic.example")
            .await
            .unwrap(),
        None
    );
    let unknown = new_user_id();
    assert_eq!(store.account(c, unknown).await.unwrap(), None);
    assert_eq!(store.account_keys(c, unknown).await.unwrap(), None);
    assert_eq!(store.opaque_record(c, unknown).await.unwrap(), None);
    assert!(
        store.accounts(new_clinic_id()).await.unwrap().is_empty(),
        "an unknown clinic has no accounts"
    );
}

/// `CreateAccount` refuses a taken id or login (Conflict) and an unknown clinic (NotFound).
pub async fn account_preconditions(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = w.clinic;

    let mut same_id = staff(c, "someone-else@clinic.example");
    same_id.id = w.therapist.id;
    conflict(
        apply1(&*store, create_account(&same_id)).await,
        "an account whose id exists",
    );
    assert_eq!(
        store.account(c, w.therapist.id).await.unwrap().as_ref(),
        Some(&w.therapist),
        "unchanged"
    );
    assert_eq!(
        store.account_by_login(c, &same_id.login).await.unwrap(),
        None
    );

    let same_login = staff(c, &w.therapist.login);
    conflict(
        apply1(&*store, create_account(&same_login)).await,
        "an account whose login is taken",
    );
    assert_eq!(store.account(c, same_login.id).await.unwrap(), None);
    assert_eq!(
        store.account_keys(c, same_login.id).await.unwrap(),
        None,
        "no keys of a refused account"
    );
    assert_eq!(store.opaque_record(c, same_login.id).await.unwrap(), None);

    let orphan = staff(new_clinic_id(), "orphan@clinic.example");
    not_found(
        apply1(&*store, create_account(&orphan)).await,
        "an account in an unknown clinic",
    );
    assert_eq!(store.account(orphan.clinic, orphan.id).await.unwrap(), None);

    assert_eq!(
        store.accounts(c).await.unwrap(),
        vec![w.admin, w.therapist],
        "only the two accounts"
    );
}

/// `UpdateCredentials` replaces the OPAQUE record and the wrapped Account Key and ends the
/// user's sessions, nothing else.
pub async fn credentials(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let (mine, theirs) = (
        session(w.clinic, w.therapist.id, T0 + 3600),
        session(w.clinic, w.admin.id, T0 + 3600),
    );
    store.create_session(&mine).await.unwrap();
    store.create_session(&theirs).await.unwrap();
    let (record, key) = (
        b"new opaque record".to_vec(),
        sealed("account key under the new KEK"),
    );
    let write = Write::UpdateCredentials {
        clinic: w.clinic,
        user: w.therapist.id,
        opaque_record: record.clone(),
        wrapped_account_key: key.clone(),
    };
    ok(apply1(&*store, write).await, "changing a password");
    assert_eq!(
        store.opaque_record(w.clinic, w.therapist.id).await.unwrap(),
        Some(record)
    );
    assert_eq!(
        store.session(&mine.token_hash, T0).await.unwrap(),
        None,
        "the user's sessions end"
    );
    assert_eq!(
        store.session(&theirs.token_hash, T0).await.unwrap(),
        Some(theirs.clone()),
        "others' sessions stay"
    );
    let expected = AccountKeys {
        wrapped_account_key: key,
        ..keys_for(w.therapist.id)
    };
    assert_eq!(
        store.account_keys(w.clinic, w.therapist.id).await.unwrap(),
        Some(expected)
    );
    assert_eq!(
        store.account(w.clinic, w.therapist.id).await.unwrap(),
        Some(w.therapist.clone())
    );

    assert_eq!(
        store.opaque_record(w.clinic, w.admin.id).await.unwrap(),
        Some(opaque_for(w.admin.id)),
        "others"
    );
    assert_eq!(
        store.account_keys(w.clinic, w.admin.id).await.unwrap(),
        Some(keys_for(w.admin.id))
    );

    for (clinic, user) in [(w.clinic, new_user_id()), (new_clinic_id(), w.therapist.id)] {
        let write = Write::UpdateCredentials {
            clinic,
            user,
            opaque_record: b"x".to_vec(),
            wrapped_account_key: sealed("x"),
        };
        not_found(
            apply1(&*store, write).await,
            "changing an unknown account's password",
        );
    }
}

/// `SetAccountStatus`: revoking deletes the user's sessions (only theirs) and refuses new ones.
pub async fn account_status(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let (c, t) = (w.clinic, w.therapist.id);
    let (s1, s2, s3) = (
        session(c, t, T0 + 3600),
        session(c, t, T0 + 7200),
        session(c, w.admin.id, T0 + 3600),
    );
    for s in [&s1, &s2, &s3] {
        store.create_session(s).await.unwrap();
    }
    let status = |status| Write::SetAccountStatus {
        clinic: c,
        user: t,
        status,
    };

    ok(
        apply1(&*store, status(AccountStatus::Revoked)).await,
        "revoking an account",
    );
    assert_eq!(
        store.account(c, t).await.unwrap().unwrap().status,
        AccountStatus::Revoked
    );
    assert_eq!(
        store.session(&s1.token_hash, T0).await.unwrap(),
        None,
        "revoking deleted the session"
    );
    assert_eq!(
        store.session(&s2.token_hash, T0).await.unwrap(),
        None,
        "revoking deleted every session"
    );
    assert_eq!(
        store.session(&s3.token_hash, T0).await.unwrap(),
        Some(s3),
        "other users' sessions stay"
    );
    conflict(
        store.create_session(&session(c, t, T0 + 60)).await,
        "a session for a revoked account",
    );
    ok(
        apply1(&*store, status(AccountStatus::Revoked)).await,
        "revoking again",
    );

    ok(
        apply1(&*store, status(AccountStatus::Active)).await,
        "reactivating",
    );
    assert_eq!(
        store.account(c, t).await.unwrap().unwrap().status,
        AccountStatus::Active
    );
    assert_eq!(
        store.session(&s1.token_hash, T0).await.unwrap(),
        None,
        "old sessions stay deleted"
    );
    let fresh = session(c, t, T0 + 60);
    ok(
        store.create_session(&fresh).await,
        "a session after reactivation",
    );
    assert_eq!(
        store.session(&fresh.token_hash, T0).await.unwrap(),
        Some(fresh)
    );

    let missing = Write::SetAccountStatus {
        clinic: c,
        user: new_user_id(),
        status: AccountStatus::Revoked,
    };
    not_found(
        apply1(&*store, missing).await,
        "revoking an unknown account",
    );
}

/// `create_session`, `session` (valid while `now < expires_at`) and `delete_session`.
pub async fn sessions(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let s = session(w.clinic, w.therapist.id, T0 + 3600);
    ok(store.create_session(&s).await, "creating a session");
    assert_eq!(
        store.session(&s.token_hash, T0).await.unwrap(),
        Some(s.clone())
    );
    assert_eq!(
        store.session(&s.token_hash, T0 + 3599).await.unwrap(),
        Some(s.clone()),
        "just before expiry"
    );
    assert_eq!(
        store.session(&s.token_hash, T0 + 3600).await.unwrap(),
        None,
        "at expiry"
    );
    assert_eq!(
        store.session(&s.token_hash, T0 + 9999).await.unwrap(),
        None,
        "after expiry"
    );
    assert_eq!(
        store.session(&new_token(), T0).await.unwrap(),
        None,
        "an unknown token"
    );

    let mut same_token = session(w.clinic, w.admin.id, T0 + 60);
    same_token.token_hash = s.token_hash;
    conflict(
        store.create_session(&same_token).await,
        "a session whose token hash exists",
    );
    assert_eq!(
        store.session(&s.token_hash, T0).await.unwrap(),
        Some(s.clone()),
        "unchanged"
    );

    not_found(
        store
            .create_session(&session(w.clinic, new_user_id(), T0 + 60))
            .await,
        "an unknown user's session",
    );
    let elsewhere = session(new_clinic_id(), w.therapist.id, T0 + 60);
    not_found(
        store.create_session(&elsewhere).await,
        "a session naming another clinic",
    );
    assert_eq!(
        store.session(&elsewhere.token_hash, T0).await.unwrap(),
        None
    );

    store.delete_session(&s.token_hash).await.unwrap();
    assert_eq!(
        store.session(&s.token_hash, T0).await.unwrap(),
        None,
        "deleted"
    );
    store
        .delete_session(&s.token_hash)
        .await
        .expect("deleting a deleted session is no error");
    store
        .delete_session(&new_token())
        .await
        .expect("deleting an unknown session is no error");
}

/// `delete_expired_sessions` deletes exactly those with `expires_at <= now` and counts them.
pub async fn sessions_expire(store: Arc<dyn Store>) {
    // Times below zero: no other check makes sessions that expire then.
    const E: i64 = -1_000_000_000;
    let w = world(&*store).await;
    let ss: Vec<Session> = (1..=3)
        .map(|i| session(w.clinic, w.therapist.id, E + i))
        .collect();
    for s in &ss {
        store.create_session(s).await.unwrap();
    }
    let live = session(w.clinic, w.admin.id, T0 + 3600);
    store.create_session(&live).await.unwrap();

    assert_eq!(
        store.delete_expired_sessions(E).await.unwrap(),
        0,
        "none expired yet"
    );
    assert_eq!(
        store.delete_expired_sessions(E + 2).await.unwrap(),
        2,
        "expires_at <= now"
    );
    assert_eq!(
        store.session(&ss[0].token_hash, i64::MIN).await.unwrap(),
        None
    );
    assert_eq!(
        store.session(&ss[1].token_hash, i64::MIN).await.unwrap(),
        None
    );
    assert_eq!(
        store.session(&ss[2].token_hash, i64::MIN).await.unwrap(),
        Some(ss[2].clone())
    );
    assert_eq!(
        store.delete_expired_sessions(E + 2).await.unwrap(),
        0,
        "nothing left to delete"
    );
    assert_eq!(store.delete_expired_sessions(E + 3).await.unwrap(), 1);
    assert_eq!(
        store.session(&live.token_hash, T0).await.unwrap(),
        Some(live),
        "live sessions stay"
    );
}

/// `put_pending_login` / `take_pending_login`: a round trip (with and without a user), single
/// use, clinic isolation, and the preconditions (duplicate id, unknown clinic or account).
pub async fn pending_logins(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let known = pending_login(w.clinic, Some(w.therapist.id), T0 + 60);
    ok(
        store.put_pending_login(&known).await,
        "a known user's login",
    );
    assert_eq!(
        store
            .take_pending_login(w.clinic, &known.id, T0 + 59)
            .await
            .unwrap(),
        Some(known.clone()),
        "taken just before expiry"
    );
    assert_eq!(
        store
            .take_pending_login(w.clinic, &known.id, T0)
            .await
            .unwrap(),
        None,
        "a second take finds nothing"
    );

    let unknown = pending_login(w.clinic, None, T0 + 60);
    ok(
        store.put_pending_login(&unknown).await,
        "an unknown login name's login",
    );

    let other = world(&*store).await;
    assert_eq!(
        store
            .take_pending_login(other.clinic, &unknown.id, T0)
            .await
            .unwrap(),
        None,
        "a take naming another clinic"
    );
    assert_eq!(
        store
            .take_pending_login(new_clinic_id(), &unknown.id, T0)
            .await
            .unwrap(),
        None,
        "a take naming an unknown clinic"
    );

    let mut same_id = pending_login(other.clinic, None, T0 + 60);
    same_id.id = unknown.id;
    conflict(
        store.put_pending_login(&same_id).await,
        "a pending login whose id exists (in another clinic)",
    );
    let mut same_id = pending_login(w.clinic, Some(w.admin.id), T0 + 60);
    same_id.id = unknown.id;
    conflict(
        store.put_pending_login(&same_id).await,
        "a pending login whose id exists",
    );

    assert_eq!(
        store
            .take_pending_login(w.clinic, &unknown.id, T0)
            .await
            .unwrap(),
        Some(unknown.clone()),
        "neither the other clinic's take nor the duplicates touched it"
    );
    assert_eq!(
        store
            .take_pending_login(w.clinic, &unknown.id, T0)
            .await
            .unwrap(),
        None,
        "single use"
    );

    let nowhere = pending_login(new_clinic_id(), None, T0 + 60);
    not_found(
        store.put_pending_login(&nowhere).await,
        "a pending login in an unknown clinic",
    );
    not_found(
        store
            .put_pending_login(&pending_login(w.clinic, Some(new_user_id()), T0 + 60))
            .await,
        "a pending login for an unknown account",
    );
    not_found(
        store
            .put_pending_login(&pending_login(w.clinic, Some(other.admin.id), T0 + 60))
            .await,
        "a pending login for another clinic's account",
    );
    assert_eq!(
        store
            .take_pending_login(nowhere.clinic, &nowhere.id, T0)
            .await
            .unwrap(),
        None,
        "nothing was stored"
    );
    assert_eq!(
        store
            .take_pending_login(w.clinic, &rnd(), T0)
            .await
            .unwrap(),
        None,
        "an unknown id"
    );

    let debug = format!("{known:?}");
    assert!(
        !debug.contains("server login state")
            && !debug.contains(&format!("{:?}", known.state))
            && debug.contains(&known.state.len().to_string()),
        "Debug prints the state's length, not its bytes: {debug}"
    );
}

/// An expired pending login is deleted by a take, which returns `None`; and
/// `delete_expired_pending_logins` deletes exactly those with `expires_at <= now` and counts them.
pub async fn pending_logins_expire(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let expired = pending_login(w.clinic, Some(w.admin.id), T0 + 60);
    store.put_pending_login(&expired).await.unwrap();
    assert_eq!(
        store
            .take_pending_login(w.clinic, &expired.id, T0 + 60)
            .await
            .unwrap(),
        None,
        "at expiry"
    );
    let mut again = expired.clone();
    again.expires_at = T0 + 3600;
    ok(
        store.put_pending_login(&again).await,
        "the expired take deleted the row, so its id is free again",
    );
    assert_eq!(
        store
            .take_pending_login(w.clinic, &again.id, T0)
            .await
            .unwrap(),
        Some(again)
    );

    // Times below zero: no other check makes pending logins that expire then.
    const E: i64 = -1_000_000_000;
    let old: Vec<PendingLogin> = (1..=3)
        .map(|i| pending_login(w.clinic, None, E + i))
        .collect();
    for login in &old {
        store.put_pending_login(login).await.unwrap();
    }
    let live = pending_login(w.clinic, Some(w.therapist.id), T0 + 3600);
    store.put_pending_login(&live).await.unwrap();

    assert_eq!(
        store.delete_expired_pending_logins(E).await.unwrap(),
        0,
        "none expired yet"
    );
    assert_eq!(
        store.delete_expired_pending_logins(E + 2).await.unwrap(),
        2,
        "expires_at <= now"
    );
    assert_eq!(
        store.delete_expired_pending_logins(E + 2).await.unwrap(),
        0,
        "nothing left to delete"
    );
    for (login, left) in [(&old[0], false), (&old[1], false), (&old[2], true)] {
        assert_eq!(
            store
                .take_pending_login(w.clinic, &login.id, i64::MIN)
                .await
                .unwrap(),
            left.then(|| login.clone()),
            "expires_at {}",
            login.expires_at
        );
    }
    assert_eq!(store.delete_expired_pending_logins(E + 3).await.unwrap(), 0);
    assert_eq!(
        store
            .take_pending_login(w.clinic, &live.id, T0)
            .await
            .unwrap(),
        Some(live),
        "live pending logins stay"
    );
}

/// Several tasks taking one pending login at once: exactly one gets it, every round.
pub async fn concurrent_pending_login_takes(store: Arc<dyn Store>) {
    const TAKERS: usize = 4;
    let w = world(&*store).await;
    for round in 0..8 {
        let login = pending_login(w.clinic, Some(w.therapist.id), T0 + 60);
        store.put_pending_login(&login).await.unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(TAKERS));
        let tasks: Vec<_> = (0..TAKERS)
            .map(|_| {
                let store = Arc::clone(&store);
                let barrier = Arc::clone(&barrier);
                let (clinic, id) = (login.clinic, login.id);
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.take_pending_login(clinic, &id, T0).await
                })
            })
            .collect();
        let mut taken = Vec::new();
        for task in tasks {
            match task.await.expect("taking task") {
                Ok(Some(got)) => taken.push(got),
                Ok(None) => {}
                Err(e) => panic!("round {round}: a racing take failed: {e:?}"),
            }
        }
        assert_eq!(
            taken,
            vec![login],
            "round {round}: exactly one take gets it"
        );
    }
}

/// `PutCertificate` serials: 1, 2, 3 with no gaps, per user; `certificates` by user then serial.
pub async fn certificates(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let (c, t, a) = (w.clinic, w.therapist.id, w.admin.id);
    let (t1, t2) = (cert(c, t, 1), cert(c, t, 2));
    ok(
        apply1(&*store, Write::PutCertificate(t1.clone())).await,
        "serial 1",
    );
    ok(
        apply1(&*store, Write::PutCertificate(t2.clone())).await,
        "serial 2",
    );
    conflict(
        apply1(&*store, Write::PutCertificate(cert(c, t, 2))).await,
        "serial 2 again",
    );
    conflict(
        apply1(&*store, Write::PutCertificate(cert(c, t, 1))).await,
        "serial 1 again",
    );
    conflict(
        apply1(&*store, Write::PutCertificate(cert(c, t, 4))).await,
        "a gap (4 after 2)",
    );
    conflict(
        apply1(&*store, Write::PutCertificate(cert(c, t, 0))).await,
        "serial 0",
    );
    conflict(
        apply1(&*store, Write::PutCertificate(cert(c, a, 2))).await,
        "a first serial other than 1",
    );

    let mut a1 = cert(c, a, 1);
    a1.revoked_at = Some(T0 + 5);
    ok(
        apply1(&*store, Write::PutCertificate(a1.clone())).await,
        "another user's serial 1",
    );
    not_found(
        apply1(&*store, Write::PutCertificate(cert(c, new_user_id(), 1))).await,
        "an unknown user",
    );
    not_found(
        apply1(&*store, Write::PutCertificate(cert(new_clinic_id(), t, 1))).await,
        "an unknown clinic",
    );

    assert_eq!(
        store.latest_certificate(c, t).await.unwrap(),
        Some(t2.clone()),
        "the highest serial is the current certificate"
    );
    assert_eq!(
        store.latest_certificate(c, a).await.unwrap(),
        Some(a1.clone()),
        "a revoked certificate is still the latest (its revocation is its own column)"
    );
    assert_eq!(
        store.latest_certificate(c, new_user_id()).await.unwrap(),
        None,
        "no certificate"
    );
    assert_eq!(
        store.latest_certificate(new_clinic_id(), t).await.unwrap(),
        None,
        "another clinic's user"
    );
    let mut expected = vec![t1, t2, a1];
    expected.sort_by_key(|x| (x.user, x.serial));
    assert_eq!(
        store.certificates(c).await.unwrap(),
        expected,
        "by user then serial"
    );
    assert!(
        store
            .certificates(new_clinic_id())
            .await
            .unwrap()
            .is_empty()
    );
}

/// `RevokeCertificate`: sets `revoked_at` and keeps the signed statement, once; idempotent (a
/// second revocation changes neither); NotFound for an unknown certificate.
pub async fn certificate_revocation(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let (c, t) = (w.clinic, w.therapist.id);
    let (c1, c2) = (cert(c, t, 1), cert(c, t, 2));
    store
        .apply(vec![
            Write::PutCertificate(c1.clone()),
            Write::PutCertificate(c2.clone()),
        ])
        .await
        .unwrap();
    let statement = |text: &str| vaiti_core::Revocation {
        body: Sealed(text.as_bytes().to_vec()),
        signature: Sealed(format!("{text} signature").into_bytes()),
    };
    let revoke = |serial, at| Write::RevokeCertificate {
        clinic: c,
        user: t,
        serial,
        at,
        revocation: Some(statement(&format!("revoked at {at}"))),
    };

    ok(apply1(&*store, revoke(1, T0 + 100)).await, "revoking");
    let revoked = Certificate {
        revoked_at: Some(T0 + 100),
        revocation: Some(statement(&format!("revoked at {}", T0 + 100))),
        ..c1
    };
    assert_eq!(
        store.certificates(c).await.unwrap(),
        vec![revoked.clone(), c2.clone()]
    );
    ok(
        apply1(&*store, revoke(1, T0 + 200)).await,
        "revoking again is no error",
    );
    assert_eq!(
        store.certificates(c).await.unwrap(),
        vec![revoked.clone(), c2.clone()],
        "the first revocation time and statement stay"
    );
    // A revocation implied by another signed record carries no statement of its own.
    ok(
        apply1(
            &*store,
            Write::RevokeCertificate {
                clinic: c,
                user: t,
                serial: 2,
                at: T0 + 300,
                revocation: None,
            },
        )
        .await,
        "revoking without a statement",
    );
    assert_eq!(
        store.certificates(c).await.unwrap(),
        vec![
            revoked,
            Certificate {
                revoked_at: Some(T0 + 300),
                ..c2
            }
        ]
    );

    not_found(
        apply1(&*store, revoke(3, T0)).await,
        "revoking an unknown serial",
    );
    let other = Write::RevokeCertificate {
        clinic: c,
        user: w.admin.id,
        serial: 1,
        at: T0,
        revocation: None,
    };
    not_found(
        apply1(&*store, other).await,
        "revoking a certificate the user does not have",
    );
}

/// `CreateInvite`, `invite` and `invites_by`.
pub async fn invites(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = w.clinic;
    let mut later = new_invite(c, w.therapist.id, T0 + 1000);
    later.created_at = T0 + 10;
    let first = new_invite(c, w.therapist.id, T0 + 1000);
    let second = new_invite(c, w.therapist.id, T0 + 1000);
    let mut for_patient = new_invite(c, w.therapist.id, T0 + 1000);
    for_patient.kind = InviteKind::Patient;
    for_patient.chart = Some(w.chart.id);
    for_patient.created_at = T0 + 20;
    let by_admin = new_invite(c, w.admin.id, T0 + 1000);
    for invite in [&later, &first, &second, &for_patient, &by_admin] {
        ok(
            apply1(&*store, Write::CreateInvite(invite.clone())).await,
            "creating an invite",
        );
    }
    for invite in [&later, &first, &second, &for_patient, &by_admin] {
        assert_eq!(
            store.invite(c, invite.id).await.unwrap().as_ref(),
            Some(invite)
        );
    }
    assert_eq!(
        store
            .invites_by(c, w.therapist.id, 0, u32::MAX)
            .await
            .unwrap(),
        vec![
            first.clone(),
            second.clone(),
            later.clone(),
            for_patient.clone()
        ],
        "one inviter's invites, oldest first, ties in insertion order"
    );
    // Pages of the same order, and the count the pages add up to.
    assert_eq!(
        store.invites_by(c, w.therapist.id, 1, 2).await.unwrap(),
        vec![second.clone(), later.clone()]
    );
    assert_eq!(
        store.invites_by(c, w.therapist.id, 3, 2).await.unwrap(),
        vec![for_patient]
    );
    assert!(
        store
            .invites_by(c, w.therapist.id, 4, 2)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.invite_count_by(c, w.therapist.id).await.unwrap(), 4);
    assert_eq!(store.invite_count_by(c, w.admin.id).await.unwrap(), 1);
    assert_eq!(store.invite_count_by(c, new_user_id()).await.unwrap(), 0);
    assert_eq!(
        store.invites_by(c, w.admin.id, 0, u32::MAX).await.unwrap(),
        vec![by_admin]
    );
    assert!(
        store
            .invites_by(c, new_user_id(), 0, u32::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.invite(c, new_invite_id()).await.unwrap(), None);

    let mut same_id = new_invite(c, w.admin.id, T0);
    same_id.id = first.id;
    conflict(
        apply1(&*store, Write::CreateInvite(same_id)).await,
        "an invite whose id exists",
    );
    assert_eq!(
        store.invite(c, first.id).await.unwrap(),
        Some(first),
        "unchanged"
    );

    let mut bound = new_invite(c, w.therapist.id, T0 + 1000);
    bound.state = InviteState::Bound;
    bound.invitee = Some(w.admin.id);
    bound.binding = Some(sealed("binding"));
    conflict(
        apply1(&*store, Write::CreateInvite(bound.clone())).await,
        "a new invite that is not open",
    );
    assert_eq!(store.invite(c, bound.id).await.unwrap(), None);

    not_found(
        apply1(
            &*store,
            Write::CreateInvite(new_invite(c, new_user_id(), T0)),
        )
        .await,
        "an unknown inviter",
    );
    let mut no_chart = new_invite(c, w.therapist.id, T0);
    no_chart.kind = InviteKind::Patient;
    no_chart.chart = Some(new_chart_id());
    not_found(
        apply1(&*store, Write::CreateInvite(no_chart)).await,
        "a patient invite to an unknown chart",
    );
    not_found(
        apply1(
            &*store,
            Write::CreateInvite(new_invite(new_clinic_id(), w.therapist.id, T0)),
        )
        .await,
        "an invite in an unknown clinic",
    );
}

/// Open → bound → completed, single use: a second bind, a completion of an open invite, and any
/// change after completion are Conflicts.
pub async fn invite_lifecycle(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = w.clinic;
    let mut invite = new_invite(c, w.therapist.id, T0 + 1000);
    invite.kind = InviteKind::Patient;
    invite.chart = Some(w.chart.id);
    ok(
        apply1(&*store, Write::CreateInvite(invite.clone())).await,
        "creating an invite",
    );
    let complete = Write::CompleteInvite {
        clinic: c,
        id: invite.id,
    };
    conflict(
        apply1(&*store, complete.clone()).await,
        "completing an open invite",
    );

    // The invitee signs up: their account and the binding in one batch.
    let invitee = patient(c, "kit-AAAA-BBBB");
    let binding = sealed("binding");
    ok(
        store
            .apply(vec![
                create_account(&invitee),
                bind(&invite, invitee.id, &binding, T0),
            ])
            .await,
        "binding",
    );
    let bound = Invite {
        state: InviteState::Bound,
        invitee: Some(invitee.id),
        binding: Some(binding.clone()),
        ..invite.clone()
    };
    assert_eq!(
        store.invite(c, invite.id).await.unwrap(),
        Some(bound.clone())
    );
    // Neither an open patient invite nor a bound staff invite waits for a care team.
    let mut open_patient = new_invite(c, w.therapist.id, T0 + 1000);
    open_patient.kind = InviteKind::Patient;
    open_patient.chart = Some(w.chart.id);
    let bound_staff = new_invite(c, w.admin.id, T0 + 1000);
    let staff_member = patient(c, "kit-EEEE-FFFF");
    ok(
        store
            .apply(vec![
                Write::CreateInvite(open_patient),
                Write::CreateInvite(bound_staff.clone()),
                create_account(&staff_member),
                bind(&bound_staff, staff_member.id, &sealed("staff binding"), T0),
            ])
            .await,
        "an open patient invite and a bound staff invite",
    );
    assert_eq!(
        store.bound_patient_invites(c, 0, u32::MAX).await.unwrap(),
        vec![bound.clone()],
        "only the bound patient invite waits for its care team"
    );
    assert_eq!(
        store.bound_patient_invites(c, 0, 1).await.unwrap(),
        vec![bound.clone()]
    );
    assert!(
        store
            .bound_patient_invites(c, 1, 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .bound_patient_invites(new_clinic_id(), 0, u32::MAX)
            .await
            .unwrap()
            .is_empty(),
        "another clinic has none"
    );

    let second = patient(c, "kit-CCCC-DDDD");
    conflict(
        store
            .apply(vec![
                create_account(&second),
                bind(&invite, second.id, &sealed("other"), T0),
            ])
            .await,
        "binding a bound invite",
    );
    assert_eq!(
        store.invite(c, invite.id).await.unwrap(),
        Some(bound.clone()),
        "the first binding stays"
    );
    assert_eq!(
        store.account(c, second.id).await.unwrap(),
        None,
        "the refused batch's account is gone"
    );

    ok(
        apply1(&*store, complete.clone()).await,
        "completing a bound invite",
    );
    let completed = Invite {
        state: InviteState::Completed,
        ..bound
    };
    assert_eq!(
        store.invite(c, invite.id).await.unwrap(),
        Some(completed.clone())
    );
    assert!(
        store
            .bound_patient_invites(c, 0, u32::MAX)
            .await
            .unwrap()
            .is_empty(),
        "a completed invite no longer waits"
    );
    conflict(apply1(&*store, complete).await, "completing twice");
    conflict(
        apply1(
            &*store,
            Write::RevokeInvite {
                clinic: c,
                id: invite.id,
            },
        )
        .await,
        "revoking a completed invite",
    );
    conflict(
        apply1(&*store, bind(&invite, invitee.id, &binding, T0)).await,
        "binding a completed invite",
    );
    assert_eq!(store.invite(c, invite.id).await.unwrap(), Some(completed));

    let open = new_invite(c, w.therapist.id, T0 + 1000);
    ok(
        apply1(&*store, Write::CreateInvite(open.clone())).await,
        "another invite",
    );
    not_found(
        apply1(&*store, bind(&open, new_user_id(), &binding, T0)).await,
        "binding to an unknown account",
    );
    assert_eq!(
        store.invite(c, open.id).await.unwrap(),
        Some(open),
        "still open"
    );
}

/// `BindInvite` only while `now < expires_at`.
pub async fn invite_expiry(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let invite = new_invite(w.clinic, w.therapist.id, T0 + 100);
    ok(
        apply1(&*store, Write::CreateInvite(invite.clone())).await,
        "creating an invite",
    );
    let invitee = w.another_account(&*store, "new@clinic.example").await;
    let binding = sealed("binding");
    conflict(
        apply1(&*store, bind(&invite, invitee.id, &binding, T0 + 100)).await,
        "binding at expiry",
    );
    conflict(
        apply1(&*store, bind(&invite, invitee.id, &binding, T0 + 5000)).await,
        "binding after expiry",
    );
    assert_eq!(
        store.invite(w.clinic, invite.id).await.unwrap(),
        Some(invite.clone()),
        "still open, unbound"
    );
    ok(
        apply1(&*store, bind(&invite, invitee.id, &binding, T0 + 99)).await,
        "binding just before expiry",
    );
    assert_eq!(
        store
            .invite(w.clinic, invite.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        InviteState::Bound
    );
}

/// `RevokeInvite`: open or bound → revoked; nothing afterwards. NotFound for unknown invites.
pub async fn invite_revocation(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = w.clinic;
    let (open, to_bind) = (
        new_invite(c, w.therapist.id, T0 + 1000),
        new_invite(c, w.therapist.id, T0 + 1000),
    );
    store
        .apply(vec![
            Write::CreateInvite(open.clone()),
            Write::CreateInvite(to_bind.clone()),
        ])
        .await
        .unwrap();
    let revoke = |invite: &Invite| Write::RevokeInvite {
        clinic: c,
        id: invite.id,
    };
    let complete = |invite: &Invite| Write::CompleteInvite {
        clinic: c,
        id: invite.id,
    };

    ok(
        apply1(&*store, revoke(&open)).await,
        "revoking an open invite",
    );
    let revoked = Invite {
        state: InviteState::Revoked,
        ..open.clone()
    };
    assert_eq!(
        store.invite(c, open.id).await.unwrap(),
        Some(revoked.clone())
    );
    conflict(
        apply1(&*store, bind(&open, w.admin.id, &sealed("b"), T0)).await,
        "binding a revoked invite",
    );
    conflict(
        apply1(&*store, complete(&open)).await,
        "completing a revoked invite",
    );
    conflict(apply1(&*store, revoke(&open)).await, "revoking twice");
    assert_eq!(store.invite(c, open.id).await.unwrap(), Some(revoked));

    let binding = sealed("binding");
    ok(
        apply1(&*store, bind(&to_bind, w.admin.id, &binding, T0)).await,
        "binding",
    );
    ok(
        apply1(&*store, revoke(&to_bind)).await,
        "revoking a bound invite",
    );
    let expected = Invite {
        state: InviteState::Revoked,
        invitee: Some(w.admin.id),
        binding: Some(binding.clone()),
        ..to_bind.clone()
    };
    assert_eq!(
        store.invite(c, to_bind.id).await.unwrap(),
        Some(expected),
        "keeps who bound it"
    );
    conflict(
        apply1(&*store, complete(&to_bind)).await,
        "completing a revoked invite",
    );

    let unknown = new_invite(c, w.therapist.id, T0 + 1000);
    not_found(
        apply1(&*store, bind(&unknown, w.admin.id, &binding, T0)).await,
        "binding an unknown invite",
    );
    not_found(
        apply1(&*store, complete(&unknown)).await,
        "completing an unknown invite",
    );
    not_found(
        apply1(&*store, revoke(&unknown)).await,
        "revoking an unknown invite",
    );
}

/// `CreateChart`, `chart` and `charts_in_branch`.
pub async fn charts(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = w.clinic;
    let (b1, b2) = (new_branch_id(), new_branch_id());
    let mut late = new_chart(c, b1, w.therapist.id);
    late.created_at = T0 + 10;
    let (early1, early2) = (
        new_chart(c, b1, w.admin.id),
        new_chart(c, b1, w.therapist.id),
    );
    let elsewhere = new_chart(c, b2, w.therapist.id);
    for chart in [&late, &early1, &early2, &elsewhere] {
        ok(
            apply1(&*store, Write::CreateChart(chart.clone())).await,
            "creating a chart",
        );
        assert_eq!(
            store.chart(c, chart.id).await.unwrap().as_ref(),
            Some(chart)
        );
    }
    assert_eq!(
        store.charts_in_branch(c, b1, 0, u32::MAX).await.unwrap(),
        vec![early1.clone(), early2.clone(), late.clone()],
        "a branch's charts, oldest first, ties in insertion order"
    );
    // Pages of the same order: the store reads only the page.
    assert_eq!(
        store.charts_in_branch(c, b1, 0, 2).await.unwrap(),
        vec![early1.clone(), early2.clone()]
    );
    assert_eq!(
        store.charts_in_branch(c, b1, 1, 1).await.unwrap(),
        vec![early2]
    );
    assert_eq!(
        store.charts_in_branch(c, b1, 2, 5).await.unwrap(),
        vec![late]
    );
    assert!(
        store
            .charts_in_branch(c, b1, 3, 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .charts_in_branch(c, b1, u64::MAX, 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .charts_in_branch(c, b1, 0, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.charts_in_branch(c, b2, 0, u32::MAX).await.unwrap(),
        vec![elsewhere]
    );
    assert!(
        store
            .charts_in_branch(c, new_branch_id(), 0, u32::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.chart(c, new_chart_id()).await.unwrap(), None);

    let mut same_id = new_chart(c, b2, w.admin.id);
    same_id.id = early1.id;
    conflict(
        apply1(&*store, Write::CreateChart(same_id)).await,
        "a chart whose id exists",
    );
    assert_eq!(
        store.chart(c, early1.id).await.unwrap(),
        Some(early1),
        "unchanged"
    );
    not_found(
        apply1(&*store, Write::CreateChart(new_chart(c, b1, new_user_id()))).await,
        "an unknown creator",
    );
    let orphan = new_chart(new_clinic_id(), b1, w.therapist.id);
    not_found(
        apply1(&*store, Write::CreateChart(orphan)).await,
        "a chart in an unknown clinic",
    );
}

/// `AppendChartState`: seq 1, 2, 3 with no gaps or repeats; `chart_states` in order.
pub async fn chart_states(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let (c, chart, t) = (w.clinic, w.chart.id, w.therapist.id);
    let entries: Vec<ChartStateEntry> = (1..=3).map(|seq| state(chart, seq, t)).collect();
    for entry in &entries {
        ok(
            apply1(&*store, append(c, entry)).await,
            "appending the next entry",
        );
    }
    assert_eq!(store.chart_states(c, chart).await.unwrap(), entries);
    conflict(
        apply1(&*store, append(c, &state(chart, 3, t))).await,
        "repeating seq 3",
    );
    conflict(
        apply1(&*store, append(c, &state(chart, 2, t))).await,
        "repeating seq 2",
    );
    conflict(
        apply1(&*store, append(c, &state(chart, 5, t))).await,
        "a gap (5 after 3)",
    );
    conflict(
        apply1(&*store, append(c, &state(chart, 0, t))).await,
        "seq 0",
    );
    assert_eq!(
        store.chart_states(c, chart).await.unwrap(),
        entries,
        "refused entries change nothing"
    );

    let other = w.another_chart(&*store).await;
    conflict(
        apply1(&*store, append(c, &state(other.id, 2, t))).await,
        "a first entry other than 1",
    );
    ok(
        apply1(&*store, append(c, &state(other.id, 1, w.admin.id))).await,
        "another chart's first entry",
    );
    assert_eq!(
        store.chart_states(c, other.id).await.unwrap().len(),
        1,
        "sequences are per chart"
    );

    not_found(
        apply1(&*store, append(c, &state(new_chart_id(), 1, t))).await,
        "an unknown chart",
    );
    not_found(
        apply1(&*store, append(c, &state(other.id, 2, new_user_id()))).await,
        "an unknown author",
    );
    not_found(
        apply1(&*store, append(new_clinic_id(), &state(chart, 4, t))).await,
        "an unknown clinic",
    );
    assert!(
        store
            .chart_states(c, new_chart_id())
            .await
            .unwrap()
            .is_empty()
    );
}

/// `PutKeyWrap`, `key_wraps` (by recipient, optionally one chart's) and `charts_wrapped_to`.
pub async fn key_wraps(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let (c, t, chart) = (w.clinic, &w.therapist, w.chart.id);
    let chart2 = w.another_chart(&*store).await.id;
    let by = w.admin.id;
    let k1 = wrap(c, case(chart, 1, 1), to(t), by, T0 + 5);
    let k2 = wrap(c, WrapScope::Identity { chart }, to(t), by, T0 + 1);
    let k3 = wrap(c, case(chart2, 2, 7), to(t), by, T0 + 3);
    let k4 = wrap(
        c,
        WrapScope::Directory {
            branch: w.branch,
            epoch: 3,
        },
        to(t),
        by,
        T0 + 4,
    );
    let k5 = wrap(c, WrapScope::Root, to(t), by, T0 + 2);
    // Same time: insertion order.
    let (k6, k7, k8) = (
        wrap(c, case(chart, 1, 4), to(t), by, T0 + 9),
        wrap(c, case(chart, 1, 2), to(t), by, T0 + 9),
        wrap(c, case(chart, 1, 3), to(t), by, T0 + 9),
    );
    let escrow = wrap(c, case(chart, 1, 1), Recipient::Escrow, by, T0);
    let admins = wrap(c, case(chart, 1, 1), to(&w.admin), t.id, T0);
    let all = [&k1, &k2, &k3, &k4, &k5, &k6, &k7, &k8, &escrow, &admins];
    for k in all {
        ok(
            apply1(&*store, Write::PutKeyWrap(k.clone())).await,
            "putting a wrap",
        );
    }
    let mine = |ks: &[&KeyWrap]| ks.iter().map(|k| (*k).clone()).collect::<Vec<_>>();
    assert_eq!(
        store.key_wraps(c, to(t), None).await.unwrap(),
        mine(&[&k2, &k5, &k3, &k4, &k1, &k6, &k7, &k8]),
        "every wrap to the user, oldest first"
    );
    assert_eq!(
        store.key_wraps(c, to(t), Some(chart)).await.unwrap(),
        mine(&[&k2, &k1, &k6, &k7, &k8])
    );
    assert_eq!(
        store.key_wraps(c, to(t), Some(chart2)).await.unwrap(),
        mine(&[&k3])
    );
    assert!(
        store
            .key_wraps(c, to(t), Some(new_chart_id()))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.key_wraps(c, Recipient::Escrow, None).await.unwrap(),
        mine(&[&escrow])
    );
    assert_eq!(
        store
            .key_wraps(c, Recipient::Escrow, Some(chart))
            .await
            .unwrap(),
        mine(&[&escrow])
    );
    assert!(
        store
            .key_wraps(c, Recipient::Escrow, Some(chart2))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.key_wraps(c, to(&w.admin), None).await.unwrap(),
        mine(&[&admins])
    );
    let nobody = Recipient::User {
        user: new_user_id(),
    };
    assert!(store.key_wraps(c, nobody, None).await.unwrap().is_empty());

    let wrapped_to = |ids: Vec<ChartId>| {
        let set: BTreeSet<ChartId> = ids.iter().copied().collect();
        assert_eq!(
            set.len(),
            ids.len(),
            "charts_wrapped_to lists each chart once: {ids:?}"
        );
        set
    };
    assert_eq!(
        wrapped_to(store.charts_wrapped_to(c, t.id, 0, u32::MAX).await.unwrap()),
        BTreeSet::from([chart, chart2])
    );
    // In the order the user first got a key of each chart (k1 before k3), a page at a time.
    assert_eq!(
        store.charts_wrapped_to(c, t.id, 0, 1).await.unwrap(),
        vec![chart]
    );
    assert_eq!(
        store.charts_wrapped_to(c, t.id, 1, 1).await.unwrap(),
        vec![chart2]
    );
    assert!(
        store
            .charts_wrapped_to(c, t.id, 2, 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .charts_wrapped_to(c, t.id, u64::MAX, 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        wrapped_to(
            store
                .charts_wrapped_to(c, w.admin.id, 0, u32::MAX)
                .await
                .unwrap()
        ),
        BTreeSet::from([chart])
    );
    assert!(
        store
            .charts_wrapped_to(c, new_user_id(), 0, u32::MAX)
            .await
            .unwrap()
            .is_empty()
    );

    // An identical (scope, recipient, recipient key) is refused, whatever the wrap bytes.
    for k in all {
        let mut again = wrap(c, k.scope, k.recipient, k.wrapped_by, T0 + 50);
        again.recipient_key = k.recipient_key;
        conflict(
            apply1(&*store, Write::PutKeyWrap(again)).await,
            &format!("a repeated wrap {:?}", k.scope),
        );
    }
    // A new recipient key, or another epoch, is a new wrap.
    ok(
        apply1(
            &*store,
            Write::PutKeyWrap(wrap(c, k1.scope, k1.recipient, by, T0)),
        )
        .await,
        "a new recipient key",
    );
    ok(
        apply1(
            &*store,
            Write::PutKeyWrap(wrap(c, WrapScope::Root, Recipient::Escrow, by, T0)),
        )
        .await,
        "root to escrow",
    );
    let mut next_epoch = wrap(c, case(chart, 1, 9), to(t), by, T0);
    next_epoch.recipient_key = k1.recipient_key;
    ok(
        apply1(&*store, Write::PutKeyWrap(next_epoch)).await,
        "the same key id for another epoch",
    );

    let unknown_chart = wrap(
        c,
        WrapScope::Identity {
            chart: new_chart_id(),
        },
        to(t),
        by,
        T0,
    );
    not_found(
        apply1(&*store, Write::PutKeyWrap(unknown_chart)).await,
        "a wrap for an unknown chart",
    );
    let unknown_user = wrap(
        c,
        WrapScope::Root,
        Recipient::User {
            user: new_user_id(),
        },
        by,
        T0,
    );
    not_found(
        apply1(&*store, Write::PutKeyWrap(unknown_user)).await,
        "a wrap to an unknown user",
    );
    let unknown_wrapper = wrap(c, WrapScope::Root, to(t), new_user_id(), T0);
    not_found(
        apply1(&*store, Write::PutKeyWrap(unknown_wrapper)).await,
        "a wrap by an unknown user",
    );
    let unknown_clinic = wrap(new_clinic_id(), WrapScope::Root, Recipient::Escrow, by, T0);
    not_found(
        apply1(&*store, Write::PutKeyWrap(unknown_clinic)).await,
        "a wrap in an unknown clinic",
    );
}

/// `PutDirectoryWrap` (one per chart and epoch) and `directory_wraps` by branch and epoch.
pub async fn directory_wraps(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let (c, b) = (w.clinic, w.branch);
    let (chart1, chart2, chart3) = (
        w.chart.id,
        w.another_chart(&*store).await.id,
        w.another_chart(&*store).await.id,
    );
    let dw = |chart, epoch| DirectoryWrap {
        clinic: c,
        chart,
        branch: b,
        epoch,
        envelope: sealed("identity key"),
    };
    let (d1, d2, d3, d4) = (dw(chart2, 1), dw(chart1, 1), dw(chart3, 1), dw(chart1, 2));
    for d in [&d1, &d2, &d3, &d4] {
        ok(
            apply1(&*store, Write::PutDirectoryWrap(d.clone())).await,
            "putting a directory wrap",
        );
    }
    assert_eq!(
        store.directory_wraps(c, b, 1).await.unwrap(),
        vec![d1.clone(), d2.clone(), d3],
        "oldest first"
    );
    assert_eq!(
        store.directory_wraps(c, b, 2).await.unwrap(),
        vec![d4.clone()]
    );
    assert!(store.directory_wraps(c, b, 3).await.unwrap().is_empty());
    assert_eq!(
        store.directory_wrap(c, chart1).await.unwrap(),
        Some(d4.clone()),
        "one chart's wrap: the highest epoch"
    );
    assert_eq!(
        store.directory_wrap(c, chart2).await.unwrap(),
        Some(d1.clone())
    );
    assert_eq!(store.directory_wrap(c, new_chart_id()).await.unwrap(), None);
    assert!(
        store
            .directory_wraps(c, new_branch_id(), 1)
            .await
            .unwrap()
            .is_empty()
    );

    let again = DirectoryWrap {
        branch: new_branch_id(),
        ..dw(chart1, 1)
    };
    conflict(
        apply1(&*store, Write::PutDirectoryWrap(again)).await,
        "a second wrap for the same chart and epoch",
    );
    assert_eq!(
        store.directory_wraps(c, b, 1).await.unwrap()[1],
        d2,
        "unchanged"
    );
    not_found(
        apply1(&*store, Write::PutDirectoryWrap(dw(new_chart_id(), 1))).await,
        "an unknown chart",
    );
    let elsewhere = DirectoryWrap {
        clinic: new_clinic_id(),
        ..dw(chart1, 5)
    };
    not_found(
        apply1(&*store, Write::PutDirectoryWrap(elsewhere)).await,
        "an unknown clinic",
    );
}

/// `PutRecordVersion`: 1, 2, 3 with no gaps; later versions keep the chart and kind.
pub async fn record_versions(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let (c, chart, t) = (w.clinic, w.chart.id, w.therapist.id);
    let chart2 = w.another_chart(&*store).await.id;
    let object = new_object_id();
    let versions: Vec<RecordVersion> = (1..=3).map(|v| record(c, object, v, 1, chart, t)).collect();
    for v in &versions {
        ok(
            apply1(&*store, Write::PutRecordVersion(v.clone())).await,
            "the next version",
        );
    }
    assert_eq!(store.record_versions(c, object).await.unwrap(), versions);

    let put = |v: RecordVersion| Write::PutRecordVersion(v);
    conflict(
        apply1(&*store, put(record(c, object, 2, 1, chart, t))).await,
        "repeating version 2",
    );
    conflict(
        apply1(&*store, put(record(c, object, 1, 1, chart, t))).await,
        "repeating version 1",
    );
    conflict(
        apply1(&*store, put(record(c, object, 5, 1, chart, t))).await,
        "a gap (5 after 3)",
    );
    conflict(
        apply1(&*store, put(record(c, object, 0, 1, chart, t))).await,
        "version 0",
    );
    conflict(
        apply1(&*store, put(record(c, object, 4, 2, chart, t))).await,
        "a later version of another kind",
    );
    conflict(
        apply1(&*store, put(record(c, object, 4, 1, chart2, t))).await,
        "a later version in another chart",
    );
    assert_eq!(
        store.record_versions(c, object).await.unwrap(),
        versions,
        "refused versions change nothing"
    );
    let v4 = record(c, object, 4, 1, chart, w.admin.id);
    ok(
        apply1(&*store, put(v4.clone())).await,
        "version 4 by another author",
    );
    assert_eq!(
        store.record_versions(c, object).await.unwrap().last(),
        Some(&v4)
    );

    let fresh = new_object_id();
    conflict(
        apply1(&*store, put(record(c, fresh, 2, 1, chart, t))).await,
        "a first version other than 1",
    );
    assert!(store.record_versions(c, fresh).await.unwrap().is_empty());
    not_found(
        apply1(&*store, put(record(c, fresh, 1, 1, new_chart_id(), t))).await,
        "an unknown chart",
    );
    not_found(
        apply1(&*store, put(record(c, fresh, 1, 1, chart, new_user_id()))).await,
        "an unknown author",
    );
    not_found(
        apply1(&*store, put(record(new_clinic_id(), fresh, 1, 1, chart, t))).await,
        "an unknown clinic",
    );
    assert!(store.record_versions(c, fresh).await.unwrap().is_empty());
}

/// `latest_records`: only each object's latest version, only the asked kinds, only the chart,
/// oldest object (by its first version) first.
pub async fn latest_records(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let (c, chart, t) = (w.clinic, w.chart.id, w.therapist.id);
    let chart2 = w.another_chart(&*store).await.id;
    let at = |mut r: RecordVersion, time| {
        r.created_at = time;
        r
    };
    let (a, b, cc, d, e) = (
        new_object_id(),
        new_object_id(),
        new_object_id(),
        new_object_id(),
        new_object_id(),
    );
    // A is the newest object but its latest version carries the oldest time: order is by first version.
    let a_versions = [
        at(record(c, a, 1, 1, chart, t), T0 + 30),
        at(record(c, a, 2, 1, chart, t), T0 + 31),
        at(record(c, a, 3, 1, chart, t), T0 - 100),
    ];
    let b1 = at(record(c, b, 1, 2, chart, t), T0 + 20);
    let c_versions = [
        at(record(c, cc, 1, 1, chart, t), T0 + 10),
        at(record(c, cc, 2, 1, chart, t), T0 + 40),
    ];
    let d1 = at(record(c, d, 1, 3, chart, t), T0);
    let e1 = at(record(c, e, 1, 1, chart2, t), T0);
    let mut writes: Vec<Write> = a_versions
        .iter()
        .cloned()
        .map(Write::PutRecordVersion)
        .collect();
    writes.extend([b1.clone(), d1.clone(), e1.clone()].map(Write::PutRecordVersion));
    writes.extend(c_versions.iter().cloned().map(Write::PutRecordVersion));
    ok(store.apply(writes).await, "storing records");

    let (a3, c2) = (a_versions[2].clone(), c_versions[1].clone());
    assert_eq!(
        store.latest_records(c, chart, &[1]).await.unwrap(),
        vec![c2.clone(), a3.clone()]
    );
    assert_eq!(
        store.latest_records(c, chart, &[1, 2]).await.unwrap(),
        vec![c2.clone(), b1.clone(), a3.clone()]
    );
    assert_eq!(
        store.latest_records(c, chart, &[2, 1, 2]).await.unwrap(),
        vec![c2.clone(), b1.clone(), a3.clone()]
    );
    assert_eq!(
        store.latest_records(c, chart, &[3, 2, 1]).await.unwrap(),
        vec![d1, c2, b1, a3]
    );
    assert_eq!(store.latest_records(c, chart, &[2]).await.unwrap().len(), 1);
    assert!(
        store
            .latest_records(c, chart, &[])
            .await
            .unwrap()
            .is_empty(),
        "no kinds, no records"
    );
    assert!(
        store
            .latest_records(c, chart, &[9])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.latest_records(c, chart2, &[1, 2, 3]).await.unwrap(),
        vec![e1],
        "only the chart's"
    );
    assert!(
        store
            .latest_records(c, new_chart_id(), &[1])
            .await
            .unwrap()
            .is_empty()
    );
}

/// A batch's later writes see its earlier ones, and the whole batch lands together.
pub async fn batches_see_their_own_writes(store: Arc<dyn Store>) {
    let clinic = new_clinic(new_clinic_id());
    let c = clinic.id;
    let admin = staff(c, "admin@new.example");
    let therapist = staff(c, "therapist@new.example");
    let branch = new_branch_id();
    let chart = new_chart(c, branch, therapist.id);
    let (s1, s2) = (
        state(chart.id, 1, therapist.id),
        state(chart.id, 2, admin.id),
    );
    let object = new_object_id();
    let (r1, r2) = (
        record(c, object, 1, 1, chart.id, therapist.id),
        record(c, object, 2, 1, chart.id, therapist.id),
    );
    let invite = new_invite(c, therapist.id, T0 + 100);
    let invitee = patient(c, "kit-NEW1-NEW2");
    let binding = sealed("binding");
    let (cert1, cert2) = (cert(c, admin.id, 1), cert(c, admin.id, 2));
    let k = wrap(c, case(chart.id, 1, 1), to(&therapist), admin.id, T0);
    let d = DirectoryWrap {
        clinic: c,
        chart: chart.id,
        branch,
        epoch: 1,
        envelope: sealed("identity key"),
    };
    let (m2, sig2) = (sealed("manifest 2"), sealed("signature 2"));
    let writes = vec![
        Write::CreateClinic(clinic.clone()),
        Write::UpdateManifest {
            clinic: c,
            expected_version: 1,
            manifest: m2.clone(),
            signature: sig2.clone(),
        },
        create_account(&admin),
        create_account(&therapist),
        Write::CreateChart(chart.clone()),
        append(c, &s1),
        append(c, &s2),
        Write::PutRecordVersion(r1.clone()),
        Write::PutRecordVersion(r2.clone()),
        Write::CreateInvite(invite.clone()),
        create_account(&invitee),
        bind(&invite, invitee.id, &binding, T0),
        Write::CompleteInvite {
            clinic: c,
            id: invite.id,
        },
        Write::PutCertificate(cert1.clone()),
        Write::PutCertificate(cert2.clone()),
        Write::RevokeCertificate {
            clinic: c,
            user: admin.id,
            serial: 1,
            at: T0 + 1,
            revocation: None,
        },
        Write::PutKeyWrap(k.clone()),
        Write::PutDirectoryWrap(d.clone()),
        Write::SetAccountStatus {
            clinic: c,
            user: admin.id,
            status: AccountStatus::Revoked,
        },
    ];
    ok(
        store.apply(writes).await,
        "one batch building a whole clinic",
    );
    assert_eq!(
        store.clinic(c).await.unwrap(),
        Some(Clinic {
            manifest: m2,
            manifest_signature: sig2,
            manifest_version: 2,
            ..clinic
        })
    );
    let revoked_admin = Account {
        status: AccountStatus::Revoked,
        ..admin.clone()
    };
    assert_eq!(
        store.accounts(c).await.unwrap(),
        vec![revoked_admin, therapist.clone(), invitee.clone()]
    );
    assert_eq!(store.chart(c, chart.id).await.unwrap(), Some(chart.clone()));
    assert_eq!(store.chart_states(c, chart.id).await.unwrap(), vec![s1, s2]);
    assert_eq!(
        store.record_versions(c, object).await.unwrap(),
        vec![r1, r2]
    );
    assert_eq!(
        store.invite(c, invite.id).await.unwrap().unwrap().state,
        InviteState::Completed
    );
    assert_eq!(
        store.certificates(c).await.unwrap(),
        vec![
            Certificate {
                revoked_at: Some(T0 + 1),
                ..cert1
            },
            cert2
        ]
    );
    assert_eq!(
        store.key_wraps(c, to(&therapist), None).await.unwrap(),
        vec![k]
    );
    assert_eq!(store.directory_wraps(c, branch, 1).await.unwrap(), vec![d]);

    ok(store.apply(vec![]).await, "an empty batch");
}

/// A batch whose last write fails leaves none of its writes behind, whatever the failure.
pub async fn failed_batches_write_nothing(store: Arc<dyn Store>) {
    // A batch creating a whole clinic, failing at the end in three different ways.
    let clinic = new_clinic(new_clinic_id());
    let c = clinic.id;
    let admin = staff(c, "admin@doomed.example");
    let chart = new_chart(c, new_branch_id(), admin.id);
    let object = new_object_id();
    let invite = new_invite(c, admin.id, T0 + 100);
    let building = || {
        vec![
            Write::CreateClinic(clinic.clone()),
            create_account(&admin),
            Write::CreateChart(chart.clone()),
            append(c, &state(chart.id, 1, admin.id)),
            Write::PutRecordVersion(record(c, object, 1, 1, chart.id, admin.id)),
            Write::CreateInvite(invite.clone()),
            Write::PutCertificate(cert(c, admin.id, 1)),
            Write::PutKeyWrap(wrap(c, case(chart.id, 1, 1), to(&admin), admin.id, T0)),
            Write::PutDirectoryWrap(DirectoryWrap {
                clinic: c,
                chart: chart.id,
                branch: chart.branch,
                epoch: 1,
                envelope: sealed("d"),
            }),
        ]
    };
    let mut too_big = new_clinic(new_clinic_id());
    too_big.manifest_version = u64::MAX;
    // (the failing last write, whether NotFound rather than Conflict is expected, what it is)
    let failures = [
        (Write::CreateChart(chart.clone()), false, "a repeated chart"),
        (
            Write::UpdateCredentials {
                clinic: c,
                user: new_user_id(),
                opaque_record: vec![1],
                wrapped_account_key: sealed("k"),
            },
            true,
            "an unknown account",
        ),
        (Write::CreateClinic(too_big), false, "a number too large"),
    ];
    for (failing, expect_not_found, what) in failures {
        let mut writes = building();
        writes.push(failing);
        let result = store.apply(writes).await;
        let what_failed = format!("a batch ending in {what}");
        if expect_not_found {
            not_found(result, &what_failed);
        } else {
            conflict(result, &what_failed);
        }
        assert_eq!(
            store.clinic(c).await.unwrap(),
            None,
            "after {what}: no clinic"
        );
        assert!(
            store.accounts(c).await.unwrap().is_empty(),
            "after {what}: no accounts"
        );
        assert_eq!(
            store.account_by_login(c, &admin.login).await.unwrap(),
            None,
            "after {what}"
        );
        assert_eq!(
            store.account_keys(c, admin.id).await.unwrap(),
            None,
            "after {what}"
        );
        assert_eq!(
            store.opaque_record(c, admin.id).await.unwrap(),
            None,
            "after {what}"
        );
        assert_eq!(
            store.chart(c, chart.id).await.unwrap(),
            None,
            "after {what}: no chart"
        );
        assert!(
            store.chart_states(c, chart.id).await.unwrap().is_empty(),
            "after {what}"
        );
        assert!(
            store.record_versions(c, object).await.unwrap().is_empty(),
            "after {what}"
        );
        assert_eq!(
            store.invite(c, invite.id).await.unwrap(),
            None,
            "after {what}"
        );
        assert!(
            store.certificates(c).await.unwrap().is_empty(),
            "after {what}"
        );
        assert!(
            store
                .key_wraps(c, to(&admin), None)
                .await
                .unwrap()
                .is_empty(),
            "after {what}"
        );
        assert!(
            store
                .directory_wraps(c, chart.branch, 1)
                .await
                .unwrap()
                .is_empty(),
            "after {what}"
        );
    }
    ok(
        store.apply(building()).await,
        "the same batch without its failing write",
    );
    assert_eq!(store.chart_states(c, chart.id).await.unwrap().len(), 1);

    // Updates of existing rows are undone too.
    let w = world(&*store).await;
    let (wc, t) = (w.clinic, w.therapist.id);
    let live = session(wc, t, T0 + 3600);
    store.create_session(&live).await.unwrap();
    let (open, other) = (
        new_invite(wc, w.admin.id, T0 + 100),
        new_invite(wc, w.admin.id, T0 + 100),
    );
    store
        .apply(vec![
            Write::PutCertificate(cert(wc, t, 1)),
            Write::CreateInvite(open.clone()),
            Write::CreateInvite(other.clone()),
        ])
        .await
        .unwrap();
    let clinic_before = store.clinic(wc).await.unwrap();
    let certs_before = store.certificates(wc).await.unwrap();
    let new_chart_in_batch = new_chart(wc, w.branch, t);
    let entry = state(w.chart.id, 1, t);
    let result = store
        .apply(vec![
            Write::UpdateManifest {
                clinic: wc,
                expected_version: 1,
                manifest: sealed("m"),
                signature: sealed("s"),
            },
            Write::UpdateCredentials {
                clinic: wc,
                user: t,
                opaque_record: b"new".to_vec(),
                wrapped_account_key: sealed("new key"),
            },
            Write::SetAccountStatus {
                clinic: wc,
                user: t,
                status: AccountStatus::Revoked,
            },
            Write::RevokeCertificate {
                clinic: wc,
                user: t,
                serial: 1,
                at: T0,
                revocation: None,
            },
            Write::PutCertificate(cert(wc, t, 2)),
            bind(&open, w.admin.id, &sealed("binding"), T0),
            Write::CompleteInvite {
                clinic: wc,
                id: open.id,
            },
            Write::RevokeInvite {
                clinic: wc,
                id: other.id,
            },
            Write::CreateChart(new_chart_in_batch.clone()),
            append(wc, &entry),
            Write::PutRecordVersion(record(wc, object, 1, 1, w.chart.id, t)),
            Write::PutKeyWrap(wrap(wc, WrapScope::Root, Recipient::Escrow, t, T0)),
            // Fails: seq 1 was appended earlier in this batch.
            append(wc, &entry),
        ])
        .await;
    conflict(result, "a batch of updates ending in a repeated seq");
    assert_eq!(
        store.clinic(wc).await.unwrap(),
        clinic_before,
        "the manifest is unchanged"
    );
    assert_eq!(
        store.opaque_record(wc, t).await.unwrap(),
        Some(opaque_for(t)),
        "credentials are unchanged"
    );
    assert_eq!(store.account_keys(wc, t).await.unwrap(), Some(keys_for(t)));
    assert_eq!(
        store.account(wc, t).await.unwrap().unwrap().status,
        AccountStatus::Active,
        "still active"
    );
    assert_eq!(
        store.session(&live.token_hash, T0).await.unwrap(),
        Some(live),
        "the session survived"
    );
    assert_eq!(
        store.certificates(wc).await.unwrap(),
        certs_before,
        "certificates are unchanged"
    );
    assert_eq!(
        store.invite(wc, open.id).await.unwrap(),
        Some(open),
        "the invite is still open"
    );
    assert_eq!(
        store.invite(wc, other.id).await.unwrap(),
        Some(other),
        "the other invite is not revoked"
    );
    assert_eq!(store.chart(wc, new_chart_in_batch.id).await.unwrap(), None);
    assert!(store.chart_states(wc, w.chart.id).await.unwrap().is_empty());
    assert!(store.record_versions(wc, object).await.unwrap().is_empty());
    assert!(
        store
            .key_wraps(wc, Recipient::Escrow, None)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Two clinics with the same ids, logins and kinds of data: every read returns only the named
/// clinic's rows, writes touch only the named clinic, and a write cannot reference another
/// clinic's chart or account.
pub async fn clinic_isolation(store: Arc<dyn Store>) {
    // The same ids in both clinics (only the clinic id differs); content differs.
    let (user, chart_id, object, invite_id, branch) = (
        new_user_id(),
        new_chart_id(),
        new_object_id(),
        new_invite_id(),
        new_branch_id(),
    );
    struct Seeded {
        clinic: Clinic,
        account: Account,
        chart: Chart,
        entry: ChartStateEntry,
        record: RecordVersion,
        invite: Invite,
        cert: Certificate,
        wrap: KeyWrap,
        escrow: KeyWrap,
        directory: DirectoryWrap,
        session: Session,
    }
    let mut seeded = Vec::new();
    for name in ["north", "south"] {
        let clinic = new_clinic(new_clinic_id());
        let c = clinic.id;
        let mut account = staff(c, "same.login@example.org");
        account.id = user;
        account.display_name = Some(format!("{name} therapist"));
        let chart = Chart {
            id: chart_id,
            ..new_chart(c, branch, user)
        };
        let entry = state(chart_id, 1, user);
        let record = record(c, object, 1, 1, chart_id, user);
        let invite = Invite {
            id: invite_id,
            ..new_invite(c, user, T0 + 100)
        };
        let cert = cert(c, user, 1);
        let wrap = wrap(c, case(chart_id, 1, 1), Recipient::User { user }, user, T0);
        let escrow = self::wrap(c, WrapScope::Root, Recipient::Escrow, user, T0);
        let directory = DirectoryWrap {
            clinic: c,
            chart: chart_id,
            branch,
            epoch: 1,
            envelope: sealed(name),
        };
        let session = session(c, user, T0 + 3600);
        store
            .apply(vec![
                Write::CreateClinic(clinic.clone()),
                create_account(&account),
                Write::CreateChart(chart.clone()),
                append(c, &entry),
                Write::PutRecordVersion(record.clone()),
                Write::CreateInvite(invite.clone()),
                Write::PutCertificate(cert.clone()),
                Write::PutKeyWrap(wrap.clone()),
                Write::PutKeyWrap(escrow.clone()),
                Write::PutDirectoryWrap(directory.clone()),
            ])
            .await
            .expect("seeding a clinic whose ids overlap another's");
        store.create_session(&session).await.unwrap();
        seeded.push(Seeded {
            clinic,
            account,
            chart,
            entry,
            record,
            invite,
            cert,
            wrap,
            escrow,
            directory,
            session,
        });
    }

    let check_reads = |store: Arc<dyn Store>, s: &Seeded| {
        let s_clinic = s.clinic.clone();
        let (account, chart, entry, record) = (
            s.account.clone(),
            s.chart.clone(),
            s.entry.clone(),
            s.record.clone(),
        );
        let (invite, cert, wrap, escrow) = (
            s.invite.clone(),
            s.cert.clone(),
            s.wrap.clone(),
            s.escrow.clone(),
        );
        let (directory, session) = (s.directory.clone(), s.session.clone());
        async move {
            let c = s_clinic.id;
            assert_eq!(store.clinic(c).await.unwrap(), Some(s_clinic.clone()));
            assert_eq!(
                store.account(c, user).await.unwrap().as_ref(),
                Some(&account)
            );
            assert_eq!(
                store
                    .account_by_login(c, &account.login)
                    .await
                    .unwrap()
                    .as_ref(),
                Some(&account)
            );
            assert_eq!(store.accounts(c).await.unwrap(), vec![account.clone()]);
            assert_eq!(
                store.account_keys(c, user).await.unwrap(),
                Some(keys_for(user))
            );
            assert_eq!(store.chart(c, chart_id).await.unwrap(), Some(chart.clone()));
            assert_eq!(
                store
                    .charts_in_branch(c, branch, 0, u32::MAX)
                    .await
                    .unwrap(),
                vec![chart]
            );
            assert_eq!(
                store.charts_wrapped_to(c, user, 0, u32::MAX).await.unwrap(),
                vec![chart_id]
            );
            assert_eq!(store.chart_states(c, chart_id).await.unwrap(), vec![entry]);
            assert_eq!(
                store.record_versions(c, object).await.unwrap(),
                vec![record.clone()]
            );
            assert_eq!(
                store.latest_records(c, chart_id, &[1]).await.unwrap(),
                vec![record]
            );
            assert_eq!(
                store.invite(c, invite_id).await.unwrap().as_ref(),
                Some(&invite)
            );
            assert_eq!(
                store.invites_by(c, user, 0, u32::MAX).await.unwrap(),
                vec![invite]
            );
            assert_eq!(store.certificates(c).await.unwrap(), vec![cert]);
            assert_eq!(
                store
                    .key_wraps(c, Recipient::User { user }, None)
                    .await
                    .unwrap(),
                vec![wrap.clone()]
            );
            assert_eq!(
                store
                    .key_wraps(c, Recipient::User { user }, Some(chart_id))
                    .await
                    .unwrap(),
                vec![wrap]
            );
            assert_eq!(
                store.key_wraps(c, Recipient::Escrow, None).await.unwrap(),
                vec![escrow]
            );
            assert_eq!(
                store.directory_wraps(c, branch, 1).await.unwrap(),
                vec![directory]
            );
            assert_eq!(
                store.session(&session.token_hash, T0).await.unwrap(),
                Some(session)
            );
        }
    };
    for s in &seeded {
        check_reads(Arc::clone(&store), s).await;
    }
    // The opaque records are the same bytes in both (derived from the user id), so check that
    // updating one clinic's leaves the other's alone.
    let (north, south) = (&seeded[0], &seeded[1]);
    let (n, s) = (north.clinic.id, south.clinic.id);
    let write = Write::UpdateCredentials {
        clinic: n,
        user,
        opaque_record: b"north only".to_vec(),
        wrapped_account_key: sealed("north key"),
    };
    ok(
        apply1(&*store, write).await,
        "changing one clinic's credentials",
    );
    assert_eq!(
        store.opaque_record(n, user).await.unwrap(),
        Some(b"north only".to_vec())
    );
    assert_eq!(
        store.opaque_record(s, user).await.unwrap(),
        Some(opaque_for(user)),
        "the other clinic's"
    );
    assert_eq!(
        store.account_keys(s, user).await.unwrap(),
        Some(keys_for(user))
    );

    // Writes naming one clinic change only that clinic's rows.
    let writes = vec![
        Write::UpdateManifest {
            clinic: n,
            expected_version: 1,
            manifest: sealed("m"),
            signature: sealed("s"),
        },
        append(n, &state(chart_id, 2, user)),
        Write::PutRecordVersion(record(n, object, 2, 1, chart_id, user)),
        Write::PutCertificate(cert(n, user, 2)),
        Write::RevokeCertificate {
            clinic: n,
            user,
            serial: 1,
            at: T0,
            revocation: None,
        },
        bind(&north.invite, user, &sealed("binding"), T0),
        Write::SetAccountStatus {
            clinic: n,
            user,
            status: AccountStatus::Revoked,
        },
    ];
    ok(store.apply(writes).await, "changing the north clinic");
    check_reads(Arc::clone(&store), south).await;
    assert_eq!(
        store.session(&north.session.token_hash, T0).await.unwrap(),
        None,
        "north's session is gone"
    );

    // A third clinic sees nothing and cannot reference the others' rows.
    let third = new_clinic(new_clinic_id());
    let x = third.id;
    ok(
        apply1(&*store, Write::CreateClinic(third)).await,
        "a third clinic",
    );
    assert_eq!(store.account(x, user).await.unwrap(), None);
    assert_eq!(
        store
            .account_by_login(x, &south.account.login)
            .await
            .unwrap(),
        None
    );
    assert!(store.accounts(x).await.unwrap().is_empty());
    assert_eq!(store.account_keys(x, user).await.unwrap(), None);
    assert_eq!(store.opaque_record(x, user).await.unwrap(), None);
    assert_eq!(store.chart(x, chart_id).await.unwrap(), None);
    assert!(
        store
            .charts_in_branch(x, branch, 0, u32::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .charts_wrapped_to(x, user, 0, u32::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.chart_states(x, chart_id).await.unwrap().is_empty());
    assert!(store.record_versions(x, object).await.unwrap().is_empty());
    assert!(
        store
            .latest_records(x, chart_id, &[1])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.invite(x, invite_id).await.unwrap(), None);
    assert!(
        store
            .invites_by(x, user, 0, u32::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.certificates(x).await.unwrap().is_empty());
    assert!(
        store
            .key_wraps(x, Recipient::User { user }, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .key_wraps(x, Recipient::Escrow, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .directory_wraps(x, branch, 1)
            .await
            .unwrap()
            .is_empty()
    );

    let admin = staff(x, "admin@third.example");
    ok(
        apply1(&*store, create_account(&admin)).await,
        "the third clinic's admin",
    );
    let a = admin.id;
    not_found(
        apply1(&*store, append(x, &state(chart_id, 1, a))).await,
        "a state for another clinic's chart",
    );
    not_found(
        apply1(
            &*store,
            Write::PutRecordVersion(record(x, object, 1, 1, chart_id, a)),
        )
        .await,
        "a record",
    );
    let dw = DirectoryWrap {
        clinic: x,
        chart: chart_id,
        branch,
        epoch: 1,
        envelope: sealed("x"),
    };
    not_found(
        apply1(&*store, Write::PutDirectoryWrap(dw)).await,
        "a directory wrap for another clinic's chart",
    );
    let kw = wrap(
        x,
        WrapScope::Identity { chart: chart_id },
        Recipient::Escrow,
        a,
        T0,
    );
    not_found(
        apply1(&*store, Write::PutKeyWrap(kw)).await,
        "a key wrap for another clinic's chart",
    );
    let kw = wrap(x, WrapScope::Root, Recipient::User { user }, a, T0);
    not_found(
        apply1(&*store, Write::PutKeyWrap(kw)).await,
        "a key wrap to another clinic's user",
    );
    not_found(
        apply1(&*store, Write::CreateChart(new_chart(x, branch, user))).await,
        "a chart by a foreign user",
    );
    not_found(
        apply1(&*store, Write::PutCertificate(cert(x, user, 1))).await,
        "a certificate for a foreign user",
    );
    let mut patient_invite = new_invite(x, a, T0 + 100);
    patient_invite.kind = InviteKind::Patient;
    patient_invite.chart = Some(chart_id);
    not_found(
        apply1(&*store, Write::CreateInvite(patient_invite)).await,
        "an invite to another clinic's chart",
    );
    let foreign = Write::BindInvite {
        clinic: x,
        id: invite_id,
        invitee: a,
        binding: sealed("b"),
        now: T0,
    };
    not_found(
        apply1(&*store, foreign).await,
        "binding another clinic's invite",
    );
    let foreign = Write::SetAccountStatus {
        clinic: x,
        user,
        status: AccountStatus::Revoked,
    };
    not_found(
        apply1(&*store, foreign).await,
        "revoking another clinic's account",
    );
    not_found(
        store.create_session(&session(x, user, T0 + 60)).await,
        "a session for another clinic's account",
    );
    check_reads(Arc::clone(&store), south).await;
}

/// Two tasks appending the same chart-state seq at once: exactly one succeeds, every round.
pub async fn concurrent_chart_states(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let (c, chart) = (w.clinic, w.chart.id);
    let mut winners = Vec::new();
    for seq in 1..=8 {
        let (a, b) = (
            state(chart, seq, w.therapist.id),
            state(chart, seq, w.admin.id),
        );
        let a_won = exactly_one(
            race(&store, vec![append(c, &a)], vec![append(c, &b)]).await,
            "racing appends",
        );
        winners.push(if a_won { a } else { b });
        assert_eq!(
            store.chart_states(c, chart).await.unwrap(),
            winners,
            "after round {seq}"
        );
    }
}

/// Racing writers on every other sequence or single-use precondition: exactly one wins.
pub async fn concurrent_writers(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let (c, t, chart) = (w.clinic, w.therapist.id, w.chart.id);
    for round in 1..=3u64 {
        let object = new_object_id();
        let (a, b) = (
            record(c, object, 1, 1, chart, t),
            record(c, object, 1, 1, chart, w.admin.id),
        );
        let results = race(
            &store,
            vec![Write::PutRecordVersion(a)],
            vec![Write::PutRecordVersion(b)],
        )
        .await;
        exactly_one(results, "racing first versions");
        assert_eq!(store.record_versions(c, object).await.unwrap().len(), 1);

        let results = race(
            &store,
            vec![Write::PutCertificate(cert(c, t, round))],
            vec![Write::PutCertificate(cert(c, t, round))],
        )
        .await;
        exactly_one(results, "racing certificate serials");
        assert_eq!(
            store.certificates(c).await.unwrap().len(),
            usize::try_from(round).unwrap()
        );

        let update = |label: &str| Write::UpdateManifest {
            clinic: c,
            expected_version: round,
            manifest: sealed(label),
            signature: sealed(label),
        };
        exactly_one(
            race(&store, vec![update("a")], vec![update("b")]).await,
            "racing manifest updates",
        );
        assert_eq!(
            store.clinic(c).await.unwrap().unwrap().manifest_version,
            round + 1
        );

        let invite = new_invite(c, t, T0 + 100);
        ok(
            apply1(&*store, Write::CreateInvite(invite.clone())).await,
            "an invite",
        );
        let (x, y) = (
            patient(c, &format!("kit-X-{round}")),
            patient(c, &format!("kit-Y-{round}")),
        );
        let results = race(
            &store,
            vec![create_account(&x), bind(&invite, x.id, &sealed("x"), T0)],
            vec![create_account(&y), bind(&invite, y.id, &sealed("y"), T0)],
        )
        .await;
        let x_won = exactly_one(results, "racing binds of one invite");
        let (winner, loser) = if x_won { (&x, &y) } else { (&y, &x) };
        assert_eq!(
            store.invite(c, invite.id).await.unwrap().unwrap().invitee,
            Some(winner.id)
        );
        assert_eq!(
            store.account(c, loser.id).await.unwrap(),
            None,
            "the losing sign-up left nothing"
        );

        let (p, q) = (
            staff(c, &format!("same-{round}@clinic.example")),
            staff(c, &format!("same-{round}@clinic.example")),
        );
        exactly_one(
            race(&store, vec![create_account(&p)], vec![create_account(&q)]).await,
            "racing one login",
        );

        // Revocation racing a login: whichever order, no session outlives the revocation.
        let target = w
            .another_account(&*store, &format!("target-{round}@clinic.example"))
            .await;
        let s = session(c, target.id, T0 + 3600);
        let creating = {
            let store = Arc::clone(&store);
            let s = s.clone();
            tokio::spawn(async move { store.create_session(&s).await })
        };
        let revoke = Write::SetAccountStatus {
            clinic: c,
            user: target.id,
            status: AccountStatus::Revoked,
        };
        ok(apply1(&*store, revoke).await, "revoking during a login");
        match creating.await.unwrap() {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            other => {
                panic!("a login racing a revocation: expected success or Conflict, got {other:?}")
            }
        }
        assert_eq!(
            store.session(&s.token_hash, T0).await.unwrap(),
            None,
            "no session outlives its revocation"
        );
    }
}

// ----------------------------------------------------------------------------------------------
// The access log.

fn log_leaf(clinic: ClinicId, index: u64, chart: Option<ChartId>) -> LogLeaf {
    LogLeaf {
        clinic,
        index,
        // Deterministic (unlike `sealed`), so a test can rebuild the leaf it expects.
        leaf: Sealed(format!("leaf {index} of {clinic}").into_bytes()),
        leaf_hash: [index as u8; 32],
        chart,
        created_at: T0 + index as i64,
    }
}

fn node(level: u8, index: u64) -> LogNode {
    LogNode {
        level,
        index,
        hash: [level.wrapping_mul(16).wrapping_add(index as u8); 32],
    }
}

fn append_leaf(leaf: LogLeaf, nodes: Vec<LogNode>) -> Write {
    Write::AppendLogLeaf { leaf, nodes }
}

/// `AppendLogLeaf`: indices are dense per clinic (0, 1, 2, ... never skipping or repeating),
/// nodes are written once, leaves and nodes read back, a chart's leaves in order.
pub async fn access_log(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let (c, chart) = (w.clinic, w.chart.id);
    assert_eq!(store.log_size(c).await.unwrap(), 0);
    conflict(
        apply1(&*store, append_leaf(log_leaf(c, 1, None), vec![])).await,
        "a first leaf at index 1",
    );
    ok(
        apply1(
            &*store,
            append_leaf(log_leaf(c, 0, Some(chart)), vec![node(0, 0)]),
        )
        .await,
        "leaf 0",
    );
    ok(
        apply1(
            &*store,
            append_leaf(log_leaf(c, 1, None), vec![node(0, 1), node(1, 0)]),
        )
        .await,
        "leaf 1 completing a pair",
    );
    conflict(
        apply1(&*store, append_leaf(log_leaf(c, 1, None), vec![])).await,
        "index 1 again",
    );
    conflict(
        apply1(&*store, append_leaf(log_leaf(c, 3, None), vec![])).await,
        "skipping index 2",
    );
    conflict(
        apply1(
            &*store,
            append_leaf(log_leaf(c, 2, Some(chart)), vec![node(1, 0)]),
        )
        .await,
        "a node written twice",
    );
    assert_eq!(
        store.log_size(c).await.unwrap(),
        2,
        "the failed append left nothing"
    );
    not_found(
        apply1(
            &*store,
            append_leaf(log_leaf(c, 2, Some(new_chart_id())), vec![]),
        )
        .await,
        "a leaf naming an unknown chart",
    );
    not_found(
        apply1(
            &*store,
            append_leaf(log_leaf(new_clinic_id(), 0, None), vec![]),
        )
        .await,
        "a leaf of an unknown clinic",
    );
    ok(
        apply1(
            &*store,
            append_leaf(log_leaf(c, 2, Some(chart)), vec![node(0, 2)]),
        )
        .await,
        "leaf 2",
    );
    assert_eq!(store.log_size(c).await.unwrap(), 3);
    assert_eq!(
        store.log_leaves(c, 0, 3).await.unwrap(),
        vec![
            log_leaf(c, 0, Some(chart)),
            log_leaf(c, 1, None),
            log_leaf(c, 2, Some(chart))
        ]
    );
    assert_eq!(
        store.log_leaves(c, 1, 2).await.unwrap(),
        vec![log_leaf(c, 1, None)]
    );
    assert!(store.log_leaves(c, 3, u64::MAX).await.unwrap().is_empty());
    assert_eq!(
        store
            .chart_log_leaves(c, chart, u64::MAX, u32::MAX)
            .await
            .unwrap(),
        vec![log_leaf(c, 0, Some(chart)), log_leaf(c, 2, Some(chart))]
    );
    // A page is the newest `limit` leaves below `before`, oldest first.
    assert_eq!(
        store.chart_log_leaves(c, chart, u64::MAX, 1).await.unwrap(),
        vec![log_leaf(c, 2, Some(chart))]
    );
    assert_eq!(
        store.chart_log_leaves(c, chart, 2, 5).await.unwrap(),
        vec![log_leaf(c, 0, Some(chart))]
    );
    assert!(
        store
            .chart_log_leaves(c, chart, 0, 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .chart_log_leaves(c, chart, u64::MAX, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.last_chart_log_leaf(c, chart).await.unwrap(),
        Some(log_leaf(c, 2, Some(chart)))
    );
    assert_eq!(
        store
            .last_chart_log_leaf(c, w.another_chart(&*store).await.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .log_nodes(c, &[(1, 0), (0, 2), (1, 1), (0, 0)])
            .await
            .unwrap(),
        vec![
            Some(node(1, 0).hash),
            Some(node(0, 2).hash),
            None,
            Some(node(0, 0).hash)
        ]
    );
    // Another clinic's log starts at 0 and sees nothing of this one.
    let other = world(&*store).await;
    assert_eq!(store.log_size(other.clinic).await.unwrap(), 0);
    assert!(
        store
            .log_leaves(other.clinic, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.log_nodes(other.clinic, &[(0, 0)]).await.unwrap(),
        vec![None]
    );
    ok(
        apply1(
            &*store,
            append_leaf(log_leaf(other.clinic, 0, None), vec![node(0, 0)]),
        )
        .await,
        "another clinic's first leaf",
    );
}

/// `last_log_leaf_with_action`: the newest leaf whose second byte is the action, of this clinic
/// only; bytes compare as bytes (no text collation, no sign), and a leaf too short to have an
/// action byte matches nothing.
pub async fn log_leaves_by_action(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = w.clinic;
    let leaf = |index: u64, bytes: Vec<u8>| LogLeaf {
        clinic: c,
        index,
        leaf: Sealed(bytes),
        leaf_hash: [index as u8; 32],
        chart: None,
        created_at: T0 + index as i64,
    };
    assert_eq!(store.last_log_leaf_with_action(c, 12).await.unwrap(), None);
    let leaves = vec![
        leaf(0, vec![1, 12, 0xaa]),
        leaf(1, vec![1, 5, 0xbb]),
        leaf(2, vec![1, 12, 0xcc]),
        leaf(3, vec![1, 0xff, 0xdd]),
        leaf(4, vec![12]),
        leaf(5, vec![0x0c, 6, 12, 12]),
    ];
    for l in &leaves {
        ok(
            apply1(&*store, append_leaf(l.clone(), vec![])).await,
            "a leaf with a chosen action byte",
        );
    }
    let found = |action: u8| {
        let store = Arc::clone(&store);
        async move { store.last_log_leaf_with_action(c, action).await.unwrap() }
    };
    assert_eq!(
        found(12).await,
        Some(leaves[2].clone()),
        "the newest of two"
    );
    assert_eq!(found(5).await, Some(leaves[1].clone()));
    assert_eq!(
        found(0xff).await,
        Some(leaves[3].clone()),
        "a byte above 0x7f"
    );
    assert_eq!(found(6).await, Some(leaves[5].clone()));
    assert_eq!(found(7).await, None, "no leaf with that action");
    assert_eq!(found(1).await, None, "the version byte is not the action");
    // Another clinic's log is not searched, and an unknown clinic has no leaves.
    let other = world(&*store).await;
    assert_eq!(
        store
            .last_log_leaf_with_action(other.clinic, 12)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .last_log_leaf_with_action(new_clinic_id(), 12)
            .await
            .unwrap(),
        None
    );
}

/// `PutLogCheckpoint`: never beyond the log; the same size is replaced (co-signatures added);
/// the latest is the largest.
pub async fn access_log_checkpoints(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = w.clinic;
    let checkpoint = |size: u64, note: &str| LogCheckpoint {
        clinic: c,
        size,
        note: Sealed(note.as_bytes().to_vec()),
        created_at: T0,
    };
    assert_eq!(store.latest_log_checkpoint(c).await.unwrap(), None);
    ok(
        apply1(&*store, Write::PutLogCheckpoint(checkpoint(0, "empty"))).await,
        "the empty log's checkpoint",
    );
    conflict(
        apply1(&*store, Write::PutLogCheckpoint(checkpoint(1, "ahead"))).await,
        "a checkpoint beyond the log",
    );
    for i in 0..2 {
        ok(
            apply1(&*store, append_leaf(log_leaf(c, i, None), vec![])).await,
            "a leaf",
        );
    }
    ok(
        apply1(&*store, Write::PutLogCheckpoint(checkpoint(2, "two"))).await,
        "size 2",
    );
    ok(
        apply1(
            &*store,
            Write::PutLogCheckpoint(checkpoint(2, "two, co-signed")),
        )
        .await,
        "size 2 again, with a co-signature",
    );
    ok(
        apply1(&*store, Write::PutLogCheckpoint(checkpoint(1, "one"))).await,
        "an older size",
    );
    assert_eq!(
        store.latest_log_checkpoint(c).await.unwrap(),
        Some(checkpoint(2, "two, co-signed"))
    );
    not_found(
        apply1(
            &*store,
            Write::PutLogCheckpoint(LogCheckpoint {
                clinic: new_clinic_id(),
                ..checkpoint(0, "x")
            }),
        )
        .await,
        "a checkpoint of an unknown clinic",
    );
}

/// Two writers appending the same index: exactly one succeeds, and the log stays dense.
pub async fn concurrent_log_appends(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = w.clinic;
    for round in 0..8u64 {
        let (a, b) = race(
            &store,
            vec![append_leaf(log_leaf(c, round, None), vec![])],
            vec![append_leaf(log_leaf(c, round, None), vec![])],
        )
        .await;
        assert!(
            a.is_ok() != b.is_ok(),
            "round {round}: exactly one append wins ({a:?}, {b:?})"
        );
        assert_eq!(store.log_size(c).await.unwrap(), round + 1);
    }
}

// Witness co-signatures of the access log (`Write::PutLogCosignature`) are checked in their own
// file.
mod witness;
pub use witness::witness_cosignatures;

// Patient reports (`Write::AddReport`) are checked in their own file.
mod reports;
pub use reports::patient_reports;

// ----------------------------------------------------------------------------------------------
// Detection alerts (schema 3).

fn alert(clinic: ClinicId, kind: AlertKind, actor: Option<UserId>, created_at: i64) -> Alert {
    Alert {
        clinic,
        id: AlertId::from_bytes(rnd()),
        kind,
        actor,
        count: 31,
        window_s: 600,
        log_index: None,
        created_at,
        acknowledged_by: None,
        acknowledged_at: None,
    }
}

/// `RaiseAlert`, `AcknowledgeAlert` and `alerts`: newest first (ties by insertion), limited,
/// acknowledged once, kept per clinic; unknown clinics, actors and alerts are refused.
pub async fn alerts(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = w.clinic;
    assert!(store.alerts(c, 10).await.unwrap().is_empty());
    let decoy = alert(c, AlertKind::DecoyAccess, Some(w.therapist.id), T0);
    let rate = alert(c, AlertKind::ChartOpeningRate, Some(w.therapist.id), T0 + 5);
    let burst = Alert {
        count: 12,
        window_s: 300,
        ..alert(c, AlertKind::FailedLoginBurst, None, T0 + 5)
    };
    let report = Alert {
        count: 1,
        window_s: 0,
        log_index: Some(u64::MAX >> 1),
        ..alert(c, AlertKind::PatientReport, Some(w.admin.id), T0 + 1)
    };
    for a in [&decoy, &rate, &burst, &report] {
        ok(
            apply1(&*store, Write::RaiseAlert(a.clone())).await,
            "raising an alert",
        );
    }
    assert_eq!(
        store.alerts(c, 10).await.unwrap(),
        vec![burst.clone(), rate.clone(), report.clone(), decoy.clone()],
        "newest first; the same second in reverse order of insertion"
    );
    assert_eq!(
        store.alerts(c, 2).await.unwrap(),
        vec![burst.clone(), rate.clone()],
        "at most the limit"
    );
    conflict(
        apply1(&*store, Write::RaiseAlert(decoy.clone())).await,
        "an alert id raised twice",
    );
    conflict(
        apply1(
            &*store,
            Write::RaiseAlert(Alert {
                acknowledged_by: Some(w.admin.id),
                acknowledged_at: Some(T0),
                ..alert(c, AlertKind::DecoyAccess, None, T0)
            }),
        )
        .await,
        "a new alert that is already acknowledged",
    );
    conflict(
        apply1(
            &*store,
            Write::RaiseAlert(Alert {
                count: u64::MAX,
                ..alert(c, AlertKind::FailedLoginBurst, None, T0)
            }),
        )
        .await,
        "a count above i64::MAX",
    );
    not_found(
        apply1(
            &*store,
            Write::RaiseAlert(alert(new_clinic_id(), AlertKind::DecoyAccess, None, T0)),
        )
        .await,
        "an alert of an unknown clinic",
    );
    not_found(
        apply1(
            &*store,
            Write::RaiseAlert(alert(c, AlertKind::DecoyAccess, Some(new_user_id()), T0)),
        )
        .await,
        "an alert naming an unknown actor",
    );

    // Acknowledging: recorded once, the first acknowledgement kept.
    let ack = |id: AlertId, by: UserId, at: i64| Write::AcknowledgeAlert {
        clinic: c,
        id,
        by,
        at,
    };
    ok(
        apply1(&*store, ack(rate.id, w.admin.id, T0 + 100)).await,
        "acknowledging",
    );
    ok(
        apply1(&*store, ack(rate.id, w.therapist.id, T0 + 200)).await,
        "acknowledging again changes nothing",
    );
    let listed = store.alerts(c, 10).await.unwrap();
    let acknowledged = listed.iter().find(|a| a.id == rate.id).unwrap();
    assert_eq!(acknowledged.acknowledged_by, Some(w.admin.id));
    assert_eq!(acknowledged.acknowledged_at, Some(T0 + 100));
    assert!(
        listed
            .iter()
            .filter(|a| a.id != rate.id)
            .all(|a| a.acknowledged_by.is_none() && a.acknowledged_at.is_none()),
        "only that alert"
    );
    not_found(
        apply1(&*store, ack(AlertId::from_bytes(rnd()), w.admin.id, T0)).await,
        "acknowledging an unknown alert",
    );
    not_found(
        apply1(&*store, ack(decoy.id, new_user_id(), T0)).await,
        "acknowledged by an unknown account",
    );

    // Another clinic sees none of these, and cannot acknowledge them.
    let other = world(&*store).await;
    assert!(store.alerts(other.clinic, 10).await.unwrap().is_empty());
    not_found(
        apply1(
            &*store,
            Write::AcknowledgeAlert {
                clinic: other.clinic,
                id: decoy.id,
                by: other.admin.id,
                at: T0,
            },
        )
        .await,
        "acknowledging another clinic's alert",
    );
    not_found(
        apply1(
            &*store,
            Write::RaiseAlert(alert(
                other.clinic,
                AlertKind::DecoyAccess,
                Some(w.therapist.id),
                T0,
            )),
        )
        .await,
        "an alert naming another clinic's account",
    );
    // A failed write in a batch takes the alert with it.
    let lost = alert(c, AlertKind::DecoyAccess, None, T0 + 9);
    conflict(
        store
            .apply(vec![
                Write::RaiseAlert(lost.clone()),
                Write::RaiseAlert(decoy.clone()),
            ])
            .await,
        "a batch whose second alert exists",
    );
    assert!(
        store
            .alerts(c, 10)
            .await
            .unwrap()
            .iter()
            .all(|a| a.id != lost.id),
        "the failed batch raised nothing"
    );
}

/// `EndSessions`: every session of the user ends, other users' stay, the account stays active.
pub async fn end_sessions(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let mine = [
        session(w.clinic, w.therapist.id, T0 + 3600),
        session(w.clinic, w.therapist.id, T0 + 7200),
    ];
    let theirs = session(w.clinic, w.admin.id, T0 + 3600);
    for s in mine.iter().chain([&theirs]) {
        ok(store.create_session(s).await, "creating a session");
    }
    ok(
        apply1(
            &*store,
            Write::EndSessions {
                clinic: w.clinic,
                user: w.therapist.id,
            },
        )
        .await,
        "ending the therapist's sessions",
    );
    for s in &mine {
        assert_eq!(store.session(&s.token_hash, T0).await.unwrap(), None);
    }
    assert_eq!(
        store.session(&theirs.token_hash, T0).await.unwrap(),
        Some(theirs.clone()),
        "another user's session stays"
    );
    assert_eq!(
        store
            .account(w.clinic, w.therapist.id)
            .await
            .unwrap()
            .map(|a| a.status),
        Some(AccountStatus::Active),
        "the account stays active: logging in again works"
    );
    let again = session(w.clinic, w.therapist.id, T0 + 3600);
    ok(store.create_session(&again).await, "a new session");
    ok(
        apply1(
            &*store,
            Write::EndSessions {
                clinic: w.clinic,
                user: w.admin.id,
            },
        )
        .await,
        "ending the admin's sessions",
    );
    assert_eq!(
        store.session(&again.token_hash, T0).await.unwrap(),
        Some(again.clone()),
        "ending one user's sessions leaves another's"
    );
    not_found(
        apply1(
            &*store,
            Write::EndSessions {
                clinic: w.clinic,
                user: new_user_id(),
            },
        )
        .await,
        "an unknown account",
    );
    let other = world(&*store).await;
    not_found(
        apply1(
            &*store,
            Write::EndSessions {
                clinic: other.clinic,
                user: w.therapist.id,
            },
        )
        .await,
        "another clinic's account",
    );
    assert_eq!(
        store.session(&again.token_hash, T0).await.unwrap(),
        Some(again),
        "untouched by the refused write"
    );
}
