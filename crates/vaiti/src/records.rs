//! Client commands for invites, patients, care teams and notes. Every one logs in, verifies the
//! clinic directory and syncs (completes joins this user is waiting to complete) before its own
//! work; `vaiti sync` does only that.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use vaiti_client::chart::{self, PatientDetails};
use vaiti_client::invite::{self, CompletedJoin, InviteCode, NewMember};
use vaiti_client::seen::Seen;
use vaiti_client::session::Session;
use vaiti_core::{ChartId, InviteId, ObjectId, Role};

use crate::client::{
    Common, Profile, create_private_dir, now, profile_dir, read_password, runtime, unlock,
    write_private,
};

/// A verified session that, when the command ends, saves what this device has seen (sealed
/// under the account's cache key, in the profile's `seen.vaiti`), so the next command refuses
/// anything older.
pub(crate) struct Opened<'a> {
    session: Session<'a>,
    path: PathBuf,
}

impl<'a> std::ops::Deref for Opened<'a> {
    type Target = Session<'a>;
    fn deref(&self) -> &Session<'a> {
        &self.session
    }
}

impl Drop for Opened<'_> {
    fn drop(&mut self) {
        // Another command on this profile may have saved meanwhile: keep the newer of each.
        let me = self.session.me;
        let sealed = self.session.seen().and_then(|mut seen| {
            if let Ok(bytes) = std::fs::read(&self.path)
                && let Ok(saved) = Seen::open(me, &bytes)
            {
                seen.merge(&saved);
            }
            seen.seal(me)
        });
        let saved = match sealed {
            Ok(bytes) => write_private(&self.path, &bytes),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = saved {
            eprintln!("vaiti: warning: could not save the local cache: {e:#}");
        }
    }
}

/// Opens the verified session (with what this device saw before) and completes pending joins.
pub(crate) async fn open<'a>(
    common: &Common,
    api: &'a vaiti_client::api::Api,
    me: &'a vaiti_client::account::Unlocked,
) -> anyhow::Result<(Opened<'a>, Vec<CompletedJoin>)> {
    let path = profile_dir(common)?.join("seen.vaiti");
    let seen = match std::fs::read(&path) {
        Ok(bytes) => Seen::open(me, &bytes).with_context(|| {
            format!(
                "the local cache {} does not open with this account (was the profile copied from another account? then remove that file)",
                path.display()
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Seen::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let s = Session::open_with(api, me, now(), seen).await?;
    let joins = invite::complete_invites_reporting(&s).await?;
    for refused in &joins.refused {
        if refused.revoke {
            eprintln!(
                "vaiti: warning: the sign-up with invite {} was refused ({}); nothing was certified. \
                 Revoke it with `vaiti invite revoke {} --account` and invite again.",
                refused.invite, refused.reason, refused.invite
            );
        } else {
            eprintln!(
                "vaiti: note: the sign-up with invite {} waits: {}",
                refused.invite, refused.reason
            );
        }
    }
    let joined = joins.completed;
    // Certificates this user issues are renewed a month before they expire. A failure (another
    // admin renewing at the same moment) is reported and retried on the next command.
    let renewed = match vaiti_client::admin::renew_certificates(&s).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vaiti: warning: renewing certificates failed (retried next time): {e}");
            Vec::new()
        }
    };
    // An admin adopts the access log's key into the manifest once; from then on every client
    // checks the log's checkpoints against it.
    let adopted = match vaiti_client::admin::adopt_log_key(&s).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "vaiti: warning: adopting the access log's key failed (retried next time): {e}"
            );
            false
        }
    };
    // A join just completed, a certificate renewed or a new manifest changes the directory:
    // reopen so it is part of this session's view.
    let s = if joined.is_empty() && renewed.is_empty() && !adopted {
        s
    } else {
        let seen = s.seen()?;
        Session::open_with(api, me, now(), seen).await?
    };
    let mut s = s;
    s.purpose = common.purpose;
    Ok((Opened { session: s, path }, joined))
}

pub(crate) fn report_joins(common: &Common, joined: &[CompletedJoin]) {
    if !common.json {
        for j in joined {
            eprintln!("Completed the join of {} (invite {}).", j.login, j.invite);
        }
    }
}

fn print_json(value: &serde_json::Value) {
    println!("{value}");
}

/// `vaiti sync`.
pub(crate) fn sync(common: &Common) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let joined = rt.block_on(async { open(common, &api, &me).await.map(|(_, j)| j) })?;
    if common.json {
        print_json(&serde_json::json!({ "completed_joins": joined }));
    } else if joined.is_empty() {
        println!("Up to date.");
    } else {
        report_joins(common, &joined);
    }
    Ok(())
}

/// `vaiti staff invite`.
#[derive(Debug, clap::Args)]
pub(crate) struct StaffInviteArgs {
    /// The new member's email address (their login name).
    #[arg(long)]
    email: String,
    /// Roles, comma-separated: admin, therapist, frontdesk, auditor.
    #[arg(long, value_delimiter = ',', required = true, value_parser = parse_role)]
    role: Vec<Role>,
    /// Branches they work in (repeat for several).
    #[arg(long)]
    branch: Vec<String>,
    /// How long the invite stays usable: e.g. 30m, 72h, 7d (at most 30d).
    #[arg(long, default_value = "72h", value_parser = parse_duration)]
    valid_for: i64,
}

/// `30s`, `15m`, `72h`, `7d` → seconds.
fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30m, 72h or 7d"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" | "" => 3600,
        "d" => 86400,
        _ => return Err(format!("{s:?} is not a duration like 30m, 72h or 7d")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too long"))
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s.trim()).ok_or_else(|| {
        format!("unknown role {s:?}: the roles are admin, therapist, frontdesk and auditor")
    })
}

pub(crate) fn staff_invite(common: &Common, args: StaffInviteArgs) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let created = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(
            invite::invite_staff(&s, &args.email, &args.role, &args.branch, args.valid_for).await?,
        )
    })?;
    print_invite(common, &created);
    Ok(())
}

fn print_invite(common: &Common, created: &invite::CreatedInvite) {
    let code = created.code.to_printed();
    if common.json {
        print_json(&serde_json::json!({
            "invite": created.id, "code": code, "expires_at": created.expires_at,
        }));
    } else {
        println!("Invite code (hand it over privately; it works once, until it expires):");
        println!("  {code}");
        println!("Invite id: {}", created.id);
    }
}

/// `vaiti invite list`.
pub(crate) fn invite_list(common: &Common) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let list = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(invite::list_invites(&s).await?)
    })?;
    if common.json {
        print_json(&serde_json::to_value(&list)?);
    } else if list.is_empty() {
        println!("You have made no invites.");
    } else {
        for i in &list {
            let whom = i
                .email
                .clone()
                .or_else(|| i.chart.map(|c| format!("patient of chart {c}")))
                .unwrap_or_default();
            println!("{}  {:?}  {whom}", i.invite, i.state);
        }
    }
    Ok(())
}

/// `vaiti invite pending`.
pub(crate) fn invite_pending(common: &Common) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let list = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(invite::pending_joins(&s).await?)
    })?;
    if common.json {
        print_json(&serde_json::to_value(&list)?);
    } else if list.is_empty() {
        println!("No portal joins are waiting for you.");
    } else {
        println!("Portal joins waiting for your confirmation (vaiti invite confirm INVITE):");
        for j in &list {
            println!(
                "{}  chart {}  patient login {}  invited by {}",
                j.invite, j.chart, j.login, j.inviter_name
            );
        }
    }
    Ok(())
}

/// `vaiti invite confirm`.
#[derive(Debug, clap::Args)]
pub(crate) struct InviteConfirmArgs {
    /// The invite id (from `vaiti invite pending`).
    invite: InviteId,
}

pub(crate) fn invite_confirm(common: &Common, args: InviteConfirmArgs) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let done = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(invite::confirm_join(&s, args.invite).await?)
    })?;
    if common.json {
        print_json(&serde_json::to_value(&done)?);
    } else {
        println!(
            "Confirmed: {} can now sign in to the portal (invite {}).",
            done.login, done.invite
        );
    }
    Ok(())
}

/// `vaiti invite revoke`.
#[derive(Debug, clap::Args)]
pub(crate) struct InviteRevokeArgs {
    /// The invite id (from `vaiti invite list`).
    invite: InviteId,
    /// Also revoke the account created with it.
    #[arg(long)]
    account: bool,
}

pub(crate) fn invite_revoke(common: &Common, args: InviteRevokeArgs) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    rt.block_on(async {
        let (s, _) = open(common, &api, &me).await?;
        anyhow::Ok(invite::revoke_invite(&s, args.invite, args.account).await?)
    })?;
    if common.json {
        print_json(
            &serde_json::json!({ "invite": args.invite, "revoked": true, "account_revoked": args.account }),
        );
    } else {
        println!("Revoked.");
    }
    Ok(())
}

/// `vaiti signup`.
#[derive(Debug, clap::Args)]
pub(crate) struct SignupArgs {
    /// The server's URL.
    #[arg(long)]
    server: String,
    /// The invite code you were given.
    #[arg(long)]
    invite: String,
    /// Your email (staff; must be the one you were invited with).
    #[arg(long)]
    email: Option<String>,
    /// Your name as colleagues see it (staff).
    #[arg(long)]
    name: Option<String>,
}

pub(crate) fn signup(common: &Common, args: SignupArgs) -> anyhow::Result<()> {
    let profile = profile_dir(common)?;
    if profile.join("profile.json").exists() {
        bail!(
            "the profile {} is already in use; choose another with --profile",
            profile.display()
        );
    }
    let code = InviteCode::parse(&args.invite)?;
    let password = read_password(common, "New password: ")?;
    if password.chars().count() < 10 {
        bail!("choose a password of at least 10 characters");
    }
    let api = vaiti_client::api::Api::new(&args.server)?;
    let account = runtime()?.block_on(invite::signup(
        &api,
        &NewMember {
            code: &code,
            email: args.email.as_deref(),
            display_name: args.name.as_deref(),
            password: &password,
            now: now(),
        },
    ))?;
    create_private_dir(&profile)?;
    let record = Profile {
        server: args.server.trim_end_matches('/').to_string(),
        clinic: hex::encode(account.clinic.as_bytes()),
        user: hex::encode(account.user.as_bytes()),
        login: account.login.clone(),
        root_fingerprint: hex::encode(account.root_fingerprint.0),
    };
    write_private(
        &profile.join("profile.json"),
        &serde_json::to_vec_pretty(&record)?,
    )?;
    let printed = account.secret_key.to_printed();
    write_private(&profile.join("secret-key"), printed.as_bytes())?;
    let patient = account.kind == vaiti_core::AccountKind::Patient;
    if common.json {
        let mut v = serde_json::json!({
            "user": record.user, "clinic": record.clinic, "login": record.login,
            "secret_key": printed.as_str(), "root_fingerprint": record.root_fingerprint,
        });
        if patient {
            v["handle"] = serde_json::Value::String(record.login.clone());
        }
        print_json(&v);
    } else {
        println!("Signed up to {}.", account.clinic_name);
        println!();
        println!("EMERGENCY KIT — print this, keep it safe, it is shown only once");
        println!("  Server:           {}", record.server);
        println!("  Clinic:           {}", record.clinic);
        if patient {
            println!("  Handle (login):   {}", record.login);
        } else {
            println!("  Login:            {}", record.login);
        }
        println!("  Secret Key:       {}", printed.as_str());
        println!("  Root fingerprint: {}", record.root_fingerprint);
        println!();
        println!("Whoever invited you completes your join the next time they use vaiti.");
    }
    Ok(())
}

/// `vaiti patient add`.
#[derive(Debug, clap::Args)]
pub(crate) struct PatientAddArgs {
    /// The branch whose directory lists the patient.
    #[arg(long)]
    branch: String,
    /// The patient's full name.
    #[arg(long)]
    name: String,
    /// Finnish personal identity code (optional; checked).
    #[arg(long)]
    hetu: Option<String>,
    /// Birth date, YYYY-MM-DD (taken from the identity code when one is given).
    #[arg(long)]
    birth_date: Option<String>,
    /// Email address.
    #[arg(long)]
    email: Option<String>,
    /// Phone number.
    #[arg(long)]
    phone: Option<String>,
    /// A therapist of the care team, by email (repeat for several).
    #[arg(long)]
    therapist: Vec<String>,
}

pub(crate) fn patient_add(common: &Common, args: PatientAddArgs) -> anyhow::Result<()> {
    let details = chart::check_details(PatientDetails {
        name: args.name,
        hetu: args.hetu,
        birth_date: args.birth_date,
        email: args.email,
        phone: args.phone,
    })?;
    let (rt, api, me) = unlock(common)?;
    let id = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(chart::add_patient(&s, &args.branch, details, &args.therapist).await?)
    })?;
    if common.json {
        print_json(&serde_json::json!({ "chart": id }));
    } else {
        println!("Patient added: chart {id}");
    }
    Ok(())
}

/// `vaiti patient list`.
#[derive(Debug, clap::Args)]
pub(crate) struct PatientListArgs {
    /// Only this branch's directory.
    #[arg(long)]
    branch: Option<String>,
}

fn print_patients(common: &Common, list: &[chart::PatientSummary]) -> anyhow::Result<()> {
    if common.json {
        print_json(&serde_json::to_value(list)?);
    } else if list.is_empty() {
        println!("No patients.");
    } else {
        for p in list {
            println!(
                "{}  {}  {}  ({})",
                p.chart,
                p.name,
                p.birth_date.as_deref().unwrap_or("-"),
                p.branch
            );
        }
    }
    Ok(())
}

pub(crate) fn patient_list(common: &Common, args: PatientListArgs) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let list = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(chart::list_patients(&s, args.branch.as_deref()).await?)
    })?;
    print_patients(common, &list)
}

/// `vaiti patient find`.
#[derive(Debug, clap::Args)]
pub(crate) struct PatientFindArgs {
    /// Text in the name, birth date or chart id.
    text: String,
}

pub(crate) fn patient_find(common: &Common, args: PatientFindArgs) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let list = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(chart::find_patients(&s, &args.text).await?)
    })?;
    print_patients(common, &list)
}

/// A command naming one chart.
#[derive(Debug, clap::Args)]
pub(crate) struct ChartArg {
    /// The chart id.
    chart: ChartId,
}

pub(crate) fn patient_show(common: &Common, args: ChartArg) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let record = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(chart::show_patient(&s, args.chart).await?)
    })?;
    if common.json {
        print_json(&serde_json::to_value(&record)?);
    } else {
        let d = &record.details;
        println!("Chart:       {}", record.chart);
        println!("Branch:      {}", record.branch);
        println!("Name:        {}", d.name);
        println!("HETU:        {}", d.hetu.as_deref().unwrap_or("-"));
        println!("Birth date:  {}", d.birth_date.as_deref().unwrap_or("-"));
        println!("Email:       {}", d.email.as_deref().unwrap_or("-"));
        println!("Phone:       {}", d.phone.as_deref().unwrap_or("-"));
        println!("Care team:   {}", record.care_team.join(", "));
        println!("Portal:      {}", if record.portal { "yes" } else { "no" });
    }
    Ok(())
}

/// `vaiti patient invite`.
#[derive(Debug, clap::Args)]
pub(crate) struct PatientInviteArgs {
    /// The chart id.
    chart: ChartId,
    /// How long the invite stays usable: e.g. 30m, 72h, 7d (at most 30d).
    #[arg(long, default_value = "72h", value_parser = parse_duration)]
    valid_for: i64,
}

pub(crate) fn patient_invite(common: &Common, args: PatientInviteArgs) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let created = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(invite::invite_patient(&s, args.chart, args.valid_for).await?)
    })?;
    print_invite(common, &created);
    Ok(())
}

/// `vaiti care-team add|remove`.
#[derive(Debug, clap::Args)]
pub(crate) struct CareTeamArgs {
    /// The chart id.
    chart: ChartId,
    /// The clinician's email.
    #[arg(long)]
    member: String,
}

pub(crate) fn care_team_waiting(common: &Common, args: ChartArg) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let waiting = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(chart::waiting_for_history(&s, args.chart).await?)
    })?;
    if common.json {
        print_json(&serde_json::json!({ "chart": args.chart, "waiting": waiting }));
    } else if waiting.is_empty() {
        println!("Nobody in the care team waits for this chart's earlier notes.");
    } else {
        for w in &waiting {
            println!(
                "{} — added by {} at {}; waits for the notes of {} earlier key epoch(s). \
                 Share them: vaiti care-team share {} --member EMAIL",
                w.member,
                w.added_by,
                crate::access::format_time(w.added_at),
                w.epochs.len(),
                args.chart
            );
        }
    }
    Ok(())
}

pub(crate) fn care_team_share(common: &Common, args: CareTeamArgs) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let epochs = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(chart::share_history(&s, args.chart, &args.member).await?)
    })?;
    if common.json {
        print_json(&serde_json::json!({
            "chart": args.chart, "member": args.member, "epochs": epochs,
        }));
    } else if epochs.is_empty() {
        println!("{} waits for nothing you could share.", args.member);
    } else {
        println!(
            "{} may now read this chart's earlier notes ({} key epoch(s) shared).",
            args.member,
            epochs.len()
        );
    }
    Ok(())
}

pub(crate) fn care_team(common: &Common, args: CareTeamArgs, add: bool) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        if add {
            chart::care_team_add(&s, args.chart, &args.member).await?;
        } else {
            chart::care_team_remove(&s, args.chart, &args.member).await?;
        }
        anyhow::Ok(())
    })?;
    if common.json {
        print_json(&serde_json::json!({
            "chart": args.chart, "member": args.member, "added": add, "removed": !add,
        }));
    } else if add {
        println!("{} added to the care team.", args.member);
    } else {
        println!(
            "{} removed from the care team; notes from now on use new keys.",
            args.member
        );
    }
    Ok(())
}

/// `vaiti note add`.
#[derive(Debug, clap::Args)]
pub(crate) struct NoteAddArgs {
    /// The chart id.
    chart: ChartId,
    /// Read the note from this file (default: standard input).
    #[arg(long)]
    file: Option<PathBuf>,
    /// `team` (process notes, the default) or `shared` (the patient may read it).
    #[arg(long, default_value = "team")]
    tier: String,
    /// The note's title (sealed like the text).
    #[arg(long, default_value = "")]
    title: String,
}

fn read_text(file: Option<&PathBuf>) -> anyhow::Result<String> {
    let text = match file {
        Some(f) => {
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?
        }
        None => {
            let mut t = String::new();
            std::io::stdin()
                .read_to_string(&mut t)
                .context("reading the note from standard input")?;
            t
        }
    };
    if text.trim().is_empty() {
        bail!("the note is empty");
    }
    Ok(text)
}

pub(crate) fn note_add(common: &Common, args: NoteAddArgs) -> anyhow::Result<()> {
    let tier = chart::parse_tier(&args.tier)?;
    let (rt, api, me) = unlock(common)?;
    // Read after the password: with --password-stdin the first line is the password.
    let text = read_text(args.file.as_ref())?;
    let id = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(chart::add_note(&s, args.chart, tier, &args.title, &text).await?)
    })?;
    if common.json {
        print_json(&serde_json::json!({ "note": id }));
    } else {
        println!("Note saved: {id}");
    }
    Ok(())
}

/// `vaiti bench-open-chart` (hidden).
#[derive(Debug, clap::Args)]
pub(crate) struct BenchOpenArgs {
    /// The chart id.
    chart: ChartId,
    /// How many times to open it.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
}

pub(crate) fn bench_open_chart(common: &Common, args: BenchOpenArgs) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let (runs_ms, notes) = rt.block_on(async {
        let mut seen = Seen::default();
        let mut runs_ms = Vec::new();
        let mut notes = 0;
        for _ in 0..args.runs {
            let start = std::time::Instant::now();
            let s = Session::open_with(&api, &me, now(), seen).await?;
            let opened = chart::open_chart(&s, args.chart).await?;
            runs_ms.push(start.elapsed().as_secs_f64() * 1000.0);
            notes = opened.notes.len();
            seen = s.seen()?;
        }
        anyhow::Ok((runs_ms, notes))
    })?;
    print_json(&serde_json::json!({ "chart": args.chart, "notes": notes, "runs_ms": runs_ms }));
    Ok(())
}

pub(crate) fn note_list(common: &Common, args: ChartArg) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let notes = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(chart::list_notes(&s, args.chart).await?)
    })?;
    if common.json {
        let list: Vec<_> = notes
            .iter()
            .filter_map(|n| {
                let first = n.versions.first()?;
                let current = n.current()?;
                Some(serde_json::json!({
                    "id": n.id, "tier": n.tier, "title": current.title, "author": first.author,
                    "created_at": first.created_at, "versions": n.versions.len(),
                }))
            })
            .collect();
        print_json(&serde_json::Value::Array(list));
    } else if notes.is_empty() {
        println!("No notes.");
    } else {
        for n in &notes {
            if let (Some(first), Some(current)) = (n.versions.first(), n.current()) {
                let amended = if n.versions.len() > 1 {
                    " (amended)"
                } else {
                    ""
                };
                println!(
                    "{}  {}  {}  {}  {}{amended}",
                    n.id, first.created_at, n.tier, first.author, current.title
                );
            }
        }
    }
    Ok(())
}

/// A command naming one note.
#[derive(Debug, clap::Args)]
pub(crate) struct NoteArg {
    /// The note id.
    note: ObjectId,
}

pub(crate) fn note_show(common: &Common, args: NoteArg) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let note = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(chart::show_note(&s, args.note).await?)
    })?;
    let current = note.current().context("the note has no versions")?;
    if common.json {
        print_json(&serde_json::json!({
            "id": note.id, "chart": note.chart, "tier": note.tier, "title": current.title,
            "text": current.text, "versions": note.versions,
        }));
    } else {
        println!("Note {} ({}, chart {})", note.id, note.tier, note.chart);
        println!("Title: {}", current.title);
        println!();
        println!("{}", current.text);
        if note.versions.len() > 1 {
            println!();
            println!("History:");
            for v in &note.versions {
                println!(
                    "  v{} by {} at {}{}",
                    v.version,
                    v.author,
                    v.created_at,
                    v.reason
                        .as_ref()
                        .map(|r| format!(" — amended: {r}"))
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

/// `vaiti note amend`.
#[derive(Debug, clap::Args)]
pub(crate) struct NoteAmendArgs {
    /// The note id.
    note: ObjectId,
    /// The corrected text.
    #[arg(long)]
    file: PathBuf,
    /// Why the note is amended (kept with the new version).
    #[arg(long)]
    reason: String,
}

pub(crate) fn note_amend(common: &Common, args: NoteAmendArgs) -> anyhow::Result<()> {
    let text = read_text(Some(&args.file))?;
    let (rt, api, me) = unlock(common)?;
    let version = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(chart::amend_note(&s, args.note, &text, &args.reason).await?)
    })?;
    if common.json {
        print_json(&serde_json::json!({ "note": args.note, "version": version }));
    } else {
        println!("Note {} amended (version {version}).", args.note);
    }
    Ok(())
}
