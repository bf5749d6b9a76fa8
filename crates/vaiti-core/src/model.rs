//! What the server stores, as the server sees it: ids, enums, times, public material and ciphertext.
//!
//! Every encrypted thing is [`Sealed`] bytes produced on a client by `vaiti-crypto` (an envelope,
//! a public-key wrap, a signature); the server can neither read nor make one. Times are seconds
//! since the Unix epoch (UTC).

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::ids::{BranchId, ChartId, ClinicId, InviteId, KeyId, ObjectId, UserId};

/// Opaque bytes made by a client: an envelope, a wrap, a signature, a signed manifest. In JSON,
/// base64url without padding. `Debug` prints only the length: ciphertext does not belong in logs.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Sealed(pub Vec<u8>);

impl Sealed {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Sealed {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

impl Serialize for Sealed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Sealed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        URL_SAFE_NO_PAD
            .decode(s.as_bytes())
            .map(Sealed)
            .map_err(serde::de::Error::custom)
    }
}

/// The OpenAPI pattern of [`Sealed`]: exactly the strings the server decodes.
#[cfg(feature = "openapi")]
const SEALED_PATTERN: &str =
    "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$";

/// In the OpenAPI document: a base64url string without padding.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Sealed {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("base64url".into())))
            .content_encoding("base64url")
            // Canonical base64url without padding, as the server decodes it: no length of the
            // form 4k + 1, and no stray bits in the last character.
            .pattern(Some(SEALED_PATTERN))
            .description(Some(
                "Opaque bytes made by a client (ciphertext, a wrap, a signature, public material): \
                 canonical base64url without padding. The server can neither read nor make one.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Sealed {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("Sealed")
    }
}

/// A staff role. A user may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages the clinic: branches, staff, decoys, alerts.
    Admin,
    /// A clinician: care teams, notes.
    Therapist,
    /// Front desk: adds and finds patients, invites them to the portal; never reads notes.
    Frontdesk,
    /// Reads access logs.
    Auditor,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Therapist, Role::Frontdesk, Role::Auditor];

    /// The name used in the CLI, the API and the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Therapist => "therapist",
            Role::Frontdesk => "frontdesk",
            Role::Auditor => "auditor",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Whether an account is a member of staff or a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    /// Staff: logs in with an email address; holds roles.
    Staff,
    /// A patient: logs in with a random handle printed on their kit; no plaintext identifier.
    Patient,
}

/// Whether an account may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    /// Signed up and usable.
    Active,
    /// Revoked by an admin or the inviter; can no longer log in.
    Revoked,
}

/// A clinic: its id and its current root-signed manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Clinic {
    /// The clinic.
    pub id: ClinicId,
    /// The manifest bytes (escrow key, log key, witnesses, branches, directory key ids), as signed.
    pub manifest: Sealed,
    /// The root key's signature over the manifest.
    pub manifest_signature: Sealed,
    /// Increases by one with every new manifest; clients refuse to go backwards.
    pub manifest_version: u64,
    /// When the clinic was created.
    pub created_at: i64,
}

/// An account, as the server needs it to route and authorise requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    /// The clinic the account belongs to.
    pub clinic: ClinicId,
    /// The account.
    pub id: UserId,
    /// Staff or patient.
    pub kind: AccountKind,
    /// What the user types to log in: a staff email, or a patient's random handle.
    pub login: String,
    /// A staff member's display name (patients have none on the server).
    pub display_name: Option<String>,
    /// Staff roles (empty for patients).
    pub roles: Vec<Role>,
    /// Branches a staff member works in.
    pub branches: Vec<BranchId>,
    /// Active or revoked.
    pub status: AccountStatus,
    /// When the account was created.
    pub created_at: i64,
}

/// A user's public keys and their secrets sealed under keys only the user can derive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountKeys {
    /// The Account Key wrapped under the KEK from OPAQUE's export key.
    pub wrapped_account_key: Sealed,
    /// The HPKE decryption key seed under the Account Key.
    pub wrapped_decryption_key: Sealed,
    /// The Ed25519 signing key seed under the Account Key.
    pub wrapped_signing_key: Sealed,
    /// The local cache key under the Account Key.
    pub wrapped_cache_key: Sealed,
    /// The pinned clinic root fingerprint under the Account Key.
    pub root_pin: Sealed,
    /// The X-Wing public key (1,216 bytes).
    pub encryption_public_key: Sealed,
    /// The Ed25519 public key (32 bytes).
    pub verifying_key: Sealed,
}

/// A login session. The token itself is never stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the bearer token.
    pub token_hash: [u8; 32],
    /// The clinic.
    pub clinic: ClinicId,
    /// The logged-in user.
    pub user: UserId,
    /// When the session started.
    pub created_at: i64,
    /// When it stops being accepted.
    pub expires_at: i64,
}

/// A key-directory certificate: a signed binding of a user to their public keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Certificate {
    /// The clinic.
    pub clinic: ClinicId,
    /// The certified user.
    pub user: UserId,
    /// Increases with every certificate issued to the user.
    pub serial: u64,
    /// The certificate body as signed (user id, email or handle, roles, branches, keys, expiry).
    pub body: Sealed,
    /// The issuer's signature (label "vaiti v1 certificate").
    pub signature: Sealed,
    /// The key id of the issuer: the root key (staff) or the inviting clinician (patients).
    pub issuer_key: KeyId,
    /// When the certificate expires.
    pub expires_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// The signed statement of that revocation (`signed::RevocationV1`). Clients count a
    /// revocation the server reports without one too (a server can always refuse service), but
    /// only a signed one says who revoked, and only a signed one is remembered by other devices.
    /// Absent for revocations made before statements were signed, and for a patient's old
    /// portal account that a newer chart state replaced (the state is the signed statement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
}

/// A signed revocation of an account: the body (`signed::RevocationV1`) as signed and the
/// revoker's signature (label `vaiti v1 revocation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revocation {
    /// The body as signed.
    pub body: Sealed,
    /// The revoker's signature.
    pub signature: Sealed,
}

/// What an invite is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum InviteKind {
    /// A staff member, with roles and branches in the signed invite.
    Staff,
    /// A patient, to the portal of one chart.
    Patient,
}

/// Why a chart is opened: stated in the signed request and kept in its access-log leaf, so the
/// patient and auditors see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AccessPurpose {
    /// Care of the patient (clinicians, the patient themself).
    Treatment,
    /// Running the clinic: front desk, scheduling, billing.
    Administration,
    /// Checking the access log itself.
    Audit,
    /// Break-glass access outside the usual care.
    Emergency,
}

impl AccessPurpose {
    /// Every purpose.
    pub const ALL: [AccessPurpose; 4] = [
        AccessPurpose::Treatment,
        AccessPurpose::Administration,
        AccessPurpose::Audit,
        AccessPurpose::Emergency,
    ];

    /// The name used in the CLI and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            AccessPurpose::Treatment => "treatment",
            AccessPurpose::Administration => "administration",
            AccessPurpose::Audit => "audit",
            AccessPurpose::Emergency => "emergency",
        }
    }

    /// Parses a name from [`AccessPurpose::as_str`].
    pub fn parse(name: &str) -> Option<AccessPurpose> {
        AccessPurpose::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// The lifecycle of an invite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum InviteState {
    /// Waiting for the invitee.
    Open,
    /// The invitee signed up and bound their keys; the inviter's client has not yet completed it.
    Bound,
    /// The inviter's client certified the new member and wrapped what they need.
    Completed,
    /// Revoked by the inviter or an admin before it was completed.
    Revoked,
}

/// An invite. Nothing is wrapped to the invite secret; the server stores the signed invite and,
/// once used, the invitee's signed binding of their new keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invite {
    /// The clinic.
    pub clinic: ClinicId,
    /// Derived from the invite secret by the inviter's client.
    pub id: InviteId,
    /// Staff or patient.
    pub kind: InviteKind,
    /// Who invited.
    pub inviter: UserId,
    /// For a patient invite: the chart.
    pub chart: Option<ChartId>,
    /// The signed invite (role, branch, email or chart, expiry, the invite's verifying key).
    pub body: Sealed,
    /// The inviter's signature over it.
    pub signature: Sealed,
    /// When the invite stops being usable (default 72 hours after creation).
    pub expires_at: i64,
    /// Where it is in its lifecycle.
    pub state: InviteState,
    /// The account created with it, once bound.
    pub invitee: Option<UserId>,
    /// The invitee's binding of their new keys, signed with the key derived from the secret.
    pub binding: Option<Sealed>,
    /// When it was created.
    pub created_at: i64,
}

/// A patient's chart: only ids and times on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Chart {
    /// The clinic.
    pub clinic: ClinicId,
    /// The chart.
    pub id: ChartId,
    /// The branch whose directory key seals its search card.
    pub branch: BranchId,
    /// Who created it.
    pub created_by: UserId,
    /// When.
    pub created_at: i64,
}

/// One signed entry of a chart's hash-chained state (care team, epoch, patient account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChartStateEntry {
    /// The chart.
    pub chart: ChartId,
    /// 1, 2, 3, ... with no gaps.
    pub seq: u64,
    /// The state as signed (it names the previous entry's hash).
    pub body: Sealed,
    /// The author's signature (label "vaiti v1 chart state").
    pub signature: Sealed,
    /// Who made the change.
    pub author: UserId,
    /// The state's hash, carried in every note's signed context.
    pub hash: [u8; 32],
    /// When.
    pub created_at: i64,
}

/// What a public-key wrap carries and where it belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum WrapScope {
    /// A case key of a chart, tier and epoch.
    Case {
        /// The chart.
        chart: ChartId,
        /// 1 = team, 2 = shared (as in the envelope formats).
        tier: u8,
        /// The key epoch.
        epoch: u32,
    },
    /// A chart's identity key.
    Identity {
        /// The chart.
        chart: ChartId,
    },
    /// A branch's directory key of an epoch.
    Directory {
        /// The branch.
        branch: BranchId,
        /// The key epoch.
        epoch: u32,
    },
    /// The clinic root key.
    Root,
}

impl WrapScope {
    /// The chart this wrap belongs to, if any.
    pub fn chart(&self) -> Option<ChartId> {
        match self {
            WrapScope::Case { chart, .. } | WrapScope::Identity { chart } => Some(*chart),
            _ => None,
        }
    }
}

/// Who a wrap is for: a user's public key, or the clinic escrow key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Recipient {
    /// A user's X-Wing public key.
    User {
        /// The user.
        user: UserId,
    },
    /// The clinic's escrow public key.
    Escrow,
}

/// A key wrapped to a public key, signed by whoever wrapped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyWrap {
    /// The clinic.
    pub clinic: ClinicId,
    /// What the wrap carries and where it belongs.
    pub scope: WrapScope,
    /// Who it is for.
    pub recipient: Recipient,
    /// The recipient's public key id (the wrap is bound to it).
    pub recipient_key: KeyId,
    /// The wrap bytes ("VW" format).
    pub wrap: Sealed,
    /// The wrapper's signature.
    pub signature: Sealed,
    /// Who wrapped it.
    pub wrapped_by: UserId,
    /// When.
    pub created_at: i64,
}

/// A chart's identity key wrapped under its branch's directory key (front desk's access).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryWrap {
    /// The clinic.
    pub clinic: ClinicId,
    /// The chart whose identity key it carries.
    pub chart: ChartId,
    /// The branch.
    pub branch: BranchId,
    /// The directory key epoch.
    pub epoch: u32,
    /// The envelope (kind `IdentityKeyWrap`).
    pub envelope: Sealed,
}

/// One version of a stored object: the metadata a reader rebuilds the envelope context from, and
/// the ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordVersion {
    /// The clinic.
    pub clinic: ClinicId,
    /// The object.
    pub object: ObjectId,
    /// 1, 2, 3, ... with no gaps.
    pub version: u64,
    /// The envelope kind byte (note, draft, identity record, search card, questionnaire response).
    pub kind: u8,
    /// The chart.
    pub chart: ChartId,
    /// 0 none, 1 team, 2 shared.
    pub tier: u8,
    /// The key epoch.
    pub epoch: u32,
    /// The author.
    pub author: UserId,
    /// The author's signing key id.
    pub author_key: KeyId,
    /// When it was written (as in the signed context).
    pub created_at: i64,
    /// The previous version's hash (zero for version 1).
    pub prev_version_hash: [u8; 32],
    /// The chart state the author wrote under.
    pub chart_state_hash: [u8; 32],
    /// The content key, wrapped under the case, identity or directory key.
    pub wrapped_key: Sealed,
    /// The content envelope.
    pub envelope: Sealed,
    /// The author's signature.
    pub signature: Sealed,
}

/// Envelope kind bytes the server needs to route records (the same values as
/// `vaiti_crypto::Kind::to_byte`; `vaiti-client` has a test that they agree).
pub mod record_kind {
    /// A session note.
    pub const NOTE: u8 = 0x01;
    /// A chart's full identity record.
    pub const IDENTITY_RECORD: u8 = 0x03;
    /// A chart's search card.
    pub const SEARCH_CARD: u8 = 0x04;
}

/// Case-key tiers as stored (the same values as `vaiti_crypto::Tier::to_byte`).
pub mod tier {
    /// Process notes: the care team only.
    pub const TEAM: u8 = 1;
    /// Notes the patient may also read.
    pub const SHARED: u8 = 2;
}

/// One access-log leaf as stored. Its bytes are the `vaiti-log` leaf encoding (ids, enums,
/// hashes — never plaintext); the chart is repeated beside it so a chart's history can be read
/// without scanning the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLeaf {
    /// The clinic whose log it is in.
    pub clinic: ClinicId,
    /// Its index: 0, 1, 2, ... with no gaps.
    pub index: u64,
    /// The encoded leaf.
    pub leaf: Sealed,
    /// Its RFC 6962 leaf hash.
    pub leaf_hash: [u8; 32],
    /// The chart it concerns, if any.
    pub chart: Option<ChartId>,
    /// When it was appended.
    pub created_at: i64,
}

/// The hash of a complete perfect subtree of a clinic's log: leaves
/// `[index·2^level, (index+1)·2^level)`. Written once, when the subtree completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogNode {
    /// 0 for a leaf hash, 1 for a pair, ...
    pub level: u8,
    /// Its position among the subtrees of that level.
    pub index: u64,
    /// The hash.
    pub hash: [u8; 32],
}

/// A signed checkpoint of a clinic's log (C2SP signed note: the log's signature and witness
/// co-signatures).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogCheckpoint {
    /// The clinic.
    pub clinic: ClinicId,
    /// The tree size it commits to.
    pub size: u64,
    /// The signed note.
    pub note: Sealed,
    /// When it was stored (or last co-signed).
    pub created_at: i64,
}

/// A witness's co-signature on a stored checkpoint of a clinic's log (C2SP `cosignature/v1`),
/// verified by the server before it is stored. One per (clinic, size, witness); a later
/// co-signature of the same checkpoint by the same witness replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogCosignature {
    /// The clinic.
    pub clinic: ClinicId,
    /// The tree size of the co-signed checkpoint.
    pub size: u64,
    /// The witness's key name.
    pub witness_name: String,
    /// The witness's C2SP key ID.
    pub witness_key_id: u32,
    /// When the witness co-signed (POSIX seconds, from the signed line).
    pub timestamp: u64,
    /// The signature line, `— <name> <base64>`, without a newline.
    pub line: String,
    /// When it was stored.
    pub created_at: i64,
}

#[cfg(all(test, feature = "openapi"))]
mod sealed_pattern_tests {
    use super::*;

    /// The schema's pattern accepts exactly what `Sealed` decodes, for every string of up to
    /// three characters over a sample alphabet and every encoding of up to 7 bytes.
    #[test]
    fn the_pattern_is_what_the_server_decodes() {
        let pattern = regex::Regex::new(SEALED_PATTERN).unwrap();
        let alphabet: Vec<char> = "AQgwBEIMz09_-=+/".chars().collect();
        let mut strings = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(longer);
        }
        for n in 0..8u8 {
            strings.push(
                URL_SAFE_NO_PAD.encode((0..n).map(|i| i.wrapping_mul(97)).collect::<Vec<_>>()),
            );
        }
        for s in strings {
            let decodes =
                serde_json::from_value::<Sealed>(serde_json::Value::String(s.clone())).is_ok();
            assert_eq!(pattern.is_match(&s), decodes, "{s:?}");
        }
    }
}
