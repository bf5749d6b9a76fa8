//! vaiti's storage layer: one [`Store`] trait, an embedded SQLite implementation (the default) and
//! a PostgreSQL one, and a conformance suite ([`conformance`]) that every implementation must pass.
//!
//! The store keeps what the server may see — ids, enums, times, public material and [`Sealed`]
//! ciphertext from `vaiti-core` — and nothing else. Writes that belong together go through
//! [`Store::apply`] as one transaction: a failed precondition or error leaves nothing written.
//!
//! [`Sealed`]: vaiti_core::Sealed

#![forbid(unsafe_code)]

use async_trait::async_trait;
use vaiti_core::{
    Account, AccountKeys, AccountStatus, Alert, AlertId, BranchId, Certificate, Chart, ChartId,
    ChartStateEntry, Clinic, ClinicId, DirectoryWrap, Invite, InviteId, KeyWrap, LogCheckpoint,
    LogLeaf, LogNode, ObjectId, Recipient, RecordVersion, Sealed, Session, UserId,
};

pub mod conformance;
mod postgres;
mod sql;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// What can go wrong in a store. Deliberately small: callers map these to API errors, and the
/// messages never contain stored content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A write's precondition did not hold (already exists, wrong expected version or sequence,
    /// invite not open or expired, ...). Nothing was written.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A write names something that does not exist. Nothing was written.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// The database URL or data directory is not usable (never silently replaced by a new one).
    #[error("cannot open the store: {0}")]
    Open(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// Result alias for the store.
pub type Result<T, E = StoreError> = core::result::Result<T, E>;

/// One write. [`Store::apply`] runs a list of them in one transaction, checking each one's
/// precondition; the first that fails rolls the whole list back. A later write in the list sees
/// the earlier ones (an account created first can author a chart created next).
///
/// Besides the preconditions listed on each variant, every write is NotFound if it names a clinic,
/// account, chart or invite that does not exist *in its clinic* (the account of a certificate, an
/// author, inviter, invitee, wrapper or recipient, the chart of a state, wrap or record), and
/// Conflict if a u64 counter it carries is above `i64::MAX`, the most both databases store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Write {
    /// A new clinic. Conflict if the id exists.
    CreateClinic(Clinic),
    /// A new manifest. Conflict unless the stored version is `expected_version` and
    /// `manifest_version` is `expected_version + 1`.
    UpdateManifest {
        /// The clinic.
        clinic: ClinicId,
        /// The version the writer started from.
        expected_version: u64,
        /// The new manifest bytes.
        manifest: Sealed,
        /// Its root signature.
        signature: Sealed,
    },
    /// A new account with its keys and OPAQUE registration record. Conflict if the id or the
    /// login (within the clinic) exists; NotFound if the clinic does not.
    CreateAccount {
        /// The account.
        account: Account,
        /// Its public keys and sealed secrets.
        keys: AccountKeys,
        /// The serialized OPAQUE registration record.
        opaque_record: Vec<u8>,
    },
    /// A password change: the new OPAQUE record and the Account Key under the new KEK, together.
    /// Ends every session of the user (they were opened with the old password).
    UpdateCredentials {
        /// The clinic.
        clinic: ClinicId,
        /// The user.
        user: UserId,
        /// The new OPAQUE record.
        opaque_record: Vec<u8>,
        /// The Account Key wrapped under the new KEK.
        wrapped_account_key: Sealed,
    },
    /// Activate or revoke an account. Revoking also deletes its sessions.
    SetAccountStatus {
        /// The clinic.
        clinic: ClinicId,
        /// The user.
        user: UserId,
        /// The new status.
        status: AccountStatus,
    },
    /// A new certificate. Conflict unless `serial` is one more than the user's highest (or 1).
    PutCertificate(Certificate),
    /// Mark a certificate revoked (idempotent for an already revoked one).
    RevokeCertificate {
        /// The clinic.
        clinic: ClinicId,
        /// The user.
        user: UserId,
        /// Which certificate.
        serial: u64,
        /// When.
        at: i64,
        /// The signed statement of the revocation, kept with the certificate (none where the
        /// revocation is implied by another signed record, or for a test fixture).
        revocation: Option<vaiti_core::Revocation>,
    },
    /// A new invite in state `Open`. Conflict if the id exists.
    CreateInvite(Invite),
    /// The invitee signed up: `Open` → `Bound`, recording the new account and the binding.
    /// Conflict unless the invite is `Open` and `now < expires_at` — single use, never after expiry.
    BindInvite {
        /// The clinic.
        clinic: ClinicId,
        /// The invite.
        id: InviteId,
        /// The account created with it.
        invitee: UserId,
        /// The invitee's signed binding.
        binding: Sealed,
        /// The time of the request.
        now: i64,
    },
    /// The inviter's client finished the join: `Bound` → `Completed`. Conflict otherwise.
    CompleteInvite {
        /// The clinic.
        clinic: ClinicId,
        /// The invite.
        id: InviteId,
    },
    /// `Open` or `Bound` → `Revoked`. Conflict otherwise.
    RevokeInvite {
        /// The clinic.
        clinic: ClinicId,
        /// The invite.
        id: InviteId,
    },
    /// A new chart. Conflict if the id exists.
    CreateChart(Chart),
    /// The next chart-state entry. Conflict unless `seq` is one more than the chart's last (or 1).
    ///
    /// It names its clinic like every other write: [`ChartStateEntry`] carries only the chart, and
    /// chart ids are scoped to a clinic, so without it the store could not refuse an entry for a
    /// chart of another clinic.
    AppendChartState {
        /// The clinic.
        clinic: ClinicId,
        /// The entry.
        entry: ChartStateEntry,
    },
    /// A public-key wrap. Conflict if an identical (scope, recipient, recipient key) wrap exists.
    PutKeyWrap(KeyWrap),
    /// A chart's identity key under a directory key. Conflict if one exists for (chart, epoch).
    PutDirectoryWrap(DirectoryWrap),
    /// The next version of an object. Conflict unless `version` is one more than the object's last
    /// (or 1), and a later version keeps the object's chart and kind.
    PutRecordVersion(RecordVersion),
    /// The next leaf of a clinic's access log and the subtree hashes it completes. Conflict unless
    /// `leaf.index` is the clinic's current number of leaves (indices are dense, never skipping)
    /// or if a node exists; NotFound for an unknown clinic or chart.
    AppendLogLeaf {
        /// The leaf.
        leaf: LogLeaf,
        /// The perfect subtrees the leaf completes (its own hash at level 0 included).
        nodes: Vec<LogNode>,
    },
    /// A signed checkpoint, replacing one of the same size (witnesses add co-signatures).
    /// Conflict if `size` is larger than the clinic's log.
    PutLogCheckpoint(LogCheckpoint),
    /// A witness's verified co-signature of the stored checkpoint of `size`, replacing the one
    /// the same witness (name and key ID) made of the same checkpoint. NotFound if no checkpoint
    /// of that size is stored; Conflict if the stored co-signature is newer (a larger timestamp).
    PutLogCosignature(vaiti_core::LogCosignature),
    /// A new detection alert. Conflict if its id exists in the clinic or it is already
    /// acknowledged; NotFound for an unknown clinic or actor.
    RaiseAlert(Alert),
    /// Marks an alert acknowledged (idempotent: the first acknowledgement is kept). NotFound for
    /// an unknown alert or account.
    AcknowledgeAlert {
        /// The clinic.
        clinic: ClinicId,
        /// The alert.
        id: AlertId,
        /// Who acknowledged it.
        by: UserId,
        /// When.
        at: i64,
    },
    /// Ends every session of an account, leaving the account active (a detection lock: the user
    /// must log in again). NotFound for an unknown account.
    EndSessions {
        /// The clinic.
        clinic: ClinicId,
        /// The user.
        user: UserId,
    },
    /// A patient's report of an access-log entry, with its wraps (schema 5). NotFound for an
    /// unknown clinic, chart, reporter or reader, or when `entry` is not a leaf of the report's
    /// chart; Conflict if the report id exists in the clinic or two wraps name one reader.
    AddReport(vaiti_core::report::PatientReport),
}

/// A pending OPAQUE login: the server's state between the two login round trips, kept in the
/// store because app servers are stateless. Single use ([`Store::take_pending_login`]) and
/// short-lived.
///
/// `Debug` prints the length of `state`, never its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// A random id, handed to the client with the first reply and sent back with the second.
    pub id: [u8; 16],
    /// The clinic.
    pub clinic: ClinicId,
    /// The account logging in; `None` for a login name with no account (answered like any
    /// other so the reply does not reveal which names exist).
    pub user: Option<UserId>,
    /// The serialized opaque-ke `ServerLogin` state.
    pub state: Vec<u8>,
    /// Usable while `now < expires_at`.
    pub expires_at: i64,
}

impl core::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("id", &self.id)
            .field("clinic", &self.clinic)
            .field("user", &self.user)
            .field("state_len", &self.state.len())
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Storage for one server, hosting any number of clinics that share nothing: every read names
/// its clinic, and no read returns another clinic's rows.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Runs `writes` in one transaction; all or nothing.
    async fn apply(&self, writes: Vec<Write>) -> Result<()>;

    /// A server-wide secret (e.g. the OPAQUE server setup), if stored.
    async fn server_secret(&self, name: &str) -> Result<Option<Vec<u8>>>;
    /// Stores `value` under `name` unless something is there already; returns what is stored
    /// (so concurrent first starts agree on one value).
    async fn init_server_secret(&self, name: &str, value: &[u8]) -> Result<Vec<u8>>;

    /// A clinic.
    async fn clinic(&self, id: ClinicId) -> Result<Option<Clinic>>;
    /// Every clinic's id, oldest first (ties by id). For server-wide work at start-up, such as
    /// recording the web app release in every clinic's log.
    async fn clinic_ids(&self) -> Result<Vec<ClinicId>>;

    /// An account by id.
    async fn account(&self, clinic: ClinicId, user: UserId) -> Result<Option<Account>>;
    /// An account by login (staff email or patient handle), exactly as stored.
    async fn account_by_login(&self, clinic: ClinicId, login: &str) -> Result<Option<Account>>;
    /// Every account of a clinic, oldest first.
    async fn accounts(&self, clinic: ClinicId) -> Result<Vec<Account>>;
    /// An account's public keys and sealed secrets.
    async fn account_keys(&self, clinic: ClinicId, user: UserId) -> Result<Option<AccountKeys>>;
    /// An account's OPAQUE registration record.
    async fn opaque_record(&self, clinic: ClinicId, user: UserId) -> Result<Option<Vec<u8>>>;

    /// Stores a new session. Conflict if the token hash exists or the account is revoked; NotFound
    /// if the account does not exist. A session never outlives its account's revocation, even when
    /// the two race.
    async fn create_session(&self, session: &Session) -> Result<()>;
    /// The session with this token hash, if it exists and `now < expires_at`.
    async fn session(&self, token_hash: &[u8; 32], now: i64) -> Result<Option<Session>>;
    /// Ends a session (no error if it does not exist).
    async fn delete_session(&self, token_hash: &[u8; 32]) -> Result<()>;
    /// Deletes sessions with `expires_at <= now`; returns how many.
    async fn delete_expired_sessions(&self, now: i64) -> Result<u64>;

    /// Stores a pending OPAQUE login. Conflict if the id exists; NotFound if the clinic (or the
    /// account, when `user` is set) does not exist in it. Not a [`Write`]: it is frequent and
    /// independent of everything else, so it never needs to share a transaction.
    async fn put_pending_login(&self, login: &PendingLogin) -> Result<()>;
    /// Deletes the pending login with this id in `clinic` and returns it if `now < expires_at`;
    /// an expired one is deleted all the same and `None` returned. Atomic and single use: of any
    /// number of takes of one id, even concurrent ones, at most one returns it. A take naming
    /// another clinic returns `None` and leaves the row alone.
    async fn take_pending_login(
        &self,
        clinic: ClinicId,
        id: &[u8; 16],
        now: i64,
    ) -> Result<Option<PendingLogin>>;
    /// Deletes pending logins with `expires_at <= now`; returns how many.
    async fn delete_expired_pending_logins(&self, now: i64) -> Result<u64>;

    /// Every certificate of a clinic, by user then serial.
    async fn certificates(&self, clinic: ClinicId) -> Result<Vec<Certificate>>;
    /// A user's certificate with the highest serial (their current one), if any.
    async fn latest_certificate(
        &self,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<Option<Certificate>>;

    /// An invite.
    async fn invite(&self, clinic: ClinicId, id: InviteId) -> Result<Option<Invite>>;
    /// A page of the invites made by `inviter`, oldest first: at most `limit` from the
    /// `position`-th on.
    async fn invites_by(
        &self,
        clinic: ClinicId,
        inviter: UserId,
        position: u64,
        limit: u32,
    ) -> Result<Vec<Invite>>;
    /// How many invites `inviter` has made.
    async fn invite_count_by(&self, clinic: ClinicId, inviter: UserId) -> Result<u64>;
    /// A page of the clinic's patient invites that are bound (the patient signed up) and wait
    /// for a clinician of the chart's care team to complete them, oldest first: at most `limit`
    /// from the `position`-th on.
    async fn bound_patient_invites(
        &self,
        clinic: ClinicId,
        position: u64,
        limit: u32,
    ) -> Result<Vec<Invite>>;

    /// A chart.
    async fn chart(&self, clinic: ClinicId, id: ChartId) -> Result<Option<Chart>>;
    /// A page of a branch's charts, oldest first: at most `limit` from the `position`-th on.
    async fn charts_in_branch(
        &self,
        clinic: ClinicId,
        branch: BranchId,
        position: u64,
        limit: u32,
    ) -> Result<Vec<Chart>>;
    /// A page of the charts for which `user` holds at least one key wrap (their caseload, or a
    /// patient's own), in the order the user was first given a key of each: at most `limit`
    /// from the `position`-th on.
    async fn charts_wrapped_to(
        &self,
        clinic: ClinicId,
        user: UserId,
        position: u64,
        limit: u32,
    ) -> Result<Vec<ChartId>>;
    /// A chart's state entries in sequence order.
    async fn chart_states(&self, clinic: ClinicId, chart: ChartId) -> Result<Vec<ChartStateEntry>>;

    /// Wraps to `recipient`, restricted to one chart's when `chart` is given, oldest first.
    async fn key_wraps(
        &self,
        clinic: ClinicId,
        recipient: Recipient,
        chart: Option<ChartId>,
    ) -> Result<Vec<KeyWrap>>;
    /// Identity-key wraps under a branch's directory key of `epoch`, oldest first.
    async fn directory_wraps(
        &self,
        clinic: ClinicId,
        branch: BranchId,
        epoch: u32,
    ) -> Result<Vec<DirectoryWrap>>;

    /// A chart's identity key under its branch directory key of the highest epoch, if any.
    async fn directory_wrap(
        &self,
        clinic: ClinicId,
        chart: ChartId,
    ) -> Result<Option<DirectoryWrap>>;
    /// The latest version of every object of `chart` whose kind is in `kinds`, oldest object first.
    async fn latest_records(
        &self,
        clinic: ClinicId,
        chart: ChartId,
        kinds: &[u8],
    ) -> Result<Vec<RecordVersion>>;
    /// Every version of an object, in order.
    async fn record_versions(
        &self,
        clinic: ClinicId,
        object: ObjectId,
    ) -> Result<Vec<RecordVersion>>;

    /// The number of leaves in a clinic's access log.
    async fn log_size(&self, clinic: ClinicId) -> Result<u64>;
    /// The stored hashes of the perfect subtrees `(level, index)`, in the order asked; `None`
    /// for one not stored (not complete yet, or missing).
    async fn log_nodes(
        &self,
        clinic: ClinicId,
        nodes: &[(u8, u64)],
    ) -> Result<Vec<Option<[u8; 32]>>>;
    /// The leaves with `start <= index < end`, in order.
    async fn log_leaves(&self, clinic: ClinicId, start: u64, end: u64) -> Result<Vec<LogLeaf>>;
    /// The newest `limit` leaves concerning `chart` with an index below `before`, in order
    /// (oldest first): one page of the chart's access log, read newest page first.
    async fn chart_log_leaves(
        &self,
        clinic: ClinicId,
        chart: ChartId,
        before: u64,
        limit: u32,
    ) -> Result<Vec<LogLeaf>>;
    /// The newest leaf concerning `chart` (one index lookup: what the next leaf of the chart
    /// names as its predecessor).
    async fn last_chart_log_leaf(
        &self,
        clinic: ClinicId,
        chart: ChartId,
    ) -> Result<Option<LogLeaf>>;
    /// The newest leaf of a clinic's log whose action byte — the leaf's second byte, in
    /// `vaiti-log`'s version-1 layout — is `action`. No index covers the action: the log is read
    /// backwards from its newest leaf until one matches (the whole log when none does), so this
    /// is for rare, server-wide work such as start-up, never for a request.
    async fn last_log_leaf_with_action(
        &self,
        clinic: ClinicId,
        action: u8,
    ) -> Result<Option<LogLeaf>>;
    /// The checkpoint of the largest size.
    async fn latest_log_checkpoint(&self, clinic: ClinicId) -> Result<Option<LogCheckpoint>>;
    /// The stored checkpoint of exactly `size`.
    async fn log_checkpoint(&self, clinic: ClinicId, size: u64) -> Result<Option<LogCheckpoint>>;
    /// Every witness co-signature of the checkpoint of `size`, by witness name and key ID.
    async fn log_cosignatures(
        &self,
        clinic: ClinicId,
        size: u64,
    ) -> Result<Vec<vaiti_core::LogCosignature>>;
    /// The co-signature of the largest checkpoint the witness `(name, key ID)` co-signed (one
    /// index lookup).
    async fn latest_log_cosignature(
        &self,
        clinic: ClinicId,
        witness_name: &str,
        witness_key_id: u32,
    ) -> Result<Option<vaiti_core::LogCosignature>>;

    /// A clinic's alerts, newest first, at most `limit` of them.
    async fn alerts(&self, clinic: ClinicId, limit: u32) -> Result<Vec<Alert>>;

    /// A clinic's patient reports, oldest first, each with its wraps to `reader` only (every
    /// wrap, ordered by reader id, when `reader` is none).
    async fn reports(
        &self,
        clinic: ClinicId,
        reader: Option<UserId>,
    ) -> Result<Vec<vaiti_core::report::PatientReport>>;
}
