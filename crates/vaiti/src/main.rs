//! `vaiti`: one binary for the server (`vaiti serve`) and, as they land, the client commands.
//!
//! Thin by design: argument parsing and wiring only; the work is in `vaiti-server`,
//! `vaiti-store` and (for client commands) `vaiti-client`.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use vaiti_server::{AppState, ServerConfig, Transport};
use vaiti_store::{PostgresStore, SqliteStore, Store};

mod access;
mod client;
mod demo;
mod detection;
mod records;
mod report;
mod web_assets;
mod witness;

#[derive(Debug, Parser)]
#[command(
    name = "vaiti",
    version,
    about = "Zero-access records for psychotherapy practices"
)]
struct Cli {
    #[command(flatten)]
    common: client::Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Clinics: `vaiti clinic create`.
    #[command(subcommand)]
    Clinic(ClinicCommand),
    /// Branches: `vaiti branch create NAME` (admins).
    #[command(subcommand)]
    Branch(BranchCommand),
    /// Log in with your password and Secret Key.
    Login(client::LoginArgs),
    /// End this profile's session.
    Logout,
    /// Change your password (your Secret Key stays the same).
    Password,
    /// Sync: complete joins you are waiting to complete (every command does this first).
    Sync,
    /// Measurement for `cargo xtask bench-web`: after one login, opens a chart as the web app
    /// does (verified session, then one logged release and every note decrypted) several times
    /// and prints the times as JSON. Each opening is a real, logged chart opening.
    #[command(hide = true, name = "bench-open-chart")]
    BenchOpenChart(records::BenchOpenArgs),
    /// Staff: `vaiti staff invite` (admins).
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Your invites: list them, revoke one.
    #[command(subcommand)]
    Invite(InviteCommand),
    /// Sign up with an invite code (staff or patient).
    Signup(records::SignupArgs),
    /// Patients: add, list, find, show, invite to the portal.
    #[command(subcommand)]
    Patient(PatientCommand),
    /// A chart's care team: add or remove a clinician.
    #[command(subcommand, name = "care-team")]
    CareTeam(CareTeamCommand),
    /// Session notes: add, list, show, amend.
    #[command(subcommand)]
    Note(NoteCommand),
    /// Who opened a chart, verified: a patient's own chart, or (auditors, admins) any chart.
    #[command(name = "access-log")]
    AccessLog(access::AccessLogArgs),
    /// Decoy charts: `vaiti decoy create` (admins).
    #[command(subcommand)]
    Decoy(detection::DecoyCommand),
    /// Detection alerts: `vaiti alerts list` (admins, auditors), `vaiti alerts ack ID`.
    #[command(subcommand)]
    Alerts(detection::AlertsCommand),
    /// The access log: `vaiti log verify`, its key (`vaiti log key`) and witnesses (`vaiti log witness …`).
    #[command(subcommand)]
    Log(LogCommand),
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Print the clinic id and the access log's verifier key, to set up a witness.
    Key,
    /// List a witness in the clinic manifest (admins); clients then require its co-signatures.
    #[command(name = "witness-add")]
    WitnessAdd(witness::WitnessAddArgs),
    /// Unlist a witness (admins).
    #[command(name = "witness-remove")]
    WitnessRemove(witness::WitnessRemoveArgs),
    /// Run a witness of a clinic's access log (`vaiti log witness init` first).
    Witness(witness::WitnessArgs),
    /// Check the access log: the checkpoint against this device's, and (auditors, admins) the
    /// whole tree recomputed from every stored leaf.
    Verify,
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Invite a member of staff; prints an invite code.
    Invite(records::StaffInviteArgs),
}

#[derive(Debug, Subcommand)]
enum InviteCommand {
    /// Your invites and whether they were used.
    List,
    /// Revoke an invite (and with --account the account made with it). A clinician of the
    /// care team may also decline a patient's portal join the front desk started this way.
    Revoke(records::InviteRevokeArgs),
    /// Patients' portal joins the front desk started for your charts, waiting for you.
    Pending,
    /// Confirm a patient's portal join: certifies them and gives them the shared notes.
    Confirm(records::InviteConfirmArgs),
}

#[derive(Debug, Subcommand)]
enum PatientCommand {
    /// Add a patient (front desk or an admin of the branch).
    Add(records::PatientAddArgs),
    /// List patients: a branch's directory, or everyone you may list.
    List(records::PatientListArgs),
    /// Find patients by name, birth date or chart id.
    Find(records::PatientFindArgs),
    /// Show a patient's identity record and care team.
    Show(records::ChartArg),
    /// Invite the patient to the portal (a clinician of the care team); prints an invite code.
    Invite(records::PatientInviteArgs),
}

#[derive(Debug, Subcommand)]
enum CareTeamCommand {
    /// Add a clinician to the care team.
    Add(records::CareTeamArgs),
    /// Remove a clinician (new notes use new keys they never get).
    Remove(records::CareTeamArgs),
    /// List members added by front desk or an admin (or re-added) who wait for the chart's
    /// earlier notes, with who added them and when.
    Waiting(records::ChartArg),
    /// Confirm that a member may read the chart's earlier notes: share the older keys with them.
    Share(records::CareTeamArgs),
}

#[derive(Debug, Subcommand)]
enum NoteCommand {
    /// Write a note (from --file or standard input).
    Add(records::NoteAddArgs),
    /// List a chart's notes you may read.
    List(records::ChartArg),
    /// Show a note and its history.
    Show(records::NoteArg),
    /// Amend a note; the original stays readable.
    Amend(records::NoteAmendArgs),
}

#[derive(Debug, Subcommand)]
enum BranchCommand {
    /// Add a branch with its own directory key.
    Create(client::BranchCreateArgs),
}

#[derive(Debug, Subcommand)]
enum ClinicCommand {
    /// Create a clinic and its first admin (run by that admin, on their own device).
    Create(client::ClinicCreateArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Data directory (created on first start): the embedded SQLite store unless --database is
    /// given, and the operator's clinic-creation token.
    #[arg(long, env = "VAITI_DATA", default_value = "./vaiti-data")]
    data: PathBuf,
    /// PostgreSQL URL (postgres://...) instead of the embedded store. The database must exist.
    #[arg(long, env = "VAITI_DATABASE_URL")]
    database: Option<String>,
    /// Address to listen on. Plain HTTP is allowed only on loopback.
    #[arg(long, env = "VAITI_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// TLS certificate chain (PEM).
    #[arg(long, requires = "tls_key", conflicts_with = "behind_tls_proxy")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on any address because a TLS proxy in front terminates TLS.
    #[arg(long)]
    behind_tls_proxy: bool,
    #[command(flatten)]
    detection: detection::DetectionArgs,
    /// Seed a fictional demo clinic once the server listens (made through the client library,
    /// like any device would), and print its sign-ins; kept in DATA/demo.json and
    /// DATA/demo-sign-ins.txt. Never seeds twice: with the clinic already there, it prints them.
    #[arg(long)]
    demo: bool,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VAITI_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let result = match cli.command {
        Command::Serve(args) => run_serve(args),
        Command::Clinic(ClinicCommand::Create(args)) => client::clinic_create(&cli.common, args),
        Command::Branch(BranchCommand::Create(args)) => client::branch_create(&cli.common, args),
        Command::Login(args) => client::login_cmd(&cli.common, args),
        Command::Logout => client::logout_cmd(&cli.common),
        Command::Sync => records::sync(&cli.common),
        Command::Password => client::password_cmd(&cli.common),
        Command::Staff(StaffCommand::Invite(a)) => records::staff_invite(&cli.common, a),
        Command::Invite(InviteCommand::List) => records::invite_list(&cli.common),
        Command::Invite(InviteCommand::Revoke(a)) => records::invite_revoke(&cli.common, a),
        Command::Invite(InviteCommand::Pending) => records::invite_pending(&cli.common),
        Command::Invite(InviteCommand::Confirm(a)) => records::invite_confirm(&cli.common, a),
        Command::Signup(a) => records::signup(&cli.common, a),
        Command::Patient(PatientCommand::Add(a)) => records::patient_add(&cli.common, a),
        Command::Patient(PatientCommand::List(a)) => records::patient_list(&cli.common, a),
        Command::Patient(PatientCommand::Find(a)) => records::patient_find(&cli.common, a),
        Command::Patient(PatientCommand::Show(a)) => records::patient_show(&cli.common, a),
        Command::Patient(PatientCommand::Invite(a)) => records::patient_invite(&cli.common, a),
        Command::CareTeam(CareTeamCommand::Add(a)) => records::care_team(&cli.common, a, true),
        Command::CareTeam(CareTeamCommand::Remove(a)) => records::care_team(&cli.common, a, false),
        Command::CareTeam(CareTeamCommand::Waiting(a)) => {
            records::care_team_waiting(&cli.common, a)
        }
        Command::CareTeam(CareTeamCommand::Share(a)) => records::care_team_share(&cli.common, a),
        Command::Note(NoteCommand::Add(a)) => records::note_add(&cli.common, a),
        Command::Note(NoteCommand::List(a)) => records::note_list(&cli.common, a),
        Command::BenchOpenChart(a) => records::bench_open_chart(&cli.common, a),
        Command::Note(NoteCommand::Show(a)) => records::note_show(&cli.common, a),
        Command::Note(NoteCommand::Amend(a)) => records::note_amend(&cli.common, a),
        Command::AccessLog(a) => access::access_log_cmd(&cli.common, a),
        Command::Decoy(detection::DecoyCommand::Create(a)) => {
            detection::decoy_create(&cli.common, a)
        }
        Command::Alerts(detection::AlertsCommand::List(a)) => {
            detection::alerts_list(&cli.common, a)
        }
        Command::Alerts(detection::AlertsCommand::Ack(a)) => detection::alerts_ack(&cli.common, a),
        Command::Log(LogCommand::Key) => witness::log_key(&cli.common),
        Command::Log(LogCommand::WitnessAdd(a)) => witness::witness_add(&cli.common, a),
        Command::Log(LogCommand::WitnessRemove(a)) => witness::witness_remove(&cli.common, a),
        Command::Log(LogCommand::Witness(a)) => witness::witness(&cli.common, a),
        Command::Log(LogCommand::Verify) => access::log_verify(&cli.common),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vaiti: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    let transport = match (&args.tls_cert, &args.tls_key, args.behind_tls_proxy) {
        (Some(cert), Some(key), false) => Transport::Tls {
            cert: cert.clone(),
            key: key.clone(),
        },
        (None, None, true) => Transport::BehindTlsProxy,
        (None, None, false) => Transport::Plain,
        _ => bail!("--tls-cert and --tls-key go together, and not with --behind-tls-proxy"),
    };
    let config = ServerConfig::new(args.listen, transport);
    // Refuse a bad transport before touching any database.
    config.check()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let store: Arc<dyn Store> =
            match &args.database {
                Some(url) => Arc::new(
                    PostgresStore::connect(url)
                        .await
                        .context("opening the PostgreSQL store")?,
                ),
                None => Arc::new(SqliteStore::open(&args.data).await.with_context(|| {
                    format!("opening the data directory {}", args.data.display())
                })?),
            };
        let token_hash = clinic_creation_token(&args.data)?;
        let demo = if args.demo {
            Some(demo::prepare(store.as_ref(), &args.data).await?)
        } else {
            None
        };
        let state = AppState::new(store, Some(token_hash), vaiti_server::system_clock())
            .await
            .context("preparing the server state")?
            .with_detection(args.detection.config(&args.data))
            .context("configuring detection")?;
        // The embedded web app, if this build has one; its release goes into every clinic's
        // access log before anything is served, so the log names what browsers were given.
        let state = match web_assets::web_app().context("the embedded web app")? {
            Some(web) => {
                // On stderr: stdout's first line stays `listening on`, which scripts read.
                eprintln!("vaiti: web app release {}", web.manifest_hash_hex());
                state.with_web(web)
            }
            None => {
                tracing::warn!("built without the web app: `/` explains how to build it");
                state
            }
        };
        vaiti_server::record_web_release(&state)
            .await
            .context("recording the web app release in the access logs")?;
        let scheme = if matches!(config.transport, Transport::Tls { .. }) {
            "https"
        } else {
            "http"
        };
        let data = args.data.clone();
        vaiti_server::serve(config, state, shutdown_signal(), move |addr| {
            // One line on stdout that scripts and tests can read; logs go to stderr.
            println!("vaiti: listening on {scheme}://{addr}");
            if let Some(demo) = demo {
                demo::start(demo, demo::base_url(scheme, addr), data);
            }
        })
        .await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// The operator's clinic-creation token: read from `DATA/clinic-creation-token`, or made there
/// (owner-only) on the first start. Only whoever can read the server's data directory can create
/// clinics. Returns the SHA-256 the server compares against.
fn clinic_creation_token(data: &std::path::Path) -> anyhow::Result<[u8; 32]> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let path = data.join("clinic-creation-token");
    let token = match std::fs::read_to_string(&path) {
        Ok(t) => t.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data)
                .with_context(|| format!("creating {}", data.display()))?;
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|e| anyhow::anyhow!("OS random number generator: {e}"))?;
            let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            client::create_private(&path, token.as_bytes())?;
            tracing::info!(path = %path.display(), "created the clinic-creation token");
            token
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if token.len() < 32 {
        bail!(
            "{} holds no usable token (delete it to make a new one)",
            path.display()
        );
    }
    Ok(sha2::Sha256::digest(token.as_bytes()).into())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
