//! The independent review's findings, each written as the attacker would act, and the insider
//! matrix: every role against every route of the API, checked against the server's policy table
//! (`vaiti_server::policy::ROUTES`).
//!
//! The clinic every case starts from has two branches (Helsinki, Joensuu), an admin, an auditor,
//! three therapists of Helsinki (t1 and t2 in chart A's care team until t2 is removed, t3 in
//! chart B's), front desk of each branch, a portal patient for each chart, and one account that
//! signed up with an admin's invite but was never certified. The server sits behind a hook that
//! lets a case rewrite a request on its way in (an attacker who knows all but a secret).
//!
//! Every case runs on SQLite and PostgreSQL (see `support`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use vaiti_client::ClientError;
use vaiti_client::api::Api;
use vaiti_client::chart::{PatientDetails, add_note, add_patient, care_team_remove};
use vaiti_client::invite::{
    DEFAULT_INVITE_S, InviteCode, complete_invites, invite_patient, invite_staff,
};
use vaiti_core::{BranchId, ChartId, ObjectId, Role};
use vaiti_crypto::{SignatureDomain, SigningKey, Tier};
use vaiti_server::policy::{ROUTES, Who};

use crate::support::{self, Harness, User, found_clinic, hire, now, start_server};

const ADMIN: &str = "aino@terapia.example";
const AUDITOR: &str = "auditor@terapia.example";
const T1: &str = "t1@terapia.example";
const T2: &str = "t2@terapia.example";
const T3: &str = "t3@terapia.example";
const FD: &str = "fd@terapia.example";
const FD_EAST: &str = "fd-east@terapia.example";
const NEWCOMER: &str = "uusi-admin@terapia.example";
const HELSINKI: &str = "Helsinki";
const JOENSUU: &str = "Joensuu";

support::on_both_backends!(
    setup = clinic;
    signing_up_with_only_an_invites_id_is_refused,
    a_swapped_binding_is_reported_and_stops_nothing_else,
    an_account_not_yet_certified_holds_no_role,
    front_desk_cannot_create_a_chart_with_case_keys_of_its_own,
    a_malformed_or_unsigned_manifest_is_refused,
    a_revocation_is_signed_and_a_hidden_one_is_caught,
    a_forged_revocation_is_refused_by_server_and_clients,
    an_invited_admin_holds_the_root_key_and_certifies_staff,
    a_member_added_from_outside_the_team_gets_the_history_only_when_confirmed,
    every_role_meets_exactly_the_policy_on_every_route,
);

/// The hook's rewrite of a request body: given the path and the JSON body, the body to send.
type Rewrite = Arc<dyn Fn(&str, Value) -> Value + Send + Sync>;

#[derive(Clone, Default)]
struct Hook(Arc<Mutex<Option<Rewrite>>>);

async fn rewrite_requests(
    axum::extract::State(hook): axum::extract::State<Hook>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let rewrite = hook.0.lock().unwrap().clone();
    let Some(rewrite) = rewrite else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 24).await.unwrap();
    let bytes = match serde_json::from_slice::<Value>(&bytes) {
        Ok(json) => serde_json::to_vec(&rewrite(parts.uri.path(), json)).unwrap(),
        Err(_) => bytes.to_vec(),
    };
    let mut parts = parts;
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

/// A logged-in portal patient.
struct Patient {
    api: Api,
    path: String,
}

struct Clinic {
    url: String,
    /// The attacker's hands on the data.
    db: support::Db,
    hook: Hook,
    admin: User,
    auditor: User,
    t1: User,
    /// Removed from chart A's care team after writing in it.
    t2: User,
    /// In chart B's care team only.
    t3: User,
    fd: User,
    fd_east: User,
    /// Signed up with an admin's invite; nobody certified the account.
    newcomer: User,
    helsinki: BranchId,
    /// Care team t1 (t2 removed); one note; patient A on the portal.
    chart_a: ChartId,
    note_a: ObjectId,
    patient_a: Patient,
    patient_b: Patient,
}

/// A patient of `chart` invited by `clinician`, signed up and confirmed, logged in.
async fn portal_patient(url: &str, clinician: &User, chart: ChartId) -> Patient {
    let code = {
        let s = clinician.session().await.unwrap();
        invite_patient(&s, chart, DEFAULT_INVITE_S)
            .await
            .unwrap()
            .code
    };
    let account = support::sign_up(url, &code, None).await;
    {
        let s = clinician.session().await.unwrap();
        assert_eq!(complete_invites(&s).await.unwrap().len(), 1);
    }
    let mut api = Api::new(url).unwrap();
    let login: &'static str = Box::leak(account.login.into_boxed_str());
    let me = vaiti_client::account::login(
        &mut api,
        clinician.me.clinic,
        login,
        &account.secret_key,
        support::PASSWORD,
    )
    .await
    .unwrap();
    Patient {
        api,
        path: me.clinic_path(),
    }
}

async fn clinic(h: Harness) -> Clinic {
    let store = h.store("review").await;
    let db = store.db.clone();
    let hook = Hook::default();
    let layer_hook = hook.clone();
    let url = start_server(store.store, |state| {
        vaiti_server::router(state).layer(axum::middleware::from_fn_with_state(
            layer_hook,
            rewrite_requests,
        ))
    })
    .await;
    let (admin, helsinki) = found_clinic(&url, ADMIN, 3, HELSINKI).await;
    vaiti_client::admin::create_branch(&admin.api, &admin.me, JOENSUU, now())
        .await
        .unwrap();
    let [auditor, t1, t2, t3, fd] = hire(
        &admin,
        &url,
        HELSINKI,
        [
            (AUDITOR, Role::Auditor),
            (T1, Role::Therapist),
            (T2, Role::Therapist),
            (T3, Role::Therapist),
            (FD, Role::Frontdesk),
        ],
    )
    .await;
    let [fd_east] = hire(&admin, &url, JOENSUU, [(FD_EAST, Role::Frontdesk)]).await;
    let newcomer_code = {
        let s = admin.session().await.unwrap();
        invite_staff(
            &s,
            NEWCOMER,
            &[Role::Admin],
            &[HELSINKI.to_string()],
            DEFAULT_INVITE_S,
        )
        .await
        .unwrap()
        .code
    };
    let newcomer_key = support::sign_up(&url, &newcomer_code, Some(NEWCOMER))
        .await
        .secret_key;
    let newcomer = User::log_in(&url, admin.me.clinic, NEWCOMER, newcomer_key).await;

    let (chart_a, chart_b) = {
        let s = fd.session().await.unwrap();
        let patient = |name: &str| PatientDetails {
            name: name.to_string(),
            ..PatientDetails::default()
        };
        (
            add_patient(
                &s,
                HELSINKI,
                patient("Maija Meikäläinen"),
                &[T1.to_string(), T2.to_string()],
            )
            .await
            .unwrap(),
            add_patient(&s, HELSINKI, patient("Matti Virtanen"), &[T3.to_string()])
                .await
                .unwrap(),
        )
    };
    let note_a = {
        let s = t1.session().await.unwrap();
        let note = add_note(&s, chart_a, Tier::Shared, "Istunto 1", "Uni parantunut.")
            .await
            .unwrap();
        care_team_remove(&s, chart_a, T2).await.unwrap();
        note
    };
    let patient_a = portal_patient(&url, &t1, chart_a).await;
    let patient_b = portal_patient(&url, &t3, chart_b).await;
    Clinic {
        url,
        db,
        hook,
        admin,
        auditor,
        t1,
        t2,
        t3,
        fd,
        fd_east,
        newcomer,
        helsinki,
        chart_a,
        note_a,
        patient_a,
        patient_b,
    }
}

fn api_error<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (u16, String) {
    match result {
        Err(ClientError::Api { status, code, .. }) => (status, code),
        other => panic!("expected an API error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Finding 2: sign-up checks the binding signature.
// ---------------------------------------------------------------------------------------------

/// Someone who knows an open invite's id — it is the object of a public log leaf, and in every
/// copy of the database — but not its secret signs up with keys of their own: everything in the
/// request fits the invite except that the binding is not signed with the invite's key. The
/// server refuses it, the invite stays open, and the real invitee then joins.
async fn signing_up_with_only_an_invites_id_is_refused(c: Clinic) {
    const INVITED: &str = "t4@terapia.example";
    let code: InviteCode = {
        let s = c.admin.session().await.unwrap();
        invite_staff(
            &s,
            INVITED,
            &[Role::Therapist],
            &[HELSINKI.to_string()],
            DEFAULT_INVITE_S,
        )
        .await
        .unwrap()
        .code
    };
    let attacker = SigningKey::generate().unwrap();
    let attacker = Arc::new(Mutex::new(attacker));
    *c.hook.0.lock().unwrap() = Some(Arc::new(move |path: &str, mut body: Value| {
        if path.ends_with("/signup") {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let binding = b64.decode(body["binding"].as_str().unwrap()).unwrap();
            let signature = attacker
                .lock()
                .unwrap()
                .sign(SignatureDomain::InviteBinding, &binding);
            body["binding_signature"] = json!(b64.encode(signature.to_bytes()));
        }
        body
    }));
    let taken = vaiti_client::invite::signup(
        &Api::new(&c.url).unwrap(),
        &vaiti_client::invite::NewMember {
            code: &code,
            email: Some(INVITED),
            display_name: None,
            password: support::PASSWORD,
            now: now(),
        },
    )
    .await;
    assert_eq!(
        api_error(taken).0,
        400,
        "a binding not signed with the invite's key"
    );
    *c.hook.0.lock().unwrap() = None;

    // Nothing was taken: the invite is still open, and the invitee joins.
    let key = support::sign_up(&c.url, &code, Some(INVITED))
        .await
        .secret_key;
    {
        // (The admin's sync also certifies the fixture's newcomer, who waited for it.)
        let s = c.admin.session().await.unwrap();
        let joined = complete_invites(&s).await.unwrap();
        assert!(joined.iter().any(|j| j.login == INVITED), "{joined:?}");
    }
    let t4 = User::log_in(&c.url, c.admin.me.clinic, INVITED, key).await;
    assert!(t4.session().await.is_ok());
}

/// The server (or a thief with write access to its database) swaps the stored binding of one
/// bound staff invite for one the invite's key never signed. The admin's next command does not
/// fail: the other sign-up is certified, the swapped one is named as refused (nothing certified,
/// nothing wrapped), and the admin revokes it, account and all; after that, every command runs
/// clean.
async fn a_swapped_binding_is_reported_and_stops_nothing_else(c: Clinic) {
    const SWAPPED: &str = "t5@terapia.example";
    const GENUINE: &str = "t6@terapia.example";
    let codes: Vec<InviteCode> = {
        let s = c.admin.session().await.unwrap();
        let mut codes = Vec::new();
        for email in [SWAPPED, GENUINE] {
            codes.push(
                invite_staff(
                    &s,
                    email,
                    &[Role::Therapist],
                    &[HELSINKI.to_string()],
                    DEFAULT_INVITE_S,
                )
                .await
                .unwrap()
                .code,
            );
        }
        codes
    };
    support::sign_up(&c.url, &codes[0], Some(SWAPPED)).await;
    let genuine_key = support::sign_up(&c.url, &codes[1], Some(GENUINE))
        .await
        .secret_key;
    let swapped = codes[0].invite_id();
    let stored: Vec<u8> =
        c.db.query("SELECT binding FROM invites WHERE invite_id = $1")
            .bind(swapped.as_bytes().to_vec())
            .fetch_scalar()
            .await;
    let mut forged = stored.clone();
    forged[10] ^= 0x01; // inside the signature: the binding no longer verifies
    let done =
        c.db.query("UPDATE invites SET binding = $1 WHERE invite_id = $2")
            .bind(forged)
            .bind(swapped.as_bytes().to_vec())
            .execute()
            .await;
    assert_eq!(done, 1);

    let s = c.admin.session().await.unwrap();
    let joins = vaiti_client::invite::complete_invites_reporting(&s)
        .await
        .unwrap();
    // The genuine sign-up is certified (and the fixture's newcomer, who waited for this sync).
    let completed: Vec<&str> = joins.completed.iter().map(|j| j.login.as_str()).collect();
    assert_eq!(completed.len(), 2, "{completed:?}");
    assert!(completed.contains(&GENUINE) && completed.contains(&NEWCOMER));
    assert_eq!(joins.refused.len(), 1);
    assert_eq!(joins.refused[0].invite, swapped);
    vaiti_client::invite::revoke_invite(&s, swapped, true)
        .await
        .unwrap();
    drop(s);
    let s = c.admin.session().await.unwrap();
    let joins = vaiti_client::invite::complete_invites_reporting(&s)
        .await
        .unwrap();
    assert!(joins.completed.is_empty() && joins.refused.is_empty());
    let t6 = User::log_in(&c.url, c.admin.me.clinic, GENUINE, genuine_key).await;
    assert!(t6.session().await.is_ok());
}

// ---------------------------------------------------------------------------------------------
// Finding 3: no role before a certificate.
// ---------------------------------------------------------------------------------------------

/// The newcomer signed up with an admin's invite, and nobody has certified them yet. They may
/// finish their own sign-up (their account, the directory, the log's heads) and nothing else:
/// every route that needs a role refuses them, until the admin's client certifies the account.
async fn an_account_not_yet_certified_holds_no_role(c: Clinic) {
    let n = &c.newcomer;
    assert!(
        n.session_works().await,
        "they may log in and read their account"
    );
    assert!(
        n.session().await.is_ok(),
        "and open a session on the directory"
    );
    let forbidden =
        |r: Result<Value, ClientError>| assert_eq!(api_error(r), (403, "forbidden".into()));
    forbidden(n.api.get(&n.path("/alerts")).await);
    forbidden(n.api.get(&n.path("/log/leaves?start=0&end=1")).await);
    forbidden(n.api.get(&n.path("/reports")).await);
    forbidden(n.api.get(&n.path("/invites")).await);
    forbidden(n.api.get(&n.path("/charts")).await);
    forbidden(
        n.api
            .post(&n.path("/decoys"), &json!({"chart": c.chart_a}), &[])
            .await,
    );
    forbidden(n.api.post(&n.path("/branches"), &json!({}), &[]).await);
    forbidden(n.api.post(&n.path("/manifest"), &json!({}), &[]).await);
    forbidden(n.api.post(&n.path("/certificates"), &json!({}), &[]).await);
    let chart = format!("/charts/{}/release", c.chart_a);
    assert_eq!(
        api_error(
            n.api
                .post::<_, Value>(&n.path(&chart), &json!({}), &[])
                .await
        )
        .0,
        404,
        "no chart exists for them"
    );

    // Once certified, the roles count.
    {
        let s = c.admin.session().await.unwrap();
        assert_eq!(complete_invites(&s).await.unwrap().len(), 1);
    }
    let alerts: Result<Value, ClientError> = n.api.get(&n.path("/alerts")).await;
    assert!(alerts.is_ok(), "{alerts:?}");
}

// ---------------------------------------------------------------------------------------------
// Finding 1, on the server: case keys only from the care team.
// ---------------------------------------------------------------------------------------------

/// Front desk creates a chart whose care team is t1, carrying a case-key wrap "to t1" of their
/// own making. The server refuses it (the clients refuse such a wrap too: see
/// `malicious_server::front_desk_cannot_plant_case_keys_by_adding_a_clinician`); the same
/// chart without the case-key wrap is accepted, so the wrap is what was refused.
async fn front_desk_cannot_create_a_chart_with_case_keys_of_its_own(c: Clinic) {
    use vaiti_core::api::{CreateChart, NewChartState, NewRecord, NewWrap};
    use vaiti_core::{KeyId, Recipient, Sealed, WrapScope};
    let t1 = c.t1.id();
    let create = |with_case_key: bool| {
        let chart = ChartId::generate().unwrap();
        let state = vaiti_core::signed::ChartStateV1 {
            v: 1,
            clinic: c.admin.me.account.clinic,
            chart,
            seq: 1,
            prev: "0".repeat(64),
            branch: c.helsinki,
            care_team: vec![t1],
            patient: None,
            epoch: 1,
            author: c.fd.id(),
            created_at: now(),
        };
        let record = |kind: u8| NewRecord {
            object: ObjectId::generate().unwrap(),
            version: 1,
            kind,
            tier: 0,
            epoch: 1,
            author_key: KeyId::from_bytes([1; 16]),
            created_at: now(),
            prev_version_hash: Sealed(vec![0; 32]),
            chart_state_hash: Sealed(vec![1; 32]),
            wrapped_key: Sealed(vec![2; 100]),
            envelope: Sealed(vec![3; 100]),
            signature: Sealed(vec![4; 65]),
        };
        let wrap = |scope: WrapScope, recipient: Recipient| NewWrap {
            scope,
            recipient,
            recipient_key: KeyId::from_bytes([5; 16]),
            wrap: Sealed(vec![6; 1200]),
            signature: Sealed(vec![7; 65]),
        };
        let mut wraps = vec![wrap(WrapScope::Identity { chart }, Recipient::Escrow)];
        if with_case_key {
            wraps.push(wrap(
                WrapScope::Case {
                    chart,
                    tier: vaiti_core::tier::TEAM,
                    epoch: 1,
                },
                Recipient::User { user: t1 },
            ));
        }
        CreateChart {
            chart,
            branch: c.helsinki,
            state: NewChartState {
                seq: 1,
                body: Sealed(serde_json::to_vec(&state).unwrap()),
                signature: Sealed(vec![8; 65]),
                hash: Sealed(vec![9; 32]),
            },
            identity: record(vaiti_core::record_kind::IDENTITY_RECORD),
            search_card: record(vaiti_core::record_kind::SEARCH_CARD),
            directory_epoch: 1,
            directory_wrap: Sealed(vec![10; 100]),
            wraps,
        }
    };
    let fd = &c.fd;
    let planted = fd
        .api
        .post_no_content(&fd.path("/charts"), &create(true))
        .await;
    assert_eq!(api_error(planted), (403, "forbidden".into()));
    fd.api
        .post_no_content(&fd.path("/charts"), &create(false))
        .await
        .unwrap();
}

/// Found by the schema-conformance run: an admin session could store any bytes as the next
/// manifest, after which every client's next command failed. The server now stores only the
/// next version of this clinic's manifest, with the same root key, signed by that root.
async fn a_malformed_or_unsigned_manifest_is_refused(c: Clinic) {
    use vaiti_core::Sealed;
    use vaiti_core::api::UpdateManifest;
    let a = &c.admin;
    let (version, root_key) = {
        let s = a.session().await.unwrap();
        (s.manifest.manifest_version, s.manifest.root_key.clone())
    };
    let unsigned = serde_json::to_vec(&json!({
        "v": 1,
        "clinic": a.me.account.clinic,
        "manifest_version": version + 1,
        "root_key": root_key,
    }))
    .unwrap();
    for manifest in [b"not a manifest".to_vec(), unsigned] {
        let refused = a
            .api
            .post_no_content(
                &a.path("/manifest"),
                &UpdateManifest {
                    expected_manifest_version: version,
                    manifest: Sealed(manifest),
                    manifest_signature: Sealed(vec![1; 65]),
                },
            )
            .await;
        assert_eq!(api_error(refused), (400, "bad_request".into()));
    }
    // Nothing was stored: every command still works.
    assert!(a.session().await.is_ok());
    assert!(c.t1.session().await.is_ok());
}

// ---------------------------------------------------------------------------------------------
// The insider matrix.
// ---------------------------------------------------------------------------------------------

/// One caller of the matrix: what the policy needs to know about them, and how they call.
struct Actor<'a> {
    name: &'static str,
    /// `None`: no session.
    api: Option<&'a Api>,
    certified: bool,
    staff: bool,
    roles: &'a [Role],
    /// Their access to chart A, as the policy defines it.
    chart_a: Option<&'static str>,
}

impl Actor<'_> {
    /// Whether the policy table lets this actor through a gate (for chart gates: on chart A).
    fn passes(&self, who: Who) -> bool {
        let has = |r: Role| self.certified && self.staff && self.roles.contains(&r);
        match who {
            Who::Anyone | Who::Operator | Who::Witness => true,
            Who::Session => self.api.is_some(),
            Who::Certified => self.certified,
            Who::Staff => self.certified && self.staff,
            Who::Admin => has(Role::Admin),
            Who::AdminOrAuditor => has(Role::Admin) || has(Role::Auditor),
            Who::ChartReader => self.chart_a.is_some(),
            Who::ChartStaff => matches!(self.chart_a, Some("care team" | "directory")),
            Who::CareTeam => self.chart_a == Some("care team"),
            Who::ChartPatient => self.chart_a == Some("patient"),
            Who::ChartLogReader => {
                self.chart_a == Some("patient") || has(Role::Admin) || has(Role::Auditor)
            }
        }
    }
}

/// Every role against every route of the policy table: a caller the table refuses is turned
/// away by the gate (401 without a session; 404 on a chart route; 403 otherwise), before the
/// request is even read; a caller it admits never is. The requests carry empty bodies, so an
/// admitted caller's answer is the handler's own (a 400 for the body, or a result).
async fn every_role_meets_exactly_the_policy_on_every_route(c: Clinic) {
    let staff = |name, user: &'static User, roles: &'static [Role], chart_a| Actor {
        name,
        api: Some(&user.api),
        certified: true,
        staff: true,
        roles,
        chart_a,
    };
    // `User`s live as long as the case; the matrix borrows them.
    let c: &'static Clinic = Box::leak(Box::new(c));
    let actors = [
        staff("admin", &c.admin, &[Role::Admin], Some("directory")),
        staff("auditor", &c.auditor, &[Role::Auditor], None),
        staff(
            "therapist in the care team",
            &c.t1,
            &[Role::Therapist],
            Some("care team"),
        ),
        staff("removed therapist", &c.t2, &[Role::Therapist], None),
        staff(
            "therapist outside the care team",
            &c.t3,
            &[Role::Therapist],
            None,
        ),
        staff(
            "front desk of the branch",
            &c.fd,
            &[Role::Frontdesk],
            Some("directory"),
        ),
        staff(
            "front desk of another branch",
            &c.fd_east,
            &[Role::Frontdesk],
            None,
        ),
        Actor {
            name: "admin not yet certified",
            api: Some(&c.newcomer.api),
            certified: false,
            staff: true,
            roles: &[Role::Admin],
            chart_a: None,
        },
        Actor {
            name: "patient of the chart",
            api: Some(&c.patient_a.api),
            certified: true,
            staff: false,
            roles: &[],
            chart_a: Some("patient"),
        },
        Actor {
            name: "patient of another chart",
            api: Some(&c.patient_b.api),
            certified: true,
            staff: false,
            roles: &[],
            chart_a: None,
        },
        Actor {
            name: "unauthenticated caller",
            api: None,
            certified: false,
            staff: false,
            roles: &[],
            chart_a: None,
        },
    ];
    let clinic_path = c.admin.me.clinic_path();
    assert_eq!(c.patient_a.path, clinic_path);
    assert_eq!(c.patient_b.path, clinic_path);
    let params: HashMap<&str, String> = HashMap::from([
        ("{clinic}", c.admin.me.account.clinic.to_string()),
        ("{chart}", c.chart_a.to_string()),
        ("{object}", c.note_a.to_string()),
        (
            "{invite}",
            vaiti_core::InviteId::generate().unwrap().to_string(),
        ),
        (
            "{alert}",
            vaiti_core::AlertId::generate().unwrap().to_string(),
        ),
    ]);
    let http = reqwest::Client::new();
    let mut checked = 0;
    let mut failures = Vec::new();
    // Logging out ends the caller's session: last.
    let mut routes: Vec<_> = ROUTES.iter().collect();
    routes.sort_by_key(|r| r.path.ends_with("/logout"));
    for route in routes {
        if matches!(route.who, Who::Anyone | Who::Operator | Who::Witness) {
            continue;
        }
        let mut path = route.path.to_string();
        for (k, v) in &params {
            path = path.replace(k, v);
        }
        for actor in &actors {
            let mut req = match route.method {
                "get" => http.get(format!("{}{path}", c.url)),
                "post" => http.post(format!("{}{path}", c.url)).json(&json!({})),
                other => panic!("unexpected method {other}"),
            };
            if let Some(token) = actor.api.and_then(Api::token) {
                req = req.bearer_auth(token);
            }
            let response = req.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let refusal = match route.who {
                _ if actor.api.is_none() => 401,
                Who::ChartReader
                | Who::ChartStaff
                | Who::CareTeam
                | Who::ChartPatient
                | Who::ChartLogReader => 404,
                _ => 403,
            };
            let refused =
                status == refusal && (refusal != 403 || body["error"]["code"] == "forbidden");
            let expected = actor.passes(route.who);
            if expected == refused {
                failures.push(format!(
                    "{} {} as {}: policy {:?} says {}, got {status} {body}",
                    route.method.to_uppercase(),
                    route.path,
                    actor.name,
                    route.who,
                    if expected { "admit" } else { "refuse" },
                ));
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 300, "only {checked} checks");
}

// ---------------------------------------------------------------------------------------------
// Finding 4: revocation is a signed statement clients verify and remember.
// ---------------------------------------------------------------------------------------------

/// The admin's invite of `email`, as the admin's client lists it.
async fn staff_invite_of(admin: &User, email: &str) -> vaiti_core::InviteId {
    let s = admin.session().await.unwrap();
    vaiti_client::invite::list_invites(&s)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.email.as_deref() == Some(email))
        .unwrap()
        .invite
}

/// What an attacker with the database does to undo a revocation: the certificate live again,
/// the statement gone, the account active.
async fn hide_revocation(db: &support::Db, user: &User) {
    let id = user.id().as_bytes().to_vec();
    db.query(
        "UPDATE certificates SET revoked_at = NULL, revocation = NULL, \
         revocation_signature = NULL WHERE user_id = $1",
    )
    .bind(id.clone())
    .execute()
    .await;
    db.query("UPDATE accounts SET status = 'active' WHERE user_id = $1")
        .bind(id)
        .execute()
        .await;
}

/// The admin revokes t3. Every client verifies the signed revocation (who, when) and no longer
/// counts t3 as a member. Then the server hides it — the certificate live again, the statement
/// gone — to get keys wrapped to t3 and t3's certificate renewed: a device that saw the
/// revocation refuses the directory (and so wraps and renews nothing), while the log leaf still
/// carries the revoker's signature.
async fn a_revocation_is_signed_and_a_hidden_one_is_caught(c: Clinic) {
    let invite = staff_invite_of(&c.admin, T3).await;
    {
        let s = c.admin.session().await.unwrap();
        vaiti_client::invite::revoke_invite(&s, invite, true)
            .await
            .unwrap();
    }
    let admin_seen = {
        let s = c.admin.session().await.unwrap();
        let t3 = s.known.get(&c.t3.id()).unwrap();
        let revoked = t3.revoked.expect("the revocation is signed and verified");
        assert_eq!(revoked.by, c.admin.id(), "the admin signed it");
        assert!(t3.valid_until <= revoked.at);
        assert!(!s.members.contains_key(&c.t3.id()), "t3 is no member now");
        assert!(s.seen().unwrap().revoked.contains_key(&c.t3.id()));
        s.seen().unwrap()
    };
    let t1_seen = c.t1.session().await.unwrap().seen().unwrap();

    // The log's newest leaf is the revocation, carrying the admin's signature over the statement.
    let leaf: Vec<u8> =
        c.db.query("SELECT leaf FROM log_leaves WHERE clinic_id = $1 ORDER BY idx DESC LIMIT 1")
            .bind(c.admin.me.account.clinic.as_bytes().to_vec())
            .fetch_scalar()
            .await;
    let signature: Vec<u8> =
        c.db.query("SELECT revocation_signature FROM certificates WHERE user_id = $1")
            .bind(c.t3.id().as_bytes().to_vec())
            .fetch_scalar()
            .await;
    assert!(
        leaf.windows(signature.len())
            .any(|w| w == signature.as_slice()),
        "the leaf holds the revoker's signature"
    );

    hide_revocation(&c.db, &c.t3).await;
    // A device that never saw the revocation cannot tell (the log leaf stays as evidence) ...
    let fresh = c.admin.session().await.unwrap();
    assert!(fresh.members.contains_key(&c.t3.id()));
    drop(fresh);
    // ... but every device that saw it refuses the directory: nothing is wrapped to t3 and no
    // certificate of t3's renewed.
    for (user, seen) in [(&c.admin, admin_seen), (&c.t1, t1_seen)] {
        let opened =
            vaiti_client::session::Session::open_with(&user.api, &user.me, now(), seen).await;
        match opened {
            Err(ClientError::Protocol(m)) => assert!(m.contains("hides a revocation"), "{m}"),
            other => panic!("a hidden revocation went unnoticed: {other:?}"),
        }
    }
}

/// A revocation the server stores must be the caller's own signed statement of the invite's
/// account; the server refuses anything else, and clients refuse a revocation in the directory
/// signed by someone who may not revoke that account (front desk revoking a therapist) or
/// naming another account.
async fn a_forged_revocation_is_refused_by_server_and_clients(c: Clinic) {
    let clinic = c.admin.me.account.clinic;
    let statement = |user: vaiti_core::UserId, by: &User, at: i64| {
        let body = serde_json::to_vec(&vaiti_core::signed::RevocationV1 {
            v: 1,
            clinic,
            user,
            revoked_by: by.id(),
            revoked_at: at,
        })
        .unwrap();
        let signature = by.me.signing_key.sign(SignatureDomain::Revocation, &body);
        vaiti_core::Revocation {
            body: vaiti_core::Sealed(body),
            signature: vaiti_core::Sealed(signature.to_bytes().to_vec()),
        }
    };
    let invite = staff_invite_of(&c.admin, T3).await;
    let revoke = |revocation: Option<vaiti_core::Revocation>| {
        let api = &c.admin.api;
        let path = c.admin.path(&format!("/invites/{invite}/revoke"));
        async move {
            api.post_no_content(
                &path,
                &vaiti_core::api::RevokeInvite {
                    revoke_account: true,
                    revocation,
                },
            )
            .await
        }
    };
    let bad = |r: Result<(), ClientError>| assert_eq!(api_error(r), (400, "bad_request".into()));
    bad(revoke(None).await);
    bad(revoke(Some(statement(c.t1.id(), &c.admin, now()))).await);
    bad(revoke(Some(statement(c.t3.id(), &c.fd, now()))).await);
    bad(revoke(Some(statement(c.t3.id(), &c.admin, now() - 3600))).await);
    let mut unsigned = statement(c.t3.id(), &c.admin, now());
    unsigned.signature.0[10] ^= 1;
    bad(revoke(Some(unsigned)).await);
    assert!(
        c.t3.session_works().await,
        "nothing was revoked by the refused requests"
    );

    // The server plants a revocation of t1 "by" front desk: every client refuses the directory.
    let plant = |r: vaiti_core::Revocation, user: &User| {
        let (body, signature, id) = (r.body.0, r.signature.0, user.id().as_bytes().to_vec());
        let db = &c.db;
        async move {
            db.query(
                "UPDATE certificates SET revoked_at = $1, revocation = $2, \
                 revocation_signature = $3 WHERE user_id = $4",
            )
            .bind(now())
            .bind(body)
            .bind(signature)
            .bind(id)
            .execute()
            .await
        }
    };
    plant(statement(c.t1.id(), &c.fd, now()), &c.t1).await;
    for user in [&c.admin, &c.t3, &c.fd] {
        match user.session().await {
            Err(ClientError::Protocol(m)) => assert!(m.contains("revocation"), "{m}"),
            other => panic!("a front-desk revocation of a therapist was accepted: {other:?}"),
        }
    }
    // An admin's statement about t2 shown as t1's: refused too.
    plant(statement(c.t2.id(), &c.admin, now()), &c.t1).await;
    assert!(matches!(
        c.t3.session().await,
        Err(ClientError::Protocol(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Found while fixing finding 4: an invited admin never received the root key.
// ---------------------------------------------------------------------------------------------

/// The clinic's creator certifies the invited admin (the newcomer); the newcomer then invites a
/// therapist, who signs up, and the newcomer's own sync completes the join — which needs the
/// root key. Before, only the creator held it: the newcomer's every command failed once their
/// invitee signed up. Front desk, whose join carries no root key, gets none; and the server
/// refuses a root-key wrap in a join that is not an admin's.
async fn an_invited_admin_holds_the_root_key_and_certifies_staff(c: Clinic) {
    {
        let s = c.admin.session().await.unwrap();
        assert_eq!(complete_invites(&s).await.unwrap().len(), 1);
    }
    async fn holds_root(user: &User) -> bool {
        let wraps: vaiti_core::api::MyWraps = user.api.get(&user.path("/wraps")).await.unwrap();
        wraps
            .wraps
            .iter()
            .any(|w| w.scope == vaiti_core::WrapScope::Root)
    }
    assert!(
        holds_root(&c.newcomer).await,
        "the invited admin holds the root key"
    );
    assert!(!holds_root(&c.fd).await, "front desk does not");
    assert!(!holds_root(&c.t1).await, "nor a therapist");

    const INVITED: &str = "t5@terapia.example";
    let code = {
        let s = c.newcomer.session().await.unwrap();
        invite_staff(
            &s,
            INVITED,
            &[Role::Therapist],
            &[HELSINKI.to_string()],
            DEFAULT_INVITE_S,
        )
        .await
        .unwrap()
        .code
    };
    let account = support::sign_up(&c.url, &code, Some(INVITED)).await;
    let (key, invitee) = (
        account.secret_key,
        vaiti_core::UserId::from_bytes(account.user.to_bytes()),
    );
    // A root-key wrap slipped into a therapist's join is refused, and nothing is certified.
    let root_wrap: vaiti_core::api::MyWraps = c
        .newcomer
        .api
        .get(&c.newcomer.path("/wraps"))
        .await
        .unwrap();
    let root_wrap = root_wrap
        .wraps
        .into_iter()
        .find(|w| w.scope == vaiti_core::WrapScope::Root)
        .unwrap();
    let planted = serde_json::to_value(vaiti_core::api::NewWrap {
        scope: vaiti_core::WrapScope::Root,
        recipient: vaiti_core::Recipient::User { user: invitee },
        recipient_key: root_wrap.recipient_key,
        wrap: root_wrap.wrap,
        signature: root_wrap.signature,
    })
    .unwrap();
    *c.hook.0.lock().unwrap() = Some(Arc::new(move |path: &str, mut body: Value| {
        if path.ends_with("/complete") {
            body["wraps"].as_array_mut().unwrap().push(planted.clone());
        }
        body
    }));
    {
        let s = c.newcomer.session().await.unwrap();
        let refused = vaiti_client::invite::complete_invites_reporting(&s).await;
        assert_eq!(api_error(refused), (400, "bad_request".into()));
    }
    *c.hook.0.lock().unwrap() = None;
    {
        let s = c.newcomer.session().await.unwrap();
        let joins = vaiti_client::invite::complete_invites_reporting(&s)
            .await
            .unwrap();
        assert_eq!(joins.completed.len(), 1, "refused: {:?}", joins.refused);
    }
    let t5 = User::log_in(&c.url, c.admin.me.clinic, INVITED, key).await;
    let s = t5.session().await.unwrap();
    assert!(s.myself().is_ok(), "the therapist is certified");
    drop(s);
    // The invited admin can also do the root's other work: a branch.
    vaiti_client::admin::create_branch(&c.newcomer.api, &c.newcomer.me, "Turku", now())
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Finding 5: no silent release of older epochs.
// ---------------------------------------------------------------------------------------------

/// The case-key epochs of `chart` that `user` holds a wrap of.
async fn epochs_held(user: &User, chart: ChartId) -> std::collections::BTreeSet<u32> {
    let s = user.session().await.unwrap();
    s.my_wraps(Some(chart))
        .await
        .unwrap()
        .iter()
        .filter_map(|w| match w.scope {
            vaiti_core::WrapScope::Case { epoch, .. } => Some(epoch),
            _ => None,
        })
        .collect()
}

/// Front desk adds t3 to chart A, and re-adds t2, whom t1 removed. When t1 next opens the chart
/// their client starts a new key epoch instead of handing over the old ones: t3 and t2 get the
/// new epoch's keys, never the epoch made to exclude t2, and none of the earlier notes until t1
/// confirms — shown who added them and when — with `share_history`.
async fn a_member_added_from_outside_the_team_gets_the_history_only_when_confirmed(c: Clinic) {
    use vaiti_client::chart::{care_team_add, list_notes, share_history, waiting_for_history};
    let before = epochs_held(&c.t1, c.chart_a).await;
    let t2_before = epochs_held(&c.t2, c.chart_a).await;
    let current = *before.iter().max().unwrap();
    assert!(
        !t2_before.contains(&current),
        "t2 was removed: the current epoch excludes them"
    );
    // A note written after t2's removal, under the epoch that excludes them.
    let after_removal = {
        let s = c.t1.session().await.unwrap();
        add_note(&s, c.chart_a, Tier::Team, "Istunto 2", "Ei t2:lle.")
            .await
            .unwrap()
    };
    // An admin (who did not create the chart) adds t3; front desk re-adds t2. Each wraps the
    // identity key to the member they added, which the member accepts from them.
    {
        let s = c.admin.session().await.unwrap();
        care_team_add(&s, c.chart_a, T3).await.unwrap();
        let s = c.fd.session().await.unwrap();
        care_team_add(&s, c.chart_a, T2).await.unwrap();
    }
    // t1 opens the chart: a new epoch begins, for the whole team.
    let waiting = {
        let s = c.t1.session().await.unwrap();
        assert_eq!(list_notes(&s, c.chart_a).await.unwrap().len(), 2);
        waiting_for_history(&s, c.chart_a).await.unwrap()
    };
    let next = current + 1;
    assert_eq!(
        epochs_held(&c.t1, c.chart_a).await.iter().max(),
        Some(&next)
    );
    assert_eq!(
        epochs_held(&c.t3, c.chart_a).await,
        [next].into(),
        "t3 got only the epoch that began after front desk added them"
    );
    let t2_now = epochs_held(&c.t2, c.chart_a).await;
    assert!(
        !t2_now.contains(&current),
        "the epoch made to exclude t2 stays out of their reach: {t2_now:?}"
    );
    assert!(t2_now.contains(&next));
    let mut names: Vec<(String, String)> = waiting
        .iter()
        .map(|w| (w.member.clone(), w.added_by.clone()))
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{waiting:?}");
    assert!(
        names[0].0.contains(T2) && names[1].0.contains(T3),
        "{names:?}"
    );
    assert!(names[0].1.contains(FD), "{names:?}");
    assert!(names[1].1.contains(ADMIN), "{names:?}");
    // The admin's identity-key wrap opens t3's caseload: the chart is listed with its patient.
    {
        let s = c.t3.session().await.unwrap();
        let caseload = vaiti_client::chart::list_patients(&s, None).await.unwrap();
        assert!(
            caseload.iter().any(|p| p.chart == c.chart_a),
            "t3's caseload lists the chart they were added to: {caseload:?}"
        );
    }

    // Until confirmed, the earlier note does not open for them.
    for user in [&c.t3, &c.t2] {
        let s = user.session().await.unwrap();
        assert!(matches!(
            list_notes(&s, c.chart_a).await,
            Err(ClientError::Usage(_))
        ));
    }
    // t1 confirms for t3 only.
    {
        let s = c.t1.session().await.unwrap();
        let shared = share_history(&s, c.chart_a, T3).await.unwrap();
        assert!(shared.contains(&current));
        let left = waiting_for_history(&s, c.chart_a).await.unwrap();
        assert_eq!(left.len(), 1);
        assert!(left[0].member.contains(T2));
    }
    let s = c.t3.session().await.unwrap();
    let notes: Vec<ObjectId> = list_notes(&s, c.chart_a)
        .await
        .unwrap()
        .iter()
        .map(|n| n.id)
        .collect();
    assert!(
        notes.contains(&c.note_a) && notes.contains(&after_removal),
        "t3 reads the history once confirmed"
    );
    drop(s);
    let s = c.t2.session().await.unwrap();
    assert!(
        list_notes(&s, c.chart_a).await.is_err(),
        "t2 still cannot open the note written to exclude them"
    );
}
