//! The in-process harness the integration tests of `vaiti-client` share: the real server
//! (`vaiti_server::router`) on a free local port over a fresh store of either backend, a second
//! connection to the store's tables (the attacker's, or the DBA's, hands on the data), and the
//! logged-in members of staff the tests act as.
//!
//! A case declared with [`on_both_backends!`] runs on both stores, as `sqlite::<case>` and
//! `postgres::<case>`: SQLite in a temporary directory, PostgreSQL in a fresh schema of the
//! database at `VAITI_TEST_DATABASE_URL` (default: a local server, trust auth). Without
//! PostgreSQL the `postgres::` tests fail; they never skip. Whatever a case's stores leave
//! behind (directories, schemas, connections) is removed after it, also after a panic.
//!
//! Declared once in `tests/it/main.rs` as `mod support;`; each test module uses it as
//! `crate::support`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::Digest as _;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use vaiti_client::ClientError;
use vaiti_client::account::{NewClinic, Unlocked, create_clinic, login};
use vaiti_client::api::Api;
use vaiti_client::invite::{DEFAULT_INVITE_S, NewMember, complete_invites, invite_staff, signup};
use vaiti_client::session::Session;
use vaiti_core::{BranchId, Role, UserId};
use vaiti_crypto::{ClinicId, SecretKey};
use vaiti_store::conformance::{TEST_DATABASE_URL_VAR, redact_password, test_database_url};

/// The operator's clinic-creation token every test server accepts.
pub(crate) const TOKEN: &str = "operator-token-operator-token-operator-token";
/// The password of every [`User`].
pub(crate) const PASSWORD: &str = "Kesäkuun kolmas päivä";

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// 16 random bytes as lowercase hex, for unique directory and schema names.
pub(crate) fn random_name() -> String {
    let mut r = [0u8; 16];
    getrandom::fill(&mut r).unwrap();
    hex::encode(r)
}

// ---------------------------------------------------------------------------------------------
// Both backends: the tests, the run of one case, and what it leaves behind.
// ---------------------------------------------------------------------------------------------

/// Defines, for each case `async fn name(c: C)` of the calling test file, the tests
/// `sqlite::name` and `postgres::name`, each on a fresh [`Harness`] of that backend (see
/// [`run`]). `setup = f;` names the file's `async fn f(h: Harness) -> C` that builds what every
/// case starts from (a clinic on a fresh server, say); without it a case gets the [`Harness`]
/// itself. A leading `#[…]` replaces the default `#[tokio::test]`. A case left out of the list
/// is dead code, which the lints refuse.
macro_rules! on_both_backends {
    (@tests #[$test:meta] $setup:expr; $($case:ident),*) => {
        mod sqlite {
            $(
                #[$test]
                async fn $case() {
                    $crate::support::run(
                        $crate::support::Backend::Sqlite,
                        $setup,
                        super::$case,
                    )
                    .await;
                }
            )*
        }
        mod postgres {
            $(
                #[$test]
                async fn $case() {
                    $crate::support::run(
                        $crate::support::Backend::Postgres,
                        $setup,
                        super::$case,
                    )
                    .await;
                }
            )*
        }
    };
    (#[$test:meta] setup = $setup:ident; $($case:ident),* $(,)?) => {
        $crate::support::on_both_backends!(@tests #[$test] super::$setup; $($case),*);
    };
    (setup = $setup:ident; $($case:ident),* $(,)?) => {
        $crate::support::on_both_backends!(#[tokio::test] setup = $setup; $($case),*);
    };
    (#[$test:meta] $($case:ident),* $(,)?) => {
        $crate::support::on_both_backends!(@tests #[$test] ::std::future::ready; $($case),*);
    };
    ($($case:ident),* $(,)?) => {
        $crate::support::on_both_backends!(#[tokio::test] $($case),*);
    };
}
pub(crate) use on_both_backends;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `setup` and then the case on what it built, on a fresh [`Harness`] of `backend`; then
/// removes everything the harness made (stores' directories and schemas, second connections,
/// directories) — also when setup or case panicked, whose panic then fails the test.
pub(crate) async fn run<S, SetupFut, C, F, Fut>(backend: Backend, setup: S, case: F)
where
    S: FnOnce(Harness) -> SetupFut + Send + 'static,
    SetupFut: Future<Output = C> + Send,
    F: FnOnce(C) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let h = Harness {
        backend,
        leftovers: Arc::default(),
    };
    let for_case = h.clone();
    let outcome = tokio::spawn(async move { case(setup(for_case).await).await }).await;
    h.clean_up().await;
    match outcome {
        Ok(()) => {}
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("the test's task failed: {e}"),
    }
}

/// One case's backend, and what its stores leave behind, removed after the case.
#[derive(Clone)]
pub(crate) struct Harness {
    pub(crate) backend: Backend,
    leftovers: Arc<Mutex<Vec<Leftover>>>,
}

/// Something a case made that [`run`] removes afterwards.
enum Leftover {
    /// A second connection, closed before its store goes.
    Db(Db),
    Sqlite(Arc<vaiti_store::SqliteStore>, PathBuf),
    Postgres(Arc<vaiti_store::PostgresStore>),
    Dir(PathBuf),
}

/// A fresh store, and a second connection to its tables.
pub(crate) struct TestStore {
    /// What the server runs on.
    pub(crate) store: Arc<dyn vaiti_store::Store>,
    /// The attacker's hands on the data.
    pub(crate) db: Db,
    /// The SQLite store's directory (`None` on PostgreSQL).
    pub(crate) dir: Option<PathBuf>,
}

impl Harness {
    fn leave(&self, leftover: Leftover) {
        self.leftovers.lock().unwrap().push(leftover);
    }

    /// A fresh store of this backend named after `name` (a directory `vaiti-{name}-…` or a
    /// schema `vaiti_{name}_…`), and a second connection to its tables.
    ///
    /// # Panics
    /// If PostgreSQL cannot be reached: a missing database fails the tests, it never skips them.
    pub(crate) async fn store(&self, name: &str) -> TestStore {
        match self.backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("vaiti-{name}-{}", random_name()));
                let store = Arc::new(vaiti_store::SqliteStore::open(&dir).await.unwrap());
                self.leave(Leftover::Sqlite(store.clone(), dir.clone()));
                let pool = SqlitePool::connect_with(
                    sqlx::sqlite::SqliteConnectOptions::new()
                        .filename(dir.join(vaiti_store::SqliteStore::FILE_NAME))
                        .busy_timeout(std::time::Duration::from_secs(10)),
                )
                .await
                .unwrap();
                let db = Db::Sqlite(pool);
                self.leave(Leftover::Db(db.clone()));
                TestStore {
                    store,
                    db,
                    dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let url = test_database_url();
                let schema = format!("vaiti_{name}_{}", random_name());
                let store = match vaiti_store::PostgresStore::connect_in_schema(&url, &schema).await
                {
                    Ok(store) => Arc::new(store),
                    Err(e) => panic!(
                        "the PostgreSQL tests need a database at {} and could not use it: {e}. \
                         Start PostgreSQL or set {TEST_DATABASE_URL_VAR}; these tests fail \
                         rather than skip.",
                        redact_password(&url)
                    ),
                };
                self.leave(Leftover::Postgres(store.clone()));
                // The tables are in `schema` only: every connection looks there first.
                let search_path: Arc<str> = Arc::from(schema.as_str());
                let pool = PgPoolOptions::new()
                    .max_connections(2)
                    .after_connect(move |conn, _meta| {
                        let search_path = Arc::clone(&search_path);
                        Box::pin(async move {
                            sqlx::query("SELECT set_config('search_path', $1, false)")
                                .bind(&*search_path)
                                .execute(&mut *conn)
                                .await
                                .map(|_| ())
                        })
                    })
                    .connect(&url)
                    .await
                    .unwrap();
                let db = Db::Postgres(pool);
                self.leave(Leftover::Db(db.clone()));
                TestStore {
                    store,
                    db,
                    dir: None,
                }
            }
        }
    }

    /// A fresh path `vaiti-{name}-…` in the temporary directory (not created), removed after
    /// the case.
    pub(crate) fn temp_dir(&self, name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vaiti-{name}-{}", random_name()));
        self.leave(Leftover::Dir(dir.clone()));
        dir
    }

    /// Closes the second connections, then closes and removes the stores and directories.
    /// Failures are printed, not raised: this also runs after a failed case, whose message must
    /// stay the failure.
    async fn clean_up(&self) {
        let leftovers = std::mem::take(&mut *self.leftovers.lock().unwrap());
        for leftover in &leftovers {
            if let Leftover::Db(db) = leftover {
                db.close().await;
            }
        }
        for leftover in leftovers {
            match leftover {
                Leftover::Db(_) => {}
                Leftover::Sqlite(store, dir) => {
                    store.close().await;
                    remove_dir(&dir);
                }
                Leftover::Postgres(store) => {
                    if let Err(e) = store.drop_schema().await {
                        eprintln!("warning: could not drop the test schema: {e}");
                    }
                }
                Leftover::Dir(dir) => remove_dir(&dir),
            }
        }
    }
}

/// Removes `dir` if it exists; a failure is a warning.
fn remove_dir(dir: &Path) {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            eprintln!("warning: could not remove {}: {e}", dir.display());
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// The server.
// ---------------------------------------------------------------------------------------------

/// Starts the real server over `store`, accepting [`TOKEN`], on a free local port; returns its
/// URL. `app` makes what is served from the server's state: `vaiti_server::router`, perhaps with
/// a layer in front of it (a malicious server) or after configuring the state (detection).
pub(crate) async fn start_server(
    store: Arc<dyn vaiti_store::Store>,
    app: impl FnOnce(vaiti_server::AppState) -> axum::Router,
) -> String {
    let state = vaiti_server::AppState::new(
        store,
        Some(sha2::Sha256::digest(TOKEN.as_bytes()).into()),
        vaiti_server::system_clock(),
    )
    .await
    .unwrap();
    let app = app(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

// ---------------------------------------------------------------------------------------------
// The second connection.
// ---------------------------------------------------------------------------------------------

/// A second connection to the store's database: the attacker's hands on the data. Statements
/// number their placeholders `$1, $2, …` in order of appearance, which both databases accept
/// (the store runs its own statements the same way).
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A value bound to a tampering statement: ids, hashes and ciphertext, or an integer (every
/// integer column is a BIGINT on PostgreSQL, so always an `i64`), or text.
pub(crate) enum Arg {
    Bytes(Vec<u8>),
    Int(i64),
    Text(String),
}

impl From<String> for Arg {
    fn from(text: String) -> Arg {
        Arg::Text(text)
    }
}

impl From<Vec<u8>> for Arg {
    fn from(bytes: Vec<u8>) -> Arg {
        Arg::Bytes(bytes)
    }
}

impl From<i64> for Arg {
    fn from(int: i64) -> Arg {
        Arg::Int(int)
    }
}

/// One tampering statement and its arguments, run like an `sqlx` query on either database.
#[must_use]
pub(crate) struct Statement<'a> {
    db: &'a Db,
    sql: &'static str,
    args: Vec<Arg>,
}

/// `$query` with `$args` bound in order.
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Bytes(bytes) => query.bind(bytes),
                Arg::Int(int) => query.bind(int),
                Arg::Text(text) => query.bind(text),
            };
        }
        query
    }};
}

impl Db {
    pub(crate) fn query(&self, sql: &'static str) -> Statement<'_> {
        Statement {
            db: self,
            sql,
            args: Vec::new(),
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

impl Statement<'_> {
    pub(crate) fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Runs the statement; returns how many rows it changed.
    pub(crate) async fn execute(self) -> u64 {
        let done = match self.db {
            Db::Sqlite(pool) => bind_all!(sqlx::query(self.sql), self.args)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()),
            Db::Postgres(pool) => bind_all!(sqlx::query(self.sql), self.args)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()),
        };
        done.unwrap_or_else(|e| panic!("tampering failed: {e}\n{}", self.sql))
    }

    /// The one row the statement selects.
    pub(crate) async fn fetch_one<T>(self) -> T
    where
        T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        let row = match self.db {
            Db::Sqlite(pool) => {
                bind_all!(sqlx::query_as(self.sql), self.args)
                    .fetch_one(pool)
                    .await
            }
            Db::Postgres(pool) => {
                bind_all!(sqlx::query_as(self.sql), self.args)
                    .fetch_one(pool)
                    .await
            }
        };
        row.unwrap_or_else(|e| panic!("reading the store failed: {e}\n{}", self.sql))
    }

    /// Every row the statement selects.
    pub(crate) async fn fetch_all<T>(self) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        let rows = match self.db {
            Db::Sqlite(pool) => {
                bind_all!(sqlx::query_as(self.sql), self.args)
                    .fetch_all(pool)
                    .await
            }
            Db::Postgres(pool) => {
                bind_all!(sqlx::query_as(self.sql), self.args)
                    .fetch_all(pool)
                    .await
            }
        };
        rows.unwrap_or_else(|e| panic!("reading the store failed: {e}\n{}", self.sql))
    }

    /// The one value the statement selects.
    pub(crate) async fn fetch_scalar<T>(self) -> T
    where
        (T,):
            for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        self.fetch_one::<(T,)>().await.0
    }
}

// ---------------------------------------------------------------------------------------------
// Members of staff.
// ---------------------------------------------------------------------------------------------

/// One member of staff, logged in on their own device.
pub(crate) struct User {
    pub(crate) api: Api,
    pub(crate) me: Unlocked,
    pub(crate) email: &'static str,
    pub(crate) secret_key: SecretKey,
}

impl User {
    pub(crate) async fn log_in(
        url: &str,
        clinic: ClinicId,
        email: &'static str,
        sk: SecretKey,
    ) -> Self {
        let mut api = Api::new(url).unwrap();
        let me = login(&mut api, clinic, email, &sk, PASSWORD).await.unwrap();
        Self {
            api,
            me,
            email,
            secret_key: sk,
        }
    }

    /// Fetches and verifies the directory, as every command does first.
    pub(crate) async fn session(&self) -> Result<Session<'_>, ClientError> {
        Session::open(&self.api, &self.me, now()).await
    }

    pub(crate) fn id(&self) -> UserId {
        self.me.account.id
    }

    /// `rest` under this user's clinic, as an API path.
    pub(crate) fn path(&self, rest: &str) -> String {
        format!("{}{rest}", self.me.clinic_path())
    }

    /// Logs in again on a fresh device (same secrets).
    pub(crate) async fn log_in_again(&self, url: &str) -> Result<Unlocked, ClientError> {
        let mut api = Api::new(url).unwrap();
        login(
            &mut api,
            self.me.clinic,
            self.email,
            &self.secret_key,
            PASSWORD,
        )
        .await
    }

    /// Whether this device's session still works.
    pub(crate) async fn session_works(&self) -> bool {
        match self.api.get::<serde_json::Value>(&self.path("/me")).await {
            Ok(_) => true,
            Err(ClientError::Api { status: 401, .. }) => false,
            Err(e) => panic!("GET /me failed otherwise: {e}"),
        }
    }
}

/// Creates the clinic "Terapiakeskus Esimerkki" on the server at `url`, its escrow key split
/// into `escrow_shares` shares (any two rebuild it), with `admin_email` as its first admin, who
/// then logs in and creates the branch `branch`.
pub(crate) async fn found_clinic(
    url: &str,
    admin_email: &'static str,
    escrow_shares: u8,
    branch: &str,
) -> (User, BranchId) {
    let created = create_clinic(
        &Api::new(url).unwrap(),
        &NewClinic {
            name: "Terapiakeskus Esimerkki",
            admin_email,
            admin_name: Some("Aino Admin"),
            escrow_threshold: 2,
            escrow_shares,
            password: PASSWORD,
            creation_token: TOKEN,
            now: now(),
        },
    )
    .await
    .unwrap();
    let admin = User::log_in(url, created.clinic, admin_email, created.secret_key).await;
    let branch = vaiti_client::admin::create_branch(&admin.api, &admin.me, branch, now())
        .await
        .unwrap();
    let branch = BranchId::from_bytes(branch.to_bytes());
    (admin, branch)
}

/// Signs up with `code` on a fresh device with [`PASSWORD`]: a member of staff with their
/// invited `email`, a patient with `None`.
pub(crate) async fn sign_up(
    url: &str,
    code: &vaiti_client::invite::InviteCode,
    email: Option<&str>,
) -> vaiti_client::invite::SignedUpAccount {
    signup(
        &Api::new(url).unwrap(),
        &NewMember {
            code,
            email,
            display_name: None,
            password: PASSWORD,
            now: now(),
        },
    )
    .await
    .unwrap()
}

/// The admin invites everyone in `staff` (an email and a role each) to `branch`; each signs up;
/// the admin's next sync certifies them. Returns them logged in, in the order of `staff`.
pub(crate) async fn hire<const N: usize>(
    admin: &User,
    url: &str,
    branch: &str,
    staff: [(&'static str, Role); N],
) -> [User; N] {
    let mut codes = Vec::new();
    {
        let s = admin.session().await.unwrap();
        for (email, role) in staff {
            let invite = invite_staff(&s, email, &[role], &[branch.to_string()], DEFAULT_INVITE_S)
                .await
                .unwrap();
            codes.push(invite.code);
        }
    }
    let mut secret_keys = Vec::new();
    for ((email, _), code) in staff.iter().zip(&codes) {
        secret_keys.push(sign_up(url, code, Some(email)).await.secret_key);
    }
    {
        let s = admin.session().await.unwrap();
        assert_eq!(complete_invites(&s).await.unwrap().len(), N);
    }
    let mut users = Vec::new();
    for ((email, _), secret_key) in staff.into_iter().zip(secret_keys) {
        users.push(User::log_in(url, admin.me.clinic, email, secret_key).await);
    }
    let mut users = users.into_iter();
    std::array::from_fn(|_| users.next().unwrap())
}
