//! The access log's server side (`docs/access-log.md`): every access and every change is a leaf
//! of the clinic's log, appended in the same transaction as the action it records, so there is no
//! action without its leaf and no leaf without its action.
//!
//! An append reads the log's size and the hashes of its peaks (the perfect subtrees that make up
//! the tree), builds the leaf (with the chart's previous leaf, for the per-chart chain), computes
//! the subtree hashes the leaf completes, and writes all of it with the action's own writes in one
//! `apply`. The store refuses any index but the next one, so two requests racing for the same
//! index cannot both succeed: the loser recomputes and tries again.
//!
//! Checkpoints are signed lazily under the clinic's log key, whenever one is asked for and the
//! log has grown. Chart openings and access-log reads are signed requests (`crate::release`).

use vaiti_core::{ChartId, ClinicId, LogLeaf, LogNode, Sealed, UserId};
use vaiti_log::{Action, ChartLink, Frontier, Leaf, Purpose};
use vaiti_store::{StoreError, Write};

use crate::error::ApiError;
use crate::state::AppState;

/// How often an append is retried when another request took its index.
const APPEND_ATTEMPTS: usize = 8;

/// What a leaf records, besides the clinic and the time (which the append fills in).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// What happened.
    pub(crate) action: Action,
    /// Why.
    pub(crate) purpose: Purpose,
    /// Who (none when not named, e.g. a failed login for a name with no account).
    pub(crate) actor: Option<UserId>,
    /// The chart concerned.
    pub(crate) chart: Option<ChartId>,
    /// The object concerned (record, invite, branch, account).
    pub(crate) object: Option<[u8; 16]>,
    /// SHA-256 of what the action is about.
    pub(crate) detail: [u8; 32],
    /// The signing key id of a signed request (zeros when not signed).
    pub(crate) actor_key: [u8; 16],
    /// The client's signature over its request (zeros when not signed).
    pub(crate) request_signature: [u8; 65],
}

impl Entry {
    /// An entry with no chart, object or detail.
    pub(crate) fn new(action: Action, purpose: Purpose, actor: Option<UserId>) -> Self {
        Self {
            action,
            purpose,
            actor,
            chart: None,
            object: None,
            detail: [0; 32],
            actor_key: [0; 16],
            request_signature: [0; 65],
        }
    }

    /// The chart concerned.
    pub(crate) fn chart(mut self, chart: ChartId) -> Self {
        self.chart = Some(chart);
        self
    }

    /// The object concerned.
    pub(crate) fn object(mut self, object: [u8; 16]) -> Self {
        self.object = Some(object);
        self
    }

    /// The detail hash over `parts` ([`vaiti_log::detail_hash`]).
    pub(crate) fn detail(mut self, parts: &[&[u8]]) -> Self {
        self.detail = vaiti_log::detail_hash(parts);
        self
    }

    /// The client's signed request: its signing key id and signature.
    pub(crate) fn signed(mut self, key: [u8; 16], signature: [u8; 65]) -> Self {
        self.actor_key = key;
        self.request_signature = signature;
        self
    }
}

fn log_error(e: vaiti_log::Error) -> ApiError {
    ApiError::internal(format!("access log: {e}"))
}

/// Applies `writes` together with the leaf recording `entry`; returns the leaf's index.
pub(crate) async fn apply_logged(
    state: &AppState,
    clinic: ClinicId,
    writes: Vec<Write>,
    entry: Entry,
) -> Result<u64, ApiError> {
    apply_logged_leaf(state, clinic, writes, entry)
        .await
        .map(|(index, _)| index)
}

/// [`apply_logged`], also returning the leaf's encoding.
pub(crate) async fn apply_logged_leaf(
    state: &AppState,
    clinic: ClinicId,
    writes: Vec<Write>,
    entry: Entry,
) -> Result<(u64, [u8; vaiti_log::LEAF_V1_LEN]), ApiError> {
    for _ in 0..APPEND_ATTEMPTS {
        let size = state.store.log_size(clinic).await?;
        let ids: Vec<(u8, u64)> = Frontier::peak_ids(size)
            .iter()
            .map(|n| (n.level, n.index))
            .collect();
        let peaks: Option<Vec<[u8; 32]>> = state
            .store
            .log_nodes(clinic, &ids)
            .await?
            .into_iter()
            .collect();
        let peaks =
            peaks.ok_or_else(|| ApiError::internal("the access log is missing a subtree"))?;
        let mut frontier = Frontier::from_peaks(size, peaks).map_err(log_error)?;
        let chart_previous = match entry.chart {
            Some(chart) => state
                .store
                .last_chart_log_leaf(clinic, chart)
                .await?
                .map(|l| ChartLink {
                    index: l.index,
                    hash: l.leaf_hash,
                }),
            None => None,
        };
        let now = state.now();
        let leaf = Leaf {
            action: entry.action,
            purpose: entry.purpose,
            clinic: *clinic.as_bytes(),
            actor: entry.actor.map_or([0; 16], |u| *u.as_bytes()),
            actor_key: entry.actor_key,
            chart: entry.chart.map_or([0; 16], |c| *c.as_bytes()),
            chart_previous,
            object: entry.object.unwrap_or([0; 16]),
            detail: entry.detail,
            time: now,
            request_signature: entry.request_signature,
        };
        let bytes = leaf.encode();
        let hash = vaiti_log::leaf_hash(&bytes);
        let mut nodes = Vec::new();
        let index = frontier
            .append_leaf_hash_with(hash, |id, h| {
                nodes.push(LogNode {
                    level: id.level,
                    index: id.index,
                    hash: *h,
                });
            })
            .map_err(log_error)?;
        let mut all = writes.clone();
        all.push(Write::AppendLogLeaf {
            leaf: LogLeaf {
                clinic,
                index,
                leaf: Sealed(bytes.to_vec()),
                leaf_hash: hash,
                chart: entry.chart,
                created_at: now,
            },
            nodes,
        });
        match state.store.apply(all).await {
            Ok(()) => return Ok((index, bytes)),
            Err(StoreError::Conflict("log leaf index is not the next one" | "log node exists")) => {
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::internal(
        "the access log stayed busy; the action was not taken",
    ))
}

// ---- Checkpoints and proofs ----

use axum::extract::State;

use crate::extract::{Position, Query};
use serde::Deserialize;
use vaiti_core::api::{LogCheckpointView, LogProof};
use vaiti_log::{Checkpoint, ConsistencyPlan, InclusionPlan, LogSigningKey, NodeId};

use crate::auth::Caller;
use crate::error::ErrorBody;

/// The log's origin (its key name): one log per clinic.
fn origin(clinic: ClinicId) -> String {
    format!("vaiti.log/{clinic}")
}

/// The clinic's log signing key: a server secret made on first use. The log is the server's
/// promise; clients and witnesses hold it to it.
async fn signing_key(state: &AppState, clinic: ClinicId) -> Result<LogSigningKey, ApiError> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh)
        .map_err(|_| ApiError::internal("OS random number generator failed"))?;
    let seed = state
        .store
        .init_server_secret(&format!("log-signing-key/{clinic}"), &fresh)
        .await?;
    let seed: [u8; 32] = seed
        .as_slice()
        .try_into()
        .map_err(|_| ApiError::internal("a log signing key has the wrong length"))?;
    LogSigningKey::from_seed(&origin(clinic), &seed).map_err(log_error)
}

pub(crate) async fn node_hashes(
    state: &AppState,
    clinic: ClinicId,
    nodes: &[NodeId],
) -> Result<Vec<[u8; 32]>, ApiError> {
    let ids: Vec<(u8, u64)> = nodes.iter().map(|n| (n.level, n.index)).collect();
    let found: Option<Vec<[u8; 32]>> = state
        .store
        .log_nodes(clinic, &ids)
        .await?
        .into_iter()
        .collect();
    found.ok_or_else(|| ApiError::internal("the access log is missing a subtree"))
}

/// The newest checkpoint, signing one for the current size if the stored one is older.
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/log/checkpoint",
    tag = "log",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The newest signed checkpoint and the log's key.", body = LogCheckpointView),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: not the session's clinic.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn checkpoint(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<LogCheckpointView>, ApiError> {
    let clinic = caller.session.clinic;
    let (size, note, key) = current_checkpoint(&state, clinic).await?;
    Ok(axum::Json(LogCheckpointView {
        size,
        checkpoint: String::from_utf8(note)
            .map_err(|_| ApiError::internal("a stored checkpoint is not text"))?,
        log_key: key.log_key().to_vkey(),
        witnessed: crate::witness::witnessed(&state, clinic, size).await?,
    }))
}

/// The newest signed checkpoint (size, note bytes) and the log key, signing one for the current
/// size first if the stored one is older. Shared by every endpoint that hands out a checkpoint.
pub(crate) async fn current_checkpoint(
    state: &AppState,
    clinic: ClinicId,
) -> Result<(u64, Vec<u8>, LogSigningKey), ApiError> {
    let key = signing_key(state, clinic).await?;
    let size = state.store.log_size(clinic).await?;
    let stored = state.store.latest_log_checkpoint(clinic).await?;
    let (size, note) = match stored {
        Some(c) if c.size >= size => (c.size, c.note.0),
        _ => {
            let peaks = node_hashes(state, clinic, &Frontier::peak_ids(size)).await?;
            let root = Frontier::from_peaks(size, peaks).map_err(log_error)?.root();
            let checkpoint = Checkpoint::new(&origin(clinic), size, root).map_err(log_error)?;
            let note = key.sign(&checkpoint).map_err(log_error)?.to_bytes();
            let put = state
                .store
                .apply(vec![Write::PutLogCheckpoint(vaiti_core::LogCheckpoint {
                    clinic,
                    size,
                    note: Sealed(note.clone()),
                    created_at: state.now(),
                })])
                .await;
            match put {
                Ok(()) => {}
                // Another request signed this size meanwhile: equally good (same tree).
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            (size, note)
        }
    };
    Ok((size, note, key))
}

/// Parameters of `GET /log/inclusion`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct InclusionQuery {
    /// The leaf's index.
    #[param(value_type = u64, minimum = 0, maximum = 9223372036854775807_u64)]
    index: Position,
    /// The tree size (of a checkpoint the client holds).
    #[param(value_type = u64, minimum = 0, maximum = 9223372036854775807_u64)]
    size: Position,
}

/// An inclusion proof of leaf `index` in the tree of `size`.
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/log/inclusion",
    tag = "log",
    params(("clinic" = ClinicId, Path, description = "The clinic."), InclusionQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The proof.", body = LogProof),
        (status = 400, description = "`bad_request`: the index is not in a tree of that size.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: not the session's clinic.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn inclusion(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<InclusionQuery>,
) -> Result<axum::Json<LogProof>, ApiError> {
    let clinic = caller.session.clinic;
    let (index, size) = (q.index.get(), q.size.get());
    if size > state.store.log_size(clinic).await? {
        return Err(ApiError::bad_request("the log is not that large"));
    }
    let plan = InclusionPlan::new(index, size)
        .map_err(|_| ApiError::bad_request("the index is not in a tree of that size"))?;
    let found = node_hashes(&state, clinic, plan.nodes()).await?;
    let proof = plan.assemble(&found).map_err(log_error)?;
    Ok(axum::Json(LogProof {
        proof: Sealed(proof.to_bytes()),
    }))
}

/// Parameters of `GET /log/consistency`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConsistencyQuery {
    /// The older size (of the checkpoint the client holds).
    #[param(value_type = u64, minimum = 0, maximum = 9223372036854775807_u64)]
    from: Position,
    /// The newer size.
    #[param(value_type = u64, minimum = 0, maximum = 9223372036854775807_u64)]
    to: Position,
}

/// A consistency proof from the tree of `from` leaves to the tree of `to`.
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/log/consistency",
    tag = "log",
    params(("clinic" = ClinicId, Path, description = "The clinic."), ConsistencyQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The proof.", body = LogProof),
        (status = 400, description = "`bad_request`: not 0 < from ≤ to ≤ the log's size.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: not the session's clinic.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn consistency(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ConsistencyQuery>,
) -> Result<axum::Json<LogProof>, ApiError> {
    let clinic = caller.session.clinic;
    let (from, to) = (q.from.get(), q.to.get());
    if to > state.store.log_size(clinic).await? {
        return Err(ApiError::bad_request("the log is not that large"));
    }
    let plan =
        ConsistencyPlan::new(from, to).map_err(|_| ApiError::bad_request("not 0 < from ≤ to"))?;
    let found = node_hashes(&state, clinic, plan.nodes()).await?;
    let proof = plan.assemble(&found).map_err(log_error)?;
    Ok(axum::Json(LogProof {
        proof: Sealed(proof.to_bytes()),
    }))
}
