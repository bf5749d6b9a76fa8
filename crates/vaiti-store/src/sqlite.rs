//! The embedded SQLite store, vaiti's default: one file, `vaiti.sqlite3`, in the data directory.
//!
//! Durability: WAL journal with `synchronous = FULL`, so a commit is on disk before `apply`
//! returns. `NORMAL` is the usual pairing with WAL and never corrupts the database, but a power
//! loss can roll back the last commits; a clinic must not lose a note the client was told was
//! saved, and measured here FULL still does several thousand durable writes a second.
//!
//! Concurrency: every write transaction starts with `BEGIN IMMEDIATE`, taking SQLite's single
//! write lock up front, so writers are serialised and a sequence precondition checked inside the
//! transaction cannot be invalidated before it commits. Readers are not blocked (WAL). A writer
//! waits up to the busy timeout for another to finish.
//!
//! The behaviour itself (preconditions, statements) lives in `sql.rs`, shared with PostgreSQL.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use crate::sql::{SqlStore, forward_store, impl_exec, latest_records};
use crate::{Result, StoreError};

/// How long a writer waits for another writer's transaction before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// SQLite has one writer at a time; a few connections let reads proceed beside it.
const MAX_CONNECTIONS: u32 = 4;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl_exec!(
    SqliteConnection,
    Sqlite,
    SqliteRow,
    begin: "BEGIN IMMEDIATE",
    latest_records: latest_records!("(SELECT value FROM json_each($3))"),
    // BEGIN IMMEDIATE already holds the write lock: nobody can revoke the account meanwhile.
    lock_account_status: "SELECT status FROM accounts WHERE clinic_id = $1 AND user_id = $2",
);

/// The SQLite store. Cheap to share: clone an `Arc` of it, not the store.
pub struct SqliteStore {
    inner: SqlStore<Sqlite>,
    path: PathBuf,
}

impl core::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// The database file's name inside the data directory.
    pub const FILE_NAME: &'static str = "vaiti.sqlite3";

    /// Opens the store in `data_dir`, creating the directory (owner-only on Unix) and the
    /// database on first start, and brings the schema up to date.
    pub async fn open(data_dir: &Path) -> Result<SqliteStore> {
        create_data_dir(data_dir)?;
        connect(data_dir.join(Self::FILE_NAME), true).await
    }

    /// Opens an existing database file and brings its schema up to date. Refuses
    /// ([`StoreError::Open`]) if there is no file at `path`: a mistyped path must not become a
    /// new, empty store.
    pub async fn open_existing(path: &Path) -> Result<SqliteStore> {
        if !path.is_file() {
            return Err(StoreError::Open(format!(
                "no SQLite database at {}",
                path.display()
            )));
        }
        connect(path.to_owned(), false).await
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for in-flight work and closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }
}

forward_store!(SqliteStore);

fn create_data_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if dir.exists() {
        return Err(StoreError::Open(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        // Logins, times and ciphertext: nobody but the server's user needs to read them.
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        StoreError::Open(format!(
            "cannot create the data directory {}: {e}",
            dir.display()
        ))
    })
}

async fn connect(path: PathBuf, create: bool) -> Result<SqliteStore> {
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        // Longer than the busy timeout, so a waiting writer reports SQLite's error, not the pool's.
        .acquire_timeout(BUSY_TIMEOUT + Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Open(format!("cannot open {}: {e}", path.display())))?;
    if let Err(e) = MIGRATOR.run(&pool).await {
        pool.close().await;
        return Err(StoreError::Open(format!(
            "cannot migrate {}: {e}",
            path.display()
        )));
    }
    Ok(SqliteStore {
        inner: SqlStore { pool },
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        let name = format!(
            "vaiti-sqlite-unit-{}",
            vaiti_core::ObjectId::generate().unwrap()
        );
        std::env::temp_dir().join(name)
    }

    #[tokio::test]
    async fn every_connection_is_durable_wal_with_foreign_keys() {
        let dir = temp_dir();
        let store = SqliteStore::open(&dir).await.unwrap();
        // Check more connections than one, as each connection sets its own pragmas.
        let mut conns = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            conns.push(store.inner.pool.acquire().await.unwrap());
        }
        for conn in &mut conns {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(mode, "wal");
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(sync, 2, "synchronous = FULL");
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(fk, 1);
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(busy, 10_000);
        }
        drop(conns);
        store.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_data_directory_is_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = temp_dir().join("nested");
        let store = SqliteStore::open(&dir).await.unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        store.close().await;
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }
}
