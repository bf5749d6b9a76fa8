//! The access log as the server writes it today: every action of a small clinic day is a leaf,
//! the leaves decode, each chart's leaves chain to their predecessor, and the subtree hashes the
//! store keeps agree with a tree recomputed from every leaf.

use std::sync::Arc;

use vaiti_client::account::{NewClinic, create_clinic, login};
use vaiti_client::admin::create_branch;
use vaiti_client::api::Api;
use vaiti_client::chart::{PatientDetails, add_note, add_patient, list_notes, show_patient};
use vaiti_client::invite::{NewMember, complete_invites, invite_staff, signup};
use vaiti_client::session::Session;
use vaiti_core::Role;
use vaiti_crypto::Tier;
use vaiti_log::{Action, Frontier, Leaf};
use vaiti_store::Store;

use crate::support::{TOKEN, now, start_server};

#[tokio::test]
async fn a_clinic_day_leaves_a_consistent_log() {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).unwrap();
    let dir = std::env::temp_dir().join(format!("vaiti-log-test-{}", u64::from_le_bytes(r)));
    let store = Arc::new(vaiti_store::SqliteStore::open(&dir).await.unwrap());
    let url = start_server(store.clone(), vaiti_server::router).await;

    let created = create_clinic(
        &Api::new(&url).unwrap(),
        &NewClinic {
            name: "Loki",
            admin_email: "admin@loki.example",
            admin_name: None,
            escrow_threshold: 2,
            escrow_shares: 2,
            password: "admin password 1",
            creation_token: TOKEN,
            now: now(),
        },
    )
    .await
    .unwrap();
    let clinic = created.clinic;
    let mut admin_api = Api::new(&url).unwrap();
    let admin = login(
        &mut admin_api,
        clinic,
        "admin@loki.example",
        &created.secret_key,
        "admin password 1",
    )
    .await
    .unwrap();
    create_branch(&admin_api, &admin, "Oulu", now())
        .await
        .unwrap();
    let s = Session::open(&admin_api, &admin, now()).await.unwrap();
    let inv = invite_staff(
        &s,
        "t@loki.example",
        &[Role::Therapist],
        &["Oulu".into()],
        3600,
    )
    .await
    .unwrap();
    let t = signup(
        &Api::new(&url).unwrap(),
        &NewMember {
            code: &inv.code,
            email: None,
            display_name: None,
            password: "therapist password",
            now: now(),
        },
    )
    .await
    .unwrap();
    complete_invites(&s).await.unwrap();
    let s = Session::open(&admin_api, &admin, now()).await.unwrap();
    let chart = add_patient(
        &s,
        "Oulu",
        PatientDetails {
            name: "Liisa Loki".into(),
            ..Default::default()
        },
        &["t@loki.example".into()],
    )
    .await
    .unwrap();
    // A failed login: logged without the name typed.
    let mut wrong = Api::new(&url).unwrap();
    assert!(
        login(
            &mut wrong,
            clinic,
            "t@loki.example",
            &t.secret_key,
            "not it"
        )
        .await
        .is_err()
    );
    let mut t_api = Api::new(&url).unwrap();
    let therapist = login(
        &mut t_api,
        clinic,
        "t@loki.example",
        &t.secret_key,
        "therapist password",
    )
    .await
    .unwrap();
    let st = Session::open(&t_api, &therapist, now()).await.unwrap();
    let path = format!(
        "/clinics/{}/log",
        vaiti_core::ClinicId::from_bytes(clinic.to_bytes())
    );
    let early: vaiti_core::api::LogCheckpointView =
        t_api.get(&format!("{path}/checkpoint")).await.unwrap();
    add_note(&st, chart, Tier::Team, "Istunto", "Teksti.")
        .await
        .unwrap();
    list_notes(&st, chart).await.unwrap();
    show_patient(&s, chart).await.unwrap();

    let clinic_id = vaiti_core::ClinicId::from_bytes(clinic.to_bytes());
    let size = store.log_size(clinic_id).await.unwrap();
    let leaves = store.log_leaves(clinic_id, 0, size).await.unwrap();
    assert_eq!(leaves.len() as u64, size);
    let decoded: Vec<Leaf> = leaves
        .iter()
        .map(|l| Leaf::decode(l.leaf.as_bytes()).unwrap())
        .collect();
    for (stored, leaf) in leaves.iter().zip(&decoded) {
        assert_eq!(stored.leaf_hash, leaf.hash());
        assert_eq!(leaf.clinic, clinic.to_bytes());
    }
    let actions: Vec<Action> = decoded.iter().map(|l| l.action).collect();
    for expected in [
        Action::DirectoryChange, // clinic, branch, sign-up, join
        Action::Login,
        Action::LoginFailed,
        Action::AdminAction, // the invite
        Action::ChartStateChange,
        Action::RecordWrite,
        Action::KeyRelease,
        Action::IdentityRead,
    ] {
        assert!(
            actions.contains(&expected),
            "no {expected:?} in {actions:?}"
        );
    }
    let failed = decoded
        .iter()
        .find(|l| l.action == Action::LoginFailed)
        .unwrap();
    assert_eq!(failed.actor, therapist.account.id.as_bytes().to_owned());

    // The chart's leaves chain: each names the previous one of the same chart.
    let chart_bytes = *chart.as_bytes();
    let chart_leaves = store
        .chart_log_leaves(clinic_id, chart, u64::MAX, u32::MAX)
        .await
        .unwrap();
    assert!(
        chart_leaves.len() >= 4,
        "created, note written, opened twice"
    );
    let mut previous = None;
    for stored in &chart_leaves {
        let leaf = Leaf::decode(stored.leaf.as_bytes()).unwrap();
        assert_eq!(leaf.chart, chart_bytes);
        assert_eq!(
            leaf.chart_previous.map(|p| (p.index, p.hash)),
            previous,
            "leaf {} names its chart's previous leaf",
            stored.index
        );
        previous = Some((stored.index, stored.leaf_hash));
    }

    // The stored subtree hashes agree with a tree recomputed from every leaf.
    let hashes: Vec<[u8; 32]> = leaves.iter().map(|l| l.leaf_hash).collect();
    let recomputed = vaiti_log::tree::root_from_leaf_hashes(&hashes);
    let ids: Vec<(u8, u64)> = Frontier::peak_ids(size)
        .iter()
        .map(|n| (n.level, n.index))
        .collect();
    let peaks: Vec<[u8; 32]> = store
        .log_nodes(clinic_id, &ids)
        .await
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(
        Frontier::from_peaks(size, peaks).unwrap().root(),
        recomputed
    );

    // The signed checkpoint commits to that root, under the log's key; proofs verify against it.
    let view: vaiti_core::api::LogCheckpointView =
        t_api.get(&format!("{path}/checkpoint")).await.unwrap();
    let log_key = vaiti_log::LogKey::from_vkey(&view.log_key).unwrap();
    let signed = vaiti_log::SignedCheckpoint::verify(view.checkpoint.as_bytes(), &log_key).unwrap();
    assert_eq!(signed.checkpoint().size(), size);
    assert_eq!(view.size, size);
    assert_eq!(*signed.checkpoint().root(), recomputed);
    for stored in &chart_leaves {
        let proof: vaiti_core::api::LogProof = t_api
            .get(&format!(
                "{path}/inclusion?index={}&size={size}",
                stored.index
            ))
            .await
            .unwrap();
        let proof =
            vaiti_log::InclusionProof::from_bytes(stored.index, size, proof.proof.as_bytes())
                .unwrap();
        proof.verify(&stored.leaf_hash, &recomputed).unwrap();
        assert!(proof.verify(&[0; 32], &recomputed).is_err());
    }
    let old = vaiti_log::SignedCheckpoint::verify(early.checkpoint.as_bytes(), &log_key).unwrap();
    assert!(early.size < size);
    let proof: vaiti_core::api::LogProof = t_api
        .get(&format!("{path}/consistency?from={}&to={size}", early.size))
        .await
        .unwrap();
    let proof =
        vaiti_log::ConsistencyProof::from_bytes(early.size, size, proof.proof.as_bytes()).unwrap();
    proof.verify(old.checkpoint().root(), &recomputed).unwrap();
    // A leaf edited in the database no longer matches the signed root.
    let mut edited = hashes.clone();
    edited[1][0] ^= 1;
    assert_ne!(
        vaiti_log::tree::root_from_leaf_hashes(&edited),
        *signed.checkpoint().root()
    );

    // The first branch's manifest adopted the log key; clients check checkpoints against it.
    let s = Session::open(&admin_api, &admin, now()).await.unwrap();
    assert_eq!(s.manifest.log_key.as_deref(), Some(view.log_key.as_str()));
    assert!(!vaiti_client::admin::adopt_log_key(&s).await.unwrap());
    let st = Session::open(&t_api, &therapist, now()).await.unwrap();
    list_notes(&st, chart).await.unwrap();
    let seen = st.seen().unwrap();
    assert!(seen.log.is_some());
    // The log grows: the next session proves the new checkpoint extends the one seen.
    let st = Session::open_with(&t_api, &therapist, now(), seen)
        .await
        .unwrap();
    let seen = st.seen().unwrap();

    // The server cuts the log back (deletes the newest leaves and re-signs a shorter tree): a
    // device that saw the longer log refuses it.
    let seen_size = seen.log.as_ref().unwrap().0;
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.join(vaiti_store::SqliteStore::FILE_NAME).display()
    ))
    .await
    .unwrap();
    let cut = i64::try_from(seen_size).unwrap() - 3;
    for sql in [
        "DELETE FROM log_checkpoints",
        "DELETE FROM log_leaves WHERE idx >= $1",
    ] {
        sqlx::query(sql).bind(cut).execute(&db).await.unwrap();
    }
    // Subtree hashes that cover a deleted leaf go too (what a careful attacker would do).
    let nodes: Vec<(i64, i64)> = sqlx::query_as("SELECT level, idx FROM log_nodes")
        .fetch_all(&db)
        .await
        .unwrap();
    for (level, idx) in nodes {
        if (idx + 1) << level > cut {
            sqlx::query("DELETE FROM log_nodes WHERE level = $1 AND idx = $2")
                .bind(level)
                .bind(idx)
                .execute(&db)
                .await
                .unwrap();
        }
    }
    let err = Session::open_with(&t_api, &therapist, now(), seen)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rollback"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
