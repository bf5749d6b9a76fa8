//! Conformance: witness co-signatures of the access log (`Write::PutLogCosignature` and its
//! reads).

use std::sync::Arc;

use vaiti_core::{ClinicId, LogCheckpoint, LogCosignature, Sealed};

use super::{T0, append_leaf, apply1, conflict, log_leaf, new_clinic_id, not_found, ok, world};
use crate::{Store, Write};

fn checkpoint(clinic: ClinicId, size: u64) -> LogCheckpoint {
    LogCheckpoint {
        clinic,
        size,
        note: Sealed(format!("checkpoint {size}").into_bytes()),
        created_at: T0,
    }
}

fn cosignature(clinic: ClinicId, size: u64, witness: &str, key_id: u32, at: u64) -> LogCosignature {
    LogCosignature {
        clinic,
        size,
        witness_name: witness.to_owned(),
        witness_key_id: key_id,
        timestamp: at,
        line: format!("— {witness} {size}/{at}"),
        created_at: T0,
    }
}

/// `PutLogCosignature`: only of a stored checkpoint, one per (clinic, witness, size) with the
/// newest kept (an older one is refused), and the reads: every co-signature of a size, and the
/// largest size a witness co-signed. Clinics see nothing of each other's.
pub async fn witness_cosignatures(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = w.clinic;
    for i in 0..3 {
        ok(
            apply1(&*store, append_leaf(log_leaf(c, i, None), vec![])).await,
            "a leaf",
        );
    }
    let put = |x: LogCosignature| Write::PutLogCosignature(x);
    assert_eq!(store.log_checkpoint(c, 2).await.unwrap(), None);
    assert_eq!(
        store
            .latest_log_cosignature(c, "w.example", 7)
            .await
            .unwrap(),
        None
    );
    not_found(
        apply1(&*store, put(cosignature(c, 2, "w.example", 7, 100))).await,
        "a co-signature of a checkpoint that is not stored",
    );
    for size in [2, 3] {
        ok(
            apply1(&*store, Write::PutLogCheckpoint(checkpoint(c, size))).await,
            "a checkpoint",
        );
    }
    assert_eq!(
        store.log_checkpoint(c, 2).await.unwrap(),
        Some(checkpoint(c, 2))
    );
    assert_eq!(store.log_checkpoint(c, 1).await.unwrap(), None);

    ok(
        apply1(&*store, put(cosignature(c, 2, "w.example", 7, 100))).await,
        "the first co-signature",
    );
    ok(
        apply1(&*store, put(cosignature(c, 2, "w.example", 7, 100))).await,
        "the same co-signature again (a retried submission)",
    );
    ok(
        apply1(&*store, put(cosignature(c, 2, "w.example", 7, 200))).await,
        "a newer co-signature of the same checkpoint replaces it",
    );
    conflict(
        apply1(&*store, put(cosignature(c, 2, "w.example", 7, 150))).await,
        "an older co-signature never replaces a newer one",
    );
    // Another witness, one with the same name but another key, and one with the same key ID but
    // another name: each is its own witness.
    ok(
        apply1(&*store, put(cosignature(c, 2, "other.example", 9, 120))).await,
        "a second witness",
    );
    ok(
        apply1(&*store, put(cosignature(c, 2, "w.example", 8, 130))).await,
        "same name, another key",
    );
    ok(
        apply1(&*store, put(cosignature(c, 2, "other.example", 7, 140))).await,
        "same key ID, another name",
    );
    let at_two = store.log_cosignatures(c, 2).await.unwrap();
    assert_eq!(
        at_two,
        vec![
            cosignature(c, 2, "other.example", 7, 140),
            cosignature(c, 2, "other.example", 9, 120),
            cosignature(c, 2, "w.example", 7, 200),
            cosignature(c, 2, "w.example", 8, 130),
        ],
        "every co-signature of size 2, by witness name and key ID"
    );
    assert_eq!(
        store.log_cosignatures(c, 3).await.unwrap(),
        vec![],
        "none of size 3 yet"
    );

    // The newest is the largest size the witness co-signed, whatever the order of the writes.
    ok(
        apply1(&*store, put(cosignature(c, 3, "w.example", 7, 300))).await,
        "a larger checkpoint",
    );
    assert_eq!(
        store
            .latest_log_cosignature(c, "w.example", 7)
            .await
            .unwrap(),
        Some(cosignature(c, 3, "w.example", 7, 300))
    );
    assert_eq!(
        store
            .latest_log_cosignature(c, "other.example", 9)
            .await
            .unwrap(),
        Some(cosignature(c, 2, "other.example", 9, 120))
    );
    assert_eq!(
        store
            .latest_log_cosignature(c, "w.example", 9)
            .await
            .unwrap(),
        None,
        "a witness is its name and key ID together"
    );
    // Key IDs use all 32 bits.
    ok(
        apply1(&*store, put(cosignature(c, 3, "big.example", u32::MAX, 1))).await,
        "the largest key ID",
    );
    assert_eq!(
        store
            .latest_log_cosignature(c, "big.example", u32::MAX)
            .await
            .unwrap()
            .map(|x| x.witness_key_id),
        Some(u32::MAX)
    );
    conflict(
        apply1(&*store, put(cosignature(c, 3, "w.example", 7, u64::MAX))).await,
        "a timestamp beyond what the store holds",
    );

    // Clinic isolation: another clinic's log has none of these, and an unknown clinic is refused.
    let other = world(&*store).await.clinic;
    ok(
        apply1(&*store, append_leaf(log_leaf(other, 0, None), vec![])).await,
        "a leaf of another clinic",
    );
    ok(
        apply1(&*store, Write::PutLogCheckpoint(checkpoint(other, 1))).await,
        "a checkpoint of another clinic",
    );
    assert_eq!(store.log_cosignatures(other, 2).await.unwrap(), vec![]);
    assert_eq!(store.log_checkpoint(other, 2).await.unwrap(), None);
    assert_eq!(
        store
            .latest_log_cosignature(other, "w.example", 7)
            .await
            .unwrap(),
        None
    );
    not_found(
        apply1(&*store, put(cosignature(other, 2, "w.example", 7, 1))).await,
        "another clinic's checkpoint size is not this clinic's",
    );
    not_found(
        apply1(
            &*store,
            put(cosignature(new_clinic_id(), 2, "w.example", 7, 1)),
        )
        .await,
        "an unknown clinic",
    );
}
