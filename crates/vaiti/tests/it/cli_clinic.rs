//! The README's first steps through the real binary: start the server, create a clinic, log in
//! on another profile with the printed Secret Key, log out.

use std::path::Path;

use crate::support::cli::{self, json, temp_dir, vaiti};

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn create_a_clinic_log_in_elsewhere_and_log_out() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let server = cli::serve(&["--data", data.to_str().unwrap()], &dir.join("server.log"));
    let url = server.url.clone();
    let token_file = data.join("clinic-creation-token");
    let admin_profile = dir.join("admin-laptop");
    let shares = dir.join("shares");
    let password = "a long and careful password\n";

    let created = json(&vaiti(
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
            shares.to_str().unwrap(),
            "--creation-token-file",
            token_file.to_str().unwrap(),
            "--profile",
            admin_profile.to_str().unwrap(),
            "--password-stdin",
            "--json",
        ],
        password,
    ));
    let clinic = created["clinic"].as_str().unwrap().to_string();
    let secret_key = created["secret_key"].as_str().unwrap().to_string();
    assert!(secret_key.starts_with("V1-"));
    let files = created["escrow_shares"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    #[cfg(unix)]
    for f in files {
        assert_eq!(
            mode(Path::new(f.as_str().unwrap())),
            0o600,
            "escrow share files are owner-only"
        );
    }
    #[cfg(unix)]
    assert_eq!(mode(&admin_profile.join("secret-key")), 0o600);

    // Another device: the Secret Key typed from the kit (lower case, spaces instead of dashes).
    let phone = dir.join("phone");
    let typed = dir.join("typed-key");
    std::fs::write(&typed, secret_key.to_lowercase().replace('-', " ")).unwrap();
    let login_args = |profile: &Path| -> Vec<String> {
        [
            "login",
            "--server",
            &url,
            "--clinic",
            &clinic,
            "--email",
            "aino@terapia.example",
            "--secret-key-file",
            typed.to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
            "--password-stdin",
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let args = login_args(&phone);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let wrong = vaiti(&args, "not the password\n");
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("wrong login name, password or Secret Key"),
        "{stderr}"
    );
    assert!(!phone.join("session.json").exists());

    let logged_in = json(&vaiti(&args, password));
    assert_eq!(logged_in["clinic"], clinic);
    assert_eq!(logged_in["user"], created["user"]);
    assert!(phone.join("session.json").exists());

    let out = json(&vaiti(
        &["logout", "--profile", phone.to_str().unwrap(), "--json"],
        "",
    ));
    assert_eq!(out["logged_out"], true);
    assert!(!phone.join("session.json").exists());

    // A typo in the Secret Key is caught before anything is sent.
    let mut chars: Vec<char> = secret_key.chars().collect();
    chars[3] = if chars[3] == '7' { '8' } else { '7' };
    std::fs::write(&typed, chars.into_iter().collect::<String>()).unwrap();
    let typo = vaiti(&args, password);
    assert!(!typo.status.success());
    assert!(String::from_utf8_lossy(&typo.stderr).contains("not a valid Secret Key"));

    // The same profile cannot be reused for a second clinic by accident.
    let again = vaiti(
        &[
            "clinic",
            "create",
            "--server",
            &url,
            "--name",
            "Toinen",
            "--admin-email",
            "b@terapia.example",
            "--escrow-shares",
            "2/3",
            "--escrow-out",
            dir.join("shares2").to_str().unwrap(),
            "--creation-token-file",
            token_file.to_str().unwrap(),
            "--profile",
            admin_profile.to_str().unwrap(),
            "--password-stdin",
        ],
        password,
    );
    assert!(!again.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn escrow_shares_must_be_m_of_n_with_m_at_least_two() {
    for bad in ["1/3", "3/2", "x/3", "2"] {
        let out = vaiti(
            &[
                "clinic",
                "create",
                "--server",
                "http://127.0.0.1:9",
                "--name",
                "X",
                "--admin-email",
                "a@b.example",
                "--escrow-shares",
                bad,
                "--escrow-out",
                "/nonexistent",
                "--password-stdin",
            ],
            "password123456\n",
        );
        assert!(!out.status.success(), "{bad} accepted");
    }
}

#[test]
fn change_the_password_and_the_old_one_stops_working() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let server = cli::serve(&["--data", data.to_str().unwrap()], &dir.join("server.log"));
    let admin = cli::User::new(&dir, "admin");
    json(&admin.run(
        &[
            "clinic",
            "create",
            "--server",
            &server.url,
            "--name",
            "Salasanat",
            "--admin-email",
            "admin@salasana.example",
            "--escrow-shares",
            "2/2",
            "--escrow-out",
            dir.join("shares").to_str().unwrap(),
            "--creation-token-file",
            data.join("clinic-creation-token").to_str().unwrap(),
        ],
        "",
    ));
    admin.ok(&["branch", "create", "Oulu"]);
    // Too short a new password changes nothing.
    let short = admin.run(&["password"], "short\n");
    assert!(!short.status.success());
    admin.ok(&["sync"]);

    let changed = admin.run(&["password"], "the new and longer password\n");
    assert_eq!(json(&changed)["password_changed"], true);
    let old = admin.run(&["sync"], "");
    assert!(!old.status.success());
    assert!(
        String::from_utf8_lossy(&old.stderr).contains("wrong login name, password or Secret Key")
    );
    let renewed = cli::User {
        profile: admin.profile.clone(),
        password: "the new and longer password".into(),
    };
    // The keys came along: the admin still holds the root key and the branch's directory key.
    renewed.ok(&["branch", "create", "Kuopio"]);
    renewed.ok(&[
        "patient",
        "add",
        "--branch",
        "Oulu",
        "--name",
        "Testi Potilas",
    ]);
    assert_eq!(
        renewed.ok(&["patient", "list"]).as_array().unwrap().len(),
        1
    );
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The order a new clinic takes in its first days: staff, a patient, the patient's portal join
/// (front desk invites, the therapist confirms), and only then another therapist. A patient's
/// certificate is signed by their clinician, not by the root; the admin's sync after the new
/// therapist's sign-up must still verify the directory, certify them, and every command after
/// it must work.
#[test]
fn staff_join_after_a_patient_joined_the_portal() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let server = cli::serve(&["--data", data.to_str().unwrap()], &dir.join("server.log"));
    let url = server.url.clone();
    let admin = cli::User::new(&dir, "admin");
    json(&admin.run(
        &[
            "clinic",
            "create",
            "--server",
            &url,
            "--name",
            "Terapiakeskus Järjestys",
            "--admin-email",
            "aino@jarjestys.example",
            "--escrow-shares",
            "2/2",
            "--escrow-out",
            dir.join("shares").to_str().unwrap(),
            "--creation-token-file",
            data.join("clinic-creation-token").to_str().unwrap(),
        ],
        "",
    ));
    admin.ok(&["branch", "create", "Helsinki"]);
    let invite = |email: &str, role: &str| -> String {
        admin.ok(&[
            "staff", "invite", "--email", email, "--role", role, "--branch", "Helsinki",
        ])["code"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let t1_code = invite("t1@jarjestys.example", "therapist");
    let fd_code = invite("fd@jarjestys.example", "frontdesk");
    let t1 = cli::User::new(&dir, "t1");
    let fd = cli::User::new(&dir, "fd");
    json(&t1.signup(&url, &t1_code, Some("t1@jarjestys.example")));
    json(&fd.signup(&url, &fd_code, Some("fd@jarjestys.example")));
    assert_eq!(
        admin.ok(&["sync"])["completed_joins"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Front desk adds the patient and invites them to the portal; the patient signs up and the
    // therapist confirms.
    let chart = fd.ok(&[
        "patient",
        "add",
        "--branch",
        "Helsinki",
        "--name",
        "Maija Meikäläinen",
        "--therapist",
        "t1@jarjestys.example",
    ])["chart"]
        .as_str()
        .unwrap()
        .to_string();
    let portal = fd.ok(&["patient", "invite", &chart]);
    let patient = cli::User::new(&dir, "patient");
    json(&patient.signup(&url, portal["code"].as_str().unwrap(), None));
    let invite_id = portal["invite"].as_str().unwrap();
    t1.ok(&["invite", "confirm", invite_id]);

    // Now a new therapist: invited, signed up, certified on the admin's next sync.
    let t2_code = invite("t2@jarjestys.example", "therapist");
    let t2 = cli::User::new(&dir, "t2");
    json(&t2.signup(&url, &t2_code, Some("t2@jarjestys.example")));
    let synced = admin.ok(&["sync"]);
    assert_eq!(synced["completed_joins"].as_array().unwrap().len(), 1);
    assert_eq!(
        synced["completed_joins"][0]["login"],
        "t2@jarjestys.example"
    );
    // Every admin command keeps working, and the new therapist is certified.
    admin.ok(&["invite", "list"]);
    admin.ok(&["branch", "create", "Tampere"]);
    assert!(t2.ok(&["patient", "list"]).as_array().unwrap().is_empty());
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}
