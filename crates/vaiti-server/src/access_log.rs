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
                .chart_log_leaves(clinic, chart)
                .await?
                .last()
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
