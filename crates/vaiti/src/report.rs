//! `vaiti access-log report ENTRY --reason TEXT`: a patient flags an access they do not recognise;
//! `vaiti access-log reports`: the clinic's admins and auditors read what patients reported.

use vaiti_client::report::{self, OpenedReport};

use crate::access::format_time;
use crate::client::{Common, unlock};
use crate::records::{open, report_joins};

/// `vaiti access-log report`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// The entry's number (`#N` in `vaiti access-log`).
    pub(crate) entry: u64,
    /// Why you do not recognise it (at most 2,000 characters). Only the clinic's admins and
    /// auditors can read it: it is encrypted on this device.
    #[arg(long)]
    pub(crate) reason: String,
}

/// `vaiti access-log report ENTRY --reason TEXT`.
pub(crate) fn report(common: &Common, args: ReportArgs) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let filed = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(report::report(&s, args.entry, &args.reason).await?)
    })?;
    if common.json {
        println!("{}", serde_json::to_string(&filed)?);
    } else {
        println!("Report filed: {}", filed.report);
        println!(
            "Entry #{} is reported, and the report is itself in your access log (entry #{}). Your reason is encrypted on this device: {} of the clinic's admins and auditors can read it, nobody else.",
            filed.entry, filed.log_index, filed.readers
        );
    }
    Ok(())
}

/// `vaiti access-log reports`.
pub(crate) fn reports(common: &Common) -> anyhow::Result<()> {
    let (rt, api, me) = unlock(common)?;
    let opened = rt.block_on(async {
        let (s, joined) = open(common, &api, &me).await?;
        report_joins(common, &joined);
        anyhow::Ok(report::reports(&s).await?)
    })?;
    if common.json {
        println!("{}", serde_json::to_string(&opened)?);
        return Ok(());
    }
    println!(
        "{} patient reports, each verified: signed by the chart's patient, about the entry and chart it names.",
        opened.len()
    );
    for r in &opened {
        print_report(r);
    }
    Ok(())
}

fn print_report(r: &OpenedReport) {
    println!(
        "report {}  {}  chart {}  entry #{}  by {}",
        r.report,
        format_time(r.time),
        r.chart,
        r.entry,
        r.reporter_login
    );
    match &r.reason {
        Some(reason) => {
            for line in reason.lines() {
                println!("    {line}");
            }
        }
        None => println!(
            "    (not readable by you: you were not an admin or auditor of the clinic when it was filed)"
        ),
    }
}
