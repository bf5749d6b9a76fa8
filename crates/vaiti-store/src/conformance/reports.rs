//! Conformance: patient reports (`Write::AddReport` and `reports`).

use std::sync::Arc;

use vaiti_core::report::{PatientReport, ReportWrap};
use vaiti_core::{ChartId, ClinicId, Sealed, UserId};

use super::{
    T0, append_leaf, apply1, conflict, create_account, log_leaf, new_chart_id, new_clinic_id,
    new_key_id, new_object_id, new_user_id, not_found, ok, patient, world,
};
use crate::{Store, Write};

fn report_wrap(recipient: UserId) -> ReportWrap {
    ReportWrap {
        recipient,
        recipient_key: new_key_id(),
        wrap: Sealed(format!("wrap to {recipient}").into_bytes()),
        signature: Sealed(vec![0x01; 65]),
    }
}

fn report(
    clinic: ClinicId,
    chart: ChartId,
    entry: u64,
    reporter: UserId,
    readers: &[UserId],
    created_at: i64,
) -> PatientReport {
    let id = new_object_id();
    PatientReport {
        clinic,
        id,
        chart,
        entry,
        reporter,
        envelope: Sealed(format!("sealed report {id}").into_bytes()),
        signature: Sealed(vec![0x02; 65]),
        wraps: readers.iter().map(|&r| report_wrap(r)).collect(),
        created_at,
    }
}

/// `AddReport`: only about a leaf of the report's own chart, by a known reporter, to known and
/// distinct readers, once per id; `reports` lists them oldest first with all wraps or only one
/// reader's, and clinics see nothing of each other's. A refused report leaves nothing behind.
pub async fn patient_reports(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = w.clinic;
    let other_chart = w.another_chart(&*store).await;
    let auditor = w.another_account(&*store, "auditor@clinic.example").await;
    let p = patient(c, "PATIENT0001");
    ok(apply1(&*store, create_account(&p)).await, "a patient");
    // Leaf 0 is the chart's, leaf 1 the other chart's, leaf 2 the clinic's.
    for (i, chart) in [(0, Some(w.chart.id)), (1, Some(other_chart.id)), (2, None)] {
        ok(
            apply1(&*store, append_leaf(log_leaf(c, i, chart), vec![])).await,
            "a leaf",
        );
    }
    let readers = [w.admin.id, auditor.id];
    let first = report(c, w.chart.id, 0, p.id, &readers, T0 + 10);
    assert!(store.reports(c, None).await.unwrap().is_empty());
    ok(
        apply1(&*store, Write::AddReport(first.clone())).await,
        "a report of the chart's own leaf",
    );
    conflict(
        apply1(&*store, Write::AddReport(first.clone())).await,
        "the same report id again",
    );
    for (entry, what) in [
        (1, "a leaf of another chart"),
        (2, "a leaf of no chart"),
        (3, "an index beyond the log"),
    ] {
        not_found(
            apply1(
                &*store,
                Write::AddReport(report(c, w.chart.id, entry, p.id, &readers, T0)),
            )
            .await,
            what,
        );
    }
    not_found(
        apply1(
            &*store,
            Write::AddReport(report(c, new_chart_id(), 0, p.id, &readers, T0)),
        )
        .await,
        "an unknown chart",
    );
    not_found(
        apply1(
            &*store,
            Write::AddReport(report(c, w.chart.id, 0, new_user_id(), &readers, T0)),
        )
        .await,
        "an unknown reporter",
    );
    not_found(
        apply1(
            &*store,
            Write::AddReport(report(c, w.chart.id, 0, p.id, &[new_user_id()], T0)),
        )
        .await,
        "an unknown reader",
    );
    conflict(
        apply1(
            &*store,
            Write::AddReport(report(
                c,
                w.chart.id,
                0,
                p.id,
                &[auditor.id, auditor.id],
                T0,
            )),
        )
        .await,
        "two wraps to one reader",
    );
    not_found(
        apply1(
            &*store,
            Write::AddReport(PatientReport {
                clinic: new_clinic_id(),
                ..report(c, w.chart.id, 0, p.id, &readers, T0)
            }),
        )
        .await,
        "an unknown clinic",
    );
    // A failed batch writes nothing: the report with a bad second write is not kept.
    let rolled_back = report(c, w.chart.id, 0, p.id, &readers, T0 + 5);
    assert!(
        store
            .apply(vec![
                Write::AddReport(rolled_back.clone()),
                Write::AddReport(first.clone()),
            ])
            .await
            .is_err()
    );
    // An older second report sorts first.
    let second = report(c, other_chart.id, 1, p.id, &[auditor.id], T0 + 1);
    ok(
        apply1(&*store, Write::AddReport(second.clone())).await,
        "a report of the other chart's leaf",
    );
    let mut all_wraps = first.clone();
    all_wraps.wraps.sort_by_key(|w| w.recipient);
    assert_eq!(
        store.reports(c, None).await.unwrap(),
        vec![second.clone(), all_wraps],
        "every report, oldest first, with all its wraps by reader"
    );
    let only = |r: &PatientReport, reader: UserId| -> Vec<ReportWrap> {
        r.wraps
            .iter()
            .filter(|w| w.recipient == reader)
            .cloned()
            .collect()
    };
    let for_admin = store.reports(c, Some(w.admin.id)).await.unwrap();
    assert_eq!(for_admin.len(), 2, "a reader sees every report");
    assert!(for_admin[0].wraps.is_empty(), "no wrap to the admin");
    assert_eq!(for_admin[1].wraps, only(&first, w.admin.id));
    assert_eq!(for_admin[1].wraps.len(), 1);
    let for_auditor = store.reports(c, Some(auditor.id)).await.unwrap();
    assert_eq!(for_auditor[0].wraps, second.wraps);
    assert_eq!(for_auditor[1].wraps, only(&first, auditor.id));
    assert!(
        store
            .reports(c, Some(w.therapist.id))
            .await
            .unwrap()
            .iter()
            .all(|r| r.wraps.is_empty()),
        "no wraps to the therapist"
    );
    // Another clinic sees nothing.
    let other = world(&*store).await;
    assert!(store.reports(other.clinic, None).await.unwrap().is_empty());
}
