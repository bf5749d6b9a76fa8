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
//! Still to come (issue 4): checkpoints signed with the clinic's log key, key release as a signed
//! request answered with the leaf, its inclusion proof and a checkpoint, and clients that check
//! them. Until then the leaves are written and kept, and `GET /charts/{chart}` records the key
//! release or identity read it performs.

use sha2::{Digest as _, Sha256};
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

    /// The detail hash: SHA-256 over a label and `parts`.
    pub(crate) fn detail(mut self, parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        h.update(b"vaiti v1 log detail");
        for p in parts {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p);
        }
        self.detail = h.finalize().into();
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
            actor_key: [0; 16],
            chart: entry.chart.map_or([0; 16], |c| *c.as_bytes()),
            chart_previous,
            object: entry.object.unwrap_or([0; 16]),
            detail: entry.detail,
            time: now,
            request_signature: [0; 65],
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
            Ok(()) => return Ok(index),
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

use axum::extract::{Query, State};
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

async fn hashes(
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
    let key = signing_key(&state, clinic).await?;
    let size = state.store.log_size(clinic).await?;
    let stored = state.store.latest_log_checkpoint(clinic).await?;
    let (size, note) = match stored {
        Some(c) if c.size >= size => (c.size, c.note.0),
        _ => {
            let peaks = hashes(&state, clinic, &Frontier::peak_ids(size)).await?;
            let root = Frontier::from_peaks(size, peaks).map_err(log_error)?.root();
            let checkpoint = Checkpoint::new(&origin(clinic), size, root).map_err(log_error)?;
            let note = key.sign(&checkpoint).map_err(log_error)?.to_bytes();
            state
                .store
                .apply(vec![Write::PutLogCheckpoint(vaiti_core::LogCheckpoint {
                    clinic,
                    size,
                    note: Sealed(note.clone()),
                    created_at: state.now(),
                })])
                .await?;
            (size, note)
        }
    };
    Ok(axum::Json(LogCheckpointView {
        size,
        checkpoint: String::from_utf8(note)
            .map_err(|_| ApiError::internal("a stored checkpoint is not text"))?,
        log_key: key.log_key().to_vkey(),
    }))
}

/// Parameters of `GET /log/inclusion`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct InclusionQuery {
    /// The leaf's index.
    index: u64,
    /// The tree size (of a checkpoint the client holds).
    size: u64,
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
    if q.size > state.store.log_size(clinic).await? {
        return Err(ApiError::bad_request("the log is not that large"));
    }
    let plan = InclusionPlan::new(q.index, q.size)
        .map_err(|_| ApiError::bad_request("the index is not in a tree of that size"))?;
    let found = hashes(&state, clinic, plan.nodes()).await?;
    let proof = plan.assemble(&found).map_err(log_error)?;
    Ok(axum::Json(LogProof {
        proof: Sealed(proof.to_bytes()),
    }))
}

/// Parameters of `GET /log/consistency`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ConsistencyQuery {
    /// The older size (of the checkpoint the client holds).
    from: u64,
    /// The newer size.
    to: u64,
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
    if q.to > state.store.log_size(clinic).await? {
        return Err(ApiError::bad_request("the log is not that large"));
    }
    let plan = ConsistencyPlan::new(q.from, q.to)
        .map_err(|_| ApiError::bad_request("not 0 < from ≤ to"))?;
    let found = hashes(&state, clinic, plan.nodes()).await?;
    let proof = plan.assemble(&found).map_err(log_error)?;
    Ok(axum::Json(LogProof {
        proof: Sealed(proof.to_bytes()),
    }))
}
