//! Witnesses of the access log, end to end over the real server on SQLite and PostgreSQL: the
//! clinic manifest lists a witness; clients then require its fresh co-signature on a checkpoint
//! the newest one extends. The test plays the witness (with the library the CLI uses), a
//! malicious server (rewriting the store's rows, or the checkpoint answer), and a stranger.
//!
//! Every case runs as `sqlite::<case>` and `postgres::<case>`, each on a fresh clinic in a fresh
//! store (PostgreSQL: a fresh schema of the database at `VAITI_TEST_DATABASE_URL`, default a
//! local server with trust auth; these tests fail, never skip, without it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use vaiti_client::ClientError;
use vaiti_client::account::{NewClinic, Unlocked, create_clinic, login};
use vaiti_client::admin::change_witnesses;
use vaiti_client::api::Api;
use vaiti_client::session::Session;
use vaiti_client::witness::{WitnessChange, submit_cosignature, witness_once};
use vaiti_core::api::{LogCheckpointView, SubmitCosignature};
use vaiti_log::{Checkpoint, LogKey, LogSigningKey, SignedCheckpoint, WitnessSigningKey};

use crate::support::{self, Db, Harness, PASSWORD, TOKEN, TestStore, now, start_server};

const ADMIN: &str = "aino@terapia.example";
const DAY: i64 = 86_400;

// Each `async fn name(c: Ctx)` runs as `sqlite::name` and `postgres::name`.
support::on_both_backends!(
    setup = clinic;
    a_recent_cosignature_passes_and_none_fails,
    a_stale_cosignature_fails,
    an_unlisted_witness_is_refused_by_server_and_client,
    a_forged_cosignature_fails,
    a_cosigned_fork_of_the_newest_checkpoint_fails,
    the_witness_refuses_a_rollback,
    the_witness_refuses_a_fork,
    a_quorum_needs_distinct_witnesses,
    the_public_endpoints_reject_junk,
);

// ---------------------------------------------------------------------------------------------
// The harness.
// ---------------------------------------------------------------------------------------------

/// A malicious server's rewrite of `GET /log/checkpoint` answers.
type Rewrite = Arc<dyn Fn(LogCheckpointView) -> LogCheckpointView + Send + Sync>;

#[derive(Clone, Default)]
struct Rewriter(Arc<Mutex<Option<Rewrite>>>);

async fn rewrite(
    axum::extract::State(hook): axum::extract::State<Rewriter>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let is_checkpoint = req.uri().path().ends_with("/log/checkpoint");
    let resp = next.run(req).await;
    let f = hook.0.lock().unwrap().clone();
    match f {
        Some(f) if is_checkpoint && resp.status().is_success() => {
            let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap();
            let view: LogCheckpointView = serde_json::from_slice(&body).unwrap();
            axum::Json(f(view)).into_response()
        }
        _ => resp,
    }
}

/// A clinic with an admin who adopted the log key, on a fresh server.
struct Ctx {
    url: String,
    /// The attacker's hands on the data.
    db: Db,
    rewriter: Rewriter,
    clinic: vaiti_core::ClinicId,
    api: Api,
    admin: Unlocked,
    secret_key: vaiti_crypto::SecretKey,
    log_key: LogKey,
}

impl Ctx {
    /// A verified session of the admin at time `at`.
    async fn session_at(&self, at: i64) -> Result<Session<'_>, ClientError> {
        Session::open(&self.api, &self.admin, at).await
    }

    async fn session(&self) -> Result<Session<'_>, ClientError> {
        self.session_at(now()).await
    }

    async fn add_witness(&self, w: &WitnessSigningKey, quorum: Option<u8>, max_age: Option<u64>) {
        change_witnesses(
            &self.api,
            &self.admin,
            &WitnessChange::Add {
                vkey: w.witness_key().to_vkey(),
                quorum,
                max_age_s: max_age,
            },
            now(),
        )
        .await
        .unwrap();
    }

    /// One witness run at time `at`, from the witness's last checkpoint `last`.
    async fn witness(
        &self,
        w: &WitnessSigningKey,
        last: Option<&SignedCheckpoint>,
        at: i64,
    ) -> Result<SignedCheckpoint, ClientError> {
        witness_once(
            &Api::new(&self.url).unwrap(),
            self.clinic,
            &self.log_key,
            w,
            last,
            at as u64,
            |_| Ok(()),
        )
        .await
    }

    /// Grows the log by one entry at least: the admin logs in again (a login is an entry).
    async fn grow(&self) {
        let before = self.log_size().await;
        let mut again = Api::new(&self.url).unwrap();
        login(
            &mut again,
            self.admin.clinic,
            ADMIN,
            &self.secret_key,
            PASSWORD,
        )
        .await
        .unwrap();
        assert!(self.log_size().await > before, "the log grew");
    }

    fn set_rewrite(&self, f: Option<Rewrite>) {
        *self.rewriter.0.lock().unwrap() = f;
    }

    async fn log_size(&self) -> u64 {
        let view: LogCheckpointView = self
            .api
            .get(&format!("/clinics/{}/log/checkpoint", self.clinic))
            .await
            .unwrap();
        view.size
    }
}

/// A fresh server, behind the malicious server's rewriter, and a clinic on it whose admin adopted
/// the log key.
async fn clinic(h: Harness) -> Ctx {
    let TestStore { store, db, .. } = h.store("witness").await;
    let rewriter = Rewriter::default();
    let hook = rewriter.clone();
    let url = start_server(store, |state| {
        vaiti_server::router(state).layer(axum::middleware::from_fn_with_state(hook, rewrite))
    })
    .await;
    let created = create_clinic(
        &Api::new(&url).unwrap(),
        &NewClinic {
            name: "Terapiakeskus Todistaja",
            admin_email: ADMIN,
            admin_name: None,
            escrow_threshold: 2,
            escrow_shares: 2,
            password: PASSWORD,
            creation_token: TOKEN,
            now: now(),
        },
    )
    .await
    .unwrap();
    let mut api = Api::new(&url).unwrap();
    let admin = login(
        &mut api,
        created.clinic,
        ADMIN,
        &created.secret_key,
        PASSWORD,
    )
    .await
    .unwrap();
    {
        let s = Session::open(&api, &admin, now()).await.unwrap();
        assert!(vaiti_client::admin::adopt_log_key(&s).await.unwrap());
    }
    let s = Session::open(&api, &admin, now()).await.unwrap();
    let log_key = LogKey::from_vkey(s.manifest.log_key.as_deref().unwrap()).unwrap();
    drop(s);
    Ctx {
        url,
        db,
        rewriter,
        clinic: vaiti_core::ClinicId::from_bytes(created.clinic.to_bytes()),
        api,
        admin,
        secret_key: created.secret_key,
        log_key,
    }
}

fn witness_key(name: &str) -> WitnessSigningKey {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).unwrap();
    WitnessSigningKey::from_seed(name, &seed).unwrap()
}

fn err_text<T: std::fmt::Debug>(r: Result<T, ClientError>) -> String {
    r.expect_err("expected a refusal").to_string()
}

// ---------------------------------------------------------------------------------------------
// The cases.
// ---------------------------------------------------------------------------------------------

/// With a witness listed, a session needs its co-signature: none fails clearly; one made just
/// now passes, also after the log grew and on a device that remembers the last checkpoint.
async fn a_recent_cosignature_passes_and_none_fails(c: Ctx) {
    c.session()
        .await
        .expect("no witnesses listed: no co-signature needed");
    let w = witness_key("witness.clinic.example");
    c.add_witness(&w, None, None).await;
    let e = err_text(c.session().await);
    assert!(
        e.contains(
            "the access log has no co-signature from the clinic's witnesses in the last 24 hours"
        ) && e.contains("\"witness.clinic.example\" has not co-signed"),
        "{e}"
    );
    let first = c.witness(&w, None, now()).await.unwrap();
    let s = c.session().await.expect("a fresh co-signature");
    let seen = s.seen().unwrap();
    drop(s);
    // The log grows (each login is an entry); the witness checks consistency with its last
    // checkpoint and co-signs the newer one; a device that remembers its last checkpoint passes.
    c.grow().await;
    let second = c.witness(&w, Some(&first), now()).await.unwrap();
    assert!(second.checkpoint().size() > first.checkpoint().size());
    Session::open_with(&c.api, &c.admin, now(), seen)
        .await
        .expect("a device that remembers passes too");
}

/// A co-signature older than the clinic's maximum age fails, however valid.
async fn a_stale_cosignature_fails(c: Ctx) {
    let w = witness_key("witness.clinic.example");
    c.add_witness(&w, None, None).await;
    c.witness(&w, None, now() - 2 * DAY).await.unwrap();
    let e = err_text(c.session().await);
    assert!(
        e.contains("in the last 24 hours") && e.contains("last co-signed 48 hours ago"),
        "{e}"
    );
    // A fresh one passes; the same one, seen by a client whose clock is a day and a half later,
    // does not; and a clinic that tightens its policy to an hour refuses a two-hour-old one.
    c.witness(&w, None, now()).await.unwrap();
    c.session().await.expect("fresh");
    let e = err_text(c.session_at(now() + 3 * DAY / 2).await);
    assert!(e.contains("last co-signed 36 hours ago"), "{e}");
    // (A manifest change is a log entry: the witness co-signs a new checkpoint, its newest.)
    c.add_witness(&w, None, Some(3600)).await;
    c.witness(&w, None, now() - 7200).await.unwrap();
    let e = err_text(c.session().await);
    assert!(
        e.contains("in the last 1 hour") && e.contains("last co-signed 2 hours ago"),
        "{e}"
    );
}

/// A key the manifest does not list: the server refuses its co-signature, and a client shown
/// one (a server that stores it anyway) does not count it.
async fn an_unlisted_witness_is_refused_by_server_and_client(c: Ctx) {
    let listed = witness_key("witness.clinic.example");
    c.add_witness(&listed, None, None).await;
    let stranger = witness_key("stranger.example");
    let refused = c.witness(&stranger, None, now()).await.unwrap_err();
    assert!(
        matches!(&refused, ClientError::Api { status: 403, code, .. } if code == "forbidden"),
        "{refused}"
    );
    // Same name as the listed witness, another key: also unlisted.
    let impostor = witness_key("witness.clinic.example");
    let refused = c.witness(&impostor, None, now()).await.unwrap_err();
    assert!(
        matches!(refused, ClientError::Api { status: 403, .. }),
        "{refused}"
    );
    // A malicious server serves the stranger's co-signature as if it counted.
    let log_key = c.log_key.clone();
    c.set_rewrite(Some(Arc::new(move |mut view: LogCheckpointView| {
        let mut signed = SignedCheckpoint::verify(view.checkpoint.as_bytes(), &log_key).unwrap();
        let line = stranger.cosign(&signed, now() as u64).unwrap();
        signed
            .add_cosignature(&stranger.witness_key(), line)
            .unwrap();
        view.witnessed = vec![vaiti_core::api::WitnessedCheckpoint {
            size: view.size,
            checkpoint: String::from_utf8(signed.to_bytes()).unwrap(),
            proof: vaiti_core::Sealed(Vec::new()),
        }];
        view
    })));
    let e = err_text(c.session().await);
    assert!(
        e.contains("no co-signature from the clinic's witnesses")
            && e.contains("\"stranger.example\", a key the clinic manifest does not list"),
        "{e}"
    );
    c.set_rewrite(None);
    c.witness(&listed, None, now()).await.unwrap();
    c.session()
        .await
        .expect("the listed witness's co-signature");
}

/// A co-signature line that claims the listed witness but does not verify is a hard error, even
/// next to a valid one.
async fn a_forged_cosignature_fails(c: Ctx) {
    let w = witness_key("witness.clinic.example");
    c.add_witness(&w, None, None).await;
    c.witness(&w, None, now()).await.unwrap();
    c.session().await.unwrap();
    c.set_rewrite(Some(Arc::new(|mut view: LogCheckpointView| {
        for wc in &mut view.witnessed {
            // Flip a bit of the last signature byte of the witness's line.
            let line = wc.checkpoint.lines().last().unwrap().to_owned();
            let (head, sig) = line.rsplit_once(' ').unwrap();
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD;
            let mut raw = b64.decode(sig).unwrap();
            *raw.last_mut().unwrap() ^= 1;
            wc.checkpoint = wc
                .checkpoint
                .replace(&line, &format!("{head} {}", b64.encode(raw)));
        }
        view
    })));
    let e = err_text(c.session().await);
    assert!(
        e.contains("witness \"witness.clinic.example\"'s does not verify (forged)"),
        "{e}"
    );
}

/// The witness was shown a fork (the server, with its own key, signed another tree of an
/// earlier size and the witness co-signed it); clients are shown the real log. The co-signed
/// checkpoint is not part of the newest one: every client refuses.
async fn a_cosigned_fork_of_the_newest_checkpoint_fails(c: Ctx) {
    let w = witness_key("witness.clinic.example");
    c.add_witness(&w, None, None).await;
    let log = stolen_log_key(&c).await;
    let size = c.log_size().await;
    let fork_size = size - 1;
    let forged = log
        .sign(&Checkpoint::new(log.log_key().name(), fork_size, [7; 32]).unwrap())
        .unwrap();
    c.db.query("DELETE FROM log_checkpoints WHERE clinic_id = $1 AND size = $2")
        .bind(c.clinic.as_bytes().to_vec())
        .bind(fork_size as i64)
        .execute()
        .await;
    c.db.query(
        "INSERT INTO log_checkpoints (clinic_id, size, note, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(c.clinic.as_bytes().to_vec())
    .bind(fork_size as i64)
    .bind(forged.to_bytes())
    .bind(now())
    .execute()
    .await;
    // The witness, shown only the fork, co-signs it; the server accepts (it is its own checkpoint).
    let line = w.cosign(&forged, now() as u64).unwrap();
    submit_cosignature(&Api::new(&c.url).unwrap(), c.clinic, fork_size, &line)
        .await
        .unwrap();
    let e = err_text(c.session().await);
    assert!(
        e.contains(&format!(
            "the checkpoint the clinic's witnesses co-signed (size {fork_size}) is not part of the log the server now shows"
        )) && e.contains("a fork"),
        "{e}"
    );
}

/// The log's signing key, as an intruder with the database reads it.
async fn stolen_log_key(c: &Ctx) -> LogSigningKey {
    let name = format!("log-signing-key/{}", c.clinic);
    let seed: Vec<u8> =
        c.db.query("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_scalar()
            .await;
    let log = LogSigningKey::from_seed(
        &vaiti_client::admin::log_origin(c.clinic),
        &seed.try_into().unwrap(),
    )
    .unwrap();
    assert!(log.log_key() == c.log_key, "the stolen key is the log's");
    log
}

/// The server cuts its log back: the witness, which co-signed the longer log, refuses, and
/// does not store what it was shown.
async fn the_witness_refuses_a_rollback(c: Ctx) {
    let w = witness_key("witness.clinic.example");
    c.add_witness(&w, None, None).await;
    let last = c.witness(&w, None, now()).await.unwrap();
    let seen = last.checkpoint().size();
    let cut = seen as i64 - 2;
    let clinic2 = || c.clinic.as_bytes().to_vec();
    c.db.query("DELETE FROM log_cosignatures WHERE clinic_id = $1")
        .bind(clinic2())
        .execute()
        .await;
    c.db.query("DELETE FROM log_checkpoints WHERE clinic_id = $1")
        .bind(clinic2())
        .execute()
        .await;
    c.db.query("DELETE FROM log_leaves WHERE clinic_id = $1 AND idx >= $2")
        .bind(clinic2())
        .bind(cut)
        .execute()
        .await;
    let nodes: Vec<(i64, i64)> =
        c.db.query("SELECT level, idx FROM log_nodes")
            .fetch_all()
            .await;
    for (level, idx) in nodes {
        if (idx + 1) << level > cut {
            c.db.query("DELETE FROM log_nodes WHERE clinic_id = $1 AND level = $2 AND idx = $3")
                .bind(clinic2())
                .bind(level)
                .bind(idx)
                .execute()
                .await;
        }
    }
    let persisted = AtomicBool::new(false);
    let refused = witness_once(
        &Api::new(&c.url).unwrap(),
        c.clinic,
        &c.log_key,
        &w,
        Some(&last),
        now() as u64,
        |_| {
            persisted.store(true, Ordering::SeqCst);
            Ok(())
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        refused.contains("REFUSED TO CO-SIGN") && refused.contains("a rollback"),
        "{refused}"
    );
    assert!(
        !persisted.load(Ordering::SeqCst),
        "the witness kept its state"
    );
}

/// The server shows the witness another tree (signed with the log's own key): the witness
/// refuses, whether the fork is of the same size or of a larger one.
async fn the_witness_refuses_a_fork(c: Ctx) {
    let w = witness_key("witness.clinic.example");
    c.add_witness(&w, None, None).await;
    let last = c.witness(&w, None, now()).await.unwrap();
    let log = stolen_log_key(&c).await;
    let clinic = || c.clinic.as_bytes().to_vec();
    // First another tree of the same size; then, after the log grew, a larger tree that does
    // not extend the witness's checkpoint.
    for grow in [false, true] {
        if grow {
            c.grow().await;
        }
        let size = c.log_size().await;
        assert_eq!(size > last.checkpoint().size(), grow);
        c.db.query("DELETE FROM log_checkpoints WHERE clinic_id = $1")
            .bind(clinic())
            .execute()
            .await;
        let forged = log
            .sign(&Checkpoint::new(log.log_key().name(), size, [size as u8; 32]).unwrap())
            .unwrap();
        c.db.query(
            "INSERT INTO log_checkpoints (clinic_id, size, note, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(clinic())
        .bind(size as i64)
        .bind(forged.to_bytes())
        .bind(now())
        .execute()
        .await;
        let persisted = AtomicBool::new(false);
        let refused = witness_once(
            &Api::new(&c.url).unwrap(),
            c.clinic,
            &c.log_key,
            &w,
            Some(&last),
            now() as u64,
            |_| {
                persisted.store(true, Ordering::SeqCst);
                Ok(())
            },
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            refused.contains("REFUSED TO CO-SIGN") && refused.contains("fork"),
            "size {size}: {refused}"
        );
        assert!(
            !persisted.load(Ordering::SeqCst),
            "the witness kept its state"
        );
    }
}

/// A quorum of two: one witness is not enough; two witnesses that co-signed different
/// checkpoints (each ran when the log had another size) are.
async fn a_quorum_needs_distinct_witnesses(c: Ctx) {
    let (a, b) = (
        witness_key("a.witness.example"),
        witness_key("b.witness.example"),
    );
    c.add_witness(&a, None, None).await;
    c.add_witness(&b, Some(2), None).await;
    let a_last = c.witness(&a, None, now()).await.unwrap();
    c.grow().await;
    let e = err_text(c.session().await);
    assert!(
        e.contains("co-signatures from only 1 of the 2 witnesses the clinic requires")
            && e.contains("\"b.witness.example\" has not co-signed"),
        "{e}"
    );
    let b_last = c.witness(&b, None, now()).await.unwrap();
    assert!(
        b_last.checkpoint().size() > a_last.checkpoint().size(),
        "the log grew between the two runs"
    );
    c.session().await.expect("two distinct witnesses");
    // Unlisting one lowers the quorum to the one left.
    change_witnesses(
        &c.api,
        &c.admin,
        &WitnessChange::Remove {
            vkey: b.witness_key().to_vkey(),
        },
        now(),
    )
    .await
    .unwrap();
    let s = c.session().await.expect("one witness left");
    assert_eq!(s.manifest.witness_quorum, 1);
    assert_eq!(s.manifest.witnesses, vec![a.witness_key().to_vkey()]);
}

/// The public endpoints answer junk with clear 4xx errors and store nothing.
async fn the_public_endpoints_reject_junk(c: Ctx) {
    let w = witness_key("witness.clinic.example");
    c.add_witness(&w, None, None).await;
    let public = Api::new(&c.url).unwrap();
    let path = format!("/clinics/{}/log/cosignatures", c.clinic);
    let post = |body: serde_json::Value| {
        let public = public.clone();
        let path = path.clone();
        async move { public.post_no_content(&path, &body).await }
    };
    let status = |r: Result<(), ClientError>| match r {
        Err(ClientError::Api { status, .. }) => status,
        other => panic!("expected an API error, got {other:?}"),
    };
    let view = vaiti_client::witness::fetch_for_witness(&public, c.clinic, 0)
        .await
        .unwrap();
    let signed = SignedCheckpoint::verify(view.checkpoint.as_bytes(), &c.log_key).unwrap();
    let good = w.cosign(&signed, now() as u64).unwrap().to_line();
    let body = |size: u64, line: &str| serde_json::json!({ "size": size, "cosignature": line });
    assert_eq!(
        status(post(serde_json::json!({ "size": 1 })).await),
        400,
        "no line"
    );
    assert_eq!(
        status(post(body(view.size, "not a line")).await),
        400,
        "not a line"
    );
    assert_eq!(
        status(
            post(serde_json::json!({ "size": view.size, "cosignature": good, "extra": 1 })).await
        ),
        400,
        "unknown fields"
    );
    assert_eq!(
        status(post(body(view.size, &"x".repeat(600))).await),
        400,
        "too long a line"
    );
    assert_eq!(
        status(post(body(view.size, &format!("— {}", "y".repeat(4000)))).await),
        413,
        "too large a body"
    );
    assert_eq!(
        status(post(body(view.size + 100, &good)).await),
        404,
        "no such checkpoint"
    );
    // The right witness, the wrong checkpoint: signed over one size, submitted for another.
    c.grow().await;
    let newer = vaiti_client::witness::fetch_for_witness(&public, c.clinic, 0)
        .await
        .unwrap();
    assert!(newer.size > view.size);
    assert_eq!(
        status(post(body(newer.size, &good)).await),
        400,
        "another checkpoint's"
    );
    let future = w.cosign(&signed, (now() + DAY) as u64).unwrap().to_line();
    assert_eq!(
        status(post(body(view.size, &future)).await),
        400,
        "dated tomorrow"
    );
    let unknown = vaiti_core::ClinicId::from_bytes([9; 16]);
    let r = public
        .post_no_content(
            &format!("/clinics/{unknown}/log/cosignatures"),
            &SubmitCosignature {
                size: view.size,
                cosignature: good.clone(),
            },
        )
        .await;
    assert_eq!(status(r), 404, "unknown clinic");
    let r = vaiti_client::witness::fetch_for_witness(&public, unknown, 0).await;
    assert!(
        matches!(r, Err(ClientError::Api { status: 404, .. })),
        "{r:?}"
    );
    let r: Result<serde_json::Value, _> = public
        .get(&format!("/clinics/{}/log/witness?from=minus-one", c.clinic))
        .await;
    assert!(
        matches!(r, Err(ClientError::Api { status: 400, .. })),
        "{r:?}"
    );
    // Nothing was stored: clients still see no co-signature. Then the good one is accepted.
    assert!(err_text(c.session().await).contains("no co-signature"));
    post(body(view.size, &good)).await.unwrap();
    c.session().await.expect("the good co-signature");
}
