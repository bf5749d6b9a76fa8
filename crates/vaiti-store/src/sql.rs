//! The store's behaviour, written once for both SQL backends.
//!
//! SQLite and PostgreSQL run the same statements here: the two schemas have the same tables and
//! columns, and both understand `$1`-style parameters (sqlx binds SQLite's `$N` by number). A
//! backend supplies only an [`Exec`] implementation for its connection type: how to run a statement
//! with [`Arg`]s, how to begin a write transaction, and the two statements whose SQL differs.
//! Keeping a single copy of every precondition means the backends cannot drift apart; the
//! conformance suite then checks both against the trait's specification.
//!
//! How preconditions are enforced inside [`SqlStore::apply`]'s transaction: explicit `SELECT`s
//! give precise `NotFound`/`Conflict` reasons, and the schema's primary keys, unique and foreign
//! keys are the backstop that still holds when two transactions race (a unique violation becomes
//! `Conflict`, a foreign-key violation `NotFound`). On SQLite every write transaction starts with
//! `BEGIN IMMEDIATE`, so writers are serialised; on PostgreSQL (READ COMMITTED) sequence
//! preconditions are guarded by primary keys and compare-and-set `UPDATE ... WHERE`s.

use std::future::Future;

use sqlx::error::ErrorKind;
use sqlx::{Database, Pool};
use vaiti_core::{
    Account, AccountKeys, AccountKind, AccountStatus, BranchId, Certificate, Chart, ChartId,
    ChartStateEntry, Clinic, ClinicId, DirectoryWrap, IdError, Invite, InviteId, InviteKind,
    InviteState, KeyId, KeyWrap, LogCheckpoint, LogLeaf, LogNode, ObjectId, Recipient,
    RecordVersion, Revocation, Role, Sealed, Session, UserId, WrapScope,
};

use crate::{PendingLogin, Result, StoreError, Write};

/// One bound parameter. NULLs keep their type because PostgreSQL needs one.
#[derive(Debug)]
pub(crate) enum Arg {
    /// An INTEGER / BIGINT.
    Int(Option<i64>),
    /// A BLOB / BYTEA.
    Bytes(Option<Vec<u8>>),
    /// A TEXT.
    Text(Option<String>),
}

macro_rules! arg_from {
    ($variant:ident: $($ty:ty => |$v:ident| $e:expr),* $(,)?) => {
        $(impl From<$ty> for Arg {
            fn from($v: $ty) -> Self {
                Arg::$variant($e)
            }
        })*
    };
}

arg_from!(Int: i64 => |v| Some(v), Option<i64> => |v| v);
arg_from!(Text: &str => |v| Some(v.to_owned()), String => |v| Some(v), Option<String> => |v| v);
arg_from!(Bytes:
    Vec<u8> => |v| Some(v),
    &[u8] => |v| Some(v.to_vec()),
    [u8; 32] => |v| Some(v.to_vec()),
    &[u8; 32] => |v| Some(v.to_vec()),
    &[u8; 16] => |v| Some(v.to_vec()),
    Sealed => |v| Some(v.0),
    Option<Sealed> => |v| v.map(|s| s.0),
    Option<Vec<u8>> => |v| v,
    ClinicId => |v| Some(v.as_bytes().to_vec()),
    UserId => |v| Some(v.as_bytes().to_vec()),
    ChartId => |v| Some(v.as_bytes().to_vec()),
    BranchId => |v| Some(v.as_bytes().to_vec()),
    InviteId => |v| Some(v.as_bytes().to_vec()),
    ObjectId => |v| Some(v.as_bytes().to_vec()),
    KeyId => |v| Some(v.as_bytes().to_vec()),
    Option<UserId> => |v| v.map(|id| id.as_bytes().to_vec()),
    Option<ChartId> => |v| v.map(|id| id.as_bytes().to_vec()),
    Option<BranchId> => |v| v.map(|id| id.as_bytes().to_vec()),
);

/// `args![a, b, c]`: a statement's parameters, `$1`, `$2`, `$3`.
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        vec![$(Arg::from($arg)),*]
    };
}

/// A backend's connection: runs statements with [`Arg`]s. Errors stay `sqlx::Error` so this
/// module can tell unique and foreign-key violations apart from other failures.
pub(crate) trait Exec: Send {
    /// The backend's row type.
    type Row: Row + Send + Sync;

    /// Starts a write transaction.
    const BEGIN: &'static str;
    /// `latest_records` (`$1` clinic, `$2` chart, `$3` the kinds as a JSON array of integers),
    /// built with [`latest_records!`] around the backend's way of reading a JSON array.
    const LATEST_RECORDS: &'static str;
    /// Reads an account's `status` (`$1` clinic, `$2` user) and keeps it from changing until the
    /// transaction ends.
    const LOCK_ACCOUNT_STATUS: &'static str;

    /// Runs a statement; returns how many rows it changed.
    fn execute(
        &mut self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
    /// Runs a query for at most one row.
    fn fetch_optional(
        &mut self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send;
    /// Runs a query for all its rows.
    fn fetch_all(
        &mut self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send;
}

/// A backend's row: typed column access by name; `None` is SQL NULL.
pub(crate) trait Row {
    fn int(&self, column: &'static str) -> Result<Option<i64>, sqlx::Error>;
    fn bytes(&self, column: &'static str) -> Result<Option<Vec<u8>>, sqlx::Error>;
    fn text(&self, column: &'static str) -> Result<Option<String>, sqlx::Error>;
}

/// Implements [`Exec`] for one backend's connection type, binding [`Arg`]s with sqlx.
macro_rules! impl_exec {
    ($conn:ty, $db:ty, $row:ty, begin: $begin:expr, latest_records: $latest:expr, lock_account_status: $lock:expr $(,)?) => {
        impl $crate::sql::Exec for $conn {
            type Row = $row;
            const BEGIN: &'static str = $begin;
            const LATEST_RECORDS: &'static str = $latest;
            const LOCK_ACCOUNT_STATUS: &'static str = $lock;

            async fn execute(
                &mut self,
                sql: &'static str,
                args: Vec<$crate::sql::Arg>,
            ) -> Result<u64, sqlx::Error> {
                Ok(bind(sqlx::query(sql), args)
                    .execute(&mut *self)
                    .await?
                    .rows_affected())
            }

            async fn fetch_optional(
                &mut self,
                sql: &'static str,
                args: Vec<$crate::sql::Arg>,
            ) -> Result<Option<$row>, sqlx::Error> {
                bind(sqlx::query(sql), args)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn fetch_all(
                &mut self,
                sql: &'static str,
                args: Vec<$crate::sql::Arg>,
            ) -> Result<Vec<$row>, sqlx::Error> {
                bind(sqlx::query(sql), args).fetch_all(&mut *self).await
            }
        }

        fn bind(
            mut query: sqlx::query::Query<'static, $db, <$db as sqlx::Database>::Arguments>,
            args: Vec<$crate::sql::Arg>,
        ) -> sqlx::query::Query<'static, $db, <$db as sqlx::Database>::Arguments> {
            for arg in args {
                query = match arg {
                    $crate::sql::Arg::Int(v) => query.bind(v),
                    $crate::sql::Arg::Bytes(v) => query.bind(v),
                    $crate::sql::Arg::Text(v) => query.bind(v),
                };
            }
            query
        }

        impl $crate::sql::Row for $row {
            fn int(&self, column: &'static str) -> Result<Option<i64>, sqlx::Error> {
                sqlx::Row::try_get(self, column)
            }
            fn bytes(&self, column: &'static str) -> Result<Option<Vec<u8>>, sqlx::Error> {
                sqlx::Row::try_get(self, column)
            }
            fn text(&self, column: &'static str) -> Result<Option<String>, sqlx::Error> {
                sqlx::Row::try_get(self, column)
            }
        }
    };
}
pub(crate) use impl_exec;

/// Implements [`crate::Store`] for a backend type whose `inner` field is a [`SqlStore`].
macro_rules! forward_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::Store for $store {
            async fn apply(&self, writes: Vec<$crate::Write>) -> $crate::Result<()> {
                self.inner.apply(writes).await
            }
            async fn server_secret(&self, name: &str) -> $crate::Result<Option<Vec<u8>>> {
                self.inner.server_secret(name).await
            }
            async fn init_server_secret(
                &self,
                name: &str,
                value: &[u8],
            ) -> $crate::Result<Vec<u8>> {
                self.inner.init_server_secret(name, value).await
            }
            async fn clinic(
                &self,
                id: vaiti_core::ClinicId,
            ) -> $crate::Result<Option<vaiti_core::Clinic>> {
                self.inner.clinic(id).await
            }
            async fn clinic_ids(&self) -> $crate::Result<Vec<vaiti_core::ClinicId>> {
                self.inner.clinic_ids().await
            }
            async fn account(
                &self,
                clinic: vaiti_core::ClinicId,
                user: vaiti_core::UserId,
            ) -> $crate::Result<Option<vaiti_core::Account>> {
                self.inner.account(clinic, user).await
            }
            async fn account_by_login(
                &self,
                clinic: vaiti_core::ClinicId,
                login: &str,
            ) -> $crate::Result<Option<vaiti_core::Account>> {
                self.inner.account_by_login(clinic, login).await
            }
            async fn accounts(
                &self,
                clinic: vaiti_core::ClinicId,
            ) -> $crate::Result<Vec<vaiti_core::Account>> {
                self.inner.accounts(clinic).await
            }
            async fn account_keys(
                &self,
                clinic: vaiti_core::ClinicId,
                user: vaiti_core::UserId,
            ) -> $crate::Result<Option<vaiti_core::AccountKeys>> {
                self.inner.account_keys(clinic, user).await
            }
            async fn opaque_record(
                &self,
                clinic: vaiti_core::ClinicId,
                user: vaiti_core::UserId,
            ) -> $crate::Result<Option<Vec<u8>>> {
                self.inner.opaque_record(clinic, user).await
            }
            async fn create_session(&self, session: &vaiti_core::Session) -> $crate::Result<()> {
                self.inner.create_session(session).await
            }
            async fn session(
                &self,
                token_hash: &[u8; 32],
                now: i64,
            ) -> $crate::Result<Option<vaiti_core::Session>> {
                self.inner.session(token_hash, now).await
            }
            async fn delete_session(&self, token_hash: &[u8; 32]) -> $crate::Result<()> {
                self.inner.delete_session(token_hash).await
            }
            async fn delete_expired_sessions(&self, now: i64) -> $crate::Result<u64> {
                self.inner.delete_expired_sessions(now).await
            }
            async fn put_pending_login(&self, login: &$crate::PendingLogin) -> $crate::Result<()> {
                self.inner.put_pending_login(login).await
            }
            async fn take_pending_login(
                &self,
                clinic: vaiti_core::ClinicId,
                id: &[u8; 16],
                now: i64,
            ) -> $crate::Result<Option<$crate::PendingLogin>> {
                self.inner.take_pending_login(clinic, id, now).await
            }
            async fn delete_expired_pending_logins(&self, now: i64) -> $crate::Result<u64> {
                self.inner.delete_expired_pending_logins(now).await
            }
            async fn certificates(
                &self,
                clinic: vaiti_core::ClinicId,
            ) -> $crate::Result<Vec<vaiti_core::Certificate>> {
                self.inner.certificates(clinic).await
            }
            async fn latest_certificate(
                &self,
                clinic: vaiti_core::ClinicId,
                user: vaiti_core::UserId,
            ) -> $crate::Result<Option<vaiti_core::Certificate>> {
                self.inner.latest_certificate(clinic, user).await
            }
            async fn invite(
                &self,
                clinic: vaiti_core::ClinicId,
                id: vaiti_core::InviteId,
            ) -> $crate::Result<Option<vaiti_core::Invite>> {
                self.inner.invite(clinic, id).await
            }
            async fn invites_by(
                &self,
                clinic: vaiti_core::ClinicId,
                inviter: vaiti_core::UserId,
                position: u64,
                limit: u32,
            ) -> $crate::Result<Vec<vaiti_core::Invite>> {
                self.inner
                    .invites_by(clinic, inviter, position, limit)
                    .await
            }
            async fn invite_count_by(
                &self,
                clinic: vaiti_core::ClinicId,
                inviter: vaiti_core::UserId,
            ) -> $crate::Result<u64> {
                self.inner.invite_count_by(clinic, inviter).await
            }
            async fn bound_patient_invites(
                &self,
                clinic: vaiti_core::ClinicId,
                position: u64,
                limit: u32,
            ) -> $crate::Result<Vec<vaiti_core::Invite>> {
                self.inner
                    .bound_patient_invites(clinic, position, limit)
                    .await
            }
            async fn chart(
                &self,
                clinic: vaiti_core::ClinicId,
                id: vaiti_core::ChartId,
            ) -> $crate::Result<Option<vaiti_core::Chart>> {
                self.inner.chart(clinic, id).await
            }
            async fn charts_in_branch(
                &self,
                clinic: vaiti_core::ClinicId,
                branch: vaiti_core::BranchId,
                position: u64,
                limit: u32,
            ) -> $crate::Result<Vec<vaiti_core::Chart>> {
                self.inner
                    .charts_in_branch(clinic, branch, position, limit)
                    .await
            }
            async fn charts_wrapped_to(
                &self,
                clinic: vaiti_core::ClinicId,
                user: vaiti_core::UserId,
                position: u64,
                limit: u32,
            ) -> $crate::Result<Vec<vaiti_core::ChartId>> {
                self.inner
                    .charts_wrapped_to(clinic, user, position, limit)
                    .await
            }
            async fn chart_states(
                &self,
                clinic: vaiti_core::ClinicId,
                chart: vaiti_core::ChartId,
            ) -> $crate::Result<Vec<vaiti_core::ChartStateEntry>> {
                self.inner.chart_states(clinic, chart).await
            }
            async fn key_wraps(
                &self,
                clinic: vaiti_core::ClinicId,
                recipient: vaiti_core::Recipient,
                chart: Option<vaiti_core::ChartId>,
            ) -> $crate::Result<Vec<vaiti_core::KeyWrap>> {
                self.inner.key_wraps(clinic, recipient, chart).await
            }
            async fn directory_wraps(
                &self,
                clinic: vaiti_core::ClinicId,
                branch: vaiti_core::BranchId,
                epoch: u32,
            ) -> $crate::Result<Vec<vaiti_core::DirectoryWrap>> {
                self.inner.directory_wraps(clinic, branch, epoch).await
            }
            async fn directory_wrap(
                &self,
                clinic: vaiti_core::ClinicId,
                chart: vaiti_core::ChartId,
            ) -> $crate::Result<Option<vaiti_core::DirectoryWrap>> {
                self.inner.directory_wrap(clinic, chart).await
            }
            async fn latest_records(
                &self,
                clinic: vaiti_core::ClinicId,
                chart: vaiti_core::ChartId,
                kinds: &[u8],
            ) -> $crate::Result<Vec<vaiti_core::RecordVersion>> {
                self.inner.latest_records(clinic, chart, kinds).await
            }
            async fn record_versions(
                &self,
                clinic: vaiti_core::ClinicId,
                object: vaiti_core::ObjectId,
            ) -> $crate::Result<Vec<vaiti_core::RecordVersion>> {
                self.inner.record_versions(clinic, object).await
            }
            async fn log_size(&self, clinic: vaiti_core::ClinicId) -> $crate::Result<u64> {
                self.inner.log_size(clinic).await
            }
            async fn log_nodes(
                &self,
                clinic: vaiti_core::ClinicId,
                nodes: &[(u8, u64)],
            ) -> $crate::Result<Vec<Option<[u8; 32]>>> {
                self.inner.log_nodes(clinic, nodes).await
            }
            async fn log_leaves(
                &self,
                clinic: vaiti_core::ClinicId,
                start: u64,
                end: u64,
            ) -> $crate::Result<Vec<vaiti_core::LogLeaf>> {
                self.inner.log_leaves(clinic, start, end).await
            }
            async fn chart_log_leaves(
                &self,
                clinic: vaiti_core::ClinicId,
                chart: vaiti_core::ChartId,
                before: u64,
                limit: u32,
            ) -> $crate::Result<Vec<vaiti_core::LogLeaf>> {
                self.inner
                    .chart_log_leaves(clinic, chart, before, limit)
                    .await
            }
            async fn last_chart_log_leaf(
                &self,
                clinic: vaiti_core::ClinicId,
                chart: vaiti_core::ChartId,
            ) -> $crate::Result<Option<vaiti_core::LogLeaf>> {
                self.inner.last_chart_log_leaf(clinic, chart).await
            }
            async fn last_log_leaf_with_action(
                &self,
                clinic: vaiti_core::ClinicId,
                action: u8,
            ) -> $crate::Result<Option<vaiti_core::LogLeaf>> {
                self.inner.last_log_leaf_with_action(clinic, action).await
            }
            async fn latest_log_checkpoint(
                &self,
                clinic: vaiti_core::ClinicId,
            ) -> $crate::Result<Option<vaiti_core::LogCheckpoint>> {
                self.inner.latest_log_checkpoint(clinic).await
            }
            async fn log_checkpoint(
                &self,
                clinic: vaiti_core::ClinicId,
                size: u64,
            ) -> $crate::Result<Option<vaiti_core::LogCheckpoint>> {
                self.inner.log_checkpoint(clinic, size).await
            }
            async fn log_cosignatures(
                &self,
                clinic: vaiti_core::ClinicId,
                size: u64,
            ) -> $crate::Result<Vec<vaiti_core::LogCosignature>> {
                self.inner.log_cosignatures(clinic, size).await
            }
            async fn latest_log_cosignature(
                &self,
                clinic: vaiti_core::ClinicId,
                witness_name: &str,
                witness_key_id: u32,
            ) -> $crate::Result<Option<vaiti_core::LogCosignature>> {
                self.inner
                    .latest_log_cosignature(clinic, witness_name, witness_key_id)
                    .await
            }
            async fn alerts(
                &self,
                clinic: vaiti_core::ClinicId,
                limit: u32,
            ) -> $crate::Result<Vec<vaiti_core::Alert>> {
                self.inner.alerts(clinic, limit).await
            }
            async fn reports(
                &self,
                clinic: vaiti_core::ClinicId,
                reader: Option<vaiti_core::UserId>,
            ) -> $crate::Result<Vec<vaiti_core::report::PatientReport>> {
                self.inner.reports(clinic, reader).await
            }
        }
    };
}
pub(crate) use forward_store;

// Column lists, as macros so `concat!` can build `&'static str` statements from them.
macro_rules! clinic_columns {
    () => {
        "clinic_id, manifest, manifest_signature, manifest_version, created_at"
    };
}
macro_rules! account_columns {
    () => {
        "clinic_id, user_id, kind, login, display_name, roles, branches, status, created_at"
    };
}
macro_rules! account_keys_columns {
    () => {
        "wrapped_account_key, wrapped_decryption_key, wrapped_signing_key, wrapped_cache_key, root_pin, \
         encryption_public_key, verifying_key"
    };
}
macro_rules! session_columns {
    () => {
        "token_hash, clinic_id, user_id, created_at, expires_at"
    };
}
macro_rules! pending_login_columns {
    () => {
        "login_id, clinic_id, user_id, state, expires_at"
    };
}
macro_rules! certificate_columns {
    () => {
        "clinic_id, user_id, serial, body, signature, issuer_key, expires_at, revoked_at, \
         revocation, revocation_signature"
    };
}
macro_rules! invite_columns {
    () => {
        "clinic_id, invite_id, kind, inviter_id, chart_id, body, signature, expires_at, state, invitee_id, binding, \
         created_at"
    };
}
macro_rules! chart_columns {
    () => {
        "clinic_id, chart_id, branch_id, created_by, created_at"
    };
}
macro_rules! chart_state_columns {
    () => {
        "chart_id, seq, body, signature, author_id, hash, created_at"
    };
}
macro_rules! key_wrap_columns {
    () => {
        "clinic_id, scope, chart_id, branch_id, tier, epoch, recipient, recipient_user, recipient_key, wrap, signature, \
         wrapped_by, created_at"
    };
}
macro_rules! directory_wrap_columns {
    () => {
        "clinic_id, chart_id, branch_id, epoch, envelope"
    };
}
macro_rules! record_columns {
    () => {
        "clinic_id, object_id, version, kind, chart_id, tier, epoch, author_id, author_key, created_at, \
         prev_version_hash, chart_state_hash, wrapped_key, envelope, signature"
    };
    (r) => {
        "r.clinic_id, r.object_id, r.version, r.kind, r.chart_id, r.tier, r.epoch, r.author_id, r.author_key, \
         r.created_at, r.prev_version_hash, r.chart_state_hash, r.wrapped_key, r.envelope, r.signature"
    };
}
pub(crate) use record_columns;

/// [`Exec::LATEST_RECORDS`] with a backend's `kind IN (...)` list for the JSON array `$3`:
/// the latest version of every object of the chart, oldest object (first version) first.
macro_rules! latest_records {
    ($kinds_in_json_array:literal) => {
        concat!(
            "SELECT ",
            $crate::sql::record_columns!(r),
            " FROM record_versions r \
             JOIN record_versions f \
               ON f.clinic_id = r.clinic_id AND f.object_id = r.object_id AND f.version = 1 \
             WHERE r.clinic_id = $1 AND r.chart_id = $2 \
               AND r.kind IN ",
            $kinds_in_json_array,
            " AND NOT EXISTS (SELECT 1 FROM record_versions n \
                               WHERE n.clinic_id = r.clinic_id AND n.object_id = r.object_id \
                                 AND n.version = r.version + 1) \
             ORDER BY f.created_at, f.ord"
        )
    };
}
pub(crate) use latest_records;

// Detection alerts live in their own file; declared after the macros above, which it uses.
mod alerts;
// Witness co-signatures of the access log, likewise.
mod witness;
// Patient reports, likewise.
mod reports;

const TOO_LARGE: &str = "number is larger than the store can hold";
const NEXT_SEQ: &str = "chart state seq is not the next one";
const NEXT_SERIAL: &str = "certificate serial is not the next one";
const NEXT_VERSION: &str = "record version is not the next one";

/// A u64 counter as stored: values above `i64::MAX` are refused, never wrapped.
/// A position or bound past every row there can be, as SQL's signed integer: beyond
/// `i64::MAX` nothing is stored, so such a value is clamped rather than refused.
fn offset(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_i64(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::Conflict(TOO_LARGE))
}

/// `last + 1` for a sequence, as the value the next write must carry.
fn next(last: i64) -> Result<u64> {
    last.checked_add(1)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or(StoreError::Conflict(TOO_LARGE))
}

/// Maps a failed write: unique → `Conflict(on_duplicate)`, foreign key → `NotFound`.
fn constraint_error(e: sqlx::Error, on_duplicate: &'static str) -> StoreError {
    match e.as_database_error().map(|d| d.kind()) {
        Some(ErrorKind::UniqueViolation) => StoreError::Conflict(on_duplicate),
        Some(ErrorKind::ForeignKeyViolation) => {
            StoreError::NotFound("a referenced clinic, account or chart")
        }
        _ => StoreError::from(e),
    }
}

async fn insert<C: Exec>(
    c: &mut C,
    sql: &'static str,
    args: Vec<Arg>,
    on_duplicate: &'static str,
) -> Result<()> {
    c.execute(sql, args)
        .await
        .map(|_| ())
        .map_err(|e| constraint_error(e, on_duplicate))
}

async fn exists<C: Exec>(c: &mut C, sql: &'static str, args: Vec<Arg>) -> Result<bool> {
    Ok(c.fetch_optional(sql, args).await?.is_some())
}

async fn require_clinic<C: Exec>(c: &mut C, clinic: ClinicId) -> Result<()> {
    if exists(
        c,
        "SELECT 1 FROM clinics WHERE clinic_id = $1",
        args![clinic],
    )
    .await?
    {
        Ok(())
    } else {
        Err(StoreError::NotFound("clinic"))
    }
}

async fn require_account<C: Exec>(c: &mut C, clinic: ClinicId, user: UserId) -> Result<()> {
    if exists(
        c,
        "SELECT 1 FROM accounts WHERE clinic_id = $1 AND user_id = $2",
        args![clinic, user],
    )
    .await?
    {
        Ok(())
    } else {
        Err(StoreError::NotFound("account"))
    }
}

async fn require_chart<C: Exec>(c: &mut C, clinic: ClinicId, chart: ChartId) -> Result<()> {
    if exists(
        c,
        "SELECT 1 FROM charts WHERE clinic_id = $1 AND chart_id = $2",
        args![clinic, chart],
    )
    .await?
    {
        Ok(())
    } else {
        Err(StoreError::NotFound("chart"))
    }
}

async fn require_invite<C: Exec>(c: &mut C, clinic: ClinicId, id: InviteId) -> Result<()> {
    if exists(
        c,
        "SELECT 1 FROM invites WHERE clinic_id = $1 AND invite_id = $2",
        args![clinic, id],
    )
    .await?
    {
        Ok(())
    } else {
        Err(StoreError::NotFound("invite"))
    }
}

/// The highest value of a sequence column (`last` in `sql`), 0 when there is none.
async fn last<C: Exec>(c: &mut C, sql: &'static str, args: Vec<Arg>) -> Result<i64> {
    match c.fetch_optional(sql, args).await? {
        Some(row) => int(&row, "last"),
        None => Ok(0),
    }
}

/// Runs one write inside the caller's transaction.
async fn apply_one<C: Exec>(c: &mut C, write: Write) -> Result<()> {
    match write {
        Write::CreateClinic(clinic) => {
            let version = to_i64(clinic.manifest_version)?;
            insert(
                c,
                "INSERT INTO clinics (clinic_id, manifest, manifest_signature, manifest_version, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                args![clinic.id, clinic.manifest, clinic.manifest_signature, version, clinic.created_at],
                "clinic exists",
            )
            .await
        }
        Write::UpdateManifest {
            clinic,
            expected_version,
            manifest,
            signature,
        } => {
            let expected = to_i64(expected_version)?;
            let new = to_i64(next(expected)?)?;
            let changed = c
                .execute(
                    "UPDATE clinics SET manifest = $3, manifest_signature = $4, manifest_version = $5 \
                     WHERE clinic_id = $1 AND manifest_version = $2",
                    args![clinic, expected, manifest, signature, new],
                )
                .await?;
            if changed == 1 {
                Ok(())
            } else {
                require_clinic(c, clinic).await?;
                Err(StoreError::Conflict(
                    "manifest version is not the expected one",
                ))
            }
        }
        Write::CreateAccount {
            account,
            keys,
            opaque_record,
        } => create_account(c, account, keys, opaque_record).await,
        Write::UpdateCredentials {
            clinic,
            user,
            opaque_record,
            wrapped_account_key,
        } => {
            require_account(c, clinic, user).await?;
            c.execute(
                "UPDATE opaque_records SET record = $3 WHERE clinic_id = $1 AND user_id = $2",
                args![clinic, user, opaque_record],
            )
            .await?;
            c.execute(
                "UPDATE account_keys SET wrapped_account_key = $3 WHERE clinic_id = $1 AND user_id = $2",
                args![clinic, user, wrapped_account_key],
            )
            .await?;
            // Every session was opened with the old password: all end.
            c.execute(
                "DELETE FROM sessions WHERE clinic_id = $1 AND user_id = $2",
                args![clinic, user],
            )
            .await?;
            Ok(())
        }
        Write::SetAccountStatus {
            clinic,
            user,
            status,
        } => {
            let changed = c
                .execute(
                    "UPDATE accounts SET status = $3 WHERE clinic_id = $1 AND user_id = $2",
                    args![clinic, user, account_status_name(status)],
                )
                .await?;
            if changed != 1 {
                return Err(StoreError::NotFound("account"));
            }
            if status == AccountStatus::Revoked {
                c.execute(
                    "DELETE FROM sessions WHERE clinic_id = $1 AND user_id = $2",
                    args![clinic, user],
                )
                .await?;
            }
            Ok(())
        }
        Write::PutCertificate(cert) => {
            let serial = to_i64(cert.serial)?;
            require_account(c, cert.clinic, cert.user).await?;
            let last = last(
                c,
                "SELECT COALESCE(MAX(serial), 0) AS last FROM certificates WHERE clinic_id = $1 AND user_id = $2",
                args![cert.clinic, cert.user],
            )
            .await?;
            if cert.serial != next(last)? {
                return Err(StoreError::Conflict(NEXT_SERIAL));
            }
            insert(
                c,
                "INSERT INTO certificates \
                 (clinic_id, user_id, serial, body, signature, issuer_key, expires_at, revoked_at, \
                  revocation, revocation_signature) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                args![
                    cert.clinic,
                    cert.user,
                    serial,
                    cert.body,
                    cert.signature,
                    cert.issuer_key,
                    cert.expires_at,
                    cert.revoked_at,
                    cert.revocation.as_ref().map(|r| r.body.clone()),
                    cert.revocation.map(|r| r.signature)
                ],
                NEXT_SERIAL,
            )
            .await
        }
        Write::RevokeCertificate {
            clinic,
            user,
            serial,
            at,
            revocation,
        } => {
            let serial = to_i64(serial)?;
            let (body, signature) =
                revocation.map_or((None, None), |r| (Some(r.body.0), Some(r.signature.0)));
            // The first revocation stays, with its statement: revoking again changes nothing.
            let changed = c
                .execute(
                    "UPDATE certificates SET \
                     revocation = CASE WHEN revoked_at IS NULL THEN $5 ELSE revocation END, \
                     revocation_signature = \
                       CASE WHEN revoked_at IS NULL THEN $6 ELSE revocation_signature END, \
                     revoked_at = COALESCE(revoked_at, $4) \
                     WHERE clinic_id = $1 AND user_id = $2 AND serial = $3",
                    args![clinic, user, serial, at, body, signature],
                )
                .await?;
            if changed == 1 {
                Ok(())
            } else {
                Err(StoreError::NotFound("certificate"))
            }
        }
        Write::CreateInvite(invite) => create_invite(c, invite).await,
        Write::BindInvite {
            clinic,
            id,
            invitee,
            binding,
            now,
        } => {
            require_invite(c, clinic, id).await?;
            require_account(c, clinic, invitee).await?;
            // Single use and never after expiry, decided atomically by the row update itself.
            let changed = c
                .execute(
                    "UPDATE invites SET state = 'bound', invitee_id = $3, binding = $4 \
                     WHERE clinic_id = $1 AND invite_id = $2 AND state = 'open' AND expires_at > $5",
                    args![clinic, id, invitee, binding, now],
                )
                .await
                .map_err(|e| constraint_error(e, "invite is not open or has expired"))?;
            if changed == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict("invite is not open or has expired"))
            }
        }
        Write::CompleteInvite { clinic, id } => {
            require_invite(c, clinic, id).await?;
            let changed = c
                .execute(
                    "UPDATE invites SET state = 'completed' WHERE clinic_id = $1 AND invite_id = $2 AND state = 'bound'",
                    args![clinic, id],
                )
                .await?;
            if changed == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict("invite is not bound"))
            }
        }
        Write::RevokeInvite { clinic, id } => {
            require_invite(c, clinic, id).await?;
            let changed = c
                .execute(
                    "UPDATE invites SET state = 'revoked' \
                     WHERE clinic_id = $1 AND invite_id = $2 AND state IN ('open', 'bound')",
                    args![clinic, id],
                )
                .await?;
            if changed == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict(
                    "invite is already completed or revoked",
                ))
            }
        }
        Write::CreateChart(chart) => {
            require_clinic(c, chart.clinic).await?;
            require_account(c, chart.clinic, chart.created_by).await?;
            insert(
                c,
                "INSERT INTO charts (clinic_id, chart_id, branch_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
                args![chart.clinic, chart.id, chart.branch, chart.created_by, chart.created_at],
                "chart exists",
            )
            .await
        }
        Write::AppendChartState { clinic, entry } => {
            let seq = to_i64(entry.seq)?;
            require_clinic(c, clinic).await?;
            require_chart(c, clinic, entry.chart).await?;
            require_account(c, clinic, entry.author).await?;
            let last = last(
                c,
                "SELECT COALESCE(MAX(seq), 0) AS last FROM chart_states WHERE clinic_id = $1 AND chart_id = $2",
                args![clinic, entry.chart],
            )
            .await?;
            if entry.seq != next(last)? {
                return Err(StoreError::Conflict(NEXT_SEQ));
            }
            insert(
                c,
                "INSERT INTO chart_states (clinic_id, chart_id, seq, body, signature, author_id, hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                args![clinic, entry.chart, seq, entry.body, entry.signature, entry.author, entry.hash, entry.created_at],
                NEXT_SEQ,
            )
            .await
        }
        Write::PutKeyWrap(wrap) => put_key_wrap(c, wrap).await,
        Write::PutDirectoryWrap(wrap) => {
            require_clinic(c, wrap.clinic).await?;
            require_chart(c, wrap.clinic, wrap.chart).await?;
            insert(
                c,
                "INSERT INTO directory_wraps (clinic_id, chart_id, branch_id, epoch, envelope) VALUES ($1, $2, $3, $4, $5)",
                args![wrap.clinic, wrap.chart, wrap.branch, i64::from(wrap.epoch), wrap.envelope],
                "directory wrap exists for this chart and epoch",
            )
            .await
        }
        Write::PutRecordVersion(record) => put_record_version(c, record).await,
        Write::AppendLogLeaf { leaf, nodes } => append_log_leaf(c, leaf, nodes).await,
        Write::PutLogCheckpoint(checkpoint) => {
            require_clinic(c, checkpoint.clinic).await?;
            let size = to_i64(checkpoint.size)?;
            if size > log_size_in(c, checkpoint.clinic).await? {
                return Err(StoreError::Conflict("checkpoint is larger than the log"));
            }
            c.execute(
                "DELETE FROM log_checkpoints WHERE clinic_id = $1 AND size = $2",
                args![checkpoint.clinic, size],
            )
            .await?;
            insert(
                c,
                "INSERT INTO log_checkpoints (clinic_id, size, note, created_at) VALUES ($1, $2, $3, $4)",
                args![checkpoint.clinic, size, checkpoint.note, checkpoint.created_at],
                "checkpoint exists",
            )
            .await
        }
        Write::PutLogCosignature(cosignature) => witness::put_cosignature(c, cosignature).await,
        Write::RaiseAlert(alert) => alerts::raise(c, alert).await,
        Write::AcknowledgeAlert { clinic, id, by, at } => {
            alerts::acknowledge(c, clinic, id, by, at).await
        }
        Write::AddReport(report) => reports::add(c, report).await,
        Write::EndSessions { clinic, user } => {
            require_account(c, clinic, user).await?;
            c.execute(
                "DELETE FROM sessions WHERE clinic_id = $1 AND user_id = $2",
                args![clinic, user],
            )
            .await?;
            Ok(())
        }
    }
}

async fn create_account<C: Exec>(
    c: &mut C,
    account: Account,
    keys: AccountKeys,
    opaque_record: Vec<u8>,
) -> Result<()> {
    let (clinic, user) = (account.clinic, account.id);
    require_clinic(c, clinic).await?;
    if exists(
        c,
        "SELECT 1 FROM accounts WHERE clinic_id = $1 AND user_id = $2",
        args![clinic, user],
    )
    .await?
    {
        return Err(StoreError::Conflict("account exists"));
    }
    if exists(
        c,
        "SELECT 1 FROM accounts WHERE clinic_id = $1 AND login = $2",
        args![clinic, account.login.as_str()],
    )
    .await?
    {
        return Err(StoreError::Conflict("login is taken"));
    }
    let roles =
        serde_json::to_string(&account.roles).map_err(|e| StoreError::Database(e.to_string()))?;
    let branches = serde_json::to_string(&account.branches)
        .map_err(|e| StoreError::Database(e.to_string()))?;
    insert(
        c,
        "INSERT INTO accounts (clinic_id, user_id, kind, login, display_name, roles, branches, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![
            clinic,
            user,
            account_kind_name(account.kind),
            account.login,
            account.display_name,
            roles,
            branches,
            account_status_name(account.status),
            account.created_at
        ],
        "account or login exists",
    )
    .await?;
    insert(
        c,
        concat!(
            "INSERT INTO account_keys (clinic_id, user_id, ",
            account_keys_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ),
        args![
            clinic,
            user,
            keys.wrapped_account_key,
            keys.wrapped_decryption_key,
            keys.wrapped_signing_key,
            keys.wrapped_cache_key,
            keys.root_pin,
            keys.encryption_public_key,
            keys.verifying_key
        ],
        "account exists",
    )
    .await?;
    insert(
        c,
        "INSERT INTO opaque_records (clinic_id, user_id, record) VALUES ($1, $2, $3)",
        args![clinic, user, opaque_record],
        "account exists",
    )
    .await
}

async fn create_invite<C: Exec>(c: &mut C, invite: Invite) -> Result<()> {
    if invite.state != InviteState::Open || invite.invitee.is_some() || invite.binding.is_some() {
        return Err(StoreError::Conflict(
            "a new invite must be open and unbound",
        ));
    }
    require_clinic(c, invite.clinic).await?;
    require_account(c, invite.clinic, invite.inviter).await?;
    if let Some(chart) = invite.chart {
        require_chart(c, invite.clinic, chart).await?;
    }
    insert(
        c,
        concat!(
            "INSERT INTO invites (",
            invite_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ),
        args![
            invite.clinic,
            invite.id,
            invite_kind_name(invite.kind),
            invite.inviter,
            invite.chart,
            invite.body,
            invite.signature,
            invite.expires_at,
            invite_state_name(invite.state),
            invite.invitee,
            invite.binding,
            invite.created_at
        ],
        "invite exists",
    )
    .await
}

async fn put_key_wrap<C: Exec>(c: &mut C, wrap: KeyWrap) -> Result<()> {
    require_clinic(c, wrap.clinic).await?;
    if let Some(chart) = wrap.scope.chart() {
        require_chart(c, wrap.clinic, chart).await?;
    }
    if let Recipient::User { user } = wrap.recipient {
        require_account(c, wrap.clinic, user).await?;
    }
    require_account(c, wrap.clinic, wrap.wrapped_by).await?;
    let (scope, chart, branch, tier, epoch): (
        &str,
        Option<ChartId>,
        Option<BranchId>,
        Option<i64>,
        Option<i64>,
    ) = match wrap.scope {
        WrapScope::Case { chart, tier, epoch } => (
            "case",
            Some(chart),
            None,
            Some(i64::from(tier)),
            Some(i64::from(epoch)),
        ),
        WrapScope::Identity { chart } => ("identity", Some(chart), None, None, None),
        WrapScope::Directory { branch, epoch } => (
            "directory",
            None,
            Some(branch),
            None,
            Some(i64::from(epoch)),
        ),
        WrapScope::Root => ("root", None, None, None, None),
    };
    let (recipient, recipient_user) = match wrap.recipient {
        Recipient::User { user } => ("user", Some(user)),
        Recipient::Escrow => ("escrow", None),
    };
    insert(
        c,
        concat!(
            "INSERT INTO key_wraps (",
            key_wrap_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ),
        args![
            wrap.clinic,
            scope,
            chart,
            branch,
            tier,
            epoch,
            recipient,
            recipient_user,
            wrap.recipient_key,
            wrap.wrap,
            wrap.signature,
            wrap.wrapped_by,
            wrap.created_at
        ],
        "key wrap exists",
    )
    .await
}

async fn put_record_version<C: Exec>(c: &mut C, r: RecordVersion) -> Result<()> {
    let version = to_i64(r.version)?;
    require_clinic(c, r.clinic).await?;
    require_chart(c, r.clinic, r.chart).await?;
    require_account(c, r.clinic, r.author).await?;
    let last = last(
        c,
        "SELECT COALESCE(MAX(version), 0) AS last FROM record_versions WHERE clinic_id = $1 AND object_id = $2",
        args![r.clinic, r.object],
    )
    .await?;
    if r.version != next(last)? {
        return Err(StoreError::Conflict(NEXT_VERSION));
    }
    if version > 1 {
        let first = c
            .fetch_optional(
                "SELECT chart_id, kind FROM record_versions WHERE clinic_id = $1 AND object_id = $2 AND version = 1",
                args![r.clinic, r.object],
            )
            .await?
            .ok_or(StoreError::Conflict(NEXT_VERSION))?;
        if id(&first, "chart_id", ChartId::from_slice)? != r.chart
            || small::<u8>(&first, "kind")? != r.kind
        {
            return Err(StoreError::Conflict(
                "a later version must keep the object's chart and kind",
            ));
        }
    }
    insert(
        c,
        concat!(
            "INSERT INTO record_versions (",
            record_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ),
        args![
            r.clinic,
            r.object,
            version,
            i64::from(r.kind),
            r.chart,
            i64::from(r.tier),
            i64::from(r.epoch),
            r.author,
            r.author_key,
            r.created_at,
            r.prev_version_hash,
            r.chart_state_hash,
            r.wrapped_key,
            r.envelope,
            r.signature
        ],
        NEXT_VERSION,
    )
    .await
}

/// The store over one sqlx pool; the backends wrap it and forward [`crate::Store`] to it.
#[derive(Debug)]
pub(crate) struct SqlStore<DB: Database> {
    pub(crate) pool: Pool<DB>,
}

impl<DB> SqlStore<DB>
where
    DB: Database,
    DB::Connection: Exec,
{
    pub(crate) async fn apply(&self, writes: Vec<Write>) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut tx = self
            .pool
            .begin_with(<DB::Connection as Exec>::BEGIN)
            .await?;
        for write in writes {
            if let Err(e) = apply_one(&mut *tx, write).await {
                // Roll back now rather than when `tx` drops, so the connection returns clean and a
                // rollback failure cannot hide the precondition that failed.
                drop(tx.rollback().await);
                return Err(e);
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn server_secret(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let mut c = self.pool.acquire().await?;
        match c
            .fetch_optional(
                "SELECT value FROM server_secrets WHERE name = $1",
                args![name],
            )
            .await?
        {
            Some(row) => Ok(Some(blob(&row, "value")?)),
            None => Ok(None),
        }
    }

    pub(crate) async fn init_server_secret(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        let mut c = self.pool.acquire().await?;
        // The insert commits or does nothing; either way the select then sees the winner's value.
        c.execute(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            args![name, value],
        )
        .await?;
        match c
            .fetch_optional(
                "SELECT value FROM server_secrets WHERE name = $1",
                args![name],
            )
            .await?
        {
            Some(row) => blob(&row, "value"),
            None => Err(StoreError::Database(
                "server secret vanished after it was stored".into(),
            )),
        }
    }

    pub(crate) async fn clinic(&self, id: ClinicId) -> Result<Option<Clinic>> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                concat!(
                    "SELECT ",
                    clinic_columns!(),
                    " FROM clinics WHERE clinic_id = $1"
                ),
                args![id],
            )
            .await?;
        row.as_ref().map(clinic_row).transpose()
    }

    pub(crate) async fn clinic_ids(&self) -> Result<Vec<ClinicId>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                "SELECT clinic_id FROM clinics ORDER BY created_at, clinic_id",
                Vec::new(),
            )
            .await?;
        rows.iter()
            .map(|r| id(r, "clinic_id", ClinicId::from_slice))
            .collect()
    }

    pub(crate) async fn account(&self, clinic: ClinicId, user: UserId) -> Result<Option<Account>> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                concat!(
                    "SELECT ",
                    account_columns!(),
                    " FROM accounts WHERE clinic_id = $1 AND user_id = $2"
                ),
                args![clinic, user],
            )
            .await?;
        row.as_ref().map(account_row).transpose()
    }

    pub(crate) async fn account_by_login(
        &self,
        clinic: ClinicId,
        login: &str,
    ) -> Result<Option<Account>> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                concat!(
                    "SELECT ",
                    account_columns!(),
                    " FROM accounts WHERE clinic_id = $1 AND login = $2"
                ),
                args![clinic, login],
            )
            .await?;
        row.as_ref().map(account_row).transpose()
    }

    pub(crate) async fn accounts(&self, clinic: ClinicId) -> Result<Vec<Account>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                concat!(
                    "SELECT ",
                    account_columns!(),
                    " FROM accounts WHERE clinic_id = $1 ORDER BY created_at, ord"
                ),
                args![clinic],
            )
            .await?;
        rows.iter().map(account_row).collect()
    }

    pub(crate) async fn account_keys(
        &self,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<Option<AccountKeys>> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                concat!(
                    "SELECT ",
                    account_keys_columns!(),
                    " FROM account_keys WHERE clinic_id = $1 AND user_id = $2"
                ),
                args![clinic, user],
            )
            .await?;
        row.as_ref().map(account_keys_row).transpose()
    }

    pub(crate) async fn opaque_record(
        &self,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<Option<Vec<u8>>> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                "SELECT record FROM opaque_records WHERE clinic_id = $1 AND user_id = $2",
                args![clinic, user],
            )
            .await?;
        row.as_ref().map(|r| blob(r, "record")).transpose()
    }

    /// Refuses a session for a missing account (NotFound) or a revoked one (Conflict). The account
    /// row is locked while the session is inserted, so a concurrent revocation either sees the new
    /// session and deletes it, or happens first and makes this refuse: no session outlives its
    /// account's revocation.
    pub(crate) async fn create_session(&self, session: &Session) -> Result<()> {
        let mut tx = self
            .pool
            .begin_with(<DB::Connection as Exec>::BEGIN)
            .await?;
        let result = create_session_in(&mut *tx, session).await;
        match result {
            Ok(()) => {
                tx.commit().await?;
                Ok(())
            }
            Err(e) => {
                drop(tx.rollback().await);
                Err(e)
            }
        }
    }

    pub(crate) async fn session(&self, token_hash: &[u8; 32], now: i64) -> Result<Option<Session>> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                concat!(
                    "SELECT ",
                    session_columns!(),
                    " FROM sessions WHERE token_hash = $1 AND expires_at > $2"
                ),
                args![token_hash, now],
            )
            .await?;
        row.as_ref().map(session_row).transpose()
    }

    pub(crate) async fn delete_session(&self, token_hash: &[u8; 32]) -> Result<()> {
        let mut c = self.pool.acquire().await?;
        c.execute(
            "DELETE FROM sessions WHERE token_hash = $1",
            args![token_hash],
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn delete_expired_sessions(&self, now: i64) -> Result<u64> {
        let mut c = self.pool.acquire().await?;
        Ok(
            c.execute("DELETE FROM sessions WHERE expires_at <= $1", args![now])
                .await?,
        )
    }

    /// One `INSERT`: the primary key refuses a duplicate id (Conflict) and the foreign keys a
    /// missing clinic or account (NotFound), with no transaction around it.
    pub(crate) async fn put_pending_login(&self, login: &PendingLogin) -> Result<()> {
        let mut c = self.pool.acquire().await?;
        insert(
            &mut *c,
            concat!(
                "INSERT INTO pending_logins (",
                pending_login_columns!(),
                ") VALUES ($1, $2, $3, $4, $5)"
            ),
            args![
                &login.id,
                login.clinic,
                login.user,
                login.state.clone(),
                login.expires_at
            ],
            "pending login exists",
        )
        .await
    }

    /// One `DELETE ... RETURNING`, so taking is atomic on both backends: on PostgreSQL a second
    /// concurrent delete waits for the first's row lock and then finds the row gone; on SQLite
    /// writers are serialised. Expiry is checked on the returned row, so an expired row is
    /// deleted too. `fetch_all` steps the statement to completion, so SQLite's autocommit
    /// transaction ends before the connection goes back to the pool.
    pub(crate) async fn take_pending_login(
        &self,
        clinic: ClinicId,
        id: &[u8; 16],
        now: i64,
    ) -> Result<Option<PendingLogin>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                concat!(
                    "DELETE FROM pending_logins WHERE login_id = $1 AND clinic_id = $2 RETURNING ",
                    pending_login_columns!()
                ),
                args![id, clinic],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let login = pending_login_row(row)?;
        Ok((now < login.expires_at).then_some(login))
    }

    pub(crate) async fn delete_expired_pending_logins(&self, now: i64) -> Result<u64> {
        let mut c = self.pool.acquire().await?;
        Ok(c.execute(
            "DELETE FROM pending_logins WHERE expires_at <= $1",
            args![now],
        )
        .await?)
    }

    pub(crate) async fn certificates(&self, clinic: ClinicId) -> Result<Vec<Certificate>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                concat!(
                    "SELECT ",
                    certificate_columns!(),
                    " FROM certificates WHERE clinic_id = $1 ORDER BY user_id, serial"
                ),
                args![clinic],
            )
            .await?;
        rows.iter().map(certificate_row).collect()
    }

    pub(crate) async fn latest_certificate(
        &self,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<Option<Certificate>> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                concat!(
                    "SELECT ",
                    certificate_columns!(),
                    " FROM certificates WHERE clinic_id = $1 AND user_id = $2",
                    " ORDER BY serial DESC LIMIT 1"
                ),
                args![clinic, user],
            )
            .await?;
        row.as_ref().map(certificate_row).transpose()
    }

    pub(crate) async fn invite(&self, clinic: ClinicId, id: InviteId) -> Result<Option<Invite>> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                concat!(
                    "SELECT ",
                    invite_columns!(),
                    " FROM invites WHERE clinic_id = $1 AND invite_id = $2"
                ),
                args![clinic, id],
            )
            .await?;
        row.as_ref().map(invite_row).transpose()
    }

    pub(crate) async fn invites_by(
        &self,
        clinic: ClinicId,
        inviter: UserId,
        position: u64,
        limit: u32,
    ) -> Result<Vec<Invite>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                concat!(
                    "SELECT ",
                    invite_columns!(),
                    " FROM invites WHERE clinic_id = $1 AND inviter_id = $2 ORDER BY created_at, ord LIMIT $3 OFFSET $4"
                ),
                args![clinic, inviter, i64::from(limit), offset(position)],
            )
            .await?;
        rows.iter().map(invite_row).collect()
    }

    pub(crate) async fn invite_count_by(&self, clinic: ClinicId, inviter: UserId) -> Result<u64> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                "SELECT COUNT(*) AS n FROM invites WHERE clinic_id = $1 AND inviter_id = $2",
                args![clinic, inviter],
            )
            .await?;
        row.as_ref().map_or(Ok(0), |r| counter(r, "n"))
    }

    pub(crate) async fn bound_patient_invites(
        &self,
        clinic: ClinicId,
        position: u64,
        limit: u32,
    ) -> Result<Vec<Invite>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                concat!(
                    "SELECT ",
                    invite_columns!(),
                    " FROM invites WHERE clinic_id = $1 AND kind = 'patient' AND state = 'bound' ORDER BY created_at, ord LIMIT $3 OFFSET $2"
                ),
                args![clinic, offset(position), i64::from(limit)],
            )
            .await?;
        rows.iter().map(invite_row).collect()
    }

    pub(crate) async fn chart(&self, clinic: ClinicId, id: ChartId) -> Result<Option<Chart>> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                concat!(
                    "SELECT ",
                    chart_columns!(),
                    " FROM charts WHERE clinic_id = $1 AND chart_id = $2"
                ),
                args![clinic, id],
            )
            .await?;
        row.as_ref().map(chart_row).transpose()
    }

    pub(crate) async fn charts_in_branch(
        &self,
        clinic: ClinicId,
        branch: BranchId,
        position: u64,
        limit: u32,
    ) -> Result<Vec<Chart>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                concat!(
                    "SELECT ",
                    chart_columns!(),
                    " FROM charts WHERE clinic_id = $1 AND branch_id = $2 ORDER BY created_at, ord LIMIT $3 OFFSET $4"
                ),
                args![clinic, branch, i64::from(limit), offset(position)],
            )
            .await?;
        rows.iter().map(chart_row).collect()
    }

    /// In the order the user was first given a key of each chart.
    pub(crate) async fn charts_wrapped_to(
        &self,
        clinic: ClinicId,
        user: UserId,
        position: u64,
        limit: u32,
    ) -> Result<Vec<ChartId>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                "SELECT chart_id FROM key_wraps \
                 WHERE clinic_id = $1 AND recipient = 'user' AND recipient_user = $2 AND chart_id IS NOT NULL \
                 GROUP BY chart_id ORDER BY MIN(ord) LIMIT $3 OFFSET $4",
                args![clinic, user, i64::from(limit), offset(position)],
            )
            .await?;
        rows.iter()
            .map(|r| id(r, "chart_id", ChartId::from_slice))
            .collect()
    }

    pub(crate) async fn chart_states(
        &self,
        clinic: ClinicId,
        chart: ChartId,
    ) -> Result<Vec<ChartStateEntry>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                concat!(
                    "SELECT ",
                    chart_state_columns!(),
                    " FROM chart_states WHERE clinic_id = $1 AND chart_id = $2 ORDER BY seq"
                ),
                args![clinic, chart],
            )
            .await?;
        rows.iter().map(chart_state_row).collect()
    }

    pub(crate) async fn key_wraps(
        &self,
        clinic: ClinicId,
        recipient: Recipient,
        chart: Option<ChartId>,
    ) -> Result<Vec<KeyWrap>> {
        macro_rules! select {
            ($filter:literal) => {
                concat!(
                    "SELECT ",
                    key_wrap_columns!(),
                    " FROM key_wraps WHERE clinic_id = $1 AND ",
                    $filter,
                    " ORDER BY created_at, ord"
                )
            };
        }
        let mut c = self.pool.acquire().await?;
        let rows = match (recipient, chart) {
            (Recipient::User { user }, None) => {
                c.fetch_all(
                    select!("recipient = 'user' AND recipient_user = $2"),
                    args![clinic, user],
                )
                .await?
            }
            (Recipient::User { user }, Some(chart)) => {
                c.fetch_all(
                    select!("recipient = 'user' AND recipient_user = $2 AND chart_id = $3"),
                    args![clinic, user, chart],
                )
                .await?
            }
            (Recipient::Escrow, None) => {
                c.fetch_all(select!("recipient = 'escrow'"), args![clinic])
                    .await?
            }
            (Recipient::Escrow, Some(chart)) => {
                c.fetch_all(
                    select!("recipient = 'escrow' AND chart_id = $2"),
                    args![clinic, chart],
                )
                .await?
            }
        };
        rows.iter().map(key_wrap_row).collect()
    }

    pub(crate) async fn directory_wraps(
        &self,
        clinic: ClinicId,
        branch: BranchId,
        epoch: u32,
    ) -> Result<Vec<DirectoryWrap>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                concat!(
                    "SELECT ",
                    directory_wrap_columns!(),
                    " FROM directory_wraps WHERE clinic_id = $1 AND branch_id = $2 AND epoch = $3 ORDER BY ord"
                ),
                args![clinic, branch, i64::from(epoch)],
            )
            .await?;
        rows.iter().map(directory_wrap_row).collect()
    }

    pub(crate) async fn directory_wrap(
        &self,
        clinic: ClinicId,
        chart: ChartId,
    ) -> Result<Option<DirectoryWrap>> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                concat!(
                    "SELECT ",
                    directory_wrap_columns!(),
                    " FROM directory_wraps WHERE clinic_id = $1 AND chart_id = $2 ORDER BY epoch DESC LIMIT 1"
                ),
                args![clinic, chart],
            )
            .await?;
        row.as_ref().map(directory_wrap_row).transpose()
    }

    pub(crate) async fn latest_records(
        &self,
        clinic: ClinicId,
        chart: ChartId,
        kinds: &[u8],
    ) -> Result<Vec<RecordVersion>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let kinds =
            serde_json::to_string(kinds).map_err(|e| StoreError::Database(e.to_string()))?;
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                <DB::Connection as Exec>::LATEST_RECORDS,
                args![clinic, chart, kinds],
            )
            .await?;
        rows.iter().map(record_row).collect()
    }

    pub(crate) async fn record_versions(
        &self,
        clinic: ClinicId,
        object: ObjectId,
    ) -> Result<Vec<RecordVersion>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                concat!(
                    "SELECT ",
                    record_columns!(),
                    " FROM record_versions WHERE clinic_id = $1 AND object_id = $2 ORDER BY version"
                ),
                args![clinic, object],
            )
            .await?;
        rows.iter().map(record_row).collect()
    }

    pub(crate) async fn log_size(&self, clinic: ClinicId) -> Result<u64> {
        let mut c = self.pool.acquire().await?;
        let size = log_size_in(&mut *c, clinic).await?;
        u64::try_from(size).map_err(|_| malformed("idx"))
    }

    pub(crate) async fn log_nodes(
        &self,
        clinic: ClinicId,
        nodes: &[(u8, u64)],
    ) -> Result<Vec<Option<[u8; 32]>>> {
        let mut c = self.pool.acquire().await?;
        let mut out = Vec::with_capacity(nodes.len());
        for (level, index) in nodes {
            let row = c
                .fetch_optional(
                    "SELECT hash FROM log_nodes WHERE clinic_id = $1 AND level = $2 AND idx = $3",
                    args![clinic, i64::from(*level), to_i64(*index)?],
                )
                .await?;
            out.push(row.as_ref().map(|r| hash(r, "hash")).transpose()?);
        }
        Ok(out)
    }

    pub(crate) async fn log_leaves(
        &self,
        clinic: ClinicId,
        start: u64,
        end: u64,
    ) -> Result<Vec<LogLeaf>> {
        let mut c = self.pool.acquire().await?;
        let rows = c
            .fetch_all(
                "SELECT clinic_id, idx, leaf, leaf_hash, chart_id, created_at FROM log_leaves WHERE clinic_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
                args![clinic, to_i64(start)?, to_i64(end.min(i64::MAX as u64))?],
            )
            .await?;
        rows.iter().map(log_leaf_row).collect()
    }

    pub(crate) async fn chart_log_leaves(
        &self,
        clinic: ClinicId,
        chart: ChartId,
        before: u64,
        limit: u32,
    ) -> Result<Vec<LogLeaf>> {
        let mut c = self.pool.acquire().await?;
        // Newest first through the (clinic, chart, index) index, then turned to oldest first.
        let rows = c
            .fetch_all(
                "SELECT clinic_id, idx, leaf, leaf_hash, chart_id, created_at FROM log_leaves \
                 WHERE clinic_id = $1 AND chart_id = $2 AND idx < $3 ORDER BY idx DESC LIMIT $4",
                args![clinic, chart, offset(before), i64::from(limit)],
            )
            .await?;
        let mut leaves = rows.iter().map(log_leaf_row).collect::<Result<Vec<_>>>()?;
        leaves.reverse();
        Ok(leaves)
    }

    pub(crate) async fn last_chart_log_leaf(
        &self,
        clinic: ClinicId,
        chart: ChartId,
    ) -> Result<Option<LogLeaf>> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                "SELECT clinic_id, idx, leaf, leaf_hash, chart_id, created_at FROM log_leaves WHERE clinic_id = $1 AND chart_id = $2 ORDER BY idx DESC LIMIT 1",
                args![clinic, chart],
            )
            .await?;
        row.as_ref().map(log_leaf_row).transpose()
    }

    pub(crate) async fn last_log_leaf_with_action(
        &self,
        clinic: ClinicId,
        action: u8,
    ) -> Result<Option<LogLeaf>> {
        let mut c = self.pool.acquire().await?;
        // `substr` on a BLOB (SQLite) or a bytea (PostgreSQL) is a byte range in both, so one
        // statement serves both backends. The expression index log_leaves_by_action (schema 6)
        // matches it as written: one descent to the newest leaf of the action (keep the two in
        // step; tests/log_action_index.rs checks both plans).
        let row = c
            .fetch_optional(
                "SELECT clinic_id, idx, leaf, leaf_hash, chart_id, created_at FROM log_leaves WHERE clinic_id = $1 AND substr(leaf, 2, 1) = $2 ORDER BY idx DESC LIMIT 1",
                args![clinic, vec![action]],
            )
            .await?;
        row.as_ref().map(log_leaf_row).transpose()
    }

    pub(crate) async fn latest_log_checkpoint(
        &self,
        clinic: ClinicId,
    ) -> Result<Option<LogCheckpoint>> {
        let mut c = self.pool.acquire().await?;
        let row = c
            .fetch_optional(
                "SELECT clinic_id, size, note, created_at FROM log_checkpoints WHERE clinic_id = $1 ORDER BY size DESC LIMIT 1",
                args![clinic],
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
}

/// The number of leaves of a clinic's log: one more than the highest index (an index lookup,
/// not a count, so appends stay fast as the log grows).
async fn log_size_in<C: Exec>(c: &mut C, clinic: ClinicId) -> Result<i64> {
    let row = c
        .fetch_optional(
            "SELECT idx FROM log_leaves WHERE clinic_id = $1 ORDER BY idx DESC LIMIT 1",
            args![clinic],
        )
        .await?;
    match row {
        Some(r) => int(&r, "idx")?
            .checked_add(1)
            .ok_or(StoreError::Conflict(TOO_LARGE)),
        None => Ok(0),
    }
}

async fn append_log_leaf<C: Exec>(c: &mut C, leaf: LogLeaf, nodes: Vec<LogNode>) -> Result<()> {
    require_clinic(c, leaf.clinic).await?;
    if let Some(chart) = leaf.chart {
        require_chart(c, leaf.clinic, chart).await?;
    }
    let index = to_i64(leaf.index)?;
    if index != log_size_in(c, leaf.clinic).await? {
        return Err(StoreError::Conflict("log leaf index is not the next one"));
    }
    insert(
        c,
        "INSERT INTO log_leaves (clinic_id, idx, leaf, leaf_hash, chart_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![leaf.clinic, index, leaf.leaf, leaf.leaf_hash, leaf.chart, leaf.created_at],
        "log leaf index is not the next one",
    )
    .await?;
    for node in nodes {
        insert(
            c,
            "INSERT INTO log_nodes (clinic_id, level, idx, hash) VALUES ($1, $2, $3, $4)",
            args![
                leaf.clinic,
                i64::from(node.level),
                to_i64(node.index)?,
                node.hash
            ],
            "log node exists",
        )
        .await?;
    }
    Ok(())
}

fn log_leaf_row<R: Row>(r: &R) -> Result<LogLeaf> {
    Ok(LogLeaf {
        clinic: id(r, "clinic_id", ClinicId::from_slice)?,
        index: counter(r, "idx")?,
        leaf: sealed(r, "leaf")?,
        leaf_hash: hash(r, "leaf_hash")?,
        chart: opt_id(r, "chart_id", ChartId::from_slice)?,
        created_at: int(r, "created_at")?,
    })
}

async fn create_session_in<C: Exec>(c: &mut C, session: &Session) -> Result<()> {
    let status = c
        .fetch_optional(C::LOCK_ACCOUNT_STATUS, args![session.clinic, session.user])
        .await?
        .ok_or(StoreError::NotFound("account"))?;
    if parse_account_status(&text(&status, "status")?)? == AccountStatus::Revoked {
        return Err(StoreError::Conflict("account is revoked"));
    }
    insert(
        c,
        concat!(
            "INSERT INTO sessions (",
            session_columns!(),
            ") VALUES ($1, $2, $3, $4, $5)"
        ),
        args![
            session.token_hash,
            session.clinic,
            session.user,
            session.created_at,
            session.expires_at
        ],
        "session exists",
    )
    .await
}

// Enum names as stored.

fn account_kind_name(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Staff => "staff",
        AccountKind::Patient => "patient",
    }
}

fn account_status_name(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Active => "active",
        AccountStatus::Revoked => "revoked",
    }
}

fn invite_kind_name(kind: InviteKind) -> &'static str {
    match kind {
        InviteKind::Staff => "staff",
        InviteKind::Patient => "patient",
    }
}

fn invite_state_name(state: InviteState) -> &'static str {
    match state {
        InviteState::Open => "open",
        InviteState::Bound => "bound",
        InviteState::Completed => "completed",
        InviteState::Revoked => "revoked",
    }
}

fn parse_account_status(s: &str) -> Result<AccountStatus> {
    match s {
        "active" => Ok(AccountStatus::Active),
        "revoked" => Ok(AccountStatus::Revoked),
        _ => Err(malformed("status")),
    }
}

// Decoding. A stored value that does not decode is a database error, never a panic.

fn malformed(column: &str) -> StoreError {
    StoreError::Database(format!("stored column {column} is malformed"))
}

fn int<R: Row>(r: &R, column: &'static str) -> Result<i64> {
    r.int(column)?.ok_or_else(|| malformed(column))
}

fn counter<R: Row>(r: &R, column: &'static str) -> Result<u64> {
    u64::try_from(int(r, column)?).map_err(|_| malformed(column))
}

fn small<T: TryFrom<i64>>(r: &impl Row, column: &'static str) -> Result<T> {
    T::try_from(int(r, column)?).map_err(|_| malformed(column))
}

fn text<R: Row>(r: &R, column: &'static str) -> Result<String> {
    r.text(column)?.ok_or_else(|| malformed(column))
}

fn blob<R: Row>(r: &R, column: &'static str) -> Result<Vec<u8>> {
    r.bytes(column)?.ok_or_else(|| malformed(column))
}

fn sealed<R: Row>(r: &R, column: &'static str) -> Result<Sealed> {
    blob(r, column).map(Sealed)
}

fn hash<R: Row>(r: &R, column: &'static str) -> Result<[u8; 32]> {
    blob(r, column)?.try_into().map_err(|_| malformed(column))
}

fn id<R: Row, T>(r: &R, column: &'static str, parse: fn(&[u8]) -> Result<T, IdError>) -> Result<T> {
    parse(&blob(r, column)?).map_err(|_| malformed(column))
}

fn opt_id<R: Row, T>(
    r: &R,
    column: &'static str,
    parse: fn(&[u8]) -> Result<T, IdError>,
) -> Result<Option<T>> {
    r.bytes(column)?
        .map(|b| parse(&b).map_err(|_| malformed(column)))
        .transpose()
}

fn clinic_row<R: Row>(r: &R) -> Result<Clinic> {
    Ok(Clinic {
        id: id(r, "clinic_id", ClinicId::from_slice)?,
        manifest: sealed(r, "manifest")?,
        manifest_signature: sealed(r, "manifest_signature")?,
        manifest_version: counter(r, "manifest_version")?,
        created_at: int(r, "created_at")?,
    })
}

fn account_row<R: Row>(r: &R) -> Result<Account> {
    let kind = match text(r, "kind")?.as_str() {
        "staff" => AccountKind::Staff,
        "patient" => AccountKind::Patient,
        _ => return Err(malformed("kind")),
    };
    let roles: Vec<Role> =
        serde_json::from_str(&text(r, "roles")?).map_err(|_| malformed("roles"))?;
    let branches: Vec<BranchId> =
        serde_json::from_str(&text(r, "branches")?).map_err(|_| malformed("branches"))?;
    Ok(Account {
        clinic: id(r, "clinic_id", ClinicId::from_slice)?,
        id: id(r, "user_id", UserId::from_slice)?,
        kind,
        login: text(r, "login")?,
        display_name: r.text("display_name")?,
        roles,
        branches,
        status: parse_account_status(&text(r, "status")?)?,
        created_at: int(r, "created_at")?,
    })
}

fn account_keys_row<R: Row>(r: &R) -> Result<AccountKeys> {
    Ok(AccountKeys {
        wrapped_account_key: sealed(r, "wrapped_account_key")?,
        wrapped_decryption_key: sealed(r, "wrapped_decryption_key")?,
        wrapped_signing_key: sealed(r, "wrapped_signing_key")?,
        wrapped_cache_key: sealed(r, "wrapped_cache_key")?,
        root_pin: sealed(r, "root_pin")?,
        encryption_public_key: sealed(r, "encryption_public_key")?,
        verifying_key: sealed(r, "verifying_key")?,
    })
}

fn session_row<R: Row>(r: &R) -> Result<Session> {
    Ok(Session {
        token_hash: hash(r, "token_hash")?,
        clinic: id(r, "clinic_id", ClinicId::from_slice)?,
        user: id(r, "user_id", UserId::from_slice)?,
        created_at: int(r, "created_at")?,
        expires_at: int(r, "expires_at")?,
    })
}

fn pending_login_row<R: Row>(r: &R) -> Result<PendingLogin> {
    Ok(PendingLogin {
        id: blob(r, "login_id")?
            .try_into()
            .map_err(|_| malformed("login_id"))?,
        clinic: id(r, "clinic_id", ClinicId::from_slice)?,
        user: opt_id(r, "user_id", UserId::from_slice)?,
        state: blob(r, "state")?,
        expires_at: int(r, "expires_at")?,
    })
}

fn certificate_row<R: Row>(r: &R) -> Result<Certificate> {
    Ok(Certificate {
        clinic: id(r, "clinic_id", ClinicId::from_slice)?,
        user: id(r, "user_id", UserId::from_slice)?,
        serial: counter(r, "serial")?,
        body: sealed(r, "body")?,
        signature: sealed(r, "signature")?,
        issuer_key: id(r, "issuer_key", KeyId::from_slice)?,
        expires_at: int(r, "expires_at")?,
        revoked_at: r.int("revoked_at")?,
        revocation: match (r.bytes("revocation")?, r.bytes("revocation_signature")?) {
            (Some(body), Some(signature)) => Some(Revocation {
                body: Sealed(body),
                signature: Sealed(signature),
            }),
            (None, None) => None,
            _ => return Err(malformed("revocation")),
        },
    })
}

fn invite_row<R: Row>(r: &R) -> Result<Invite> {
    let kind = match text(r, "kind")?.as_str() {
        "staff" => InviteKind::Staff,
        "patient" => InviteKind::Patient,
        _ => return Err(malformed("kind")),
    };
    let state = match text(r, "state")?.as_str() {
        "open" => InviteState::Open,
        "bound" => InviteState::Bound,
        "completed" => InviteState::Completed,
        "revoked" => InviteState::Revoked,
        _ => return Err(malformed("state")),
    };
    Ok(Invite {
        clinic: id(r, "clinic_id", ClinicId::from_slice)?,
        id: id(r, "invite_id", InviteId::from_slice)?,
        kind,
        inviter: id(r, "inviter_id", UserId::from_slice)?,
        chart: opt_id(r, "chart_id", ChartId::from_slice)?,
        body: sealed(r, "body")?,
        signature: sealed(r, "signature")?,
        expires_at: int(r, "expires_at")?,
        state,
        invitee: opt_id(r, "invitee_id", UserId::from_slice)?,
        binding: r.bytes("binding")?.map(Sealed),
        created_at: int(r, "created_at")?,
    })
}

fn chart_row<R: Row>(r: &R) -> Result<Chart> {
    Ok(Chart {
        clinic: id(r, "clinic_id", ClinicId::from_slice)?,
        id: id(r, "chart_id", ChartId::from_slice)?,
        branch: id(r, "branch_id", BranchId::from_slice)?,
        created_by: id(r, "created_by", UserId::from_slice)?,
        created_at: int(r, "created_at")?,
    })
}

fn chart_state_row<R: Row>(r: &R) -> Result<ChartStateEntry> {
    Ok(ChartStateEntry {
        chart: id(r, "chart_id", ChartId::from_slice)?,
        seq: counter(r, "seq")?,
        body: sealed(r, "body")?,
        signature: sealed(r, "signature")?,
        author: id(r, "author_id", UserId::from_slice)?,
        hash: hash(r, "hash")?,
        created_at: int(r, "created_at")?,
    })
}

fn key_wrap_row<R: Row>(r: &R) -> Result<KeyWrap> {
    let chart = || id(r, "chart_id", ChartId::from_slice);
    let scope = match text(r, "scope")?.as_str() {
        "case" => WrapScope::Case {
            chart: chart()?,
            tier: small(r, "tier")?,
            epoch: small(r, "epoch")?,
        },
        "identity" => WrapScope::Identity { chart: chart()? },
        "directory" => WrapScope::Directory {
            branch: id(r, "branch_id", BranchId::from_slice)?,
            epoch: small(r, "epoch")?,
        },
        "root" => WrapScope::Root,
        _ => return Err(malformed("scope")),
    };
    let recipient = match text(r, "recipient")?.as_str() {
        "user" => Recipient::User {
            user: id(r, "recipient_user", UserId::from_slice)?,
        },
        "escrow" => Recipient::Escrow,
        _ => return Err(malformed("recipient")),
    };
    Ok(KeyWrap {
        clinic: id(r, "clinic_id", ClinicId::from_slice)?,
        scope,
        recipient,
        recipient_key: id(r, "recipient_key", KeyId::from_slice)?,
        wrap: sealed(r, "wrap")?,
        signature: sealed(r, "signature")?,
        wrapped_by: id(r, "wrapped_by", UserId::from_slice)?,
        created_at: int(r, "created_at")?,
    })
}

fn directory_wrap_row<R: Row>(r: &R) -> Result<DirectoryWrap> {
    Ok(DirectoryWrap {
        clinic: id(r, "clinic_id", ClinicId::from_slice)?,
        chart: id(r, "chart_id", ChartId::from_slice)?,
        branch: id(r, "branch_id", BranchId::from_slice)?,
        epoch: small(r, "epoch")?,
        envelope: sealed(r, "envelope")?,
    })
}

fn record_row<R: Row>(r: &R) -> Result<RecordVersion> {
    Ok(RecordVersion {
        clinic: id(r, "clinic_id", ClinicId::from_slice)?,
        object: id(r, "object_id", ObjectId::from_slice)?,
        version: counter(r, "version")?,
        kind: small(r, "kind")?,
        chart: id(r, "chart_id", ChartId::from_slice)?,
        tier: small(r, "tier")?,
        epoch: small(r, "epoch")?,
        author: id(r, "author_id", UserId::from_slice)?,
        author_key: id(r, "author_key", KeyId::from_slice)?,
        created_at: int(r, "created_at")?,
        prev_version_hash: hash(r, "prev_version_hash")?,
        chart_state_hash: hash(r, "chart_state_hash")?,
        wrapped_key: sealed(r, "wrapped_key")?,
        envelope: sealed(r, "envelope")?,
        signature: sealed(r, "signature")?,
    })
}
