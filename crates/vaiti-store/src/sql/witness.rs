//! Witness co-signatures of a clinic's access log (schema 4, `log_cosignatures`): one row per
//! (clinic, witness, checkpoint size), the newest co-signature of that checkpoint by that witness.
//! The server verifies each co-signature before storing it; the store checks only that the
//! checkpoint it names is stored and that a newer co-signature is never replaced by an older one.

use vaiti_core::{ClinicId, LogCheckpoint, LogCosignature};

use super::{
    Arg, Exec, Row, SqlStore, counter, exists, id, insert, int, require_clinic, sealed, small,
    text, to_i64,
};
use crate::{Result, StoreError};

/// `Write::PutLogCosignature` inside the caller's transaction.
pub(super) async fn put_cosignature<C: Exec>(c: &mut C, cosignature: LogCosignature) -> Result<()> {
    require_clinic(c, cosignature.clinic).await?;
    let size = to_i64(cosignature.size)?;
    let signed_at = to_i64(cosignature.timestamp)?;
    let key_id = i64::from(cosignature.witness_key_id);
    if !exists(
        c,
        "SELECT 1 FROM log_checkpoints WHERE clinic_id = $1 AND size = $2",
        args![cosignature.clinic, size],
    )
    .await?
    {
        return Err(StoreError::NotFound("log checkpoint"));
    }
    let stored = c
        .fetch_optional(
            "SELECT signed_at FROM log_cosignatures \
             WHERE clinic_id = $1 AND witness_name = $2 AND witness_key_id = $3 AND size = $4",
            args![
                cosignature.clinic,
                cosignature.witness_name.as_str(),
                key_id,
                size
            ],
        )
        .await?;
    if let Some(row) = stored {
        if int(&row, "signed_at")? > signed_at {
            return Err(StoreError::Conflict(
                "a newer co-signature of this checkpoint is stored",
            ));
        }
        c.execute(
            "DELETE FROM log_cosignatures \
             WHERE clinic_id = $1 AND witness_name = $2 AND witness_key_id = $3 AND size = $4",
            args![
                cosignature.clinic,
                cosignature.witness_name.as_str(),
                key_id,
                size
            ],
        )
        .await?;
    }
    insert(
        c,
        "INSERT INTO log_cosignatures \
         (clinic_id, size, witness_name, witness_key_id, signed_at, line, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            cosignature.clinic,
            size,
            cosignature.witness_name,
            key_id,
            signed_at,
            cosignature.line,
            cosignature.created_at
        ],
        "co-signature exists",
    )
    .await
}

fn cosignature_row<R: Row>(r: &R) -> Result<LogCosignature> {
    Ok(LogCosignature {
        clinic: id(r, "clinic_id", ClinicId::from_slice)?,
        size: counter(r, "size")?,
        witness_name: text(r, "witness_name")?,
        witness_key_id: small(r, "witness_key_id")?,
        timestamp: counter(r, "signed_at")?,
        line: text(r, "line")?,
        created_at: int(r, "created_at")?,
    })
}

impl<DB> SqlStore<DB>
where
    DB: sqlx::Database,
    DB::Connection: Exec,
{
    pub(crate) async fn log_checkpoint(
        &self,
        clinic: ClinicId,
        size: u64,
    ) -> Result<Option<LogCheckpoint>> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                "SELECT clinic_id, size, note, created_at FROM log_checkpoints WHERE clinic_id = $1 AND size = $2",
                args![clinic, to_i64(size)?],
            )
            .await?;
        row.as_ref()
            .map(|r| {
                Ok(LogCheckpoint {
                    clinic: id(r, "clinic_id", ClinicId::from_slice)?,
                    size: counter(r, "size")?,
                    note: sealed(r, "note")?,
                    created_at: int(r, "created_at")?,
                })
            })
            .transpose()
    }

    pub(crate) async fn log_cosignatures(
        &self,
        clinic: ClinicId,
        size: u64,
    ) -> Result<Vec<LogCosignature>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                "SELECT clinic_id, size, witness_name, witness_key_id, signed_at, line, created_at \
                 FROM log_cosignatures WHERE clinic_id = $1 AND size = $2 \
                 ORDER BY witness_name, witness_key_id",
                args![clinic, to_i64(size)?],
            )
            .await?;
        rows.iter().map(cosignature_row).collect()
    }

    pub(crate) async fn latest_log_cosignature(
        &self,
        clinic: ClinicId,
        witness_name: &str,
        witness_key_id: u32,
    ) -> Result<Option<LogCosignature>> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                "SELECT clinic_id, size, witness_name, witness_key_id, signed_at, line, created_at \
                 FROM log_cosignatures \
                 WHERE clinic_id = $1 AND witness_name = $2 AND witness_key_id = $3 \
                 ORDER BY size DESC LIMIT 1",
                args![clinic, witness_name, i64::from(witness_key_id)],
            )
            .await?;
        row.as_ref().map(cosignature_row).transpose()
    }
}
