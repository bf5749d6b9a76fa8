//! Running the real `vaiti` binary in tests: a server on a free port (SQLite in a temporary
//! directory, or a fresh PostgreSQL database), and client commands each in their own profile.

#![allow(unreachable_pub)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A fresh directory name under the system's temporary directory.
pub fn temp_dir() -> PathBuf {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    std::env::temp_dir().join(format!("vaiti-cli-test-{}", u64::from_le_bytes(bytes)))
}

/// Runs `vaiti ARGS` with `stdin`, without the environment's secrets.
pub fn vaiti(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaiti"))
        .args(args)
        .env_remove("VAITI_PASSWORD")
        .env_remove("VAITI_SECRET_KEY")
        .env_remove("VAITI_PROFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command may exit before reading its input (a bad argument or a Secret Key typo is caught
    // first); a closed pipe then is expected, not a test failure.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

/// The command's JSON output; fails the test (with its stderr) if the command failed.
pub fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The command's stderr; fails the test if the command succeeded.
pub fn failure(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected a failure, got: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A running `vaiti serve`; killed on drop. Its log (stderr) goes to `log`.
pub struct Server {
    child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Stops the server (its log is complete afterwards).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `vaiti serve` with `extra` arguments on a free loopback port, logging to `log`.
pub fn serve(extra: &[&str], log: &Path) -> Server {
    let log_file = std::fs::File::create(log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaiti"))
        .arg("serve")
        .args(extra)
        .args(["--listen", "127.0.0.1:0"])
        .env("VAITI_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("vaiti: listening on ")
        .unwrap_or_else(|| panic!("the server did not start: {line:?}"))
        .to_string();
    Server {
        child,
        url,
        log: log.to_path_buf(),
    }
}

/// The PostgreSQL server the tests use (`VAITI_TEST_DATABASE_URL`, default
/// `postgres://root@127.0.0.1:5432/test`). The tests fail, never skip, when it is unreachable.
pub fn test_database_url() -> String {
    std::env::var("VAITI_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".to_string())
}

/// A fresh PostgreSQL database for one test, dropped on drop.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl PgDatabase {
    pub fn create() -> PgDatabase {
        let admin_url = test_database_url();
        let name = format!(
            "vaiti_e2e_{}",
            temp_dir()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .rsplit('-')
                .next()
                .unwrap()
        );
        run_sql(&admin_url, &format!("CREATE DATABASE {name}"));
        let base = admin_url.rsplit_once('/').unwrap().0;
        PgDatabase {
            url: format!("{base}/{name}"),
            name,
            admin_url,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        run_sql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn run_sql(url: &str, sql: &str) {
    use sqlx::Connection as _;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap_or_else(|e| {
            panic!(
                "these tests need PostgreSQL at {url} (set VAITI_TEST_DATABASE_URL); they fail rather than skip: {e}"
            )
        });
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut c)
            .await
            .unwrap();
    });
}

/// One person's device: a profile directory and their password.
pub struct User {
    pub profile: PathBuf,
    pub password: String,
}

impl User {
    pub fn new(dir: &Path, name: &str) -> User {
        User {
            profile: dir.join(name),
            password: format!("{name}: a long and careful password"),
        }
    }

    /// Runs a command as this user with `--json`; stdin is the password, then `input`.
    pub fn run(&self, args: &[&str], input: &str) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend([
            "--profile",
            self.profile.to_str().unwrap(),
            "--password-stdin",
            "--json",
        ]);
        vaiti(&all, &format!("{}\n{input}", self.password))
    }

    /// Runs a command that must succeed; its JSON output.
    pub fn ok(&self, args: &[&str]) -> serde_json::Value {
        json(&self.run(args, ""))
    }

    /// Signs up with an invite code on `server`.
    pub fn signup(&self, server: &str, code: &str, email: Option<&str>) -> Output {
        let mut args = vec!["signup", "--server", server, "--invite", code];
        if let Some(e) = email {
            args.extend(["--email", e]);
        }
        self.run(&args, "")
    }
}
