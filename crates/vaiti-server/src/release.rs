//! Opening a chart is a key release, and a key release is a signed, logged request
//! (`docs/access-log.md` "Key release is access").
//!
//! The client signs `{clinic, chart, user, purpose, time, nonce}` (label `vaiti v1 log request`).
//! The server checks the signature against the caller's own key, appends the access-log leaf —
//! carrying that signature, the signing key's id and the hash of the request and of every wrap it
//! hands out — and only once the leaf is stored answers with the wraps, the leaf, its inclusion
//! proof in a signed checkpoint, and a consistency proof from the client's last checkpoint. The
//! client refuses to unwrap without all of it, so a chart opened through vaiti is a chart in the
//! log.
//!
//! Reading a chart's access log works the same way: the reading is itself a signed leaf at the
//! end of the chart's chain, so the answer (every leaf of the chart, each with its inclusion
//! proof) cannot leave out a newer entry without breaking the chain it ends with. The answer comes
//! in pages of at most [`MAX_ACCESS_LOG_PAGE`] leaves, newest first: the signed `POST` logs the
//! reading and answers the newest page; `GET` with the reading's index answers older ones, with
//! proofs against the same checkpoint, for [`ACCESS_LOG_READING_S`] after the reading. No request
//! builds more than a page of proofs.
//!
//! The server does not depend on `vaiti-crypto` (an architecture invariant: it never seals or
//! unwraps); it verifies the request signature with `ed25519-dalek` over the message format of
//! `docs/formats.md` §5 (`label || 0x00 || suite || payload`), and computes key ids as in §1.

use axum::extract::State;
use vaiti_core::api::{
    ACCESS_LOG_READING_S, ChartAccessLog, ChartAccessLogPage, ChartLogLeaf, LogEvidence, LogLeaves,
    LogNodeHash, MAX_ACCESS_LOG_PAGE, MAX_LOG_LEAVES_PAGE, ReleasedChart, SignedRequest,
};
use vaiti_core::signed::ReleaseRequestV1;
use vaiti_core::{AccessPurpose, ChartId, ClinicId, Sealed, WrapScope};
use vaiti_log::{Action, ConsistencyPlan, InclusionPlan, Purpose};

use crate::access_log::{Entry, apply_logged_leaf, current_checkpoint, node_hashes};
use crate::auth::Caller;
use crate::charts::build_view;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Limit, Position, Query};
use crate::policy::{ChartLogReaderGate, ChartReaderGate, LogReader, OnChart};
use crate::state::AppState;

/// How far a request's time may be from the server's clock.
const MAX_REQUEST_SKEW_SECS: i64 = 300;

/// A checked request: what it asks, and the signature evidence for the leaf.
pub(crate) struct Checked {
    pub(crate) request: ReleaseRequestV1,
    pub(crate) key_id: [u8; 16],
    pub(crate) signature: [u8; 65],
}

pub(crate) fn purpose(p: AccessPurpose) -> Purpose {
    match p {
        AccessPurpose::Treatment => Purpose::Treatment,
        AccessPurpose::Administration => Purpose::Administration,
        AccessPurpose::Audit => Purpose::Audit,
        AccessPurpose::Emergency => Purpose::Emergency,
    }
}

/// Checks a signed request: for this clinic, chart and caller, fresh, and signed by the caller's
/// own signing key.
pub(crate) async fn check_request(
    state: &AppState,
    caller: &Caller,
    chart: ChartId,
    req: &SignedRequest,
) -> Result<Checked, ApiError> {
    let clinic = caller.session.clinic;
    let request: ReleaseRequestV1 = serde_json::from_slice(req.request.as_bytes())
        .map_err(|_| ApiError::bad_request("the request is malformed"))?;
    if request.v != 1
        || request.clinic != clinic
        || request.chart != chart
        || request.user != caller.session.user
    {
        return Err(ApiError::bad_request(
            "the request is not for this clinic, chart and user",
        ));
    }
    if request.nonce.len() != 32 || crate::signature::from_hex(&request.nonce).is_none() {
        return Err(ApiError::bad_request("the request's nonce is malformed"));
    }
    if (request.time - state.now()).abs() > MAX_REQUEST_SKEW_SECS {
        return Err(ApiError::bad_request(
            "the request's time is too far from the server's clock",
        ));
    }
    let signature: [u8; 65] = req
        .signature
        .as_bytes()
        .try_into()
        .map_err(|_| ApiError::bad_request("the request's signature is malformed"))?;
    let key_id = crate::signature::signed_by_caller(
        state,
        caller,
        crate::signature::Domain::LogRequest,
        &signature,
        req.request.as_bytes(),
    )
    .await?
    .ok_or_else(|| ApiError::bad_request("the request is not signed by your key"))?;
    Ok(Checked {
        request,
        key_id,
        signature,
    })
}

/// The evidence for leaf `index`: the newest checkpoint, the leaf's inclusion proof in it, and a
/// consistency proof from the client's last checkpoint.
pub(crate) async fn evidence(
    state: &AppState,
    clinic: ClinicId,
    index: u64,
    leaf: &[u8],
    known_log_size: u64,
) -> Result<(LogEvidence, u64), ApiError> {
    let (size, note, _) = current_checkpoint(state, clinic).await?;
    let inclusion = inclusion_proof(state, clinic, index, size).await?;
    let consistency = if known_log_size > 0 && known_log_size < size {
        let plan = ConsistencyPlan::new(known_log_size, size)
            .map_err(|_| ApiError::internal("a consistency proof could not be planned"))?;
        let found = node_hashes(state, clinic, plan.nodes()).await?;
        plan.assemble(&found)
            .map_err(|e| ApiError::internal(format!("access log: {e}")))?
            .to_bytes()
    } else {
        Vec::new()
    };
    Ok((
        LogEvidence {
            index,
            leaf: Sealed(leaf.to_vec()),
            checkpoint: String::from_utf8(note)
                .map_err(|_| ApiError::internal("a stored checkpoint is not text"))?,
            inclusion: Sealed(inclusion),
            consistency: Sealed(consistency),
        },
        size,
    ))
}

async fn inclusion_proof(
    state: &AppState,
    clinic: ClinicId,
    index: u64,
    size: u64,
) -> Result<Vec<u8>, ApiError> {
    let plan = InclusionPlan::new(index, size)
        .map_err(|_| ApiError::internal("an inclusion proof could not be planned"))?;
    let found = node_hashes(state, clinic, plan.nodes()).await?;
    Ok(plan
        .assemble(&found)
        .map_err(|e| ApiError::internal(format!("access log: {e}")))?
        .to_bytes())
}

/// Opens a chart: a signed request, answered with the chart and the proof that the opening is in
/// the access log.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/charts/{chart}/release",
    tag = "charts",
    params(
        ("clinic" = ClinicId, Path, description = "The clinic."),
        ("chart" = ChartId, Path, description = "The chart."),
    ),
    request_body = SignedRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The chart as the caller may see it, with the leaf recording its release, the leaf's inclusion proof and a signed checkpoint.", body = ReleasedChart),
        (status = 400, description = "`bad_request`: the request is malformed, stale, for another chart or user, or not signed by the caller's key.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such chart for the caller.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn release(
    State(state): State<AppState>,
    OnChart {
        caller,
        chart: row,
        latest,
        access,
        ..
    }: OnChart<ChartReaderGate>,
    Json(req): Json<SignedRequest>,
) -> Result<axum::Json<ReleasedChart>, ApiError> {
    let clinic = caller.session.clinic;
    let chart = row.id;
    let access = access.ok_or_else(ApiError::not_found)?;
    let checked = check_request(&state, &caller, chart, &req).await?;
    let view = build_view(&state, &caller, row, latest, access).await?;
    // A key release when case keys are handed over (the notes can be read), an identity read
    // otherwise (front desk, or a member without case keys yet).
    let releases_keys = view
        .wraps
        .iter()
        .any(|w| matches!(w.scope, WrapScope::Case { .. }));
    let parts = view.release_detail_parts(req.request.as_bytes());
    let (index, leaf) = apply_logged_leaf(
        &state,
        clinic,
        Vec::new(),
        Entry::new(
            if releases_keys {
                Action::KeyRelease
            } else {
                Action::IdentityRead
            },
            purpose(checked.request.purpose),
            Some(caller.session.user),
        )
        .chart(chart)
        .detail(&parts)
        .signed(checked.key_id, checked.signature),
    )
    .await?;
    if releases_keys {
        crate::alerts::key_released(&state, clinic, caller.session.user, chart).await;
    }
    let (log, _) = evidence(&state, clinic, index, &leaf, req.known_log_size).await?;
    Ok(axum::Json(ReleasedChart { view, log }))
}

/// Reads a chart's access log: the patient their own chart's, auditors and admins any chart's.
/// The reading is itself a signed leaf, the last of the answer.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/charts/{chart}/access-log",
    tag = "log",
    params(
        ("clinic" = ClinicId, Path, description = "The clinic."),
        ("chart" = ChartId, Path, description = "The chart."),
    ),
    request_body = SignedRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The chart's newest leaves (at most 256) with their inclusion proofs, the leaf of this reading, and `next` when older leaves remain (fetch them with `GET`).", body = ChartAccessLog),
        (status = 400, description = "`bad_request`: the request is malformed, stale, for another chart or user, or not signed by the caller's key.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: not the caller's own chart, and the caller is not an auditor or admin.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn chart_access_log(
    State(state): State<AppState>,
    OnChart {
        caller, chart: row, ..
    }: OnChart<ChartLogReaderGate>,
    Json(req): Json<SignedRequest>,
) -> Result<axum::Json<ChartAccessLog>, ApiError> {
    let clinic = caller.session.clinic;
    let chart = row.id;
    let checked = check_request(&state, &caller, chart, &req).await?;
    let (index, leaf) = apply_logged_leaf(
        &state,
        clinic,
        Vec::new(),
        Entry::new(
            Action::LogRead,
            purpose(checked.request.purpose),
            Some(caller.session.user),
        )
        .chart(chart)
        .detail(&[req.request.as_bytes()])
        .signed(checked.key_id, checked.signature),
    )
    .await?;
    let (log, size) = evidence(&state, clinic, index, &leaf, req.known_log_size).await?;
    let (leaves, next) =
        chart_page(&state, clinic, chart, index, size, MAX_ACCESS_LOG_PAGE).await?;
    Ok(axum::Json(ChartAccessLog { leaves, log, next }))
}

/// The chart's newest `limit` leaves before index `before`, oldest first, each with its
/// inclusion proof in the tree of `size`; and the `before` of the next older page, if any.
async fn chart_page(
    state: &AppState,
    clinic: ClinicId,
    chart: ChartId,
    before: u64,
    size: u64,
    limit: u32,
) -> Result<(Vec<ChartLogLeaf>, Option<u64>), ApiError> {
    // Anything from `before` on is newer than this page (our own leaf is `log`). One leaf more
    // than the page says whether an older page follows.
    let mut page = state
        .store
        .chart_log_leaves(clinic, chart, before, limit.saturating_add(1))
        .await?;
    let older = page.len() > limit as usize;
    if older {
        page.remove(0);
    }
    let next = page.first().filter(|_| older).map(|l| l.index);
    let mut leaves = Vec::with_capacity(page.len());
    for l in page {
        leaves.push(ChartLogLeaf {
            index: l.index,
            inclusion: Sealed(inclusion_proof(state, clinic, l.index, size).await?),
            leaf: l.leaf,
        });
    }
    Ok((leaves, next))
}

/// Parameters of `GET /charts/{chart}/access-log`: which reading this page continues, and where.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AccessLogPageQuery {
    /// The index of the reading's own leaf (`log.index` of the `POST`'s answer).
    #[param(value_type = u64, minimum = 0, maximum = 9223372036854775807_u64)]
    reading: Position,
    /// The size of the checkpoint the reading's answer carried: the proofs are against it.
    #[param(value_type = u64, minimum = 0, maximum = 9223372036854775807_u64)]
    size: Position,
    /// Leaves before this index (the previous page's `next`).
    #[param(value_type = u64, minimum = 0, maximum = 9223372036854775807_u64)]
    before: Position,
    /// At most this many leaves (default and maximum 256).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 256)]
    limit: Option<Limit<MAX_ACCESS_LOG_PAGE>>,
}

/// An older page of a chart's access log, continuing a reading the caller logged with the
/// signed `POST` in the last 15 minutes.
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/charts/{chart}/access-log",
    tag = "log",
    params(
        ("clinic" = ClinicId, Path, description = "The clinic."),
        ("chart" = ChartId, Path, description = "The chart."),
        AccessLogPageQuery,
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The chart's newest leaves before `before`, oldest first, with inclusion proofs in the tree of `size`, and `next` when older ones remain.", body = ChartAccessLogPage),
        (status = 400, description = "`bad_request`: malformed parameters; `reading` is not the caller's reading of this chart's log in the last 15 minutes; or not before ≤ reading < size ≤ the log's size.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: not the caller's own chart, and the caller is not an auditor or admin.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn chart_access_log_page(
    State(state): State<AppState>,
    OnChart {
        caller, chart: row, ..
    }: OnChart<ChartLogReaderGate>,
    Query(q): Query<AccessLogPageQuery>,
) -> Result<axum::Json<ChartAccessLogPage>, ApiError> {
    let clinic = caller.session.clinic;
    let chart = row.id;
    let (reading, size, before) = (q.reading.get(), q.size.get(), q.before.get());
    let not_a_reading = || {
        ApiError::bad_request(
            "not a page of your reading of this chart's log in the last 15 minutes (before ≤ reading < size ≤ the log's size)",
        )
    };
    if before > reading || reading >= size || size > state.store.log_size(clinic).await? {
        return Err(not_a_reading());
    }
    // The page continues a logged reading: the caller's own, of this chart, recent.
    let leaf = state
        .store
        .log_leaves(clinic, reading, reading + 1)
        .await?
        .into_iter()
        .next()
        .filter(|l| l.index == reading)
        .ok_or_else(not_a_reading)?;
    let leaf = vaiti_log::Leaf::decode(leaf.leaf.as_bytes())
        .map_err(|_| ApiError::internal("a stored leaf does not decode"))?;
    if leaf.action != Action::LogRead
        || leaf.actor != *caller.session.user.as_bytes()
        || leaf.chart != *chart.as_bytes()
        || state.now().saturating_sub(leaf.time) > ACCESS_LOG_READING_S
    {
        return Err(not_a_reading());
    }
    let limit = q.limit.map_or(MAX_ACCESS_LOG_PAGE, Limit::get);
    let (leaves, next) = chart_page(&state, clinic, chart, before, size, limit).await?;
    Ok(axum::Json(ChartAccessLogPage { leaves, next }))
}

/// Parameters of `GET /log/leaves`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LeavesQuery {
    /// The first index.
    #[param(value_type = u64, minimum = 0, maximum = 9223372036854775807_u64)]
    start: Position,
    /// One past the last index (at most `start + 4096`).
    #[param(value_type = u64, minimum = 0, maximum = 9223372036854775807_u64)]
    end: Position,
}

/// A run of the clinic's leaves, for auditors and admins recomputing the whole tree.
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/log/leaves",
    tag = "log",
    params(("clinic" = ClinicId, Path, description = "The clinic."), LeavesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The leaves, in index order.", body = LogLeaves),
        (status = 400, description = "`bad_request`: not start < end ≤ the log's size, or more than 4096 leaves.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller is not a certified auditor or admin.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn leaves(
    State(state): State<AppState>,
    LogReader { caller, .. }: LogReader,
    Query(q): Query<LeavesQuery>,
) -> Result<axum::Json<LogLeaves>, ApiError> {
    let clinic = caller.session.clinic;
    let (start, end) = (q.start.get(), q.end.get());
    if start >= end
        || end - start > MAX_LOG_LEAVES_PAGE
        || end > state.store.log_size(clinic).await?
    {
        return Err(ApiError::bad_request(
            "not start < end ≤ the log's size with at most 4096 leaves",
        ));
    }
    let found = state.store.log_leaves(clinic, start, end).await?;
    let mut leaves = Vec::with_capacity(found.len());
    for (i, l) in found.into_iter().enumerate() {
        if l.index != start + i as u64 {
            return Err(ApiError::internal("the access log has a gap"));
        }
        leaves.push(l.leaf);
    }
    // The subtrees each leaf completes: (0, i), then one parent per trailing one bit of i.
    let mut ids = Vec::new();
    for i in start..end {
        ids.push(vaiti_log::NodeId::leaf(i));
        let mut level = 0u8;
        while (i >> level) & 1 == 1 {
            level += 1;
            ids.push(vaiti_log::NodeId {
                level,
                index: i >> level,
            });
        }
    }
    let hashes = node_hashes(&state, clinic, &ids).await?;
    let nodes = ids
        .iter()
        .zip(hashes)
        .map(|(id, hash)| LogNodeHash {
            level: id.level,
            index: id.index,
            hash: Sealed(hash.to_vec()),
        })
        .collect();
    Ok(axum::Json(LogLeaves {
        start,
        leaves,
        nodes,
    }))
}
