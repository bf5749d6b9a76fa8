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

#[derive(Debug, Parser)]
#[command(
    name = "vaiti",
    version,
    about = "Zero-access records for psychotherapy practices"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Data directory of the embedded SQLite store (created on first start).
    #[arg(
        long,
        env = "VAITI_DATA",
        default_value = "./vaiti-data",
        conflicts_with = "database"
    )]
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
    let config = ServerConfig {
        listen: args.listen,
        transport,
    };
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
        let scheme = if matches!(config.transport, Transport::Tls { .. }) {
            "https"
        } else {
            "http"
        };
        vaiti_server::serve(config, AppState { store }, shutdown_signal(), |addr| {
            // One line on stdout that scripts and tests can read; logs go to stderr.
            println!("vaiti: listening on {scheme}://{addr}");
        })
        .await?;
        tracing::info!("stopped");
        Ok(())
    })
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
