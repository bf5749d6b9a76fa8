//! Charts, their signed state, key wraps and records (`docs/protocol.md` "Charts and notes").
//!
//! The server stores what clients seal and sign; it never sees a name or a note. It does read the
//! signed chart state (ids only: the care team, the patient's account, the epoch) to authorise
//! every request by role and care-team membership, as defence in depth behind the clients' own
//! checks: a front desk session never receives a note, a patient only the shared tier of their own
//! chart, and a clinician outside the care team nothing but 404.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use vaiti_core::api::{
    AppendChartState, ChartList, ChartSummary, ChartView, CreateChart, MAX_CHARTS_PAGE,
    NewChartState, NewRecord, NewWrap, ObjectLocation, PutWraps,
};
use vaiti_core::signed::ChartStateV1;
use vaiti_core::{
    BranchId, Chart, ChartId, ChartStateEntry, ClinicId, DirectoryWrap, KeyWrap, ObjectId,
    Recipient, RecordVersion, WrapScope, record_kind, tier,
};
use vaiti_store::Write;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Limit, Path, Position, Query};
use crate::policy::{
    self, Access, CareTeamGate, Certified, ChartStaffGate, OnChart, Staff, access, holds_directory,
};
use crate::state::AppState;

fn hex32(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The latest chart state, parsed (the server's view, for authorisation only).
pub(crate) async fn latest_state(
    state: &AppState,
    clinic: ClinicId,
    chart: ChartId,
) -> Result<Option<ChartStateV1>, ApiError> {
    let states = state.store.chart_states(clinic, chart).await?;
    states
        .last()
        .map(|e| {
            serde_json::from_slice(e.body.as_bytes())
                .map_err(|_| ApiError::internal("a stored chart state does not parse"))
        })
        .transpose()
}

/// Checks a new chart-state entry against the chart's stored chain and the caller; returns it
/// parsed.
pub(crate) async fn check_state_entry(
    state: &AppState,
    caller: &Caller,
    clinic: ClinicId,
    chart: ChartId,
    entry: &NewChartState,
) -> Result<ChartStateV1, ApiError> {
    let parsed: ChartStateV1 = serde_json::from_slice(entry.body.as_bytes())
        .map_err(|_| ApiError::bad_request("the chart state is malformed"))?;
    let stored = state.store.chart_states(clinic, chart).await?;
    let (prev_hash, prev_epoch, prev_branch) = match stored.last() {
        Some(last) => {
            let prev: ChartStateV1 = serde_json::from_slice(last.body.as_bytes())
                .map_err(|_| ApiError::internal("a stored chart state does not parse"))?;
            (hex32(&last.hash), prev.epoch, Some(prev.branch))
        }
        None => (hex32(&[0; 32]), 0, None),
    };
    let well_formed = parsed.v == 1
        && parsed.clinic == clinic
        && parsed.chart == chart
        && parsed.seq == entry.seq
        && parsed.seq == stored.len() as u64 + 1
        && parsed.prev == prev_hash
        && parsed.author == caller.session.user
        && prev_branch.is_none_or(|b| b == parsed.branch)
        && (parsed.epoch == prev_epoch || parsed.epoch == prev_epoch + 1)
        && parsed.epoch >= 1
        && entry.hash.as_bytes().len() == 32
        && entry.signature.as_bytes().len() == 65;
    if !well_formed {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "the chart state does not follow the chart's latest state; sync and retry",
        ));
    }
    let mut team = parsed.care_team.clone();
    team.sort();
    team.dedup();
    if team.len() != parsed.care_team.len() || team.len() > 64 {
        return Err(ApiError::bad_request(
            "the care team lists a member twice, or too many",
        ));
    }
    for member in &parsed.care_team {
        let account = state
            .store
            .account(clinic, *member)
            .await?
            .ok_or_else(|| ApiError::bad_request("a care-team member has no account"))?;
        let certified = policy::is_certified(state, clinic, *member).await?;
        if !policy::may_be_in_care_team(&account, certified) {
            return Err(ApiError::bad_request(
                "only certified clinicians (the therapist role) can be in a care team",
            ));
        }
    }
    Ok(parsed)
}

/// The store write for a checked chart-state entry.
pub(crate) fn state_write(
    clinic: ClinicId,
    chart: ChartId,
    caller: &Caller,
    entry: NewChartState,
    now: i64,
) -> Result<Write, ApiError> {
    let hash: [u8; 32] = entry
        .hash
        .as_bytes()
        .try_into()
        .map_err(|_| ApiError::bad_request("a chart-state hash is 32 bytes"))?;
    Ok(Write::AppendChartState {
        clinic,
        entry: ChartStateEntry {
            chart,
            seq: entry.seq,
            body: entry.body,
            signature: entry.signature,
            author: caller.session.user,
            hash,
            created_at: now,
        },
    })
}

fn record_write(
    clinic: ClinicId,
    chart: ChartId,
    caller: &Caller,
    r: NewRecord,
) -> Result<Write, ApiError> {
    let h = |s: &vaiti_core::Sealed| -> Result<[u8; 32], ApiError> {
        s.as_bytes()
            .try_into()
            .map_err(|_| ApiError::bad_request("a record hash is 32 bytes"))
    };
    Ok(Write::PutRecordVersion(RecordVersion {
        clinic,
        object: r.object,
        version: r.version,
        kind: r.kind,
        chart,
        tier: r.tier,
        epoch: r.epoch,
        author: caller.session.user,
        author_key: r.author_key,
        created_at: r.created_at,
        prev_version_hash: h(&r.prev_version_hash)?,
        chart_state_hash: h(&r.chart_state_hash)?,
        wrapped_key: r.wrapped_key,
        envelope: r.envelope,
        signature: r.signature,
    }))
}

fn wrap_writes(
    clinic: ClinicId,
    caller: &Caller,
    wraps: Vec<NewWrap>,
    now: i64,
) -> impl Iterator<Item = Write> {
    let by = caller.session.user;
    wraps.into_iter().map(move |w| {
        Write::PutKeyWrap(KeyWrap {
            clinic,
            scope: w.scope,
            recipient: w.recipient,
            recipient_key: w.recipient_key,
            wrap: w.wrap,
            signature: w.signature,
            wrapped_by: by,
            created_at: now,
        })
    })
}

/// Wraps may only carry keys of this chart, to its care team, its patient (identity and the
/// shared tier) or escrow.
fn check_chart_wraps(
    wraps: &[NewWrap],
    chart: ChartId,
    state: &ChartStateV1,
) -> Result<(), ApiError> {
    for w in wraps {
        let for_chart = w.scope.chart() == Some(chart);
        let recipient_ok = match w.recipient {
            Recipient::Escrow => true,
            Recipient::User { user } if state.care_team.contains(&user) => true,
            Recipient::User { user } if state.patient == Some(user) => matches!(
                w.scope,
                WrapScope::Identity { .. }
                    | WrapScope::Case {
                        tier: tier::SHARED,
                        ..
                    }
            ),
            Recipient::User { .. } => false,
        };
        if !for_chart || !recipient_ok {
            return Err(ApiError::bad_request(
                "a wrap is for another chart, or for someone outside the care team",
            ));
        }
        if let WrapScope::Case { tier: t, epoch, .. } = w.scope
            && (!(t == tier::TEAM || t == tier::SHARED) || epoch == 0 || epoch > state.epoch)
        {
            return Err(ApiError::bad_request(
                "a case key's tier or epoch is invalid",
            ));
        }
    }
    Ok(())
}

/// Adds a patient: the chart, its first state, identity record, search card and key wraps, in
/// one transaction. Front desk and admins of the branch.
/// Refuses case-key wraps from anyone who may not hand case keys out (`policy`).
fn check_case_key_wrapper(wraps: &[NewWrap], access: Option<Access>) -> Result<(), ApiError> {
    let has_case_keys = wraps
        .iter()
        .any(|w| matches!(w.scope, WrapScope::Case { .. }));
    if has_case_keys && !policy::may_wrap_case_keys(access) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only a clinician of the chart's care team hands out its case keys",
        ));
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/charts",
    tag = "charts",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    request_body = CreateChart,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The chart exists."),
        (status = 400, description = "`bad_request`: malformed chart parts.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 403, description = "`forbidden`: only front desk and admins of the branch add patients.", body = ErrorBody),
        (status = 409, description = "`conflict`: the chart exists.", body = ErrorBody),
        (status = 413, description = "`too_large`: the request body is too large.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn create_chart(
    State(state): State<AppState>,
    Staff { caller, .. }: Staff,
    Json(req): Json<CreateChart>,
) -> Result<StatusCode, ApiError> {
    let clinic = caller.session.clinic;
    policy::require(
        holds_directory(&caller, req.branch),
        "only front desk and admins of the branch add patients",
    )?;
    let parsed = check_state_entry(&state, &caller, clinic, req.chart, &req.state).await?;
    if parsed.seq != 1 || parsed.branch != req.branch || parsed.patient.is_some() {
        return Err(ApiError::bad_request(
            "a new chart's first state names its branch and no patient",
        ));
    }
    let row = Chart {
        clinic,
        id: req.chart,
        branch: req.branch,
        created_by: caller.session.user,
        created_at: state.now(),
    };
    // Case keys come only from a clinician of the care team; whoever creates a chart as front
    // desk or admin hands out its identity key, nothing more.
    check_case_key_wrapper(
        &req.wraps,
        policy::chart_access(&caller, &row, Some(&parsed)),
    )?;
    if req.identity.kind != record_kind::IDENTITY_RECORD
        || req.search_card.kind != record_kind::SEARCH_CARD
        || req.identity.version != 1
        || req.search_card.version != 1
        || req.identity.tier != 0
        || req.search_card.tier != 0
    {
        return Err(ApiError::bad_request(
            "a new chart carries version 1 of its identity record and search card",
        ));
    }
    check_chart_wraps(&req.wraps, req.chart, &parsed)?;
    if !req.wraps.iter().any(|w| {
        w.recipient == Recipient::Escrow && w.scope == (WrapScope::Identity { chart: req.chart })
    }) {
        return Err(ApiError::bad_request(
            "the identity key must also be wrapped to escrow",
        ));
    }
    let now = row.created_at;
    let state_hash = req.state.hash.0.clone();
    let mut writes = vec![
        Write::CreateChart(row),
        state_write(clinic, req.chart, &caller, req.state, now)?,
        record_write(clinic, req.chart, &caller, req.identity)?,
        record_write(clinic, req.chart, &caller, req.search_card)?,
        Write::PutDirectoryWrap(DirectoryWrap {
            clinic,
            chart: req.chart,
            branch: req.branch,
            epoch: req.directory_epoch,
            envelope: req.directory_wrap,
        }),
    ];
    writes.extend(wrap_writes(clinic, &caller, req.wraps, now));
    crate::access_log::apply_logged(
        &state,
        clinic,
        writes,
        crate::access_log::Entry::new(
            vaiti_log::Action::ChartStateChange,
            vaiti_log::Purpose::Administration,
            Some(caller.session.user),
        )
        .chart(req.chart)
        .detail(&[&state_hash]),
    )
    .await?;
    tracing::info!(clinic = %clinic, chart = %req.chart, by = %caller.session.user, "chart created");
    Ok(StatusCode::CREATED)
}

/// Filter of `GET /charts`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ChartsQuery {
    /// A branch's directory (front desk and admins of the branch); without it, the caller's own
    /// charts (a clinician's caseload, a patient's chart).
    branch: Option<BranchId>,
    /// Where the page starts (the previous page's `next`; default 0).
    #[param(value_type = u64, required = false, minimum = 0, maximum = 9223372036854775807_u64)]
    position: Option<Position>,
    /// At most this many charts (default and maximum 200).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 200)]
    limit: Option<Limit<MAX_CHARTS_PAGE>>,
}

/// Given a store page read with one item more than `limit`, from `position`: drops the extra
/// item and answers the position of the next page if it existed.
pub(crate) fn next_position<T>(page: &mut Vec<T>, position: u64, limit: u32) -> Option<u64> {
    if page.len() > limit as usize {
        page.truncate(limit as usize);
        Some(position.saturating_add(u64::from(limit)))
    } else {
        None
    }
}

/// Lists charts: a branch's directory (search cards) or the caller's caseload (identity records
/// for the charts whose identity key is wrapped to the caller). Never notes.
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/charts",
    tag = "charts",
    params(("clinic" = ClinicId, Path, description = "The clinic."), ChartsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the charts, oldest first, and `next` when more remain.", body = ChartList),
        (status = 400, description = "`bad_request`: a malformed branch id, or a malformed or out-of-range `limit` or `position`.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: not the caller's branch.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn list_charts(
    State(state): State<AppState>,
    Certified { caller, .. }: Certified,
    Query(query): Query<ChartsQuery>,
) -> Result<axum::Json<ChartList>, ApiError> {
    let clinic = caller.session.clinic;
    let user = caller.session.user;
    let mut charts = Vec::new();
    let position = query.position.map_or(0, Position::get);
    let limit = query.limit.map_or(MAX_CHARTS_PAGE, Limit::get);
    let next;
    if let Some(branch) = query.branch {
        if !holds_directory(&caller, branch) {
            return Err(ApiError::not_found());
        }
        // One more than the page, to know whether another follows.
        let mut page = state
            .store
            .charts_in_branch(clinic, branch, position, limit.saturating_add(1))
            .await?;
        next = next_position(&mut page, position, limit);
        for chart in page {
            if crate::alerts::is_decoy(&state, clinic, chart.id) {
                continue; // Decoys are never listed.
            }
            let search_card = latest_of(&state, clinic, chart.id, record_kind::SEARCH_CARD).await?;
            let directory_wrap = state.store.directory_wrap(clinic, chart.id).await?;
            charts.push(ChartSummary {
                chart,
                search_card,
                directory_wrap,
                identity: None,
                identity_wrap: None,
                states: Vec::new(),
            });
        }
    } else {
        let mut page = state
            .store
            .charts_wrapped_to(clinic, user, position, limit.saturating_add(1))
            .await?;
        next = next_position(&mut page, position, limit);
        for id in page {
            if crate::alerts::is_decoy(&state, clinic, id) {
                continue; // Decoys are never listed.
            }
            // Only charts the caller may still see (a removed member keeps old wraps).
            let Ok((chart, _, _)) = access(&state, &caller, id).await else {
                continue;
            };
            let identity_wrap = state
                .store
                .key_wraps(clinic, Recipient::User { user }, Some(id))
                .await?
                .into_iter()
                .find(|w| matches!(w.scope, WrapScope::Identity { .. }));
            let identity = latest_of(&state, clinic, id, record_kind::IDENTITY_RECORD).await?;
            let states = state.store.chart_states(clinic, id).await?;
            charts.push(ChartSummary {
                chart,
                search_card: None,
                directory_wrap: None,
                identity,
                identity_wrap,
                states,
            });
        }
    }
    // A listing is one leaf (it reads search cards or the caller's own caseload, never notes):
    // listing 200 patients is not 200 chart openings.
    let mut entry = crate::access_log::Entry::new(
        vaiti_log::Action::IdentityRead,
        if query.branch.is_some() {
            vaiti_log::Purpose::Administration
        } else {
            vaiti_log::Purpose::Treatment
        },
        Some(user),
    );
    if let Some(branch) = query.branch {
        entry = entry.object(*branch.as_bytes());
    }
    let ids: Vec<&[u8]> = charts
        .iter()
        .map(|c| c.chart.id.as_bytes().as_slice())
        .collect();
    crate::access_log::apply_logged(&state, clinic, Vec::new(), entry.detail(&ids)).await?;
    Ok(axum::Json(ChartList { charts, next }))
}

async fn latest_of(
    state: &AppState,
    clinic: ClinicId,
    chart: ChartId,
    kind: u8,
) -> Result<Option<RecordVersion>, ApiError> {
    Ok(state
        .store
        .latest_records(clinic, chart, &[kind])
        .await?
        .into_iter()
        .next())
}

async fn all_versions(
    state: &AppState,
    clinic: ClinicId,
    chart: ChartId,
    kind: u8,
    keep: impl Fn(&RecordVersion) -> bool,
) -> Result<Vec<RecordVersion>, ApiError> {
    let mut out = Vec::new();
    for latest in state.store.latest_records(clinic, chart, &[kind]).await? {
        if !keep(&latest) {
            continue;
        }
        if latest.version == 1 {
            out.push(latest);
        } else {
            out.extend(state.store.record_versions(clinic, latest.object).await?);
        }
    }
    Ok(out)
}

/// One chart as the caller may see it: its state chain, the caller's wraps, and every record
/// version the caller may read. Not a handler: a chart is only handed out by the signed, logged
/// release (`crate::release`), which calls this.
/// The chart as `caller` may see it, given the access the gate decided.
pub(crate) async fn build_view(
    state: &AppState,
    caller: &Caller,
    row: Chart,
    latest: Option<ChartStateV1>,
    access: Access,
) -> Result<ChartView, ApiError> {
    let clinic = caller.session.clinic;
    let chart = row.id;
    let states = state.store.chart_states(clinic, chart).await?;
    let mut keyless = Vec::new();
    let mut missing_epochs = Vec::new();
    if let (Access::CareTeam, Some(latest)) = (access, latest.as_ref()) {
        for member in &latest.care_team {
            let held: std::collections::BTreeSet<u32> = state
                .store
                .key_wraps(clinic, Recipient::User { user: *member }, Some(chart))
                .await?
                .iter()
                .filter_map(|w| match w.scope {
                    WrapScope::Case { epoch, .. } => Some(epoch),
                    _ => None,
                })
                .collect();
            if !held.contains(&latest.epoch) {
                keyless.push(*member);
            }
            let epochs: Vec<u32> = (1..=latest.epoch).filter(|e| !held.contains(e)).collect();
            if !epochs.is_empty() {
                missing_epochs.push(vaiti_core::api::MissingEpochs {
                    user: *member,
                    epochs,
                });
            }
        }
    }
    let wraps = state
        .store
        .key_wraps(
            clinic,
            Recipient::User {
                user: caller.session.user,
            },
            Some(chart),
        )
        .await?;
    let directory = access == Access::Directory || holds_directory(caller, row.branch);
    let (directory_wrap, search_card) = if directory {
        (
            state.store.directory_wrap(clinic, chart).await?,
            all_versions(state, clinic, chart, record_kind::SEARCH_CARD, |_| true).await?,
        )
    } else {
        (None, Vec::new())
    };
    let identity =
        all_versions(state, clinic, chart, record_kind::IDENTITY_RECORD, |_| true).await?;
    let notes = match access {
        Access::CareTeam => all_versions(state, clinic, chart, record_kind::NOTE, |_| true).await?,
        Access::Patient => {
            all_versions(state, clinic, chart, record_kind::NOTE, |r| {
                r.tier == tier::SHARED
            })
            .await?
        }
        Access::Directory => Vec::new(),
    };
    Ok(ChartView {
        chart: row,
        states,
        wraps,
        directory_wrap,
        identity,
        search_card,
        notes,
        keyless,
        missing_epochs,
    })
}

/// A care-team change: the next signed chart state and the wraps it needs (a new member's keys,
/// or a new epoch's after a removal). Care-team clinicians only.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/charts/{chart}/state",
    tag = "charts",
    params(
        ("clinic" = ClinicId, Path, description = "The clinic."),
        ("chart" = ChartId, Path, description = "The chart."),
    ),
    request_body = AppendChartState,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The state and wraps are stored."),
        (status = 400, description = "`bad_request`: malformed state or wraps.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such chart in the caller's care.", body = ErrorBody),
        (status = 409, description = "`conflict`: the chart state changed meanwhile; sync and retry.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn append_state(
    State(state): State<AppState>,
    OnChart {
        caller,
        chart: row,
        latest,
        access,
        ..
    }: OnChart<ChartStaffGate>,
    Json(req): Json<AppendChartState>,
) -> Result<StatusCode, ApiError> {
    let clinic = caller.session.clinic;
    let chart = row.id;
    let access = access.ok_or_else(ApiError::not_found)?;
    let parsed = check_state_entry(&state, &caller, clinic, chart, &req.state).await?;
    check_case_key_wrapper(&req.wraps, Some(access))?;
    match access {
        Access::CareTeam => {}
        // Front desk and admins of the branch may add clinicians to the care team, nothing else:
        // no removal, no new epoch, no patient change, and only identity-key wraps.
        Access::Directory => {
            let latest = latest.ok_or_else(ApiError::not_found)?;
            let only_adds = latest
                .care_team
                .iter()
                .all(|m| parsed.care_team.contains(m))
                && parsed.care_team.len() > latest.care_team.len()
                && parsed.epoch == latest.epoch
                && parsed.patient == latest.patient
                && req
                    .wraps
                    .iter()
                    .all(|w| matches!(w.scope, WrapScope::Identity { .. }));
            if !only_adds {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "front desk and admins may only add clinicians to a care team",
                ));
            }
        }
        Access::Patient => return Err(ApiError::not_found()),
    }
    check_chart_wraps(&req.wraps, chart, &parsed)?;
    let now = state.now();
    let entry = crate::access_log::Entry::new(
        vaiti_log::Action::ChartStateChange,
        if access == Access::CareTeam {
            vaiti_log::Purpose::Treatment
        } else {
            vaiti_log::Purpose::Administration
        },
        Some(caller.session.user),
    )
    .chart(chart)
    .detail(&[req.state.hash.as_bytes()]);
    let mut writes = vec![state_write(clinic, chart, &caller, req.state, now)?];
    writes.extend(wrap_writes(clinic, &caller, req.wraps, now));
    crate::access_log::apply_logged(&state, clinic, writes, entry).await?;
    tracing::info!(clinic = %clinic, chart = %chart, by = %caller.session.user, "chart state appended");
    Ok(StatusCode::NO_CONTENT)
}

/// Stores key wraps of a chart: the case keys its first clinician makes. Care-team clinicians only.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/charts/{chart}/wraps",
    tag = "charts",
    params(
        ("clinic" = ClinicId, Path, description = "The clinic."),
        ("chart" = ChartId, Path, description = "The chart."),
    ),
    request_body = PutWraps,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The wraps are stored."),
        (status = 400, description = "`bad_request`: malformed wraps.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such chart in the caller's care.", body = ErrorBody),
        (status = 409, description = "`conflict`: such a wrap exists (another clinician made the keys first).", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn put_wraps(
    State(state): State<AppState>,
    OnChart {
        caller,
        chart: row,
        latest,
        ..
    }: OnChart<CareTeamGate>,
    Json(req): Json<PutWraps>,
) -> Result<StatusCode, ApiError> {
    let clinic = caller.session.clinic;
    let chart = row.id;
    let latest = latest.ok_or_else(ApiError::not_found)?;
    if req.wraps.is_empty() {
        return Err(ApiError::bad_request("no wraps"));
    }
    check_chart_wraps(&req.wraps, chart, &latest)?;
    let now = state.now();
    crate::access_log::apply_logged(
        &state,
        clinic,
        wrap_writes(clinic, &caller, req.wraps, now).collect(),
        crate::access_log::Entry::new(
            vaiti_log::Action::AdminAction,
            vaiti_log::Purpose::Treatment,
            Some(caller.session.user),
        )
        .chart(chart),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stores a record version: a note (care-team clinicians, under the latest chart state and
/// epoch) or a new version of the identity record or search card.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/charts/{chart}/records",
    tag = "charts",
    params(
        ("clinic" = ClinicId, Path, description = "The clinic."),
        ("chart" = ChartId, Path, description = "The chart."),
    ),
    request_body = NewRecord,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The version is stored."),
        (status = 400, description = "`bad_request`: malformed record.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such chart for the caller.", body = ErrorBody),
        (status = 409, description = "`conflict`: another version or chart state came first; sync and retry.", body = ErrorBody),
        (status = 413, description = "`too_large`: the request body is too large.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn put_record(
    State(state): State<AppState>,
    OnChart {
        caller,
        chart: row,
        latest,
        access,
        ..
    }: OnChart<ChartStaffGate>,
    Json(req): Json<NewRecord>,
) -> Result<StatusCode, ApiError> {
    let clinic = caller.session.clinic;
    let chart = row.id;
    let access = access.ok_or_else(ApiError::not_found)?;
    let latest = latest.ok_or_else(ApiError::not_found)?;
    match req.kind {
        record_kind::NOTE => {
            if access != Access::CareTeam {
                return Err(ApiError::not_found());
            }
            let states = state.store.chart_states(clinic, chart).await?;
            let current = states.last().map(|s| s.hash.to_vec()).unwrap_or_default();
            if !(req.tier == tier::TEAM || req.tier == tier::SHARED) {
                return Err(ApiError::bad_request(
                    "a note's tier is team (1) or shared (2)",
                ));
            }
            if req.epoch != latest.epoch || req.chart_state_hash.as_bytes() != current.as_slice() {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "the chart's care team changed meanwhile; sync and retry",
                ));
            }
        }
        record_kind::IDENTITY_RECORD | record_kind::SEARCH_CARD => {
            if !matches!(access, Access::CareTeam | Access::Directory) || req.version < 2 {
                return Err(ApiError::bad_request(
                    "staff of the chart update its identity record or search card",
                ));
            }
        }
        _ => return Err(ApiError::bad_request("unknown record kind")),
    }
    let entry = crate::access_log::Entry::new(
        vaiti_log::Action::RecordWrite,
        if access == Access::Directory {
            vaiti_log::Purpose::Administration
        } else {
            vaiti_log::Purpose::Treatment
        },
        Some(caller.session.user),
    )
    .chart(chart)
    .object(*req.object.as_bytes())
    .detail(&[req.envelope.as_bytes(), req.signature.as_bytes()]);
    crate::access_log::apply_logged(
        &state,
        clinic,
        vec![record_write(clinic, chart, &caller, req)?],
        entry,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which chart an object (a note) belongs to, for callers who may see that chart.
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/objects/{object}",
    tag = "charts",
    params(
        ("clinic" = ClinicId, Path, description = "The clinic."),
        ("object" = ObjectId, Path, description = "The object."),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The object's chart.", body = ObjectLocation),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such object for the caller.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn object_location(
    State(state): State<AppState>,
    Certified { caller, .. }: Certified,
    Path((_clinic, object)): Path<(ClinicId, ObjectId)>,
) -> Result<axum::Json<ObjectLocation>, ApiError> {
    let versions = state
        .store
        .record_versions(caller.session.clinic, object)
        .await?;
    let first = versions.first().ok_or_else(ApiError::not_found)?;
    let (_, _, access) = access(&state, &caller, first.chart).await?;
    if !policy::may_see_record(access, first.kind, first.tier) {
        return Err(ApiError::not_found());
    }
    Ok(axum::Json(ObjectLocation {
        object,
        chart: first.chart,
    }))
}
