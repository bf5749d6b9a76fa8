//! Patient reports ("I don't recognise this"), end to end against the real server in-process, on
//! SQLite and PostgreSQL: a patient reports an entry of their chart's access log; exactly the
//! clinic's admins and auditors read the reason; nobody else can, and the reason's plaintext never
//! reaches the database; a report of an entry outside the chart is refused (by the client, and by
//! the server when a client skips its check); a report the server moves to another chart or entry
//! is caught by the reader; the report is itself an entry of the patient's access log.
//!
//! PostgreSQL runs in a fresh schema of the database at `VAITI_TEST_DATABASE_URL` (default: a
//! local server, trust auth); without it the `postgres::` tests fail, they never skip.

use std::path::PathBuf;
use std::sync::Arc;

use vaiti_client::ClientError;
use vaiti_client::access_log::{AccessEntry, chart_log};
use vaiti_client::account::{NewClinic, Unlocked, create_clinic, login};
use vaiti_client::api::Api;
use vaiti_client::chart::{PatientDetails, add_note, add_patient, show_patient};
use vaiti_client::invite::{
    DEFAULT_INVITE_S, NewMember, complete_invites, invite_patient, invite_staff, signup,
};
use vaiti_client::report::{self, OpenedReport};
use vaiti_client::session::Session;
use vaiti_core::api::SignedRequest;
use vaiti_core::report::{NewReport, ReportFiled, ReportWrap};
use vaiti_core::signed::ReleaseRequestV1;
use vaiti_core::{AccessPurpose, AlertKind, ChartId, ClinicId, ObjectId, Role, Sealed, UserId};
use vaiti_crypto::{ReportKey, SecretKey, SignatureDomain, Tier};

use crate::support::{self, Arg, Db, Harness, TOKEN, TestStore, now, start_server};

const PASSWORD: &str = "Lokakuun neljäs päivä";
const ADMIN: &str = "admin@raportti.example";
const AUDITOR: &str = "auditor@raportti.example";
const THERAPIST: &str = "terapeutti@raportti.example";
const FRONT_DESK: &str = "vastaanotto@raportti.example";
const BRANCH: &str = "Turku";
/// What patient A writes: a sentence no other part of the system produces.
const REASON: &str = "En tunnista tätä avaamista: olin silloin ulkomailla, Kirahvinkaula-7319.";
/// A distinctive part of it, to search the database for.
const CANARY: &str = "Kirahvinkaula-7319";

// Each `async fn name(c: Clinic)` runs as `sqlite::name` and `postgres::name`.
support::on_both_backends!(
    setup = clinic;
    only_admins_and_auditors_read_a_report,
    a_report_of_an_entry_outside_the_chart_is_refused,
    the_reason_never_reaches_the_database,
    a_report_moved_by_the_server_is_caught,
);

// ---------------------------------------------------------------------------------------------
// The harness (the shared part is in `support`): the real server over SQLite or PostgreSQL, and a
// second connection to its tables.
// ---------------------------------------------------------------------------------------------

struct Server {
    url: String,
    store: Arc<dyn vaiti_store::Store>,
    /// A second connection to the store's database.
    db: Db,
    /// The SQLite store's directory (`None` on PostgreSQL).
    dir: Option<PathBuf>,
}

async fn server(h: &Harness) -> Server {
    let TestStore { store, db, dir } = h.store("reports").await;
    let url = start_server(store.clone(), vaiti_server::router).await;
    Server {
        url,
        store,
        db,
        dir,
    }
}

impl Server {
    /// Runs an `UPDATE` on `reports` with one integer or bytes value and the report id.
    async fn set_report_column(&self, sql: &'static str, value: Arg, report: ObjectId) -> u64 {
        self.db
            .query(sql)
            .bind(value)
            .bind(report.as_bytes().to_vec())
            .execute()
            .await
    }

    /// Every byte the database holds that the test can reach: for SQLite the database files
    /// themselves (main file, write-ahead log); for PostgreSQL every row of every table of the
    /// store's schema, as text (bytea in hex).
    async fn everything(&self) -> Vec<u8> {
        match &self.db {
            Db::Sqlite(_) => {
                let dir = self.dir.as_ref().unwrap();
                let mut all = Vec::new();
                for entry in std::fs::read_dir(dir).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_file() {
                        all.extend(std::fs::read(&path).unwrap());
                    }
                }
                assert!(all.len() > 10_000, "the SQLite files were read");
                all
            }
            Db::Postgres(pool) => {
                let tables: Vec<(String,)> = sqlx::query_as(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                )
                .fetch_all(pool)
                .await
                .unwrap();
                assert!(tables.iter().any(|(t,)| t == "reports"));
                let mut all = Vec::new();
                for (table,) in tables {
                    let sql =
                        format!("SELECT COALESCE(string_agg(t::text, ' '), '') FROM \"{table}\" t");
                    let (text,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .fetch_one(pool)
                        .await
                        .unwrap();
                    all.extend(text.into_bytes());
                }
                assert!(all.len() > 10_000, "the PostgreSQL tables were read");
                all
            }
        }
    }

    /// The sealed envelope, signature and entry of a stored report.
    async fn report_row(&self, report: ObjectId) -> (Vec<u8>, i64, Vec<u8>) {
        self.db
            .query("SELECT envelope, entry_idx, chart_id FROM reports WHERE report_id = $1")
            .bind(report.as_bytes().to_vec())
            .fetch_one()
            .await
    }
}

/// One user, logged in on their own device.
struct User {
    api: Api,
    me: Unlocked,
}

impl User {
    async fn log_in(
        url: &str,
        clinic: vaiti_crypto::ClinicId,
        login_name: &str,
        sk: &SecretKey,
    ) -> Self {
        let mut api = Api::new(url).unwrap();
        let me = login(&mut api, clinic, login_name, sk, PASSWORD)
            .await
            .unwrap();
        Self { api, me }
    }

    async fn session(&self) -> Session<'_> {
        Session::open(&self.api, &self.me, now()).await.unwrap()
    }

    fn id(&self) -> UserId {
        self.me.account.id
    }
}

/// The clinic every test starts from: an admin, an auditor, a therapist and front desk in one
/// branch; two patients (A and B) with the therapist as care team, both signed up to the portal;
/// front desk has opened chart A (an identity read the patient may not recognise).
struct Clinic {
    server: Server,
    clinic: ClinicId,
    admin: User,
    auditor: User,
    therapist: User,
    front_desk: User,
    patient_a: User,
    patient_b: User,
    chart_a: ChartId,
    chart_b: ChartId,
}

async fn clinic(h: Harness) -> Clinic {
    let server = server(&h).await;
    let url = server.url.clone();
    let created = create_clinic(
        &Api::new(&url).unwrap(),
        &NewClinic {
            name: "Raporttiklinikka",
            admin_email: ADMIN,
            admin_name: Some("Aada Admin"),
            escrow_threshold: 2,
            escrow_shares: 2,
            password: PASSWORD,
            creation_token: TOKEN,
            now: now(),
        },
    )
    .await
    .unwrap();
    let crypto_clinic = created.clinic;
    let admin = User::log_in(&url, crypto_clinic, ADMIN, &created.secret_key).await;
    vaiti_client::admin::create_branch(&admin.api, &admin.me, BRANCH, now())
        .await
        .unwrap();
    // The admin adopts the access log's key (if the clinic has not yet): from now on every
    // opening needs the log's proof.
    vaiti_client::admin::adopt_log_key(&admin.session().await)
        .await
        .unwrap();
    assert!(admin.session().await.manifest.log_key.is_some());
    let staff = [
        (AUDITOR, Role::Auditor),
        (THERAPIST, Role::Therapist),
        (FRONT_DESK, Role::Frontdesk),
    ];
    let mut keys = Vec::new();
    {
        let s = admin.session().await;
        for (email, role) in staff {
            let invite = invite_staff(&s, email, &[role], &[BRANCH.to_string()], DEFAULT_INVITE_S)
                .await
                .unwrap();
            let account = signup(
                &Api::new(&url).unwrap(),
                &NewMember {
                    code: &invite.code,
                    email: Some(email),
                    display_name: None,
                    password: PASSWORD,
                    now: now(),
                },
            )
            .await
            .unwrap();
            keys.push(account.secret_key);
        }
    }
    assert_eq!(
        complete_invites(&admin.session().await)
            .await
            .unwrap()
            .len(),
        3
    );
    let auditor = User::log_in(&url, crypto_clinic, AUDITOR, &keys[0]).await;
    let therapist = User::log_in(&url, crypto_clinic, THERAPIST, &keys[1]).await;
    let front_desk = User::log_in(&url, crypto_clinic, FRONT_DESK, &keys[2]).await;

    let team = [THERAPIST.to_string()];
    let (chart_a, chart_b) = {
        let s = front_desk.session().await;
        let patient = |name: &str| PatientDetails {
            name: name.to_string(),
            ..PatientDetails::default()
        };
        (
            add_patient(&s, BRANCH, patient("Aino Aaltonen"), &team)
                .await
                .unwrap(),
            add_patient(&s, BRANCH, patient("Bertta Blomqvist"), &team)
                .await
                .unwrap(),
        )
    };
    let mut patients = Vec::new();
    {
        let s = therapist.session().await;
        for chart in [chart_a, chart_b] {
            add_note(&s, chart, Tier::Shared, "Istunto 1", "Ensikäynti.")
                .await
                .unwrap();
            let invite = invite_patient(&s, chart, 3600).await.unwrap();
            let account = signup(
                &Api::new(&url).unwrap(),
                &NewMember {
                    code: &invite.code,
                    email: None,
                    display_name: None,
                    password: PASSWORD,
                    now: now(),
                },
            )
            .await
            .unwrap();
            patients.push(account);
        }
    }
    assert_eq!(
        complete_invites(&therapist.session().await)
            .await
            .unwrap()
            .len(),
        2
    );
    let patient_a = User::log_in(
        &url,
        crypto_clinic,
        &patients[0].login,
        &patients[0].secret_key,
    )
    .await;
    let patient_b = User::log_in(
        &url,
        crypto_clinic,
        &patients[1].login,
        &patients[1].secret_key,
    )
    .await;
    // Front desk opens chart A: the entry patient A will not recognise.
    show_patient(&front_desk.session().await, chart_a)
        .await
        .unwrap();
    Clinic {
        server,
        clinic: ClinicId::from_bytes(crypto_clinic.to_bytes()),
        admin,
        auditor,
        therapist,
        front_desk,
        patient_a,
        patient_b,
        chart_a,
        chart_b,
    }
}

impl Clinic {
    /// Patient A's access log, as their device verifies it.
    async fn log_a(&self) -> Vec<AccessEntry> {
        chart_log(
            &self.patient_a.session().await,
            self.chart_a,
            AccessPurpose::Treatment,
        )
        .await
        .unwrap()
    }

    /// The entry of chart A recording front desk's opening of it.
    async fn front_desk_entry(&self) -> u64 {
        self.log_a()
            .await
            .iter()
            .find(|e| e.login.as_deref() == Some(FRONT_DESK) && e.action == "identity read")
            .expect("front desk's opening of chart A is in patient A's log")
            .index
    }

    /// The index of some leaf of chart B.
    async fn an_entry_of_chart_b(&self) -> u64 {
        self.server
            .store
            .chart_log_leaves(self.clinic, self.chart_b, u64::MAX, u32::MAX)
            .await
            .unwrap()
            .first()
            .unwrap()
            .index
    }
}

/// A report made by hand, as a client that skips its own checks would: signed request, sealed
/// reason and a wrap to the first admin, for any chart and entry.
async fn raw_report(user: &User, chart: ChartId, entry: u64) -> Result<ReportFiled, ClientError> {
    let s = user.session().await;
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).unwrap();
    let time = now();
    let request = serde_json::to_vec(&ReleaseRequestV1 {
        v: 1,
        clinic: s.me.account.clinic,
        chart,
        user: s.me.account.id,
        purpose: AccessPurpose::Treatment,
        time,
        nonce: hex::encode(nonce),
    })
    .unwrap();
    let signature = s.me.signing_key.sign(SignatureDomain::LogRequest, &request);
    let report = ObjectId::generate().unwrap();
    let crypto_chart = vaiti_crypto::ChartId::from_bytes(*chart.as_bytes());
    let context = vaiti_crypto::report_context(
        s.me.clinic,
        vaiti_crypto::ObjectId::from_bytes(*report.as_bytes()),
        crypto_chart,
        entry,
        vaiti_crypto::UserId::from_bytes(*s.me.account.id.as_bytes()),
        s.me.signing_key.key_id(),
        time,
    );
    let key = ReportKey::generate(crypto_chart).unwrap();
    let sealed = key
        .seal_report(&context, b"made by hand", &s.me.signing_key)
        .unwrap();
    let (admin, member) = s
        .members
        .iter()
        .find(|(_, m)| m.has_role(Role::Admin))
        .unwrap();
    let wrap = member
        .encryption_key
        .wrap(&key, s.me.clinic, &s.me.signing_key)
        .unwrap();
    let body = NewReport {
        request: SignedRequest {
            request: Sealed(request),
            signature: Sealed(signature.to_bytes().to_vec()),
            known_log_size: 0,
        },
        report,
        entry,
        envelope: Sealed(sealed.envelope.into_bytes()),
        signature: Sealed(sealed.signature.to_bytes().to_vec()),
        wraps: vec![ReportWrap {
            recipient: *admin,
            recipient_key: vaiti_core::KeyId::from_bytes(member.encryption_key.key_id().to_bytes()),
            wrap: Sealed(wrap.bytes),
            signature: Sealed(wrap.signature.to_bytes().to_vec()),
        }],
    };
    s.api
        .post(
            &format!("{}/charts/{chart}/reports", s.me.clinic_path()),
            &body,
            &[],
        )
        .await
}

#[track_caller]
fn assert_status<T: std::fmt::Debug>(result: Result<T, ClientError>, status: u16) {
    match result {
        Err(ClientError::Api { status: s, .. }) if s == status => {}
        other => panic!("expected HTTP {status}, got {other:?}"),
    }
}

#[track_caller]
fn assert_usage<T: std::fmt::Debug>(result: Result<T, ClientError>, says: &str) {
    match result {
        Err(ClientError::Usage(m)) if m.contains(says) => {}
        other => panic!("expected a usage error saying {says:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_protocol<T: std::fmt::Debug>(result: Result<T, ClientError>, says: &str) {
    match result {
        Err(ClientError::Protocol(m)) if m.contains(says) => {}
        other => panic!("expected a refusal saying {says:?}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------

async fn only_admins_and_auditors_read_a_report(c: Clinic) {
    let entry = c.front_desk_entry().await;
    let filed = report::report(&c.patient_a.session().await, entry, REASON)
        .await
        .unwrap();
    assert_eq!(
        (filed.chart, filed.entry, filed.readers),
        (c.chart_a, entry, 2)
    );
    assert!(filed.log_index > entry);

    // The admin and the auditor read the patient's words, verified.
    for reader in [&c.admin, &c.auditor] {
        let reports = report::reports(&reader.session().await).await.unwrap();
        assert_eq!(
            reports,
            vec![OpenedReport {
                report: filed.report,
                chart: c.chart_a,
                entry,
                reporter: c.patient_a.id(),
                reporter_login: reports[0].reporter_login.clone(),
                time: reports[0].time,
                reason: Some(REASON.to_string()),
            }]
        );
        assert!((reports[0].time - now()).abs() < 300);
    }
    // The report key is wrapped to exactly the admin and the auditor.
    let stored = c.server.store.reports(c.clinic, None).await.unwrap();
    assert_eq!(stored.len(), 1);
    let mut readers: Vec<UserId> = stored[0].wraps.iter().map(|w| w.recipient).collect();
    readers.sort();
    let mut expected = vec![c.admin.id(), c.auditor.id()];
    expected.sort();
    assert_eq!(readers, expected);

    // Nobody else reads reports: the client says so, and the server refuses them (403).
    assert_usage(
        report::reports(&c.therapist.session().await).await,
        "only admins and auditors",
    );
    for outsider in [&c.therapist, &c.front_desk, &c.patient_a, &c.patient_b] {
        let s = outsider.session().await;
        assert_status(
            s.api
                .get::<vaiti_core::report::ReportList>(&format!("{}/reports", s.me.clinic_path()))
                .await,
            403,
        );
    }
    // Nor can anyone but chart A's patient file a report about chart A.
    assert_status(raw_report(&c.patient_b, c.chart_a, entry).await, 404);
    assert_status(raw_report(&c.therapist, c.chart_a, entry).await, 404);
    assert_status(raw_report(&c.admin, c.chart_a, entry).await, 404);
    // A member of staff cannot file a patient's report at all.
    assert_usage(
        report::report(&c.admin.session().await, entry, "x").await,
        "only a patient",
    );

    // The report is itself an entry of the patient's access log: by the patient, about the chart.
    let log = c.log_a().await;
    let logged = log
        .iter()
        .find(|e| e.index == filed.log_index)
        .expect("the report's leaf is in the patient's access log");
    assert_eq!(logged.action, "patient report");
    assert_eq!(logged.actor, Some(c.patient_a.id()));
    assert!(logged.signed);
    // And it raised an alert naming the patient and the entry, never the words.
    let alerts = c.server.store.alerts(c.clinic, 100).await.unwrap();
    let alert = alerts
        .iter()
        .find(|a| a.kind == AlertKind::PatientReport)
        .expect("a patient-report alert");
    assert_eq!(alert.actor, Some(c.patient_a.id()));
    assert_eq!(alert.log_index, Some(entry));
    assert!(!format!("{alerts:?}").contains(CANARY));
}

async fn a_report_of_an_entry_outside_the_chart_is_refused(c: Clinic) {
    let other = c.an_entry_of_chart_b().await;
    let s = c.patient_a.session().await;
    // The client refuses an entry it did not verify in the patient's own log.
    assert_usage(
        report::report(&s, other, REASON).await,
        "is not in your chart's access log",
    );
    assert_usage(
        report::report(&s, 1_000_000, REASON).await,
        "is not in your chart's access log",
    );
    // And refuses empty or overlong reasons before anything is sent.
    let entry = c.front_desk_entry().await;
    assert_usage(report::report(&s, entry, "  ").await, "why");
    assert_usage(report::report(&s, entry, &"ä".repeat(2001)).await, "2000");
    report::report(&s, entry, &"ä".repeat(2000)).await.unwrap();
    // The server refuses it too when a client skips the check: another chart's entry, and an
    // index beyond the log.
    assert_status(raw_report(&c.patient_a, c.chart_a, other).await, 404);
    assert_status(raw_report(&c.patient_a, c.chart_a, 1_000_000).await, 404);
    // The same hand-made report about an entry of the chart goes through (the check is real).
    raw_report(&c.patient_a, c.chart_a, entry).await.unwrap();
    let reports = report::reports(&c.admin.session().await).await.unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[1].reason.as_deref(), Some("made by hand"));
    // The auditor was not among the hand-made report's readers: they see it, but cannot open it.
    let for_auditor = report::reports(&c.auditor.session().await).await.unwrap();
    assert_eq!(for_auditor[1].reason, None);
    assert_eq!(for_auditor[0].reason.as_deref(), Some(&*"ä".repeat(2000)));
}

async fn the_reason_never_reaches_the_database(c: Clinic) {
    let before = c.server.everything().await;
    assert!(!contains(&before, CANARY.as_bytes()));
    let entry = c.front_desk_entry().await;
    let filed = report::report(&c.patient_a.session().await, entry, REASON)
        .await
        .unwrap();
    // The report is stored (the scan can see it) ...
    let (envelope, stored_entry, _) = c.server.report_row(filed.report).await;
    assert_eq!(stored_entry, entry as i64);
    assert!(envelope.len() >= 605, "a sealed, padded envelope");
    // ... and no trace of the words is anywhere in the database: not as text, not as hex.
    let after = c.server.everything().await;
    for needle in [
        CANARY.as_bytes().to_vec(),
        REASON.as_bytes().to_vec(),
        hex::encode(CANARY).into_bytes(),
    ] {
        assert!(
            !contains(&after, &needle),
            "the reason's plaintext is in the database"
        );
    }
    // The scan does find what is there in the clear (so it would find the reason if it were).
    assert!(
        contains(&after, hex::encode(filed.report.as_bytes()).as_bytes())
            || contains(&after, filed.report.as_bytes())
    );
    // The reader still gets the words back.
    let reports = report::reports(&c.auditor.session().await).await.unwrap();
    assert_eq!(reports[0].reason.as_deref(), Some(REASON));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn a_report_moved_by_the_server_is_caught(c: Clinic) {
    let entry = c.front_desk_entry().await;
    let filed = report::report(&c.patient_a.session().await, entry, REASON)
        .await
        .unwrap();
    let entry_b = c.an_entry_of_chart_b().await;
    // Patient B files one too (about their own chart), so there is a report to move onto.
    let log_b = chart_log(
        &c.patient_b.session().await,
        c.chart_b,
        AccessPurpose::Treatment,
    )
    .await
    .unwrap();
    assert!(log_b.iter().any(|e| e.index == entry_b));
    report::report(&c.patient_b.session().await, entry_b, "Tuntematon.")
        .await
        .unwrap();
    assert_eq!(
        report::reports(&c.admin.session().await)
            .await
            .unwrap()
            .len(),
        2
    );
    let server = &c.server;
    let id = filed.report;

    // Another entry of the same chart (one the patient did not report).
    let another_entry = c
        .log_a()
        .await
        .iter()
        .find(|e| e.index != entry)
        .unwrap()
        .index;
    server
        .set_report_column(
            "UPDATE reports SET entry_idx = $1 WHERE report_id = $2",
            Arg::Int(another_entry as i64),
            id,
        )
        .await;
    assert_protocol(
        report::reports(&c.admin.session().await).await,
        "does not open",
    );
    server
        .set_report_column(
            "UPDATE reports SET entry_idx = $1 WHERE report_id = $2",
            Arg::Int(entry as i64),
            id,
        )
        .await;
    assert_eq!(
        report::reports(&c.admin.session().await)
            .await
            .unwrap()
            .len(),
        2
    );

    // Another chart: the report's author is not that chart's patient.
    server
        .set_report_column(
            "UPDATE reports SET chart_id = $1 WHERE report_id = $2",
            Arg::Bytes(c.chart_b.as_bytes().to_vec()),
            id,
        )
        .await;
    assert_protocol(
        report::reports(&c.auditor.session().await).await,
        "not by the certified patient of chart",
    );
    // Another chart, attributed to that chart's patient: the signature gives it away.
    server
        .set_report_column(
            "UPDATE reports SET reporter_id = $1 WHERE report_id = $2",
            Arg::Bytes(c.patient_b.id().as_bytes().to_vec()),
            id,
        )
        .await;
    assert_protocol(
        report::reports(&c.auditor.session().await).await,
        "does not open",
    );
    server
        .set_report_column(
            "UPDATE reports SET reporter_id = $1 WHERE report_id = $2",
            Arg::Bytes(c.patient_a.id().as_bytes().to_vec()),
            id,
        )
        .await;
    server
        .set_report_column(
            "UPDATE reports SET chart_id = $1 WHERE report_id = $2",
            Arg::Bytes(c.chart_a.as_bytes().to_vec()),
            id,
        )
        .await;
    assert_eq!(
        report::reports(&c.admin.session().await)
            .await
            .unwrap()
            .len(),
        2
    );

    // A changed ciphertext byte.
    let (envelope, _, _) = server.report_row(id).await;
    let mut flipped = envelope.clone();
    flipped[100] ^= 1;
    server
        .set_report_column(
            "UPDATE reports SET envelope = $1 WHERE report_id = $2",
            Arg::Bytes(flipped),
            id,
        )
        .await;
    assert_protocol(
        report::reports(&c.admin.session().await).await,
        "does not open",
    );
    server
        .set_report_column(
            "UPDATE reports SET envelope = $1 WHERE report_id = $2",
            Arg::Bytes(envelope),
            id,
        )
        .await;
    let reports = report::reports(&c.admin.session().await).await.unwrap();
    assert_eq!(reports[0].reason.as_deref(), Some(REASON));
}
