//! The clinic's access-log checkpoint as a device accepts it: signed by the log key the manifest
//! names, never older or forked against what this device saw, and co-signed by the manifest's
//! witnesses ([`crate::witness`]'s policy). Below the session: opening one checks the checkpoint
//! first, and every release's evidence passes [`accept_checkpoint`] too.

use vaiti_log::ConsistencyProof;

use crate::ClientError;
use crate::account::Unlocked;
use crate::api::Api;
use crate::directory::ManifestV1;
use crate::seen::Seen;

fn bad(what: &str) -> ClientError {
    ClientError::Protocol(format!("the access log: {what}"))
}

/// Checks a checkpoint against the device's last accepted one (never smaller, never a different
/// tree of the same size, consistent by `proof`) and remembers it. Every checkpoint a device
/// takes in passes here: on opening a session and with each release's evidence.
pub(crate) fn accept_checkpoint(
    seen: &mut Seen,
    size: u64,
    root: [u8; 32],
    proof: &[u8],
) -> Result<(), ClientError> {
    if let Some((old_size, old_root)) = seen.log.clone() {
        let old_root: [u8; 32] = hex::decode(&old_root)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("the local cache is damaged"))?;
        if size < old_size {
            return Err(bad(
                "the server shows an older, shorter log than this device has seen (a rollback)",
            ));
        }
        if size == old_size && root != old_root {
            return Err(bad(
                "the server shows a different log than this device has seen (a fork)",
            ));
        }
        if size > old_size && old_size > 0 {
            ConsistencyProof::from_bytes(old_size, size, proof)
                .and_then(|p| p.verify(&old_root, &root))
                .map_err(|_| {
                    bad("the new checkpoint does not extend the one this device saw (a fork)")
                })?;
        }
    }
    seen.log = Some((size, hex::encode(root)));
    Ok(())
}

/// Checks the clinic's newest access-log checkpoint: signed by the log key the manifest names,
/// and — against the last one this device accepted — never smaller, never a different tree of
/// the same size, and proven consistent (an append-only history). When the manifest lists
/// witnesses, enough of them must have co-signed, recently, checkpoints the newest one extends
/// ([`crate::witness::verify_witnessed`], at the session's time `now`). Then remembers it.
pub(crate) async fn check_log(
    api: &Api,
    me: &Unlocked,
    vkey: &str,
    manifest: &ManifestV1,
    now: i64,
    seen: &mut Seen,
) -> Result<(), ClientError> {
    // A policy that cannot be met is an error before anything is fetched.
    let policy = crate::witness::WitnessPolicy::from_manifest(manifest)?;
    let bad = |what: &str| ClientError::Protocol(format!("the access log: {what}"));
    let key = vaiti_log::LogKey::from_vkey(vkey)
        .map_err(|_| bad("the manifest's log key is malformed"))?;
    let path = format!("{}/log", me.clinic_path());
    let view: vaiti_core::api::LogCheckpointView = api.get(&format!("{path}/checkpoint")).await?;
    let signed = vaiti_log::SignedCheckpoint::verify(view.checkpoint.as_bytes(), &key)
        .map_err(|_| bad("the checkpoint is not signed by the clinic's log key"))?;
    let checkpoint = signed.checkpoint();
    let (size, root) = (checkpoint.size(), *checkpoint.root());
    // A consistency proof is needed only when the log grew past a checkpoint this device saw.
    let proof = match seen.log {
        Some((old_size, _)) if old_size > 0 && size > old_size => {
            let proof: vaiti_core::api::LogProof = api
                .get(&format!("{path}/consistency?from={old_size}&to={size}"))
                .await?;
            proof.proof.0
        }
        _ => Vec::new(),
    };
    // Never smaller, never another tree of the same size, proven to extend it. (On any error
    // below the session is not opened, and what it remembered is not kept.)
    accept_checkpoint(seen, size, root, &proof)?;
    // The co-signed checkpoints are proven consistent with the newest one, which is proven
    // consistent with the one this device saw: so they are consistent with it too.
    if let Some(policy) = &policy {
        crate::witness::verify_witnessed(policy, &key, &signed, &view.witnessed, now)?;
    }
    Ok(())
}
