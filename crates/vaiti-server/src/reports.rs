//! Patient reports (`docs/access-log.md` "Patient reports"): a patient flags an entry of their
//! chart's access log that they do not recognise.
//!
//! The patient's words never reach the server in plaintext: the client seals them as an
//! `AccessReport` envelope under a one-report key and wraps that key to each current admin and
//! auditor. The server checks that the caller is the chart's patient, that the entry is a leaf of
//! that chart, and that every wrap is addressed to an admin or auditor under their current key;
//! then it stores the report and appends the `PatientReport` leaf (carrying the patient's request
//! signature, the report id as its object, and a detail hash over the request and the sealed
//! report) in one transaction, answers with the leaf's evidence, and raises a `patient_report`
//! alert (ids only).

use std::collections::BTreeSet;

use axum::extract::State;
use sha2::{Digest as _, Sha256};
use vaiti_core::report::{
    MAX_REPORT_ENVELOPE_BYTES, MAX_REPORT_WRAPS, NewReport, PatientReport, ReportFiled, ReportList,
};
use vaiti_core::{ChartId, ClinicId};
use vaiti_log::Action;
use vaiti_store::Write;

use crate::access_log::{Entry, apply_logged_leaf};
use crate::error::{ApiError, ErrorBody};
use crate::extract::Json;
use crate::policy::{ChartPatientGate, LogReader, OnChart};
use crate::release::{check_request, evidence, purpose};
use crate::state::AppState;

/// The largest body `POST /reports` accepts: the sealed reason, and at most
/// [`MAX_REPORT_WRAPS`] wraps of 1,243 bytes with their signatures, in base64 JSON.
pub(crate) const MAX_REPORT_BODY_BYTES: usize = 192 * 1024;

/// The length of a public-key wrap (`docs/formats.md` §3).
const WRAP_LEN: usize = 1243;
/// The length of a serialised signature (suite byte and 64 bytes).
const SIGNATURE_LEN: usize = 65;

/// What a `PatientReport` leaf's detail hash covers, in this order: the signed request, the
/// report id, the entry index (u64, big-endian), the sealed reason and its author signature.
pub(crate) fn report_detail(req: &NewReport) -> [u8; 32] {
    vaiti_log::detail_hash(&[
        req.request.request.as_bytes(),
        req.report.as_bytes(),
        &req.entry.to_be_bytes(),
        req.envelope.as_bytes(),
        req.signature.as_bytes(),
    ])
}

/// The X-Wing key id of a stored public key (`docs/formats.md` §1).
fn xwing_key_id(public: &[u8]) -> [u8; 16] {
    let digest = Sha256::new()
        .chain_update(b"vaiti v1 key id x-wing")
        .chain_update(public)
        .finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

/// Checks the sealed report's shape and that every wrap goes to a current admin or auditor under
/// their stored encryption key (defence in depth: the patient's client picked the readers from
/// the verified directory).
async fn check_report(state: &AppState, clinic: ClinicId, req: &NewReport) -> Result<(), ApiError> {
    if req.envelope.as_bytes().is_empty()
        || req.envelope.as_bytes().len() > MAX_REPORT_ENVELOPE_BYTES
    {
        return Err(ApiError::bad_request(format!(
            "the sealed report must be 1 to {MAX_REPORT_ENVELOPE_BYTES} bytes"
        )));
    }
    if req.signature.as_bytes().len() != SIGNATURE_LEN {
        return Err(ApiError::bad_request("the report's signature is malformed"));
    }
    if req.wraps.is_empty() || req.wraps.len() > MAX_REPORT_WRAPS {
        return Err(ApiError::bad_request(format!(
            "a report is wrapped to 1 to {MAX_REPORT_WRAPS} admins and auditors"
        )));
    }
    let mut seen = BTreeSet::new();
    for w in &req.wraps {
        if w.wrap.as_bytes().len() != WRAP_LEN || w.signature.as_bytes().len() != SIGNATURE_LEN {
            return Err(ApiError::bad_request("a wrap of the report is malformed"));
        }
        if !seen.insert(w.recipient) {
            return Err(ApiError::bad_request(
                "the report is wrapped twice to one reader",
            ));
        }
        let account = state.store.account(clinic, w.recipient).await?;
        let certified = crate::policy::is_certified(state, clinic, w.recipient).await?;
        let reader = account.is_some_and(|a| crate::policy::receives_reports(&a, certified));
        let keys = state.store.account_keys(clinic, w.recipient).await?;
        let current_key = keys.is_some_and(|k| {
            xwing_key_id(k.encryption_public_key.as_bytes()) == *w.recipient_key.as_bytes()
        });
        if !reader || !current_key {
            return Err(ApiError::bad_request(
                "a report is wrapped only to the clinic's admins and auditors, under their current keys",
            ));
        }
    }
    Ok(())
}

/// A patient reports an entry of their chart's access log that they do not recognise.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/charts/{chart}/reports",
    tag = "log",
    params(
        ("clinic" = ClinicId, Path, description = "The clinic."),
        ("chart" = ChartId, Path, description = "The patient's chart."),
    ),
    request_body = NewReport,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report is stored, and the leaf recording it is in the access log: its inclusion proof and a signed checkpoint.", body = ReportFiled),
        (status = 400, description = "`bad_request`: the request is malformed, stale, for another chart or user, or not signed by the caller's key; the sealed report or a wrap is malformed or too large; a wrap is not to a current admin or auditor.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: the caller is not this chart's patient, or the entry is not a leaf of the chart.", body = ErrorBody),
        (status = 409, description = "`conflict`: a report with this id exists.", body = ErrorBody),
        (status = 413, description = "`too_large`: the body is larger than 192 KiB.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn file_report(
    State(state): State<AppState>,
    OnChart {
        caller, chart: row, ..
    }: OnChart<ChartPatientGate>,
    Json(req): Json<NewReport>,
) -> Result<axum::Json<ReportFiled>, ApiError> {
    let clinic = caller.session.clinic;
    let user = caller.session.user;
    let chart = row.id;
    let checked = check_request(&state, &caller, chart, &req.request).await?;
    check_report(&state, clinic, &req).await?;
    let entry_is_the_charts = state
        .store
        .log_leaves(clinic, req.entry, req.entry.saturating_add(1))
        .await?
        .first()
        .is_some_and(|l| l.index == req.entry && l.chart == Some(chart));
    if !entry_is_the_charts {
        return Err(ApiError::not_found());
    }
    let mut entry = Entry::new(
        Action::PatientReport,
        purpose(checked.request.purpose),
        Some(user),
    )
    .chart(chart)
    .object(*req.report.as_bytes())
    .signed(checked.key_id, checked.signature);
    entry.detail = report_detail(&req);
    let (report_id, entry_index, known_log_size) =
        (req.report, req.entry, req.request.known_log_size);
    let report = PatientReport {
        clinic,
        id: req.report,
        chart,
        entry: req.entry,
        reporter: user,
        envelope: req.envelope,
        signature: req.signature,
        wraps: req.wraps,
        // The patient's signed (and checked) time, which the sealed report's context binds.
        created_at: checked.request.time,
    };
    let (index, leaf) =
        apply_logged_leaf(&state, clinic, vec![Write::AddReport(report)], entry).await?;
    crate::alerts::patient_report(&state, clinic, user, Some(entry_index)).await;
    let (log, _) = evidence(&state, clinic, index, &leaf, known_log_size).await?;
    Ok(axum::Json(ReportFiled {
        report: report_id,
        log,
    }))
}

/// The clinic's patient reports, oldest first, each with only the caller's wraps. Admins and
/// auditors.
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/reports",
    tag = "log",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The reports, oldest first, with the caller's wraps.", body = ReportList),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller is not a certified admin or auditor.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn list_reports(
    State(state): State<AppState>,
    LogReader { caller, .. }: LogReader,
) -> Result<axum::Json<ReportList>, ApiError> {
    let reports = state
        .store
        .reports(caller.session.clinic, Some(caller.session.user))
        .await?;
    Ok(axum::Json(ReportList { reports }))
}
