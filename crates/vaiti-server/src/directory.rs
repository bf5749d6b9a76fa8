//! The clinic directory: the manifest, certificates, the caller's key wraps, and branches.
//!
//! The server stores and serves these signed objects as they are; clients verify them against the
//! root fingerprint they pinned. The server's own checks (roles, shapes, sequence) are defence in
//! depth, not what clients rely on.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use vaiti_core::api::{CreateBranch, Directory, MyWraps, RenewCertificate, UpdateManifest};
use vaiti_core::{AccountKind, Certificate, ChartId, ClinicId, KeyWrap, Recipient, WrapScope};
use vaiti_store::Write;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Query};
use crate::policy::{self, Admin, Staff};
use crate::state::AppState;

/// The manifest and every certificate of the caller's clinic.
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/directory",
    tag = "directory",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The manifest and the certificates.", body = Directory),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: not the session's clinic.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn directory(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Directory>, ApiError> {
    let clinic = caller.session.clinic;
    let clinic_row = state
        .store
        .clinic(clinic)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let mut certificates = state.store.certificates(clinic).await?;
    // A patient, or an account not yet certified, sees the staff's certificates and their own,
    // never patients'.
    if caller.account.kind == vaiti_core::AccountKind::Patient || !caller.certified {
        let mut staff = std::collections::HashSet::new();
        for a in state.store.accounts(clinic).await? {
            if a.kind == vaiti_core::AccountKind::Staff {
                staff.insert(a.id);
            }
        }
        certificates.retain(|c| c.user == caller.session.user || staff.contains(&c.user));
    }
    Ok(axum::Json(Directory {
        clinic: clinic_row,
        certificates,
    }))
}

/// Filter of `GET /wraps`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct WrapsQuery {
    /// Only the wraps of this chart.
    chart: Option<ChartId>,
}

/// The key wraps addressed to the caller.
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/wraps",
    tag = "directory",
    params(("clinic" = ClinicId, Path, description = "The clinic."), WrapsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's wraps, oldest first.", body = MyWraps),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: not the session's clinic.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn my_wraps(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<WrapsQuery>,
) -> Result<axum::Json<MyWraps>, ApiError> {
    let clinic = caller.session.clinic;
    if let Some(chart) = query.chart {
        crate::alerts::chart_named(&state, clinic, chart, caller.session.user).await;
    }
    let mut wraps = state
        .store
        .key_wraps(
            caller.session.clinic,
            Recipient::User {
                user: caller.session.user,
            },
            query.chart,
        )
        .await?;
    // Decoys are never listed, not even by a wrap someone holds of one.
    wraps.retain(|w| {
        w.scope
            .chart()
            .is_none_or(|c| !crate::alerts::is_decoy(&state, clinic, c))
    });
    Ok(axum::Json(MyWraps { wraps }))
}

/// Adds a branch: a new manifest version (root-signed by the admin's client) and the branch's
/// directory key wrapped to its holders, in one transaction.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/branches",
    tag = "directory",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    request_body = CreateBranch,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The branch and the new manifest are stored."),
        (status = 400, description = "`bad_request`: malformed body or wraps.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 403, description = "`forbidden`: only admins add branches.", body = ErrorBody),
        (status = 404, description = "`not_found`: not the session's clinic.", body = ErrorBody),
        (status = 409, description = "`conflict`: the manifest changed meanwhile; sync and retry.", body = ErrorBody),
        (status = 413, description = "`too_large`: the request body is too large.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn create_branch(
    State(state): State<AppState>,
    Admin { caller, .. }: Admin,
    Json(req): Json<CreateBranch>,
) -> Result<StatusCode, ApiError> {
    let clinic = caller.session.clinic;
    let branch = match req.wraps.first().map(|w| w.scope) {
        Some(WrapScope::Directory { branch, epoch: 1 }) => branch,
        _ => {
            return Err(ApiError::bad_request(
                "a new branch's directory key must be wrapped, at epoch 1",
            ));
        }
    };
    let to_escrow = req.wraps.iter().any(|w| w.recipient == Recipient::Escrow);
    let same_key = req
        .wraps
        .iter()
        .all(|w| w.scope == WrapScope::Directory { branch, epoch: 1 });
    if !to_escrow || !same_key {
        return Err(ApiError::bad_request(
            "the directory key must be wrapped to escrow, and only it",
        ));
    }
    for w in &req.wraps {
        if let Recipient::User { user } = w.recipient
            && state.store.account(clinic, user).await?.is_none()
        {
            return Err(ApiError::bad_request(
                "a directory key is wrapped to an unknown account",
            ));
        }
    }
    let now = state.now();
    check_new_manifest(
        &state,
        clinic,
        req.expected_manifest_version,
        &req.manifest,
        &req.manifest_signature,
    )
    .await?;
    let mut writes = vec![Write::UpdateManifest {
        clinic,
        expected_version: req.expected_manifest_version,
        manifest: req.manifest,
        signature: req.manifest_signature,
    }];
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
    crate::access_log::apply_logged(
        &state,
        clinic,
        writes,
        crate::access_log::Entry::new(
            vaiti_log::Action::DirectoryChange,
            vaiti_log::Purpose::Administration,
            Some(caller.session.user),
        )
        .object(*branch.as_bytes()),
    )
    .await?;
    tracing::info!(clinic = %clinic, branch = %branch, admin = %caller.session.user, "branch created");
    Ok(StatusCode::NO_CONTENT)
}

/// Renews a member's certificate (same keys, a later expiry): staff certificates by admins (their
/// clients hold the root key), a patient's by a clinician of the care team of the patient's chart.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/certificates",
    tag = "directory",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    request_body = RenewCertificate,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The certificate is stored."),
        (status = 400, description = "`bad_request`: malformed certificate.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller may not certify this member.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such member.", body = ErrorBody),
        (status = 409, description = "`conflict`: the serial is not the next one; sync and retry.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn renew_certificate(
    State(state): State<AppState>,
    Staff { caller, .. }: Staff,
    Json(req): Json<RenewCertificate>,
) -> Result<StatusCode, ApiError> {
    let clinic = caller.session.clinic;
    let forbidden = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "you may not certify this member",
        )
    };
    let member = state
        .store
        .account(clinic, req.user)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if member.status != vaiti_core::AccountStatus::Active {
        return Err(ApiError::not_found());
    }
    // A patient's chart is the one whose latest state names them.
    let mut care_team_of_patient = false;
    if member.kind == AccountKind::Patient {
        // A patient holds keys of their own chart only; the pages bound the work all the same.
        let mut position = 0;
        loop {
            let page = state
                .store
                .charts_wrapped_to(clinic, req.user, position, PATIENT_CHARTS_PAGE)
                .await?;
            for &chart in &page {
                if let Some(latest) = crate::charts::latest_state(&state, clinic, chart).await?
                    && latest.patient == Some(req.user)
                    && latest.care_team.contains(&caller.session.user)
                {
                    care_team_of_patient = true;
                }
            }
            if care_team_of_patient || page.len() < PATIENT_CHARTS_PAGE as usize {
                break;
            }
            position += u64::from(PATIENT_CHARTS_PAGE);
        }
    }
    if !policy::may_certify(&caller, member.kind, care_team_of_patient) {
        return Err(forbidden());
    }
    if req.certificate.signature.as_bytes().len() != 65
        || req.certificate.body.as_bytes().is_empty()
    {
        return Err(ApiError::bad_request("the certificate is malformed"));
    }
    let entry = crate::access_log::Entry::new(
        vaiti_log::Action::DirectoryChange,
        vaiti_log::Purpose::Administration,
        Some(caller.session.user),
    )
    .object(*req.user.as_bytes())
    .detail(&[req.certificate.body.as_bytes()]);
    crate::access_log::apply_logged(
        &state,
        clinic,
        vec![Write::PutCertificate(Certificate {
            clinic,
            user: req.user,
            serial: req.serial,
            body: req.certificate.body,
            signature: req.certificate.signature,
            issuer_key: req.certificate.issuer_key,
            expires_at: req.certificate.expires_at,
            revoked_at: None,
            revocation: None,
        })],
        entry,
    )
    .await?;
    tracing::info!(clinic = %clinic, user = %req.user, serial = req.serial, by = %caller.session.user, "certificate renewed");
    Ok(StatusCode::NO_CONTENT)
}

/// A new manifest version (admins): e.g. adopting the access log's key. The root signature is the
/// clients' to check; the server only keeps versions in order.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/manifest",
    tag = "directory",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    request_body = UpdateManifest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The manifest is stored."),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 403, description = "`forbidden`: only admins change the manifest.", body = ErrorBody),
        (status = 404, description = "`not_found`: not the session's clinic.", body = ErrorBody),
        (status = 409, description = "`conflict`: the manifest changed meanwhile; sync and retry.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn update_manifest(
    State(state): State<AppState>,
    Admin { caller, .. }: Admin,
    Json(req): Json<UpdateManifest>,
) -> Result<StatusCode, ApiError> {
    let clinic = caller.session.clinic;
    check_new_manifest(
        &state,
        clinic,
        req.expected_manifest_version,
        &req.manifest,
        &req.manifest_signature,
    )
    .await?;
    crate::access_log::apply_logged(
        &state,
        clinic,
        vec![Write::UpdateManifest {
            clinic,
            expected_version: req.expected_manifest_version,
            manifest: req.manifest,
            signature: req.manifest_signature,
        }],
        crate::access_log::Entry::new(
            vaiti_log::Action::DirectoryChange,
            vaiti_log::Purpose::Administration,
            Some(caller.session.user),
        ),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many of a patient's charts one store read returns while looking for the chart whose
/// care team may certify them.
const PATIENT_CHARTS_PAGE: u32 = 64;

/// The fields of a manifest the server checks before storing a new one.
#[derive(serde::Deserialize)]
struct ManifestHead {
    v: u8,
    clinic: ClinicId,
    manifest_version: u64,
    root_key: String,
}

/// Checks a new manifest before it replaces the clinic's: version 1 of the format, this clinic,
/// the next version, the same root key as the current manifest, and signed by that root. The
/// clients verify every manifest themselves; this keeps a malformed or forged one (from a
/// stolen admin session, say) from being stored and breaking every client's next command.
/// A stale expected version is a 409 first, as the store would answer.
async fn check_new_manifest(
    state: &AppState,
    clinic: ClinicId,
    expected_version: u64,
    manifest: &vaiti_core::Sealed,
    signature: &vaiti_core::Sealed,
) -> Result<(), ApiError> {
    let current = state
        .store
        .clinic(clinic)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if current.manifest_version != expected_version {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "the manifest changed meanwhile; sync and retry",
        ));
    }
    // Every stored manifest passed `check_first_manifest` or this check, so one that does not
    // parse is damaged data: refuse to build on it rather than trust whatever comes next.
    let current_head = serde_json::from_slice::<ManifestHead>(current.manifest.as_bytes())
        .map_err(|_| {
            ApiError::internal(format!(
                "clinic {clinic}: the stored manifest does not parse"
            ))
        })?;
    let bad = || {
        ApiError::bad_request(
            "the manifest is not the next version of this clinic's, signed by its root key",
        )
    };
    let head: ManifestHead = serde_json::from_slice(manifest.as_bytes()).map_err(|_| bad())?;
    let next = expected_version.checked_add(1).ok_or_else(bad)?;
    if head.root_key == current_head.root_key
        && signed_manifest(&head, clinic, next, manifest, signature)
    {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Checks a new clinic's first manifest before the clinic is stored: version 1 of the format,
/// this clinic's id, manifest version 1, and signed by the root key it names. Whoever holds the
/// clinic-creation token could otherwise store a manifest no client accepts, and every later
/// manifest check would have no root key to check against.
pub(crate) fn check_first_manifest(
    clinic: ClinicId,
    manifest: &vaiti_core::Sealed,
    signature: &vaiti_core::Sealed,
) -> Result<(), ApiError> {
    let bad = || {
        ApiError::bad_request(
            "the manifest is not version 1 of this clinic's, signed by the root key it names",
        )
    };
    let head: ManifestHead = serde_json::from_slice(manifest.as_bytes()).map_err(|_| bad())?;
    if signed_manifest(&head, clinic, 1, manifest, signature) {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Whether `head` (parsed from `manifest`) is format version 1, of `clinic`, at
/// `manifest_version`, and `signature` is its root key's over the manifest's bytes.
fn signed_manifest(
    head: &ManifestHead,
    clinic: ClinicId,
    manifest_version: u64,
    manifest: &vaiti_core::Sealed,
    signature: &vaiti_core::Sealed,
) -> bool {
    head.v == 1
        && head.clinic == clinic
        && head.manifest_version == manifest_version
        && crate::signature::from_hex(&head.root_key).is_some_and(|root| {
            crate::signature::verifies(
                crate::signature::Domain::Manifest,
                &root,
                signature.as_bytes(),
                manifest.as_bytes(),
            )
        })
}
