//! `cargo xtask`: the project's build, test and benchmark orchestration.
//!
//! One entry point for CI and developers, so `.ci/run` and the README name a single command and
//! the steps cannot drift apart. Plain `std` only: xtask is built before anything else runs, so it
//! must compile fast and pull in nothing.
//!
//! Every step runs a real tool with inherited stdio; a step that fails *or cannot be started* fails
//! the whole command. The one exception is the fuzz-crate check, which needs a nightly toolchain
//! and is skipped (loudly) when none is installed.

use std::env;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

const USAGE: &str = "\
Usage: cargo xtask <COMMAND> [ARGS]

Commands:
  build             The release binary with the web app inside: builds vaiti-web for wasm32,
                    bundles it (wasm-bindgen, hashed names, SRI, asset manifest) into
                    target/web-dist, and builds target/release/vaiti embedding it.
  serve [ARGS...]   `build`, then runs `target/release/vaiti serve ARGS` (e.g. `--demo`).
  test              Everything CI checks, in order: rustfmt, the web app build, clippy
                    (-D warnings, native and wasm32), the workspace tests, the server's
                    dependency invariant, the wasm32 build of the client-side crates, the
                    API's schema conformance (`api`), the browser tests in headless Chromium, and (with a nightly toolchain) a check
                    of the fuzz crate. Fails on the first failing step.
  api               The API's conformance to docs/openapi.json: installs a pinned schemathesis
                    into a venv under target/tools (needs python3 with venv; fails without),
                    starts a debug `vaiti serve` on a temporary SQLite store, creates a clinic
                    through the CLI, and runs schemathesis (fixed seed, bounded examples and
                    time) as its admin and anonymously. Also a step of `test`.
  wasm              Only the wasm32-unknown-unknown release build of vaiti-crypto, vaiti-log and
                    vaiti-client (installs the target with rustup if it is missing).
  bench [ARGS...]   cargo bench -p vaiti-crypto -p vaiti-log -p vaiti-store, forwarding ARGS
                    (e.g. `-- envelope`). The vaiti-store bench needs PostgreSQL (as the tests do).
  bench-web         `build`, then the browser benchmark (tests/browser/bench.mjs): a chart of
                    500 notes opened in headless Chromium against `vaiti note list` natively.
  fuzz [SECONDS]    Run the envelope_open fuzz target for SECONDS (default 60) with cargo-fuzz.
  model [CASES]     Only the clinic model test (vaiti-client `model::`), with CASES random
                    histories (default 100) instead of the few `test` runs; VAITI_MODEL_OPS sets
                    the longest history (default 14).
  help, --help, -h  This text.
";

/// The wasm target the crypto crate must keep building for (the browser client uses it).
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Default fuzzing time for `cargo xtask fuzz`: long enough to be useful, short enough to wait for.
const DEFAULT_FUZZ_SECONDS: u64 = 60;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
    };
    let result = match command {
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        "test" => no_args(command, rest).and_then(|()| test()),
        "build" => no_args(command, rest).and_then(|()| build()),
        "serve" => serve(rest),
        "wasm" => no_args(command, rest).and_then(|()| wasm()),
        "api" => no_args(command, rest)
            .and_then(|()| workspace_root())
            .and_then(|root| api_conformance(&root).map(|_| ())),
        "bench" => bench(rest),
        "bench-web" => no_args(command, rest).and_then(|()| bench_web()),
        "fuzz" => fuzz(rest),
        "model" => model(rest),
        other => {
            eprintln!("xtask: unknown command `{other}`\n");
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn no_args(command: &str, rest: &[String]) -> Result<(), String> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "`{command}` takes no arguments (got: {}); see `cargo xtask --help`",
            rest.join(" ")
        ))
    }
}

/// The workspace root: this crate lives in `<root>/crates/xtask`. Commands run from there so
/// they behave the same whatever directory `cargo xtask` was started in.
///
/// `cargo run` sets `CARGO_MANIFEST_DIR` for the running process; prefer that to the value baked
/// in at compile time, which goes stale when a target directory is shared between clones or
/// copied (cargo then reuses the binary and it would test the *other* checkout).
fn workspace_root() -> Result<PathBuf, String> {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let root = manifest_dir
        .ancestors()
        .nth(2)
        .ok_or_else(|| {
            format!(
                "cannot find the workspace root above {}",
                manifest_dir.display()
            )
        })?
        .to_path_buf();
    if root.join("Cargo.toml").is_file() {
        Ok(root)
    } else {
        Err(format!(
            "{} has no Cargo.toml; run xtask as `cargo xtask` from the repository",
            root.display()
        ))
    }
}

/// A command line to run, kept printable so every message can show exactly what ran.
struct Cmd {
    program: String,
    args: Vec<String>,
    dir: PathBuf,
    envs: Vec<(String, String)>,
}

impl Cmd {
    fn new(dir: &Path, program: &str, args: &[&str]) -> Self {
        Self {
            program: program.to_owned(),
            args: args.iter().map(|&a| a.to_owned()).collect(),
            dir: dir.to_path_buf(),
            envs: Vec::new(),
        }
    }

    fn extra_args(mut self, extra: &[String]) -> Self {
        self.args.extend_from_slice(extra);
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args).current_dir(&self.dir);
        // Every cargo command after the web app is bundled builds `vaiti` with it embedded, so
        // clippy, the tests and the browser tests share one build of the binary.
        if self.program == "cargo"
            && let Some(dist) = WEB_DIST.get()
        {
            command.env("VAITI_WEB_DIST", dist);
        }
        for (k, v) in &self.envs {
            command.env(k, v);
        }
        command
    }

    fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.envs.push((key.to_owned(), value.into()));
        self
    }

    /// Runs with inherited stdio; `Err` if it cannot start or exits unsuccessfully.
    fn run(&self) -> Result<(), String> {
        println!("xtask: $ {self}");
        let status = self
            .command()
            .status()
            .map_err(|e| format!("could not start `{self}`: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{self}` failed ({status})"))
        }
    }

    /// Runs quietly and returns stdout; `Err` if it cannot start or exits unsuccessfully.
    /// Stderr stays inherited so a failing tool still explains itself.
    fn stdout(&self) -> Result<String, String> {
        let output = self
            .command()
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("could not start `{self}`: {e}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!("`{self}` failed ({})", output.status))
        }
    }

    /// Whether the command runs successfully, with all output discarded (for feature probes).
    fn succeeds_silently(&self) -> bool {
        self.command()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.program)?;
        for arg in &self.args {
            write!(f, " {arg}")?;
        }
        Ok(())
    }
}

/// How a step of `cargo xtask test` ended, when it did not fail.
enum Outcome {
    Passed,
    /// The test step: how many tests passed (and were ignored) across every test binary.
    Tested {
        passed: u64,
        ignored: u64,
    },
    Skipped(&'static str),
}

/// One named step of `cargo xtask test`.
struct Step {
    name: &'static str,
    run: fn(&Path) -> Result<Outcome, String>,
}

const TEST_STEPS: [Step; 9] = [
    Step {
        name: "fmt",
        run: |root| passed(Cmd::new(root, "cargo", &["fmt", "--all", "--check"]).run()),
    },
    Step {
        name: "web-build",
        run: |root| passed(web_dist(root).map(|_| ())),
    },
    Step {
        name: "clippy",
        run: |root| {
            Cmd::new(
                root,
                "cargo",
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ],
            )
            .run()?;
            // The web app as the browser runs it.
            passed(
                Cmd::new(
                    root,
                    "cargo",
                    &[
                        "clippy",
                        "-p",
                        "vaiti-web",
                        "--target",
                        WASM_TARGET,
                        "--",
                        "-D",
                        "warnings",
                    ],
                )
                .run(),
            )
        },
    },
    Step {
        name: "test",
        run: |root| run_tests(&Cmd::new(root, "cargo", &["test", "--workspace"])),
    },
    Step {
        name: "server-deps",
        run: server_deps,
    },
    Step {
        name: "wasm",
        run: |root| passed(wasm_in(root)),
    },
    Step {
        name: "api",
        run: api_conformance,
    },
    Step {
        name: "browser",
        run: browser_tests,
    },
    Step {
        name: "fuzz-check",
        run: fuzz_check,
    },
];

/// Runs the test suite, echoing its output, and adds up every `test result:` line, so the run ends
/// with one total that CI (and a person) can read, and a run that executed no test fails.
fn run_tests(cmd: &Cmd) -> Result<Outcome, String> {
    use std::io::BufRead as _;
    println!("xtask: $ {cmd}");
    let mut child = cmd
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start `{cmd}`: {e}"))?;
    let (mut passed, mut failed, mut ignored) = (0u64, 0u64, 0u64);
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading the output of `{cmd}`: {e}"))?;
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                passed += count(rest, " passed");
                failed += count(rest, " failed");
                ignored += count(rest, " ignored");
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for `{cmd}`: {e}"))?;
    if !status.success() || failed > 0 {
        return Err(format!(
            "`{cmd}` failed ({status}; {passed} passed, {failed} failed)"
        ));
    }
    if passed == 0 {
        return Err(format!("`{cmd}` ran no test"));
    }
    Ok(Outcome::Tested { passed, ignored })
}

/// The number before `label` in a `test result:` line, e.g. `12` in "ok. 12 passed; 0 failed".
fn count(line: &str, label: &str) -> u64 {
    line.split([';', '.'])
        .find_map(|part| part.trim().strip_suffix(label.trim_start()).map(str::trim))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn passed(result: Result<(), String>) -> Result<Outcome, String> {
    result.map(|()| Outcome::Passed)
}

/// `cargo xtask test`: every step in order, stopping at the first failure (later steps would
/// only repeat its noise). Ends with one line saying what passed, skipped or failed.
fn test() -> Result<(), String> {
    let root = workspace_root()?;
    let mut summary: Vec<String> = Vec::new();
    let mut totals = (0u64, 0u64);
    let whole = std::time::Instant::now();
    for step in &TEST_STEPS {
        println!("\nxtask: ==== step `{}` ====", step.name);
        let started = std::time::Instant::now();
        let result = (step.run)(&root);
        // Each step's wall time, so a slow CI run says where its minutes went.
        let took = started.elapsed().as_secs();
        println!("xtask: step `{}` took {took} s", step.name);
        match result {
            Ok(Outcome::Passed) => summary.push(format!("{} ok ({took} s)", step.name)),
            Ok(Outcome::Tested { passed, ignored }) => {
                totals = (totals.0 + passed, totals.1 + ignored);
                summary.push(format!(
                    "{} ok ({passed} passed, {ignored} ignored; {took} s)",
                    step.name
                ));
            }
            Ok(Outcome::Skipped(why)) => {
                println!("xtask: step `{}` SKIPPED: {why}", step.name);
                summary.push(format!("{} SKIPPED ({why})", step.name));
            }
            Err(message) => {
                summary.push(format!("{} FAILED ({took} s)", step.name));
                println!("\nxtask test: {}", summary.join(", "));
                return Err(format!("step `{}` failed: {message}", step.name));
            }
        }
    }
    println!(
        "\nxtask test: passed in {} s: {}",
        whole.elapsed().as_secs(),
        summary.join(", ")
    );
    // The plain closing line CI reads: every step passed, so nothing failed.
    println!("tests: {} passed, 0 failed, {} skipped", totals.0, totals.1);
    Ok(())
}

/// Random histories `cargo xtask model` runs unless told otherwise.
const DEFAULT_MODEL_CASES: u32 = 100;

/// `cargo xtask model [CASES]`: the clinic model test alone, with more cases than CI runs.
fn model(rest: &[String]) -> Result<(), String> {
    let cases = match rest {
        [] => DEFAULT_MODEL_CASES,
        [n] => n
            .parse()
            .map_err(|_| format!("`model` takes a number of cases, not {n:?}"))?,
        _ => return Err("`model` takes at most one argument: the number of cases".into()),
    };
    let root = workspace_root()?;
    Cmd::new(
        &root,
        "cargo",
        &[
            "test",
            "-p",
            "vaiti-client",
            "--test",
            "it",
            "model::",
            "--",
            "--nocapture",
        ],
    )
    .env("VAITI_MODEL_CASES", cases.to_string())
    .run()
}

/// The bundled web app, once `web_dist` has made it in this run.
static WEB_DIST: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Cargo's target directory: `CARGO_TARGET_DIR` if set, else `<root>/target`.
fn target_dir(root: &Path) -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Ensures the wasm32 target is installed (for the toolchain that `rust-toolchain.toml` selects,
/// hence run from the root).
fn ensure_wasm_target(root: &Path) -> Result<(), String> {
    let installed = Cmd::new(root, "rustup", &["target", "list", "--installed"]).stdout()?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        println!("xtask: target {WASM_TARGET} is installed");
        Ok(())
    } else {
        println!("xtask: target {WASM_TARGET} is missing; installing it");
        Cmd::new(root, "rustup", &["target", "add", WASM_TARGET])
            .run()
            .map_err(|e| format!("cannot install the {WASM_TARGET} target: {e}"))
    }
}

/// Builds vaiti-web for wasm32 (profile `wasm-release`) and bundles it into
/// `<target>/web-dist`; later cargo commands of this run embed it (`VAITI_WEB_DIST`).
fn web_dist(root: &Path) -> Result<PathBuf, String> {
    ensure_wasm_target(root)?;
    Cmd::new(
        root,
        "cargo",
        &[
            "build",
            "-p",
            "vaiti-web",
            "--target",
            WASM_TARGET,
            "--profile",
            "wasm-release",
        ],
    )
    .run()?;
    let target = target_dir(root);
    let wasm = target
        .join(WASM_TARGET)
        .join("wasm-release")
        .join("vaiti_web.wasm");
    let css = root.join("crates").join("vaiti-web").join("style.css");
    let dist = target.join("web-dist");
    let path = |p: &Path| p.to_string_lossy().into_owned();
    Cmd::new(
        root,
        "cargo",
        &[
            "run",
            "--quiet",
            "-p",
            "vaiti-web-bundle",
            "--",
            &path(&wasm),
            &path(&css),
            &path(&dist),
        ],
    )
    .run()?;
    if !dist.join("index.html").is_file() {
        return Err(format!(
            "the bundle in {} has no index.html",
            dist.display()
        ));
    }
    // Set once per run; a second call in the same run rebuilds the same path.
    let _ = WEB_DIST.set(path(&dist));
    Ok(dist)
}

/// `cargo xtask build`: `target/release/vaiti` with the web app inside.
fn build() -> Result<(), String> {
    let root = workspace_root()?;
    build_release(&root).map(|bin| println!("xtask: built {}", bin.display()))
}

fn build_release(root: &Path) -> Result<PathBuf, String> {
    web_dist(root)?;
    Cmd::new(root, "cargo", &["build", "--release", "-p", "vaiti"]).run()?;
    Ok(target_dir(root).join("release").join("vaiti"))
}

/// `cargo xtask serve [ARGS...]`: builds, then runs `vaiti serve ARGS` until it exits.
fn serve(args: &[String]) -> Result<(), String> {
    let root = workspace_root()?;
    let bin = build_release(&root)?;
    Cmd::new(&root, &bin.to_string_lossy(), &["serve"])
        .extra_args(args)
        .run()
}

/// Where Chromium is: `VAITI_CHROMIUM`, else Debian's `/usr/bin/chromium`.
fn chromium_path() -> Result<PathBuf, String> {
    let path = env::var_os("VAITI_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "Chromium is not installed at {} (set VAITI_CHROMIUM, or `apt-get install chromium \
             chromium-driver`, which .ci/run does); the browser tests cannot run",
            path.display()
        ))
    }
}

/// The browser tests (`tests/browser`): a debug `vaiti` with the web app, driven in headless
/// Chromium by Node and a pinned `playwright-core`. A missing browser, Node or test run fails.
fn browser_tests(root: &Path) -> Result<Outcome, String> {
    let chromium = chromium_path()?;
    if WEB_DIST.get().is_none() {
        web_dist(root)?;
    }
    Cmd::new(root, "cargo", &["build", "-p", "vaiti"]).run()?;
    let bin = target_dir(root).join("debug").join("vaiti");
    let dir = root.join("tests").join("browser");
    Cmd::new(&dir, "npm", &["ci", "--no-audit", "--no-fund"]).run()?;
    let cmd = Cmd::new(&dir, "node", &["run.mjs"])
        .env("VAITI_BIN", bin.to_string_lossy())
        .env("VAITI_CHROMIUM", chromium.to_string_lossy())
        .env(
            "VAITI_SCREENSHOTS",
            root.join("docs").join("screenshots").to_string_lossy(),
        );
    println!("xtask: $ {cmd}");
    let output = cmd
        .command()
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start `{cmd}`: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    // The runner's last word: `browser tests: N passed; M failed`.
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("browser tests: "))
        .ok_or_else(|| format!("`{cmd}` did not report a result"))?;
    let passed = count(line, " passed");
    let failed = count(line, " failed");
    if !output.status.success() || failed > 0 {
        return Err(format!("`{cmd}` failed ({passed} passed, {failed} failed)"));
    }
    if passed == 0 {
        return Err(format!("`{cmd}` ran no test"));
    }
    Ok(Outcome::Tested { passed, ignored: 0 })
}

/// `cargo xtask wasm`.
fn wasm() -> Result<(), String> {
    wasm_in(&workspace_root()?)
}

/// Ensures the wasm32 target is installed (for the toolchain that `rust-toolchain.toml` selects,
/// hence run from the root), then builds the client-side crates for it.
fn wasm_in(root: &Path) -> Result<(), String> {
    ensure_wasm_target(root)?;
    Cmd::new(
        root,
        "cargo",
        &[
            "build",
            "-p",
            "vaiti-crypto",
            "-p",
            "vaiti-log",
            "-p",
            "vaiti-client",
            "--target",
            WASM_TARGET,
            "--release",
        ],
    )
    .run()
}

/// Crates whose presence in the server's dependency tree would mean it can seal or unwrap.
const FORBIDDEN_IN_SERVER: [&str; 3] = ["vaiti-crypto", "chacha20poly1305", "hpke"];

/// The architecture invariant that the server holds no sealing or unwrapping code: its normal
/// dependency tree contains none of [`FORBIDDEN_IN_SERVER`].
fn server_deps(root: &Path) -> Result<Outcome, String> {
    let cmd = Cmd::new(
        root,
        "cargo",
        &[
            "tree",
            "-p",
            "vaiti-server",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ],
    );
    println!("xtask: $ {cmd}");
    let tree = cmd.stdout()?;
    if !tree.lines().any(|l| l.starts_with("vaiti-server ")) {
        return Err("`cargo tree` did not list vaiti-server; the check would prove nothing".into());
    }
    let found: Vec<&str> = FORBIDDEN_IN_SERVER
        .iter()
        .copied()
        .filter(|name| {
            tree.lines()
                .any(|l| l.split_whitespace().next() == Some(*name))
        })
        .collect();
    if found.is_empty() {
        println!(
            "xtask: vaiti-server depends on none of {}",
            FORBIDDEN_IN_SERVER.join(", ")
        );
        Ok(Outcome::Passed)
    } else {
        Err(format!(
            "vaiti-server depends on {}: the server must not contain sealing or unwrapping code",
            found.join(", ")
        ))
    }
}

/// Whether a nightly toolchain is installed (cargo-fuzz needs one; the rest of the build does not).
fn nightly_installed(root: &Path) -> Result<bool, String> {
    let toolchains = Cmd::new(root, "rustup", &["toolchain", "list"]).stdout()?;
    Ok(toolchains
        .lines()
        .any(|line| line.trim_start().starts_with("nightly")))
}

/// Type-checks the fuzz crate (outside the workspace, nightly only) so its targets keep compiling
/// as the crypto API moves, without the cost of an instrumented build.
fn fuzz_check(root: &Path) -> Result<Outcome, String> {
    if !nightly_installed(root)? {
        return Ok(Outcome::Skipped(
            "no nightly toolchain installed, fuzz crate not built",
        ));
    }
    passed(
        Cmd::new(
            root,
            "cargo",
            &["+nightly", "check", "--manifest-path", "fuzz/Cargo.toml"],
        )
        .run(),
    )
}

/// `cargo xtask bench [ARGS...]`.
fn bench(extra: &[String]) -> Result<(), String> {
    let root = workspace_root()?;
    Cmd::new(
        &root,
        "cargo",
        &[
            "bench",
            "-p",
            "vaiti-crypto",
            "-p",
            "vaiti-log",
            "-p",
            "vaiti-store",
        ],
    )
    .extra_args(extra)
    .run()
}

/// `cargo xtask bench-web`: the release binary with the web app, then `node bench.mjs` in
/// tests/browser (its result block goes to stdout, for BENCHMARKS.md).
fn bench_web() -> Result<(), String> {
    let root = workspace_root()?;
    let chromium = chromium_path()?;
    let bin = build_release(&root)?;
    let dir = root.join("tests").join("browser");
    Cmd::new(&dir, "npm", &["ci", "--no-audit", "--no-fund"]).run()?;
    Cmd::new(&dir, "node", &["bench.mjs"])
        .env("VAITI_BIN", bin.to_string_lossy())
        .env("VAITI_CHROMIUM", chromium.to_string_lossy())
        .run()
}

/// `cargo xtask fuzz [SECONDS]`: a time-boxed libFuzzer run of the envelope parser.
fn fuzz(args: &[String]) -> Result<(), String> {
    let seconds = match args {
        [] => DEFAULT_FUZZ_SECONDS,
        [s] => s
            .parse::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("SECONDS must be a positive whole number, got `{s}`"))?,
        _ => return Err("usage: cargo xtask fuzz [SECONDS]".to_owned()),
    };
    let root = workspace_root()?;
    let fuzz_dir = root.join("fuzz");
    if !nightly_installed(&root)? {
        return Err(
            "cargo-fuzz needs a nightly toolchain: `rustup toolchain install nightly`".to_owned(),
        );
    }
    if !Cmd::new(&fuzz_dir, "cargo", &["+nightly", "fuzz", "--version"]).succeeds_silently() {
        println!(
            "xtask: cargo-fuzz is not installed. Install it with\n\n    cargo install cargo-fuzz\n\n\
             then run `cargo xtask fuzz` again (see fuzz/README.md)."
        );
        return Err("cargo-fuzz is not installed".to_owned());
    }
    let max_time = format!("-max_total_time={seconds}");
    Cmd::new(
        &fuzz_dir,
        "cargo",
        &["+nightly", "fuzz", "run", "envelope_open", "--", &max_time],
    )
    .run()
}

// ---- `cargo xtask api`: schema conformance ----

/// The schemathesis release the conformance run installs: pinned, so a new release's new checks
/// arrive by a deliberate change here, not by surprise in CI.
const SCHEMATHESIS: &str = "4.32.5";
/// The conformance run's fixed seed, so a failure reproduces.
const API_SEED: &str = "20261207";
/// Test cases per operation and phase.
const API_MAX_EXAMPLES: &str = "25";
/// Each schemathesis run's time budget, in seconds.
const API_MAX_SECONDS: &str = "150";
/// What schemathesis checks. All but three: `positive_data_acceptance`, because a request can
/// match the schema and still be refused for what only the server knows (a stale manifest
/// version, a signature that does not verify, an unknown id), and `use_after_free` and
/// `ensure_resource_availability`, which assume REST resources this API does not have (its
/// writes are signed client-made records, not creatable from the schema alone).
const API_EXCLUDED_CHECKS: &str =
    "positive_data_acceptance,use_after_free,ensure_resource_availability";

/// Installs schemathesis into `target/tools/schemathesis-<version>` (a Python venv) unless it is
/// there, and returns its `st`. Fails — never skips — when python3, venv or pip cannot.
fn schemathesis(root: &Path) -> Result<PathBuf, String> {
    let venv = target_dir(root)
        .join("tools")
        .join(format!("schemathesis-{SCHEMATHESIS}"));
    let st = venv.join("bin").join("st");
    let ready = Cmd::new(root, &st.to_string_lossy(), &["--version"])
        .stdout()
        .is_ok_and(|v| v.contains(SCHEMATHESIS));
    if ready {
        return Ok(st);
    }
    let venv_arg = venv.to_string_lossy().into_owned();
    Cmd::new(root, "python3", &["-m", "venv", "--clear", &venv_arg])
        .run()
        .map_err(|e| {
            format!("{e}; the API conformance run needs python3 with venv (Debian: python3-venv)")
        })?;
    let pip = venv.join("bin").join("pip");
    let pin = format!("schemathesis=={SCHEMATHESIS}");
    Cmd::new(
        root,
        &pip.to_string_lossy(),
        &["install", "--quiet", "--disable-pip-version-check", &pin],
    )
    .run()?;
    Ok(st)
}

/// A `vaiti serve` this run started, stopped (by its own process id) when dropped.
struct ServerProcess(std::process::Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `cargo xtask api`, and the `api` step of `test`.
fn api_conformance(root: &Path) -> Result<Outcome, String> {
    use std::io::BufRead as _;
    let st = schemathesis(root)?;
    Cmd::new(root, "cargo", &["build", "-p", "vaiti"]).run()?;
    let bin = target_dir(root).join("debug").join("vaiti");
    let work = target_dir(root)
        .join("tools")
        .join(format!("api-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("creating {}: {e}", work.display()))?;
    let data = work.join("data");
    let mut child = Command::new(&bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {} serve: {e}", bin.display()))?;
    let stdout = child.stdout.take();
    let server = ServerProcess(child);
    // The first line is `vaiti: listening on http://127.0.0.1:PORT`; the rest is drained so the
    // server never blocks on a full pipe.
    let mut lines = std::io::BufReader::new(stdout.ok_or("the server has no stdout")?).lines();
    let first = lines
        .next()
        .ok_or("the server exited before listening")?
        .map_err(|e| format!("reading the server's output: {e}"))?;
    let url = first
        .strip_prefix("vaiti: listening on ")
        .ok_or_else(|| format!("unexpected first line from the server: {first}"))?
        .trim()
        .to_owned();
    std::thread::spawn(move || lines.for_each(drop));
    let profile = work.join("profile");
    let token_file = data.join("clinic-creation-token");
    let escrow = work.join("escrow");
    Cmd::new(
        root,
        &bin.to_string_lossy(),
        &[
            "clinic",
            "create",
            "--server",
            &url,
            "--name",
            "Schema conformance",
            "--admin-email",
            "admin@conformance.invalid",
            "--escrow-shares",
            "2/2",
            "--escrow-out",
            &escrow.to_string_lossy(),
            "--creation-token-file",
            &token_file.to_string_lossy(),
            "--profile",
            &profile.to_string_lossy(),
        ],
    )
    .env("VAITI_PASSWORD", "conformance run password, long enough")
    .stdout()?;
    // Any command logs in and keeps the session in the profile: `sync` does nothing else here.
    Cmd::new(
        root,
        &bin.to_string_lossy(),
        &["sync", "--profile", &profile.to_string_lossy()],
    )
    .env("VAITI_PASSWORD", "conformance run password, long enough")
    .stdout()?;
    let session = std::fs::read_to_string(profile.join("session.json"))
        .map_err(|e| format!("reading the admin's session: {e}"))?;
    let token = json_string(&session, "token").ok_or("the admin's session has no token")?;
    let record = std::fs::read_to_string(profile.join("profile.json"))
        .map_err(|e| format!("reading the admin's profile: {e}"))?;
    let clinic = json_string(&record, "clinic").ok_or("the admin's profile names no clinic")?;
    // Every path names this clinic, so requests reach its handlers rather than all ending as
    // "no such clinic" (schemathesis reads schemathesis.toml from its working directory).
    std::fs::write(
        work.join("schemathesis.toml"),
        // 413 is a correct refusal of a schema-violating body over a route's limit (schemathesis
        // does not count it as one by default).
        format!(
            "[checks.negative_data_rejection]\nexpected-statuses = \
             [\"400\", \"401\", \"403\", \"404\", \"405\", \"406\", \"409\", \"413\", \
             \"415\", \"422\", \"428\", \"429\"]\n\n[parameters]\n\"path.clinic\" = \"{clinic}\"\n"
        ),
    )
    .map_err(|e| format!("writing schemathesis.toml: {e}"))?;
    let schema = format!("{url}/api/v1/openapi.json");
    let auth = format!("Authorization: Bearer {token}");
    // As the admin, logging out would end the run's session: that route runs anonymously only.
    let runs = [
        (
            "as the clinic's admin",
            vec!["-H", auth.as_str(), "--exclude-path-regex", "/logout$"],
        ),
        ("anonymously", vec![]),
    ];
    for (who, extra) in runs {
        println!("xtask: schema conformance {who}");
        let mut args = vec![
            "run",
            schema.as_str(),
            "--seed",
            API_SEED,
            "--max-examples",
            API_MAX_EXAMPLES,
            "--max-time",
            API_MAX_SECONDS,
            "--workers",
            "1",
            "--phases",
            "examples,coverage,fuzzing",
            "--checks",
            "all",
            "--exclude-checks",
            API_EXCLUDED_CHECKS,
            "--request-timeout",
            "30",
            "--suppress-health-check",
            "all",
        ];
        args.extend(extra);
        Cmd::new(&work, &st.to_string_lossy(), &args).run()?;
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&work);
    Ok(Outcome::Passed)
}

/// The string value of `"key"` in a flat JSON object (xtask parses no more JSON than this).
fn json_string(json: &str, key: &str) -> Option<String> {
    let after = json.split_once(&format!("\"{key}\""))?.1;
    let value = after
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    value.split_once('"').map(|(v, _)| v.to_owned())
}
