//! Witnesses of the clinic's access log (`docs/access-log.md`, "Witnesses").
//!
//! A witness is an independent party — typically the clinic's own off-site box running
//! `vaiti log witness` — that keeps the last checkpoint it accepted, checks every newer one
//! against it (the log's signature and a consistency proof), and co-signs it (C2SP
//! `cosignature/v1`, a timestamped Ed25519 signature). The root-signed clinic manifest lists the
//! witnesses' keys, how many must co-sign (`witness_quorum`) and how old a co-signature may be
//! (`witness_max_age_s`).
//!
//! This module has the three sides of that:
//!
//! - the client's policy ([`WitnessPolicy`], [`verify_witnessed`]): on every session, at least
//!   `quorum` distinct listed witnesses must have co-signed, within the maximum age, checkpoints
//!   that the newest checkpoint provably extends. A missing, stale, forged or unlisted
//!   co-signature, or a co-signed checkpoint that the newest does not extend, is an error.
//! - the witness ([`verify_next`], [`witness_once`]): never co-signs a checkpoint that is not
//!   signed by the clinic's log key or does not extend the one it kept.
//! - the admin ([`apply_change`], and `admin::change_witnesses`): a new root-signed manifest
//!   listing or unlisting a witness.
//!
//! Why the client accepts co-signatures on checkpoints older than the newest one: every command
//! logs in, and a login is a leaf, so the newest checkpoint is almost never the one a witness saw.
//! A co-signature on an older checkpoint plus a consistency proof to the newest shows that the
//! history the client is shown contains, unchanged, the history the witness saw; the leaves after
//! it are covered by the client's own consistency check until the next witness run.

use std::collections::BTreeMap;

use vaiti_core::ClinicId;
use vaiti_core::api::{LogWitnessView, MAX_WITNESSES, SubmitCosignature, WitnessedCheckpoint};
use vaiti_log::{
    ConsistencyProof, Hash, LogKey, NoteSignature, SignedCheckpoint, WitnessKey, WitnessSigningKey,
};

use crate::ClientError;
use crate::api::Api;
use crate::directory::ManifestV1;

/// The default maximum age of a co-signature: 24 hours. A witness normally runs every few
/// minutes (`--watch`), so a day is far more than a healthy witness needs, while it tolerates a
/// witness box that was down overnight without locking every clinician out; and it bounds to one
/// working day how long a server could show a client a history no witness has seen.
pub const DEFAULT_MAX_AGE_S: u64 = 24 * 60 * 60;

/// The most a clinic may set as the maximum co-signature age: 30 days.
pub const MAX_MAX_AGE_S: u64 = 30 * 24 * 60 * 60;

/// The clinic's witness policy, from a verified manifest.
#[derive(Debug, Clone)]
pub struct WitnessPolicy {
    /// The listed witnesses' keys.
    pub witnesses: Vec<WitnessKey>,
    /// How many distinct listed witnesses must have co-signed.
    pub quorum: usize,
    /// The oldest a co-signature may be, in seconds.
    pub max_age_s: u64,
}

impl WitnessPolicy {
    /// The policy of a verified manifest; `None` when it lists no witnesses. A malformed or
    /// duplicated key, too many witnesses, or a quorum larger than the list is an error: a
    /// policy that cannot be met must not be silently weakened.
    pub fn from_manifest(manifest: &ManifestV1) -> Result<Option<Self>, ClientError> {
        if manifest.witnesses.is_empty() {
            return Ok(None);
        }
        let bad = |what: String| {
            ClientError::Protocol(format!("the clinic manifest's witness policy: {what}"))
        };
        if manifest.witnesses.len() > MAX_WITNESSES {
            return Err(bad(format!(
                "it lists {} witnesses, more than the {MAX_WITNESSES} allowed",
                manifest.witnesses.len()
            )));
        }
        let mut witnesses: Vec<WitnessKey> = Vec::new();
        for vkey in &manifest.witnesses {
            let key = WitnessKey::from_vkey(vkey)
                .map_err(|_| bad(format!("the witness key {vkey:?} is malformed")))?;
            if witnesses
                .iter()
                .any(|w| w.name() == key.name() && w.key_id() == key.key_id())
            {
                return Err(bad(format!("the witness {} is listed twice", key.name())));
            }
            witnesses.push(key);
        }
        let quorum = usize::from(manifest.witness_quorum.max(1));
        if quorum > witnesses.len() {
            return Err(bad(format!(
                "it requires {quorum} witnesses but lists {}",
                witnesses.len()
            )));
        }
        let max_age_s = match manifest.witness_max_age_s {
            0 => DEFAULT_MAX_AGE_S,
            n => n,
        };
        Ok(Some(Self {
            witnesses,
            quorum,
            max_age_s,
        }))
    }
}

/// A duration for people: `24 hours`, `90 minutes`, `45 seconds`.
pub fn describe_duration(secs: u64) -> String {
    let (n, unit) = if secs >= 3600 && secs.is_multiple_of(3600) {
        (secs / 3600, "hour")
    } else if secs >= 60 && secs.is_multiple_of(60) {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    if n == 1 {
        format!("{n} {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// How long ago something happened, for people: whole hours from two hours on, whole minutes
/// from two minutes on, else seconds (`36 hours`, not `129601 seconds`).
pub fn describe_age(secs: u64) -> String {
    let (n, unit) = if secs >= 2 * 3600 {
        (secs / 3600, "hour")
    } else if secs >= 2 * 60 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    if n == 1 {
        format!("{n} {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// What [`verify_witnessed`] established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witnessed {
    /// Each listed witness with a valid, fresh co-signature, and its newest timestamp.
    pub cosigners: BTreeMap<String, u64>,
    /// The largest co-signed checkpoint size among them.
    pub size: u64,
}

/// Whether the tree `(new_size, new_root)` extends `(old_size, old_root)` by `proof`.
pub fn extends(
    old_size: u64,
    old_root: &Hash,
    new_size: u64,
    new_root: &Hash,
    proof: &[u8],
) -> bool {
    if old_size == 0 {
        // Every tree extends the empty tree; there is nothing to prove.
        return *old_root == vaiti_log::EMPTY_ROOT && proof.is_empty();
    }
    ConsistencyProof::from_bytes(old_size, new_size, proof)
        .and_then(|p| p.verify(old_root, new_root))
        .is_ok()
}

/// Checks the witnesses' co-signatures a server presents with its newest checkpoint `newest`
/// (already verified against the manifest's log key, and against this device's last accepted
/// checkpoint by the caller — which, with the proofs checked here, makes every co-signed
/// checkpoint consistent with that one too).
///
/// Every co-signed checkpoint must be signed by the log key, no larger than the newest, and
/// extended by it (a proof); every line from a listed witness must verify; at least
/// `policy.quorum` distinct listed witnesses must have co-signed no earlier than
/// `now - policy.max_age_s` (and no later than the clock-skew allowance). Lines from keys the
/// manifest does not list count for nothing.
pub fn verify_witnessed(
    policy: &WitnessPolicy,
    log_key: &LogKey,
    newest: &SignedCheckpoint,
    witnessed: &[WitnessedCheckpoint],
    now: i64,
) -> Result<Witnessed, ClientError> {
    let bad = |what: String| ClientError::Protocol(format!("the access log: {what}"));
    if witnessed.len() > MAX_WITNESSES {
        return Err(bad(
            "the server sent more co-signed checkpoints than there can be witnesses".into(),
        ));
    }
    let now_u = u64::try_from(now).unwrap_or(0);
    let (size, root) = (newest.checkpoint().size(), *newest.checkpoint().root());
    // Per listed witness (name, key ID): the newest fresh co-signature, and the newest one
    // refused for its age (or its future date); the names of unlisted keys.
    let mut fresh: BTreeMap<(String, u32), u64> = BTreeMap::new();
    let mut refused: BTreeMap<(String, u32), u64> = BTreeMap::new();
    let mut unlisted: Vec<String> = Vec::new();
    let mut largest = 0;
    for w in witnessed {
        let signed = SignedCheckpoint::verify(w.checkpoint.as_bytes(), log_key).map_err(|_| {
            bad("a checkpoint the witnesses co-signed is not signed by the clinic's log key".into())
        })?;
        let c = signed.checkpoint();
        if c.size() != w.size {
            return Err(bad(
                "a co-signed checkpoint is presented under another size".into(),
            ));
        }
        if c.size() > size {
            return Err(bad(format!(
                "the clinic's witnesses co-signed a longer log ({} entries) than the server now shows ({size}): a rollback",
                c.size()
            )));
        }
        if !extends(c.size(), c.root(), size, &root, w.proof.as_bytes()) {
            return Err(bad(format!(
                "the checkpoint the clinic's witnesses co-signed (size {}) is not part of the log the server now shows (size {size}): a fork — the server shows different histories to different parties",
                c.size()
            )));
        }
        for line in signed.note().signatures() {
            if line.name() == log_key.name() && line.key_id() == log_key.key_id() {
                continue;
            }
            let Some(key) = policy
                .witnesses
                .iter()
                .find(|k| k.name() == line.name() && k.key_id() == line.key_id())
            else {
                if !unlisted.iter().any(|n| n == line.name()) {
                    unlisted.push(line.name().to_owned());
                }
                continue;
            };
            let cosignature = key.verify(c, line).map_err(|_| {
                bad(format!(
                    "the co-signature presented as witness {:?}'s does not verify (forged)",
                    key.name()
                ))
            })?;
            let at = cosignature.timestamp();
            let which = (key.name().to_owned(), key.key_id());
            let into = if cosignature.ensure_fresh(now_u, policy.max_age_s).is_ok() {
                largest = largest.max(c.size());
                &mut fresh
            } else {
                &mut refused
            };
            let entry = into.entry(which).or_insert(0);
            *entry = (*entry).max(at);
        }
    }
    if fresh.len() >= policy.quorum {
        return Ok(Witnessed {
            cosigners: fresh.into_iter().map(|((n, _), t)| (n, t)).collect(),
            size: largest,
        });
    }
    let mut problems: Vec<String> = Vec::new();
    for key in &policy.witnesses {
        let which = (key.name().to_owned(), key.key_id());
        if fresh.contains_key(&which) {
            continue;
        }
        problems.push(match refused.get(&which) {
            Some(&at) if at > now_u => format!(
                "witness {:?} co-signed with a time in the future (check its clock)",
                key.name()
            ),
            Some(&at) => format!(
                "witness {:?} last co-signed {} ago",
                key.name(),
                describe_age(now_u - at)
            ),
            None => format!("witness {:?} has not co-signed", key.name()),
        });
    }
    for name in unlisted {
        problems.push(format!(
            "a co-signature from {name:?}, a key the clinic manifest does not list, does not count"
        ));
    }
    let age = describe_duration(policy.max_age_s);
    let head = if fresh.is_empty() {
        format!("the access log has no co-signature from the clinic's witnesses in the last {age}")
    } else {
        format!(
            "the access log has co-signatures from only {} of the {} witnesses the clinic requires in the last {age}",
            fresh.len(),
            policy.quorum
        )
    };
    Err(ClientError::Protocol(format!(
        "{head}: {} (the server may be hiding its history from the witnesses, or a witness is down: tell the clinic's admin)",
        problems.join("; ")
    )))
}

// ---- The witness ----

fn clinic_path(clinic: ClinicId) -> String {
    format!("/clinics/{clinic}/log")
}

/// Fetches the newest checkpoint for a witness (public endpoint), with a consistency proof from
/// `from` (the size of the witness's last checkpoint, 0 for none).
pub async fn fetch_for_witness(
    api: &Api,
    clinic: ClinicId,
    from: u64,
) -> Result<LogWitnessView, ClientError> {
    api.get(&format!("{}/witness?from={from}", clinic_path(clinic)))
        .await
}

/// The witness's check of a newly fetched checkpoint against the one it kept (`last`): signed
/// by the clinic's log key, never smaller, never another tree of the same size, and proven to
/// extend it. Returns the verified checkpoint (with the log's signature only).
pub fn verify_next(
    log_key: &LogKey,
    last: Option<&SignedCheckpoint>,
    view: &LogWitnessView,
) -> Result<SignedCheckpoint, ClientError> {
    let alarm = |what: String| ClientError::Protocol(format!("REFUSED TO CO-SIGN: {what}"));
    let next = SignedCheckpoint::verify(view.checkpoint.as_bytes(), log_key).map_err(|_| {
        alarm("the server's checkpoint is not signed by the clinic's log key".into())
    })?;
    let (size, root) = (next.checkpoint().size(), *next.checkpoint().root());
    if size != view.size {
        return Err(alarm(
            "the server's checkpoint is presented under another size".into(),
        ));
    }
    if let Some(last) = last {
        let (old_size, old_root) = (last.checkpoint().size(), *last.checkpoint().root());
        if size < old_size {
            return Err(alarm(format!(
                "the server shows a shorter log ({size} entries) than this witness co-signed before ({old_size}): a rollback — entries were removed"
            )));
        }
        if size == old_size && root != old_root {
            return Err(alarm(format!(
                "the server shows a different log of the same size ({size}) than this witness co-signed before: a fork"
            )));
        }
        if size > old_size && !extends(old_size, &old_root, size, &root, view.proof.as_bytes()) {
            return Err(alarm(format!(
                "the server's checkpoint (size {size}) does not extend the one this witness co-signed before (size {old_size}): a fork or rewritten history"
            )));
        }
    }
    Ok(next)
}

/// Submits a co-signature line for the checkpoint of `size` (public endpoint).
pub async fn submit_cosignature(
    api: &Api,
    clinic: ClinicId,
    size: u64,
    line: &NoteSignature,
) -> Result<(), ClientError> {
    api.post_no_content(
        &format!("{}/cosignatures", clinic_path(clinic)),
        &SubmitCosignature {
            size,
            cosignature: line.to_line(),
        },
    )
    .await
}

/// One witness run: fetch the newest checkpoint, check it against `last` ([`verify_next`]),
/// hand it to `persist` (which must store it durably: from then on it is the witness's "last"),
/// co-sign it at `now` and submit the co-signature. The checkpoint is persisted *before* the
/// co-signature leaves the witness, so the witness never vouches for a checkpoint it could
/// later forget and be shown a fork of. Returns the new checkpoint.
pub async fn witness_once(
    api: &Api,
    clinic: ClinicId,
    log_key: &LogKey,
    key: &WitnessSigningKey,
    last: Option<&SignedCheckpoint>,
    now: u64,
    persist: impl FnOnce(&SignedCheckpoint) -> Result<(), ClientError>,
) -> Result<SignedCheckpoint, ClientError> {
    let from = last.map_or(0, |l| l.checkpoint().size());
    let view = fetch_for_witness(api, clinic, from).await?;
    let next = verify_next(log_key, last, &view)?;
    persist(&next)?;
    let line = key
        .cosign(&next, now)
        .map_err(|_| ClientError::Usage("the witness's clock is out of range".into()))?;
    submit_cosignature(api, clinic, next.checkpoint().size(), &line).await?;
    Ok(next)
}

// ---- The admin ----

/// A change to the clinic's witness policy.
#[derive(Debug, Clone)]
pub enum WitnessChange {
    /// List a witness (or, if listed, only change the policy).
    Add {
        /// Its verifier key.
        vkey: String,
        /// A new quorum (default: the current one, at least 1).
        quorum: Option<u8>,
        /// A new maximum co-signature age in seconds (default: the current one, or
        /// [`DEFAULT_MAX_AGE_S`]).
        max_age_s: Option<u64>,
    },
    /// Unlist a witness. The quorum shrinks to the number left if it was larger.
    Remove {
        /// Its verifier key.
        vkey: String,
    },
}

/// Applies `change` to `manifest`'s witness policy (pure; [`crate::admin::change_witnesses`]
/// signs and stores it). Returns a note for the admin when the quorum was lowered.
pub fn apply_change(
    manifest: &mut ManifestV1,
    change: &WitnessChange,
) -> Result<Option<String>, ClientError> {
    let usage = |m: String| ClientError::Usage(m);
    if manifest.log_key.is_none() {
        return Err(usage(
            "the clinic manifest names no access-log key yet: run `vaiti sync` as an admin first (it adopts the key)".into(),
        ));
    }
    let mut note = None;
    match change {
        WitnessChange::Add {
            vkey,
            quorum,
            max_age_s,
        } => {
            let key = WitnessKey::from_vkey(vkey.trim()).map_err(|_| {
                usage(format!(
                    "{vkey:?} is not a witness verifier key (name+keyid+base64, as `vaiti log witness init` prints)"
                ))
            })?;
            let listed = manifest
                .witnesses
                .iter()
                .filter_map(|v| WitnessKey::from_vkey(v).ok())
                .any(|w| w.name() == key.name() && w.key_id() == key.key_id());
            if listed && quorum.is_none() && max_age_s.is_none() {
                return Err(usage(format!(
                    "the witness {} is already listed",
                    key.name()
                )));
            }
            let mut list = manifest.witnesses.clone();
            if !listed {
                if list.len() >= MAX_WITNESSES {
                    return Err(usage(format!(
                        "a clinic can list at most {MAX_WITNESSES} witnesses"
                    )));
                }
                list.push(key.to_vkey());
            }
            let q = quorum.unwrap_or(manifest.witness_quorum).max(1);
            if usize::from(q) > list.len() {
                return Err(usage(format!(
                    "a quorum of {q} needs at least {q} listed witnesses (there would be {})",
                    list.len()
                )));
            }
            let age = max_age_s.unwrap_or(match manifest.witness_max_age_s {
                0 => DEFAULT_MAX_AGE_S,
                n => n,
            });
            if age == 0 || age > MAX_MAX_AGE_S {
                return Err(usage(format!(
                    "the maximum co-signature age must be between 1 second and {} days",
                    MAX_MAX_AGE_S / 86_400
                )));
            }
            manifest.witnesses = list;
            manifest.witness_quorum = q;
            manifest.witness_max_age_s = age;
        }
        WitnessChange::Remove { vkey } => {
            // By exact text too, so a malformed entry (which stops every client) can be removed.
            let vkey = vkey.trim();
            let key = WitnessKey::from_vkey(vkey).ok();
            if key.is_none() && !manifest.witnesses.iter().any(|v| v == vkey) {
                return Err(usage(format!("{vkey:?} is not a witness verifier key")));
            }
            let before = manifest.witnesses.len();
            manifest.witnesses.retain(|v| {
                let same_key = match (&key, WitnessKey::from_vkey(v)) {
                    (Some(k), Ok(w)) => w.name() == k.name() && w.key_id() == k.key_id(),
                    _ => false,
                };
                v != vkey && !same_key
            });
            if manifest.witnesses.len() == before {
                return Err(usage(format!("the witness {vkey:?} is not listed")));
            }
            let left = u8::try_from(manifest.witnesses.len()).unwrap_or(u8::MAX);
            if left == 0 {
                manifest.witness_quorum = 0;
                manifest.witness_max_age_s = 0;
                note = Some(
                    "no witnesses are listed now: clients check the access log without co-signatures"
                        .to_string(),
                );
            } else if manifest.witness_quorum > left {
                manifest.witness_quorum = left;
                note = Some(format!("the quorum is now {left} (the witnesses left)"));
            }
        }
    }
    Ok(note)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use vaiti_core::Sealed;

    use vaiti_log::{Checkpoint, LogSigningKey, MemoryTree};

    use super::*;

    const ORIGIN: &str = "vaiti.log/00000000000000000000000000000001";
    const NOW: i64 = 1_800_000_000;

    fn tree(n: u64, salt: u8) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..n {
            t.append(&[salt, i as u8]).unwrap();
        }
        t
    }

    fn signed(log: &LogSigningKey, t: &MemoryTree) -> SignedCheckpoint {
        log.sign(&Checkpoint::new(ORIGIN, t.size(), t.root()).unwrap())
            .unwrap()
    }

    fn witness(name: &str, seed: u8) -> WitnessSigningKey {
        WitnessSigningKey::from_seed(name, &[seed; 32]).unwrap()
    }

    fn policy(ws: &[&WitnessSigningKey], quorum: usize) -> WitnessPolicy {
        WitnessPolicy {
            witnesses: ws.iter().map(|w| w.witness_key()).collect(),
            quorum,
            max_age_s: 3600,
        }
    }

    /// A co-signed checkpoint of `old` with a proof to `new`.
    fn cosigned(
        log: &LogSigningKey,
        old: &MemoryTree,
        new: &MemoryTree,
        by: &[(&WitnessSigningKey, i64)],
    ) -> WitnessedCheckpoint {
        let mut c = signed(log, old);
        for (w, at) in by {
            let line = w.cosign(&c, *at as u64).unwrap();
            c.add_cosignature(&w.witness_key(), line).unwrap();
        }
        let proof = if old.size() == new.size() {
            Vec::new()
        } else {
            vaiti_log::ConsistencyPlan::new(old.size(), new.size())
                .unwrap()
                .resolve(|id| new.node(id).ok_or(vaiti_log::Error::InvalidArgument))
                .unwrap()
                .to_bytes()
        };
        WitnessedCheckpoint {
            size: old.size(),
            checkpoint: String::from_utf8(c.to_bytes()).unwrap(),
            proof: Sealed(proof),
        }
    }

    #[test]
    fn ages_round_down_to_what_people_read() {
        assert_eq!(describe_age(36 * 3600), "36 hours");
        assert_eq!(describe_age(36 * 3600 + 1), "36 hours");
        assert_eq!(describe_age(2 * 3600 - 1), "119 minutes");
        assert_eq!(describe_age(61), "61 seconds");
        assert_eq!(describe_age(1), "1 second");
        assert_eq!(describe_duration(90 * 60), "90 minutes");
        assert_eq!(describe_duration(86_400), "24 hours");
    }

    #[test]
    fn fresh_cosignatures_on_an_older_checkpoint_count() {
        let log = LogSigningKey::from_seed(ORIGIN, &[1; 32]).unwrap();
        let (a, b) = (witness("a.example", 2), witness("b.example", 3));
        let (old, new) = (tree(5, 0), tree(9, 0));
        let newest = signed(&log, &new);
        let w = [
            cosigned(&log, &new, &new, &[(&a, NOW - 10)]),
            cosigned(&log, &old, &new, &[(&b, NOW - 20)]),
        ];
        let ok = verify_witnessed(&policy(&[&a, &b], 2), &log.log_key(), &newest, &w, NOW).unwrap();
        assert_eq!(ok.cosigners.len(), 2);
        assert_eq!(ok.size, 9);
    }

    #[test]
    fn missing_stale_unlisted_forged_and_forked_cosignatures_fail() {
        let log = LogSigningKey::from_seed(ORIGIN, &[1; 32]).unwrap();
        let (a, b, stranger) = (
            witness("a.example", 2),
            witness("b.example", 3),
            witness("x.example", 4),
        );
        let (old, new) = (tree(5, 0), tree(9, 0));
        let newest = signed(&log, &new);
        let p = policy(&[&a, &b], 1);
        let check = |w: &[WitnessedCheckpoint]| {
            verify_witnessed(&p, &log.log_key(), &newest, w, NOW)
                .unwrap_err()
                .to_string()
        };
        let none = check(&[]);
        assert!(
            none.contains("no co-signature from the clinic's witnesses in the last 1 hour"),
            "{none}"
        );
        assert!(none.contains("\"a.example\" has not co-signed"), "{none}");
        let stale = check(&[cosigned(&log, &old, &new, &[(&a, NOW - 7200)])]);
        assert!(
            stale.contains("\"a.example\" last co-signed 2 hours ago"),
            "{stale}"
        );
        let future = check(&[cosigned(&log, &old, &new, &[(&a, NOW + 7200)])]);
        assert!(future.contains("in the future"), "{future}");
        let unlisted = check(&[cosigned(&log, &new, &new, &[(&stranger, NOW)])]);
        assert!(unlisted.contains("does not list"), "{unlisted}");
        // A's name and key ID, another key's signature.
        let mut forged = cosigned(&log, &new, &new, &[(&a, NOW)]);
        let real = cosigned(&log, &new, &new, &[(&b, NOW)]);
        let b_line = real.checkpoint.lines().last().unwrap().to_owned();
        let a_line = forged.checkpoint.lines().last().unwrap().to_owned();
        let (a_head, _) = a_line.rsplit_once(' ').unwrap();
        let b_sig = b_line.rsplit_once(' ').unwrap().1;
        // Keep A's key ID (the first 4 bytes) but B's timestamp and signature.
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let a_raw = b64.decode(a_line.rsplit_once(' ').unwrap().1).unwrap();
        let b_raw = b64.decode(b_sig).unwrap();
        let mut mixed = a_raw[..4].to_vec();
        mixed.extend_from_slice(&b_raw[4..]);
        forged.checkpoint = forged
            .checkpoint
            .replace(&a_line, &format!("{a_head} {}", b64.encode(mixed)));
        let forged = check(&[forged]);
        assert!(forged.contains("does not verify (forged)"), "{forged}");
        // A fork: the witness co-signed another tree of size 5.
        // (The proof is the honest one from size 5 to the newest tree.)
        let fork = check(&[cosigned(&log, &tree(5, 7), &new, &[(&a, NOW)])]);
        assert!(fork.contains("a fork"), "{fork}");
        // A co-signed checkpoint larger than the newest: the newest is a rollback.
        let longer = tree(12, 0);
        let mut ahead = cosigned(&log, &longer, &longer, &[(&a, NOW)]);
        ahead.proof = Sealed(Vec::new());
        let rollback = check(&[ahead]);
        assert!(rollback.contains("rollback"), "{rollback}");
        // Another log's key.
        let other = LogSigningKey::from_seed(ORIGIN, &[9; 32]).unwrap();
        let foreign = check(&[cosigned(&other, &new, &new, &[(&a, NOW)])]);
        assert!(
            foreign.contains("not signed by the clinic's log key"),
            "{foreign}"
        );
        // Quorum 2 with one fresh co-signature.
        let p2 = policy(&[&a, &b], 2);
        let short = verify_witnessed(
            &p2,
            &log.log_key(),
            &newest,
            &[cosigned(&log, &new, &new, &[(&a, NOW)])],
            NOW,
        )
        .unwrap_err()
        .to_string();
        assert!(short.contains("only 1 of the 2"), "{short}");
        // A witness fresh on one checkpoint and stale on an older one is reported as neither.
        let mixed = verify_witnessed(
            &p2,
            &log.log_key(),
            &newest,
            &[
                cosigned(&log, &new, &new, &[(&a, NOW)]),
                cosigned(&log, &old, &new, &[(&a, NOW - 7200)]),
            ],
            NOW,
        )
        .unwrap_err()
        .to_string();
        assert!(!mixed.contains("\"a.example\""), "{mixed}");
        assert!(mixed.contains("\"b.example\" has not co-signed"), "{mixed}");
        assert!(short.contains("\"b.example\" has not co-signed"), "{short}");
    }

    #[test]
    fn the_witness_refuses_rollbacks_and_forks() {
        let log = LogSigningKey::from_seed(ORIGIN, &[1; 32]).unwrap();
        let (old, new) = (tree(5, 0), tree(9, 0));
        let last = signed(&log, &old);
        let view = |t: &MemoryTree, proof: Vec<u8>| LogWitnessView {
            size: t.size(),
            checkpoint: String::from_utf8(signed(&log, t).to_bytes()).unwrap(),
            proof: Sealed(proof),
        };
        let proof = vaiti_log::ConsistencyPlan::new(5, 9)
            .unwrap()
            .resolve(|id| new.node(id).ok_or(vaiti_log::Error::InvalidArgument))
            .unwrap()
            .to_bytes();
        let next = verify_next(&log.log_key(), Some(&last), &view(&new, proof.clone())).unwrap();
        assert_eq!(next.checkpoint().size(), 9);
        verify_next(&log.log_key(), None, &view(&new, Vec::new())).unwrap();
        let err = |r: Result<SignedCheckpoint, ClientError>| r.unwrap_err().to_string();
        assert!(
            err(verify_next(
                &log.log_key(),
                Some(&next),
                &view(&old, Vec::new())
            ))
            .contains("rollback")
        );
        assert!(
            err(verify_next(
                &log.log_key(),
                Some(&last),
                &view(&tree(5, 3), Vec::new())
            ))
            .contains("fork")
        );
        assert!(
            err(verify_next(
                &log.log_key(),
                Some(&last),
                &view(&tree(9, 3), proof)
            ))
            .contains("fork")
        );
        let other = LogSigningKey::from_seed(ORIGIN, &[9; 32]).unwrap();
        assert!(
            err(verify_next(
                &other.log_key(),
                Some(&last),
                &view(&new, Vec::new())
            ))
            .contains("not signed")
        );
    }

    #[test]
    fn policy_changes() {
        let (a, b) = (witness("a.example", 2), witness("b.example", 3));
        let mut m: ManifestV1 = serde_json::from_value(serde_json::json!({
            "v": 1, "clinic": "00000000000000000000000000000001", "name": "x",
            "manifest_version": 1, "root_key": "00", "escrow_key": "", "escrow_threshold": 2,
            "escrow_shares": 2, "branches": [], "created_at": 0,
        }))
        .unwrap();
        let add = |vkey: String, quorum: Option<u8>| WitnessChange::Add {
            vkey,
            quorum,
            max_age_s: None,
        };
        assert!(
            apply_change(&mut m, &add(a.witness_key().to_vkey(), None)).is_err(),
            "no log key yet"
        );
        m.log_key = Some("log".into());
        apply_change(&mut m, &add(a.witness_key().to_vkey(), None)).unwrap();
        assert_eq!(
            (m.witness_quorum, m.witness_max_age_s),
            (1, DEFAULT_MAX_AGE_S)
        );
        assert!(
            apply_change(&mut m, &add(a.witness_key().to_vkey(), None)).is_err(),
            "twice"
        );
        assert!(apply_change(&mut m, &add("junk".into(), None)).is_err());
        assert!(
            apply_change(&mut m, &add(b.witness_key().to_vkey(), Some(3))).is_err(),
            "quorum beyond the list"
        );
        assert_eq!(
            m.witnesses.len(),
            1,
            "a refused change changes nothing it already checked"
        );
        apply_change(&mut m, &add(b.witness_key().to_vkey(), Some(2))).unwrap();
        assert_eq!(WitnessPolicy::from_manifest(&m).unwrap().unwrap().quorum, 2);
        let note = apply_change(
            &mut m,
            &WitnessChange::Remove {
                vkey: a.witness_key().to_vkey(),
            },
        )
        .unwrap();
        assert!(note.unwrap().contains("quorum is now 1"));
        apply_change(
            &mut m,
            &WitnessChange::Remove {
                vkey: b.witness_key().to_vkey(),
            },
        )
        .unwrap();
        assert!(WitnessPolicy::from_manifest(&m).unwrap().is_none());
        // A malformed entry stops every client; an admin can still remove it by its text.
        m.witnesses.push("not a key".into());
        assert!(WitnessPolicy::from_manifest(&m).is_err());
        apply_change(
            &mut m,
            &WitnessChange::Remove {
                vkey: "not a key".into(),
            },
        )
        .unwrap();
        assert!(m.witnesses.is_empty());
        let text = serde_json::to_string(&m).unwrap();
        assert!(
            !text.contains("witness"),
            "an empty policy is not serialised: {text}"
        );
    }
}
