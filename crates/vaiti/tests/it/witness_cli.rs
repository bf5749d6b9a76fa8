//! The witness through the real binary, on SQLite and on PostgreSQL: `vaiti log key`,
//! `vaiti log witness init`, `vaiti log witness-add`, a client refusing the log until the witness
//! co-signed, `vaiti log witness` (once and `--watch`), a witness whose stored checkpoint is ahead
//! of the server (a rollback) stopping with a non-zero exit and its state untouched, and
//! `vaiti log witness-remove`.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::cli::{PgDatabase, User, failure, json, serve, temp_dir, vaiti};

fn s(v: &serde_json::Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Runs `vaiti ARGS` in the background; returns its exit status and stdout, or kills it after
/// `limit` (then the status is `None`).
fn run_for(args: &[&str], limit: Duration) -> (Option<std::process::ExitStatus>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaiti"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    (status, out)
}

/// The whole witness flow against a server started with `server_args`; `log_seed` reads the
/// clinic's log signing seed from the server's database (what an intruder could do).
fn witness_flow(server_args: &[&str], dir: &Path, log_seed: &dyn Fn(&str) -> [u8; 32]) {
    let server = serve(server_args, &dir.join("server.log"));
    let url = server.url.clone();
    let token_file = dir.join("data").join("clinic-creation-token");
    let admin = User::new(dir, "admin");
    let created = json(&admin.run(
        &[
            "clinic",
            "create",
            "--server",
            &url,
            "--name",
            "Terapiakeskus Todistaja",
            "--admin-email",
            "aino@terapia.example",
            "--escrow-shares",
            "2/2",
            "--escrow-out",
            dir.join("shares").to_str().unwrap(),
            "--creation-token-file",
            token_file.to_str().unwrap(),
        ],
        "",
    ));
    let clinic = s(&created["clinic"]);
    // The admin's first command adopts the log key; `vaiti log key` prints it.
    let key = admin.ok(&["log", "key"]);
    assert_eq!(key["clinic"], clinic);
    let log_key = s(&key["log_key"]);
    assert!(
        log_key.starts_with(&format!("vaiti.log/{clinic}+")),
        "{log_key}"
    );
    assert_eq!(key["witnesses"], serde_json::json!([]));

    // The witness's operator sets it up with what the admin handed over.
    let state = dir.join("witness");
    let state_arg = state.to_str().unwrap();
    let init = |name: &str| {
        vaiti(
            &[
                "log",
                "witness",
                "init",
                "--state",
                state_arg,
                "--server",
                &url,
                "--clinic",
                &clinic,
                "--log-key",
                &log_key,
                "--name",
                name,
                "--json",
            ],
            "",
        )
    };
    let made = json(&init("witness.clinic.example"));
    let vkey = s(&made["vkey"]);
    assert!(vkey.starts_with("witness.clinic.example+"), "{vkey}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&state), 0o700, "the state directory is owner-only");
        assert_eq!(
            mode(&state.join("witness-key")),
            0o600,
            "the seed is owner-only"
        );
    }
    assert!(failure(&init("again")).contains("already holds a witness"));
    let wrong_log = vaiti(
        &[
            "log",
            "witness",
            "init",
            "--state",
            dir.join("w2").to_str().unwrap(),
            "--server",
            &url,
            "--clinic",
            "00000000000000000000000000000001",
            "--log-key",
            &log_key,
        ],
        "",
    );
    assert!(failure(&wrong_log).contains("another log"));

    // The admin lists it; from then on clients refuse the log until it co-signs.
    let added = admin.ok(&["log", "witness-add", &vkey]);
    assert_eq!(added["witnesses"], serde_json::json!([vkey]));
    assert_eq!(added["witness_quorum"], 1);
    assert_eq!(added["witness_max_age_s"], 86_400);
    let refused = failure(&admin.run(&["sync"], ""));
    assert!(
        refused.contains(
            "the access log has no co-signature from the clinic's witnesses in the last 24 hours"
        ),
        "{refused}"
    );

    // A witness run: text output, then JSON; the client passes.
    let witness = |extra: &[&str]| {
        let mut args = vec!["log", "witness", "--state", state_arg];
        args.extend_from_slice(extra);
        vaiti(&args, "")
    };
    let out = witness(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("Co-signed the access log of clinic {clinic} at ")),
        "{text}"
    );
    #[cfg(unix)]
    assert_eq!(mode(&state.join("checkpoint")), 0o600);
    admin.ok(&["sync"]);
    let run = json(&witness(&["--clinic", &clinic, "--server", &url, "--json"]));
    assert!(
        run["new_entries"].as_u64().unwrap() > 0,
        "the admin's sync logged in: {run}"
    );
    admin.ok(&["sync"]);
    let other = failure(&witness(&["--clinic", "00000000000000000000000000000001"]));
    assert!(
        other.contains("use a state directory per clinic"),
        "{other}"
    );

    // `--watch` repeats until stopped.
    let (status, out) = run_for(
        &[
            "log", "witness", "--state", state_arg, "--watch", "1", "--json",
        ],
        Duration::from_millis(3500),
    );
    assert!(status.is_none(), "--watch keeps running");
    assert!(out.lines().count() >= 2, "at least two runs: {out}");

    // The server rolls back (as far as the witness can tell): the witness's own checkpoint is
    // ahead of the server's. It refuses, exits non-zero (also under --watch) and keeps its state.
    let seed = log_seed(&clinic);
    let log = vaiti_log::LogSigningKey::from_seed(&format!("vaiti.log/{clinic}"), &seed).unwrap();
    assert_eq!(log.log_key().to_vkey(), log_key);
    let size = run["size"].as_u64().unwrap() + 1000;
    let ahead = log
        .sign(&vaiti_log::Checkpoint::new(&format!("vaiti.log/{clinic}"), size, [1; 32]).unwrap())
        .unwrap()
        .to_bytes();
    let good = std::fs::read(state.join("checkpoint")).unwrap();
    std::fs::write(state.join("checkpoint"), &ahead).unwrap();
    let refused = failure(&witness(&[]));
    assert!(
        refused.contains("REFUSED TO CO-SIGN") && refused.contains("a rollback"),
        "{refused}"
    );
    assert_eq!(
        std::fs::read(state.join("checkpoint")).unwrap(),
        ahead,
        "state untouched"
    );
    let (status, _) = run_for(
        &["log", "witness", "--state", state_arg, "--watch", "1"],
        Duration::from_secs(20),
    );
    let status = status.expect("--watch stops on a rollback");
    assert!(!status.success());
    assert_eq!(std::fs::read(state.join("checkpoint")).unwrap(), ahead);
    // A damaged state file is refused too, never replaced.
    std::fs::write(state.join("checkpoint"), b"junk").unwrap();
    assert!(failure(&witness(&[])).contains("is damaged"));
    std::fs::write(state.join("checkpoint"), &good).unwrap();
    json(&witness(&["--json"]));

    // Unlisting the witness: clients no longer need it.
    let removed = admin.ok(&["log", "witness-remove", &vkey]);
    assert_eq!(removed["witnesses"], serde_json::json!([]));
    admin.ok(&["sync"]);
    let key = admin.ok(&["log", "key"]);
    assert_eq!(key["witnesses"], serde_json::json!([]));
    server.stop();
}

fn sqlite_seed(data: &Path, clinic: &str) -> [u8; 32] {
    let url = format!(
        "sqlite://{}?mode=ro",
        data.join(vaiti_store::SqliteStore::FILE_NAME).display()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection as _;
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let (seed,): (Vec<u8>,) =
            sqlx::query_as("SELECT value FROM server_secrets WHERE name = $1")
                .bind(format!("log-signing-key/{clinic}"))
                .fetch_one(&mut c)
                .await
                .unwrap();
        seed.try_into().unwrap()
    })
}

fn postgres_seed(url: &str, clinic: &str) -> [u8; 32] {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection as _;
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let (seed,): (Vec<u8>,) =
            sqlx::query_as("SELECT value FROM server_secrets WHERE name = $1")
                .bind(format!("log-signing-key/{clinic}"))
                .fetch_one(&mut c)
                .await
                .unwrap();
        seed.try_into().unwrap()
    })
}

#[test]
fn witness_on_sqlite() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    witness_flow(&["--data", data.to_str().unwrap()], &dir, &|clinic| {
        sqlite_seed(&data, clinic)
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn witness_on_postgres() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let db = PgDatabase::create();
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let url = db.url.clone();
    witness_flow(
        &["--database", &db.url, "--data", data.to_str().unwrap()],
        &dir,
        &|clinic| postgres_seed(&url, clinic),
    );
    drop(db);
    std::fs::remove_dir_all(&dir).unwrap();
}
