//! Detection alerts (schema 3): raising, acknowledging and listing them, for both backends.
//!
//! An alert row holds ids, a kind, counts and times; never plaintext and never a chart id (a
//! decoy chart must look like any other in a dump, so its alerts cannot name it).

use sqlx::Database;
use vaiti_core::{Alert, AlertId, AlertKind, ClinicId, UserId};

use super::{
    Arg, Exec, Row, SqlStore, counter, id, insert, int, malformed, opt_id, require_account,
    require_clinic, text, to_i64,
};
use crate::{Result, StoreError};

macro_rules! alert_columns {
    () => {
        "clinic_id, alert_id, kind, actor_id, event_count, window_s, log_index, created_at, \
         acknowledged_by, acknowledged_at"
    };
}

/// `Write::RaiseAlert`.
pub(super) async fn raise<C: Exec>(c: &mut C, alert: Alert) -> Result<()> {
    if alert.acknowledged_by.is_some() || alert.acknowledged_at.is_some() {
        return Err(StoreError::Conflict(
            "a new alert must not be acknowledged yet",
        ));
    }
    let count = to_i64(alert.count)?;
    let window = to_i64(alert.window_s)?;
    let log_index = alert.log_index.map(to_i64).transpose()?;
    require_clinic(c, alert.clinic).await?;
    if let Some(actor) = alert.actor {
        require_account(c, alert.clinic, actor).await?;
    }
    insert(
        c,
        "INSERT INTO alerts (clinic_id, alert_id, kind, actor_id, event_count, window_s, log_index, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![
            alert.clinic,
            alert.id.as_bytes(),
            alert.kind.as_str(),
            alert.actor,
            count,
            window,
            log_index,
            alert.created_at
        ],
        "alert exists",
    )
    .await
}

/// `Write::AcknowledgeAlert`: the first acknowledgement is kept.
pub(super) async fn acknowledge<C: Exec>(
    c: &mut C,
    clinic: ClinicId,
    alert: AlertId,
    by: UserId,
    at: i64,
) -> Result<()> {
    require_account(c, clinic, by).await?;
    let changed = c
        .execute(
            "UPDATE alerts SET acknowledged_by = COALESCE(acknowledged_by, $3), \
             acknowledged_at = COALESCE(acknowledged_at, $4) \
             WHERE clinic_id = $1 AND alert_id = $2",
            args![clinic, alert.as_bytes(), by, at],
        )
        .await?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound("alert"))
    }
}

impl<DB> SqlStore<DB>
where
    DB: Database,
    DB::Connection: Exec,
{
    pub(crate) async fn alerts(&self, clinic: ClinicId, limit: u32) -> Result<Vec<Alert>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                concat!(
                    "SELECT ",
                    alert_columns!(),
                    " FROM alerts WHERE clinic_id = $1 ORDER BY created_at DESC, ord DESC LIMIT $2"
                ),
                args![clinic, i64::from(limit)],
            )
            .await?;
        rows.iter().map(alert_row).collect()
    }
}

fn alert_row<R: Row>(r: &R) -> Result<Alert> {
    Ok(Alert {
        clinic: id(r, "clinic_id", ClinicId::from_slice)?,
        id: id(r, "alert_id", AlertId::from_slice)?,
        kind: AlertKind::parse(&text(r, "kind")?).ok_or_else(|| malformed("kind"))?,
        actor: opt_id(r, "actor_id", UserId::from_slice)?,
        count: counter(r, "event_count")?,
        window_s: counter(r, "window_s")?,
        log_index: r
            .int("log_index")?
            .map(|v| u64::try_from(v).map_err(|_| malformed("log_index")))
            .transpose()?,
        created_at: int(r, "created_at")?,
        acknowledged_by: opt_id(r, "acknowledged_by", UserId::from_slice)?,
        acknowledged_at: r.int("acknowledged_at")?,
    })
}
