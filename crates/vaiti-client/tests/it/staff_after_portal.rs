//! Staff can still join a clinic whose patients have portal accounts.
//!
//! A patient's certificate is signed by the clinician who completed their join, not by the
//! clinic root. Every piece of admin work that needs the root key (certifying new staff, adding
//! a branch, renewing staff certificates) first verifies the clinic directory; if that check
//! took every certificate for a root-signed one, the first portal patient would make every such
//! command fail with "invalid signature" — for every admin, for good. These cases walk the order
//! a new clinic takes: staff, a patient, the patient's portal join, and only then more staff.
//!
//! Every case runs on SQLite and PostgreSQL (see `support`).

use vaiti_client::chart::{PatientDetails, add_note, add_patient, list_notes};
use vaiti_client::invite::{
    DEFAULT_INVITE_S, complete_invites, confirm_join, invite_patient, invite_staff, pending_joins,
};
use vaiti_core::{ChartId, Role};
use vaiti_crypto::Tier;

use crate::support::{self, Harness, User, found_clinic, hire, now, sign_up, start_server};

const ADMIN: &str = "aino@terapia.example";
const T1: &str = "t1@terapia.example";
const T2: &str = "t2@terapia.example";
const FD: &str = "fd@terapia.example";
const BRANCH: &str = "Helsinki";

support::on_both_backends!(
    setup = clinic_with_a_portal_patient;
    a_new_therapist_joins_after_a_patient_did,
    a_branch_is_added_after_a_patient_joined,
    a_patient_invited_by_their_therapist_does_not_block_staff_either,
);

struct Clinic {
    url: String,
    admin: User,
    t1: User,
    fd: User,
    chart: ChartId,
}

/// A clinic with a therapist and front desk, a patient of the therapist added by front desk,
/// invited to the portal by front desk, signed up and confirmed by the therapist.
async fn clinic_with_a_portal_patient(h: Harness) -> Clinic {
    let support::TestStore { store, .. } = h.store("staffportal").await;
    let url = start_server(store, vaiti_server::router).await;
    let (admin, _) = found_clinic(&url, ADMIN, 3, BRANCH).await;
    let [t1, fd] = hire(
        &admin,
        &url,
        BRANCH,
        [(T1, Role::Therapist), (FD, Role::Frontdesk)],
    )
    .await;
    let chart = {
        let s = fd.session().await.unwrap();
        let details = PatientDetails {
            name: "Maija Meikäläinen".into(),
            ..PatientDetails::default()
        };
        add_patient(&s, BRANCH, details, &[T1.to_string()])
            .await
            .unwrap()
    };
    let code = {
        let s = fd.session().await.unwrap();
        invite_patient(&s, chart, DEFAULT_INVITE_S)
            .await
            .unwrap()
            .code
    };
    sign_up(&url, &code, None).await;
    {
        let s = t1.session().await.unwrap();
        let pending = pending_joins(&s).await.unwrap();
        assert_eq!(pending.len(), 1);
        confirm_join(&s, pending[0].invite).await.unwrap();
    }
    Clinic {
        url,
        admin,
        t1,
        fd,
        chart,
    }
}

/// The admin invites `email` as a therapist of the branch and the invitee signs up; returns
/// their Secret Key.
async fn invite_and_sign_up(c: &Clinic, email: &'static str) -> vaiti_crypto::SecretKey {
    let code = {
        let s = c.admin.session().await.unwrap();
        invite_staff(
            &s,
            email,
            &[Role::Therapist],
            &[BRANCH.to_string()],
            DEFAULT_INVITE_S,
        )
        .await
        .unwrap()
        .code
    };
    sign_up(&c.url, &code, Some(email)).await.secret_key
}

async fn a_new_therapist_joins_after_a_patient_did(c: Clinic) {
    let secret_key = invite_and_sign_up(&c, T2).await;
    // The admin's next sync certifies the new therapist.
    {
        let s = c.admin.session().await.unwrap();
        let done = complete_invites(&s)
            .await
            .unwrap_or_else(|e| panic!("the admin's sync after a staff sign-up failed: {e}"));
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].login, T2);
        // And the sync after that is quiet.
        assert!(complete_invites(&s).await.unwrap().is_empty());
    }
    // The new therapist is certified, can be added to the patient's care team and reads the
    // notes the first therapist wrote.
    let t2 = User::log_in(&c.url, c.admin.me.clinic, T2, secret_key).await;
    t2.session().await.unwrap().myself().unwrap();
    {
        let s = c.t1.session().await.unwrap();
        add_note(&s, c.chart, Tier::Team, "Alkuarvio", "Uni kunnossa.")
            .await
            .unwrap();
        vaiti_client::chart::care_team_add(&s, c.chart, T2)
            .await
            .unwrap();
    }
    let s = t2.session().await.unwrap();
    let notes = list_notes(&s, c.chart).await.unwrap();
    assert_eq!(notes.len(), 1);
    // Front desk still finds the patient.
    let s = c.fd.session().await.unwrap();
    assert_eq!(
        vaiti_client::chart::list_patients(&s, Some(BRANCH))
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn a_branch_is_added_after_a_patient_joined(c: Clinic) {
    vaiti_client::admin::create_branch(&c.admin.api, &c.admin.me, "Tampere", now())
        .await
        .unwrap_or_else(|e| panic!("adding a branch after a portal join failed: {e}"));
    let s = c.admin.session().await.unwrap();
    assert!(s.branch("Tampere").is_ok());
}

async fn a_patient_invited_by_their_therapist_does_not_block_staff_either(c: Clinic) {
    // A second patient, invited by their therapist, whose own sync completes the join.
    let chart = {
        let s = c.fd.session().await.unwrap();
        let details = PatientDetails {
            name: "Matti Meikäläinen".into(),
            ..PatientDetails::default()
        };
        add_patient(&s, BRANCH, details, &[T1.to_string()])
            .await
            .unwrap()
    };
    let code = {
        let s = c.t1.session().await.unwrap();
        invite_patient(&s, chart, DEFAULT_INVITE_S)
            .await
            .unwrap()
            .code
    };
    sign_up(&c.url, &code, None).await;
    {
        let s = c.t1.session().await.unwrap();
        assert_eq!(complete_invites(&s).await.unwrap().len(), 1);
    }
    invite_and_sign_up(&c, T2).await;
    let s = c.admin.session().await.unwrap();
    assert_eq!(
        complete_invites(&s)
            .await
            .unwrap_or_else(|e| panic!("the admin's sync failed: {e}"))
            .len(),
        1
    );
}
