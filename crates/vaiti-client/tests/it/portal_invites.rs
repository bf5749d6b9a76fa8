//! Portal invites made at the front desk, and the names members of staff choose at sign-up.
//!
//! Front desk (or an admin) of a chart's branch may invite its patient to the portal: they hand
//! the code over at the desk. Completing the join gives the patient the chart's shared notes, so
//! it waits for a clinician of the care team to confirm it — front desk never gets a path to note
//! content, not even through an account they could sign up themselves. The clinician's client
//! checks who signed the invite: someone who could invite this chart's patient, or nothing.
//!
//! Every case runs on SQLite and PostgreSQL (see `support`).

use vaiti_client::ClientError;
use vaiti_client::api::Api;
use vaiti_client::chart::{PatientDetails, add_note, add_patient, list_notes};
use vaiti_client::invite::{
    DEFAULT_INVITE_S, InviteCode, NewMember, complete_invites, confirm_join, invite_patient,
    invite_staff, pending_joins, signup,
};
use vaiti_core::signed::InviteV1;
use vaiti_core::{ChartId, InviteId, InviteKind, Role};
use vaiti_crypto::{InviteSecret, SignatureDomain, Tier};

use crate::support::{self, Harness, PASSWORD, User, found_clinic, hire, now, start_server};

const ADMIN: &str = "aino@terapia.example";
const T1: &str = "t1@terapia.example";
const T3: &str = "t3@terapia.example";
const FD: &str = "fd@terapia.example";
const FD_EAST: &str = "fd-east@terapia.example";
const BRANCH: &str = "Helsinki";
const EAST: &str = "Joensuu";

support::on_both_backends!(
    setup = clinic;
    front_desk_invites_and_a_clinician_of_the_care_team_confirms,
    front_desk_of_another_branch_cannot_invite,
    a_join_signed_by_someone_who_could_not_invite_is_refused,
    a_listed_join_with_a_changed_signature_or_binding_is_refused,
    a_new_members_chosen_name_is_in_their_certificate,
);

struct Clinic {
    url: String,
    db: support::Db,
    admin: User,
    t1: User,
    t3: User,
    fd: User,
    fd_east: User,
    /// Helsinki; care team t1; a shared and a team-tier note by t1.
    chart: ChartId,
}

const SHARED_TEXT: &str = "Kotitehtävä: unipäiväkirja viikon ajan.";
const TEAM_TEXT: &str = "Työhypoteesi: pitkittynyt suru.";

async fn clinic(h: Harness) -> Clinic {
    let support::TestStore { store, db, .. } = h.store("portal").await;
    let url = start_server(store, vaiti_server::router).await;
    let (admin, _) = found_clinic(&url, ADMIN, 3, BRANCH).await;
    vaiti_client::admin::create_branch(&admin.api, &admin.me, EAST, now())
        .await
        .unwrap();
    let [t1, t3, fd] = hire(
        &admin,
        &url,
        BRANCH,
        [
            (T1, Role::Therapist),
            (T3, Role::Therapist),
            (FD, Role::Frontdesk),
        ],
    )
    .await;
    let [fd_east] = hire(&admin, &url, EAST, [(FD_EAST, Role::Frontdesk)]).await;
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
    {
        let s = t1.session().await.unwrap();
        add_note(&s, chart, Tier::Shared, "Kotitehtävä", SHARED_TEXT)
            .await
            .unwrap();
        add_note(&s, chart, Tier::Team, "Työhypoteesi", TEAM_TEXT)
            .await
            .unwrap();
    }
    Clinic {
        url,
        db,
        admin,
        t1,
        t3,
        fd,
        fd_east,
        chart,
    }
}

/// The Helsinki front desk invites the chart's patient to the portal; returns the code.
async fn front_desk_invites(c: &Clinic) -> InviteCode {
    let s = c.fd.session().await.unwrap();
    invite_patient(&s, c.chart, DEFAULT_INVITE_S)
        .await
        .unwrap()
        .code
}

/// The patient signs up with `code` on their own device; returns their handle and Secret Key.
async fn patient_signs_up(
    c: &Clinic,
    code: &InviteCode,
) -> (&'static str, vaiti_crypto::SecretKey) {
    let account = support::sign_up(&c.url, code, None).await;
    (
        Box::leak(account.login.into_boxed_str()),
        account.secret_key,
    )
}

fn usage<T: std::fmt::Debug>(result: Result<T, ClientError>, what: &str) -> String {
    match result {
        Err(ClientError::Usage(m)) => m,
        other => panic!("{what}: expected a usage error, got {other:?}"),
    }
}

fn protocol<T: std::fmt::Debug>(result: Result<T, ClientError>, what: &str) -> String {
    match result {
        Err(ClientError::Protocol(m)) => m,
        other => panic!("{what}: expected a protocol error, got {other:?}"),
    }
}

async fn front_desk_invites_and_a_clinician_of_the_care_team_confirms(c: Clinic) {
    let code = front_desk_invites(&c).await;
    let (handle, secret_key) = patient_signs_up(&c, &code).await;

    // Nobody completes it on sync: not the front desk (who cannot), not the clinician (who
    // confirms explicitly). Both syncs still succeed.
    for user in [&c.fd, &c.t1] {
        let s = user.session().await.unwrap();
        assert!(complete_invites(&s).await.unwrap().is_empty());
    }
    let mut patient = vaiti_client::api::Api::new(&c.url).unwrap();
    let unlocked =
        vaiti_client::account::login(&mut patient, c.fd.me.clinic, handle, &secret_key, PASSWORD)
            .await
            .unwrap();
    let not_yet = vaiti_client::session::Session::open(&patient, &unlocked, now())
        .await
        .unwrap();
    assert!(
        usage(
            not_yet.myself().map(|_| ()),
            "the patient before confirmation"
        )
        .contains("not certified yet"),
        "the patient has no certificate until the care team confirms"
    );
    assert!(list_notes(&not_yet, c.chart).await.is_err(), "nor any note");

    // The clinician sees the join waiting, with who invited and the patient's handle.
    let pending = {
        let s = c.t1.session().await.unwrap();
        pending_joins(&s).await.unwrap()
    };
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].chart, c.chart);
    assert_eq!(pending[0].login, handle);
    assert_eq!(pending[0].inviter, c.fd.id());
    assert!(pending[0].inviter_name.contains(FD));
    let invite = pending[0].invite;

    // Outside the care team: nothing listed, nothing to confirm. The front desk cannot confirm
    // its own invite either.
    {
        let s = c.t3.session().await.unwrap();
        assert!(pending_joins(&s).await.unwrap().is_empty());
        usage(confirm_join(&s, invite).await, "t3 confirming");
    }
    {
        let s = c.fd.session().await.unwrap();
        assert!(pending_joins(&s).await.unwrap().is_empty());
        assert!(
            confirm_join(&s, invite).await.is_err(),
            "front desk confirming"
        );
    }

    {
        let s = c.t1.session().await.unwrap();
        let done = confirm_join(&s, invite).await.unwrap();
        assert_eq!(done.login, handle);
        assert!(pending_joins(&s).await.unwrap().is_empty());
        usage(confirm_join(&s, invite).await, "confirming twice");
    }

    // The patient now reads the shared note, and only it.
    let patient = User::log_in(&c.url, c.fd.me.clinic, handle, secret_key).await;
    let s = patient.session().await.unwrap();
    let texts: Vec<String> = list_notes(&s, c.chart)
        .await
        .unwrap()
        .iter()
        .map(|n| n.current().unwrap().text.clone())
        .collect();
    assert_eq!(texts, vec![SHARED_TEXT.to_string()]);
    assert!(!texts.iter().any(|t| t == TEAM_TEXT));
}

async fn front_desk_of_another_branch_cannot_invite(c: Clinic) {
    let s = c.fd_east.session().await.unwrap();
    let message = usage(
        invite_patient(&s, c.chart, DEFAULT_INVITE_S).await,
        "front desk of another branch",
    );
    assert!(message.contains("that you may invite"), "{message}");
    // The refusal is about the branch, not the role: the admin, who holds the Helsinki
    // directory, may invite.
    let s = c.admin.session().await.unwrap();
    invite_patient(&s, c.chart, DEFAULT_INVITE_S).await.unwrap();
}

/// A malicious server stores an invite for the Helsinki chart signed by the Joensuu front desk
/// (who could not have made it through the API), the patient signs up, and the server offers it
/// to the care team: the clinician's client refuses to confirm it.
async fn a_join_signed_by_someone_who_could_not_invite_is_refused(c: Clinic) {
    let secret = InviteSecret::generate().unwrap();
    let id = InviteId::from_bytes(secret.id());
    let body = InviteV1 {
        v: 1,
        clinic: c.fd_east.me.account.clinic,
        invite: id,
        kind: InviteKind::Patient,
        roles: Vec::new(),
        branches: Vec::new(),
        email: None,
        chart: Some(c.chart),
        expires_at: now() + 3600,
        invite_key: hex::encode(secret.binding_key().verifying_key().to_bytes()),
        root_check: hex::encode(secret.root_check(&c.fd_east.me.root_fingerprint)),
        inviter: c.fd_east.id(),
    };
    let bytes = serde_json::to_vec(&body).unwrap();
    let signature = c
        .fd_east
        .me
        .signing_key
        .sign(SignatureDomain::Invite, &bytes);
    c.db
        .query(
            "INSERT INTO invites (clinic_id, invite_id, kind, inviter_id, chart_id, body, signature, expires_at, state, created_at) VALUES ($1, $2, 'patient', $3, $4, $5, $6, $7, 'open', $8)",
        )
        .bind(c.fd_east.me.account.clinic.as_bytes().to_vec())
        .bind(id.as_bytes().to_vec())
        .bind(c.fd_east.id().as_bytes().to_vec())
        .bind(c.chart.as_bytes().to_vec())
        .bind(bytes)
        .bind(signature.to_bytes().to_vec())
        .bind(body.expires_at)
        .bind(now())
        .execute()
        .await;
    let code = InviteCode {
        clinic: c.fd_east.me.clinic,
        secret,
    };
    patient_signs_up(&c, &code).await;

    let s = c.t1.session().await.unwrap();
    let pending = pending_joins(&s).await.unwrap();
    assert_eq!(pending.len(), 1, "the server offers the join");
    let message = protocol(confirm_join(&s, id).await, "confirming");
    assert!(message.contains("may not invite"), "{message}");
    let state: String =
        c.db.query("SELECT state FROM invites WHERE invite_id = $1")
            .bind(id.as_bytes().to_vec())
            .fetch_scalar()
            .await;
    assert_eq!(state, "bound", "nothing was completed");
}

/// The server changes a listed invite's signature, or the patient's binding: the clinician's
/// client refuses the list rather than certify anyone.
async fn a_listed_join_with_a_changed_signature_or_binding_is_refused(c: Clinic) {
    let code = front_desk_invites(&c).await;
    patient_signs_up(&c, &code).await;
    let id = code.invite_id().as_bytes().to_vec();
    // One bit of the invite's signature, or of the binding's signed body (after its 65-byte
    // signature), changed; then put back.
    for (column, at) in [("signature", 10), ("binding", 80)] {
        let select = format!("SELECT {column} FROM invites WHERE invite_id = $1").leak();
        let update = format!("UPDATE invites SET {column} = $1 WHERE invite_id = $2").leak();
        let honest: Vec<u8> = c.db.query(select).bind(id.clone()).fetch_scalar().await;
        let mut changed = honest.clone();
        changed[at] ^= 1;
        c.db.query(update)
            .bind(changed)
            .bind(id.clone())
            .execute()
            .await;
        {
            let s = c.t1.session().await.unwrap();
            assert!(
                complete_invites(&s).await.unwrap().is_empty(),
                "the clinician's own sync goes on"
            );
            protocol(pending_joins(&s).await, &format!("a changed {column}"));
            protocol(
                confirm_join(&s, code.invite_id()).await,
                &format!("confirming under a changed {column}"),
            );
        }
        c.db.query(update)
            .bind(honest)
            .bind(id.clone())
            .execute()
            .await;
    }
    let s = c.t1.session().await.unwrap();
    confirm_join(&s, code.invite_id()).await.unwrap();
}

/// The name a new member types at sign-up travels in their signed binding into the certificate
/// the admin issues, so colleagues (and the access log) see it.
async fn a_new_members_chosen_name_is_in_their_certificate(c: Clinic) {
    const NEW: &str = "tiina@terapia.example";
    let code = {
        let s = c.admin.session().await.unwrap();
        invite_staff(
            &s,
            NEW,
            &[Role::Therapist],
            &[BRANCH.to_string()],
            DEFAULT_INVITE_S,
        )
        .await
        .unwrap()
        .code
    };
    let account = signup(
        &Api::new(&c.url).unwrap(),
        &NewMember {
            code: &code,
            email: Some(NEW),
            display_name: Some("  Tiina Terapeutti "),
            password: PASSWORD,
            now: now(),
        },
    )
    .await
    .unwrap();
    {
        let s = c.admin.session().await.unwrap();
        assert_eq!(complete_invites(&s).await.unwrap().len(), 1);
    }
    let s = c.t1.session().await.unwrap();
    let member = s
        .members
        .get(&vaiti_core::UserId::from_bytes(account.user.to_bytes()))
        .unwrap();
    assert_eq!(
        member.certificate.display_name.as_deref(),
        Some("Tiina Terapeutti")
    );
    assert_eq!(member.label(), format!("Tiina Terapeutti <{NEW}>"));
}
