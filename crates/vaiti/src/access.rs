//! `vaiti access-log` (who opened a chart, verified on this device) and `vaiti log verify`.

use anyhow::{Context as _, bail};
use vaiti_client::access_log::{self, AccessEntry};
use vaiti_core::{AccessPurpose, AccountKind, ChartId};

use crate::client::{Common, unlock};
use crate::records::{open, report_joins};

/// `vaiti access-log`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct AccessLogArgs {
    #[command(subcommand)]
    pub(crate) command: Option<AccessLogCommand>,
    /// The chart (auditors and admins); a patient's own chart when left out.
    chart: Option<ChartId>,
    /// Only entries by this staff member (email).
    #[arg(long)]
    actor: Option<String>,
    /// Only entries on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_parser = parse_date)]
    since: Option<i64>,
}

/// `vaiti access-log` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AccessLogCommand {
    /// Flag an entry of your chart's access log that you do not recognise.
    Report(crate::report::ReportArgs),
    /// Read what patients reported (admins and auditors).
    Reports,
}

/// Parses `YYYY-MM-DD` as the start of that day, UTC, in seconds since the Unix epoch.
pub(crate) fn parse_date(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not a date like 2026-11-29");
    let mut parts = s.trim().split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let (y, m, d): (i64, u32, u32) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d) * 86_400)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC` (the inverse of
/// [`days_from_civil`], H. Hinnant's `civil_from_days`).
pub(crate) fn format_time(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn who(e: &AccessEntry) -> String {
    match (&e.name, &e.login) {
        (Some(n), Some(l)) => format!("{n} <{l}>"),
        (None, Some(l)) => l.clone(),
        _ => match e.actor {
            Some(a) => format!("unknown user {a}"),
            None => "-".to_string(),
        },
    }
}

/// `vaiti access-log [CHART] [--actor EMAIL] [--since DATE]`.
pub(crate) fn access_log_cmd(common: &Common, args: AccessLogArgs) -> anyhow::Result<()> {
    match args.command {
        Some(AccessLogCommand::Report(r)) => return crate::report::report(common, r),
        Some(AccessLogCommand::Reports) => return crate::report::reports(common),
        None => {}
    }
    let (rt, api, me) = unlock(common)?;
    let entries = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        let chart = match (args.chart, me.account.kind) {
            (Some(c), _) => c,
            (None, AccountKind::Patient) => s
                .myself()?
                .certificate
                .chart
                .context("your certificate names no chart")?,
            (None, AccountKind::Staff) => {
                bail!("name the chart: `vaiti access-log CHART` (auditors and admins)")
            }
        };
        let purpose = common
            .purpose
            .unwrap_or(if me.account.kind == AccountKind::Patient {
                AccessPurpose::Treatment
            } else {
                AccessPurpose::Audit
            });
        anyhow::Ok(access_log::chart_log(&s, chart, purpose).await?)
    })?;
    let actor = args.actor.as_deref().map(|a| a.trim().to_lowercase());
    let shown: Vec<&AccessEntry> = entries
        .iter()
        .filter(|e| {
            actor
                .as_deref()
                .is_none_or(|a| e.login.as_deref().is_some_and(|l| l.to_lowercase() == a))
        })
        .filter(|e| args.since.is_none_or(|since| e.time >= since))
        .collect();
    if common.json {
        println!("{}", serde_json::to_string(&shown)?);
        return Ok(());
    }
    println!(
        "{} entries, verified: each is in the clinic's signed log, and the chart's history is complete up to this reading.",
        shown.len()
    );
    for e in shown {
        let roles = if e.roles.is_empty() {
            String::new()
        } else {
            format!(" ({})", e.roles.join(", "))
        };
        println!(
            "#{:<8} {}  {:<18} {:<14} {}{}",
            e.index,
            format_time(e.time),
            e.action,
            e.purpose,
            who(e),
            roles
        );
    }
    Ok(())
}

/// `vaiti log verify`.
pub(crate) fn log_verify(common: &Common) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let verified = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(access_log::verify_log(&s).await?)
    })?;
    if common.json {
        println!("{}", serde_json::to_string(&verified)?);
    } else if verified.recomputed {
        println!(
            "The access log is intact: all {} leaves recomputed to the signed checkpoint's root {}, and {} charts' histories are complete.",
            verified.size, verified.root, verified.charts
        );
    } else {
        println!(
            "The access log's checkpoint ({} leaves, root {}) is signed by the clinic's log key and extends every checkpoint this device saw. (Auditors and admins also recompute the whole tree.)",
            verified.size, verified.root
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_the_civil_calendar() {
        assert_eq!(parse_date("1970-01-01"), Ok(0));
        assert_eq!(parse_date("2000-03-01"), Ok(951_868_800));
        assert_eq!(format_time(951_868_800), "2000-03-01 00:00:00 UTC");
        assert_eq!(
            format_time(1_795_910_400 + 3_661),
            "2026-11-29 01:01:01 UTC"
        );
        assert_eq!(parse_date("2026-11-29"), Ok(1_795_910_400));
        assert_eq!(parse_date("2024-02-29"), Ok(1_709_164_800));
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-00-10",
            "26-1-1x",
            "2026-11",
            "",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }
}
