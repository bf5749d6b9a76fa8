//! Patient reports through the real binary, on SQLite and on PostgreSQL: a patient runs
//! `vaiti access-log report ENTRY --reason TEXT`, the admin and the auditor read it with
//! `vaiti access-log reports`, a therapist cannot, an entry outside the patient's log is refused,
//! and the report raises a `patient_report` alert.

use crate::support::cli::{PgDatabase, User, failure, json, serve, temp_dir};

const REASON: &str = "En ole koskaan käynyt tällä vastaanotolla.";

fn s(v: &serde_json::Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

fn report_flow(server_args: &[&str], dir: &std::path::Path) {
    let server = serve(server_args, &dir.join("server.log"));
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
            "Terapiakeskus Raportti",
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
    let chart = s(&fd.ok(&[
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
    let inv = t1.ok(&["patient", "invite", &chart]);
    let patient = User::new(dir, "patient");
    json(&patient.signup(&url, &s(&inv["code"]), None));
    t1.ok(&["sync"]);
    fd.ok(&["patient", "show", &chart]);

    // The patient finds front desk's opening in their log and reports it.
    let log = patient.ok(&["access-log"]);
    let entry = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["login"] == "fd@terapia.example" && e["action"] == "identity read")
        .unwrap_or_else(|| panic!("front desk's opening is in the patient's log: {log:#}"))["index"]
        .as_u64()
        .unwrap();
    let filed = patient.ok(&[
        "access-log",
        "report",
        &entry.to_string(),
        "--reason",
        REASON,
    ]);
    assert_eq!(filed["entry"], entry);
    assert_eq!(filed["chart"], chart.as_str());
    assert_eq!(filed["readers"], 2);
    let report = s(&filed["report"]);
    assert_eq!(report.len(), 32);
    // The report is in the patient's log too.
    let log = patient.ok(&["access-log"]);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["index"] == filed["log_index"] && e["action"] == "patient report"),
        "{log:#}"
    );
    // An entry that is not in the patient's log is refused.
    let err = failure(&patient.run(&["access-log", "report", "999999", "--reason", "x"], ""));
    assert!(err.contains("not in your chart's access log"), "{err}");

    // The admin and the auditor read it; the therapist cannot.
    for reader in [&admin, au] {
        let reports = reader.ok(&["access-log", "reports"]);
        let reports = reports.as_array().unwrap();
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert_eq!(reports[0]["report"], report.as_str());
        assert_eq!(reports[0]["entry"], entry);
        assert_eq!(reports[0]["chart"], chart.as_str());
        assert_eq!(reports[0]["reason"], REASON);
    }
    let err = failure(&t1.run(&["access-log", "reports"], ""));
    assert!(err.contains("only admins and auditors"), "{err}");

    // The report raised an alert, without the patient's words.
    let alerts = admin.ok(&["alerts", "list"]);
    let alert = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "patient_report")
        .unwrap_or_else(|| panic!("a patient_report alert: {alerts:#}"));
    assert_eq!(alert["log_index"], entry);
    assert!(!alerts.to_string().contains("vastaanotolla"));
    // Nor did the server log them.
    let log_path = server.log.clone();
    server.stop();
    let server_log = std::fs::read_to_string(log_path).unwrap();
    assert!(
        server_log.contains("reports"),
        "the server logged its requests"
    );
    assert!(!server_log.contains("vastaanotolla"));
}

#[test]
fn patient_reports_through_the_cli_on_sqlite() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    report_flow(&["--data", data.to_str().unwrap()], &dir);
    // The sealed reason is stored; its words are not, anywhere in the data directory.
    let mut all = Vec::new();
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(
        !all.windows(b"vastaanotolla".len())
            .any(|w| w == b"vastaanotolla")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn patient_reports_through_the_cli_on_postgres() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let db = PgDatabase::create();
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    report_flow(
        &["--data", data.to_str().unwrap(), "--database", &db.url],
        &dir,
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
