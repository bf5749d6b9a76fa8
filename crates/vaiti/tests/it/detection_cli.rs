//! Detection through the real binary, on SQLite and on PostgreSQL: `vaiti serve --alert-webhook
//! URL` with its threshold options, `vaiti decoy create --json`, a decoy that no listing shows
//! and whose opening alerts (in `vaiti alerts list` and at a webhook receiver in the test),
//! `vaiti alerts ack`, who may read alerts, and a webhook the server refuses to start with.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::cli::{PgDatabase, User, failure, json, serve, temp_dir, vaiti};

fn s(v: &serde_json::Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

/// A webhook receiver on a loopback port, recording every JSON body POSTed to `/hook`.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<serde_json::Value>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    fn start() -> Receiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let sink = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let sink = sink.clone();
                async move {
                    sink.lock().unwrap().push(body);
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url,
            received,
            _runtime: runtime,
        }
    }

    /// The payload of alert `id`, waiting a few seconds at most.
    fn wait_for(&self, id: &str) -> serde_json::Value {
        for _ in 0..200 {
            if let Some(v) = self
                .received
                .lock()
                .unwrap()
                .iter()
                .find(|v| v["alert"] == id)
            {
                return v.clone();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("alert {id} did not reach the webhook within 10 s");
    }
}

fn detection_flow(server_args: &[&str], dir: &std::path::Path) {
    let hook = Receiver::start();
    let mut args: Vec<&str> = server_args.to_vec();
    args.extend([
        "--alert-webhook",
        &hook.url,
        "--chart-openings-threshold",
        "1",
        "--failed-logins-window",
        "2m",
    ]);
    let server = serve(&args, &dir.join("server.log"));
    let url = server.url.clone();
    let data = std::path::Path::new(
        server_args[1 + server_args.iter().position(|a| *a == "--data").unwrap()],
    );

    let admin = User::new(dir, "admin");
    json(&admin.run(
        &[
            "clinic",
            "create",
            "--server",
            &url,
            "--name",
            "Terapiakeskus Testi",
            "--admin-email",
            "aino@terapia.example",
            "--escrow-shares",
            "2/3",
            "--escrow-out",
            dir.join("shares").to_str().unwrap(),
            "--creation-token-file",
            data.join("clinic-creation-token").to_str().unwrap(),
        ],
        "",
    ));
    admin.ok(&["branch", "create", "Helsinki"]);
    let people = [
        ("t1", "t1@terapia.example", "therapist"),
        ("fd", "fd@terapia.example", "frontdesk"),
        ("au", "au@terapia.example", "auditor"),
    ];
    let mut codes = Vec::new();
    for (_, email, role) in people {
        let inv = admin.ok(&[
            "staff", "invite", "--email", email, "--role", role, "--branch", "Helsinki",
        ]);
        codes.push(s(&inv["code"]));
    }
    let mut users = std::collections::HashMap::new();
    for ((name, email, _), code) in people.iter().zip(&codes) {
        let user = User::new(dir, name);
        json(&user.signup(&url, code, Some(email)));
        users.insert(*name, user);
    }
    admin.ok(&["sync"]);
    let (t1, fd, au) = (&users["t1"], &users["fd"], &users["au"]);

    // A real patient, and a decoy made by the admin.
    let real = s(&fd.ok(&[
        "patient",
        "add",
        "--branch",
        "Helsinki",
        "--name",
        "Maija Meikäläinen",
        "--hetu",
        "131052-308T",
        "--therapist",
        "t1@terapia.example",
    ])["chart"]);
    let decoy = s(&admin.ok(&["decoy", "create"])["chart"]);
    assert_eq!(decoy.len(), 32);
    let file = std::fs::read_to_string(data.join("decoys.json")).unwrap();
    assert!(
        file.contains(&decoy),
        "the decoy list is kept in the data directory"
    );
    assert!(!file.contains(&real));
    // Only admins make decoys.
    let err = failure(&fd.run(&["decoy", "create", "--branch", "Helsinki"], ""));
    assert!(err.contains("only admins"), "{err}");

    // No listing shows it, and listing raises nothing.
    for user in [&admin, fd] {
        let listed = user.ok(&["patient", "list", "--branch", "Helsinki"]);
        let charts: Vec<String> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|p| s(&p["chart"]))
            .collect();
        assert_eq!(charts, vec![real.clone()]);
    }
    assert!(t1.ok(&["patient", "list"]).as_array().unwrap().len() == 1);
    assert_eq!(admin.ok(&["alerts", "list"]), serde_json::json!([]));

    // The therapist tries the decoy: refused, and an alert in the list and at the webhook.
    let err = failure(&t1.run(&["patient", "show", &decoy], ""));
    assert!(err.contains("no chart"), "{err}");
    let alerts = admin.ok(&["alerts", "list"]);
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["kind"], "decoy_access");
    assert_eq!(alerts[0]["actor_login"], "t1@terapia.example");
    let id = s(&alerts[0]["id"]);
    let payload = hook.wait_for(&id);
    assert_eq!(payload["kind"], "decoy_access");
    assert_eq!(payload["actor"], alerts[0]["actor"]);
    assert!(!payload.to_string().contains(&decoy));

    // The decoy is a realistic patient (the admin may open it; that alerts too).
    let shown = admin.ok(&["patient", "show", &decoy]);
    let details = &shown["details"];
    let hetu = vaiti_client::hetu::Hetu::parse(details["hetu"].as_str().unwrap()).unwrap();
    assert!(!hetu.is_temporary());
    let (y, m, d) = hetu.birth_date();
    assert_eq!(details["birth_date"], format!("{y:04}-{m:02}-{d:02}"));
    assert!(s(&details["name"]).contains(' '), "a full name");
    let alerts = au.ok(&["alerts", "list"]);
    assert_eq!(
        alerts.as_array().unwrap().len(),
        2,
        "the auditor reads them"
    );
    assert_eq!(alerts[0]["actor_login"], "aino@terapia.example");

    // --chart-openings-threshold 1: a therapist opening two charts' notes alerts.
    let second = s(&fd.ok(&[
        "patient",
        "add",
        "--branch",
        "Helsinki",
        "--name",
        "Matti Virtanen",
        "--therapist",
        "t1@terapia.example",
    ])["chart"]);
    for chart in [&real, &second] {
        t1.ok(&["note", "list", chart]);
        t1.ok(&["note", "list", chart]);
    }
    let alerts = admin.ok(&["alerts", "list"]);
    let rate: Vec<&serde_json::Value> = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "chart_opening_rate")
        .collect();
    assert_eq!(rate.len(), 1, "{alerts}");
    assert_eq!(rate[0]["actor_login"], "t1@terapia.example");
    assert_eq!(rate[0]["count"], 2);
    assert_eq!(rate[0]["window_s"], 600);
    hook.wait_for(rate[0]["id"].as_str().unwrap());

    // Acknowledging (admins only).
    let err = failure(&au.run(&["alerts", "ack", &id], ""));
    assert!(err.contains("only a certified admin"), "{err}");
    admin.ok(&["alerts", "ack", &id]);
    let alerts = admin.ok(&["alerts", "list"]);
    let acked = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id.as_str())
        .unwrap();
    assert!(acked["acknowledged_at"].is_i64());
    // Therapists and front desk do not read alerts.
    let err = failure(&t1.run(&["alerts", "list"], ""));
    assert!(err.contains("only a certified admin or auditor"), "{err}");

    // The server log names no decoy chart in its alert lines.
    server.stop();
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    assert!(log.contains("detection alert"));
    for line in log.lines().filter(|l| l.contains("detection alert")) {
        assert!(!line.contains(&decoy), "{line}");
    }
}

#[test]
fn decoys_and_alerts_through_the_cli_on_sqlite() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    detection_flow(&["--data", data.to_str().unwrap()], &dir);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn decoys_and_alerts_through_the_cli_on_postgres() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let db = PgDatabase::create();
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    // With PostgreSQL the data directory still holds the decoy list (outside the database).
    detection_flow(
        &["--data", data.to_str().unwrap(), "--database", &db.url],
        &dir,
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serve_refuses_a_plain_http_webhook_on_the_network_and_a_corrupt_decoy_list() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let out = vaiti(
        &[
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--alert-webhook",
            "http://192.0.2.1/hook",
        ],
        "",
    );
    let err = failure(&out);
    assert!(err.contains("https://"), "{err}");
    std::fs::write(data.join("decoys.json"), "{not json").unwrap();
    let out = vaiti(
        &[
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        "",
    );
    let err = failure(&out);
    assert!(err.contains("decoys.json"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
