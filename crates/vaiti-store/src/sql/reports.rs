//! Patient reports (schema 5): a patient's sealed "I don't recognise this" about an entry of their
//! chart's access log, with the report key wrapped to each reader. Ids, an index, a time and
//! ciphertext only.

use std::collections::BTreeSet;

use sqlx::Database;
use vaiti_core::report::{PatientReport, ReportWrap};
use vaiti_core::{ChartId, ClinicId, KeyId, ObjectId, UserId};

use super::{
    Arg, Exec, Row, SqlStore, counter, exists, id, insert, int, require_account, require_chart,
    require_clinic, sealed, to_i64,
};
use crate::{Result, StoreError};

macro_rules! report_columns {
    () => {
        "clinic_id, report_id, chart_id, entry_idx, reporter_id, envelope, signature, created_at"
    };
}

/// `Write::AddReport` inside the caller's transaction.
pub(super) async fn add<C: Exec>(c: &mut C, report: PatientReport) -> Result<()> {
    let entry = to_i64(report.entry)?;
    require_clinic(c, report.clinic).await?;
    require_chart(c, report.clinic, report.chart).await?;
    require_account(c, report.clinic, report.reporter).await?;
    if !exists(
        c,
        "SELECT 1 FROM log_leaves WHERE clinic_id = $1 AND idx = $2 AND chart_id = $3",
        args![report.clinic, entry, report.chart],
    )
    .await?
    {
        return Err(StoreError::NotFound("access-log entry of the chart"));
    }
    let mut recipients = BTreeSet::new();
    for w in &report.wraps {
        if !recipients.insert(w.recipient) {
            return Err(StoreError::Conflict(
                "two wraps of a report name one reader",
            ));
        }
        require_account(c, report.clinic, w.recipient).await?;
    }
    insert(
        c,
        "INSERT INTO reports (clinic_id, report_id, chart_id, entry_idx, reporter_id, envelope, signature, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![
            report.clinic,
            report.id,
            report.chart,
            entry,
            report.reporter,
            report.envelope,
            report.signature,
            report.created_at
        ],
        "report exists",
    )
    .await?;
    for w in report.wraps {
        insert(
            c,
            "INSERT INTO report_wraps (clinic_id, report_id, recipient_id, recipient_key, wrap, signature) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                report.clinic,
                report.id,
                w.recipient,
                w.recipient_key,
                w.wrap,
                w.signature
            ],
            "report wrap exists",
        )
        .await?;
    }
    Ok(())
}

impl<DB> SqlStore<DB>
where
    DB: Database,
    DB::Connection: Exec,
{
    pub(crate) async fn reports(
        &self,
        clinic: ClinicId,
        reader: Option<UserId>,
    ) -> Result<Vec<PatientReport>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                concat!(
                    "SELECT ",
                    report_columns!(),
                    " FROM reports WHERE clinic_id = $1 ORDER BY created_at, ord"
                ),
                args![clinic],
            )
            .await?;
        let mut reports: Vec<PatientReport> = rows.iter().map(report_row).collect::<Result<_>>()?;
        let wraps = match reader {
            Some(user) => {
                c.fetch_all(
                    "SELECT report_id, recipient_id, recipient_key, wrap, signature \
                     FROM report_wraps WHERE clinic_id = $1 AND recipient_id = $2 \
                     ORDER BY report_id, recipient_id",
                    args![clinic, user],
                )
                .await?
            }
            None => {
                c.fetch_all(
                    "SELECT report_id, recipient_id, recipient_key, wrap, signature \
                     FROM report_wraps WHERE clinic_id = $1 ORDER BY report_id, recipient_id",
                    args![clinic],
                )
                .await?
            }
        };
        let by_id: std::collections::HashMap<ObjectId, usize> =
            reports.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        for row in &wraps {
            let report = id(row, "report_id", ObjectId::from_slice)?;
            let wrap = ReportWrap {
                recipient: id(row, "recipient_id", UserId::from_slice)?,
                recipient_key: id(row, "recipient_key", KeyId::from_slice)?,
                wrap: sealed(row, "wrap")?,
                signature: sealed(row, "signature")?,
            };
            if let Some(r) = by_id.get(&report).and_then(|&i| reports.get_mut(i)) {
                r.wraps.push(wrap);
            }
        }
        Ok(reports)
    }
}

fn report_row<R: Row>(r: &R) -> Result<PatientReport> {
    Ok(PatientReport {
        clinic: id(r, "clinic_id", ClinicId::from_slice)?,
        id: id(r, "report_id", ObjectId::from_slice)?,
        chart: id(r, "chart_id", ChartId::from_slice)?,
        entry: counter(r, "entry_idx")?,
        reporter: id(r, "reporter_id", UserId::from_slice)?,
        envelope: sealed(r, "envelope")?,
        signature: sealed(r, "signature")?,
        wraps: Vec::new(),
        created_at: int(r, "created_at")?,
    })
}
