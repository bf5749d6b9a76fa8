//! Detection through the real server and the real client library (`docs/access-log.md`
//! "Detection"): decoy charts, bulk chart openings, failed-login bursts, the opt-in lock, who may
//! read alerts, and that a decoy looks like any other chart in the database.
//!
//! Every test runs on both stores, as `sqlite::<test>` and `postgres::<test>` (PostgreSQL at
//! `VAITI_TEST_DATABASE_URL`, default a local server with trust auth; without it the `postgres::`
//! tests fail, never skip). Each server posts its alerts to a tiny webhook receiver in the test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::{Column as _, Row as _, ValueRef as _};
use vaiti_client::ClientError;
use vaiti_client::account::login;
use vaiti_client::api::Api;
use vaiti_client::chart::{PatientDetails, add_patient, list_notes, list_patients, show_patient};
use vaiti_core::alert::{AlertList, RegisterDecoy};
use vaiti_core::api::{ChartList, MyWraps};
use vaiti_core::{Alert, AlertKind, ChartId, ClinicId, Role};
use vaiti_crypto::SecretKey;
use vaiti_server::DetectionConfig;

use crate::support::{self, Db, Harness, TestStore, User, found_clinic, hire, start_server};

const ADMIN: &str = "aino@terapia.example";
const T1: &str = "t1@terapia.example";
const T2: &str = "t2@terapia.example";
const FD: &str = "fd@terapia.example";
const AUDITOR: &str = "au@terapia.example";
const BRANCH: &str = "Helsinki";
/// How long an alert may take to reach the webhook ("within seconds").
const WEBHOOK_WAIT: Duration = Duration::from_secs(10);

// Each `async fn name(h: Harness)` runs as `sqlite::name` and `postgres::name`.
support::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_request_naming_a_decoy_alerts_whether_granted_or_refused,
    a_decoy_is_never_listed_and_looks_like_any_chart_in_the_database,
    opening_more_charts_than_the_threshold_alerts_but_listing_200_does_not,
    a_burst_of_failed_logins_alerts_and_the_webhook_is_retried,
    lock_on_alert_ends_the_actors_sessions_only_when_enabled,
    alerts_are_for_admins_and_auditors_and_decoys_for_admins,
);

// ---------------------------------------------------------------------------------------------
// The harness (the shared part is in `support`): servers over a fresh store of one backend, each
// with a webhook receiver.

/// A webhook receiver: records every JSON body POSTed to it; answers 500 to the first
/// `fail_first` requests (to exercise retries), 204 afterwards.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<serde_json::Value>>>,
    requests: Arc<AtomicUsize>,
    fail_first: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start(&self) -> String {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let me = me.clone();
                async move {
                    let n = me.requests.fetch_add(1, Ordering::SeqCst);
                    if n < me.fail_first.load(Ordering::SeqCst) {
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    me.received.lock().unwrap().push(body);
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    fn all(&self) -> Vec<serde_json::Value> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (a few seconds at most) for the payload of `alert`.
    async fn wait_for(&self, alert: &Alert) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + WEBHOOK_WAIT;
        loop {
            if let Some(v) = self
                .all()
                .into_iter()
                .find(|v| v["alert"] == alert.id.to_string())
            {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "alert {} ({}) did not reach the webhook within {WEBHOOK_WAIT:?}",
                alert.id,
                alert.kind
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

struct Server {
    url: String,
    store: Arc<dyn vaiti_store::Store>,
    db: Db,
    decoys_file: PathBuf,
    hook: Receiver,
}

/// A server with a fresh store, a decoy file in a fresh directory, and its own webhook receiver;
/// `configure` adjusts the detection settings.
async fn server(h: &Harness, configure: impl FnOnce(&mut DetectionConfig)) -> Server {
    let TestStore { store, db, .. } = h.store("detect").await;
    let decoys_file = h.temp_dir("decoys").join("decoys.json");
    let hook = Receiver::default();
    let mut config = DetectionConfig {
        decoys_file: Some(decoys_file.clone()),
        webhook: Some(hook.start().await),
        ..DetectionConfig::default()
    };
    configure(&mut config);
    let url = start_server(store.clone(), |state| {
        vaiti_server::router(state.with_detection(config).unwrap())
    })
    .await;
    Server {
        url,
        store,
        db,
        decoys_file,
        hook,
    }
}

/// A clinic on a server: an admin, a branch, two therapists, front desk and an auditor.
struct Clinic {
    server: Server,
    id: ClinicId,
    admin: User,
    /// A therapist, the care team of the charts front desk adds.
    t1: User,
    /// A therapist outside every care team.
    t2: User,
    fd: User,
    auditor: User,
    branch: vaiti_core::BranchId,
}

async fn clinic(server: Server) -> Clinic {
    let url = server.url.clone();
    let (admin, branch) = found_clinic(&url, ADMIN, 2, BRANCH).await;
    let crypto_clinic = admin.me.clinic;
    let [t1, t2, fd, auditor] = hire(
        &admin,
        &url,
        BRANCH,
        [
            (T1, Role::Therapist),
            (T2, Role::Therapist),
            (FD, Role::Frontdesk),
            (AUDITOR, Role::Auditor),
        ],
    )
    .await;
    Clinic {
        server,
        id: ClinicId::from_bytes(crypto_clinic.to_bytes()),
        admin,
        t1,
        t2,
        fd,
        auditor,
        branch,
    }
}

/// A realistic patient (as `vaiti decoy create` makes one).
fn person(name: &str, hetu: &str) -> PatientDetails {
    PatientDetails {
        name: name.into(),
        hetu: Some(hetu.into()),
        phone: Some("040 123 4567".into()),
        ..PatientDetails::default()
    }
}

impl Clinic {
    /// The admin makes a chart exactly like a patient's and registers it as a decoy.
    async fn decoy(&self) -> ChartId {
        let s = self.admin.session().await.unwrap();
        let chart = add_patient(&s, BRANCH, person("Kaarina Mäkelä", "131052-308T"), &[])
            .await
            .unwrap();
        self.admin
            .api
            .post_no_content(&self.admin.path("/decoys"), &RegisterDecoy { chart })
            .await
            .unwrap();
        chart
    }

    /// The store's alerts, newest first.
    async fn alerts(&self) -> Vec<Alert> {
        self.server.store.alerts(self.id, 1000).await.unwrap()
    }

    async fn alerts_of(&self, kind: AlertKind) -> Vec<Alert> {
        self.alerts()
            .await
            .into_iter()
            .filter(|a| a.kind == kind)
            .collect()
    }

    /// Checks the webhook's copy of `alert`: the same ids, counts and time, and nothing else.
    async fn check_webhook(&self, alert: &Alert) -> serde_json::Value {
        let body = self.server.hook.wait_for(alert).await;
        assert_eq!(body["kind"], alert.kind.as_str());
        assert_eq!(body["clinic"], self.id.to_string());
        assert_eq!(
            body["actor"],
            alert
                .actor
                .map_or(serde_json::Value::Null, |u| u.to_string().into())
        );
        assert_eq!(body["count"], alert.count);
        assert_eq!(body["window_s"], alert.window_s);
        assert_eq!(body["time"], alert.created_at);
        let keys: BTreeSet<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "kind", "clinic", "alert", "actor", "count", "window_s", "time"
            ]),
            "the payload carries ids, counts and a time only"
        );
        body
    }
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// Opening a decoy alerts, whether the request is granted (an admin: directory access) or
/// refused (a therapist outside its care team); opening a real chart does not. Neither the
/// stored alert nor the webhook payload names the decoy.
async fn a_request_naming_a_decoy_alerts_whether_granted_or_refused(h: Harness) {
    let c = clinic(server(&h, |_| {}).await).await;
    let decoy = c.decoy().await;
    let real = {
        let s = c.fd.session().await.unwrap();
        add_patient(
            &s,
            BRANCH,
            person("Matti Virtanen", "010100A002H"),
            &[T1.into()],
        )
        .await
        .unwrap()
    };
    assert!(
        c.alerts().await.is_empty(),
        "making and registering a decoy raises nothing"
    );

    // Granted: the admin opens it (front desk's view: identity and search card).
    let s = c.admin.session().await.unwrap();
    let shown = show_patient(&s, decoy).await.unwrap();
    assert_eq!(shown.details.name, "Kaarina Mäkelä");
    let alerts = c.alerts_of(AlertKind::DecoyAccess).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let granted = alerts[0].clone();
    assert_eq!(granted.actor, Some(c.admin.id()));
    assert_eq!((granted.count, granted.window_s), (1, 0));
    assert_eq!(granted.log_index, None, "a decoy alert names no log entry");
    let body = c.check_webhook(&granted).await;
    assert!(!body.to_string().contains(&decoy.to_string()));

    // Refused: a therapist outside the care team gets "no such chart", and an alert is raised.
    let s2 = c.t2.session().await.unwrap();
    let refused = show_patient(&s2, decoy).await.unwrap_err();
    assert!(
        matches!(&refused, ClientError::Usage(m) if m.contains("no chart")),
        "{refused:?}"
    );
    let refused_too = list_notes(&s2, decoy).await.unwrap_err();
    assert!(
        matches!(refused_too, ClientError::Usage(_)),
        "{refused_too:?}"
    );
    let alerts = c.alerts_of(AlertKind::DecoyAccess).await;
    let by_t2: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.actor == Some(c.t2.id()))
        .collect();
    assert_eq!(
        by_t2.len(),
        1,
        "one alert for t2 (two requests within seconds are one alert): {alerts:?}"
    );
    let body = c.check_webhook(by_t2[0]).await;
    assert!(!body.to_string().contains(&decoy.to_string()));
    // Naming the decoy in another request (the caller's wraps of a chart) alerts too.
    let before = c.alerts_of(AlertKind::DecoyAccess).await.len();
    let wraps: MyWraps =
        c.fd.api
            .get(&c.fd.path(&format!("/wraps?chart={decoy}")))
            .await
            .unwrap();
    assert!(wraps.wraps.is_empty());
    let after = c.alerts_of(AlertKind::DecoyAccess).await;
    assert_eq!(after.len(), before + 1);
    assert_eq!(after[0].actor, Some(c.fd.id()));

    // A real chart, granted and refused, raises nothing.
    show_patient(&s, real).await.unwrap();
    assert!(show_patient(&s2, real).await.is_err());
    assert_eq!(
        c.alerts_of(AlertKind::DecoyAccess).await.len(),
        before + 1,
        "real charts do not alert"
    );
    assert!(
        c.alerts()
            .await
            .iter()
            .all(|a| a.kind == AlertKind::DecoyAccess)
    );
}

/// Rows of every table of the database, by table, whose BLOB columns contain `id`: what a
/// database thief could find about a chart.
async fn tables_naming(db: &Db, id: &[u8]) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    match db {
        Db::Sqlite(pool) => {
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            for (table,) in tables {
                let columns: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT name, type FROM pragma_table_info('{table}')"
                )))
                .fetch_all(pool)
                .await
                .unwrap();
                for (column, ty) in columns {
                    if !ty.eq_ignore_ascii_case("BLOB") {
                        continue;
                    }
                    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT count(*) FROM \"{table}\" WHERE instr(\"{column}\", $1) > 0"
                    )))
                    .bind(id)
                    .fetch_one(pool)
                    .await
                    .unwrap();
                    if n > 0 {
                        out.insert(format!("{table}.{column}"), n);
                    }
                }
            }
        }
        Db::Postgres(pool) => {
            let columns: Vec<(String, String)> = sqlx::query_as(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND data_type = 'bytea'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            assert!(!columns.is_empty(), "the schema's tables are visible");
            for (table, column) in columns {
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT count(*) FROM \"{table}\" WHERE position($1 in \"{column}\") > 0"
                )))
                .bind(id)
                .fetch_one(pool)
                .await
                .unwrap();
                if n > 0 {
                    out.insert(format!("{table}.{column}"), n);
                }
            }
        }
    }
    out
}

/// For each row of `table` whose `chart_id` is `chart`: the set of its non-NULL columns.
async fn row_shapes(db: &Db, table: &str, chart: ChartId) -> Vec<BTreeSet<String>> {
    let sql = format!("SELECT * FROM {table} WHERE chart_id = $1");
    let mut shapes: Vec<BTreeSet<String>> = match db {
        Db::Sqlite(pool) => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(chart.as_bytes().as_slice())
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                r.columns()
                    .iter()
                    .filter(|c| !r.try_get_raw(c.ordinal()).unwrap().is_null())
                    .map(|c| c.name().to_owned())
                    .collect()
            })
            .collect(),
        Db::Postgres(pool) => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(chart.as_bytes().as_slice())
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                r.columns()
                    .iter()
                    .filter(|c| !r.try_get_raw(c.ordinal()).unwrap().is_null())
                    .map(|c| c.name().to_owned())
                    .collect()
            })
            .collect(),
    };
    shapes.sort();
    shapes
}

/// A decoy never appears in any listing — a branch directory (admin, front desk), a caseload, the
/// caller's wraps — and listing raises no alert. In the database it has exactly the rows of a
/// chart made the same way for a real patient (same tables, same counts, the same columns
/// non-NULL), and nothing else names it: not the alerts, not the log's registration entry.
async fn a_decoy_is_never_listed_and_looks_like_any_chart_in_the_database(h: Harness) {
    let c = clinic(server(&h, |_| {}).await).await;
    let decoy = c.decoy().await;
    let real = {
        let s = c.admin.session().await.unwrap();
        add_patient(&s, BRANCH, person("Liisa Korhonen", "010100A002H"), &[])
            .await
            .unwrap()
    };
    let with_team = {
        let s = c.fd.session().await.unwrap();
        add_patient(
            &s,
            BRANCH,
            person("Matti Virtanen", "131052-308T"),
            &[T1.into()],
        )
        .await
        .unwrap()
    };
    assert!(
        std::fs::read_to_string(&c.server.decoys_file)
            .unwrap()
            .contains(&decoy.to_string()),
        "the decoy list is the file outside the database"
    );

    // Listings, by everyone who lists.
    for user in [&c.admin, &c.fd] {
        let list: ChartList = user
            .api
            .get(&user.path(&format!("/charts?branch={}", c.branch)))
            .await
            .unwrap();
        let ids: Vec<ChartId> = list.charts.iter().map(|x| x.chart.id).collect();
        assert!(
            ids.contains(&real) && ids.contains(&with_team),
            "{}",
            user.email
        );
        assert!(!ids.contains(&decoy), "{} was shown the decoy", user.email);
        let s = user.session().await.unwrap();
        let patients = list_patients(&s, None).await.unwrap();
        assert!(patients.iter().any(|p| p.chart == real));
        assert!(patients.iter().all(|p| p.chart != decoy));
    }
    for user in [&c.admin, &c.t1, &c.t2, &c.fd, &c.auditor] {
        let list: ChartList = user.api.get(&user.path("/charts")).await.unwrap();
        assert!(
            list.charts.iter().all(|x| x.chart.id != decoy),
            "{}",
            user.email
        );
        let wraps: MyWraps = user.api.get(&user.path("/wraps")).await.unwrap();
        assert!(
            wraps.wraps.iter().all(|w| w.scope.chart() != Some(decoy)),
            "{}",
            user.email
        );
    }
    let caseload: ChartList = c.t1.api.get(&c.t1.path("/charts")).await.unwrap();
    assert_eq!(
        caseload
            .charts
            .iter()
            .map(|x| x.chart.id)
            .collect::<Vec<_>>(),
        vec![with_team],
        "the caseload lists the therapist's chart"
    );
    assert!(c.alerts().await.is_empty(), "listing raises nothing");

    // Both charts opened once by the admin; the decoy alerts, the real one does not.
    let s = c.admin.session().await.unwrap();
    show_patient(&s, decoy).await.unwrap();
    show_patient(&s, real).await.unwrap();
    assert_eq!(c.alerts_of(AlertKind::DecoyAccess).await.len(), 1);

    // The dump: the same tables name each chart, as often, and their rows have the same shape.
    let naming_decoy = tables_naming(&c.server.db, decoy.as_bytes()).await;
    let naming_real = tables_naming(&c.server.db, real.as_bytes()).await;
    assert!(
        naming_real.contains_key("charts.chart_id") && naming_real.contains_key("log_leaves.leaf"),
        "the scan finds a chart's rows: {naming_real:?}"
    );
    assert_eq!(
        naming_decoy, naming_real,
        "a decoy is named by exactly the rows that name a real chart made the same way"
    );
    assert!(!naming_decoy.keys().any(|k| k.starts_with("alerts.")));
    for table in [
        "charts",
        "chart_states",
        "record_versions",
        "directory_wraps",
        "key_wraps",
        "log_leaves",
    ] {
        let (d, r) = (
            row_shapes(&c.server.db, table, decoy).await,
            row_shapes(&c.server.db, table, real).await,
        );
        assert!(!r.is_empty(), "{table} has rows of a chart");
        assert_eq!(
            d, r,
            "{table}: the decoy's rows have the shape of a real chart's"
        );
    }
    // The alert row itself: ids, counts and times, no chart.
    let stored = c.alerts_of(AlertKind::DecoyAccess).await;
    assert_eq!(stored[0].actor, Some(c.admin.id()));
}

/// A therapist releasing the case keys of more than 30 distinct charts within ten minutes raises
/// one bulk-opening alert (store and webhook); listing a 200-patient caseload, and re-opening
/// the same charts, count for nothing.
async fn opening_more_charts_than_the_threshold_alerts_but_listing_200_does_not(h: Harness) {
    let c = clinic(server(&h, |_| {}).await).await;
    let threshold = vaiti_server::DEFAULT_CHART_OPENINGS_THRESHOLD as usize;
    let mut charts = Vec::new();
    {
        let s = c.fd.session().await.unwrap();
        for i in 0..200 {
            charts.push(
                add_patient(
                    &s,
                    BRANCH,
                    PatientDetails {
                        name: format!("Potilas {i}"),
                        ..PatientDetails::default()
                    },
                    &[T1.into()],
                )
                .await
                .unwrap(),
            );
        }
    }
    let s = c.t1.session().await.unwrap();
    let caseload = list_patients(&s, None).await.unwrap();
    assert_eq!(caseload.len(), 200, "the whole caseload is listed");
    let listed: ChartList = c.t1.api.get(&c.t1.path("/charts")).await.unwrap();
    assert_eq!(listed.charts.len(), 200);
    assert!(
        c.alerts().await.is_empty(),
        "listing 200 patients is not 200 openings"
    );

    // Opening the first `threshold` charts (each twice: the first opening makes the case keys,
    // the second is released them), then the first one again: not above the threshold.
    for chart in &charts[..threshold] {
        list_notes(&s, *chart).await.unwrap();
        list_notes(&s, *chart).await.unwrap();
    }
    for _ in 0..3 {
        list_notes(&s, charts[0]).await.unwrap();
    }
    assert!(
        c.alerts_of(AlertKind::ChartOpeningRate).await.is_empty(),
        "{threshold} distinct charts are not above the threshold"
    );
    // One more distinct chart: above it.
    list_notes(&s, charts[threshold]).await.unwrap();
    list_notes(&s, charts[threshold]).await.unwrap();
    let alerts = c.alerts_of(AlertKind::ChartOpeningRate).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(alert.actor, Some(c.t1.id()));
    assert_eq!(alert.count, threshold as u64 + 1);
    assert_eq!(
        alert.window_s,
        vaiti_server::DEFAULT_CHART_OPENINGS_WINDOW_S
    );
    c.check_webhook(alert).await;
    // More openings in the same window: still one alert; the therapist is not locked out.
    for chart in &charts[threshold + 1..threshold + 4] {
        list_notes(&s, *chart).await.unwrap();
        list_notes(&s, *chart).await.unwrap();
    }
    assert_eq!(c.alerts_of(AlertKind::ChartOpeningRate).await.len(), 1);
    assert!(c.t1.session_works().await);
    // Another therapist's listing still raised nothing.
    assert!(
        c.alerts()
            .await
            .iter()
            .all(|a| a.kind == AlertKind::ChartOpeningRate)
    );
}

/// Ten failed logins at a clinic within five minutes raise one alert naming no account; nine do
/// not, and successful logins never count. A webhook receiver that fails first gets the alert on
/// a retry.
async fn a_burst_of_failed_logins_alerts_and_the_webhook_is_retried(h: Harness) {
    let c = clinic(server(&h, |_| {}).await).await;
    c.server.hook.fail_first.store(1, Ordering::SeqCst);
    let threshold = vaiti_server::DEFAULT_FAILED_LOGINS_THRESHOLD;
    let crypto_clinic = c.admin.me.clinic;
    let fail = |email: &'static str, sk: &SecretKey| {
        let url = c.server.url.clone();
        let sk = SecretKey::from_bytes(sk.as_bytes()).unwrap();
        async move {
            let mut api = Api::new(&url).unwrap();
            let e = login(&mut api, crypto_clinic, email, &sk, "not the password")
                .await
                .unwrap_err();
            assert!(matches!(&e, ClientError::LoginFailed), "{email}: {e:?}");
        }
    };
    for i in 0..threshold - 1 {
        // Spread over two names (the per-name rate limit is separate from this).
        if i.is_multiple_of(2) {
            fail(T2, &c.t2.secret_key).await;
        } else {
            fail("nobody@terapia.example", &c.t2.secret_key).await;
        }
        // Successful logins in between do not count.
        User::log_in(
            &c.server.url,
            crypto_clinic,
            T1,
            SecretKey::from_bytes(c.t1.secret_key.as_bytes()).unwrap(),
        )
        .await;
    }
    assert!(
        c.alerts_of(AlertKind::FailedLoginBurst).await.is_empty(),
        "{} failures are below the threshold",
        threshold - 1
    );
    fail(T2, &c.t2.secret_key).await;
    let alerts = c.alerts_of(AlertKind::FailedLoginBurst).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].actor, None, "a failed login names no account");
    assert_eq!(alerts[0].count, u64::from(threshold));
    assert_eq!(
        alerts[0].window_s,
        vaiti_server::DEFAULT_FAILED_LOGINS_WINDOW_S
    );
    c.check_webhook(&alerts[0]).await;
    assert!(
        c.server.hook.requests.load(Ordering::SeqCst) >= 2,
        "the first delivery was refused and retried"
    );
    // The burst goes on: still one alert in this window.
    fail(T2, &c.t2.secret_key).await;
    assert_eq!(c.alerts_of(AlertKind::FailedLoginBurst).await.len(), 1);
}

/// With `lock_on_alert`, the account behind a decoy access or a bulk opening loses every session
/// (it may log in again); others keep theirs. Without it, nobody is locked out.
async fn lock_on_alert_ends_the_actors_sessions_only_when_enabled(h: Harness) {
    // Off (the default): an alert, and the session still works.
    let c = clinic(server(&h, |_| {}).await).await;
    let decoy = c.decoy().await;
    let s2 = c.t2.session().await.unwrap();
    assert!(show_patient(&s2, decoy).await.is_err());
    drop(s2);
    assert_eq!(c.alerts_of(AlertKind::DecoyAccess).await.len(), 1);
    assert!(c.t2.session_works().await, "no lock unless configured");

    // On: the decoy's visitor is logged out everywhere; the admin is not.
    let c = clinic(
        server(&h, |d| {
            d.lock_on_alert = true;
            d.chart_openings_threshold = 2;
        })
        .await,
    )
    .await;
    let decoy = c.decoy().await;
    let second_device = User::log_in(
        &c.server.url,
        c.t2.me.clinic,
        T2,
        SecretKey::from_bytes(c.t2.secret_key.as_bytes()).unwrap(),
    )
    .await;
    let s2 = c.t2.session().await.unwrap();
    assert!(show_patient(&s2, decoy).await.is_err());
    drop(s2);
    assert_eq!(c.alerts_of(AlertKind::DecoyAccess).await.len(), 1);
    assert!(!c.t2.session_works().await, "the session that asked ended");
    assert!(!second_device.session_works().await, "and every other one");
    assert!(c.admin.session_works().await, "others keep theirs");
    assert!(c.t1.session_works().await);
    // The account is not revoked: logging in again works.
    let back = User::log_in(
        &c.server.url,
        c.t2.me.clinic,
        T2,
        SecretKey::from_bytes(c.t2.secret_key.as_bytes()).unwrap(),
    )
    .await;
    assert!(back.session_works().await);

    // A bulk opening (threshold 2 here) locks the opener too.
    let charts = {
        let s = c.fd.session().await.unwrap();
        let mut v = Vec::new();
        for i in 0..3 {
            v.push(
                add_patient(
                    &s,
                    BRANCH,
                    PatientDetails {
                        name: format!("Potilas {i}"),
                        ..PatientDetails::default()
                    },
                    &[T1.into()],
                )
                .await
                .unwrap(),
            );
        }
        v
    };
    let s1 = c.t1.session().await.unwrap();
    for chart in &charts[..2] {
        list_notes(&s1, *chart).await.unwrap();
        list_notes(&s1, *chart).await.unwrap();
    }
    assert!(c.t1.session_works().await, "two charts are not above 2");
    list_notes(&s1, charts[2]).await.unwrap();
    let _ = list_notes(&s1, charts[2]).await;
    let alerts = c.alerts_of(AlertKind::ChartOpeningRate).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].actor, Some(c.t1.id()));
    assert!(!c.t1.session_works().await, "the bulk opener is logged out");
    assert!(c.admin.session_works().await);
}

/// Alerts are read by admins and auditors only, acknowledged by admins only; decoys are
/// registered by admins only, and only for a chart of the clinic.
async fn alerts_are_for_admins_and_auditors_and_decoys_for_admins(h: Harness) {
    let c = clinic(server(&h, |_| {}).await).await;
    let decoy = c.decoy().await;
    let s2 = c.t2.session().await.unwrap();
    assert!(show_patient(&s2, decoy).await.is_err());
    drop(s2);
    let raised = c.alerts_of(AlertKind::DecoyAccess).await;
    assert_eq!(raised.len(), 1);
    let alert = raised[0].clone();

    for reader in [&c.admin, &c.auditor] {
        let list: AlertList = reader.api.get(&reader.path("/alerts")).await.unwrap();
        assert_eq!(list.alerts, vec![alert.clone()], "{}", reader.email);
    }
    for outsider in [&c.t1, &c.t2, &c.fd] {
        let e = outsider
            .api
            .get::<AlertList>(&outsider.path("/alerts"))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, ClientError::Api { status: 403, .. }),
            "{}: {e:?}",
            outsider.email
        );
    }
    async fn ack(user: &User, alert: &Alert) -> Result<(), ClientError> {
        let path = user.path(&format!("/alerts/{}/acknowledge", alert.id));
        user.api.post_empty(&path).await
    }
    assert!(matches!(
        ack(&c.auditor, &alert).await,
        Err(ClientError::Api { status: 403, .. })
    ));
    assert!(matches!(
        ack(&c.t2, &alert).await,
        Err(ClientError::Api { status: 403, .. })
    ));
    ack(&c.admin, &alert).await.unwrap();
    let list: AlertList = c.auditor.api.get(&c.auditor.path("/alerts")).await.unwrap();
    assert_eq!(list.alerts[0].acknowledged_by, Some(c.admin.id()));
    assert!(list.alerts[0].acknowledged_at.is_some());
    let unknown = c
        .admin
        .api
        .post_empty(&c.admin.path(&format!(
            "/alerts/{}/acknowledge",
            vaiti_core::AlertId::generate().unwrap()
        )))
        .await;
    assert!(matches!(unknown, Err(ClientError::Api { status: 404, .. })));

    // Decoys: admins only, charts of this clinic only.
    let real = {
        let s = c.fd.session().await.unwrap();
        add_patient(&s, BRANCH, person("Matti Virtanen", "010100A002H"), &[])
            .await
            .unwrap()
    };
    for user in [&c.fd, &c.auditor, &c.t1] {
        let e = user
            .api
            .post_no_content(&user.path("/decoys"), &RegisterDecoy { chart: real })
            .await
            .unwrap_err();
        assert!(
            matches!(&e, ClientError::Api { status: 403, .. }),
            "{}: {e:?}",
            user.email
        );
    }
    let e = c
        .admin
        .api
        .post_no_content(
            &c.admin.path("/decoys"),
            &RegisterDecoy {
                chart: ChartId::generate().unwrap(),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(&e, ClientError::Api { status: 404, .. }), "{e:?}");
    // The refused registrations left the chart an ordinary one: front desk opens it quietly.
    let s = c.fd.session().await.unwrap();
    show_patient(&s, real).await.unwrap();
    assert_eq!(c.alerts().await.len(), 1);
}
