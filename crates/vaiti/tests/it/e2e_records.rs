//! End to end through the real binary, on SQLite and on PostgreSQL: a clinic with a branch, two
//! therapists, front desk, an outside therapist and a patient; notes in both tiers; who can open
//! what; a care-team removal; an amendment; used invites refused.

use crate::support::cli::{PgDatabase, User, failure, json, serve, temp_dir};

fn s(v: &serde_json::Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

fn clinic_flow(server_args: &[&str], dir: &std::path::Path) {
    let server = serve(server_args, &dir.join("server.log"));
    let url = server.url.clone();
    let token_file = server_args
        .iter()
        .position(|a| *a == "--data")
        .map(|i| std::path::Path::new(server_args[i + 1]).join("clinic-creation-token"))
        .unwrap_or_else(|| dir.join("data").join("clinic-creation-token"));

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
            token_file.to_str().unwrap(),
        ],
        "",
    ));
    admin.ok(&["branch", "create", "Helsinki"]);

    // Staff invites: two therapists, front desk, and a therapist who will not be on the team.
    let people = [
        ("t1", "t1@terapia.example", "therapist"),
        ("t2", "t2@terapia.example", "therapist"),
        ("fd", "fd@terapia.example", "frontdesk"),
        ("t3", "t3@terapia.example", "therapist"),
    ];
    let mut users = std::collections::HashMap::new();
    let mut codes = Vec::new();
    // All invites first: every command syncs, so an admin command after a sign-up would
    // complete that join at once.
    for (_, email, role) in people {
        let inv = admin.ok(&[
            "staff", "invite", "--email", email, "--role", role, "--branch", "Helsinki",
        ]);
        let code = s(&inv["code"]);
        assert!(code.starts_with("V1."));
        codes.push(code);
    }
    let open = admin.ok(&["invite", "list"]);
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "open")
    );
    for ((name, email, _), code) in people.iter().zip(codes.clone()) {
        let user = User::new(dir, name);
        let signed = json(&user.signup(&url, &code, Some(email)));
        assert!(s(&signed["secret_key"]).starts_with("V1-"));
        assert_eq!(signed["login"], *email);
        users.insert(*name, user);
    }
    // A used invite is refused, and nothing is created.
    let again = User::new(dir, "again");
    let err = failure(&again.signup(&url, &codes[0], None));
    assert!(err.contains("already been used"), "{err}");
    assert!(!again.profile.join("profile.json").exists());
    // Before the inviter syncs, the new member is not certified yet.
    let t1 = &users["t1"];
    let err = failure(&t1.run(&["patient", "list"], ""));
    assert!(
        err.contains("not certified yet") || err.contains("no valid certificate"),
        "{err}"
    );

    let synced = admin.ok(&["sync"]);
    assert_eq!(synced["completed_joins"].as_array().unwrap().len(), 4);
    assert_eq!(
        admin.ok(&["sync"])["completed_joins"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let invites = admin.ok(&["invite", "list"]);
    assert!(
        invites
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "completed")
    );

    // An expired invite is refused, and nothing is created.
    let short = admin.ok(&[
        "staff",
        "invite",
        "--email",
        "late@terapia.example",
        "--role",
        "therapist",
        "--valid-for",
        "5s",
    ]);
    std::thread::sleep(std::time::Duration::from_secs(6));
    let late = User::new(dir, "late");
    let err = failure(&late.signup(&url, short["code"].as_str().unwrap(), None));
    assert!(err.contains("expired"), "{err}");
    assert!(!late.profile.join("profile.json").exists());

    // Front desk adds a patient with t1 and t2 as the care team.
    let fd = &users["fd"];
    let added = fd.ok(&[
        "patient",
        "add",
        "--branch",
        "Helsinki",
        "--name",
        "Maija Meikäläinen",
        "--hetu",
        "131052-308T",
        "--email",
        "maija@example.fi",
        "--phone",
        "+358401234567",
        "--therapist",
        "t1@terapia.example",
        "--therapist",
        "t2@terapia.example",
    ]);
    let chart = s(&added["chart"]);
    let bad_hetu = failure(&fd.run(
        &[
            "patient",
            "add",
            "--branch",
            "Helsinki",
            "--name",
            "X Y",
            "--hetu",
            "131052-308U",
        ],
        "",
    ));
    assert!(bad_hetu.to_lowercase().contains("check"), "{bad_hetu}");

    let listed = fd.ok(&["patient", "list", "--branch", "Helsinki"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["name"], "Maija Meikäläinen");
    assert_eq!(listed[0]["birth_date"], "1952-10-13");
    let found = fd.ok(&["patient", "find", "meikä"]);
    assert_eq!(found[0]["chart"], chart.as_str());
    let shown = fd.ok(&["patient", "show", &chart]);
    assert_eq!(shown["details"]["hetu"], "131052-308T");

    // t1 writes a process note and a shared note; sees the patient in their caseload.
    let caseload = t1.ok(&["patient", "list"]);
    assert_eq!(caseload[0]["name"], "Maija Meikäläinen");
    let team_note = s(&json(&t1.run(
        &["note", "add", &chart, "--title", "Istunto 1"],
        "Process note: transference themes.\n",
    ))["note"]);
    let shared_note = s(&json(&t1.run(
        &[
            "note",
            "add",
            &chart,
            "--tier",
            "shared",
            "--title",
            "Kotitehtävät",
        ],
        "Homework: sleep diary.\n",
    ))["note"]);
    let notes = t1.ok(&["note", "list", &chart]);
    assert_eq!(notes.as_array().unwrap().len(), 2);
    assert_eq!(notes[0]["tier"], "team");
    assert_eq!(notes[0]["title"], "Istunto 1");
    assert_eq!(notes[0]["author"], "t1@terapia.example");
    assert_eq!(notes[1]["tier"], "shared");

    // The device remembers what it has seen (sealed, owner-only), to refuse rollbacks later.
    let seen = t1.profile.join("seen.vaiti");
    assert!(seen.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&seen).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(!String::from_utf8_lossy(&std::fs::read(&seen).unwrap()).contains(&chart));

    // t2 (care team) reads both.
    let t2 = &users["t2"];
    assert_eq!(
        t2.ok(&["note", "show", &team_note])["text"],
        "Process note: transference themes.\n"
    );
    // Front desk never opens a note; the outside therapist opens nothing.
    assert!(
        fd.ok(&["note", "list", &chart])
            .as_array()
            .unwrap()
            .is_empty()
    );
    failure(&fd.run(&["note", "show", &team_note], ""));
    let t3 = &users["t3"];
    failure(&t3.run(&["note", "list", &chart], ""));
    failure(&t3.run(&["note", "show", &shared_note], ""));
    failure(&t3.run(&["patient", "show", &chart], ""));

    // The patient: invited by t1, joins, is completed on t1's next sync.
    let inv = t1.ok(&["patient", "invite", &chart]);
    let patient = User::new(dir, "patient");
    let signed = json(&patient.signup(&url, &s(&inv["code"]), None));
    let handle = s(&signed["handle"]);
    assert_eq!(handle.len(), 10);
    let err = failure(&User::new(dir, "patient2").signup(&url, &s(&inv["code"]), None));
    assert!(err.contains("already been used"), "{err}");
    assert_eq!(
        t1.ok(&["sync"])["completed_joins"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let mine = patient.ok(&["note", "list", &chart]);
    assert_eq!(mine.as_array().unwrap().len(), 1, "only the shared note");
    assert_eq!(mine[0]["id"], shared_note.as_str());
    assert_eq!(
        patient.ok(&["note", "show", &shared_note])["text"],
        "Homework: sleep diary.\n"
    );
    failure(&patient.run(&["note", "show", &team_note], ""));
    assert_eq!(patient.ok(&["patient", "list"])[0]["chart"], chart.as_str());

    // The patient loses their Secret Key: the front desk re-invites them at the desk, a
    // clinician of the care team confirms the new sign-up (sync alone never completes it), and
    // the new account replaces the old one, which can no longer log in.
    let reinvite = fd.ok(&["patient", "invite", &chart]);
    let patient_again = User::new(dir, "patient-new-device");
    let again = json(&patient_again.signup(&url, &s(&reinvite["code"]), None));
    for user in [fd, t1] {
        assert!(
            user.ok(&["sync"])["completed_joins"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
    assert!(fd.ok(&["invite", "pending"]).as_array().unwrap().is_empty());
    assert!(t3.ok(&["invite", "pending"]).as_array().unwrap().is_empty());
    let pending = t1.ok(&["invite", "pending"]);
    let pending = pending.as_array().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["chart"], chart.as_str());
    assert_eq!(pending[0]["login"], again["handle"]);
    assert_eq!(pending[0]["invite"], reinvite["invite"]);
    failure(&t3.run(&["invite", "confirm", &s(&reinvite["invite"])], ""));
    failure(&patient_again.run(&["note", "list", &chart], ""));
    let confirmed = t1.ok(&["invite", "confirm", &s(&reinvite["invite"])]);
    assert_eq!(confirmed["login"], again["handle"]);
    assert!(t1.ok(&["invite", "pending"]).as_array().unwrap().is_empty());
    failure(&patient.run(&["note", "list", &chart], ""));
    assert_eq!(
        patient_again.ok(&["note", "show", &shared_note])["text"],
        "Homework: sleep diary.\n"
    );
    let patient = patient_again;

    // Removal: t2 leaves the care team; notes after that use a new epoch t2 never gets.
    t1.ok(&[
        "care-team",
        "remove",
        &chart,
        "--member",
        "t2@terapia.example",
    ]);
    let after = s(&json(&t1.run(
        &["note", "add", &chart, "--title", "Istunto 2"],
        "After removal.\n",
    ))["note"]);
    failure(&t2.run(&["note", "show", &after], ""));
    failure(&t2.run(&["note", "list", &chart], ""));
    // The patient still reads new shared notes (the new epoch's shared key is theirs too).
    let shared_after = s(&json(&t1.run(
        &["note", "add", &chart, "--tier", "shared", "--title", "Uusi"],
        "New homework.\n",
    ))["note"]);
    assert_eq!(
        patient.ok(&["note", "show", &shared_after])["text"],
        "New homework.\n"
    );
    // t3 joins the care team and reads old and new notes.
    t1.ok(&["care-team", "add", &chart, "--member", "t3@terapia.example"]);
    assert_eq!(t3.ok(&["note", "show", &after])["text"], "After removal.\n");
    assert_eq!(t3.ok(&["note", "show", &team_note])["title"], "Istunto 1");

    // Amendment: the original stays readable with who, when and why.
    let fixed = dir.join("fixed.txt");
    std::fs::write(&fixed, "Process note: transference themes (corrected).\n").unwrap();
    let amended = t1.ok(&[
        "note",
        "amend",
        &team_note,
        "--file",
        fixed.to_str().unwrap(),
        "--reason",
        "wrong session date",
    ]);
    assert_eq!(amended["version"], 2);
    let shown = t3.ok(&["note", "show", &team_note]);
    assert_eq!(
        shown["text"],
        "Process note: transference themes (corrected).\n"
    );
    let versions = shown["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["text"], "Process note: transference themes.\n");
    assert_eq!(versions[1]["reason"], "wrong session date");
    assert_eq!(versions[1]["author"], "t1@terapia.example");

    // Front desk registers a patient without a care team and assigns clinicians later: t1 first
    // (who makes the case keys on writing), then t3. When t1 next opens the chart a new key
    // epoch begins that t3 holds; the earlier note reaches t3 only once t1 confirms.
    let second = s(&fd.ok(&[
        "patient",
        "add",
        "--branch",
        "Helsinki",
        "--name",
        "Matti Virtanen",
    ])["chart"]);
    failure(&t1.run(&["note", "list", &second], ""));
    fd.ok(&[
        "care-team",
        "add",
        &second,
        "--member",
        "t1@terapia.example",
    ]);
    let first_note =
        s(&json(&t1.run(&["note", "add", &second, "--title", "Alku"], "Intake.\n"))["note"]);
    fd.ok(&[
        "care-team",
        "add",
        &second,
        "--member",
        "t3@terapia.example",
    ]);
    let err = failure(&t3.run(&["note", "show", &first_note], ""));
    assert!(err.contains("shares"), "{err}");
    assert_eq!(
        t1.ok(&["note", "list", &second]).as_array().unwrap().len(),
        1
    );
    failure(&t3.run(&["note", "show", &first_note], ""));
    let waiting = t1.ok(&["care-team", "waiting", &second]);
    let waiting = waiting["waiting"].as_array().unwrap();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert!(
        waiting[0]["member"]
            .as_str()
            .unwrap()
            .contains("t3@terapia.example")
    );
    assert!(
        waiting[0]["added_by"]
            .as_str()
            .unwrap()
            .contains("fd@terapia.example")
    );
    let shared = t1.ok(&[
        "care-team",
        "share",
        &second,
        "--member",
        "t3@terapia.example",
    ]);
    assert_eq!(shared["epochs"], serde_json::json!([1]));
    assert_eq!(t3.ok(&["note", "show", &first_note])["text"], "Intake.\n");
    // Front desk can add, never remove.
    let err = failure(&fd.run(
        &[
            "care-team",
            "remove",
            &second,
            "--member",
            "t3@terapia.example",
        ],
        "",
    ));
    assert!(err.contains("care team"), "{err}");

    // The patient reads who opened their chart, verified on their device; auditors' and admins'
    // view of the same chart can be filtered by actor and date; other staff may not read it.
    t1.ok(&["note", "list", &chart, "--purpose", "emergency"]);
    let err = failure(&t1.run(&["note", "list", &chart, "--purpose", "curiosity"], ""));
    assert!(err.contains("not a purpose"), "{err}");
    let log = patient.ok(&["access-log"]);
    let entries = log.as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["login"] == "t1@terapia.example"
            && e["action"] == "key release"
            && e["purpose"] == "treatment"),
        "{log:#}"
    );
    assert!(entries.iter().any(|e| e["login"] == "t1@terapia.example"
        && e["action"] == "key release"
        && e["purpose"] == "emergency"));
    assert_eq!(entries.last().unwrap()["action"], "log read");
    let by_t1 = admin.ok(&["access-log", &chart, "--actor", "T1@terapia.example"]);
    let by_t1 = by_t1.as_array().unwrap();
    assert!(!by_t1.is_empty());
    assert!(
        by_t1.iter().all(|e| e["login"] == "t1@terapia.example"
            && e["roles"] == serde_json::json!(["therapist"]))
    );
    assert!(
        admin
            .ok(&["access-log", &chart, "--since", "2999-01-01"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    let err = failure(&t3.run(&["access-log", &chart], ""));
    assert!(err.contains("access log you may read"), "{err}");
    let verified = admin.ok(&["log", "verify"]);
    assert_eq!(verified["recomputed"], true, "{verified}");
    assert_eq!(t3.ok(&["log", "verify"])["recomputed"], false);

    // Revoking an account: it can no longer log in. A clinician of the care team may revoke the
    // portal invite the front desk made, with the account made with it.
    t1.ok(&["invite", "revoke", &s(&reinvite["invite"]), "--account"]);
    failure(&patient.run(&["note", "list", &chart], ""));

    // t1 leaves the clinic: the admin revokes the account. Everything t1 wrote and every key t1
    // handed out stays readable to the care team; t3 removes t1 and carries on.
    let staff_invites = admin.ok(&["invite", "list"]);
    let t1_invite = staff_invites
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == "t1@terapia.example")
        .unwrap();
    admin.ok(&["invite", "revoke", &s(&t1_invite["invite"]), "--account"]);
    failure(&t1.run(&["note", "list", &chart], ""));
    assert_eq!(
        t3.ok(&["note", "show", &team_note])["text"],
        "Process note: transference themes (corrected).\n"
    );
    assert_eq!(
        t3.ok(&["note", "list", &chart]).as_array().unwrap().len(),
        4
    );
    t3.ok(&[
        "care-team",
        "remove",
        &chart,
        "--member",
        "t1@terapia.example",
    ]);
    let by_t3 = s(&json(&t3.run(
        &["note", "add", &chart, "--title", "Istunto 3"],
        "t3 writes.\n",
    ))["note"]);
    assert_eq!(t3.ok(&["note", "show", &by_t3])["text"], "t3 writes.\n");
    assert_eq!(
        t3.ok(&["patient", "show", &chart])["care_team"],
        serde_json::json!(["t3@terapia.example"])
    );
    server.stop();
}

#[test]
fn clinic_with_staff_patient_and_notes_on_sqlite() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    clinic_flow(&["--data", data.to_str().unwrap()], &dir);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn clinic_with_staff_patient_and_notes_on_postgres() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let db = PgDatabase::create();
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    // With PostgreSQL the data directory still holds the clinic-creation token.
    clinic_flow(
        &["--database", &db.url, "--data", data.to_str().unwrap()],
        &dir,
    );
    drop(db);
    std::fs::remove_dir_all(&dir).unwrap();
}
