//! Detection commands: `vaiti decoy create` (admins), `vaiti alerts list` (admins and auditors),
//! `vaiti alerts ack` (admins), and the detection options of `vaiti serve`.
//!
//! A decoy is a chart nobody should ever open. The admin's client makes it exactly as `vaiti
//! patient add` makes a patient's chart — same library call, same rows, a plausible Finnish name,
//! a valid HETU and its birth date — and then asks the server to watch it. The server keeps the
//! list of decoys outside its database, so a stolen database shows no difference between a decoy
//! and a patient.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use vaiti_client::chart::{self, PatientDetails};
use vaiti_client::hetu::Hetu;
use vaiti_core::alert::{AlertList, RegisterDecoy};
use vaiti_core::{Alert, AlertId, Role};
use vaiti_server::DetectionConfig;

use crate::client::{Common, unlock};
use crate::records::{open, report_joins};

/// The detection options of `vaiti serve`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DetectionArgs {
    /// POST every alert (JSON: kind, clinic, alert id, actor id, counts, time; no patient data)
    /// to this URL: https://, or http:// to a loopback address.
    #[arg(long, env = "VAITI_ALERT_WEBHOOK")]
    alert_webhook: Option<String>,
    /// The decoy list (kept outside the database). Default: DATA/decoys.json.
    #[arg(long, env = "VAITI_DECOYS")]
    decoys: Option<PathBuf>,
    /// Alert when one account opens more than this many distinct charts within the window.
    #[arg(long, default_value_t = vaiti_server::DEFAULT_CHART_OPENINGS_THRESHOLD)]
    chart_openings_threshold: u32,
    /// The chart-openings window: e.g. 600, 600s, 10m, 1h.
    #[arg(long, default_value = "10m", value_parser = parse_window)]
    chart_openings_window: u64,
    /// Alert when this many logins fail at one clinic within the window.
    #[arg(long, default_value_t = vaiti_server::DEFAULT_FAILED_LOGINS_THRESHOLD)]
    failed_logins_threshold: u32,
    /// The failed-logins window: e.g. 300, 5m.
    #[arg(long, default_value = "5m", value_parser = parse_window)]
    failed_logins_window: u64,
    /// On a decoy-access or bulk-opening alert, also end every session of the account that
    /// caused it (off by default).
    #[arg(long)]
    lock_on_alert: bool,
}

impl DetectionArgs {
    /// The server's detection configuration, with the decoy list in `data` unless named.
    pub(crate) fn config(&self, data: &Path) -> DetectionConfig {
        DetectionConfig {
            decoys_file: Some(
                self.decoys
                    .clone()
                    .unwrap_or_else(|| data.join("decoys.json")),
            ),
            webhook: self.alert_webhook.clone(),
            chart_openings_threshold: self.chart_openings_threshold,
            chart_openings_window_s: self.chart_openings_window,
            failed_logins_threshold: self.failed_logins_threshold,
            failed_logins_window_s: self.failed_logins_window,
            lock_on_alert: self.lock_on_alert,
        }
    }
}

/// A window length: seconds, or a number with `s`, `m` or `h`; at least one second.
fn parse_window(s: &str) -> Result<u64, String> {
    let text = s.trim();
    let bad = || format!("{s:?} is not a duration like 600, 90s, 10m or 1h");
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "" | "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => None,
    }
    .ok_or_else(bad)?;
    if seconds == 0 {
        return Err(format!("{s:?}: a window is at least one second"));
    }
    Ok(seconds)
}

/// `vaiti decoy`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum DecoyCommand {
    /// Make a decoy chart (admins): a realistic fake patient no one should ever open. Opening
    /// it, or any request naming it, raises an alert. It is never listed.
    Create(DecoyCreateArgs),
}

/// `vaiti decoy create`.
#[derive(Debug, clap::Args)]
pub(crate) struct DecoyCreateArgs {
    /// The branch (default: the clinic's only branch).
    #[arg(long)]
    branch: Option<String>,
}

/// `vaiti alerts`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AlertsCommand {
    /// The clinic's alerts, newest first (admins and auditors).
    List(AlertsListArgs),
    /// Mark an alert acknowledged (admins).
    Ack(AlertAckArgs),
}

/// `vaiti alerts list`.
#[derive(Debug, clap::Args)]
pub(crate) struct AlertsListArgs {
    /// At most this many (at most 1000).
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

/// `vaiti alerts ack`.
#[derive(Debug, clap::Args)]
pub(crate) struct AlertAckArgs {
    /// The alert's id (from `vaiti alerts list`).
    alert: AlertId,
}

/// `vaiti decoy create`.
pub(crate) fn decoy_create(common: &Common, args: DecoyCreateArgs) -> anyhow::Result<()> {
    let details = fake_patient()?;
    let (rt, api, me) = unlock(common)?;
    let chart = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        if !s.myself()?.has_role(Role::Admin) {
            bail!("only admins create decoys");
        }
        let branch = match args.branch {
            Some(b) => b,
            None => match s.manifest.branches.as_slice() {
                [only] => only.name.clone(),
                [] => bail!("the clinic has no branch yet: create one with vaiti branch create"),
                several => bail!(
                    "the clinic has several branches ({}): choose one with --branch",
                    several
                        .iter()
                        .map(|b| b.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        };
        // The same call `vaiti patient add` makes, so the rows are those of any patient.
        let chart = chart::add_patient(&s, &branch, details, &[]).await?;
        s.api
            .post_no_content(
                &format!("{}/decoys", s.me.clinic_path()),
                &RegisterDecoy { chart },
            )
            .await
            .with_context(|| {
                format!(
                    "chart {chart} was made but not registered as a decoy; until it is, it is listed like a patient"
                )
            })?;
        anyhow::Ok(chart)
    })?;
    if common.json {
        println!("{}", serde_json::json!({ "chart": chart }));
    } else {
        println!("Decoy created: chart {chart}. Any request naming it raises an alert.");
    }
    Ok(())
}

/// `vaiti alerts list`.
pub(crate) fn alerts_list(common: &Common, args: AlertsListArgs) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let (alerts, names) = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        let list: AlertList = s
            .api
            .get(&format!(
                "{}/alerts?limit={}",
                s.me.clinic_path(),
                args.limit
            ))
            .await?;
        let names: Vec<Option<String>> = list
            .alerts
            .iter()
            .map(|a| {
                a.actor
                    .and_then(|u| s.known.get(&u))
                    .map(|m| m.certificate.login.clone())
            })
            .collect();
        anyhow::Ok((list.alerts, names))
    })?;
    if common.json {
        let out: Vec<serde_json::Value> = alerts
            .iter()
            .zip(&names)
            .map(|(a, login)| alert_json(a, login.as_deref()))
            .collect();
        println!("{}", serde_json::Value::Array(out));
    } else if alerts.is_empty() {
        println!("No alerts.");
    } else {
        for (a, login) in alerts.iter().zip(&names) {
            println!("{}", alert_line(a, login.as_deref()));
        }
    }
    Ok(())
}

/// `vaiti alerts ack`.
pub(crate) fn alerts_ack(common: &Common, args: AlertAckArgs) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        s.api
            .post_empty(&format!(
                "{}/alerts/{}/acknowledge",
                s.me.clinic_path(),
                args.alert
            ))
            .await?;
        anyhow::Ok(())
    })?;
    if common.json {
        println!("{}", serde_json::json!({ "acknowledged": args.alert }));
    } else {
        println!("Alert {} acknowledged.", args.alert);
    }
    Ok(())
}

fn alert_json(a: &Alert, login: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "id": a.id,
        "kind": a.kind.as_str(),
        "time": a.created_at,
        "actor": a.actor,
        "actor_login": login,
        "count": a.count,
        "window_s": a.window_s,
        "log_index": a.log_index,
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": a.acknowledged_at,
    })
}

fn alert_line(a: &Alert, login: Option<&str>) -> String {
    let who = match (login, a.actor) {
        (Some(l), _) => l.to_owned(),
        (None, Some(u)) => u.to_string(),
        (None, None) => "-".to_owned(),
    };
    let what = match a.kind {
        vaiti_core::AlertKind::DecoyAccess => "a request named a decoy chart".to_owned(),
        vaiti_core::AlertKind::ChartOpeningRate => format!(
            "{} distinct charts opened in {} min",
            a.count,
            a.window_s / 60
        ),
        vaiti_core::AlertKind::FailedLoginBurst => {
            format!("{} failed logins in {} min", a.count, a.window_s / 60)
        }
        vaiti_core::AlertKind::PatientReport => match a.log_index {
            Some(i) => format!("a patient reported access-log entry {i}"),
            None => "a patient reported an access".to_owned(),
        },
    };
    let ack = if a.acknowledged_at.is_some() {
        "  (acknowledged)"
    } else {
        ""
    };
    format!(
        "{}  {}  {:<18}  {}  {}{}",
        a.id,
        crate::access::format_time(a.created_at),
        a.kind.as_str(),
        who,
        what,
        ack
    )
}

// ---- A realistic fake patient ----

/// Common Finnish given names, by the sex a HETU's individual number encodes.
const WOMEN: &[&str] = &[
    "Aino",
    "Anna",
    "Anneli",
    "Eeva",
    "Elina",
    "Emilia",
    "Helena",
    "Hanna",
    "Johanna",
    "Kaarina",
    "Katja",
    "Kristiina",
    "Laura",
    "Leena",
    "Liisa",
    "Maria",
    "Marja",
    "Minna",
    "Noora",
    "Oona",
    "Päivi",
    "Riikka",
    "Sanna",
    "Satu",
    "Sofia",
    "Suvi",
    "Tiina",
    "Tuula",
    "Veera",
    "Venla",
];
const MEN: &[&str] = &[
    "Aleksi", "Antti", "Eero", "Eino", "Elias", "Heikki", "Ilkka", "Janne", "Jari", "Juha",
    "Juhani", "Jukka", "Kalle", "Lauri", "Markku", "Matti", "Mikko", "Olli", "Pekka", "Petri",
    "Sami", "Tapani", "Timo", "Tuomas", "Valtteri", "Veikko", "Ville", "Väinö", "Ari", "Onni",
];
/// Common Finnish surnames.
const SURNAMES: &[&str] = &[
    "Korhonen",
    "Virtanen",
    "Mäkinen",
    "Nieminen",
    "Mäkelä",
    "Hämäläinen",
    "Laine",
    "Heikkinen",
    "Koskinen",
    "Järvinen",
    "Lehtonen",
    "Lehtinen",
    "Saarinen",
    "Salminen",
    "Heinonen",
    "Niemi",
    "Heikkilä",
    "Kinnunen",
    "Salonen",
    "Turunen",
    "Salo",
    "Laitinen",
    "Tuominen",
    "Rantanen",
    "Karjalainen",
    "Jokinen",
    "Mattila",
    "Savolainen",
    "Lahtinen",
    "Ahonen",
];

const HETU_CHECK: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";

/// A uniformly random number below `n` (n > 0), from the OS generator.
fn below(n: u64) -> anyhow::Result<u64> {
    // Rejection sampling keeps it uniform.
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("OS random number generator: {e}"))?;
        let v = u64::from_le_bytes(b);
        if v < zone {
            return Ok(v % n);
        }
    }
}

fn pick<'a>(list: &[&'a str]) -> anyhow::Result<&'a str> {
    let i = usize::try_from(below(list.len() as u64)?)?;
    list.get(i).copied().context("empty name list")
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A HETU for a birth date and individual number, with its check character.
fn hetu_for(year: u64, month: u64, day: u64, individual: u64) -> anyhow::Result<String> {
    let century = match year {
        1900..=1999 => '-',
        2000..=2099 => 'A',
        _ => bail!("no century sign for {year}"),
    };
    let yy = year % 100;
    let number = ((day * 10_000 + month * 100 + yy) * 1000 + individual) % 31;
    let check = char::from(
        *HETU_CHECK
            .get(usize::try_from(number)?)
            .context("check character")?,
    );
    Ok(format!(
        "{day:02}{month:02}{yy:02}{century}{individual:03}{check}"
    ))
}

/// A plausible patient: a common name matching the sex the identity code encodes, a valid HETU
/// (individual number 002–899: the range of issued codes, not 900–999, which marks test and
/// temporary codes), its birth date, and usually a mobile number.
fn fake_patient() -> anyhow::Result<PatientDetails> {
    let year = 1945 + below(2007 - 1945 + 1)?;
    let month = 1 + below(12)?;
    let day = 1 + below(days_in_month(year, month))?;
    let individual = 2 + below(898)?;
    let hetu = hetu_for(year, month, day, individual)?;
    // Make sure it is one the client itself accepts.
    let parsed = Hetu::parse(&hetu).map_err(|e| anyhow::anyhow!("generated HETU: {e}"))?;
    let given = if individual % 2 == 1 { MEN } else { WOMEN };
    let mut name = pick(given)?.to_owned();
    if below(10)? < 4 {
        let second = pick(given)?;
        if second != name {
            name = format!("{name} {second}");
        }
    }
    let name = format!("{name} {}", pick(SURNAMES)?);
    let phone = if below(10)? < 8 {
        let prefix = ["040", "044", "045", "050"][usize::try_from(below(4)?)?];
        Some(format!(
            "{prefix} {:03} {:04}",
            below(1000)?,
            below(10_000)?
        ))
    } else {
        None
    };
    Ok(PatientDetails {
        name,
        hetu: Some(parsed.as_str().to_owned()),
        birth_date: Some(format!("{year:04}-{month:02}-{day:02}")),
        email: None,
        phone,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn fake_patients_are_valid_and_varied() {
        let mut names = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let p = fake_patient().unwrap();
            let hetu = Hetu::parse(p.hetu.as_deref().unwrap()).unwrap();
            assert!(!hetu.is_temporary());
            let (y, m, d) = hetu.birth_date();
            assert_eq!(
                p.birth_date.as_deref(),
                Some(format!("{y:04}-{m:02}-{d:02}").as_str())
            );
            // The client's own check accepts it unchanged.
            let checked = chart::check_details(p.clone()).unwrap();
            assert_eq!(checked, p);
            names.insert(p.name);
        }
        assert!(names.len() > 100, "names vary: {}", names.len());
    }

    #[test]
    fn hetu_check_characters_match_known_codes() {
        // The example codes of the Digital and Population Data Services Agency.
        assert_eq!(hetu_for(1952, 10, 13, 308).unwrap(), "131052-308T");
        assert_eq!(hetu_for(2000, 1, 1, 2).unwrap(), "010100A002H");
    }

    #[test]
    fn windows_parse() {
        assert_eq!(parse_window("600").unwrap(), 600);
        assert_eq!(parse_window("90s").unwrap(), 90);
        assert_eq!(parse_window("10m").unwrap(), 600);
        assert_eq!(parse_window("1h").unwrap(), 3600);
        for bad in ["", "0", "0m", "10d", "m", "-5"] {
            assert!(parse_window(bad).is_err(), "{bad:?}");
        }
    }
}
