//! `vaiti serve --demo` through the real binary: the seeded clinic works for every role as the
//! roles allow (a therapist reads their caseload's notes in both tiers, a portal patient only the
//! shared ones, front desk none), it is seeded once and never again, it works on PostgreSQL with
//! its state in the data directory, a stale state file is not trusted, and without the flag no
//! clinic is made.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use vaiti_client::account::{Unlocked, login};
use vaiti_client::api::Api;
use vaiti_client::chart;
use vaiti_client::session::Session;
use vaiti_core::ChartId;
use vaiti_crypto::{ClinicId, SecretKey};

use crate::support::cli::{PgDatabase, temp_dir};

/// Seeding takes a few seconds; a slow, shared test machine gets plenty more.
const SEED_TIMEOUT: Duration = Duration::from_secs(300);

/// A running `vaiti serve`, with everything it printed on stdout collected; killed on drop.
struct Server {
    child: Child,
    url: String,
    stdout: Arc<Mutex<String>>,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(args: &[&str], log: &Path) -> Server {
        let log_file = std::fs::File::create(log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_vaiti"))
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("vaiti: listening on ")
            .unwrap_or_else(|| panic!("the server did not start: {line:?}"))
            .to_string();
        let stdout = Arc::new(Mutex::new(String::new()));
        let collected = stdout.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                collected.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Server {
            child,
            url,
            stdout,
            log: log.to_path_buf(),
        }
    }

    fn printed(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits until `done` holds, failing with the server's log if it exits or time runs out.
    fn wait_until(&mut self, what: &str, mut done: impl FnMut(&Server) -> bool) {
        let start = Instant::now();
        loop {
            if done(self) {
                return;
            }
            let log = || std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "the server exited ({status}) before {what}; log:\n{}",
                    log()
                );
            }
            if start.elapsed() > SEED_TIMEOUT {
                panic!("timed out waiting for {what}; log:\n{}", log());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits for the seeded clinic's state file and returns it.
    fn wait_for_demo(&mut self, data: &Path) -> Value {
        let path = data.join("demo.json");
        self.wait_until("the demo clinic is seeded", |_| path.exists());
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
    }

    /// Waits for the printed block of sign-ins.
    fn wait_for_sign_ins(&mut self) -> String {
        self.wait_until("the sign-ins are printed", |srv| {
            let printed = srv.printed();
            printed.contains("DEMO CLINIC — fictional data")
                && printed.contains("Saved (owner-only)")
        });
        self.printed()
    }

    fn stop(self) {}
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn user<'a>(demo: &'a Value, login: &str) -> &'a Value {
    demo["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == login)
        .unwrap_or_else(|| panic!("no demo user {login}"))
}

fn users_with_role<'a>(demo: &'a Value, role: &str) -> Vec<&'a Value> {
    demo["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["role"] == role)
        .collect()
}

fn patients(demo: &Value) -> &Vec<Value> {
    demo["patients"].as_array().unwrap()
}

fn chart_of(p: &Value) -> ChartId {
    s(&p["chart"]).parse().unwrap()
}

/// Logs in as a demo user with the printed secrets, exactly as a person would.
async fn sign_in(url: &str, demo: &Value, u: &Value) -> (Api, Unlocked) {
    let clinic: [u8; 16] = hex::decode(s(&demo["clinic"])).unwrap().try_into().unwrap();
    let mut api = Api::new(url).unwrap();
    let me = login(
        &mut api,
        ClinicId::from_bytes(clinic),
        s(&u["login"]),
        &SecretKey::parse_printed(s(&u["secret_key"])).unwrap(),
        s(&u["password"]),
    )
    .await
    .unwrap_or_else(|e| panic!("{} cannot log in: {e}", u["login"]));
    (api, me)
}

async fn open<'a>(api: &'a Api, me: &'a Unlocked) -> Session<'a> {
    Session::open(api, me, now()).await.unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// How many clinics the SQLite store holds (read-only; the server may be stopped or running).
fn sqlite_clinics(data: &Path) -> i64 {
    use sqlx::Connection as _;
    let url = format!("sqlite://{}?mode=ro", data.join("vaiti.sqlite3").display());
    rt().block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM clinics")
            .fetch_one(&mut c)
            .await
            .unwrap();
        n
    })
}

fn pg_clinics(url: &str) -> i64 {
    use sqlx::Connection as _;
    rt().block_on(async {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM clinics")
            .fetch_one(&mut c)
            .await
            .unwrap();
        n
    })
}

#[cfg(unix)]
fn assert_owner_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{} is mode {mode:o}", path.display());
}

#[cfg(not(unix))]
fn assert_owner_only(_: &Path) {}

/// What the seeded clinic holds, and that everything in it is marked as made up.
fn check_demo_contents(demo: &Value, printed: &str, url: &str) {
    assert_eq!(demo["fictional"], true);
    assert!(s(&demo["clinic_name"]).contains("(DEMO)"));
    let branches: Vec<&str> = demo["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| s(&b["name"]))
        .collect();
    assert_eq!(branches, ["Helsinki", "Tampere"]);
    assert_eq!(users_with_role(demo, "admin").len(), 1);
    assert_eq!(users_with_role(demo, "therapist").len(), 3);
    assert_eq!(users_with_role(demo, "frontdesk").len(), 2);
    // A solo practitioner: a therapist who is also their own front desk.
    assert_eq!(users_with_role(demo, "therapist,frontdesk").len(), 1);
    assert_eq!(users_with_role(demo, "auditor").len(), 1);
    assert_eq!(users_with_role(demo, "patient").len(), 2);
    let mut passwords = std::collections::HashSet::new();
    for u in demo["users"].as_array().unwrap() {
        if u["role"] != "patient" {
            assert!(s(&u["login"]).ends_with("@demo.vaiti.invalid"), "{u}");
        }
        assert!(s(&u["password"]).len() >= 10);
        assert!(
            passwords.insert(s(&u["password"]).to_string()),
            "one per user"
        );
        assert!(s(&u["secret_key"]).starts_with("V1-"));
        // The printed block shows every sign-in.
        for field in ["login", "password", "secret_key"] {
            assert!(
                printed.contains(s(&u[field])),
                "{field} of {} not printed",
                u["login"]
            );
        }
    }
    assert!(printed.contains(&format!("{url}/")), "the web address");
    assert!(printed.contains(s(&demo["clinic"])));
    let ps = patients(demo);
    assert_eq!(ps.len(), 8);
    for p in ps {
        assert!(!p["care_team"].as_array().unwrap().is_empty());
        assert!(p["team_notes"].as_u64().unwrap() > 0);
        assert!(p["shared_notes"].as_u64().unwrap() > 0);
    }
    assert_eq!(ps.iter().filter(|p| p["portal"].is_string()).count(), 2);
    assert_eq!(
        ps.iter()
            .map(|p| p["amended_notes"].as_array().unwrap().len())
            .sum::<usize>(),
        1
    );
}

/// Signs in as each kind of user and checks they see what their role allows, and nothing more.
async fn check_roles(url: &str, demo: &Value) {
    let ps = patients(demo);

    // A therapist: their caseload, and every note of it in both tiers, with the amendment.
    let eero_login = "eero.kuuntelija@demo.vaiti.invalid";
    let (api, me) = sign_in(url, demo, user(demo, eero_login)).await;
    let session = open(&api, &me).await;
    let mine: Vec<&Value> = ps
        .iter()
        .filter(|p| {
            p["care_team"]
                .as_array()
                .unwrap()
                .contains(&eero_login.into())
        })
        .collect();
    let mut caseload: Vec<String> = chart::list_patients(&session, None)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    caseload.sort();
    let mut expected: Vec<String> = mine.iter().map(|p| s(&p["name"]).to_string()).collect();
    expected.sort();
    assert_eq!(caseload, expected, "the therapist's caseload");
    let mut saw_amendment = false;
    for p in &mine {
        let notes = chart::list_notes(&session, chart_of(p)).await.unwrap();
        let team = notes.iter().filter(|n| n.tier == "team").count();
        let shared = notes.iter().filter(|n| n.tier == "shared").count();
        assert_eq!(
            team as u64,
            p["team_notes"].as_u64().unwrap(),
            "{}",
            p["name"]
        );
        assert_eq!(
            shared as u64,
            p["shared_notes"].as_u64().unwrap(),
            "{}",
            p["name"]
        );
        for n in &notes {
            assert!(!n.current().unwrap().text.trim().is_empty());
            if n.versions.len() > 1 {
                saw_amendment = true;
                assert!(n.versions[1].reason.is_some());
                assert_ne!(n.versions[0].text, n.versions[1].text);
            }
        }
    }
    assert!(saw_amendment, "Eero's caseload holds the amended note");
    // A chart outside the caseload does not open.
    let tampere = ps.iter().find(|p| p["branch"] == "Tampere").unwrap();
    assert!(
        chart::list_notes(&session, chart_of(tampere))
            .await
            .is_err()
    );
    drop(session);

    // The second therapist of a shared care team reads the first one's notes too.
    let helmi_login = "helmi.hoivanen@demo.vaiti.invalid";
    let (api, me) = sign_in(url, demo, user(demo, helmi_login)).await;
    let session = open(&api, &me).await;
    let shared_team = ps
        .iter()
        .find(|p| p["care_team"].as_array().unwrap().len() == 2)
        .expect("one patient has a care team of two");
    let notes = chart::list_notes(&session, chart_of(shared_team))
        .await
        .unwrap();
    assert!(notes.iter().any(|n| n.versions[0].author == eero_login));
    assert!(notes.iter().any(|n| n.versions[0].author == helmi_login));
    drop(session);

    // Each portal patient: their own chart's shared notes only, including the amendment.
    for pu in users_with_role(demo, "patient") {
        let own = ps
            .iter()
            .find(|p| p["portal"] == pu["login"])
            .expect("the patient's chart");
        assert_eq!(s(&pu["chart"]), s(&own["chart"]));
        let (api, me) = sign_in(url, demo, pu).await;
        let session = open(&api, &me).await;
        let notes = chart::list_notes(&session, chart_of(own)).await.unwrap();
        assert_eq!(
            notes.len() as u64,
            own["shared_notes"].as_u64().unwrap(),
            "the patient sees every shared note"
        );
        assert!(notes.iter().all(|n| n.tier == "shared"), "and nothing else");
        for amended in own["amended_notes"].as_array().unwrap() {
            let n = notes
                .iter()
                .find(|n| n.id.to_string() == s(amended))
                .unwrap();
            assert_eq!(n.versions.len(), 2);
        }
        let other = ps.iter().find(|p| p["chart"] != own["chart"]).unwrap();
        assert!(chart::list_notes(&session, chart_of(other)).await.is_err());
    }

    // Front desk: the branch's directory and identities (with temporary identity codes only),
    // never a note.
    let fd = users_with_role(demo, "frontdesk")
        .into_iter()
        .find(|u| u["branch"] == "Helsinki")
        .unwrap();
    let (api, me) = sign_in(url, demo, fd).await;
    let session = open(&api, &me).await;
    let listed = chart::list_patients(&session, Some("Helsinki"))
        .await
        .unwrap();
    let helsinki: Vec<&Value> = ps.iter().filter(|p| p["branch"] == "Helsinki").collect();
    assert_eq!(listed.len(), helsinki.len());
    for p in &helsinki {
        let record = chart::show_patient(&session, chart_of(p)).await.unwrap();
        let hetu =
            vaiti_client::hetu::Hetu::parse(record.details.hetu.as_deref().unwrap()).unwrap();
        assert!(
            hetu.is_temporary(),
            "demo identity codes are never real ones"
        );
        assert!(
            record
                .details
                .email
                .as_deref()
                .unwrap()
                .ends_with("@demo.vaiti.invalid")
        );
        // The server releases no note to front desk, and no case key to open one with.
        let notes = chart::list_notes(&session, chart_of(p)).await.unwrap();
        assert!(notes.is_empty(), "front desk read notes of {}", p["name"]);
        for note in p["amended_notes"].as_array().unwrap() {
            let id: vaiti_core::ObjectId = s(note).parse().unwrap();
            assert!(chart::show_note(&session, id).await.is_err());
        }
    }
    assert!(
        helsinki
            .iter()
            .any(|p| !p["amended_notes"].as_array().unwrap().is_empty()),
        "front desk tried a note id it knows"
    );
    drop(session);

    // The auditor can sign in and verify the directory.
    let (api, me) = sign_in(url, demo, users_with_role(demo, "auditor")[0]).await;
    open(&api, &me).await;
}

/// The admin lists every patient of both branches.
async fn admin_patient_count(url: &str, demo: &Value) -> usize {
    let (api, me) = sign_in(url, demo, users_with_role(demo, "admin")[0]).await;
    let session = open(&api, &me).await;
    chart::list_patients(&session, None).await.unwrap().len()
}

#[test]
fn demo_clinic_works_for_every_role_and_is_seeded_once() {
    let dir = temp_dir();
    let data = dir.join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let data_arg = data.to_str().unwrap();

    let mut server = Server::start(&["--data", data_arg, "--demo"], &dir.join("first.log"));
    // The server answers while it seeds.
    assert_eq!(health(&server.url), 200);
    let demo = server.wait_for_demo(&data);
    let printed = server.wait_for_sign_ins();
    check_demo_contents(&demo, &printed, &server.url);
    assert_owner_only(&data.join("demo.json"));
    assert_owner_only(&data.join("demo-sign-ins.txt"));
    let saved = std::fs::read_to_string(data.join("demo-sign-ins.txt")).unwrap();
    assert!(saved.contains("DEMO CLINIC — fictional data"));
    for u in demo["users"].as_array().unwrap() {
        assert!(saved.contains(s(&u["password"])));
    }
    rt().block_on(check_roles(&server.url, &demo));
    assert_eq!(rt().block_on(admin_patient_count(&server.url, &demo)), 8);
    server.stop();
    assert_eq!(sqlite_clinics(&data), 1);
    let state_before = std::fs::read(data.join("demo.json")).unwrap();

    // Again with --demo: nothing is seeded; the saved sign-ins are printed.
    let mut again = Server::start(&["--data", data_arg, "--demo"], &dir.join("second.log"));
    let printed = again.wait_for_sign_ins();
    assert!(printed.contains(s(&demo["clinic"])));
    assert!(printed.contains(&format!("{}/", again.url)));
    assert_eq!(
        std::fs::read(data.join("demo.json")).unwrap(),
        state_before,
        "the state is not rewritten"
    );
    assert_eq!(rt().block_on(admin_patient_count(&again.url, &demo)), 8);
    again.stop();
    assert_eq!(sqlite_clinics(&data), 1, "no second clinic");

    // Without --demo on the same data: no sign-ins printed, nothing changes.
    let plain = Server::start(&["--data", data_arg], &dir.join("third.log"));
    assert_eq!(health(&plain.url), 200);
    std::thread::sleep(Duration::from_millis(500));
    assert!(!plain.printed().contains("DEMO CLINIC"));
    plain.stop();
    assert_eq!(sqlite_clinics(&data), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serve_without_demo_creates_no_clinic() {
    let dir = temp_dir();
    let data = dir.join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let server = Server::start(&["--data", data.to_str().unwrap()], &dir.join("server.log"));
    assert_eq!(health(&server.url), 200);
    // Give a (wrongly) started seeding time to show itself.
    std::thread::sleep(Duration::from_secs(2));
    assert!(!server.printed().contains("DEMO"));
    server.stop();
    assert_eq!(sqlite_clinics(&data), 0);
    assert!(!data.join("demo.json").exists());
    assert!(!data.join("demo-sign-ins.txt").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn demo_on_postgres_keeps_its_state_in_the_data_dir_and_trusts_only_the_store() {
    let dir = temp_dir();
    let data = dir.join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let data_arg = data.to_str().unwrap();
    let db = PgDatabase::create();

    let mut server = Server::start(
        &["--data", data_arg, "--database", &db.url, "--demo"],
        &dir.join("first.log"),
    );
    let demo = server.wait_for_demo(&data);
    let printed = server.wait_for_sign_ins();
    check_demo_contents(&demo, &printed, &server.url);
    // A portal patient signs in against PostgreSQL and reads their shared notes.
    let patient = users_with_role(&demo, "patient")[0];
    let url = server.url.clone();
    rt().block_on(async {
        let (api, me) = sign_in(&url, &demo, patient).await;
        let session = open(&api, &me).await;
        let chart: ChartId = s(&patient["chart"]).parse().unwrap();
        let notes = chart::list_notes(&session, chart).await.unwrap();
        assert!(!notes.is_empty());
        assert!(notes.iter().all(|n| n.tier == "shared"));
    });
    server.stop();
    assert!(
        !data.join("vaiti.sqlite3").exists(),
        "no SQLite store beside PostgreSQL"
    );
    assert_eq!(pg_clinics(&db.url), 1);

    // Restarted on the same database: the saved clinic, not a new one.
    let mut again = Server::start(
        &["--data", data_arg, "--database", &db.url, "--demo"],
        &dir.join("second.log"),
    );
    let printed = again.wait_for_sign_ins();
    assert!(printed.contains(s(&demo["clinic"])));
    again.stop();
    assert_eq!(pg_clinics(&db.url), 1);

    // The same state file against a database that lacks its clinic (wiped, or another one) is
    // not trusted: a new demo clinic is seeded there and the state file names it.
    let other = PgDatabase::create();
    let mut fresh = Server::start(
        &["--data", data_arg, "--database", &other.url, "--demo"],
        &dir.join("third.log"),
    );
    let old_clinic = s(&demo["clinic"]).to_string();
    fresh.wait_until("a new demo clinic is seeded", |_| {
        std::fs::read(data.join("demo.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|v| v["clinic"] != old_clinic.as_str())
    });
    let renewed: Value =
        serde_json::from_slice(&std::fs::read(data.join("demo.json")).unwrap()).unwrap();
    let new_clinic = s(&renewed["clinic"]).to_string();
    fresh.wait_until("the new sign-ins are printed", |srv| {
        srv.printed().contains(&new_clinic)
    });
    assert_eq!(rt().block_on(admin_patient_count(&fresh.url, &renewed)), 8);
    fresh.stop();
    assert_eq!(pg_clinics(&other.url), 1);
    assert_eq!(pg_clinics(&db.url), 1, "the first database is untouched");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The status of the server's health endpoint.
fn health(url: &str) -> u16 {
    rt().block_on(async {
        reqwest::get(format!("{url}/api/v1/health"))
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}
