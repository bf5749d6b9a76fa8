//! Invites and join (DESIGN.md flow 2; `docs/protocol.md` "Invites and join").
//!
//! The inviter signs an invite and hands over a code `V1.<clinic>.<secret>` (the secret is 32
//! random bytes, base64url). The invitee's device looks the invite up, checks it — the clinic root
//! through the secret's root check (a server cannot present a root of its own), the manifest, the
//! inviter's certificate and signature — makes its keys, and signs a binding with the key derived
//! from the secret. The inviter's device completes the join on its next sync: it checks the binding
//! against the invite it signed, certifies the new member, and wraps what they need.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use vaiti_core::api::{
    CompleteInvite, CreateInvite, InviteList, InviteLookup, NewCertificate, RevokeInvite, SignedUp,
    Signup,
};
use vaiti_core::signed::{BINDING_SIGNATURE_LEN, BindingV1, InviteV1};
use vaiti_core::{
    AccountKind, BranchId, ChartId, Invite, InviteId, InviteKind, InviteState, Role, Sealed,
    UserId, WrapScope,
};
use vaiti_crypto::{
    ClinicId, InviteSecret, RootFingerprint, SecretKey, Signature, SignatureDomain, VerifyingKey,
};

use crate::ClientError;
use crate::account::{RegisterWith, STAFF_CERTIFICATE_S, new_account_keys, register};
use crate::api::Api;
use crate::conv::{core_clinic, core_key, crypto_user};
use crate::directory::{CertificateKind, CertificateV1, ManifestV1};
use crate::session::Session;

/// How long an invite stays usable unless the inviter says otherwise.
pub const DEFAULT_INVITE_S: i64 = 72 * 60 * 60;

/// The shortest validity accepted (short is safe; this only catches a unit mistake like `0h`).
pub const MIN_INVITE_S: i64 = 5;

/// The longest an invite may stay usable (the server refuses longer).
pub const MAX_INVITE_S: i64 = 30 * 24 * 60 * 60;

/// How long a patient's certificate lasts (renewed by their care team's clients on sync).
pub const PATIENT_CERTIFICATE_S: i64 = 365 * 24 * 60 * 60;

/// An invite code: the clinic and the secret.
#[derive(Debug)]
pub struct InviteCode {
    /// The clinic.
    pub clinic: ClinicId,
    /// The invite secret.
    pub secret: InviteSecret,
}

impl InviteCode {
    /// The printed form, `V1.<clinic hex>.<secret base64url>`.
    pub fn to_printed(&self) -> String {
        format!(
            "V1.{}.{}",
            hex::encode(self.clinic.as_bytes()),
            URL_SAFE_NO_PAD.encode(self.secret.to_bytes().as_ref())
        )
    }

    /// Parses a printed code (surrounding whitespace is ignored).
    pub fn parse(text: &str) -> Result<Self, ClientError> {
        let bad = || {
            ClientError::Usage(
                "that is not a vaiti invite code (it looks like V1.<32 hex characters>.<43 characters>)".into(),
            )
        };
        let mut parts = text.trim().split('.');
        let (Some("V1"), Some(clinic), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let clinic: [u8; 16] = hex::decode(clinic)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        let secret = URL_SAFE_NO_PAD.decode(secret).map_err(|_| bad())?;
        Ok(Self {
            clinic: ClinicId::from_bytes(clinic),
            secret: InviteSecret::from_bytes(&secret).map_err(|_| bad())?,
        })
    }

    /// The invite's id.
    pub fn invite_id(&self) -> InviteId {
        InviteId::from_bytes(self.secret.id())
    }
}

/// A new invite, ready to hand over.
#[derive(Debug)]
pub struct CreatedInvite {
    /// The invite's id.
    pub id: InviteId,
    /// The code for the invitee (secret: hand it over privately).
    pub code: InviteCode,
    /// When it expires.
    pub expires_at: i64,
}

async fn create_invite(
    s: &Session<'_>,
    kind: InviteKind,
    roles: Vec<Role>,
    branches: Vec<BranchId>,
    email: Option<String>,
    chart: Option<ChartId>,
    valid_for: i64,
) -> Result<CreatedInvite, ClientError> {
    if !(MIN_INVITE_S..=MAX_INVITE_S).contains(&valid_for) {
        return Err(ClientError::Usage(
            "an invite is valid for at least 5 seconds and at most 30 days".into(),
        ));
    }
    let secret = InviteSecret::generate()?;
    let id = InviteId::from_bytes(secret.id());
    let expires_at = s.now + valid_for;
    let body = InviteV1 {
        v: 1,
        clinic: s.me.account.clinic,
        invite: id,
        kind,
        roles,
        branches,
        email,
        chart,
        expires_at,
        invite_key: hex::encode(secret.binding_key().verifying_key().to_bytes()),
        root_check: hex::encode(secret.root_check(&s.me.root_fingerprint)),
        inviter: s.me.account.id,
    };
    let bytes = serde_json::to_vec(&body).map_err(|e| ClientError::Usage(e.to_string()))?;
    let signature = s.me.signing_key.sign(SignatureDomain::Invite, &bytes);
    s.api
        .post_no_content(
            &format!("{}/invites", s.me.clinic_path()),
            &CreateInvite {
                body: Sealed(bytes),
                signature: Sealed(signature.to_bytes().to_vec()),
            },
        )
        .await?;
    Ok(CreatedInvite {
        id,
        code: InviteCode {
            clinic: s.me.clinic,
            secret,
        },
        expires_at,
    })
}

/// Invites a member of staff (admins): their email, roles and branches go into the signed invite.
pub async fn invite_staff(
    s: &Session<'_>,
    email: &str,
    roles: &[Role],
    branch_names: &[String],
    valid_for: i64,
) -> Result<CreatedInvite, ClientError> {
    if !s.myself()?.has_role(Role::Admin) {
        return Err(ClientError::Usage("only an admin can invite staff".into()));
    }
    if roles.is_empty() {
        return Err(ClientError::Usage(
            "give the new member at least one role".into(),
        ));
    }
    let email = email.trim();
    if !email.contains('@') {
        return Err(ClientError::Usage(format!(
            "{email:?} is not an email address"
        )));
    }
    let mut branches = Vec::new();
    for name in branch_names {
        branches.push(s.branch(name)?.id);
    }
    create_invite(
        s,
        InviteKind::Staff,
        roles.to_vec(),
        branches,
        Some(email.to_string()),
        None,
        valid_for,
    )
    .await
}

/// Invites a chart's patient to the portal: a clinician of the care team, or front desk or an
/// admin of the chart's branch. A clinician's own invite completes on their next sync; one made
/// by someone else waits until a clinician of the care team confirms it ([`confirm_join`]), since
/// completing hands the patient the shared notes.
pub async fn invite_patient(
    s: &Session<'_>,
    chart: ChartId,
    valid_for: i64,
) -> Result<CreatedInvite, ClientError> {
    let mine = &s.myself()?.certificate;
    let front_desk = mine
        .roles
        .iter()
        .any(|r| matches!(r, Role::Frontdesk | Role::Admin));
    if !front_desk {
        let loaded = crate::chart::load(s, chart).await?;
        if !loaded.latest().care_team.contains(&s.me.account.id) {
            return Err(ClientError::Usage(
                "only the patient's care team, or the front desk of the patient's branch, can invite them to the portal".into(),
            ));
        }
    }
    // For front desk the server checks that the chart is in one of their branches; no chart is
    // opened for this.
    create_invite(
        s,
        InviteKind::Patient,
        Vec::new(),
        Vec::new(),
        None,
        Some(chart),
        valid_for,
    )
    .await
    .map_err(|e| match e {
        ClientError::Api { status: 404, .. } => {
            ClientError::Usage(format!("no patient {chart} that you may invite"))
        }
        other => other,
    })
}

/// What a new account must keep: shown once (the Emergency Kit).
#[derive(Debug)]
pub struct SignedUpAccount {
    /// The clinic.
    pub clinic: ClinicId,
    /// The clinic's name.
    pub clinic_name: String,
    /// The new account.
    pub user: vaiti_crypto::UserId,
    /// Staff or patient.
    pub kind: AccountKind,
    /// The login name: the invited email, or the patient's new random handle.
    pub login: String,
    /// The Secret Key.
    pub secret_key: SecretKey,
    /// The pinned clinic root.
    pub root_fingerprint: RootFingerprint,
}

/// A random patient handle: 10 Crockford base32 characters (about 50 bits; printed on the kit).
pub fn new_handle() -> Result<String, ClientError> {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let id = vaiti_core::ObjectId::generate()
        .map_err(|_| ClientError::Usage("the random number generator failed".into()))?;
    Ok(id.as_bytes()[..10]
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect())
}

fn malformed_invite() -> ClientError {
    ClientError::Protocol("the invite the server returned does not check out".into())
}

/// Checks an invite as the invitee: returns its body and the verified manifest.
fn check_invite(
    code: &InviteCode,
    lookup: &InviteLookup,
    now: i64,
) -> Result<(InviteV1, ManifestV1), ClientError> {
    let body: InviteV1 =
        serde_json::from_slice(lookup.invite.body.as_bytes()).map_err(|_| malformed_invite())?;
    // The root the server presents must be the one the inviter computed the check for.
    let claimed: ManifestV1 = serde_json::from_slice(lookup.clinic.manifest.as_bytes())
        .map_err(|_| malformed_invite())?;
    let root =
        VerifyingKey::from_bytes(&hex::decode(&claimed.root_key).map_err(|_| malformed_invite())?)?;
    let pin = RootFingerprint::of(&root);
    if hex::encode(code.secret.root_check(&pin)) != body.root_check {
        return Err(ClientError::Protocol(
            "the server presented a clinic root the inviter did not sign this invite for".into(),
        ));
    }
    let (manifest, root) = ManifestV1::verify(
        lookup.clinic.manifest.as_bytes(),
        lookup.clinic.manifest_signature.as_bytes(),
        &pin,
    )?;
    let clinic = core_clinic(code.clinic);
    let inviter = lookup
        .inviter_certificates
        .iter()
        .filter(|c| c.revoked_at.is_none())
        .max_by_key(|c| c.serial)
        .ok_or_else(|| ClientError::Protocol("the inviter has no certificate".into()))?;
    let inviter = CertificateV1::verify(
        inviter.body.as_bytes(),
        inviter.signature.as_bytes(),
        &root,
        clinic,
        now,
    )?;
    let inviter_key = VerifyingKey::from_bytes(
        &hex::decode(&inviter.verifying_key).map_err(|_| malformed_invite())?,
    )?;
    inviter_key.verify(
        SignatureDomain::Invite,
        lookup.invite.body.as_bytes(),
        &Signature::from_bytes(lookup.invite.signature.as_bytes())?,
    )?;
    let invite_key = hex::encode(code.secret.binding_key().verifying_key().to_bytes());
    if body.v != 1
        || body.clinic != clinic
        || body.invite != code.invite_id()
        || body.invite_key != invite_key
        || body.inviter != inviter.user
        || inviter.kind != CertificateKind::Staff
        || (body.kind == InviteKind::Staff && !inviter.roles.contains(&Role::Admin))
        || (body.kind == InviteKind::Patient
            && !inviter
                .roles
                .iter()
                .any(|r| matches!(r, Role::Therapist | Role::Frontdesk | Role::Admin)))
    {
        return Err(malformed_invite());
    }
    if lookup.invite.state != InviteState::Open {
        return Err(ClientError::Usage(
            "this invite has already been used or was revoked: ask for a new one".into(),
        ));
    }
    if now >= body.expires_at {
        return Err(ClientError::Usage(
            "this invite has expired: ask for a new one".into(),
        ));
    }
    Ok((body, manifest))
}

/// What `signup` needs.
#[derive(Debug)]
pub struct NewMember<'a> {
    /// The invite code.
    pub code: &'a InviteCode,
    /// A staff member's email (must be the invited one; defaults to it).
    pub email: Option<&'a str>,
    /// A staff member's display name.
    pub display_name: Option<&'a str>,
    /// The new password.
    pub password: &'a str,
    /// The current time.
    pub now: i64,
}

/// Signs up with an invite: checks it, makes the account's keys and Secret Key, registers with
/// OPAQUE, and sends the account with its signed binding.
pub async fn signup(api: &Api, req: &NewMember<'_>) -> Result<SignedUpAccount, ClientError> {
    let code = req.code;
    let clinic = code.clinic;
    let lookup: InviteLookup = api
        .get(&format!(
            "/clinics/{}/invites/{}",
            core_clinic(clinic),
            code.invite_id()
        ))
        .await
        .map_err(|e| match e {
            ClientError::Api { status: 404, .. } => {
                ClientError::Usage("the server knows no such invite: check the code".into())
            }
            other => other,
        })?;
    let (body, manifest) = check_invite(code, &lookup, req.now)?;
    let (kind, login, display_name) = match body.kind {
        InviteKind::Staff => {
            let invited = body.email.clone().unwrap_or_default();
            if let Some(email) = req.email
                && !email.trim().eq_ignore_ascii_case(&invited)
            {
                return Err(ClientError::Usage(format!(
                    "this invite is for {invited}, not {}",
                    email.trim()
                )));
            }
            (
                AccountKind::Staff,
                invited,
                req.display_name
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
            )
        }
        InviteKind::Patient => (AccountKind::Patient, new_handle()?, None),
    };
    let pin = RootFingerprint::of(&VerifyingKey::from_bytes(
        &hex::decode(&manifest.root_key).map_err(|_| malformed_invite())?,
    )?);
    let user_core = UserId::generate()
        .map_err(|_| ClientError::Usage("the random number generator failed".into()))?;
    let user = crypto_user(user_core);
    let secret_key = SecretKey::generate()?;
    let registration = register(
        api,
        clinic,
        user,
        RegisterWith::Invite(body.invite),
        &secret_key,
        req.password,
    )
    .await?;
    let keys = new_account_keys(&registration.kek, clinic, user, &pin)?;
    let binding = BindingV1 {
        v: 1,
        clinic: core_clinic(clinic),
        invite: body.invite,
        user: user_core,
        kind,
        login: login.clone(),
        encryption_key: keys.sealed.encryption_public_key.clone(),
        verifying_key: hex::encode(keys.signing.verifying_key().to_bytes()),
        display_name: display_name.clone(),
    };
    let binding_bytes =
        serde_json::to_vec(&binding).map_err(|e| ClientError::Usage(e.to_string()))?;
    let binding_signature = code
        .secret
        .binding_key()
        .sign(SignatureDomain::InviteBinding, &binding_bytes);
    let done: SignedUp = api
        .post(
            &format!("/clinics/{}/signup", core_clinic(clinic)),
            &Signup {
                invite: body.invite,
                user: user_core,
                login: login.clone(),
                display_name,
                keys: keys.sealed,
                opaque_upload: Sealed(registration.upload),
                binding: Sealed(binding_bytes),
                binding_signature: Sealed(binding_signature.to_bytes().to_vec()),
            },
            &[],
        )
        .await
        .map_err(|e| match e {
            ClientError::Api { status: 409, .. } => ClientError::Usage(
                "this invite has already been used, was revoked or has expired: ask for a new one"
                    .into(),
            ),
            other => other,
        })?;
    if done.user != user_core {
        return Err(ClientError::Protocol(
            "the server confirmed another account".into(),
        ));
    }
    Ok(SignedUpAccount {
        clinic,
        clinic_name: manifest.name,
        user,
        kind,
        login,
        secret_key,
        root_fingerprint: pin,
    })
}

/// One of the caller's invites, as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InviteStatus {
    /// The invite.
    pub invite: InviteId,
    /// Staff or patient.
    pub kind: InviteKind,
    /// Open, bound, completed or revoked.
    pub state: InviteState,
    /// Whom it was for (a staff email) or which chart.
    pub email: Option<String>,
    /// The chart of a patient invite.
    pub chart: Option<ChartId>,
    /// The account made with it.
    pub invitee: Option<UserId>,
    /// When it expires.
    pub expires_at: i64,
}

/// The invites the server lists for the caller: their own (each checked to be one this account
/// signed) and, for a clinician, patient invites others made for charts of their care team that
/// are bound (each checked to be signed by its inviter's certified key) when `others` is set.
/// Parsed bodies alongside. Without `others`, what others made is not even looked at, so a
/// damaged entry there cannot stop the caller's own sync.
async fn listed_invites(s: &Session<'_>, others: bool) -> Result<Listed, ClientError> {
    let mut list = InviteList {
        invites: Vec::new(),
        completable: Vec::new(),
        next: None,
    };
    crate::api::all_pages(
        s.api,
        &format!("{}/invites?", s.me.clinic_path()),
        |page: InviteList| {
            list.invites.extend(page.invites);
            list.completable.extend(page.completable);
            page.next
        },
    )
    .await?;
    let mut out = Listed {
        invites: Vec::new(),
        completable: list.completable,
    };
    for invite in list.invites {
        let key = if invite.inviter == s.me.account.id {
            s.me.signing_key.verifying_key()
        } else if others && invite.kind == InviteKind::Patient && invite.state == InviteState::Bound
        {
            // A former colleague's invite is not completed; the server should not list it.
            match s.members.get(&invite.inviter) {
                Some(m) => m.verifying_key.clone(),
                None => continue,
            }
        } else {
            continue;
        };
        key.verify(
            SignatureDomain::Invite,
            invite.body.as_bytes(),
            &Signature::from_bytes(invite.signature.as_bytes())?,
        )
        .map_err(|_| {
            ClientError::Protocol("the server lists an invite its inviter did not sign".into())
        })?;
        let body: InviteV1 =
            serde_json::from_slice(invite.body.as_bytes()).map_err(|_| malformed_invite())?;
        if body.invite != invite.id
            || body.inviter != invite.inviter
            || body.kind != invite.kind
            || body.chart != invite.chart
            || body.clinic != s.me.account.clinic
        {
            return Err(malformed_invite());
        }
        out.invites.push((invite, body));
    }
    Ok(out)
}

/// Invites as listed and checked, with the server's hint of which bound ones the caller may
/// complete.
struct Listed {
    invites: Vec<(Invite, InviteV1)>,
    completable: Vec<InviteId>,
}

/// The caller's invites, each checked to be one they signed.
pub async fn list_invites(s: &Session<'_>) -> Result<Vec<InviteStatus>, ClientError> {
    let mut out = Vec::new();
    let listed = listed_invites(s, false).await?;
    for (invite, body) in listed.invites {
        if invite.inviter != s.me.account.id {
            continue;
        }
        out.push(InviteStatus {
            invite: invite.id,
            kind: body.kind,
            state: invite.state,
            email: body.email,
            chart: body.chart,
            invitee: invite.invitee,
            expires_at: body.expires_at,
        });
    }
    Ok(out)
}

/// A join this device completed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CompletedJoin {
    /// The invite.
    pub invite: InviteId,
    /// The new member.
    pub user: UserId,
    /// Their login (email or handle).
    pub login: String,
}

/// A patient's portal join that someone else (front desk or an admin) started: the patient has
/// signed up, and a clinician of the care team confirms it ([`confirm_join`]) or declines it
/// ([`revoke_invite`] with the account).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PendingJoin {
    /// The invite.
    pub invite: InviteId,
    /// The chart.
    pub chart: ChartId,
    /// Who made the invite.
    pub inviter: UserId,
    /// Their name as their certificate gives it.
    pub inviter_name: String,
    /// The patient's new login handle (printed on their Emergency Kit).
    pub login: String,
    /// When the invite was made.
    pub created_at: i64,
}

/// The longest display name copied into a certificate (the server refuses longer at sign-up).
const MAX_DISPLAY_NAME_CHARS: usize = 200;

/// A bound invite's binding, checked against the invite: the new account, the binding, and the
/// account's encryption key.
fn verified_binding(
    invite: &Invite,
    body: &InviteV1,
) -> Result<(UserId, BindingV1, vaiti_crypto::EncryptionPublicKey), ClientError> {
    let (Some(invitee), Some(stored)) = (invite.invitee, invite.binding.as_ref()) else {
        return Err(malformed_invite());
    };
    let bad_binding = || ClientError::Protocol("an invitee's binding does not verify".into());
    if stored.as_bytes().len() <= BINDING_SIGNATURE_LEN {
        return Err(bad_binding());
    }
    let (sig, binding_bytes) = stored.as_bytes().split_at(BINDING_SIGNATURE_LEN);
    let invite_key =
        VerifyingKey::from_bytes(&hex::decode(&body.invite_key).map_err(|_| malformed_invite())?)?;
    invite_key
        .verify(
            SignatureDomain::InviteBinding,
            binding_bytes,
            &Signature::from_bytes(sig)?,
        )
        .map_err(|_| bad_binding())?;
    let binding: BindingV1 = serde_json::from_slice(binding_bytes).map_err(|_| bad_binding())?;
    let expected_kind = match body.kind {
        InviteKind::Staff => AccountKind::Staff,
        InviteKind::Patient => AccountKind::Patient,
    };
    if binding.v != 1
        || binding.clinic != body.clinic
        || binding.invite != body.invite
        || binding.user != invitee
        || binding.kind != expected_kind
        || (body.kind == InviteKind::Staff && Some(&binding.login) != body.email.as_ref())
        || (body.kind == InviteKind::Patient && binding.display_name.is_some())
        || binding
            .display_name
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_DISPLAY_NAME_CHARS)
    {
        return Err(bad_binding());
    }
    let encryption_key =
        vaiti_crypto::EncryptionPublicKey::from_bytes(binding.encryption_key.as_bytes())?;
    // The signing key must at least be a valid Ed25519 key before we certify it.
    VerifyingKey::from_bytes(&hex::decode(&binding.verifying_key).map_err(|_| bad_binding())?)?;
    Ok((invitee, binding, encryption_key))
}

/// Completes one bound invite whose signature was checked: certifies the new member, wraps what
/// they need and, for a patient, writes the chart state naming them.
async fn complete_one(
    s: &Session<'_>,
    invite: &Invite,
    body: &InviteV1,
) -> Result<CompletedJoin, ClientError> {
    let (invitee, binding, encryption_key) = verified_binding(invite, body)?;
    let serial = 1 + s.members.get(&invitee).map_or(0, |m| m.certificate.serial);
    let mut certificate = CertificateV1 {
        v: 1,
        clinic: body.clinic,
        user: invitee,
        kind: CertificateKind::Staff,
        login: binding.login.clone(),
        display_name: binding
            .display_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        roles: body.roles.clone(),
        branches: body.branches.clone(),
        chart: None,
        encryption_key: binding.encryption_key.clone(),
        verifying_key: binding.verifying_key.clone(),
        serial,
        issued_at: s.now,
        expires_at: s.now + STAFF_CERTIFICATE_S,
        issuer: String::new(),
    };
    let request = match body.kind {
        InviteKind::Staff => {
            let (root, _) = crate::session::unwrap_root(s.api, s.me, s.now).await?;
            certificate.issuer = hex::encode(root.verifying_key().key_id().as_bytes());
            let (bytes, signature) = certificate.sign_with_root(&root)?;
            // Front desk and admins hold their branches' directory keys.
            let mut wraps = Vec::new();
            for branch in body.branches.iter().filter(|b| {
                crate::custody::may_receive_directory_key(&body.roles, &body.branches, **b)
            }) {
                let key = s.directory_key(*branch).await?;
                let scope = WrapScope::Directory {
                    branch: *branch,
                    epoch: key.epoch().0,
                };
                let w = encryption_key.wrap(&key, s.me.clinic, &s.me.signing_key)?;
                wraps.push(vaiti_core::api::NewWrap {
                    scope,
                    recipient: vaiti_core::Recipient::User { user: invitee },
                    recipient_key: core_key(encryption_key.key_id()),
                    wrap: Sealed(w.bytes),
                    signature: Sealed(w.signature.to_bytes().to_vec()),
                });
            }
            // Every admin holds the root key: they certify staff and sign manifests.
            if crate::custody::may_receive_root_key(&body.roles) {
                let w = encryption_key.wrap(&root, s.me.clinic, &s.me.signing_key)?;
                wraps.push(vaiti_core::api::NewWrap {
                    scope: WrapScope::Root,
                    recipient: vaiti_core::Recipient::User { user: invitee },
                    recipient_key: core_key(encryption_key.key_id()),
                    wrap: Sealed(w.bytes),
                    signature: Sealed(w.signature.to_bytes().to_vec()),
                });
            }
            CompleteInvite {
                certificate: NewCertificate {
                    body: Sealed(bytes),
                    signature: Sealed(signature.to_bytes().to_vec()),
                    issuer_key: core_key(root.verifying_key().key_id()),
                    expires_at: certificate.expires_at,
                },
                wraps,
                state: None,
            }
        }
        InviteKind::Patient => {
            let chart = body.chart.ok_or_else(malformed_invite)?;
            certificate.kind = CertificateKind::Patient;
            certificate.display_name = None;
            certificate.roles = Vec::new();
            certificate.branches = Vec::new();
            certificate.chart = Some(chart);
            certificate.expires_at = s.now + PATIENT_CERTIFICATE_S;
            certificate.issuer = hex::encode(s.me.signing_key.key_id().as_bytes());
            let (bytes, signature) = certificate.sign_with(&s.me.signing_key)?;
            let (state, wraps) =
                crate::chart::patient_join(s, chart, invitee, &encryption_key, body.inviter)
                    .await?;
            CompleteInvite {
                certificate: NewCertificate {
                    body: Sealed(bytes),
                    signature: Sealed(signature.to_bytes().to_vec()),
                    issuer_key: core_key(s.me.signing_key.key_id()),
                    expires_at: certificate.expires_at,
                },
                wraps,
                state: Some(state),
            }
        }
    };
    s.api
        .post_no_content(
            &format!("{}/invites/{}/complete", s.me.clinic_path(), invite.id),
            &request,
        )
        .await?;
    Ok(CompletedJoin {
        invite: invite.id,
        user: invitee,
        login: binding.login,
    })
}

/// Completes every bound invite of the caller (run on every sync). An invite whose binding does
/// not check out is reported as an error and left alone. Joins others started wait for an
/// explicit confirmation ([`pending_joins`], [`confirm_join`]).
///
/// The server says which bound invites it would let the caller complete: a front desk's patient
/// invite is completed by the care team, so trying it here would only fail.
///
/// A sign-up whose binding does not verify (a server that swapped the invitee's keys) is
/// skipped, never certified, and does not stop the other joins or the command:
/// [`complete_invites_reporting`] names it so the inviter can revoke it.
pub async fn complete_invites(s: &Session<'_>) -> Result<Vec<CompletedJoin>, ClientError> {
    Ok(complete_invites_reporting(s).await?.completed)
}

/// A bound invite whose sign-up was refused: its binding does not verify.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RefusedJoin {
    /// The invite (revoke it, with the account, with [`revoke_invite`]).
    pub invite: InviteId,
    /// Why it was refused.
    pub reason: String,
    /// Whether the sign-up itself is bad (revoke it, with the account, and invite again), rather
    /// than the caller unable to complete it (another admin will).
    pub revoke: bool,
}

/// What [`complete_invites_reporting`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Joins {
    /// The joins completed now.
    pub completed: Vec<CompletedJoin>,
    /// The sign-ups refused: nothing was certified or wrapped for them.
    pub refused: Vec<RefusedJoin>,
}

/// [`complete_invites`], also naming the sign-ups it refused.
pub async fn complete_invites_reporting(s: &Session<'_>) -> Result<Joins, ClientError> {
    let mut joins = Joins::default();
    // Only certified staff make invites: a patient, or an account whose own join is not
    // complete yet, has none to complete (and the server would refuse to list them).
    let makes_invites = s
        .members
        .get(&s.me.account.id)
        .is_some_and(|m| !m.certificate.roles.is_empty());
    if !makes_invites {
        return Ok(joins);
    }
    let listed = listed_invites(s, false).await?;
    let mut holds_root = None;
    for (invite, body) in &listed.invites {
        if invite.inviter == s.me.account.id
            && invite.state == InviteState::Bound
            && listed.completable.contains(&invite.id)
        {
            if let Err(e) = verified_binding(invite, body) {
                joins.refused.push(RefusedJoin {
                    invite: invite.id,
                    reason: e.to_string(),
                    revoke: true,
                });
                continue;
            }
            // A staff certificate is signed with the root key. An admin invited before admins
            // received it at their join holds none: their staff joins wait for one who does,
            // and every other part of the command goes on.
            if body.kind == InviteKind::Staff {
                if holds_root.is_none() {
                    holds_root = Some(
                        s.my_wraps(None)
                            .await?
                            .iter()
                            .any(|w| w.scope == WrapScope::Root),
                    );
                }
                if holds_root == Some(false) {
                    joins.refused.push(RefusedJoin {
                        invite: invite.id,
                        reason: "you hold no copy of the clinic root key, which certifies staff: an admin who does (the clinic's creator) completes this join on their next sync".into(),
                        revoke: false,
                    });
                    continue;
                }
            }
            joins.completed.push(complete_one(s, invite, body).await?);
        }
    }
    Ok(joins)
}

/// Patient joins started by someone else (front desk) for charts of the caller's care team,
/// waiting for the caller to confirm. Each invite's signature and binding are checked.
pub async fn pending_joins(s: &Session<'_>) -> Result<Vec<PendingJoin>, ClientError> {
    let mut out = Vec::new();
    let listed = listed_invites(s, true).await?;
    for (invite, body) in listed.invites {
        if invite.inviter == s.me.account.id
            || invite.state != InviteState::Bound
            || !listed.completable.contains(&invite.id)
        {
            continue;
        }
        let (Some(chart), Some(member)) = (body.chart, s.members.get(&invite.inviter)) else {
            return Err(malformed_invite());
        };
        let (_, binding, _) = verified_binding(&invite, &body)?;
        out.push(PendingJoin {
            invite: invite.id,
            chart,
            inviter: invite.inviter,
            inviter_name: member.label(),
            login: binding.login,
            created_at: invite.created_at,
        });
    }
    Ok(out)
}

/// Confirms a patient join someone else started: the caller, a clinician of the chart's care
/// team, certifies the patient and hands them the chart's identity and shared notes. Refused
/// unless the invite's signer could invite this chart's patient.
pub async fn confirm_join(s: &Session<'_>, id: InviteId) -> Result<CompletedJoin, ClientError> {
    let (invite, body) = listed_invites(s, true)
        .await?
        .invites
        .into_iter()
        .find(|(invite, _)| invite.id == id && invite.state == InviteState::Bound)
        .ok_or_else(|| {
            ClientError::Usage(format!(
                "no portal join {id} waits for you (it may be completed or revoked already)"
            ))
        })?;
    if body.kind != InviteKind::Patient {
        return Err(malformed_invite());
    }
    complete_one(s, &invite, &body).await
}

/// Revokes one of the caller's invites, and optionally the account made with it. Revoking the
/// account sends the caller's signed revocation of it (`signed::RevocationV1`), which the server
/// keeps in the key directory and in the access log: every client then verifies who revoked the
/// account and when, and a device that has seen it never wraps to or renews that account again.
pub async fn revoke_invite(
    s: &Session<'_>,
    invite: InviteId,
    revoke_account: bool,
) -> Result<(), ClientError> {
    let revocation = if revoke_account {
        match invitee_of(s, invite).await? {
            Some(user) => Some(sign_revocation(s, user)?),
            None => None,
        }
    } else {
        None
    };
    s.api
        .post_no_content(
            &format!("{}/invites/{invite}/revoke", s.me.clinic_path()),
            &RevokeInvite {
                revoke_account,
                revocation,
            },
        )
        .await
}

/// The certified account an invite made, if it made one: the account its binding names — signed
/// with the invite's own key, under an invite its inviter signed — so a server cannot get the
/// caller to sign the revocation of someone else. `None` when nobody signed up with it, the
/// binding does not verify, or the account was never certified (then nothing clients trust is
/// left to revoke).
async fn invitee_of(s: &Session<'_>, id: InviteId) -> Result<Option<UserId>, ClientError> {
    let lookup: InviteLookup = s
        .api
        .get(&format!("{}/invites/{id}", s.me.clinic_path()))
        .await?;
    let invite = &lookup.invite;
    if invite.id != id || invite.invitee.is_none() {
        return Ok(None);
    }
    let inviter = s.author(invite.inviter)?;
    inviter
        .verifying_key
        .verify(
            SignatureDomain::Invite,
            invite.body.as_bytes(),
            &Signature::from_bytes(invite.signature.as_bytes())?,
        )
        .map_err(|_| {
            ClientError::Protocol("the server shows an invite its inviter did not sign".into())
        })?;
    let body: InviteV1 =
        serde_json::from_slice(invite.body.as_bytes()).map_err(|_| malformed_invite())?;
    if body.invite != id || body.clinic != s.me.account.clinic {
        return Err(malformed_invite());
    }
    // A binding that does not verify was never certified (every client checks it first): the
    // account holds nothing clients trust, and the server revokes it without a statement.
    let Ok((invitee, _, _)) = verified_binding(invite, &body) else {
        return Ok(None);
    };
    Ok(s.known.contains_key(&invitee).then_some(invitee))
}

/// The caller's signed revocation of `user`'s account, made now.
pub(crate) fn sign_revocation(
    s: &Session<'_>,
    user: UserId,
) -> Result<vaiti_core::Revocation, ClientError> {
    let body = vaiti_core::signed::RevocationV1 {
        v: 1,
        clinic: s.me.account.clinic,
        user,
        revoked_by: s.me.account.id,
        revoked_at: s.now,
    };
    let bytes = serde_json::to_vec(&body).map_err(|e| ClientError::Usage(e.to_string()))?;
    let signature = s.me.signing_key.sign(SignatureDomain::Revocation, &bytes);
    Ok(vaiti_core::Revocation {
        body: Sealed(bytes),
        signature: Sealed(signature.to_bytes().to_vec()),
    })
}
