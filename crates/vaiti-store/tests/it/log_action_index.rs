//! Schema 6's `log_leaves_by_action` index: it exists after migrating, and both planners use it
//! for `last_log_leaf_with_action`'s exact statement — a descent to the newest matching leaf,
//! not a walk backwards through the clinic's whole log. SQLite in a fresh temporary directory,
//! PostgreSQL in a fresh schema of `VAITI_TEST_DATABASE_URL` (default
//! `postgres://root@127.0.0.1:5432/test`); an unreachable PostgreSQL fails, never skips.

use sqlx::{Connection as _, Row as _};
use vaiti_core::{ClinicId, ObjectId, Sealed};
use vaiti_store::conformance;
use vaiti_store::{PostgresStore, SqliteStore, Store, Write};

/// The statement of `last_log_leaf_with_action`, character for character (checked against the
/// source below): an expression index only serves a query whose expression matches it.
macro_rules! query {
    () => {
        "SELECT clinic_id, idx, leaf, leaf_hash, chart_id, created_at FROM log_leaves WHERE clinic_id = $1 AND substr(leaf, 2, 1) = $2 ORDER BY idx DESC LIMIT 1"
    };
}

const INDEX: &str = "log_leaves_by_action";
/// The action looked up (an app release), rare among the leaves.
const WANTED: u8 = 12;
const LEAVES: i64 = 2000;

#[test]
fn the_checked_statement_is_the_one_the_store_runs() {
    assert!(
        include_str!("../../src/sql.rs").contains(query!()),
        "last_log_leaf_with_action's statement changed: update this test and migration 0006"
    );
}

/// The leaf at `idx`: version byte, action byte, then a body. Most leaves are chart opens of
/// various actions; two of them, at 100 and 1500, carry WANTED.
fn leaf(idx: i64) -> Vec<u8> {
    let action = if idx == 100 || idx == 1500 {
        WANTED
    } else {
        (idx % 5) as u8 + 1
    };
    vec![1, action, 0xaa, 0xbb]
}

fn new_clinic() -> vaiti_core::Clinic {
    vaiti_core::Clinic {
        id: ClinicId::generate().unwrap(),
        manifest: Sealed(b"m".to_vec()),
        manifest_signature: Sealed(b"s".to_vec()),
        manifest_version: 1,
        created_at: 0,
    }
}

/// The newest WANTED leaf, read through the store.
async fn check_lookup(store: &dyn Store, clinic: ClinicId) {
    let found = store
        .last_log_leaf_with_action(clinic, WANTED)
        .await
        .unwrap()
        .expect("a leaf with the action");
    assert_eq!(found.index, 1500);
    assert_eq!(found.leaf.0, leaf(1500));
}

#[tokio::test]
async fn sqlite_plans_the_action_lookup_with_the_index() {
    let dir = std::env::temp_dir().join(format!(
        "vaiti-store-action-index-{}",
        ObjectId::generate().unwrap()
    ));
    let store = SqliteStore::open(&dir).await.unwrap();
    let clinic = new_clinic();
    store
        .apply(vec![Write::CreateClinic(clinic.clone())])
        .await
        .unwrap();

    let mut conn = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new().filename(store.path()),
    )
    .await
    .unwrap();
    let sql: Option<String> =
        sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1")
            .bind(INDEX)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
    let sql = sql.expect("migrating created the index");
    assert!(
        sql.contains("log_leaves") && sql.contains("substr(leaf, 2, 1)"),
        "{sql}"
    );

    let mut tx = conn.begin().await.unwrap();
    for idx in 0..LEAVES {
        sqlx::query(
            "INSERT INTO log_leaves (clinic_id, idx, leaf, leaf_hash, chart_id, created_at) VALUES ($1, $2, $3, $4, NULL, $5)",
        )
        .bind(clinic.id.as_bytes().to_vec())
        .bind(idx)
        .bind(leaf(idx))
        .bind(vec![0u8; 32])
        .bind(idx)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    // Before and after the planner has statistics.
    for analyzed in [false, true] {
        if analyzed {
            sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
        }
        let plan: Vec<String> = sqlx::query(concat!("EXPLAIN QUERY PLAN ", query!()))
            .bind(clinic.id.as_bytes().to_vec())
            .bind(vec![WANTED])
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>("detail"))
            .collect();
        assert!(
            plan.iter()
                .any(|step| step
                    .contains(&format!("USING INDEX {INDEX} (clinic_id=? AND <expr>=?)"))),
            "analyzed: {analyzed}, plan: {plan:?}"
        );
        assert!(
            !plan.iter().any(|step| step.contains("TEMP B-TREE")),
            "the index gives the order, no sort: {plan:?}"
        );
    }
    check_lookup(&store, clinic.id).await;

    conn.close().await.unwrap();
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn postgres_plans_the_action_lookup_with_the_index() {
    let url = conformance::test_database_url();
    let schema = format!("vaiti_test_{}", ObjectId::generate().unwrap());
    let store = match PostgresStore::connect_in_schema(&url, &schema).await {
        Ok(store) => store,
        Err(e) => panic!(
            "this test needs PostgreSQL at {}: {e}",
            conformance::redact_password(&url)
        ),
    };
    let clinic = new_clinic();
    store
        .apply(vec![Write::CreateClinic(clinic.clone())])
        .await
        .unwrap();

    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("SELECT set_config('search_path', $1, false)")
        .bind(format!("\"{schema}\""))
        .execute(&mut conn)
        .await
        .unwrap();
    let def: Option<String> = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'log_leaves' AND indexname = $2",
    )
    .bind(&schema)
    .bind(INDEX)
    .fetch_optional(&mut conn)
    .await
    .unwrap();
    let def = def.expect("migrating created the index");
    assert!(def.contains("substr(leaf, 2, 1)"), "{def}");

    sqlx::query(
        "INSERT INTO log_leaves (clinic_id, idx, leaf, leaf_hash, chart_id, created_at) SELECT $1, i, CASE WHEN i IN (100, 1500) THEN $2 ELSE set_byte($3, 1, (i % 5)::int + 1) END, $4, NULL, i FROM generate_series(0, $5 - 1) AS i",
    )
    .bind(clinic.id.as_bytes().to_vec())
    .bind(leaf(100))
    .bind(leaf(0))
    .bind(vec![0u8; 32])
    .bind(LEAVES)
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query("ANALYZE log_leaves")
        .execute(&mut conn)
        .await
        .unwrap();
    check_lookup(&store, clinic.id).await;

    // The plan for the values at hand (what the first executions of a statement get)…
    let custom: Vec<String> = sqlx::query_scalar(concat!("EXPLAIN ", query!()))
        .bind(clinic.id.as_bytes().to_vec())
        .bind(vec![WANTED])
        .fetch_all(&mut conn)
        .await
        .unwrap();
    // …and the generic plan a long-lived prepared statement may switch to.
    sqlx::raw_sql(concat!(
        "PREPARE action_lookup (bytea, bytea) AS ",
        query!(),
        "; SET plan_cache_mode = force_generic_plan"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let generic: Vec<String> = sqlx::query_scalar(
        "EXPLAIN EXECUTE action_lookup ('\\x00000000000000000000000000000000', '\\x0c')",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(
        generic.iter().any(|line| line.contains("$2")),
        "a generic plan keeps the parameters: {generic:?}"
    );
    for plan in [&custom, &generic] {
        assert!(
            plan.iter()
                .any(|line| line.contains(&format!("Index Scan Backward using {INDEX}"))),
            "{plan:?}"
        );
        assert!(
            plan.iter().any(|line| line.contains("Index Cond:")
                && line.contains("clinic_id = ")
                && line.contains("substr(leaf, 2, 1) = ")),
            "both conditions bound the scan, none is a filter: {plan:?}"
        );
        assert!(!plan.iter().any(|line| line.contains("Sort")), "{plan:?}");
    }

    conn.close().await.unwrap();
    store.drop_schema().await.unwrap();
}
