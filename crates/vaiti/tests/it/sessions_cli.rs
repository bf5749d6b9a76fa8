//! The sessions the CLI leaves behind, on SQLite and PostgreSQL: every command logs in, and the
//! session it replaces in the profile must end then, not live out its 12 hours in no file (a
//! copy of an old `session.json`, or one read from a backup, would otherwise still work). A
//! password change proves the current password and ends every session.

use std::path::Path;

use crate::support::cli::{self, PgDatabase, json, temp_dir};

fn token(profile: &Path) -> String {
    let session: serde_json::Value =
        serde_json::from_slice(&std::fs::read(profile.join("session.json")).unwrap()).unwrap();
    session["token"].as_str().unwrap().to_owned()
}

/// The status of `GET /me` with `token`.
fn me(url: &str, clinic: &str, token: &str) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{url}/api/v1/clinics/{clinic}/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

fn replaced_sessions_end(database: Option<&str>) {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let mut args = vec!["--data", data.to_str().unwrap()];
    if let Some(url) = database {
        args.extend(["--database", url]);
    }
    let server = cli::serve(&args, &dir.join("server.log"));
    let admin = cli::User::new(&dir, "admin");
    let created = json(&admin.run(
        &[
            "clinic",
            "create",
            "--server",
            &server.url,
            "--name",
            "Istunnot",
            "--admin-email",
            "admin@istunto.example",
            "--escrow-shares",
            "2/2",
            "--escrow-out",
            dir.join("shares").to_str().unwrap(),
            "--creation-token-file",
            data.join("clinic-creation-token").to_str().unwrap(),
        ],
        "",
    ));
    let clinic = created["clinic"].as_str().unwrap().to_owned();
    admin.ok(&["sync"]);
    let first = token(&admin.profile);
    assert_eq!(me(&server.url, &clinic, &first), 200);
    admin.ok(&["sync"]);
    let second = token(&admin.profile);
    assert_ne!(first, second);
    assert_eq!(
        me(&server.url, &clinic, &first),
        401,
        "the session a command replaced must have ended"
    );
    assert_eq!(me(&server.url, &clinic, &second), 200);

    // A password change ends every session, the current one too.
    let changed = admin.run(&["password"], "the new and longer password\n");
    assert_eq!(json(&changed)["password_changed"], true);
    assert_eq!(me(&server.url, &clinic, &second), 401);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sqlite_every_command_ends_the_session_it_replaces() {
    replaced_sessions_end(None);
}

#[test]
fn postgres_every_command_ends_the_session_it_replaces() {
    let db = PgDatabase::create();
    replaced_sessions_end(Some(&db.url));
}
