//! The conformance suite against both backends — SQLite in a fresh temporary directory and
//! PostgreSQL in a fresh schema of `VAITI_TEST_DATABASE_URL` (default
//! `postgres://root@127.0.0.1:5432/test`) — plus how each backend refuses a bad location.
//!
//! PostgreSQL being unreachable fails these tests with a message saying so; they never skip.

use std::path::PathBuf;
use std::sync::Arc;

use vaiti_core::ObjectId;
use vaiti_store::conformance::{self, Fixture};
use vaiti_store::{PostgresStore, SqliteStore, Store, StoreError, Write};

mod sqlite {
    vaiti_store::conformance_tests!(vaiti_store::conformance::Fixture::sqlite());
}

mod postgres {
    vaiti_store::conformance_tests!(vaiti_store::conformance::Fixture::postgres());
}

fn temp_path(label: &str) -> PathBuf {
    let id = ObjectId::generate().unwrap();
    std::env::temp_dir().join(format!("vaiti-store-{label}-{id}"))
}

/// The test URL with its database name replaced.
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    format!("{scheme}://{authority}/{database}")
}

// `run_all` on one store shared by every check, as another crate would call it. One test per
// backend, so a failure in one never leaves the other's fixture uncleaned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_on_one_shared_sqlite_store() {
    conformance::run_check(Fixture::sqlite().await, |store| {
        Box::pin(conformance::run_all(store))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_on_one_shared_postgres_store() {
    conformance::run_check(Fixture::postgres().await, |store| {
        Box::pin(conformance::run_all(store))
    })
    .await;
}

#[tokio::test]
async fn postgres_never_creates_a_missing_database() {
    let url = conformance::test_database_url();
    // First prove the server is there, so this cannot pass just because nothing answers.
    let reachable = Fixture::postgres().await;
    reachable.cleanup().await;

    let typo = with_database(&url, "no_such_db_typo");
    let err = PostgresStore::connect(&typo)
        .await
        .expect_err("connecting to a database that does not exist");
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Open(_)), "{err:?}");
    assert!(
        msg.contains("no_such_db_typo") && msg.contains("does not exist"),
        "{msg}"
    );

    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = 'no_such_db_typo'")
            .fetch_optional(&mut conn)
            .await
            .unwrap();
    assert_eq!(found, None, "the database was not created");
}

#[tokio::test]
async fn postgres_refuses_other_url_schemes() {
    let cwd_before: Vec<_> = std::fs::read_dir(".")
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    for (url, scheme) in [
        ("sqlite:foo", "sqlite"),
        ("sqlite://vaiti.sqlite3", "sqlite"),
        ("mysql://root@127.0.0.1:3306/test", "mysql"),
        ("postgres:/var/run/postgresql", "postgres"),
    ] {
        let err = PostgresStore::connect(url).await.expect_err(url);
        let msg = err.to_string();
        assert!(matches!(err, StoreError::Open(_)), "{url}: {err:?}");
        assert!(
            msg.contains("postgres://") && msg.contains(&format!("`{scheme}:`")),
            "{url}: {msg}"
        );
    }
    let err = PostgresStore::connect("/var/lib/vaiti")
        .await
        .expect_err("a path");
    assert!(err.to_string().contains("no URL scheme"), "{err}");
    let cwd_after: Vec<_> = std::fs::read_dir(".")
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(cwd_before, cwd_after, "refusing a URL created no file");
}

#[tokio::test]
async fn postgres_schema_names_are_checked_and_reopening_a_schema_keeps_its_data() {
    let url = conformance::test_database_url();
    let err = PostgresStore::connect_in_schema(&url, "bad\"; DROP SCHEMA public; --")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Open(_)), "{err:?}");

    let schema = format!("vaiti_test_{}", ObjectId::generate().unwrap());
    let first = PostgresStore::connect_in_schema(&url, &schema)
        .await
        .unwrap();
    let clinic = vaiti_core::Clinic {
        id: vaiti_core::ClinicId::generate().unwrap(),
        manifest: vaiti_core::Sealed(b"m".to_vec()),
        manifest_signature: vaiti_core::Sealed(b"s".to_vec()),
        manifest_version: 1,
        created_at: 0,
    };
    first
        .apply(vec![Write::CreateClinic(clinic.clone())])
        .await
        .unwrap();
    first.close().await;
    // Migrations run again and find nothing to do; the data is still there.
    let second = PostgresStore::connect_in_schema(&url, &schema)
        .await
        .unwrap();
    assert_eq!(second.clinic(clinic.id).await.unwrap(), Some(clinic));
    second.drop_schema().await.unwrap();
}

#[tokio::test]
async fn sqlite_open_existing_refuses_a_missing_file_and_creates_nothing() {
    let dir = temp_path("missing");
    let file = dir.join(SqliteStore::FILE_NAME);
    let err = SqliteStore::open_existing(&file)
        .await
        .expect_err("a missing database file");
    assert!(matches!(err, StoreError::Open(_)), "{err:?}");
    assert!(!dir.exists(), "nothing was created");

    std::fs::create_dir_all(&dir).unwrap();
    let err = SqliteStore::open_existing(&file)
        .await
        .expect_err("a missing file in an existing directory");
    assert!(matches!(err, StoreError::Open(_)), "{err:?}");
    let err = SqliteStore::open_existing(&dir)
        .await
        .expect_err("a directory is not a database file");
    assert!(matches!(err, StoreError::Open(_)), "{err:?}");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing was created"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn sqlite_open_creates_the_store_once_and_reopens_it() {
    let dir = temp_path("reopen");
    let store = SqliteStore::open(&dir).await.unwrap();
    let file = dir.join(SqliteStore::FILE_NAME);
    assert_eq!(store.path(), file);
    assert!(file.is_file(), "open created the database file");
    let clinic = vaiti_core::Clinic {
        id: vaiti_core::ClinicId::generate().unwrap(),
        manifest: vaiti_core::Sealed(b"m".to_vec()),
        manifest_signature: vaiti_core::Sealed(b"s".to_vec()),
        manifest_version: 1,
        created_at: 0,
    };
    store
        .apply(vec![Write::CreateClinic(clinic.clone())])
        .await
        .unwrap();
    store.close().await;

    let again = SqliteStore::open(&dir).await.unwrap();
    assert_eq!(
        again.clinic(clinic.id).await.unwrap(),
        Some(clinic.clone()),
        "open reuses the store"
    );
    again.close().await;
    let existing: Arc<dyn Store> = Arc::new(SqliteStore::open_existing(&file).await.unwrap());
    assert_eq!(
        existing.clinic(clinic.id).await.unwrap(),
        Some(clinic),
        "open_existing finds it"
    );
    drop(existing);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn sqlite_open_refuses_a_file_as_its_data_directory() {
    let path = temp_path("file");
    std::fs::write(&path, b"not a directory").unwrap();
    let err = SqliteStore::open(&path)
        .await
        .expect_err("a file as the data directory");
    assert!(matches!(err, StoreError::Open(_)), "{err:?}");
    std::fs::remove_file(&path).unwrap();

    let garbage = temp_path("garbage");
    std::fs::create_dir_all(&garbage).unwrap();
    std::fs::write(
        garbage.join(SqliteStore::FILE_NAME),
        b"this is not a SQLite database, just text",
    )
    .unwrap();
    let err = SqliteStore::open(&garbage)
        .await
        .expect_err("a file that is not a SQLite database");
    assert!(matches!(err, StoreError::Open(_)), "{err:?}");
    std::fs::remove_dir_all(&garbage).unwrap();
}
