//! `vaiti log key`, `vaiti log witness-add` / `witness-remove` (admins) and `vaiti log witness`
//! (a witness of a clinic's access log, run by an independent party: no clinic account needed).
//!
//! A witness's state directory (`--state DIR`, owner-only) holds:
//!
//! - `witness-key`: the witness's Ed25519 seed (hex, owner-only), made by `vaiti log witness init`;
//! - `witness.json`: the server, the clinic, the clinic's log key (given by the operator at init,
//!   from `vaiti log key` — never taken from the server) and the witness's own verifier key;
//! - `checkpoint`: the last checkpoint it accepted, replaced atomically (written to a temporary
//!   file, synced, renamed) and only by a checkpoint that extends it.
//!
//! Each run fetches the newest checkpoint, checks the log's signature and that it extends the
//! stored one, stores it, co-signs it and submits the co-signature. A rollback, a fork or a bad
//! signature stops the witness with an error and a non-zero exit, and its state stays as it was.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use vaiti_client::ClientError;
use vaiti_client::admin::change_witnesses;
use vaiti_client::api::Api;
use vaiti_client::witness::{WitnessChange, describe_duration, witness_once};
use vaiti_core::ClinicId;
use vaiti_log::{LogKey, SignedCheckpoint, WitnessSigningKey};

use crate::client::{Common, create_private, create_private_dir, now, runtime, unlock};

const CONFIG: &str = "witness.json";
const KEY: &str = "witness-key";
const CHECKPOINT: &str = "checkpoint";

/// `vaiti log witness-add VKEY`.
#[derive(Debug, clap::Args)]
pub(crate) struct WitnessAddArgs {
    /// The witness's verifier key, as `vaiti log witness init` printed it.
    vkey: String,
    /// How old a co-signature may be, in seconds (default: unchanged, or 86400 = 24 hours).
    #[arg(long, value_name = "SECS")]
    max_age: Option<u64>,
    /// How many distinct listed witnesses must co-sign (default: unchanged, or 1).
    #[arg(long, value_name = "N")]
    quorum: Option<u8>,
}

/// `vaiti log witness-remove VKEY`.
#[derive(Debug, clap::Args)]
pub(crate) struct WitnessRemoveArgs {
    /// The witness's verifier key.
    vkey: String,
}

/// `vaiti log witness`: one run (or `--watch`), or `vaiti log witness init`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct WitnessArgs {
    #[command(subcommand)]
    init: Option<WitnessInit>,
    /// The witness's state directory (made by `vaiti log witness init`).
    #[arg(long)]
    state: Option<PathBuf>,
    /// The server's URL (default: the one given at init).
    #[arg(long)]
    server: Option<String>,
    /// The clinic (a state directory witnesses one clinic: this must be the one given at init).
    #[arg(long)]
    clinic: Option<String>,
    /// Run again every SECS seconds until stopped. Network failures are reported and retried;
    /// a rollback, a fork or a bad signature stops the witness with a non-zero exit.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    watch: Option<u64>,
}

#[derive(Debug, clap::Subcommand)]
enum WitnessInit {
    /// Make the witness's key and state directory; prints the verifier key for the clinic's
    /// admin to list (`vaiti log witness-add VKEY`).
    Init(WitnessInitArgs),
}

#[derive(Debug, clap::Args)]
struct WitnessInitArgs {
    /// The state directory to create (owner-only).
    #[arg(long)]
    state: PathBuf,
    /// The server's URL.
    #[arg(long)]
    server: String,
    /// The clinic's id (`vaiti log key` prints it).
    #[arg(long)]
    clinic: String,
    /// The clinic's access-log verifier key, from the clinic's admin (`vaiti log key`), not
    /// from the server: the witness checks the server against it.
    #[arg(long)]
    log_key: String,
    /// The witness's key name, shown to clients (no spaces or `+`; default
    /// `vaiti-witness-<8 hex digits of its public key>`).
    #[arg(long)]
    name: Option<String>,
}

/// What a witness's state directory remembers (nothing secret).
#[derive(Debug, Serialize, Deserialize)]
struct WitnessConfig {
    v: u8,
    server: String,
    clinic: String,
    log_key: String,
    name: String,
    vkey: String,
}

fn parse_clinic(text: &str) -> anyhow::Result<ClinicId> {
    text.trim()
        .parse::<ClinicId>()
        .ok()
        .context("the clinic id is 32 hexadecimal characters (`vaiti log key` prints it)")
}

fn print(common: &Common, value: serde_json::Value, text: &str) {
    if common.json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

/// `vaiti log key`: the clinic id and the log key the manifest names, for a witness's operator.
pub(crate) fn log_key(common: &Common) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let manifest = rt.block_on(async {
        let (s, joined) = crate::records::open(common, &api, &me).await?;
        crate::records::report_joins(common, &joined);
        anyhow::Ok(s.manifest.clone())
    })?;
    let Some(log_key) = manifest.log_key.clone() else {
        bail!(
            "the clinic manifest names no access-log key yet: an admin's next command (e.g. `vaiti sync`) adopts it"
        );
    };
    let max_age = match manifest.witness_max_age_s {
        0 => vaiti_client::witness::DEFAULT_MAX_AGE_S,
        n => n,
    };
    let mut text = format!("Clinic:  {}\nLog key: {log_key}", manifest.clinic);
    if manifest.witnesses.is_empty() {
        text.push_str("\nWitnesses: none");
    } else {
        text.push_str(&format!(
            "\nWitnesses ({} of them must co-sign within {}):",
            manifest.witness_quorum.max(1),
            describe_duration(max_age)
        ));
        for w in &manifest.witnesses {
            text.push_str(&format!("\n  {w}"));
        }
    }
    print(
        common,
        serde_json::json!({
            "clinic": manifest.clinic.to_string(),
            "log_key": log_key,
            "witnesses": manifest.witnesses,
            "witness_quorum": manifest.witness_quorum.max(u8::from(!manifest.witnesses.is_empty())),
            "witness_max_age_s": if manifest.witnesses.is_empty() { 0 } else { max_age },
        }),
        &text,
    );
    Ok(())
}

/// `vaiti log witness-add` and `witness-remove`: a new root-signed manifest. These check the
/// manifest against the pinned root but do not require the log's current co-signatures, so an
/// admin can unlist a witness that is down (which otherwise stops every command).
fn change(common: &Common, change: WitnessChange) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let (manifest, note) = rt.block_on(change_witnesses(&api, &me, &change, now()))?;
    let age = describe_duration(manifest.witness_max_age_s);
    let text = match (&change, manifest.witnesses.len()) {
        (WitnessChange::Add { .. }, n) => format!(
            "The clinic manifest (version {}) lists {n} witness(es); clients now require {} co-signature(s) no older than {age}.\nRun the witness now (`vaiti log witness --state DIR`): until it co-signs, every client refuses the access log.",
            manifest.manifest_version, manifest.witness_quorum
        ),
        (WitnessChange::Remove { .. }, 0) => format!(
            "The clinic manifest (version {}) lists no witnesses.",
            manifest.manifest_version
        ),
        (WitnessChange::Remove { .. }, n) => format!(
            "The clinic manifest (version {}) lists {n} witness(es); clients require {} co-signature(s) no older than {age}.",
            manifest.manifest_version, manifest.witness_quorum
        ),
    };
    if let Some(note) = &note
        && !common.json
    {
        eprintln!("Note: {note}.");
    }
    print(
        common,
        serde_json::json!({
            "manifest_version": manifest.manifest_version,
            "witnesses": manifest.witnesses,
            "witness_quorum": manifest.witness_quorum,
            "witness_max_age_s": manifest.witness_max_age_s,
        }),
        &text,
    );
    Ok(())
}

/// `vaiti log witness-add VKEY`.
pub(crate) fn witness_add(common: &Common, args: WitnessAddArgs) -> anyhow::Result<()> {
    change(
        common,
        WitnessChange::Add {
            vkey: args.vkey,
            quorum: args.quorum,
            max_age_s: args.max_age,
        },
    )
}

/// `vaiti log witness-remove VKEY`.
pub(crate) fn witness_remove(common: &Common, args: WitnessRemoveArgs) -> anyhow::Result<()> {
    change(common, WitnessChange::Remove { vkey: args.vkey })
}

/// `vaiti log witness …`.
pub(crate) fn witness(common: &Common, args: WitnessArgs) -> anyhow::Result<()> {
    if let Some(WitnessInit::Init(init)) = args.init {
        return witness_init(common, init);
    }
    let state = args
        .state
        .context("--state DIR is needed (make one with `vaiti log witness init`)")?;
    let loaded = Loaded::open(&state, args.clinic.as_deref(), args.server.as_deref())?;
    let rt = runtime()?;
    let Some(every) = args.watch else {
        return loaded.run(common, &rt);
    };
    loop {
        if let Err(e) = loaded.run(common, &rt) {
            if !transient(&e) {
                return Err(e);
            }
            eprintln!("vaiti: warning: this witness run failed (retried in {every} s): {e:#}");
        }
        std::thread::sleep(std::time::Duration::from_secs(every));
    }
}

/// Failures a watching witness retries: the server unreachable or busy, or the witness not
/// listed yet. Everything else (above all a rollback, a fork, a bad signature) stops it.
fn transient(e: &anyhow::Error) -> bool {
    match e.downcast_ref::<ClientError>() {
        Some(ClientError::Network(_)) => true,
        Some(ClientError::Api { status, .. }) => {
            matches!(*status, 403 | 409 | 429) || *status >= 500
        }
        _ => false,
    }
}

fn witness_init(common: &Common, args: WitnessInitArgs) -> anyhow::Result<()> {
    let clinic = parse_clinic(&args.clinic)?;
    let log_key = LogKey::from_vkey(args.log_key.trim()).map_err(|_| {
        anyhow::anyhow!("--log-key is not a log verifier key (`vaiti log key` prints the clinic's)")
    })?;
    if log_key.name() != vaiti_client::admin::log_origin(clinic) {
        bail!("--log-key is the key of another log than clinic {clinic}'s");
    }
    Api::new(&args.server)?;
    let config_path = args.state.join(CONFIG);
    if config_path.exists() || args.state.join(KEY).exists() {
        bail!(
            "{} already holds a witness; choose another --state directory",
            args.state.display()
        );
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("OS random number generator: {e}"))?;
    let name = match args.name {
        Some(n) => n.trim().to_string(),
        None => {
            let probe = WitnessSigningKey::from_seed("probe", &seed)
                .map_err(|_| anyhow::anyhow!("could not make a witness key"))?;
            format!(
                "vaiti-witness-{}",
                hex::encode(&probe.witness_key().public_key()[..4])
            )
        }
    };
    let key = WitnessSigningKey::from_seed(&name, &seed).map_err(|_| {
        anyhow::anyhow!("{name:?} is not a usable key name (no spaces, no `+`, not empty)")
    })?;
    let vkey = key.witness_key().to_vkey();
    create_private_dir(&args.state)?;
    create_private(&args.state.join(KEY), hex::encode(seed).as_bytes())?;
    let config = WitnessConfig {
        v: 1,
        server: args.server.trim_end_matches('/').to_string(),
        clinic: clinic.to_string(),
        log_key: log_key.to_vkey(),
        name: name.clone(),
        vkey: vkey.clone(),
    };
    create_private(&config_path, &serde_json::to_vec_pretty(&config)?)?;
    print(
        common,
        serde_json::json!({ "vkey": vkey, "name": name, "clinic": config.clinic, "state": args.state.display().to_string() }),
        &format!(
            "Witness {name} created in {}.\nIts verifier key (an admin lists it with `vaiti log witness-add VKEY`):\n{vkey}\nThen run `vaiti log witness --state {} --watch 300`.",
            args.state.display(),
            args.state.display()
        ),
    );
    Ok(())
}

/// A witness's state directory, opened and checked.
struct Loaded {
    dir: PathBuf,
    api: Api,
    clinic: ClinicId,
    log_key: LogKey,
    key: WitnessSigningKey,
}

impl Loaded {
    fn open(dir: &Path, clinic: Option<&str>, server: Option<&str>) -> anyhow::Result<Loaded> {
        let config: WitnessConfig =
            serde_json::from_slice(&std::fs::read(dir.join(CONFIG)).with_context(|| {
                format!(
                    "{} holds no witness: make one with `vaiti log witness init`",
                    dir.display()
                )
            })?)
            .with_context(|| format!("{} is damaged", dir.join(CONFIG).display()))?;
        if config.v != 1 {
            bail!("{} has an unknown version", dir.join(CONFIG).display());
        }
        let stored_clinic = parse_clinic(&config.clinic)?;
        if let Some(c) = clinic
            && parse_clinic(c)? != stored_clinic
        {
            bail!(
                "{} witnesses clinic {stored_clinic}, not {}: use a state directory per clinic",
                dir.display(),
                c.trim()
            );
        }
        let log_key = LogKey::from_vkey(&config.log_key)
            .map_err(|_| anyhow::anyhow!("{} is damaged", dir.join(CONFIG).display()))?;
        let seed_hex = std::fs::read_to_string(dir.join(KEY))
            .with_context(|| format!("reading {}", dir.join(KEY).display()))?;
        let seed: [u8; 32] = hex::decode(seed_hex.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .with_context(|| format!("{} is damaged", dir.join(KEY).display()))?;
        let key = WitnessSigningKey::from_seed(&config.name, &seed)
            .map_err(|_| anyhow::anyhow!("{} is damaged", dir.join(CONFIG).display()))?;
        if key.witness_key().to_vkey() != config.vkey {
            bail!(
                "the witness key in {} does not match its recorded verifier key",
                dir.display()
            );
        }
        let api = Api::new(server.unwrap_or(&config.server))?;
        Ok(Loaded {
            dir: dir.to_path_buf(),
            api,
            clinic: stored_clinic,
            log_key,
            key,
        })
    }

    /// The checkpoint this witness accepted last, verified against the log key.
    fn last(&self) -> anyhow::Result<Option<SignedCheckpoint>> {
        let path = self.dir.join(CHECKPOINT);
        match std::fs::read(&path) {
            Ok(bytes) => SignedCheckpoint::verify(&bytes, &self.log_key)
                .map(Some)
                .map_err(|_| {
                    anyhow::anyhow!(
                        "{} is damaged (not a checkpoint signed by the clinic's log key): refusing to co-sign",
                        path.display()
                    )
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// One run: fetch, verify, store, co-sign, submit.
    fn run(&self, common: &Common, rt: &tokio::runtime::Runtime) -> anyhow::Result<()> {
        let last = self.last()?;
        let at = u64::try_from(now()).unwrap_or(0);
        let dir = self.dir.clone();
        let next = rt.block_on(witness_once(
            &self.api,
            self.clinic,
            &self.log_key,
            &self.key,
            last.as_ref(),
            at,
            |c| {
                store_checkpoint(&dir, &c.to_bytes())
                    .map_err(|e| ClientError::Usage(format!("{e:#}")))
            },
        ))?;
        let c = next.checkpoint();
        let grew = last
            .as_ref()
            .map_or(c.size(), |l| c.size().saturating_sub(l.checkpoint().size()));
        print(
            common,
            serde_json::json!({
                "clinic": self.clinic.to_string(),
                "size": c.size(),
                "root": hex::encode(c.root()),
                "cosigned_at": at,
                "new_entries": grew,
            }),
            &format!(
                "Co-signed the access log of clinic {} at {} entries ({grew} new).",
                self.clinic,
                c.size()
            ),
        );
        Ok(())
    }
}

/// Replaces `DIR/checkpoint` atomically: a temporary file (owner-only) written and synced, then
/// renamed over it, then the directory synced. A crash leaves the old or the new one, never a
/// mix.
fn store_checkpoint(dir: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = dir.join(format!("{CHECKPOINT}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    create_private(&tmp, bytes)?;
    std::fs::rename(&tmp, dir.join(CHECKPOINT))
        .with_context(|| format!("replacing {}", dir.join(CHECKPOINT).display()))?;
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))?;
    Ok(())
}
