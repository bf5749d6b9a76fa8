//! The JSON API's request and response bodies, shared by the server and its clients.
//!
//! Only ids, public material and [`Sealed`] ciphertext: see `docs/protocol.md` for the flows.

use serde::{Deserialize, Serialize};

use crate::ids::{BranchId, ChartId, ClinicId, InviteId, KeyId, ObjectId, UserId};
use crate::model::{
    Account, AccountKeys, Certificate, Chart, ChartStateEntry, Clinic, DirectoryWrap, Invite,
    KeyWrap, Recipient, RecordVersion, Revocation, Sealed, WrapScope,
};

/// `POST /api/v1/opaque/register` request: for an invitee (`invite` names an open invite of the
/// clinic), or for a new clinic's first admin (no `invite`; the operator's clinic-creation token
/// in its header, and the clinic not yet stored).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterStart {
    /// The clinic of the new account.
    pub clinic: ClinicId,
    /// The new account, chosen by the client.
    pub user: UserId,
    /// OPAQUE `RegistrationRequest`.
    pub request: Sealed,
    /// The open invite the new account signs up with (absent for a new clinic's first admin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<InviteId>,
}

/// `POST /api/v1/opaque/register` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterResponse {
    /// OPAQUE `RegistrationResponse`.
    pub response: Sealed,
}

/// The first admin, as sent with a new clinic.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAdmin {
    /// The admin's user id, chosen by the client.
    pub id: UserId,
    /// The admin's email address, used to log in.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 254))]
    pub login: String,
    /// The name shown to colleagues and patients in access logs.
    pub display_name: Option<String>,
    /// Public keys and sealed secrets.
    pub keys: AccountKeys,
    /// OPAQUE `RegistrationUpload`.
    pub opaque_upload: Sealed,
}

/// A certificate as sent by a client (the server fills in clinic, user and serial).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewCertificate {
    /// The certificate body as signed.
    pub body: Sealed,
    /// The issuer's signature.
    pub signature: Sealed,
    /// The issuer's key id.
    pub issuer_key: KeyId,
    /// When the certificate expires.
    pub expires_at: i64,
}

/// A key wrap as sent by a client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewWrap {
    /// What the wrap carries.
    pub scope: WrapScope,
    /// Who it is for.
    pub recipient: Recipient,
    /// The recipient's public key id.
    pub recipient_key: KeyId,
    /// The wrap bytes.
    pub wrap: Sealed,
    /// The wrapper's signature.
    pub signature: Sealed,
}

/// `POST /api/v1/clinics` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateClinic {
    /// The new clinic's id, chosen by the client.
    pub id: ClinicId,
    /// The first manifest (version 1) as signed.
    pub manifest: Sealed,
    /// The root key's signature over it.
    pub manifest_signature: Sealed,
    /// The first admin.
    pub admin: NewAdmin,
    /// The admin's root-signed certificate (serial 1).
    pub certificate: NewCertificate,
    /// The root key wrapped to the admin and to escrow.
    pub root_wraps: Vec<NewWrap>,
}

/// `POST /api/v1/clinics` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClinicCreated {
    /// The clinic.
    pub clinic: ClinicId,
    /// Its first admin.
    pub admin: UserId,
}

/// `POST /api/v1/clinics/{clinic}/login/start` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginStart {
    /// A staff email or a patient handle.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 254))]
    pub login: String,
    /// OPAQUE `CredentialRequest`.
    pub request: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/login/start` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginChallenge {
    /// Names this login attempt in the second round (base64url, 16 bytes).
    pub login_id: String,
    /// OPAQUE `CredentialResponse`.
    pub response: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/login/finish` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginFinish {
    /// From the challenge.
    pub login_id: String,
    /// OPAQUE `CredentialFinalization`.
    pub finalization: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/login/finish` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoggedIn {
    /// The bearer token for `Authorization: Bearer ...` (base64url, 32 bytes).
    pub token: String,
    /// The logged-in account.
    pub user: UserId,
    /// When the session ends.
    pub expires_at: i64,
}

/// `GET /api/v1/clinics/{clinic}/me` response: what the client needs to unlock itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// The caller's account.
    pub account: Account,
    /// The caller's public keys and sealed secrets.
    pub keys: AccountKeys,
    /// The caller's certificates, oldest first.
    pub certificates: Vec<Certificate>,
    /// The clinic and its current manifest.
    pub clinic: Clinic,
}

/// `POST /api/v1/clinics/{clinic}/branches` request (admins only): a new manifest listing the
/// branch, and the branch's first directory key wrapped to the admin and to escrow.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateBranch {
    /// The manifest version the admin started from; the server refuses if it has moved on.
    pub expected_manifest_version: u64,
    /// The new manifest (version + 1) as signed by the root key.
    pub manifest: Sealed,
    /// The root key's signature over it.
    pub manifest_signature: Sealed,
    /// The branch's directory key wrapped to its holders (at least escrow and the admin).
    pub wraps: Vec<NewWrap>,
}

/// `GET /api/v1/clinics/{clinic}/wraps` response: the key wraps addressed to the caller.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyWraps {
    /// Oldest first.
    pub wraps: Vec<crate::model::KeyWrap>,
}

/// `GET /api/v1/clinics/{clinic}/directory` response: the clinic manifest and every certificate,
/// for clients to verify against the pinned root.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Directory {
    /// The clinic and its current manifest.
    pub clinic: Clinic,
    /// Every certificate of the clinic, by user then serial.
    pub certificates: Vec<Certificate>,
}

/// `POST /api/v1/clinics/{clinic}/invites` request: a signed invite (`signed::InviteV1`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateInvite {
    /// The invite body as signed.
    pub body: Sealed,
    /// The inviter's signature (label `vaiti v1 invite`).
    pub signature: Sealed,
}

/// `GET /api/v1/clinics/{clinic}/invites`: the caller's invites, oldest first, then (for a
/// clinician) the bound patient invites others made for charts of their care team.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteList {
    /// The invites.
    pub invites: Vec<Invite>,
    /// The bound invites the server would let the caller complete (their own staff invites, and
    /// patient invites of charts whose care team they are in). A hint of what to try: the client
    /// still checks every invite, binding and chart itself.
    #[serde(default)]
    pub completable: Vec<InviteId>,
    /// The position of the next page (`?position=`), absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// `GET /api/v1/clinics/{clinic}/invites/{invite}`: what an invitee needs to check an invite
/// before signing up. Only someone holding the invite secret knows the id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteLookup {
    /// The invite.
    pub invite: Invite,
    /// The clinic and its signed manifest.
    pub clinic: Clinic,
    /// The inviter's certificates.
    pub inviter_certificates: Vec<Certificate>,
}

/// `POST /api/v1/clinics/{clinic}/signup` request: a new account bound to an invite.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signup {
    /// The invite being used.
    pub invite: InviteId,
    /// The new account's id, chosen by the client.
    pub user: UserId,
    /// The login name: the invited email (staff) or a random handle (patients).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 254))]
    pub login: String,
    /// A staff member's display name.
    pub display_name: Option<String>,
    /// Public keys and sealed secrets.
    pub keys: AccountKeys,
    /// OPAQUE `RegistrationUpload`.
    pub opaque_upload: Sealed,
    /// The binding body (`signed::BindingV1`) as signed.
    pub binding: Sealed,
    /// Its signature with the key derived from the invite secret.
    pub binding_signature: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/signup` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedUp {
    /// The new account.
    pub user: UserId,
}

/// `POST /api/v1/clinics/{clinic}/invites/{invite}/complete` request: the inviter certifies the
/// new member and wraps what they need.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompleteInvite {
    /// The new member's certificate.
    pub certificate: NewCertificate,
    /// Keys wrapped to the new member (directory keys; a patient's identity and shared case keys).
    pub wraps: Vec<NewWrap>,
    /// For a patient: the chart-state entry naming their account.
    pub state: Option<NewChartState>,
}

/// `POST /api/v1/clinics/{clinic}/invites/{invite}/revoke` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeInvite {
    /// Also revoke the account created with the invite, if any.
    pub revoke_account: bool,
    /// With `revoke_account`, when the invite made an account: the caller's signed revocation
    /// of it (`signed::RevocationV1`, naming the invite's account, the caller, and a time within a
    /// few minutes of the server's clock). The server keeps it with the account's certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
}

/// A chart-state entry as sent by a client (`signed::ChartStateV1`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewChartState {
    /// 1, 2, 3, ...
    pub seq: u64,
    /// The body as signed.
    pub body: Sealed,
    /// The author's signature (label `vaiti v1 chart state`).
    pub signature: Sealed,
    /// The entry's hash (clients recompute it).
    pub hash: Sealed,
}

/// A record version as sent by its author (the chart comes from the path, the author from the
/// session).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewRecord {
    /// The object.
    pub object: ObjectId,
    /// 1, 2, 3, ...
    pub version: u64,
    /// The envelope kind byte.
    pub kind: u8,
    /// 0 none, 1 team, 2 shared.
    pub tier: u8,
    /// The key epoch.
    pub epoch: u32,
    /// The author's signing key id.
    pub author_key: KeyId,
    /// As in the signed context.
    pub created_at: i64,
    /// The previous version's hash (zeros for version 1).
    pub prev_version_hash: Sealed,
    /// The chart state the author wrote under.
    pub chart_state_hash: Sealed,
    /// The content key, wrapped.
    pub wrapped_key: Sealed,
    /// The content envelope.
    pub envelope: Sealed,
    /// The author's signature.
    pub signature: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/charts` request: a new chart, in one transaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateChart {
    /// The chart id, chosen by the client.
    pub chart: ChartId,
    /// The branch.
    pub branch: BranchId,
    /// The first chart-state entry (care team, epoch 1).
    pub state: NewChartState,
    /// The identity record, sealed under the chart's identity key.
    pub identity: NewRecord,
    /// The search card, sealed under the branch directory key.
    pub search_card: NewRecord,
    /// The directory key epoch the identity key is wrapped under.
    pub directory_epoch: u32,
    /// The identity key under the branch directory key.
    pub directory_wrap: Sealed,
    /// The identity key wrapped to the care team and escrow.
    pub wraps: Vec<NewWrap>,
}

/// A chart as listed: what finding a patient needs, never notes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChartSummary {
    /// The chart.
    pub chart: Chart,
    /// The latest search card (for holders of the branch directory key).
    pub search_card: Option<RecordVersion>,
    /// The identity key under the directory key (same holders).
    pub directory_wrap: Option<DirectoryWrap>,
    /// The latest identity record (for the care team and the patient).
    pub identity: Option<RecordVersion>,
    /// The identity key wrapped to the caller, if it is.
    pub identity_wrap: Option<KeyWrap>,
    /// The chart's signed state chain (with the identity record: the client checks who may have
    /// handed out the identity key).
    pub states: Vec<ChartStateEntry>,
}

/// `GET /api/v1/clinics/{clinic}/charts`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChartList {
    /// The charts, oldest first.
    pub charts: Vec<ChartSummary>,
    /// The position of the next page (`?position=`), absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// Everything about one chart the caller may see (in a [`ReleasedChart`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChartView {
    /// The chart.
    pub chart: Chart,
    /// The signed, hash-chained state, in order.
    pub states: Vec<ChartStateEntry>,
    /// Key wraps to the caller for this chart.
    pub wraps: Vec<KeyWrap>,
    /// The identity key under the branch directory key (front desk and admins of the branch).
    pub directory_wrap: Option<DirectoryWrap>,
    /// Every version of the identity record.
    pub identity: Vec<RecordVersion>,
    /// Every version of the search card (front desk and admins of the branch).
    pub search_card: Vec<RecordVersion>,
    /// Every version of every note the caller may read (none for front desk; the shared tier only
    /// for the patient).
    pub notes: Vec<RecordVersion>,
    /// Care-team members who hold no case key of the current epoch yet (added by front desk):
    /// a clinician of the team who holds the keys shares them on opening the chart. Only shown to
    /// the care team.
    pub keyless: Vec<UserId>,
    /// Per care-team member, the key epochs (1 to the current) of which they hold no case key:
    /// what a clinician may share with them, unasked or after confirming (the client's custody
    /// rules decide which). Only shown to the care team; members holding every epoch are left
    /// out.
    #[serde(default)]
    pub missing_epochs: Vec<MissingEpochs>,
}

/// A care-team member's key epochs without a case key (in a [`ChartView`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MissingEpochs {
    /// The member.
    pub user: UserId,
    /// The epochs, ascending.
    pub epochs: Vec<u32>,
}

impl ChartView {
    /// What the access-log leaf of this chart's release covers, in order: the signed `request`,
    /// every wrap handed out, and the identity key's directory wrap if one is. The server hashes
    /// these into the leaf (`vaiti_log::detail_hash`) and the client recomputes them from what
    /// it received: one definition, so the two cannot drift apart.
    pub fn release_detail_parts<'a>(&'a self, request: &'a [u8]) -> Vec<&'a [u8]> {
        let mut parts: Vec<&[u8]> = vec![request];
        parts.extend(self.wraps.iter().map(|w| w.wrap.as_bytes()));
        if let Some(d) = &self.directory_wrap {
            parts.push(d.envelope.as_bytes());
        }
        parts
    }
}

/// `POST /api/v1/clinics/{clinic}/charts/{chart}/release` and `…/access-log` request: a signed
/// request ([`crate::signed::ReleaseRequestV1`], label `vaiti v1 log request`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedRequest {
    /// The request's JSON bytes.
    pub request: Sealed,
    /// The requester's signature over them (65 bytes).
    pub signature: Sealed,
    /// The size of the newest checkpoint the client accepted (0 if none): the answer carries a
    /// consistency proof from it.
    pub known_log_size: u64,
}

/// The access-log evidence that comes with a release: the leaf recording it, included in a
/// signed checkpoint that extends the client's last one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogEvidence {
    /// The leaf's index.
    pub index: u64,
    /// The leaf (228 bytes, `vaiti_log::Leaf`).
    pub leaf: Sealed,
    /// The newest signed checkpoint (C2SP note), covering the leaf.
    pub checkpoint: String,
    /// The leaf's inclusion proof in that checkpoint's tree.
    pub inclusion: Sealed,
    /// A consistency proof from `known_log_size` to the checkpoint's size (empty when there is
    /// nothing to prove).
    pub consistency: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/charts/{chart}/release` response: the chart and the proof that
/// opening it is in the access log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleasedChart {
    /// The chart as the caller may see it.
    pub view: ChartView,
    /// The leaf recording this release, with its proofs.
    pub log: LogEvidence,
}

/// One leaf of a chart's access log, with its inclusion proof.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChartLogLeaf {
    /// The leaf's index in the clinic's log.
    pub index: u64,
    /// The leaf (228 bytes).
    pub leaf: Sealed,
    /// Its inclusion proof in the tree of the answer's checkpoint.
    pub inclusion: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/charts/{chart}/access-log` response: every leaf of the chart,
/// oldest first, ending with the leaf that records this reading (`log`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChartAccessLog {
    /// The chart's newest leaves before this reading (at most [`MAX_ACCESS_LOG_PAGE`]), oldest
    /// first.
    pub leaves: Vec<ChartLogLeaf>,
    /// The leaf recording this reading, the checkpoint every inclusion proof is against, and
    /// the consistency proof from the client's last checkpoint.
    pub log: LogEvidence,
    /// When the chart has older leaves: fetch them with `GET …/access-log?reading=<log.index>
    /// &size=<checkpoint size>&before=<next>`. Absent when `leaves` starts at the chart's first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// `GET /api/v1/clinics/{clinic}/charts/{chart}/access-log`: an older page of a reading begun
/// with the signed `POST` (whose leaf is `reading`), proofs against the same checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChartAccessLogPage {
    /// The chart's newest leaves before `before` (at most the limit), oldest first, each with
    /// its inclusion proof in the tree of the asked size.
    pub leaves: Vec<ChartLogLeaf>,
    /// As in [`ChartAccessLog`]: the `before` of the next older page, absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// `GET /api/v1/clinics/{clinic}/log/leaves`: a run of the clinic's leaves, for auditors and
/// admins recomputing the tree (`vaiti log verify`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLeaves {
    /// The first leaf's index.
    pub start: u64,
    /// The leaves (228 bytes each), in index order with no gaps.
    pub leaves: Vec<Sealed>,
    /// The stored subtree hashes these leaves complete, in append order: for each leaf, the leaf
    /// hash `(0, i)` and then every parent it completes. An auditor compares them with a
    /// recomputation, so an edited tree node is caught as well as an edited leaf.
    pub nodes: Vec<LogNodeHash>,
}

/// A stored subtree hash of the access log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogNodeHash {
    /// Its level (0 = a leaf).
    pub level: u8,
    /// Its index among the subtrees of that level.
    pub index: u64,
    /// The hash (32 bytes).
    pub hash: Sealed,
}

/// The most leaves one `GET /log/leaves` answers with.
pub const MAX_LOG_LEAVES_PAGE: u64 = 4096;

// ---- Pages ----
//
// Every list the server returns comes in pages of at most a fixed size, so no request costs the
// server work in proportion to a clinic's history. A page's `next` is the position to ask for
// next (`?position=`), absent on the last page; clients page through until it is absent. A
// page may be shorter than its limit (items the caller may not see are skipped) and still have
// a `next`. Out-of-range limits and positions are 400 `bad_request`.

/// The most leaves (each with its inclusion proof) one page of a chart's access log holds.
pub const MAX_ACCESS_LOG_PAGE: u32 = 256;
/// The most charts one `GET /charts` page holds.
pub const MAX_CHARTS_PAGE: u32 = 200;
/// The most invites one `GET /invites` page holds.
pub const MAX_INVITES_PAGE: u32 = 200;
/// The most alerts one `GET /alerts` page holds.
pub const MAX_ALERTS_PAGE: u32 = 1000;
/// The largest position or size a query string may name: what a signed 64-bit column holds.
pub const MAX_POSITION: u64 = i64::MAX as u64;
/// How long after a reading of a chart's access log its further pages may be fetched.
pub const ACCESS_LOG_READING_S: i64 = 15 * 60;

/// `POST /api/v1/clinics/{clinic}/charts/{chart}/state` request: a care-team change.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppendChartState {
    /// The new entry.
    pub state: NewChartState,
    /// Keys wrapped for the new state (a new member's keys, or a new epoch's).
    pub wraps: Vec<NewWrap>,
}

/// `POST /api/v1/clinics/{clinic}/charts/{chart}/wraps` request: case keys made by the first
/// clinician who opens the chart.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PutWraps {
    /// The wraps.
    pub wraps: Vec<NewWrap>,
}

/// `GET /api/v1/clinics/{clinic}/objects/{object}`: which chart an object belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectLocation {
    /// The object.
    pub object: ObjectId,
    /// Its chart.
    pub chart: ChartId,
}

/// `POST /api/v1/clinics/{clinic}/manifest` request: a new root-signed manifest version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateManifest {
    /// The version the admin's client started from.
    pub expected_manifest_version: u64,
    /// The new manifest bytes.
    pub manifest: Sealed,
    /// The root key's signature.
    pub manifest_signature: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/password/start` request: a login with the current password
/// (which the change must prove) and a new OPAQUE registration, for the caller's own account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordStart {
    /// OPAQUE `CredentialRequest` made from the Secret Key and the current password.
    pub login: Sealed,
    /// OPAQUE `RegistrationRequest` made from the Secret Key and the new password.
    pub request: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/password/start` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChallenge {
    /// This attempt's id (single use, 60 s), for `POST /password`.
    pub login_id: String,
    /// OPAQUE `CredentialResponse` to `login`.
    pub login_response: Sealed,
    /// OPAQUE `RegistrationResponse` to `request`.
    pub response: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/password` request: the proof of the current password, and the
/// new OPAQUE record and the Account Key under the new password's KEK, stored together.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePassword {
    /// The `login_id` of the [`PasswordChallenge`].
    pub login_id: String,
    /// OPAQUE `CredentialFinalization`: the current password proven.
    pub finalization: Sealed,
    /// OPAQUE `RegistrationUpload`.
    pub opaque_upload: Sealed,
    /// The Account Key wrapped under the KEK from the new registration's export key.
    pub wrapped_account_key: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/certificates` request: a renewed certificate for a member
/// (staff: root-signed by an admin's client; a patient: signed by a clinician of their care team).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenewCertificate {
    /// The certified user.
    pub user: UserId,
    /// The new certificate's serial: one more than the user's highest.
    pub serial: u64,
    /// The certificate.
    pub certificate: NewCertificate,
}

/// `GET /api/v1/clinics/{clinic}/log/checkpoint`: the newest signed checkpoint of the clinic's
/// access log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogCheckpointView {
    /// The tree size it commits to.
    pub size: u64,
    /// The C2SP signed note (checkpoint and signatures), as text.
    pub checkpoint: String,
    /// The log's verifier key (C2SP `name+keyid+base64`), to be listed in the clinic manifest.
    pub log_key: String,
    /// Checkpoints co-signed by the witnesses the clinic manifest lists: for each listed witness
    /// its newest co-signature, grouped by checkpoint (at most one entry per size, largest first),
    /// each with a consistency proof to `size`. Empty when no listed witness has co-signed.
    #[serde(default)]
    pub witnessed: Vec<WitnessedCheckpoint>,
}

/// A checkpoint of the clinic's log with witness co-signatures (see [`LogCheckpointView`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WitnessedCheckpoint {
    /// Its tree size.
    pub size: u64,
    /// The C2SP signed note: the log's signature and the witnesses' `cosignature/v1` lines.
    pub checkpoint: String,
    /// A consistency proof from this size to the newest checkpoint's (empty when equal).
    pub proof: Sealed,
}

/// `GET /api/v1/clinics/{clinic}/log/witness` (public): what a witness checks and co-signs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogWitnessView {
    /// The tree size of the newest checkpoint.
    pub size: u64,
    /// The newest checkpoint: a C2SP signed note with the log's signature only.
    pub checkpoint: String,
    /// A consistency proof from the size the witness asked about (`from`) to `size`; empty when
    /// `from` is 0 or not smaller than `size`.
    pub proof: Sealed,
}

/// The most witnesses a clinic manifest may list (servers and clients ignore a manifest's
/// witness policy beyond this with an error, never silently).
pub const MAX_WITNESSES: usize = 16;

/// The longest co-signature line accepted, in bytes (a `cosignature/v1` line is about 130).
pub const MAX_COSIGNATURE_LINE: usize = 512;

/// `POST /api/v1/clinics/{clinic}/log/cosignatures` request (public): a witness's co-signature.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubmitCosignature {
    /// The tree size of the co-signed checkpoint (one the server signed).
    pub size: u64,
    /// The `cosignature/v1` signature line, `— <witness name> <base64>`, without a newline.
    pub cosignature: String,
}

/// An inclusion or consistency proof: the concatenated 32-byte hashes (RFC 9162).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogProof {
    /// The proof's hashes.
    pub proof: Sealed,
}
