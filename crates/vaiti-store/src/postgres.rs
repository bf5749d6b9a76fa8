//! The PostgreSQL store, for servers that already run PostgreSQL.
//!
//! It never creates a database: a URL naming one that does not exist is an error, as a mistyped
//! SQLite path is. Only `postgres://` and `postgresql://` URLs are accepted, so a SQLite or MySQL
//! URL given by mistake is refused with a message that says so rather than a driver error.
//!
//! Transactions run at READ COMMITTED (set explicitly, not inherited from the server's default).
//! Sequence preconditions hold under concurrency because the schema's primary keys refuse the
//! second of two equal appends, and manifest and invite changes are compare-and-set `UPDATE`s
//! that re-check their condition on the newest row. Tests open the store in a schema of their
//! own ([`PostgresStore::connect_in_schema`]) and drop it afterwards.
//!
//! The behaviour itself (preconditions, statements) lives in `sql.rs`, shared with SQLite.

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Connection as _, Postgres};

use crate::sql::{SqlStore, forward_store, impl_exec, latest_records};
use crate::{Result, StoreError};

/// How long to wait for PostgreSQL to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_CONNECTIONS: u32 = 8;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl_exec!(
    PgConnection,
    Postgres,
    PgRow,
    begin: "BEGIN ISOLATION LEVEL READ COMMITTED",
    latest_records: latest_records!("(SELECT k::bigint FROM json_array_elements_text($3::json) AS t(k))"),
    // FOR SHARE conflicts with the row lock a revocation's UPDATE takes: see `create_session`.
    lock_account_status: "SELECT status FROM accounts WHERE clinic_id = $1 AND user_id = $2 FOR SHARE",
);

/// The PostgreSQL store. Cheap to share: clone an `Arc` of it, not the store.
pub struct PostgresStore {
    inner: SqlStore<Postgres>,
    /// The schema of [`PostgresStore::connect_in_schema`], as a quoted identifier.
    schema: Option<String>,
}

/// Never prints the URL: it may hold a password.
impl core::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://` or `postgresql://`) and brings its schema
    /// up to date. The database must exist; it is never created.
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        connect(url, None).await
    }

    /// Like [`PostgresStore::connect`], but keeps every table in `schema` (created if missing): each
    /// pooled connection's `search_path` is set to it. For tests, which each use a fresh schema and
    /// [`drop_schema`](Self::drop_schema) it afterwards. `schema` must be a plain lowercase
    /// identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes).
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<PostgresStore> {
        let quoted = quoted_schema(schema)?;
        connect(url, Some(quoted)).await
    }

    /// Drops the schema of [`connect_in_schema`](Self::connect_in_schema) with everything in it,
    /// and closes the pool. Conflict if the store was opened with [`connect`](Self::connect): that
    /// schema is the real one.
    pub async fn drop_schema(&self) -> Result<()> {
        let Some(schema) = &self.schema else {
            return Err(StoreError::Conflict(
                "the store was not opened in a schema of its own",
            ));
        };
        let result = sqlx::query(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .persistent(false)
        .execute(&self.inner.pool)
        .await;
        self.inner.pool.close().await;
        result.map(|_| ()).map_err(StoreError::from)
    }

    /// Waits for in-flight work and closes every connection.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }
}

forward_store!(PostgresStore);

/// Checks the scheme before sqlx parses the URL, so the error names the actual problem. The
/// message quotes only the scheme, never the URL, which may hold a password.
fn parse_url(url: &str) -> Result<PgConnectOptions> {
    const EXPECTED: &str = "expected a postgres:// or postgresql:// URL";
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme)
        .or_else(|| url.split_once(':').map(|(s, _)| s));
    let plausible = |s: &str| {
        !s.is_empty()
            && s.len() <= 20
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    };
    match scheme {
        Some(s)
            if (s.eq_ignore_ascii_case("postgres") || s.eq_ignore_ascii_case("postgresql"))
                && url.contains("://") =>
        {
            PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Open(format!("invalid PostgreSQL URL: {e}")))
        }
        Some(s) if plausible(s) => Err(StoreError::Open(format!("{EXPECTED}, not a `{s}:` URL"))),
        _ => Err(StoreError::Open(format!(
            "{EXPECTED}; this has no URL scheme"
        ))),
    }
}

/// A schema name as a quoted identifier, refusing anything but a plain lowercase name (it is
/// spliced into DDL, which takes no parameters).
fn quoted_schema(schema: &str) -> Result<String> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    if first_ok
        && schema.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        Ok(format!("\"{schema}\""))
    } else {
        Err(StoreError::Open(format!(
            "not a plain schema name: {schema:?}"
        )))
    }
}

async fn connect(url: &str, schema: Option<String>) -> Result<PostgresStore> {
    let options = parse_url(url)?;

    // One plain connection first: its error says exactly what is wrong (refused, authentication,
    // no such database), where the pool would retry a refused connection until its timeout and
    // then report only that it timed out.
    let mut probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
        .await
        .map_err(|_| StoreError::Open("timed out connecting to PostgreSQL".into()))?
        .map_err(|e| StoreError::Open(format!("cannot connect to PostgreSQL: {e}")))?;
    if let Some(schema) = &schema {
        let created = sqlx::query(AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}"
        )))
        .persistent(false)
        .execute(&mut probe)
        .await;
        if let Err(e) = created {
            drop(probe.close().await);
            return Err(StoreError::Open(format!(
                "cannot create schema {schema}: {e}"
            )));
        }
    }
    drop(probe.close().await);

    let mut pool_options = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(CONNECT_TIMEOUT);
    if let Some(schema) = &schema {
        // Only this schema: a table missing from it must be an error, not found in `public`.
        let search_path: Arc<str> = Arc::from(schema.as_str());
        pool_options = pool_options.after_connect(move |conn, _meta| {
            let search_path = Arc::clone(&search_path);
            Box::pin(async move {
                sqlx::query("SELECT set_config('search_path', $1, false)")
                    .bind(&*search_path)
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
            })
        });
    }
    let pool = pool_options
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Open(format!("cannot connect to PostgreSQL: {e}")))?;
    if let Err(e) = MIGRATOR.run(&pool).await {
        pool.close().await;
        return Err(StoreError::Open(format!(
            "cannot migrate the PostgreSQL database: {e}"
        )));
    }
    Ok(PostgresStore {
        inner: SqlStore { pool },
        schema,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_postgres_urls_are_accepted() {
        for ok in [
            "postgres://u@localhost/db",
            "postgresql://u@localhost:5432/db",
            "POSTGRES://u@h/db",
        ] {
            assert!(parse_url(ok).is_ok(), "{ok}");
        }
        for (bad, says) in [
            ("sqlite:foo", "not a `sqlite:` URL"),
            ("sqlite://foo.db", "not a `sqlite:` URL"),
            ("mysql://root@127.0.0.1/test", "not a `mysql:` URL"),
            ("postgres:foo", "not a `postgres:` URL"),
            ("", "no URL scheme"),
            ("/var/lib/vaiti", "no URL scheme"),
        ] {
            let err = parse_url(bad).unwrap_err();
            assert!(matches!(err, StoreError::Open(_)), "{bad}: {err:?}");
            let msg = err.to_string();
            assert!(
                msg.contains("postgres://") && msg.contains(says),
                "{bad}: {msg}"
            );
        }
    }

    #[test]
    fn errors_never_echo_a_password() {
        let msg = parse_url("mysql://admin:hunter2@db/x")
            .unwrap_err()
            .to_string();
        assert!(!msg.contains("hunter2"), "{msg}");
        let msg = parse_url("admin:hunter2@db").unwrap_err().to_string();
        assert!(!msg.contains("hunter2"), "{msg}");
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert_eq!(quoted_schema("vaiti_test_01").unwrap(), "\"vaiti_test_01\"");
        for bad in [
            "",
            "Public",
            "a-b",
            "a\"b",
            "x; DROP TABLE y",
            "1abc",
            &"a".repeat(64),
        ] {
            assert!(
                matches!(quoted_schema(bad), Err(StoreError::Open(_))),
                "{bad}"
            );
        }
    }
}
