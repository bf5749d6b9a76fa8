//! A malicious server, played by the test: the real server runs in-process, and between client
//! operations the test rewrites the store's rows (or answers a request itself) the way a server
//! takeover or a malicious operator could (threat model T2). Each test first shows the honest path
//! working, then tampers, then checks that the client refuses with a clear error — never a silently
//! wrong answer.
//!
//! Every attack runs on both stores, as `sqlite::<attack>` and `postgres::<attack>`: SQLite in a
//! temporary directory, PostgreSQL in a fresh schema of the database at `VAITI_TEST_DATABASE_URL`
//! (default: a local server, trust auth). Without PostgreSQL the `postgres::` tests fail; they
//! never skip. Every test builds its own clinic in its own store: an admin, a branch, three
//! therapists (t1 and t2 on the care team of two charts, t3 outside it), front desk, and a note
//! in each chart.
//!
//! What a client cannot detect on its own is said where it comes up: without a local record of
//! what it has already seen, a client cannot tell the newest version of something (a note, the
//! manifest, the chart state) from an older, genuinely signed one that the server serves instead.
//! Persisting "newest seen" and the access log (issue 4) close those gaps.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use vaiti_client::ClientError;
use vaiti_client::account::login;
use vaiti_client::api::Api;
use vaiti_client::chart::{
    PatientDetails, add_note, add_patient, amend_note, care_team_add, care_team_remove, list_notes,
};
use vaiti_client::directory::CertificateV1;
use vaiti_client::invite::{DEFAULT_INVITE_S, complete_invites};
use vaiti_client::session::Session;
use vaiti_core::api::{LoginChallenge, LoginStart};
use vaiti_core::signed::ChartStateV1;
use vaiti_core::{ChartId, ObjectId, Role, Sealed, UserId};
use vaiti_crypto::wrap::{PublicWrap, Scope, WrapTarget};
use vaiti_crypto::{
    CaseKey, ClinicId, DecryptionKey, DirectoryKey, Epoch, IdentityKey, RootKey, Signature,
    SignatureDomain, SigningKey, Tier, signed_structure_hash,
};

use crate::support::{
    self, Db, Harness, PASSWORD, TestStore, User, found_clinic, hire, now, start_server,
};

const ADMIN: &str = "aino@terapia.example";
const T1: &str = "t1@terapia.example";
const T2: &str = "t2@terapia.example";
const T3: &str = "t3@terapia.example";
const FD: &str = "fd@terapia.example";
const BRANCH: &str = "Helsinki";
const TEAM: i64 = vaiti_core::tier::TEAM as i64;

// ---------------------------------------------------------------------------------------------
// The harness (the shared part is in `support`): a real server over SQLite or PostgreSQL, the
// store's tables open for tampering, and a hook that lets a test answer `login/start` itself.
// ---------------------------------------------------------------------------------------------

// For each attack `async fn name(c: Clinic)`, the tests `sqlite::name` and `postgres::name`, each
// on a fresh clinic in a fresh store of that backend.
support::on_both_backends!(
    setup = clinic;
    a_note_moved_to_another_chart_does_not_open,
    a_note_ciphertext_copied_from_another_chart_does_not_open,
    an_older_version_replayed_as_the_newest_is_refused,
    withholding_the_newest_version_is_not_detected_without_a_local_cache,
    a_device_that_remembers_refuses_a_withheld_version_or_state,
    the_server_cannot_list_another_key_under_the_users_own_account,
    a_certificate_with_a_substituted_key_is_refused,
    a_root_signed_substitute_key_under_ones_own_name_is_noticed,
    a_manifest_with_a_substituted_escrow_key_is_refused,
    an_older_manifest_is_refused_after_a_newer_one_was_seen,
    a_directory_key_wrapped_by_an_uncertified_key_is_refused,
    a_directory_key_from_a_certified_insider_must_be_the_manifests,
    a_case_key_from_outside_the_care_team_is_refused,
    a_removed_clinician_cannot_hand_out_the_next_epochs_key,
    front_desk_cannot_plant_case_keys_by_adding_a_clinician,
    an_identity_key_from_outside_the_care_team_is_refused,
    one_users_certificate_presented_as_anothers_is_refused,
    a_care_team_member_added_by_editing_the_state_is_refused,
    a_chart_state_with_a_changed_hash_is_refused,
    a_care_team_change_signed_by_an_outsider_is_refused,
    front_desk_may_add_to_a_care_team_but_not_remove,
    a_hidden_removal_is_caught_by_the_notes_written_after_it,
    a_login_answer_under_another_opaque_suite_fails,
    a_forged_note_signature_is_refused,
    a_forged_wrap_signature_is_refused,
    a_note_naming_another_users_key_is_refused,
    a_release_without_its_logged_leaf_is_refused,
    a_patient_sees_exactly_the_accesses_to_their_chart,
    an_edited_leaf_is_caught_even_when_the_tree_agrees,
    reordered_leaves_are_caught,
    a_deleted_leaf_is_caught,
    an_edited_tree_node_is_caught,
    an_older_or_forked_checkpoint_fails_the_next_sync,
);

/// The malicious server's own answer to `POST /clinics/{c}/login/start`.
type LoginStartAnswer = Arc<dyn Fn(&LoginStart) -> LoginChallenge + Send + Sync>;

/// The malicious server's rewrite of a JSON answer: given the request path and the honest answer,
/// the answer to send instead.
type Rewrite = Arc<dyn Fn(&str, serde_json::Value) -> serde_json::Value + Send + Sync>;

#[derive(Clone, Default)]
struct Interceptor(
    Arc<Mutex<Option<LoginStartAnswer>>>,
    Arc<Mutex<Option<Rewrite>>>,
);

/// A layer in front of the real router: passes everything through, except `login/start` while a
/// test has set an answer for it.
async fn intercept(
    axum::extract::State(hook): axum::extract::State<Interceptor>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let answer = hook.0.lock().unwrap().clone();
    match answer {
        Some(answer) if req.uri().path().ends_with("/login/start") => {
            let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap();
            let start: LoginStart = serde_json::from_slice(&body).unwrap();
            axum::Json(answer(&start)).into_response()
        }
        _ => {
            let rewrite = hook.1.lock().unwrap().clone();
            let path = req.uri().path().to_string();
            let response = next.run(req).await;
            match rewrite {
                Some(rewrite)
                    if response.status() == axum::http::StatusCode::OK
                        && response
                            .headers()
                            .get(axum::http::header::CONTENT_TYPE)
                            .is_some_and(|v| v.as_bytes().starts_with(b"application/json")) =>
                {
                    let body = axum::body::to_bytes(response.into_body(), 1 << 24)
                        .await
                        .unwrap();
                    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    axum::Json(rewrite(&path, json)).into_response()
                }
                _ => response,
            }
        }
    }
}

struct Server {
    url: String,
    /// The attacker's hands on the data.
    db: Db,
    login_start: Interceptor,
}

/// The real server over a fresh store, behind the malicious server's hook.
async fn server(h: &Harness) -> Server {
    let TestStore { store, db, .. } = h.store("malicious").await;
    let login_start = Interceptor::default();
    let hook = login_start.clone();
    let url = start_server(store, |state| {
        vaiti_server::router(state).layer(axum::middleware::from_fn_with_state(hook, intercept))
    })
    .await;
    Server {
        url,
        db,
        login_start,
    }
}

/// The clinic every test starts from.
struct Clinic {
    server: Server,
    clinic: ClinicId,
    admin: User,
    t1: User,
    t2: User,
    /// A certified therapist outside both care teams.
    t3: User,
    fd: User,
    branch: vaiti_core::BranchId,
    /// Maija's chart: care team t1 and t2, one team-tier note by t1.
    chart_a: ChartId,
    note_a: ObjectId,
    /// Matti's chart: the same care team, one team-tier note by t1.
    chart_b: ChartId,
    note_b: ObjectId,
}

/// Sets up the clinic on a fresh server.
async fn clinic(h: Harness) -> Clinic {
    let server = server(&h).await;
    let url = server.url.clone();
    let (admin, branch) = found_clinic(&url, ADMIN, 3, BRANCH).await;
    let clinic = admin.me.clinic;
    let [t1, t2, t3, fd] = hire(
        &admin,
        &url,
        BRANCH,
        [
            (T1, Role::Therapist),
            (T2, Role::Therapist),
            (T3, Role::Therapist),
            (FD, Role::Frontdesk),
        ],
    )
    .await;

    // Front desk adds two patients with t1 and t2 as the care team; t1 writes a note in each.
    let team = [T1.to_string(), T2.to_string()];
    let (chart_a, chart_b) = {
        let s = fd.session().await.unwrap();
        let patient = |name: &str| PatientDetails {
            name: name.to_string(),
            ..PatientDetails::default()
        };
        (
            add_patient(&s, BRANCH, patient("Maija Meikäläinen"), &team)
                .await
                .unwrap(),
            add_patient(&s, BRANCH, patient("Matti Virtanen"), &team)
                .await
                .unwrap(),
        )
    };
    let (note_a, note_b) = {
        let s = t1.session().await.unwrap();
        (
            add_note(
                &s,
                chart_a,
                Tier::Team,
                "Istunto 1",
                "Maija: uni parantunut.",
            )
            .await
            .unwrap(),
            add_note(&s, chart_b, Tier::Team, "Istunto 1", "Matti: työuupumus.")
                .await
                .unwrap(),
        )
    };
    Clinic {
        server,
        clinic,
        admin,
        t1,
        t2,
        t3,
        fd,
        branch,
        chart_a,
        note_a,
        chart_b,
        note_b,
    }
}

impl Clinic {
    fn db(&self) -> &Db {
        &self.server.db
    }

    /// The texts of a chart's notes as `user` reads them (current version of each).
    async fn note_texts(&self, user: &User, chart: ChartId) -> Result<Vec<String>, ClientError> {
        let s = user.session().await?;
        Ok(list_notes(&s, chart)
            .await?
            .iter()
            .map(|n| n.current().unwrap().text.clone())
            .collect())
    }

    /// The stored hash of a chart's state entry `seq`.
    async fn state_hash(&self, chart: ChartId, seq: i64) -> Vec<u8> {
        self.db()
            .query("SELECT hash FROM chart_states WHERE chart_id = $1 AND seq = $2")
            .bind(chart.as_bytes().to_vec())
            .bind(seq)
            .fetch_scalar()
            .await
    }

    /// The stored body of a chart's state entry `seq`, parsed.
    async fn state(&self, chart: ChartId, seq: i64) -> ChartStateV1 {
        let body: Vec<u8> = self
            .db()
            .query("SELECT body FROM chart_states WHERE chart_id = $1 AND seq = $2")
            .bind(chart.as_bytes().to_vec())
            .bind(seq)
            .fetch_scalar()
            .await;
        serde_json::from_slice(&body).unwrap()
    }

    /// A record version's sealed columns: (wrapped_key, envelope, signature).
    async fn sealed_columns(&self, object: ObjectId, version: i64) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        self.db()
            .query(
                "SELECT wrapped_key, envelope, signature FROM record_versions
                 WHERE object_id = $1 AND version = $2",
            )
            .bind(object.as_bytes().to_vec())
            .bind(version)
            .fetch_one()
            .await
    }

    /// Overwrites a record version's sealed columns.
    async fn set_sealed_columns(
        &self,
        object: ObjectId,
        version: i64,
        (wrapped_key, envelope, signature): (Vec<u8>, Vec<u8>, Vec<u8>),
    ) {
        let done = self
            .db()
            .query(
                "UPDATE record_versions SET wrapped_key = $1, envelope = $2, signature = $3
                 WHERE object_id = $4 AND version = $5",
            )
            .bind(wrapped_key)
            .bind(envelope)
            .bind(signature)
            .bind(object.as_bytes().to_vec())
            .bind(version)
            .execute()
            .await;
        assert_eq!(done, 1);
    }

    /// Replaces the case-key wrap of (chart, team tier, epoch) addressed to `recipient` with
    /// `wrap`, made and signed by `wrapper`.
    async fn replace_case_wrap(
        &self,
        chart: ChartId,
        epoch: u32,
        recipient: &User,
        wrapper: &User,
        wrap: PublicWrap,
    ) {
        let done = self
            .db()
            .query(
                "UPDATE key_wraps SET wrap = $1, signature = $2, wrapped_by = $3
                 WHERE scope = 'case' AND chart_id = $4 AND tier = $5 AND epoch = $6
                     AND recipient_user = $7",
            )
            .bind(wrap.bytes)
            .bind(wrap.signature.to_bytes().to_vec())
            .bind(wrapper.id().as_bytes().to_vec())
            .bind(chart.as_bytes().to_vec())
            .bind(TEAM)
            .bind(i64::from(epoch))
            .bind(recipient.id().as_bytes().to_vec())
            .execute()
            .await;
        assert_eq!(done, 1);
    }
}

fn crypto_chart(chart: ChartId) -> vaiti_crypto::ChartId {
    vaiti_crypto::ChartId::from_bytes(*chart.as_bytes())
}

/// `bytes` with one bit flipped at `at`.
fn flipped(mut bytes: Vec<u8>, at: usize) -> Vec<u8> {
    bytes[at] ^= 0x01;
    bytes
}

/// Index of a byte inside the Ed25519 part of a stored signature (byte 0 is the suite).
const IN_SIGNATURE: usize = 10;

#[track_caller]
fn assert_protocol<T: Debug>(result: Result<T, ClientError>, says: &str) {
    match result {
        Err(ClientError::Protocol(message)) if message.contains(says) => {}
        other => panic!("expected a protocol error saying {says:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_crypto<T: Debug>(result: Result<T, ClientError>, expected: vaiti_crypto::Error) {
    match result {
        Err(ClientError::Crypto(e)) if e == expected => {}
        other => panic!("expected the cryptographic error {expected:?}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Notes moved or copied between charts.
// ---------------------------------------------------------------------------------------------

/// The server files chart A's note under chart B, fixing up everything in the row it can: the
/// chart id and the chart-state hash (now B's, so the state checks pass). The note's chart is
/// bound into its sealed and signed context, so it does not open as B's.
async fn a_note_moved_to_another_chart_does_not_open(c: Clinic) {
    assert_eq!(
        c.note_texts(&c.t1, c.chart_b).await.unwrap(),
        ["Matti: työuupumus."]
    );

    let b_state = c.state_hash(c.chart_b, 1).await;
    c.db()
        .query(
            "UPDATE record_versions SET chart_id = $1, chart_state_hash = $2 WHERE object_id = $3",
        )
        .bind(c.chart_b.as_bytes().to_vec())
        .bind(b_state)
        .bind(c.note_a.as_bytes().to_vec())
        .execute()
        .await;

    // B's case key cannot unwrap the content key that A's case key wrapped.
    assert_crypto(
        c.note_texts(&c.t1, c.chart_b).await,
        vaiti_crypto::Error::WrongKey,
    );
    assert_crypto(
        c.note_texts(&c.t2, c.chart_b).await,
        vaiti_crypto::Error::WrongKey,
    );
}

/// The server keeps chart B's row (object, chart, state, epoch) but copies chart A's note's
/// ciphertext, wrapped key and signature into it: Matti's chart would show Maija's note.
async fn a_note_ciphertext_copied_from_another_chart_does_not_open(c: Clinic) {
    assert_eq!(
        c.note_texts(&c.t1, c.chart_b).await.unwrap(),
        ["Matti: työuupumus."]
    );

    let from_a = c.sealed_columns(c.note_a, 1).await;
    c.set_sealed_columns(c.note_b, 1, from_a).await;

    assert_crypto(
        c.note_texts(&c.t1, c.chart_b).await,
        vaiti_crypto::Error::WrongKey,
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Replayed and withheld versions.
// ---------------------------------------------------------------------------------------------

/// The server serves version 1's sealed content again as version 2 (the amendment "reverts"), and
/// then a version 2 that does not name version 1 as its predecessor.
async fn an_older_version_replayed_as_the_newest_is_refused(c: Clinic) {
    {
        let s = c.t1.session().await.unwrap();
        amend_note(
            &s,
            c.note_a,
            "Maija: uni parantunut, ei painajaisia.",
            "tarkennus",
        )
        .await
        .unwrap();
    }
    assert_eq!(
        c.note_texts(&c.t2, c.chart_a).await.unwrap(),
        ["Maija: uni parantunut, ei painajaisia."]
    );

    // Version 1's content in version 2's row: the version number and the predecessor's hash
    // are in the signed context, so the old ciphertext does not open as version 2.
    let v1 = c.sealed_columns(c.note_a, 1).await;
    let v2 = c.sealed_columns(c.note_a, 2).await;
    c.set_sealed_columns(c.note_a, 2, v1).await;
    assert_crypto(
        c.note_texts(&c.t2, c.chart_a).await,
        vaiti_crypto::Error::DecryptionFailed,
    );

    // Put version 2 back, but break its link to version 1: the version chain is checked before
    // anything is opened.
    c.set_sealed_columns(c.note_a, 2, v2).await;
    assert!(c.note_texts(&c.t2, c.chart_a).await.is_ok());
    c.db()
        .query(
            "UPDATE record_versions SET prev_version_hash = $1
             WHERE object_id = $2 AND version = 2",
        )
        .bind(vec![7u8; 32])
        .bind(c.note_a.as_bytes().to_vec())
        .execute()
        .await;
    assert_protocol(
        c.note_texts(&c.t2, c.chart_a).await,
        "versions do not chain",
    );
}

/// KNOWN GAP, pinned so it is noticed when it closes: the server deletes version 2, so the note
/// looks as if it had never been amended. What is left is a genuine, complete chain (version 1),
/// and a client without a local record of the newest version it has seen cannot tell. The
/// envelope format already carries what is needed (`OpenPolicy::newest_seen_version` →
/// `RolledBack`); persisting "newest seen" (threat model T2, planned) turns this into an error,
/// and the access log (issue 4) catches withholding for a device that has never seen version 2.
/// When that lands, this test must change to expect the error.
async fn withholding_the_newest_version_is_not_detected_without_a_local_cache(c: Clinic) {
    {
        let s = c.t1.session().await.unwrap();
        amend_note(&s, c.note_a, "Maija: korjattu teksti.", "korjaus")
            .await
            .unwrap();
    }
    assert_eq!(
        c.note_texts(&c.t1, c.chart_a).await.unwrap(),
        ["Maija: korjattu teksti."]
    );
    c.db()
        .query("DELETE FROM record_versions WHERE object_id = $1 AND version = 2")
        .bind(c.note_a.as_bytes().to_vec())
        .execute()
        .await;
    assert_eq!(
        c.note_texts(&c.t1, c.chart_a).await.unwrap(),
        ["Maija: uni parantunut."],
        "rolled back to version 1 (not detectable without a local cache)"
    );
}

/// The same withholding, on a device that remembers what it has seen (the CLI keeps this
/// memory sealed in its profile): the older version is refused. So is a chart-state history cut
/// back after the device saw a removal, even before any note names the removed state.
async fn a_device_that_remembers_refuses_a_withheld_version_or_state(c: Clinic) {
    let seen = {
        let s = c.t1.session().await.unwrap();
        amend_note(&s, c.note_a, "Maija: korjattu teksti.", "korjaus")
            .await
            .unwrap();
        care_team_remove(&s, c.chart_a, "t2@terapia.example")
            .await
            .unwrap();
        assert_eq!(list_notes(&s, c.chart_a).await.unwrap().len(), 1);
        s.seen().unwrap()
    };
    c.db()
        .query("DELETE FROM record_versions WHERE object_id = $1 AND version = 2")
        .bind(c.note_a.as_bytes().to_vec())
        .execute()
        .await;
    let s = Session::open_with(&c.t1.api, &c.t1.me, now(), seen.clone())
        .await
        .unwrap();
    let err = list_notes(&s, c.chart_a).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Protocol(m) if m.contains("older version of a record")),
        "{err}"
    );

    // The removal's state entry (and its new keys) withheld: the chain is shorter than seen.
    c.db()
        .query("DELETE FROM key_wraps WHERE chart_id = $1 AND epoch = 2")
        .bind(c.chart_a.as_bytes().to_vec())
        .execute()
        .await;
    c.db()
        .query("DELETE FROM chart_states WHERE chart_id = $1 AND seq = 2")
        .bind(c.chart_a.as_bytes().to_vec())
        .execute()
        .await;
    let s = Session::open_with(&c.t1.api, &c.t1.me, now(), seen)
        .await
        .unwrap();
    let err = vaiti_client::chart::load(&s, c.chart_a).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Protocol(m) if m.contains("care-team change was hidden")),
        "{err}"
    );
    // A fresh device, with no memory, is served the cut history without complaint: that gap is
    // the access log's to close (issue 4).
    let fresh = c.t1.session().await.unwrap();
    assert!(vaiti_client::chart::load(&fresh, c.chart_a).await.is_ok());
}

// ---------------------------------------------------------------------------------------------
// 3. Substituted keys: the user's own, a colleague's, the escrow key, a directory key.
// ---------------------------------------------------------------------------------------------

/// The server lists t2's encryption public key under t1's account, so that anyone wrapping to
/// "t1" would wrap to t2. t1's own login notices: the listed key is not the half of the key t1
/// just unwrapped.
async fn the_server_cannot_list_another_key_under_the_users_own_account(c: Clinic) {
    assert!(c.t1.log_in_again(&c.server.url).await.is_ok());

    c.db()
        .query(
            "UPDATE account_keys SET encryption_public_key =
               (SELECT encryption_public_key FROM account_keys WHERE user_id = $1)
             WHERE user_id = $2",
        )
        .bind(c.t2.id().as_bytes().to_vec())
        .bind(c.t1.id().as_bytes().to_vec())
        .execute()
        .await;

    assert_protocol(
        c.t1.log_in_again(&c.server.url).await,
        "the public keys stored under this account are not its own",
    );
}

/// The server puts its own encryption key into t2's certificate, so that t1's client would wrap
/// case keys to the server. The certificate is root-signed over its exact bytes.
async fn a_certificate_with_a_substituted_key_is_refused(c: Clinic) {
    {
        let s = c.t1.session().await.unwrap();
        let t2 = s.member(c.t2.id()).unwrap();
        assert_eq!(
            t2.encryption_key.to_bytes(),
            c.t2.me.decryption_key.public_key().to_bytes()
        );
    }

    let attacker = DecryptionKey::generate().unwrap();
    let body: Vec<u8> = c
        .db()
        .query("SELECT body FROM certificates WHERE user_id = $1")
        .bind(c.t2.id().as_bytes().to_vec())
        .fetch_scalar()
        .await;
    let mut cert: serde_json::Value = serde_json::from_slice(&body).unwrap();
    cert["encryption_key"] =
        serde_json::to_value(Sealed(attacker.public_key().to_bytes())).unwrap();
    c.db()
        .query("UPDATE certificates SET body = $1 WHERE user_id = $2")
        .bind(serde_json::to_vec(&cert).unwrap())
        .bind(c.t2.id().as_bytes().to_vec())
        .execute()
        .await;

    assert_crypto(c.t1.session().await, vaiti_crypto::Error::BadSignature);
}

/// A malicious admin (who holds the root key) colludes with the server and certifies a key of
/// theirs under t1's name (serial 2), so that colleagues wrap t1's keys to the admin. The root
/// signature is genuine, so only t1's own client can tell: it watches its own name. Threat model
/// T3 (admin row): detected, not prevented; other members see the substitute until the directory
/// log (issue 4) makes the change visible — pinned below so it is noticed when that changes.
async fn a_root_signed_substitute_key_under_ones_own_name_is_noticed(c: Clinic) {
    assert!(c.t1.session().await.is_ok());

    // The admin unwraps the clinic root key from their own wrap, as their client does.
    let (wrap, signature): (Vec<u8>, Vec<u8>) = c
        .db()
        .query("SELECT wrap, signature FROM key_wraps WHERE scope = 'root' AND recipient_user = $1")
        .bind(c.admin.id().as_bytes().to_vec())
        .fetch_one()
        .await;
    let root: RootKey = c
        .admin
        .me
        .decryption_key
        .unwrap(
            &PublicWrap {
                bytes: wrap,
                signature: Signature::from_bytes(&signature).unwrap(),
            },
            c.clinic,
            &WrapTarget {
                scope: Scope::Clinic,
                tier: None,
                epoch: Epoch(0),
            },
            &c.admin.me.signing_key.verifying_key(),
        )
        .unwrap();
    let body: Vec<u8> = c
        .db()
        .query("SELECT body FROM certificates WHERE user_id = $1 AND serial = 1")
        .bind(c.t1.id().as_bytes().to_vec())
        .fetch_scalar()
        .await;
    let mut cert: CertificateV1 = serde_json::from_slice(&body).unwrap();
    let attacker_dk = DecryptionKey::generate().unwrap();
    let attacker_sk = SigningKey::generate().unwrap();
    cert.serial = 2;
    cert.encryption_key = Sealed(attacker_dk.public_key().to_bytes());
    cert.verifying_key = hex::encode(attacker_sk.verifying_key().to_bytes());
    let (body, signature) = cert.sign_with_root(&root).unwrap();
    c.db()
        .query(
            "INSERT INTO certificates
               (clinic_id, user_id, serial, body, signature, issuer_key, expires_at, revoked_at)
             VALUES ($1, $2, 2, $3, $4, $5, $6, NULL)",
        )
        .bind(c.clinic.to_bytes().to_vec())
        .bind(c.t1.id().as_bytes().to_vec())
        .bind(body)
        .bind(signature.to_bytes().to_vec())
        .bind(root.verifying_key().key_id().to_bytes().to_vec())
        .bind(cert.expires_at)
        .execute()
        .await;

    assert_protocol(
        c.t1.session().await,
        "the key directory certifies keys under your name that are not yours",
    );
    // KNOWN GAP: a colleague's client accepts the root-signed substitute.
    let s = c.t2.session().await.unwrap();
    assert_eq!(
        s.member(c.t1.id()).unwrap().encryption_key.to_bytes(),
        attacker_dk.public_key().to_bytes()
    );
}

/// The server swaps the escrow key in the manifest for its own, so that every key wrapped "to
/// escrow" would be wrapped to the server. The manifest is signed by the pinned root.
async fn a_manifest_with_a_substituted_escrow_key_is_refused(c: Clinic) {
    assert!(c.t1.log_in_again(&c.server.url).await.is_ok());

    let attacker = DecryptionKey::generate().unwrap();
    let manifest: Vec<u8> = c
        .db()
        .query("SELECT manifest FROM clinics")
        .fetch_scalar()
        .await;
    let mut manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    manifest["escrow_key"] =
        serde_json::to_value(Sealed(attacker.public_key().to_bytes())).unwrap();
    c.db()
        .query("UPDATE clinics SET manifest = $1")
        .bind(serde_json::to_vec(&manifest).unwrap())
        .execute()
        .await;

    // At login, and for a device already logged in, when it next opens the directory.
    assert_crypto(
        c.t1.log_in_again(&c.server.url).await,
        vaiti_crypto::Error::BadSignature,
    );
    assert_crypto(c.t1.session().await, vaiti_crypto::Error::BadSignature);
}

/// The server serves an older manifest (genuinely root-signed) to a device that has seen a newer
/// one — e.g. to hide a branch or a rotated directory key. A device that has never seen the newer
/// one cannot tell (no local cache yet); one that has, refuses.
async fn an_older_manifest_is_refused_after_a_newer_one_was_seen(c: Clinic) {
    let (old, old_signature, old_version): (Vec<u8>, Vec<u8>, i64) = c
        .db()
        .query("SELECT manifest, manifest_signature, manifest_version FROM clinics")
        .fetch_one()
        .await;
    vaiti_client::admin::create_branch(&c.admin.api, &c.admin.me, "Tampere", now())
        .await
        .unwrap();
    let mut api = Api::new(&c.server.url).unwrap();
    let me = login(&mut api, c.clinic, T1, &c.t1.secret_key, PASSWORD)
        .await
        .unwrap();
    assert_eq!(me.manifest.manifest_version, old_version as u64 + 1);
    assert!(Session::open(&api, &me, now()).await.is_ok());

    c.db()
        .query("UPDATE clinics SET manifest = $1, manifest_signature = $2, manifest_version = $3")
        .bind(old)
        .bind(old_signature)
        .bind(old_version)
        .execute()
        .await;

    assert_protocol(
        Session::open(&api, &me, now()).await,
        "older clinic manifest than this device has seen",
    );
}

/// Someone without a certificate (the server itself) wraps a directory key of its own to front
/// desk, so that front desk would seal search cards and identity keys under a key it knows. It
/// keeps the wrap's `wrapped_by` (the admin); the wrap's signature cannot be the admin's.
async fn a_directory_key_wrapped_by_an_uncertified_key_is_refused(c: Clinic) {
    let details = || PatientDetails {
        name: "Liisa Laine".into(),
        ..PatientDetails::default()
    };
    {
        let s = c.fd.session().await.unwrap();
        add_patient(&s, BRANCH, details(), &[T1.to_string()])
            .await
            .unwrap();
    }

    let attacker = SigningKey::generate().unwrap();
    let fake = DirectoryKey::generate(
        vaiti_crypto::BranchId::from_bytes(*c.branch.as_bytes()),
        Epoch::FIRST,
    )
    .unwrap();
    let wrap =
        c.fd.me
            .decryption_key
            .public_key()
            .wrap(&fake, c.clinic, &attacker)
            .unwrap();
    let done = c
        .db()
        .query(
            "UPDATE key_wraps SET wrap = $1, signature = $2
             WHERE scope = 'directory' AND branch_id = $3 AND recipient_user = $4",
        )
        .bind(wrap.bytes)
        .bind(wrap.signature.to_bytes().to_vec())
        .bind(c.branch.as_bytes().to_vec())
        .bind(c.fd.id().as_bytes().to_vec())
        .execute()
        .await;
    assert_eq!(done, 1);

    let s = c.fd.session().await.unwrap();
    assert_crypto(
        add_patient(&s, BRANCH, details(), &[T1.to_string()]).await,
        vaiti_crypto::Error::BadSignature,
    );
}

/// The same with a certified insider: t3 (a therapist, colluding with the server) wraps a
/// directory key of their own to front desk and signs it properly. The wrap verifies, but the
/// key is not the one the root-signed manifest lists for the branch.
async fn a_directory_key_from_a_certified_insider_must_be_the_manifests(c: Clinic) {
    let fake = DirectoryKey::generate(
        vaiti_crypto::BranchId::from_bytes(*c.branch.as_bytes()),
        Epoch::FIRST,
    )
    .unwrap();
    let wrap =
        c.fd.me
            .decryption_key
            .public_key()
            .wrap(&fake, c.clinic, &c.t3.me.signing_key)
            .unwrap();
    let done = c
        .db()
        .query(
            "UPDATE key_wraps SET wrap = $1, signature = $2, wrapped_by = $3
             WHERE scope = 'directory' AND branch_id = $4 AND recipient_user = $5",
        )
        .bind(wrap.bytes)
        .bind(wrap.signature.to_bytes().to_vec())
        .bind(c.t3.id().as_bytes().to_vec())
        .bind(c.branch.as_bytes().to_vec())
        .bind(c.fd.id().as_bytes().to_vec())
        .execute()
        .await;
    assert_eq!(done, 1);

    let s = c.fd.session().await.unwrap();
    assert_protocol(
        add_patient(
            &s,
            BRANCH,
            PatientDetails {
                name: "Liisa Laine".into(),
                ..PatientDetails::default()
            },
            &[T1.to_string()],
        )
        .await,
        "a directory key is not the one the manifest lists",
    );
}

/// t3, a certified therapist outside the care team, colludes with the server: they wrap a case
/// key of their own to t1 for chart A (team tier, epoch 1), signed properly, in place of t1's
/// genuine wrap. Were it accepted, t1 would seal new process notes under a key t3 knows. Only
/// the chart's clinicians hand out its case keys.
async fn a_case_key_from_outside_the_care_team_is_refused(c: Clinic) {
    assert_eq!(
        c.note_texts(&c.t1, c.chart_a).await.unwrap(),
        ["Maija: uni parantunut."]
    );

    let fake = CaseKey::generate(crypto_chart(c.chart_a), Tier::Team, Epoch(1)).unwrap();
    let wrap =
        c.t1.me
            .decryption_key
            .public_key()
            .wrap(&fake, c.clinic, &c.t3.me.signing_key)
            .unwrap();
    c.replace_case_wrap(c.chart_a, 1, &c.t1, &c.t3, wrap).await;

    let s = c.t1.session().await.unwrap();
    assert_protocol(
        add_note(&s, c.chart_a, Tier::Team, "Istunto 2", "Ei saa vuotaa.").await,
        "a case key was wrapped by someone who may not hand it out",
    );
    assert_protocol(
        list_notes(&s, c.chart_a).await,
        "a case key was wrapped by someone who may not hand it out",
    );
}

/// After t1 removes t2 from the care team (new epoch 2), t2 colludes with the server: they wrap an
/// epoch-2 case key of their own to t1 in place of the genuine one. Were it accepted, the removed
/// t2 could read every note written after the removal — exactly what the new epoch prevents.
async fn a_removed_clinician_cannot_hand_out_the_next_epochs_key(c: Clinic) {
    {
        let s = c.t1.session().await.unwrap();
        care_team_remove(&s, c.chart_a, T2).await.unwrap();
        add_note(&s, c.chart_a, Tier::Team, "Istunto 2", "Epoch 2.")
            .await
            .unwrap();
    }
    assert_eq!(
        c.note_texts(&c.t1, c.chart_a).await.unwrap(),
        ["Maija: uni parantunut.", "Epoch 2."]
    );

    let fake = CaseKey::generate(crypto_chart(c.chart_a), Tier::Team, Epoch(2)).unwrap();
    let wrap =
        c.t1.me
            .decryption_key
            .public_key()
            .wrap(&fake, c.clinic, &c.t2.me.signing_key)
            .unwrap();
    c.replace_case_wrap(c.chart_a, 2, &c.t1, &c.t2, wrap).await;

    let s = c.t1.session().await.unwrap();
    assert_protocol(
        add_note(&s, c.chart_a, Tier::Team, "Istunto 3", "Ei saa vuotaa.").await,
        "a case key was wrapped by someone who may not hand it out",
    );
}

/// Review finding 1: front desk, with the server's help, puts a case key of their own making in
/// place of t1's genuine wrap (team tier, epoch 1), then adds t3 to the care team — a state they
/// may sign, which starts no epoch. Were a signer of a state at that epoch accepted as a
/// wrapper, t1 would seal every new process note under a key front desk knows. Front desk and
/// admins are never case-key wrappers, whatever states they signed.
async fn front_desk_cannot_plant_case_keys_by_adding_a_clinician(c: Clinic) {
    let fake = CaseKey::generate(crypto_chart(c.chart_a), Tier::Team, Epoch(1)).unwrap();
    let wrap =
        c.t1.me
            .decryption_key
            .public_key()
            .wrap(&fake, c.clinic, &c.fd.me.signing_key)
            .unwrap();
    c.replace_case_wrap(c.chart_a, 1, &c.t1, &c.fd, wrap).await;
    {
        let s = c.fd.session().await.unwrap();
        care_team_add(&s, c.chart_a, T3).await.unwrap();
    }
    let s = c.t1.session().await.unwrap();
    assert_protocol(
        add_note(&s, c.chart_a, Tier::Team, "Istunto 2", "Ei saa vuotaa.").await,
        "a case key was wrapped by someone who may not hand it out",
    );
    assert_protocol(
        list_notes(&s, c.chart_a).await,
        "a case key was wrapped by someone who may not hand it out",
    );
}

/// t3, outside the care team, colludes with the server: they wrap an identity key of their own
/// to t1 for chart A in place of t1's genuine wrap (a forged identity record under it would
/// follow). Both opening the chart and listing the caseload refuse it: only the chart's creator
/// or a care-team clinician hands out its identity key.
async fn an_identity_key_from_outside_the_care_team_is_refused(c: Clinic) {
    {
        let s = c.t1.session().await.unwrap();
        assert!(
            vaiti_client::chart::show_patient(&s, c.chart_a)
                .await
                .is_ok()
        );
        assert_eq!(
            vaiti_client::chart::list_patients(&s, None)
                .await
                .unwrap()
                .len(),
            2
        );
    }
    let fake = IdentityKey::generate(crypto_chart(c.chart_a)).unwrap();
    let wrap =
        c.t1.me
            .decryption_key
            .public_key()
            .wrap(&fake, c.clinic, &c.t3.me.signing_key)
            .unwrap();
    let done = c
        .db()
        .query(
            "UPDATE key_wraps SET wrap = $1, signature = $2, wrapped_by = $3
             WHERE scope = 'identity' AND chart_id = $4 AND recipient_user = $5",
        )
        .bind(wrap.bytes)
        .bind(wrap.signature.to_bytes().to_vec())
        .bind(c.t3.id().as_bytes().to_vec())
        .bind(c.chart_a.as_bytes().to_vec())
        .bind(c.t1.id().as_bytes().to_vec())
        .execute()
        .await;
    assert_eq!(done, 1);

    let s = c.t1.session().await.unwrap();
    assert_protocol(
        vaiti_client::chart::show_patient(&s, c.chart_a).await,
        "the identity key was wrapped by someone who may not hand it out",
    );
    assert_protocol(
        vaiti_client::chart::list_patients(&s, None).await,
        "the identity key was wrapped by someone who may not hand it out",
    );
}

// ---------------------------------------------------------------------------------------------
// 4. One user's certificate presented as another's.
// ---------------------------------------------------------------------------------------------

/// The server swaps t1's and t2's certificates (body, signature and expiry; the rows keep their
/// user ids), so that whoever wraps to "t2" uses t1's keys and the other way round. Both
/// certificates are genuinely root-signed; they name the wrong users.
async fn one_users_certificate_presented_as_anothers_is_refused(c: Clinic) {
    assert!(c.fd.session().await.is_ok());

    let read = |user: UserId| {
        c.db()
            .query("SELECT body, signature, expires_at FROM certificates WHERE user_id = $1")
            .bind(user.as_bytes().to_vec())
            .fetch_one::<(Vec<u8>, Vec<u8>, i64)>()
    };
    let one = read(c.t1.id()).await;
    let two = read(c.t2.id()).await;
    for (user, (body, signature, expires_at)) in [(c.t1.id(), two), (c.t2.id(), one)] {
        c.db()
            .query(
                "UPDATE certificates SET body = $1, signature = $2, expires_at = $3
                 WHERE user_id = $4",
            )
            .bind(body)
            .bind(signature)
            .bind(expires_at)
            .bind(user.as_bytes().to_vec())
            .execute()
            .await;
    }

    assert_protocol(
        c.fd.session().await,
        "a certificate is presented as another user's",
    );
}

// ---------------------------------------------------------------------------------------------
// 5. The chart state: added members, hidden removals, forged entries.
// ---------------------------------------------------------------------------------------------

/// The server edits chart A's state to add t3 to the care team (and, since the server decides
/// access by that state, starts serving the chart to t3). The state is signed over its bytes.
async fn a_care_team_member_added_by_editing_the_state_is_refused(c: Clinic) {
    assert!(c.note_texts(&c.t1, c.chart_a).await.is_ok());

    let mut state = c.state(c.chart_a, 1).await;
    state.care_team.push(c.t3.id());
    c.db()
        .query("UPDATE chart_states SET body = $1 WHERE chart_id = $2 AND seq = 1")
        .bind(serde_json::to_vec(&state).unwrap())
        .bind(c.chart_a.as_bytes().to_vec())
        .execute()
        .await;

    for user in [&c.t1, &c.t3] {
        assert_protocol(
            c.note_texts(user, c.chart_a).await,
            "a chart-state entry's signature does not verify",
        );
    }
}

/// The server changes the stored hash of a chart-state entry (the hash notes name). The hash is
/// recomputed from the signed entry.
async fn a_chart_state_with_a_changed_hash_is_refused(c: Clinic) {
    assert!(c.note_texts(&c.t1, c.chart_a).await.is_ok());

    let hash = flipped(c.state_hash(c.chart_a, 1).await, 0);
    c.db()
        .query("UPDATE chart_states SET hash = $1 WHERE chart_id = $2 AND seq = 1")
        .bind(hash)
        .bind(c.chart_a.as_bytes().to_vec())
        .execute()
        .await;

    assert_protocol(
        c.note_texts(&c.t1, c.chart_a).await,
        "a chart-state entry's hash is wrong",
    );
}

/// t3 (certified, outside the care team) colludes with the server and appends a properly signed
/// next state adding themselves: the signature, the hash chain and the sequence are all right,
/// but only a clinician of the previous care team may change it.
async fn a_care_team_change_signed_by_an_outsider_is_refused(c: Clinic) {
    assert!(c.note_texts(&c.t1, c.chart_a).await.is_ok());

    let first = c.state(c.chart_a, 1).await;
    let mut next = first.clone();
    next.seq = 2;
    next.prev = hex::encode(c.state_hash(c.chart_a, 1).await);
    next.care_team.push(c.t3.id());
    next.author = c.t3.id();
    next.created_at = now();
    let body = serde_json::to_vec(&next).unwrap();
    let signature = c.t3.me.signing_key.sign(SignatureDomain::ChartState, &body);
    let hash = signed_structure_hash(SignatureDomain::ChartState, &body, &signature);
    c.db()
        .query(
            "INSERT INTO chart_states
               (clinic_id, chart_id, seq, body, signature, author_id, hash, created_at)
             VALUES ($1, $2, 2, $3, $4, $5, $6, $7)",
        )
        .bind(c.clinic.to_bytes().to_vec())
        .bind(c.chart_a.as_bytes().to_vec())
        .bind(body)
        .bind(signature.to_bytes().to_vec())
        .bind(c.t3.id().as_bytes().to_vec())
        .bind(hash.to_vec())
        .bind(next.created_at)
        .execute()
        .await;

    assert_protocol(
        c.note_texts(&c.t1, c.chart_a).await,
        "a care-team change was signed by someone outside the care team",
    );
}

/// Front desk may add clinicians to a care team (the chain accepts their entry), but a state in
/// which front desk removes someone — or changes the epoch — is refused, whatever the server says.
async fn front_desk_may_add_to_a_care_team_but_not_remove(c: Clinic) {
    {
        let s = c.fd.session().await.unwrap();
        vaiti_client::chart::care_team_add(&s, c.chart_a, "t3@terapia.example")
            .await
            .unwrap();
    }
    assert!(c.note_texts(&c.t1, c.chart_a).await.is_ok());

    for epoch_bump in [0, 1] {
        let latest = c.state(c.chart_a, 2).await;
        let mut next = latest.clone();
        next.seq = 3;
        next.prev = hex::encode(c.state_hash(c.chart_a, 2).await);
        next.care_team.retain(|m| *m != c.t2.id());
        next.epoch += epoch_bump;
        next.author = c.fd.id();
        next.created_at = now();
        let body = serde_json::to_vec(&next).unwrap();
        let signature = c.fd.me.signing_key.sign(SignatureDomain::ChartState, &body);
        let hash = signed_structure_hash(SignatureDomain::ChartState, &body, &signature);
        c.db()
            .query("DELETE FROM chart_states WHERE chart_id = $1 AND seq = 3")
            .bind(c.chart_a.as_bytes().to_vec())
            .execute()
            .await;
        c.db()
            .query(
                "INSERT INTO chart_states
                   (clinic_id, chart_id, seq, body, signature, author_id, hash, created_at)
                 VALUES ($1, $2, 3, $3, $4, $5, $6, $7)",
            )
            .bind(c.clinic.to_bytes().to_vec())
            .bind(c.chart_a.as_bytes().to_vec())
            .bind(body)
            .bind(signature.to_bytes().to_vec())
            .bind(c.fd.id().as_bytes().to_vec())
            .bind(hash.to_vec())
            .bind(next.created_at)
            .execute()
            .await;
        assert_protocol(
            c.note_texts(&c.t1, c.chart_a).await,
            "a care-team change was signed by someone outside the care team",
        );
    }
}

/// t1 removes t2 from the care team and writes a note under the new state; the server then
/// deletes the removal, so the chain looks as if t2 were still on the team (and the server serves
/// the chart to t2 again). What was written with the removal gives the cut away: t1's keys of the
/// new epoch, and the note that names a state the chain no longer has. Both refuse the chart.
///
/// What this cannot catch: had the server hidden the removal from t1 *before* t1 wrote, t1 would
/// have written under the old state and epoch, which t2 can read. A client can only detect that
/// with a local record of the chain it has seen (or the access log, issue 4).
async fn a_hidden_removal_is_caught_by_the_notes_written_after_it(c: Clinic) {
    {
        let s = c.t1.session().await.unwrap();
        care_team_remove(&s, c.chart_a, T2).await.unwrap();
        add_note(
            &s,
            c.chart_a,
            Tier::Team,
            "Istunto 2",
            "Kirjoitettu poiston jälkeen.",
        )
        .await
        .unwrap();
    }
    assert_eq!(c.note_texts(&c.t1, c.chart_a).await.unwrap().len(), 2);

    c.db()
        .query("DELETE FROM chart_states WHERE chart_id = $1 AND seq = 2")
        .bind(c.chart_a.as_bytes().to_vec())
        .execute()
        .await;

    // t1 holds the new epoch's keys, which the cut chain does not reach; t2 holds only the old
    // epoch's and meets the note that names the deleted state.
    assert_protocol(
        c.note_texts(&c.t1, c.chart_a).await,
        "the chart's history was cut",
    );
    assert_protocol(
        c.note_texts(&c.t2, c.chart_a).await,
        "a note names a chart state that is not in the chart's history",
    );
}

// ---------------------------------------------------------------------------------------------
// 6. OPAQUE: the server cannot choose the suite.
// ---------------------------------------------------------------------------------------------

/// vaiti's suite with OPAQUE's key-stretching slot emptied: what a server claiming "a different
/// configuration" would like clients to run (no Argon2id, so guessing passwords is cheap).
struct NoStretchSuite;

impl vaiti_opaque::opaque_ke::CipherSuite for NoStretchSuite {
    type OprfCs = <vaiti_opaque::VaitiOpaqueSuite as vaiti_opaque::opaque_ke::CipherSuite>::OprfCs;
    type KeyExchange =
        <vaiti_opaque::VaitiOpaqueSuite as vaiti_opaque::opaque_ke::CipherSuite>::KeyExchange;
    type Ksf = vaiti_opaque::opaque_ke::ksf::Identity;
}

/// The server answers `login/start` itself: first with a `CredentialResponse` made under the
/// no-stretch suite for t1's exact password input (registered there by the attacker, who for the
/// test knows both secrets), then with garbage. The suite is a client constant: the answer
/// that is valid under the weaker suite fails on the device, like a wrong password, and garbage
/// is a protocol error. Neither logs in.
async fn a_login_answer_under_another_opaque_suite_fails(c: Clinic) {
    use vaiti_opaque::OsRng;
    use vaiti_opaque::opaque_ke::{
        ClientLogin, ClientLoginFinishParameters, ClientRegistration,
        ClientRegistrationFinishParameters, CredentialRequest, CredentialResponse, ServerLogin,
        ServerLoginParameters, ServerRegistration, ServerSetup,
    };

    assert!(c.t1.log_in_again(&c.server.url).await.is_ok());

    // The attacker's own OPAQUE server and a record for t1's password input under its suite.
    const IDENTIFIER: &[u8] = b"clinic || user";
    let input = vaiti_crypto::opaque_password_input(&c.t1.secret_key, PASSWORD).unwrap();
    let setup = ServerSetup::<NoStretchSuite>::new(&mut OsRng);
    let registration =
        ClientRegistration::<NoStretchSuite>::start(&mut OsRng, input.as_ref()).unwrap();
    let response =
        ServerRegistration::<NoStretchSuite>::start(&setup, registration.message, IDENTIFIER)
            .unwrap();
    let upload = registration
        .state
        .finish(
            &mut OsRng,
            input.as_ref(),
            response.message,
            ClientRegistrationFinishParameters::default(),
        )
        .unwrap();
    let record = ServerRegistration::<NoStretchSuite>::finish(upload.message);
    let answer = move |request: &[u8]| {
        let request = CredentialRequest::<NoStretchSuite>::deserialize(request).unwrap();
        ServerLogin::start(
            &mut OsRng,
            &setup,
            Some(record.clone()),
            request,
            IDENTIFIER,
            ServerLoginParameters::default(),
        )
        .unwrap()
        .message
        .serialize()
        .to_vec()
    };

    // The answer is genuine under the weaker suite: a client running that suite logs in with it.
    let weak_client = ClientLogin::<NoStretchSuite>::start(&mut OsRng, input.as_ref()).unwrap();
    let weak_answer = answer(&weak_client.message.serialize());
    assert!(
        weak_client
            .state
            .finish(
                &mut OsRng,
                input.as_ref(),
                CredentialResponse::deserialize(&weak_answer).unwrap(),
                ClientLoginFinishParameters::default(),
            )
            .is_ok()
    );

    // The vaiti client stretches with Argon2id whatever the server sends, so it fails.
    *c.server.login_start.0.lock().unwrap() =
        Some(Arc::new(move |start: &LoginStart| LoginChallenge {
            login_id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            response: Sealed(answer(start.request.as_bytes())),
        }));
    let mut api = Api::new(&c.server.url).unwrap();
    let weaker = login(&mut api, c.clinic, T1, &c.t1.secret_key, PASSWORD).await;
    assert!(
        matches!(weaker, Err(ClientError::LoginFailed)),
        "{weaker:?}"
    );
    assert!(api.token().is_none());

    // Garbage (a truncated response) is a protocol error.
    *c.server.login_start.0.lock().unwrap() = Some(Arc::new(|_: &LoginStart| LoginChallenge {
        login_id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        response: Sealed(vec![0xAB; 40]),
    }));
    assert_protocol(
        login(&mut api, c.clinic, T1, &c.t1.secret_key, PASSWORD).await,
        "malformed OPAQUE login response",
    );
    assert!(api.token().is_none());
}

// ---------------------------------------------------------------------------------------------
// 7. Forged signatures on notes and wraps; a note naming another user's key.
// ---------------------------------------------------------------------------------------------

/// The server flips one bit of a note's author signature.
async fn a_forged_note_signature_is_refused(c: Clinic) {
    assert!(c.note_texts(&c.t2, c.chart_a).await.is_ok());

    let (wrapped_key, envelope, signature) = c.sealed_columns(c.note_a, 1).await;
    c.set_sealed_columns(
        c.note_a,
        1,
        (wrapped_key, envelope, flipped(signature, IN_SIGNATURE)),
    )
    .await;

    assert_crypto(
        c.note_texts(&c.t2, c.chart_a).await,
        vaiti_crypto::Error::BadSignature,
    );
}

/// The server flips one bit of the wrapper's signature on t2's case-key wrap.
async fn a_forged_wrap_signature_is_refused(c: Clinic) {
    assert!(c.note_texts(&c.t2, c.chart_a).await.is_ok());

    let signature: Vec<u8> = c
        .db()
        .query(
            "SELECT signature FROM key_wraps
             WHERE scope = 'case' AND chart_id = $1 AND tier = $2 AND epoch = 1
                 AND recipient_user = $3",
        )
        .bind(c.chart_a.as_bytes().to_vec())
        .bind(TEAM)
        .bind(c.t2.id().as_bytes().to_vec())
        .fetch_scalar()
        .await;
    c.db()
        .query(
            "UPDATE key_wraps SET signature = $1
             WHERE scope = 'case' AND chart_id = $2 AND tier = $3 AND epoch = 1
                 AND recipient_user = $4",
        )
        .bind(flipped(signature, IN_SIGNATURE))
        .bind(c.chart_a.as_bytes().to_vec())
        .bind(TEAM)
        .bind(c.t2.id().as_bytes().to_vec())
        .execute()
        .await;

    assert_crypto(
        c.note_texts(&c.t2, c.chart_a).await,
        vaiti_crypto::Error::BadSignature,
    );
}

/// t1's note, re-labelled by the server: first only its `author_key` names t2's signing key
/// (t1 is not certified with it); then the author too is changed to t2, which the note's signed
/// context contradicts.
async fn a_note_naming_another_users_key_is_refused(c: Clinic) {
    assert!(c.note_texts(&c.t2, c.chart_a).await.is_ok());

    let t2_key = c.t2.me.signing_key.key_id().to_bytes().to_vec();
    c.db()
        .query("UPDATE record_versions SET author_key = $1 WHERE object_id = $2")
        .bind(t2_key)
        .bind(c.note_a.as_bytes().to_vec())
        .execute()
        .await;
    assert_protocol(
        c.note_texts(&c.t2, c.chart_a).await,
        "a record names a signing key its author is not certified with",
    );

    c.db()
        .query("UPDATE record_versions SET author_id = $1 WHERE object_id = $2")
        .bind(c.t2.id().as_bytes().to_vec())
        .bind(c.note_a.as_bytes().to_vec())
        .execute()
        .await;
    assert_crypto(
        c.note_texts(&c.t2, c.chart_a).await,
        vaiti_crypto::Error::DecryptionFailed,
    );
}

// ---------------------------------------------------------------------------------------------
// 8. The access log: releases come with their leaf, patients see every access, and the stored
//    log cannot be edited without clients and auditors noticing.
// ---------------------------------------------------------------------------------------------

/// Sets the malicious server's rewrite of JSON answers.
fn rewrite(
    c: &Clinic,
    f: impl Fn(&str, serde_json::Value) -> serde_json::Value + Send + Sync + 'static,
) {
    *c.server.login_start.1.lock().unwrap() = Some(Arc::new(f));
}

fn honest(c: &Clinic) {
    *c.server.login_start.1.lock().unwrap() = None;
}

/// The log evidence of a release answer, to change.
fn evidence_of(json: &serde_json::Value) -> vaiti_core::api::LogEvidence {
    serde_json::from_value(json["log"].clone()).unwrap()
}

/// The chart's patient, invited by t1 and logged in on their own device.
async fn patient_of(c: &Clinic, chart: ChartId) -> User {
    let code = {
        let s = c.t1.session().await.unwrap();
        vaiti_client::invite::invite_patient(&s, chart, DEFAULT_INVITE_S)
            .await
            .unwrap()
            .code
    };
    let account = support::sign_up(&c.server.url, &code, None).await;
    {
        let s = c.t1.session().await.unwrap();
        assert_eq!(complete_invites(&s).await.unwrap().len(), 1);
    }
    let handle: &'static str = Box::leak(account.login.into_boxed_str());
    User::log_in(&c.server.url, c.clinic, handle, account.secret_key).await
}

/// The server answers a key request with anything but the leaf that logs it — an earlier
/// release's leaf and proofs, a proof that does not place the leaf in the checkpoint, a
/// checkpoint under another key, a leaf that names other wraps than those handed over — and the
/// client refuses to use the keys.
async fn a_release_without_its_logged_leaf_is_refused(c: Clinic) {
    let earlier = Arc::new(Mutex::new(None::<serde_json::Value>));
    let keep = earlier.clone();
    rewrite(&c, move |path, json| {
        if path.ends_with("/release") {
            *keep.lock().unwrap() = Some(json["log"].clone());
        }
        json
    });
    assert_eq!(
        c.note_texts(&c.t1, c.chart_a).await.unwrap(),
        ["Maija: uni parantunut."]
    );
    let earlier = earlier.lock().unwrap().clone().unwrap();

    // 1. The release is not logged: the server replays the previous release's leaf and proofs.
    rewrite(&c, move |path, mut json| {
        if path.ends_with("/release") {
            json["log"] = earlier.clone();
        }
        json
    });
    assert_protocol(
        c.note_texts(&c.t1, c.chart_a).await,
        "did not answer with the leaf recording this request",
    );

    // 2. The leaf is right but its inclusion proof does not lead to the checkpoint's root.
    rewrite(&c, |path, mut json| {
        if path.ends_with("/release") {
            let mut ev = evidence_of(&json);
            ev.inclusion = Sealed(flipped(ev.inclusion.0, 3));
            json["log"] = serde_json::to_value(ev).unwrap();
        }
        json
    });
    assert_protocol(
        c.note_texts(&c.t1, c.chart_a).await,
        "is not in the signed checkpoint",
    );

    // 3. A checkpoint of the same tree, signed by a key that is not the clinic's log key.
    rewrite(&c, |path, mut json| {
        if path.ends_with("/release") {
            let mut ev = evidence_of(&json);
            let text = ev.checkpoint.split("\n\n").next().unwrap().to_string() + "\n";
            let checkpoint = vaiti_log::Checkpoint::parse_body(&text).unwrap();
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).unwrap();
            let other = vaiti_log::LogSigningKey::from_seed(checkpoint.origin(), &seed).unwrap();
            ev.checkpoint = String::from_utf8(other.sign(&checkpoint).unwrap().to_bytes()).unwrap();
            json["log"] = serde_json::to_value(ev).unwrap();
        }
        json
    });
    assert_protocol(
        c.note_texts(&c.t1, c.chart_a).await,
        "not signed by the clinic's log key",
    );

    // 4. The logged leaf names the wraps the server meant to hand over; it hands over others
    //    (here: one fewer) — the leaf no longer describes this release.
    rewrite(&c, |path, mut json| {
        if path.ends_with("/release") {
            let wraps = json["view"]["wraps"].as_array_mut().unwrap();
            assert!(!wraps.is_empty());
            wraps.pop();
        }
        json
    });
    assert_protocol(
        c.note_texts(&c.t1, c.chart_a).await,
        "did not answer with the leaf recording this request",
    );

    // Honest again: the same device opens the chart.
    honest(&c);
    assert_eq!(
        c.note_texts(&c.t1, c.chart_a).await.unwrap(),
        ["Maija: uni parantunut."]
    );
}

/// A patient reads their chart's access log: exactly the chart's leaves (the same count as the
/// store holds), with the admin's and front desk's identity reads and the clinician's key
/// releases, each naming its actor; nothing of another chart; and a server that hides one entry
/// breaks the chain the answer must form.
async fn a_patient_sees_exactly_the_accesses_to_their_chart(c: Clinic) {
    let p = patient_of(&c, c.chart_a).await;
    {
        let s = c.admin.session().await.unwrap();
        vaiti_client::chart::show_patient(&s, c.chart_a)
            .await
            .unwrap();
    }
    {
        let s = c.fd.session().await.unwrap();
        vaiti_client::chart::show_patient(&s, c.chart_a)
            .await
            .unwrap();
    }
    c.note_texts(&c.t1, c.chart_b).await.unwrap();

    let s = p.session().await.unwrap();
    let entries =
        vaiti_client::access_log::chart_log(&s, c.chart_a, vaiti_core::AccessPurpose::Treatment)
            .await
            .unwrap();
    let stored: i64 = c
        .db()
        .query("SELECT COUNT(*) FROM log_leaves WHERE chart_id = $1")
        .bind(c.chart_a.as_bytes().to_vec())
        .fetch_scalar()
        .await;
    assert_eq!(
        entries.len() as i64,
        stored,
        "every leaf of the chart, no other"
    );
    let b_indices: Vec<i64> = {
        let mut out = Vec::new();
        let count: i64 = c
            .db()
            .query("SELECT COUNT(*) FROM log_leaves WHERE chart_id = $1")
            .bind(c.chart_b.as_bytes().to_vec())
            .fetch_scalar()
            .await;
        assert!(count > 0);
        for e in &entries {
            let chart: Option<Vec<u8>> = c
                .db()
                .query("SELECT chart_id FROM log_leaves WHERE idx = $1")
                .bind(i64::try_from(e.index).unwrap())
                .fetch_scalar()
                .await;
            assert_eq!(chart.as_deref(), Some(&c.chart_a.as_bytes()[..]));
            out.push(i64::try_from(e.index).unwrap());
        }
        out
    };
    assert_eq!(b_indices.len(), entries.len());
    let by = |login: &str, action: &str| {
        entries
            .iter()
            .any(|e| e.login.as_deref() == Some(login) && e.action == action)
    };
    assert!(by(ADMIN, "identity read"), "{entries:#?}");
    assert!(by(FD, "identity read"), "{entries:#?}");
    assert!(by(FD, "chart-state change"), "the chart's creation");
    assert!(by(T1, "key release"), "{entries:#?}");
    assert!(by(T1, "record write"), "{entries:#?}");
    assert!(
        by(p.email, "log read"),
        "the reading itself is the last entry"
    );
    assert_eq!(entries.last().unwrap().action, "log read");
    let admin_read = entries
        .iter()
        .find(|e| e.login.as_deref() == Some(ADMIN) && e.action == "identity read")
        .unwrap();
    assert_eq!(admin_read.roles, ["admin"]);
    assert_eq!(admin_read.name.as_deref(), Some("Aino Admin"));
    assert_eq!(admin_read.purpose, "administration");
    assert!(admin_read.signed);

    // Staff outside auditors and admins cannot read it; the admin can.
    let s3 = c.t3.session().await.unwrap();
    assert!(
        vaiti_client::access_log::chart_log(&s3, c.chart_a, vaiti_core::AccessPurpose::Audit)
            .await
            .is_err()
    );
    let sa = c.admin.session().await.unwrap();
    let admin_view =
        vaiti_client::access_log::chart_log(&sa, c.chart_a, vaiti_core::AccessPurpose::Audit)
            .await
            .unwrap();
    assert_eq!(admin_view.len(), entries.len() + 1);

    // The server hides one entry (the admin's identity read) from the patient.
    let hidden = admin_read.index;
    rewrite(&c, move |path, mut json| {
        if path.ends_with("/access-log") {
            json["leaves"]
                .as_array_mut()
                .unwrap()
                .retain(|l| l["index"].as_u64() != Some(hidden));
        }
        json
    });
    assert_protocol(
        vaiti_client::access_log::chart_log(&s, c.chart_a, vaiti_core::AccessPurpose::Treatment)
            .await,
        "not complete",
    );
    // Or cuts the newest entries before the reading: the reading's own leaf names the last one.
    rewrite(&c, |path, mut json| {
        if path.ends_with("/access-log") {
            json["leaves"].as_array_mut().unwrap().pop();
        }
        json
    });
    assert_protocol(
        vaiti_client::access_log::chart_log(&s, c.chart_a, vaiti_core::AccessPurpose::Treatment)
            .await,
        "not complete",
    );
}

/// Recomputes every stored subtree hash from the stored leaves (a careful attacker who edited
/// leaves makes the tree agree with them).
async fn make_nodes_agree(c: &Clinic) {
    let leaves: Vec<(i64, Vec<u8>)> = c
        .db()
        .query("SELECT idx, leaf FROM log_leaves ORDER BY idx")
        .fetch_all()
        .await;
    let mut frontier = vaiti_log::Frontier::default();
    let mut nodes = Vec::new();
    for (_, leaf) in &leaves {
        frontier
            .append_leaf_hash_with(vaiti_log::leaf_hash(leaf), |id, h| nodes.push((id, *h)))
            .unwrap();
    }
    for (id, hash) in nodes {
        c.db()
            .query("UPDATE log_nodes SET hash = $1 WHERE level = $2 AND idx = $3")
            .bind(hash.to_vec())
            .bind(i64::from(id.level))
            .bind(i64::try_from(id.index).unwrap())
            .execute()
            .await;
    }
}

/// The stored leaves of chart A: (index, leaf).
async fn chart_leaves(c: &Clinic, chart: ChartId) -> Vec<(i64, Vec<u8>)> {
    c.db()
        .query("SELECT idx, leaf FROM log_leaves WHERE chart_id = $1 ORDER BY idx")
        .bind(chart.as_bytes().to_vec())
        .fetch_all()
        .await
}

async fn verify_as(user: &User) -> Result<vaiti_client::access_log::LogVerified, ClientError> {
    let s = user.session().await?;
    vaiti_client::access_log::verify_log(&s).await
}

/// A leaf edited in the database — its stored hash and every tree node made to agree — is
/// caught by the admin's `log verify` (the leaves no longer make the signed root, or a chart's
/// next leaf no longer names it) and by anyone reading the chart's access log.
async fn an_edited_leaf_is_caught_even_when_the_tree_agrees(c: Clinic) {
    let s = c.admin.session().await.unwrap();
    let v = vaiti_client::access_log::verify_log(&s).await.unwrap();
    assert!(v.recomputed);
    assert!(v.charts >= 2);
    let seen = s.seen().unwrap();
    drop(s);
    assert!(!verify_as(&c.t1).await.unwrap().recomputed);

    // The newest leaf (no later leaf names it) now names another actor.
    let (index, leaf): (i64, Vec<u8>) = c
        .db()
        .query("SELECT idx, leaf FROM log_leaves ORDER BY idx DESC LIMIT 1")
        .fetch_one()
        .await;
    let edit = |mut leaf: Vec<u8>| {
        leaf[3 + 16 + 5] ^= 0x40; // inside the actor id
        leaf
    };
    let edited = edit(leaf);
    c.db()
        .query("UPDATE log_leaves SET leaf = $1, leaf_hash = $2 WHERE idx = $3")
        .bind(edited.clone())
        .bind(vaiti_log::leaf_hash(&edited).to_vec())
        .bind(index)
        .execute()
        .await;
    make_nodes_agree(&c).await;
    // The admin's device remembers the checkpoint it accepted before the edit.
    let verified = match Session::open_with(&c.admin.api, &c.admin.me, now(), seen).await {
        Ok(s) => vaiti_client::access_log::verify_log(&s).await,
        Err(e) => Err(e),
    };
    assert_protocol(verified, "the access log");

    // A leaf in the middle of chart A's history: its reader is told.
    let (index, leaf) = chart_leaves(&c, c.chart_a).await[1].clone();
    let edited = edit(leaf);
    c.db()
        .query("UPDATE log_leaves SET leaf = $1, leaf_hash = $2 WHERE idx = $3")
        .bind(edited.clone())
        .bind(vaiti_log::leaf_hash(&edited).to_vec())
        .bind(index)
        .execute()
        .await;
    make_nodes_agree(&c).await;
    assert_protocol(
        verify_as(&c.admin).await,
        "does not follow its chart's previous leaf",
    );
    let s = c.admin.session().await.unwrap();
    assert_protocol(
        vaiti_client::access_log::chart_log(&s, c.chart_a, vaiti_core::AccessPurpose::Audit).await,
        // The reading's own checkpoint is signed over the edited tree: it does not extend the
        // one this session accepted.
        "the access log",
    );
}

/// Two leaves swapped in the database (and the tree made to agree) are caught.
async fn reordered_leaves_are_caught(c: Clinic) {
    verify_as(&c.admin).await.unwrap();
    let a = chart_leaves(&c, c.chart_a).await;
    let b = chart_leaves(&c, c.chart_b).await;
    let (ia, la) = a[0].clone();
    let (ib, lb) = b[0].clone();
    for (idx, leaf, chart) in [(ia, &lb, c.chart_b), (ib, &la, c.chart_a)] {
        c.db()
            .query("UPDATE log_leaves SET leaf = $1, leaf_hash = $2, chart_id = $3 WHERE idx = $4")
            .bind(leaf.clone())
            .bind(vaiti_log::leaf_hash(leaf).to_vec())
            .bind(chart.as_bytes().to_vec())
            .bind(idx)
            .execute()
            .await;
    }
    make_nodes_agree(&c).await;
    assert_protocol(verify_as(&c.admin).await, "the access log");
}

/// A leaf deleted from the database is caught: the log has a gap the server cannot serve past,
/// and the chart's history no longer chains.
async fn a_deleted_leaf_is_caught(c: Clinic) {
    verify_as(&c.admin).await.unwrap();
    let (index, _) = chart_leaves(&c, c.chart_a).await[1].clone();
    let deleted = c
        .db()
        .query("DELETE FROM log_leaves WHERE idx = $1")
        .bind(index)
        .execute()
        .await;
    assert_eq!(deleted, 1);
    assert!(verify_as(&c.admin).await.is_err());
    let s = c.admin.session().await.unwrap();
    assert!(
        vaiti_client::access_log::chart_log(&s, c.chart_a, vaiti_core::AccessPurpose::Audit)
            .await
            .is_err()
    );
}

/// A stored tree node edited in the database is caught by `log verify` even though every leaf
/// is intact.
async fn an_edited_tree_node_is_caught(c: Clinic) {
    verify_as(&c.admin).await.unwrap();
    let hash: Vec<u8> = c
        .db()
        .query("SELECT hash FROM log_nodes WHERE level = 1 AND idx = 1")
        .fetch_scalar()
        .await;
    c.db()
        .query("UPDATE log_nodes SET hash = $1 WHERE level = 1 AND idx = 1")
        .bind(flipped(hash, 0))
        .execute()
        .await;
    assert_protocol(
        verify_as(&c.admin).await,
        "stored tree node at level 1 index 1",
    );
}

/// Serving a checkpoint of an older tree, or of a different tree of the same size (both signed
/// with the clinic's real log key, which a server takeover has), fails the next sync of a device
/// that saw the newer one.
async fn an_older_or_forked_checkpoint_fails_the_next_sync(c: Clinic) {
    let s = c.t1.session().await.unwrap();
    let seen = s.seen().unwrap();
    let (size, _) = seen.log.clone().unwrap();
    let origin = format!(
        "vaiti.log/{}",
        vaiti_core::ClinicId::from_bytes(c.clinic.to_bytes())
    );
    let seed: Vec<u8> = c
        .db()
        .query("SELECT value FROM server_secrets WHERE name = $1")
        .bind(origin.replace("vaiti.log/", "log-signing-key/"))
        .fetch_scalar()
        .await;
    let key = vaiti_log::LogSigningKey::from_seed(&origin, &seed.try_into().unwrap()).unwrap();
    let forge = move |size: u64, root: [u8; 32]| {
        let checkpoint = vaiti_log::Checkpoint::new(&origin, size, root).unwrap();
        String::from_utf8(key.sign(&checkpoint).unwrap().to_bytes()).unwrap()
    };
    let older = forge(size - 1, [7; 32]);
    rewrite(&c, move |path, mut json| {
        if path.ends_with("/log/checkpoint") {
            json["size"] = (size - 1).into();
            json["checkpoint"] = older.clone().into();
        }
        json
    });
    assert_protocol(
        Session::open_with(&c.t1.api, &c.t1.me, now(), seen.clone()).await,
        "rollback",
    );
    let forked = forge(size, [9; 32]);
    rewrite(&c, move |path, mut json| {
        if path.ends_with("/log/checkpoint") {
            json["size"] = size.into();
            json["checkpoint"] = forked.clone().into();
        }
        json
    });
    assert_protocol(
        Session::open_with(&c.t1.api, &c.t1.me, now(), seen.clone()).await,
        "fork",
    );
    honest(&c);
    Session::open_with(&c.t1.api, &c.t1.me, now(), seen)
        .await
        .unwrap();
}
