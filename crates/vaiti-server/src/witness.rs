//! Witnesses of the access log (`docs/access-log.md`, "Witnesses"): independent parties, without
//! clinic accounts, that check each new checkpoint of a clinic's log against the last one they
//! saw and co-sign it (C2SP `cosignature/v1`). Clients require co-signatures from the witnesses
//! the root-signed clinic manifest lists, so a server that shows different histories to
//! different people (a split view) or rewrites history is caught by whichever side sees it.
//!
//! - `GET /clinics/{c}/log/witness?from=N` (public): the newest signed checkpoint (signed now if
//!   the log grew) and a consistency proof from size N, the witness's last checkpoint.
//! - `POST /clinics/{c}/log/cosignatures` (public): a co-signature line for a stored checkpoint.
//!   The server keeps it only if it is from a witness key the clinic's current manifest lists
//!   and verifies over the stored checkpoint of that size, dated no later than the server's clock
//!   allows; anything else is refused and nothing is written.
//! - [`witnessed`]: what `GET /log/checkpoint` adds for clients — each listed witness's newest
//!   co-signature, grouped by checkpoint, with consistency proofs to the newest checkpoint.
//!
//! Neither public endpoint appends to the log: a witness's visit is not an access to records, and
//! logging it would grow the log on every visit. The server never trusts the manifest's witness
//! list for anything but which co-signatures to keep; clients check the root signature.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use vaiti_core::api::{
    LogWitnessView, MAX_COSIGNATURE_LINE, MAX_WITNESSES, SubmitCosignature, WitnessedCheckpoint,
};
use vaiti_core::{ClinicId, LogCosignature, Sealed};
use vaiti_log::{Checkpoint, ConsistencyPlan, MAX_CLOCK_SKEW_SECS, NoteSignature, SignedNote};
use vaiti_store::{StoreError, Write};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path, Position, Query};
use crate::state::AppState;

/// The largest request body `POST /log/cosignatures` accepts: a size and one signature line.
pub(crate) const MAX_SUBMISSION_BYTES: usize = 2048;

/// The part of a clinic manifest the server reads: its witnesses' verifier keys. (The manifest's
/// root signature is the clients' to check; the server only uses this to decide which
/// co-signatures to keep and serve.)
#[derive(Debug, Deserialize)]
struct ManifestWitnesses {
    #[serde(default)]
    witnesses: Vec<String>,
}

/// 404 for a clinic id that names no clinic (ids are random; login says as much).
fn no_clinic() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such clinic")
}

/// The witness keys listed in the clinic's current manifest. 404 for an unknown clinic. A
/// malformed key is left out (and logged): clients refuse such a manifest themselves.
async fn listed_witnesses(
    state: &AppState,
    clinic: ClinicId,
) -> Result<Vec<vaiti_log::WitnessKey>, ApiError> {
    let row = state.store.clinic(clinic).await?.ok_or_else(no_clinic)?;
    let listed: ManifestWitnesses = serde_json::from_slice(row.manifest.as_bytes())
        .map_err(|_| ApiError::internal("a stored manifest is not JSON"))?;
    let mut keys = Vec::new();
    for vkey in listed.witnesses.iter().take(MAX_WITNESSES) {
        match vaiti_log::WitnessKey::from_vkey(vkey) {
            Ok(key) => keys.push(key),
            Err(_) => {
                tracing::warn!(clinic = %clinic, "the manifest lists a malformed witness key")
            }
        }
    }
    Ok(keys)
}

/// A consistency proof from `from` to `to` (empty when there is nothing to prove: `from` is 0,
/// or not smaller than `to`).
async fn consistency(
    state: &AppState,
    clinic: ClinicId,
    from: u64,
    to: u64,
) -> Result<Sealed, ApiError> {
    if from == 0 || from >= to {
        return Ok(Sealed(Vec::new()));
    }
    let plan = ConsistencyPlan::new(from, to)
        .map_err(|e| ApiError::internal(format!("access log: {e}")))?;
    let found = crate::access_log::node_hashes(state, clinic, plan.nodes()).await?;
    let proof = plan
        .assemble(&found)
        .map_err(|e| ApiError::internal(format!("access log: {e}")))?;
    Ok(Sealed(proof.to_bytes()))
}

/// For `GET /log/checkpoint`: every listed witness's newest co-signature, grouped by the
/// checkpoint it co-signed (largest first), each note carrying the co-signature lines of the
/// listed witnesses for that checkpoint, and a consistency proof from its size to `newest`.
pub(crate) async fn witnessed(
    state: &AppState,
    clinic: ClinicId,
    newest: u64,
) -> Result<Vec<WitnessedCheckpoint>, ApiError> {
    let witnesses = listed_witnesses(state, clinic).await?;
    let listed = |name: &str, key_id: u32| {
        witnesses
            .iter()
            .any(|w| w.name() == name && w.key_id() == key_id)
    };
    let mut sizes = Vec::new();
    for w in &witnesses {
        if let Some(c) = state
            .store
            .latest_log_cosignature(clinic, w.name(), w.key_id())
            .await?
            && c.size <= newest
            && !sizes.contains(&c.size)
        {
            sizes.push(c.size);
        }
    }
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let mut out = Vec::with_capacity(sizes.len());
    for size in sizes {
        let Some(stored) = state.store.log_checkpoint(clinic, size).await? else {
            continue;
        };
        let mut note = String::from_utf8(stored.note.0)
            .map_err(|_| ApiError::internal("a stored checkpoint is not text"))?;
        // A note is its text, a blank line and one line per signature: co-signature lines
        // follow the log's own.
        let mut lines = BTreeMap::new();
        for c in state.store.log_cosignatures(clinic, size).await? {
            if listed(&c.witness_name, c.witness_key_id) {
                lines.insert((c.witness_name, c.witness_key_id), c.line);
            }
        }
        for line in lines.into_values() {
            note.push_str(&line);
            note.push('\n');
        }
        out.push(WitnessedCheckpoint {
            size,
            checkpoint: note,
            proof: consistency(state, clinic, size, newest).await?,
        });
    }
    Ok(out)
}

/// Parameters of `GET /log/witness`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct WitnessQuery {
    /// The size of the last checkpoint the witness accepted (0 or absent: none yet).
    #[param(value_type = u64, required = false, minimum = 0, maximum = 9223372036854775807_u64)]
    from: Option<Position>,
}

/// The newest checkpoint for a witness to verify and co-sign, with a consistency proof from the
/// witness's last one. Public: witnesses have no clinic account. It reveals the clinic's log size
/// and root, nothing else.
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/log/witness",
    tag = "log",
    params(("clinic" = ClinicId, Path, description = "The clinic."), WitnessQuery),
    responses(
        (status = 200, description = "The newest signed checkpoint and a consistency proof from `from`.", body = LogWitnessView),
        (status = 400, description = "`bad_request`: malformed parameters.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such clinic.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn witness_checkpoint(
    State(state): State<AppState>,
    Path(clinic): Path<ClinicId>,
    Query(q): Query<WitnessQuery>,
) -> Result<axum::Json<LogWitnessView>, ApiError> {
    if state.store.clinic(clinic).await?.is_none() {
        return Err(no_clinic());
    }
    let (size, note, _key) = crate::access_log::current_checkpoint(&state, clinic).await?;
    Ok(axum::Json(LogWitnessView {
        size,
        checkpoint: String::from_utf8(note)
            .map_err(|_| ApiError::internal("a stored checkpoint is not text"))?,
        proof: consistency(&state, clinic, q.from.map_or(0, Position::get), size).await?,
    }))
}

/// Stores a witness's co-signature of a checkpoint the server signed. Public: the co-signature
/// itself is the credential — it must be from a witness key the clinic manifest lists and verify
/// over the stored checkpoint of `size`.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/log/cosignatures",
    tag = "log",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    request_body = SubmitCosignature,
    responses(
        (status = 204, description = "The co-signature is stored."),
        (status = 400, description = "`bad_request`: a malformed body or line, a co-signature that does not verify over the checkpoint, or one dated in the future.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the key is not a witness the clinic manifest lists.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such clinic, or no checkpoint of that size.", body = ErrorBody),
        (status = 409, description = "`conflict`: a newer co-signature of this checkpoint by this witness is stored.", body = ErrorBody),
        (status = 413, description = "`too_large`: the request body is too large.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn submit_cosignature(
    State(state): State<AppState>,
    Path(clinic): Path<ClinicId>,
    Json(req): Json<SubmitCosignature>,
) -> Result<StatusCode, ApiError> {
    if req.cosignature.len() > MAX_COSIGNATURE_LINE {
        return Err(ApiError::bad_request("the co-signature line is too long"));
    }
    let line = NoteSignature::parse_line(&req.cosignature)
        .map_err(|_| ApiError::bad_request("the co-signature is not a signed-note line"))?;
    let witnesses = listed_witnesses(&state, clinic).await?;
    let witness = witnesses
        .iter()
        .find(|w| w.name() == line.name() && w.key_id() == line.key_id())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this key is not a witness listed in the clinic's manifest",
            )
        })?;
    let stored = state
        .store
        .log_checkpoint(clinic, req.size)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "the server signed no checkpoint of that size",
            )
        })?;
    let note = SignedNote::parse(stored.note.as_bytes())
        .map_err(|_| ApiError::internal("a stored checkpoint is malformed"))?;
    let checkpoint = Checkpoint::parse_body(note.text())
        .ok()
        .filter(|c| c.size() == req.size)
        .ok_or_else(|| ApiError::internal("a stored checkpoint is malformed"))?;
    let cosignature = witness.verify(&checkpoint, &line).map_err(|_| {
        ApiError::bad_request("the co-signature does not verify over the checkpoint of that size")
    })?;
    let now = u64::try_from(state.now()).unwrap_or(0);
    if cosignature.timestamp() > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
        return Err(ApiError::bad_request(
            "the co-signature is dated in the future (check the witness's clock)",
        ));
    }
    let write = Write::PutLogCosignature(LogCosignature {
        clinic,
        size: req.size,
        witness_name: line.name().to_owned(),
        witness_key_id: line.key_id(),
        timestamp: cosignature.timestamp(),
        line: line.to_line(),
        created_at: state.now(),
    });
    match state.store.apply(vec![write]).await {
        Ok(()) => {}
        Err(StoreError::Conflict("a newer co-signature of this checkpoint is stored")) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "a newer co-signature of this checkpoint by this witness is stored",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(clinic = %clinic, size = req.size, witness = %line.name(), "log co-signed");
    Ok(StatusCode::NO_CONTENT)
}
