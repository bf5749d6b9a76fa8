//! Client commands: `vaiti clinic create`, `vaiti login`, `vaiti logout`, and the local profile.
//!
//! A profile is a directory (`--profile DIR`, env `VAITI_PROFILE`, default `~/.vaiti`) holding
//! `profile.json` (server, clinic, account, login name, pinned root fingerprint), the Secret Key
//! (`secret-key`, owner-only) and the current session (`session.json`, owner-only). Passwords are
//! read from a prompt, `--password-stdin` or `VAITI_PASSWORD`; the Secret Key from the profile,
//! `--secret-key-file`, `VAITI_SECRET_KEY` or a prompt — never from a plain argument.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use vaiti_client::account::{NewClinic, create_clinic, login, logout};
use vaiti_client::api::Api;
use vaiti_crypto::{ClinicId, SecretKey, UserId};

/// Options every client command takes.
#[derive(Debug, clap::Args)]
pub(crate) struct Common {
    /// Profile directory (several users can act from one machine with separate profiles).
    #[arg(long, env = "VAITI_PROFILE", global = true)]
    pub(crate) profile: Option<PathBuf>,
    /// Print one JSON value instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Read the password from standard input (one line).
    #[arg(long, global = true)]
    pub(crate) password_stdin: bool,
    /// Read the Secret Key from this file.
    #[arg(long, global = true)]
    pub(crate) secret_key_file: Option<PathBuf>,
    /// Why you open charts in this command, kept in the access log the patient reads:
    /// treatment, administration, audit or emergency (default: by your role).
    #[arg(long, global = true, value_parser = parse_purpose)]
    pub(crate) purpose: Option<vaiti_core::AccessPurpose>,
}

/// `vaiti clinic create`.
#[derive(Debug, clap::Args)]
pub(crate) struct ClinicCreateArgs {
    /// The server's URL.
    #[arg(long)]
    pub(crate) server: String,
    /// The clinic's name.
    #[arg(long)]
    pub(crate) name: String,
    /// The first admin's email address (their login name).
    #[arg(long)]
    pub(crate) admin_email: String,
    /// The first admin's display name.
    #[arg(long)]
    pub(crate) admin_name: Option<String>,
    /// Escrow shares as M/N: N officers each get a share; any M rebuild the escrow key.
    #[arg(long, value_parser = parse_shares)]
    pub(crate) escrow_shares: (u8, u8),
    /// Directory to write the N share files into (hand them out, then delete them).
    #[arg(long)]
    pub(crate) escrow_out: PathBuf,
    /// File holding the server operator's clinic-creation token.
    #[arg(
        long,
        env = "VAITI_CLINIC_CREATION_TOKEN_FILE",
        default_value = "./vaiti-data/clinic-creation-token"
    )]
    pub(crate) creation_token_file: PathBuf,
}

/// `vaiti login`.
#[derive(Debug, clap::Args)]
pub(crate) struct LoginArgs {
    /// The server's URL (default: the profile's).
    #[arg(long)]
    pub(crate) server: Option<String>,
    /// The clinic id from the Emergency Kit (default: the profile's).
    #[arg(long)]
    pub(crate) clinic: Option<String>,
    /// A staff member's email address.
    #[arg(long, conflicts_with = "handle")]
    pub(crate) email: Option<String>,
    /// A patient's handle from their Emergency Kit.
    #[arg(long)]
    pub(crate) handle: Option<String>,
}

fn parse_shares(s: &str) -> Result<(u8, u8), String> {
    let (m, n) = s.split_once('/').ok_or("expected M/N, e.g. 2/3")?;
    let m: u8 = m
        .trim()
        .parse()
        .map_err(|_| "M must be a number from 2 to 255")?;
    let n: u8 = n
        .trim()
        .parse()
        .map_err(|_| "N must be a number from 2 to 255")?;
    if m < 2 || n < m {
        return Err("need 2 ≤ M ≤ N: one officer alone must never hold the escrow key".into());
    }
    Ok((m, n))
}

/// What the profile remembers (nothing secret).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Profile {
    pub(crate) server: String,
    pub(crate) clinic: String,
    pub(crate) user: String,
    pub(crate) login: String,
    pub(crate) root_fingerprint: String,
}

/// The current session.
#[derive(Debug, Serialize, Deserialize)]
struct SessionFile {
    token: String,
    expires_at: i64,
}

pub(crate) fn profile_dir(common: &Common) -> anyhow::Result<PathBuf> {
    if let Some(p) = &common.profile {
        return Ok(p.clone());
    }
    let home = std::env::var_os("HOME").context("no --profile given and HOME is not set")?;
    Ok(PathBuf::from(home).join(".vaiti"))
}

/// Writes a file readable by its owner only, replacing any previous contents atomically: the
/// bytes go to a uniquely named temporary file in the same directory (owner-only, synced), which
/// is then renamed over `path`, and the directory synced. Readers, a concurrent writer or a crash
/// see the old file or the new one whole, never a torn mix; the temporary file never outlives a
/// failed write.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("writing {}: not a file name", path.display()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("OS random number generator: {e}"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", hex::encode(nonce)));
    let tmp = dir.join(tmp_name);
    // create_new: never follows or reuses whatever already sits at the temporary name.
    write_owner_only(&tmp, contents, true)?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    // Make the rename itself durable.
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))?;
    Ok(())
}

/// Creates a file readable by its owner only; fails if it already exists.
pub(crate) fn create_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    write_owner_only(path, contents, true)
}

fn write_owner_only(path: &Path, contents: &[u8], must_be_new: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if must_be_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        if must_be_new {
            // Ours alone: a half-written new file is removed rather than left behind.
            let _ = std::fs::remove_file(path);
        }
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}

pub(crate) fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("protecting {}", path.display()))?;
    }
    Ok(())
}

pub(crate) fn read_password(common: &Common, prompt: &str) -> anyhow::Result<String> {
    if common.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    if let Ok(p) = std::env::var("VAITI_PASSWORD") {
        return Ok(p);
    }
    rpassword::prompt_password(prompt)
        .context("reading the password (use --password-stdin or VAITI_PASSWORD without a terminal)")
}

fn read_secret_key(common: &Common, profile: &Path) -> anyhow::Result<SecretKey> {
    let text = if let Some(file) = &common.secret_key_file {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    } else if let Ok(k) = std::env::var("VAITI_SECRET_KEY") {
        k
    } else if let Ok(k) = std::fs::read_to_string(profile.join("secret-key")) {
        k
    } else {
        rpassword::prompt_password("Secret Key (from your Emergency Kit): ")
            .context("reading the Secret Key")?
    };
    SecretKey::parse_printed(&text).map_err(|_| {
        anyhow::anyhow!("that is not a valid Secret Key: check it against your Emergency Kit (a typo fails the checksum)")
    })
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// `vaiti clinic create`.
pub(crate) fn clinic_create(common: &Common, args: ClinicCreateArgs) -> anyhow::Result<()> {
    let profile = profile_dir(common)?;
    if profile.join("profile.json").exists() {
        bail!(
            "the profile {} is already in use; choose another with --profile",
            profile.display()
        );
    }
    let token = std::fs::read_to_string(&args.creation_token_file).with_context(|| {
        format!(
            "reading the clinic-creation token from {} (the server operator finds it in the server's data directory)",
            args.creation_token_file.display()
        )
    })?;
    if args.escrow_out.exists() && std::fs::read_dir(&args.escrow_out)?.next().is_some() {
        bail!(
            "{} is not empty: choose a new directory for the escrow share files",
            args.escrow_out.display()
        );
    }
    let password = read_password(common, "New password for the admin account: ")?;
    if password.chars().count() < 10 {
        bail!("choose a password of at least 10 characters");
    }
    let api = Api::new(&args.server)?;
    let (m, n) = args.escrow_shares;
    let created = runtime()?.block_on(create_clinic(
        &api,
        &NewClinic {
            name: &args.name,
            admin_email: &args.admin_email,
            admin_name: args.admin_name.as_deref(),
            escrow_threshold: m,
            escrow_shares: n,
            password: &password,
            creation_token: token.trim(),
            now: now(),
        },
    ))?;

    create_private_dir(&args.escrow_out)?;
    let mut share_files = Vec::new();
    for share in &created.escrow_shares {
        let path = args
            .escrow_out
            .join(format!("escrow-share-{}-of-{}.vaiti", share.index(), n));
        write_private(&path, &share.to_bytes())?;
        share_files.push(path.display().to_string());
    }
    create_private_dir(&profile)?;
    let fingerprint = hex::encode(created.root_fingerprint.0);
    let record = Profile {
        server: args.server.trim_end_matches('/').to_string(),
        clinic: hex::encode(created.clinic.as_bytes()),
        user: hex::encode(created.admin.as_bytes()),
        login: args.admin_email.clone(),
        root_fingerprint: fingerprint.clone(),
    };
    write_private(
        &profile.join("profile.json"),
        &serde_json::to_vec_pretty(&record)?,
    )?;
    let printed = created.secret_key.to_printed();
    write_private(&profile.join("secret-key"), printed.as_bytes())?;

    if common.json {
        println!(
            "{}",
            serde_json::json!({
                "clinic": record.clinic, "user": record.user, "secret_key": printed.as_str(),
                "root_fingerprint": fingerprint, "escrow_shares": share_files,
            })
        );
    } else {
        println!("Clinic created: {}", args.name);
        println!();
        println!("EMERGENCY KIT — print this, keep it safe, it is shown only once");
        println!("  Server:           {}", record.server);
        println!("  Clinic:           {}", record.clinic);
        println!("  Login:            {}", record.login);
        println!("  Secret Key:       {}", printed.as_str());
        println!("  Root fingerprint: {fingerprint}");
        println!();
        println!(
            "Escrow shares ({m} of {n} rebuild the escrow key): give one file to each officer, then delete:"
        );
        for f in &share_files {
            println!("  {f}");
        }
    }
    Ok(())
}

/// `vaiti login`.
pub(crate) fn login_cmd(common: &Common, args: LoginArgs) -> anyhow::Result<()> {
    let profile = profile_dir(common)?;
    let stored: Option<Profile> = std::fs::read(profile.join("profile.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let server = args
        .server
        .or_else(|| stored.as_ref().map(|p| p.server.clone()))
        .context("--server is needed (no profile remembers a server)")?;
    let clinic_hex = args
        .clinic
        .or_else(|| stored.as_ref().map(|p| p.clinic.clone()))
        .context("--clinic is needed: it is on your Emergency Kit")?;
    let clinic = ClinicId::from_bytes(
        hex::decode(clinic_hex.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .context("the clinic id is 32 hexadecimal characters")?,
    );
    let login_name = args
        .email
        .or(args.handle)
        .or_else(|| stored.as_ref().map(|p| p.login.clone()))
        .context("--email (staff) or --handle (patients) is needed")?;
    let secret_key = read_secret_key(common, &profile)?;
    let password = read_password(common, "Password: ")?;
    let mut api = Api::new(&server)?;
    let rt = runtime()?;
    let unlocked = rt.block_on(login(&mut api, clinic, &login_name, &secret_key, &password))?;
    if let Some(p) = &stored
        && p.root_fingerprint != hex::encode(unlocked.root_fingerprint.0)
    {
        bail!(
            "this account's pinned clinic root differs from the one this profile pinned: refusing to continue"
        );
    }
    create_private_dir(&profile)?;
    let record = Profile {
        server: server.trim_end_matches('/').to_string(),
        clinic: hex::encode(clinic.as_bytes()),
        user: hex::encode(UserId::from_bytes(*unlocked.account.id.as_bytes()).as_bytes()),
        login: login_name,
        root_fingerprint: hex::encode(unlocked.root_fingerprint.0),
    };
    write_private(
        &profile.join("profile.json"),
        &serde_json::to_vec_pretty(&record)?,
    )?;
    write_private(
        &profile.join("secret-key"),
        secret_key.to_printed().as_bytes(),
    )?;
    let session = SessionFile {
        token: unlocked.session.token.clone(),
        expires_at: unlocked.session.expires_at,
    };
    // The session being replaced belongs to the profile as it was (perhaps another clinic).
    let previous = stored
        .as_ref()
        .and_then(|p| {
            let bytes: [u8; 16] = hex::decode(&p.clinic).ok()?.try_into().ok()?;
            Some((p.server.clone(), ClinicId::from_bytes(bytes)))
        })
        .unwrap_or_else(|| (record.server.clone(), clinic));
    replace_session(&rt, &profile, &previous.0, previous.1, &session)?;
    if common.json {
        println!(
            "{}",
            serde_json::json!({ "user": record.user, "clinic": record.clinic, "expires_at": session.expires_at })
        );
    } else {
        println!(
            "Logged in to {} as {}.",
            unlocked.manifest.name, record.login
        );
    }
    Ok(())
}

/// `vaiti logout`.
pub(crate) fn logout_cmd(common: &Common) -> anyhow::Result<()> {
    let profile = profile_dir(common)?;
    let record: Profile = serde_json::from_slice(
        &std::fs::read(profile.join("profile.json"))
            .with_context(|| format!("no profile in {}", profile.display()))?,
    )
    .context("the profile is damaged")?;
    let session_path = profile.join("session.json");
    let Ok(bytes) = std::fs::read(&session_path) else {
        if common.json {
            println!("{}", serde_json::json!({ "logged_out": true }));
        } else {
            println!("Not logged in.");
        }
        return Ok(());
    };
    let session: SessionFile =
        serde_json::from_slice(&bytes).context("the session file is damaged")?;
    let clinic = ClinicId::from_bytes(
        hex::decode(&record.clinic)
            .ok()
            .and_then(|b| b.try_into().ok())
            .context("the profile is damaged")?,
    );
    let mut api = Api::new(&record.server)?;
    api.set_token(Some(session.token));
    // A session the server already ended is fine: the goal is to be logged out.
    match runtime()?.block_on(logout(&mut api, clinic)) {
        Ok(()) | Err(vaiti_client::ClientError::Api { status: 401, .. }) => {}
        Err(e) => return Err(e.into()),
    }
    std::fs::remove_file(&session_path)
        .with_context(|| format!("removing {}", session_path.display()))?;
    if common.json {
        println!("{}", serde_json::json!({ "logged_out": true }));
    } else {
        println!("Logged out.");
    }
    Ok(())
}

/// `vaiti branch create`.
#[derive(Debug, clap::Args)]
pub(crate) struct BranchCreateArgs {
    /// The branch's name.
    pub(crate) name: String,
}

/// Logs in with this profile's account (every command starts from a verified, unlocked account).
pub(crate) fn unlock(
    common: &Common,
) -> anyhow::Result<(
    tokio::runtime::Runtime,
    Api,
    vaiti_client::account::Unlocked,
)> {
    let (rt, api, unlocked, _password) = unlock_with_password(common)?;
    Ok((rt, api, unlocked))
}

/// [`unlock`], also returning the password it was given (a password change proves it again).
fn unlock_with_password(
    common: &Common,
) -> anyhow::Result<(
    tokio::runtime::Runtime,
    Api,
    vaiti_client::account::Unlocked,
    String,
)> {
    let profile = profile_dir(common)?;
    let record: Profile = serde_json::from_slice(
        &std::fs::read(profile.join("profile.json")).with_context(|| {
            format!(
                "no profile in {}: log in first (vaiti login)",
                profile.display()
            )
        })?,
    )
    .context("the profile is damaged")?;
    let clinic = ClinicId::from_bytes(
        hex::decode(&record.clinic)
            .ok()
            .and_then(|b| b.try_into().ok())
            .context("the profile is damaged")?,
    );
    let secret_key = read_secret_key(common, &profile)?;
    let password = read_password(common, "Password: ")?;
    let rt = runtime()?;
    let mut api = Api::new(&record.server)?;
    let unlocked = rt.block_on(login(
        &mut api,
        clinic,
        &record.login,
        &secret_key,
        &password,
    ))?;
    if record.root_fingerprint != hex::encode(unlocked.root_fingerprint.0) {
        bail!(
            "this account's pinned clinic root differs from the one this profile pinned: refusing to continue"
        );
    }
    let session = SessionFile {
        token: unlocked.session.token.clone(),
        expires_at: unlocked.session.expires_at,
    };
    replace_session(&rt, &profile, &record.server, clinic, &session)?;
    Ok((rt, api, unlocked, password))
}

/// Writes `session` as the profile's current session, then ends the session it replaces (of
/// `clinic` at `server`): a 12-hour token left alive in no file is only of use to whoever copied
/// it. A replaced session the server already ended is fine; one it cannot be reached to end is a
/// warning, not a failure.
fn replace_session(
    rt: &tokio::runtime::Runtime,
    profile: &Path,
    server: &str,
    clinic: ClinicId,
    session: &SessionFile,
) -> anyhow::Result<()> {
    let path = profile.join("session.json");
    let previous = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<SessionFile>(&b).ok())
        .filter(|old| old.token != session.token);
    write_private(&path, &serde_json::to_vec(session)?)?;
    if let Some(old) = previous {
        let mut api = Api::new(server)?;
        api.set_token(Some(old.token));
        match rt.block_on(logout(&mut api, clinic)) {
            Ok(()) | Err(vaiti_client::ClientError::Api { status: 401, .. }) => {}
            Err(e) => eprintln!("warning: the previous session could not be ended: {e}"),
        }
    }
    Ok(())
}

/// `vaiti branch create NAME`.
pub(crate) fn branch_create(common: &Common, args: BranchCreateArgs) -> anyhow::Result<()> {
    let (rt, api, unlocked) = unlock(common)?;
    let branch = rt.block_on(async {
        // Sync first, like every command.
        let (_session, joined) = crate::records::open(common, &api, &unlocked).await?;
        crate::records::report_joins(common, &joined);
        anyhow::Ok(vaiti_client::admin::create_branch(&api, &unlocked, &args.name, now()).await?)
    })?;
    let id = hex::encode(branch.as_bytes());
    if common.json {
        println!(
            "{}",
            serde_json::json!({ "branch": id, "name": args.name.trim() })
        );
    } else {
        println!("Branch {} created ({id}).", args.name.trim());
    }
    Ok(())
}

/// `vaiti password`: changes the password (the Secret Key stays). The new password comes from
/// the second line of standard input with `--password-stdin` (the first is the current one),
/// `VAITI_NEW_PASSWORD`, or a prompt asked twice.
pub(crate) fn password_cmd(common: &Common) -> anyhow::Result<()> {
    let (rt, api, unlocked, current) = unlock_with_password(common)?;
    let new = if common.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the new password from standard input (the second line)")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else if let Ok(p) = std::env::var("VAITI_NEW_PASSWORD") {
        p
    } else {
        let new =
            rpassword::prompt_password("New password: ").context("reading the new password")?;
        let again = rpassword::prompt_password("New password again: ")
            .context("reading the new password again")?;
        if again != new {
            bail!("the two new passwords differ; nothing was changed");
        }
        new
    };
    let profile = profile_dir(common)?;
    let secret_key = read_secret_key(common, &profile)?;
    rt.block_on(vaiti_client::account::change_password(
        &api,
        &unlocked,
        &secret_key,
        &current,
        &new,
    ))?;
    // The server ended every session, this one too.
    let _ = std::fs::remove_file(profile.join("session.json"));
    if common.json {
        println!("{}", serde_json::json!({ "password_changed": true }));
    } else {
        println!("Password changed. Every session has ended; log in again with the new one.");
    }
    Ok(())
}

fn parse_purpose(s: &str) -> Result<vaiti_core::AccessPurpose, String> {
    vaiti_core::AccessPurpose::parse(s.trim()).ok_or_else(|| {
        format!("{s:?} is not a purpose: treatment, administration, audit or emergency")
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// A fresh, empty directory under the system's temporary directory.
    fn scratch_dir(name: &str) -> PathBuf {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).unwrap();
        let dir = std::env::temp_dir().join(format!("vaiti-{name}-{}", hex::encode(nonce)));
        std::fs::create_dir(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_private_replaces_the_file_whole_owner_only_and_leaves_no_temporaries() {
        let dir = scratch_dir("write-private");
        let path = dir.join("seen.vaiti");

        write_private(&path, &[b'a'; 4096]).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![b'a'; 4096]);

        // A file someone left world-readable, and a second name for it: replacing it gives a new
        // file, owner-only, shorter than the old one with nothing of it left; the other name
        // still holds the old contents whole (a rename over, not a rewrite in place).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let other_name = dir.join("other-name");
        std::fs::hard_link(&path, &other_name).unwrap();
        write_private(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert!(
            std::fs::read(&other_name).unwrap() == [b'a'; 4096],
            "the old file was left whole under its other name"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
        }
        std::fs::remove_file(&other_name).unwrap();
        assert_eq!(entries(&dir), ["seen.vaiti"]);

        // A path that names no file is refused, and leaves nothing behind.
        assert!(
            write_private(&dir.join(".."), b"x").is_err(),
            "no file name"
        );
        assert_eq!(entries(&dir), ["seen.vaiti"]);

        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn write_private_into_a_missing_directory_fails_and_creates_nothing() {
        let dir = scratch_dir("write-private-missing");
        let missing = dir.join("no-such-dir");
        let err = write_private(&missing.join("profile.json"), b"{}").unwrap_err();
        assert!(
            format!("{err:#}").contains("profile.json"),
            "the error names the file: {err:#}"
        );
        assert!(!missing.exists());
        assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn concurrent_writers_never_leave_a_torn_file() {
        // Two commands on one profile at once: every read sees one writer's bytes whole.
        let dir = scratch_dir("write-private-race");
        let path = dir.join("seen.vaiti");
        let versions: Vec<Vec<u8>> = (0u8..4).map(|v| vec![b'0' + v; 256 * 1024]).collect();
        write_private(&path, &versions[0]).unwrap();
        std::thread::scope(|s| {
            for v in &versions {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..20 {
                        write_private(path, v).unwrap();
                    }
                });
            }
            for _ in 0..200 {
                let read = std::fs::read(&path).unwrap();
                assert!(
                    versions.contains(&read),
                    "torn read: {} bytes, first {:?}",
                    read.len(),
                    read.first()
                );
            }
        });
        assert_eq!(entries(&dir), ["seen.vaiti"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
