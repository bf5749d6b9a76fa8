//! Bodies of signed structures that the server may also read: invites, invite bindings and chart
//! states. The signer serialises one of these once (JSON, field order as declared) and signs
//! those exact bytes; verifiers parse only after the signature checks (clients), and the server
//! parses them only for its own defence-in-depth checks (who may act on an invite or chart), never
//! trusting them for anything a client relies on.
//!
//! They hold ids, roles, times and public keys: nothing about a patient beyond what the server's
//! tables already show (which chart, which staff members).

use serde::{Deserialize, Serialize};

use crate::ids::{BranchId, ChartId, ClinicId, InviteId, UserId};
use crate::model::{AccessPurpose, AccountKind, InviteKind, Role, Sealed};

/// An invite, v1, signed by the inviter (label `vaiti v1 invite`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteV1 {
    /// Always 1.
    pub v: u8,
    /// The clinic.
    pub clinic: ClinicId,
    /// The invite's id (derived from the secret).
    pub invite: InviteId,
    /// Staff or patient.
    pub kind: InviteKind,
    /// Staff roles granted (empty for a patient).
    pub roles: Vec<Role>,
    /// Staff branches (empty for a patient).
    pub branches: Vec<BranchId>,
    /// The staff member's email, their login name (none for a patient).
    pub email: Option<String>,
    /// The patient's chart (none for staff).
    pub chart: Option<ChartId>,
    /// When the invite stops being usable.
    pub expires_at: i64,
    /// The public half of the key derived from the secret (Ed25519, hex): verifies the binding.
    pub invite_key: String,
    /// The secret's check value for the clinic root (hex): see `InviteSecret::root_check`.
    pub root_check: String,
    /// Who invited.
    pub inviter: UserId,
}

/// The invitee's binding of their new account and keys to an invite, v1, signed with the key
/// derived from the invite secret (label `vaiti v1 invite binding`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingV1 {
    /// Always 1.
    pub v: u8,
    /// The clinic.
    pub clinic: ClinicId,
    /// The invite.
    pub invite: InviteId,
    /// The new account.
    pub user: UserId,
    /// Staff or patient.
    pub kind: AccountKind,
    /// The login name: the invited email, or the patient's random handle.
    pub login: String,
    /// The new account's X-Wing public key (base64url).
    pub encryption_key: Sealed,
    /// The new account's Ed25519 public key (hex).
    pub verifying_key: String,
    /// The name a new member of staff chose to be shown by (patients have none). The clinician
    /// or admin who completes the join copies it into the certificate, so colleagues and the
    /// access log show a name rather than an email address. Absent from older bindings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// How a binding is stored in `Invite::binding`: the 65-byte signature, then the body's bytes.
pub const BINDING_SIGNATURE_LEN: usize = 65;

/// One entry of a chart's hash-chained state, v1, signed by its author (label
/// `vaiti v1 chart state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartStateV1 {
    /// Always 1.
    pub v: u8,
    /// The clinic.
    pub clinic: ClinicId,
    /// The chart.
    pub chart: ChartId,
    /// 1, 2, 3, ... with no gaps.
    pub seq: u64,
    /// The previous entry's hash (hex; 64 zeros for the first).
    pub prev: String,
    /// The branch whose directory holds the chart.
    pub branch: BranchId,
    /// The clinicians who may read and write the chart's notes.
    pub care_team: Vec<UserId>,
    /// The patient's portal account, once they have one.
    pub patient: Option<UserId>,
    /// The current case-key epoch (starts at 1; each removal makes the next).
    pub epoch: u32,
    /// Who made this change.
    pub author: UserId,
    /// When.
    pub created_at: i64,
}

/// A request to open a chart (release its keys), v1, signed by the requesting user (label
/// `vaiti v1 log request`). The server appends an access-log leaf carrying this signature in the
/// same transaction as the release; the client refuses the keys unless that leaf, its inclusion
/// proof and a signed checkpoint come with them (`docs/access-log.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRequestV1 {
    /// Always 1.
    pub v: u8,
    /// The clinic.
    pub clinic: ClinicId,
    /// The chart to open.
    pub chart: ChartId,
    /// Who asks.
    pub user: UserId,
    /// Why.
    pub purpose: AccessPurpose,
    /// When the client made the request (seconds since the epoch); the server refuses requests
    /// more than a few minutes from its own clock.
    pub time: i64,
    /// 16 random bytes (hex), so no two requests are the same.
    pub nonce: String,
}

/// The revocation of an account, v1, signed by whoever revoked it (label `vaiti v1 revocation`):
/// an admin for a member of staff, a member of staff for a patient's portal account. From
/// `revoked_at` on, no certificate of `user` counts: clients wrap nothing more to them, renew
/// nothing of theirs, and accept their signatures only on what was signed before. The statement
/// is kept with the user's certificates in the key directory, so a server cannot undo it without
/// hiding it, and a device that has seen it remembers it (`docs/protocol.md`, "Revocation").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationV1 {
    /// Always 1.
    pub v: u8,
    /// The clinic.
    pub clinic: ClinicId,
    /// The revoked account.
    pub user: UserId,
    /// Who revoked it (whose key signs this).
    pub revoked_by: UserId,
    /// When (seconds since the epoch); the server refuses a time more than a few minutes from
    /// its own clock.
    pub revoked_at: i64,
}
