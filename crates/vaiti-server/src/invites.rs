//! Invites and join (`docs/protocol.md` "Invites and join").
//!
//! The server stores the inviter's signed invite and, when the invitee signs up, their new account
//! and signed binding, in one transaction; the inviter's client later completes the join
//! (certificate, key wraps). The server cannot check signatures (it holds no crypto); it checks
//! who may do what, shapes, single use and expiry — defence in depth behind the clients' checks.

use axum::extract::State;
use axum::http::StatusCode;
use vaiti_core::api::{
    CompleteInvite, CreateInvite, InviteList, InviteLookup, MAX_INVITES_PAGE, RevokeInvite,
    SignedUp, Signup,
};
use vaiti_core::signed::{BINDING_SIGNATURE_LEN, BindingV1, InviteV1};
use vaiti_core::{
    Account, AccountKind, AccountStatus, Certificate, ClinicId, Invite, InviteId, InviteKind,
    InviteState, KeyWrap, Recipient, Sealed, UserId, WrapScope,
};
use vaiti_opaque::VaitiOpaqueSuite as Suite;
use vaiti_opaque::opaque_ke::{RegistrationUpload, ServerRegistration};
use vaiti_store::Write;

use crate::auth::{Caller, check_account_keys, check_staff_login};
use crate::charts::{check_state_entry, latest_state};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Limit, Path, Position, Query};
use crate::policy::{self, Staff};
use crate::state::AppState;

/// The longest an invite may stay open.
pub(crate) const MAX_INVITE_S: i64 = 30 * 24 * 60 * 60;

/// Length of a patient's login handle (Crockford base32 characters).
pub(crate) const HANDLE_LEN: usize = 10;

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

fn conflict(message: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "conflict", message)
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A patient's handle: 10 Crockford base32 characters (no I, L, O, U).
pub(crate) fn is_handle(s: &str) -> bool {
    s.len() == HANDLE_LEN
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)))
}

fn parse_invite(body: &Sealed) -> Result<InviteV1, ApiError> {
    serde_json::from_slice(body.as_bytes())
        .map_err(|_| ApiError::bad_request("the invite body is malformed"))
}

/// Creates an invite: staff invites by admins, patient invites by a clinician of the chart's
/// care team.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/invites",
    tag = "invites",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    request_body = CreateInvite,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The invite is stored and open."),
        (status = 400, description = "`bad_request`: malformed invite.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller may not make this invite.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such chart for the caller.", body = ErrorBody),
        (status = 409, description = "`conflict`: the invite exists, or the email already has an account.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn create_invite(
    State(state): State<AppState>,
    Staff { caller, .. }: Staff,
    Json(req): Json<CreateInvite>,
) -> Result<StatusCode, ApiError> {
    let clinic = caller.session.clinic;
    let invite = parse_invite(&req.body)?;
    let now = state.now();
    if invite.v != 1
        || invite.clinic != clinic
        || invite.inviter != caller.session.user
        || !is_hex(&invite.invite_key, 64)
        || !is_hex(&invite.root_check, 64)
    {
        return Err(ApiError::bad_request(
            "the invite must be version 1, of this clinic and signed by the caller",
        ));
    }
    if invite.expires_at <= now || invite.expires_at > now + MAX_INVITE_S {
        return Err(ApiError::bad_request(
            "an invite must expire in the future and within 30 days",
        ));
    }
    if req.signature.as_bytes().len() != BINDING_SIGNATURE_LEN {
        return Err(ApiError::bad_request("the invite signature is malformed"));
    }
    match invite.kind {
        InviteKind::Staff => {
            if !policy::may_invite(&caller, InviteKind::Staff, None) {
                return Err(forbidden("only an admin can invite staff"));
            }
            let email = invite.email.as_deref().unwrap_or_default();
            check_staff_login(email)?;
            if invite.roles.is_empty() || invite.chart.is_some() {
                return Err(ApiError::bad_request(
                    "a staff invite names at least one role and no chart",
                ));
            }
            if state.store.account_by_login(clinic, email).await?.is_some() {
                return Err(conflict("that email address already has an account"));
            }
        }
        InviteKind::Patient => {
            let Some(chart) = invite.chart else {
                return Err(ApiError::bad_request("a patient invite names its chart"));
            };
            if !invite.roles.is_empty() || !invite.branches.is_empty() || invite.email.is_some() {
                return Err(ApiError::bad_request(
                    "a patient invite carries no roles, branches or email",
                ));
            }
            // A clinician of the care team, or front desk or an admin of the chart's branch
            // (who hand the code over at the desk; a clinician of the care team completes the
            // join). A patient who already has an account may be re-invited (a lost password or
            // Secret Key): completing the new join revokes the old account.
            let access = policy::access(&state, &caller, chart).await?.2;
            if !policy::may_invite(&caller, InviteKind::Patient, Some(access)) {
                return Err(forbidden(
                    "only the care team or the front desk can invite the patient",
                ));
            }
        }
    }
    crate::access_log::apply_logged(
        &state,
        clinic,
        vec![Write::CreateInvite(Invite {
            clinic,
            id: invite.invite,
            kind: invite.kind,
            inviter: caller.session.user,
            chart: invite.chart,
            body: req.body,
            signature: req.signature,
            expires_at: invite.expires_at,
            state: InviteState::Open,
            invitee: None,
            binding: None,
            created_at: now,
        })],
        crate::access_log::Entry::new(
            vaiti_log::Action::AdminAction,
            vaiti_log::Purpose::Administration,
            Some(caller.session.user),
        )
        .object(*invite.invite.as_bytes()),
    )
    .await?;
    tracing::info!(clinic = %clinic, invite = %invite.invite, inviter = %caller.session.user, "invite created");
    Ok(StatusCode::NO_CONTENT)
}

/// Paging of `GET /invites`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct InvitesQuery {
    /// Where the page starts (the previous page's `next`; default 0).
    #[param(value_type = u64, required = false, minimum = 0, maximum = 9223372036854775807_u64)]
    position: Option<Position>,
    /// At most this many invites (default and maximum 200).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 200)]
    limit: Option<Limit<MAX_INVITES_PAGE>>,
}

/// The caller's invites, with their state (open, bound, completed, revoked).
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/invites",
    tag = "invites",
    params(("clinic" = ClinicId, Path, description = "The clinic."), InvitesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the caller's invites, oldest first, then the bound patient invites of their care team, and `next` when more remain.", body = InviteList),
        (status = 400, description = "`bad_request`: a malformed or out-of-range `limit` or `position`.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: not the session's clinic.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn list_invites(
    State(state): State<AppState>,
    Staff { caller, .. }: Staff,
    Query(query): Query<InvitesQuery>,
) -> Result<axum::Json<InviteList>, ApiError> {
    let clinic = caller.session.clinic;
    let user = caller.session.user;
    // The list is the caller's own invites, then — for a clinician — the bound patient invites
    // others (front desk) made. The store reads only the page (and one more, to say whether
    // another follows); the care-team checks (a store read each) are made only for the page.
    let position = query.position.map_or(0, Position::get);
    let limit = query.limit.map_or(MAX_INVITES_PAGE, Limit::get);
    let want = limit.saturating_add(1);
    let own = state.store.invites_by(clinic, user, position, want).await?;
    let own_len = own.len();
    let rest = want.saturating_sub(u32::try_from(own_len).unwrap_or(u32::MAX));
    let others = if policy::is_clinician(&caller) && rest > 0 {
        // The bound invites start in this page if the caller's own end in it; a page past
        // their end needs their count (one query, only then) to know where it falls.
        let from = if own.is_empty() {
            position.saturating_sub(state.store.invite_count_by(clinic, user).await?)
        } else {
            0
        };
        state
            .store
            .bound_patient_invites(clinic, from, rest)
            .await?
    } else {
        Vec::new()
    };
    let mut page: Vec<Invite> = own.into_iter().chain(others).collect();
    let next = crate::charts::next_position(&mut page, position, limit);
    let mut invites = Vec::new();
    let mut completable = Vec::new();
    for (i, invite) in page.into_iter().enumerate() {
        if i < own_len {
            if invite.state == InviteState::Bound
                && (invite.kind == InviteKind::Staff
                    || care_team_of(&state, &caller, &invite).await?)
            {
                completable.push(invite.id);
            }
            invites.push(invite);
        } else if invite.inviter != user && care_team_of(&state, &caller, &invite).await? {
            // A clinician confirms the joins front desk started for charts of their care team.
            completable.push(invite.id);
            invites.push(invite);
        }
    }
    Ok(axum::Json(InviteList {
        invites,
        completable,
        next,
    }))
}

/// What an invitee checks before signing up. Unauthenticated: the id is derived from the
/// 256-bit invite secret, so only its holder can name it.
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/invites/{invite}",
    tag = "invites",
    params(
        ("clinic" = ClinicId, Path, description = "The clinic."),
        ("invite" = InviteId, Path, description = "The invite id derived from the secret."),
    ),
    responses(
        (status = 200, description = "The invite, the clinic manifest and the inviter's certificates.", body = InviteLookup),
        (status = 404, description = "`not_found`: no such invite.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn lookup_invite(
    State(state): State<AppState>,
    Path((clinic, invite)): Path<(ClinicId, InviteId)>,
) -> Result<axum::Json<InviteLookup>, ApiError> {
    let invite = state
        .store
        .invite(clinic, invite)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let clinic_row = state
        .store
        .clinic(clinic)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let inviter_certificates = state
        .store
        .certificates(clinic)
        .await?
        .into_iter()
        .filter(|c| c.user == invite.inviter)
        .collect();
    Ok(axum::Json(InviteLookup {
        invite,
        clinic: clinic_row,
        inviter_certificates,
    }))
}

/// Signs up with an invite: the new account and its binding, in one transaction. Single use and
/// never after expiry.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/signup",
    tag = "invites",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    request_body = Signup,
    responses(
        (status = 201, description = "The account exists; the inviter's client completes the join.", body = SignedUp),
        (status = 400, description = "`bad_request`: malformed account or binding.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such invite.", body = ErrorBody),
        (status = 409, description = "`conflict`: the invite was used, revoked or has expired, or the login is taken.", body = ErrorBody),
        (status = 413, description = "`too_large`: the request body is too large.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn signup(
    State(state): State<AppState>,
    Path(clinic): Path<ClinicId>,
    Json(req): Json<Signup>,
) -> Result<(StatusCode, axum::Json<SignedUp>), ApiError> {
    let used = || conflict("this invite has already been used, was revoked, or has expired");
    let invite = state
        .store
        .invite(clinic, req.invite)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let now = state.now();
    if invite.state != InviteState::Open || now >= invite.expires_at {
        return Err(used());
    }
    let body = parse_invite(&invite.body)?;
    let binding: BindingV1 = serde_json::from_slice(req.binding.as_bytes())
        .map_err(|_| ApiError::bad_request("the binding is malformed"))?;
    let kind = match invite.kind {
        InviteKind::Staff => AccountKind::Staff,
        InviteKind::Patient => AccountKind::Patient,
    };
    match kind {
        AccountKind::Staff => {
            if Some(req.login.as_str()) != body.email.as_deref() {
                return Err(ApiError::bad_request(
                    "a staff member signs up with the email address they were invited with",
                ));
            }
        }
        AccountKind::Patient => {
            if !is_handle(&req.login) || req.display_name.is_some() {
                return Err(ApiError::bad_request(
                    "a patient signs up with a random handle and no name",
                ));
            }
        }
    }
    check_account_keys(&req.keys)?;
    let binding_ok = binding.v == 1
        && binding.clinic == clinic
        && binding.invite == req.invite
        && binding.user == req.user
        && binding.kind == kind
        && binding.login == req.login
        && binding.display_name == req.display_name
        && binding.encryption_key == req.keys.encryption_public_key
        && crate::signature::from_hex(&binding.verifying_key).as_deref()
            == Some(req.keys.verifying_key.as_bytes())
        && req.binding_signature.as_bytes().len() == BINDING_SIGNATURE_LEN;
    if !binding_ok {
        return Err(ApiError::bad_request(
            "the binding does not describe this account and invite",
        ));
    }
    // Only the holder of the invite's secret can sign the binding: knowing the invite's id (a
    // public log leaf's object, and in every copy of the database) is not enough to take it.
    let binds = crate::signature::from_hex(&body.invite_key).is_some_and(|invite_key| {
        crate::signature::verifies(
            crate::signature::Domain::InviteBinding,
            &invite_key,
            req.binding_signature.as_bytes(),
            req.binding.as_bytes(),
        )
    });
    if !binds {
        return Err(ApiError::bad_request(
            "the binding is not signed with the invite's key: sign up with the invite code you were given",
        ));
    }
    if req
        .display_name
        .as_ref()
        .is_some_and(|n| n.chars().count() > 200)
    {
        return Err(ApiError::bad_request("the display name is too long"));
    }
    let upload = RegistrationUpload::<Suite>::deserialize(req.opaque_upload.as_bytes())
        .map_err(|_| ApiError::bad_request("the OPAQUE registration is malformed"))?;
    let record = ServerRegistration::<Suite>::finish(upload)
        .serialize()
        .to_vec();
    let mut stored_binding = req.binding_signature.0;
    stored_binding.extend_from_slice(req.binding.as_bytes());
    let (roles, branches) = match kind {
        AccountKind::Staff => (body.roles, body.branches),
        AccountKind::Patient => (Vec::new(), Vec::new()),
    };
    crate::access_log::apply_logged(
        &state,
        clinic,
        vec![
            Write::CreateAccount {
                account: Account {
                    clinic,
                    id: req.user,
                    kind,
                    login: req.login,
                    display_name: req.display_name,
                    roles,
                    branches,
                    status: AccountStatus::Active,
                    created_at: now,
                },
                keys: req.keys,
                opaque_record: record,
            },
            Write::BindInvite {
                clinic,
                id: req.invite,
                invitee: req.user,
                binding: Sealed(stored_binding),
                now,
            },
        ],
        crate::access_log::Entry::new(
            vaiti_log::Action::DirectoryChange,
            vaiti_log::Purpose::None,
            Some(req.user),
        )
        .object(*req.invite.as_bytes()),
    )
    .await
    .map_err(|e| {
        if e.status() == StatusCode::CONFLICT {
            conflict("the invite was used meanwhile, or this login is taken")
        } else {
            e
        }
    })?;
    tracing::info!(clinic = %clinic, invite = %req.invite, user = %req.user, "invite bound");
    Ok((StatusCode::CREATED, axum::Json(SignedUp { user: req.user })))
}

/// Whether the caller is a clinician of the care team of a patient invite's chart.
async fn care_team_of(
    state: &AppState,
    caller: &Caller,
    invite: &Invite,
) -> Result<bool, ApiError> {
    let Some(chart) = invite.chart.filter(|_| invite.kind == InviteKind::Patient) else {
        return Ok(false);
    };
    Ok(policy::is_clinician(caller)
        && latest_state(state, caller.session.clinic, chart)
            .await?
            .is_some_and(|s| s.care_team.contains(&caller.session.user)))
}

/// An invite the caller may complete or revoke: their own, a staff invite for an admin, or a
/// patient invite for a clinician of the chart's care team.
async fn own_invite(state: &AppState, caller: &Caller, id: InviteId) -> Result<Invite, ApiError> {
    let invite = state
        .store
        .invite(caller.session.clinic, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let care_team = care_team_of(state, caller, &invite).await?;
    if !policy::may_handle_invite(caller, invite.inviter, invite.kind, care_team) {
        return Err(ApiError::not_found());
    }
    Ok(invite)
}

/// Completes a bound invite: the new member's certificate, the keys wrapped to them and, for a
/// patient, the chart state naming their account — one transaction.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/invites/{invite}/complete",
    tag = "invites",
    params(
        ("clinic" = ClinicId, Path, description = "The clinic."),
        ("invite" = InviteId, Path, description = "The invite."),
    ),
    request_body = CompleteInvite,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The join is complete."),
        (status = 400, description = "`bad_request`: the certificate, wraps or state do not fit the invite.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such invite of the caller.", body = ErrorBody),
        (status = 409, description = "`conflict`: the invite is not waiting for completion.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn complete_invite(
    State(state): State<AppState>,
    Staff { caller, .. }: Staff,
    Path((_clinic, id)): Path<(ClinicId, InviteId)>,
    Json(req): Json<CompleteInvite>,
) -> Result<StatusCode, ApiError> {
    let clinic = caller.session.clinic;
    let invite = own_invite(&state, &caller, id).await?;
    let (InviteState::Bound, Some(invitee)) = (invite.state, invite.invitee) else {
        return Err(conflict("this invite is not waiting for completion"));
    };
    let now = state.now();
    let serial = state
        .store
        .latest_certificate(clinic, invitee)
        .await?
        .map_or(0, |c| c.serial)
        + 1;
    let mut writes = vec![Write::PutCertificate(Certificate {
        clinic,
        user: invitee,
        serial,
        body: req.certificate.body,
        signature: req.certificate.signature,
        issuer_key: req.certificate.issuer_key,
        expires_at: req.certificate.expires_at,
        revoked_at: None,
        revocation: None,
    })];
    // Every admin holds the clinic root key (they certify staff and sign manifests): an admin's
    // join carries it, wrapped by the admin who completes it; nobody else's may.
    let admin_invite = invite.kind == InviteKind::Staff
        && parse_invite(&invite.body).is_ok_and(|b| b.roles.contains(&vaiti_core::Role::Admin));
    for w in &req.wraps {
        let fits = w.recipient == (Recipient::User { user: invitee })
            && match (invite.kind, w.scope) {
                (InviteKind::Staff, WrapScope::Directory { .. }) => true,
                (InviteKind::Staff, WrapScope::Root) => admin_invite && policy::is_admin(&caller),
                (InviteKind::Patient, WrapScope::Identity { chart })
                | (InviteKind::Patient, WrapScope::Case { chart, tier: 2, .. }) => {
                    Some(chart) == invite.chart
                }
                _ => false,
            };
        if !fits {
            return Err(ApiError::bad_request(
                "a wrap is not for the new member, or not a key the invite grants",
            ));
        }
    }
    match (invite.kind, req.state, invite.chart) {
        (InviteKind::Staff, None, _) => {}
        (InviteKind::Patient, Some(entry), Some(chart)) => {
            let (_, previous, access) = policy::access(&state, &caller, chart).await?;
            if !policy::may_wrap_case_keys(Some(access)) {
                return Err(ApiError::not_found());
            }
            let parsed = check_state_entry(&state, &caller, clinic, chart, &entry).await?;
            if parsed.patient != Some(invitee) {
                return Err(ApiError::bad_request(
                    "the chart state must name the patient's new account",
                ));
            }
            // The chart state naming the new account is the signed statement that the old one
            // is no longer the chart's patient: clients wrap to whom the verified chain names.
            if let Some(old) = previous.and_then(|p| p.patient)
                && old != invitee
            {
                writes.extend(revoke_account_writes(&state, clinic, old, None).await?);
            }
            writes.push(crate::charts::state_write(
                clinic, chart, &caller, entry, now,
            )?);
        }
        _ => {
            return Err(ApiError::bad_request(
                "a patient's join needs a chart-state entry naming them; a staff join none",
            ));
        }
    }
    writes.extend(req.wraps.into_iter().map(|w| {
        Write::PutKeyWrap(KeyWrap {
            clinic,
            scope: w.scope,
            recipient: w.recipient,
            recipient_key: w.recipient_key,
            wrap: w.wrap,
            signature: w.signature,
            wrapped_by: caller.session.user,
            created_at: now,
        })
    }));
    writes.push(Write::CompleteInvite { clinic, id });
    let mut entry = crate::access_log::Entry::new(
        vaiti_log::Action::DirectoryChange,
        vaiti_log::Purpose::Administration,
        Some(caller.session.user),
    )
    .object(*id.as_bytes());
    if let Some(chart) = invite.chart {
        entry = entry.chart(chart);
    }
    crate::access_log::apply_logged(&state, clinic, writes, entry).await?;
    tracing::info!(clinic = %clinic, invite = %id, user = %invitee, "invite completed");
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes an invite that is not yet completed, and optionally the account made with it.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/invites/{invite}/revoke",
    tag = "invites",
    params(
        ("clinic" = ClinicId, Path, description = "The clinic."),
        ("invite" = InviteId, Path, description = "The invite."),
    ),
    request_body = RevokeInvite,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 400, description = "`bad_request`: revoking the account needs the caller's signed revocation of it, and this one is missing, malformed, for another account or clinic, not signed by the caller, or too far from the server's clock.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 403, description = "`forbidden`: only an admin may revoke a member of staff's account.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such invite of the caller.", body = ErrorBody),
        (status = 409, description = "`conflict`: nothing left to revoke.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn revoke_invite(
    State(state): State<AppState>,
    Staff { caller, .. }: Staff,
    Path((_clinic, id)): Path<(ClinicId, InviteId)>,
    Json(req): Json<RevokeInvite>,
) -> Result<StatusCode, ApiError> {
    let clinic = caller.session.clinic;
    let invite = own_invite(&state, &caller, id).await?;
    let mut writes = Vec::new();
    let mut entry = crate::access_log::Entry::new(
        vaiti_log::Action::AdminAction,
        vaiti_log::Purpose::Administration,
        Some(caller.session.user),
    )
    .object(*id.as_bytes());
    if matches!(invite.state, InviteState::Open | InviteState::Bound) {
        writes.push(Write::RevokeInvite { clinic, id });
    }
    if req.revoke_account
        && let Some(user) = invite.invitee
    {
        if !policy::may_revoke_account(&caller, invite.kind) {
            return Err(forbidden(
                "only an admin may revoke a member of staff's account",
            ));
        }
        // A certified account's revocation is a signed statement clients verify; an account
        // never certified has nothing clients trust, and is revoked on the server alone.
        let revocation = if certified_live(&state, clinic, user).await? {
            let revocation = req.revocation.ok_or_else(|| {
                ApiError::bad_request("revoking an account needs your signed revocation of it")
            })?;
            let signed_by = check_revocation(&state, &caller, user, &revocation).await?;
            // The leaf carries the statement: its hash as the detail, its signature and the
            // revoker's key id, so the log itself proves who revoked whom and when.
            entry = entry
                .detail(&[b"revocation", revocation.body.as_bytes()])
                .signed(signed_by, signature_bytes(&revocation)?);
            Some(revocation)
        } else {
            None
        };
        let account = state.store.account(clinic, user).await?;
        if account.is_some_and(|a| a.status != AccountStatus::Revoked) || revocation.is_some() {
            writes.extend(revoke_account_writes(&state, clinic, user, revocation).await?);
        }
    }
    if writes.is_empty() {
        return Err(conflict("nothing left to revoke"));
    }
    crate::access_log::apply_logged(&state, clinic, writes, entry).await?;
    tracing::info!(clinic = %clinic, invite = %id, account = req.revoke_account, "invite revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// How far a revocation's time may be from the server's clock.
const MAX_REVOCATION_SKEW_SECS: i64 = 300;

/// Whether `user`'s newest certificate is unrevoked (an account already revoked needs no new
/// statement: revoking again changes nothing).
async fn certified_live(
    state: &AppState,
    clinic: ClinicId,
    user: UserId,
) -> Result<bool, ApiError> {
    Ok(state
        .store
        .latest_certificate(clinic, user)
        .await?
        .is_some_and(|c| c.revoked_at.is_none()))
}

/// A revocation the caller sends must be theirs, of `user`, in this clinic, signed by their key,
/// made now: what clients later verify, checked before it is stored, so a mistaken or forged one
/// never reaches the directory (clients check it again themselves). Returns the signing key's id.
async fn check_revocation(
    state: &AppState,
    caller: &Caller,
    user: UserId,
    revocation: &vaiti_core::Revocation,
) -> Result<[u8; 16], ApiError> {
    let clinic = caller.session.clinic;
    let body: vaiti_core::signed::RevocationV1 = serde_json::from_slice(revocation.body.as_bytes())
        .map_err(|_| ApiError::bad_request("the revocation is malformed"))?;
    if body.v != 1 || body.clinic != clinic || body.user != user {
        return Err(ApiError::bad_request(
            "the revocation is not of this invite's account in this clinic",
        ));
    }
    if body.revoked_by != caller.session.user {
        return Err(ApiError::bad_request(
            "the revocation must name you as the one who revokes",
        ));
    }
    if (body.revoked_at - state.now()).abs() > MAX_REVOCATION_SKEW_SECS {
        return Err(ApiError::bad_request(
            "the revocation's time is too far from the server's clock",
        ));
    }
    crate::signature::signed_by_caller(
        state,
        caller,
        crate::signature::Domain::Revocation,
        revocation.signature.as_bytes(),
        revocation.body.as_bytes(),
    )
    .await?
    .ok_or_else(|| ApiError::bad_request("the revocation is not signed by your key"))
}

/// A checked revocation's signature as the leaf stores it (`suite || 64 bytes`).
fn signature_bytes(revocation: &vaiti_core::Revocation) -> Result<[u8; 65], ApiError> {
    revocation
        .signature
        .as_bytes()
        .try_into()
        .map_err(|_| ApiError::bad_request("the revocation's signature is malformed"))
}

/// Revoking an account: its status (which ends its sessions) and every live certificate, each
/// keeping the signed statement (`revocation`) where there is one.
pub(crate) async fn revoke_account_writes(
    state: &AppState,
    clinic: ClinicId,
    user: UserId,
    revocation: Option<vaiti_core::Revocation>,
) -> Result<Vec<Write>, ApiError> {
    let now = state.now();
    let mut writes = vec![Write::SetAccountStatus {
        clinic,
        user,
        status: AccountStatus::Revoked,
    }];
    for c in state.store.certificates(clinic).await? {
        if c.user == user && c.revoked_at.is_none() {
            writes.push(Write::RevokeCertificate {
                clinic,
                user,
                serial: c.serial,
                at: now,
                revocation: revocation.clone(),
            });
        }
    }
    Ok(writes)
}
