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
use vaiti_client::detection::{self, ListedAlert};
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
        let chart = detection::create_decoy_chart(&s, &branch).await?;
        detection::register_decoy(&s, chart)
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
        let listed = detection::list_alerts(&s, args.limit).await?;
        let (alerts, names): (Vec<Alert>, Vec<Option<String>>) = listed
            .into_iter()
            .map(|ListedAlert { alert, actor_login }| (alert, actor_login))
            .unzip();
        anyhow::Ok((alerts, names))
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
        detection::acknowledge_alert(&s, args.alert).await?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

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
