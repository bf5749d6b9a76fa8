//! Every list the server returns comes in bounded pages, on SQLite and PostgreSQL: a chart whose
//! access log is longer than a page is answered a page at a time (never more than
//! `MAX_ACCESS_LOG_PAGE` proofs for one request), and the client pages through to the same
//! complete, verified history; the list routes (charts, invites) honour `limit` and `position`, refuse a limit
//! above their maximum, and the client lists everything across pages.

use vaiti_client::access_log::chart_log;
use vaiti_client::chart::{PatientDetails, add_patient, show_patient};
use vaiti_client::invite::{DEFAULT_INVITE_S, complete_invites, invite_staff};
use vaiti_core::api::{
    ChartAccessLog, ChartAccessLogPage, ChartList, InviteList, MAX_ACCESS_LOG_PAGE,
    MAX_CHARTS_PAGE, SignedRequest,
};
use vaiti_core::signed::ReleaseRequestV1;
use vaiti_core::{AccessPurpose, ChartId, Role, Sealed};
use vaiti_crypto::SignatureDomain;

use crate::support::{self, Harness, User, found_clinic, now, sign_up, start_server};

const ADMIN: &str = "admin@sivut.example";
const THERAPIST: &str = "terapeutti@sivut.example";
const BRANCH: &str = "Vaasa";

support::on_both_backends!(
    setup = clinic;
    a_long_access_log_comes_in_bounded_pages,
    chart_lists_come_in_bounded_pages,
);

struct Clinic {
    _h: Harness,
    admin: User,
    therapist: User,
    /// Charts of the branch, each with the therapist in its care team.
    charts: Vec<ChartId>,
}

async fn clinic(h: Harness) -> Clinic {
    let store = h.store("paging").await;
    let url = start_server(store.store.clone(), vaiti_server::router).await;
    let (admin, _branch) = found_clinic(&url, ADMIN, 2, BRANCH).await;
    vaiti_client::admin::adopt_log_key(&admin.session().await.unwrap())
        .await
        .unwrap();
    let s = admin.session().await.unwrap();
    let invite = invite_staff(
        &s,
        THERAPIST,
        &[Role::Therapist],
        &[BRANCH.to_string()],
        DEFAULT_INVITE_S,
    )
    .await
    .unwrap();
    let t = sign_up(&url, &invite.code, Some(THERAPIST)).await;
    complete_invites(&s).await.unwrap();
    let therapist = User::log_in(&url, t.clinic, THERAPIST, t.secret_key).await;
    let s = admin.session().await.unwrap();
    let mut charts = Vec::new();
    for name in ["Aili Sivu", "Bertta Sivu", "Cecilia Sivu"] {
        charts.push(
            add_patient(
                &s,
                BRANCH,
                PatientDetails {
                    name: name.into(),
                    ..Default::default()
                },
                &[THERAPIST.to_string()],
            )
            .await
            .unwrap(),
        );
    }
    Clinic {
        _h: h,
        admin,
        therapist,
        charts,
    }
}

/// A signed request to read `chart`'s access log, made by hand (a client that does not page).
async fn signed_read(user: &User, chart: ChartId) -> SignedRequest {
    let s = user.session().await.unwrap();
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).unwrap();
    let request = serde_json::to_vec(&ReleaseRequestV1 {
        v: 1,
        clinic: s.me.account.clinic,
        chart,
        user: s.me.account.id,
        purpose: AccessPurpose::Audit,
        time: now(),
        nonce: hex::encode(nonce),
    })
    .unwrap();
    let signature = s.me.signing_key.sign(SignatureDomain::LogRequest, &request);
    SignedRequest {
        request: Sealed(request),
        signature: Sealed(signature.to_bytes().to_vec()),
        known_log_size: 0,
    }
}

async fn a_long_access_log_comes_in_bounded_pages(c: Clinic) {
    let chart = c.charts[0];
    // More openings than a page holds: each is a leaf of the chart.
    let openings = MAX_ACCESS_LOG_PAGE as usize + 5;
    {
        let s = c.admin.session().await.unwrap();
        for _ in 0..openings {
            show_patient(&s, chart).await.unwrap();
        }
    }
    // A reading answers at most a page, and says where the rest is.
    let answer: ChartAccessLog = c
        .admin
        .api
        .post(
            &c.admin.path(&format!("/charts/{chart}/access-log")),
            &signed_read(&c.admin, chart).await,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(answer.leaves.len(), MAX_ACCESS_LOG_PAGE as usize);
    let next = answer.next.expect("older leaves remain");
    assert_eq!(next, answer.leaves[0].index);
    // A checkpoint note's second line is the tree size.
    let size: u64 = answer
        .log
        .checkpoint
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    // The older page continues that reading, with a limit of its own.
    let page: ChartAccessLogPage = c
        .admin
        .api
        .get(&c.admin.path(&format!(
            "/charts/{chart}/access-log?reading={}&size={size}&before={next}&limit=2",
            answer.log.index
        )))
        .await
        .unwrap();
    assert_eq!(page.leaves.len(), 2);
    assert!(page.leaves.iter().all(|l| l.index < next));
    assert!(page.next.is_some());
    // Out of range: a limit above the maximum, a reading that is not one, a page of someone
    // else's reading.
    for query in [
        format!(
            "reading={}&size={size}&before={next}&limit={}",
            answer.log.index,
            MAX_ACCESS_LOG_PAGE + 1
        ),
        format!("reading={}&size={size}&before={next}", answer.log.index - 1),
        format!(
            "reading={}&size={size}&before=9223372036854775808",
            answer.log.index
        ),
    ] {
        let refused = c
            .admin
            .api
            .get::<ChartAccessLogPage>(
                &c.admin.path(&format!("/charts/{chart}/access-log?{query}")),
            )
            .await;
        assert!(
            matches!(
                refused,
                Err(vaiti_client::ClientError::Api { status: 400, .. })
            ),
            "{query}: {refused:?}"
        );
    }
    // The client pages through to the whole verified history: the registration and first
    // state, every opening, both readings above and its own.
    let entries = chart_log(
        &c.admin.session().await.unwrap(),
        chart,
        AccessPurpose::Audit,
    )
    .await
    .unwrap();
    assert!(entries.len() > openings + 2, "{} entries", entries.len());
    assert!(entries.windows(2).all(|w| w[0].index < w[1].index));
}

async fn chart_lists_come_in_bounded_pages(c: Clinic) {
    let t = &c.therapist;
    // A caseload page of one, then the rest.
    let first: ChartList = t.api.get(&t.path("/charts?limit=1")).await.unwrap();
    assert_eq!(first.charts.len(), 1);
    assert_eq!(first.next, Some(1));
    let rest: ChartList = t.api.get(&t.path("/charts?position=1")).await.unwrap();
    assert_eq!(rest.charts.len(), 2);
    assert_eq!(rest.next, None);
    // Above the maximum, or not a number: refused in the API's shape.
    for query in [
        format!("limit={}", MAX_CHARTS_PAGE + 1),
        "limit=0".to_owned(),
        "position=-1".to_owned(),
    ] {
        let refused = t
            .api
            .get::<ChartList>(&t.path(&format!("/charts?{query}")))
            .await;
        assert!(
            matches!(
                refused,
                Err(vaiti_client::ClientError::Api { status: 400, .. })
            ),
            "{query}: {refused:?}"
        );
    }
    // The admin's invites (the therapist's, and two more): a page of two, then the last.
    let s = c.admin.session().await.unwrap();
    for email in ["toinen@sivut.example", "kolmas@sivut.example"] {
        invite_staff(
            &s,
            email,
            &[Role::Frontdesk],
            &[BRANCH.to_string()],
            DEFAULT_INVITE_S,
        )
        .await
        .unwrap();
    }
    let a = &c.admin;
    let first: InviteList = a.api.get(&a.path("/invites?limit=2")).await.unwrap();
    assert_eq!(first.invites.len(), 2);
    assert_eq!(first.next, Some(2));
    let rest: InviteList = a.api.get(&a.path("/invites?position=2")).await.unwrap();
    assert_eq!(rest.invites.len(), 1);
    assert_eq!(rest.next, None);
    let mut ids: Vec<_> = first
        .invites
        .iter()
        .chain(&rest.invites)
        .map(|i| i.id)
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "three different invites across the pages");
    // The client still lists every chart.
    let listed =
        vaiti_client::chart::list_patients(&c.admin.session().await.unwrap(), Some(BRANCH))
            .await
            .unwrap();
    assert_eq!(listed.len(), c.charts.len());
}
