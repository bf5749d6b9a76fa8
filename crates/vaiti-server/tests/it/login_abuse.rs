//! Abuse of the login, registration and password routes, as an attacker without a password
//! would try it, on both store backends: floods of login starts that would lock real users out
//! (they must not, and they must raise an alert), registration probes that would tell which
//! login names exist (they must not), and a stolen session changing its owner's password (it
//! must not). Requests carry the source address the way `serve` hands it to the router
//! (`ConnectInfo`), and time is the harness's clock: no test sleeps.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use sha2::Digest as _;
use tower::ServiceExt as _;
use vaiti_core::{ClinicId, UserId};
use vaiti_opaque::opaque_ke::{
    ClientLogin, ClientLoginFinishParameters, ClientRegistration,
    ClientRegistrationFinishParameters, CredentialResponse, RegistrationResponse,
};
use vaiti_opaque::{OsRng, VaitiOpaqueSuite as Suite};
use vaiti_server::{AppState, CLINIC_CREATION_HEADER};

const TOKEN: &str = "operator-token-operator-token-operator-token";
const ADMIN: &str = "aino@clinic.example";
const PASSWORD: &[u8] = b"the admin's password and secret key input";
/// The real users' addresses: each logs in now and then.
const ADMIN_ADDR: &str = "198.51.100.7:50123";
/// The attacker's one address.
const ATTACKER: &str = "203.0.113.66:40000";

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

struct Harness {
    backend: Backend,
    app: axum::Router,
    now: Arc<AtomicI64>,
    dir: Option<std::path::PathBuf>,
    pg: Option<Arc<vaiti_store::PostgresStore>>,
}

fn random_hex() -> String {
    let mut r = [0u8; 12];
    getrandom::fill(&mut r).unwrap();
    r.iter().map(|b| format!("{b:02x}")).collect()
}

async fn harness(backend: Backend) -> Harness {
    harness_with(backend, false).await
}

/// A harness whose server runs behind a TLS proxy (`--behind-tls-proxy`) when `proxy`.
async fn harness_with(backend: Backend, proxy: bool) -> Harness {
    let (store, dir, pg): (Arc<dyn vaiti_store::Store>, _, _) = match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("vaiti-abuse-{}", random_hex()));
            let store = Arc::new(vaiti_store::SqliteStore::open(&dir).await.unwrap());
            (store, Some(dir), None)
        }
        Backend::Postgres => {
            let url = vaiti_store::conformance::test_database_url();
            let schema = format!("vaiti_abuse_{}", random_hex());
            let store = Arc::new(
                vaiti_store::PostgresStore::connect_in_schema(&url, &schema)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("these tests need PostgreSQL (they fail, never skip): {e}")
                    }),
            );
            (store.clone(), None, Some(store))
        }
    };
    let now = Arc::new(AtomicI64::new(1_800_000_000));
    let clock_now = now.clone();
    let state = AppState::new(
        store,
        Some(sha2::Sha256::digest(TOKEN.as_bytes()).into()),
        Arc::new(move || clock_now.load(Ordering::SeqCst)),
    )
    .await
    .unwrap()
    .with_proxy(proxy);
    Harness {
        backend,
        app: vaiti_server::router(state),
        now,
        dir,
        pg,
    }
}

impl Harness {
    async fn clean_up(self) {
        self.clean_up_ref().await;
    }

    async fn clean_up_ref(&self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(pg) = &self.pg {
            pg.drop_schema().await.unwrap();
        }
    }

    /// One request from `from` (none: no `ConnectInfo`, as a test router without a socket).
    async fn call(
        &self,
        from: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string()))
                .unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        if let Some(from) = from {
            let addr: SocketAddr = from.parse().unwrap();
            req.extensions_mut().insert(ConnectInfo(addr));
        }
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, value)
    }

    /// A clinic whose first admin logs in as [`ADMIN`] with [`PASSWORD`].
    async fn clinic(&self) -> (ClinicId, UserId) {
        let clinic = ClinicId::generate().unwrap();
        let admin = UserId::generate().unwrap();
        let start = ClientRegistration::<Suite>::start(&mut OsRng, PASSWORD).unwrap();
        let (status, resp) = self
            .call(
                Some(ADMIN_ADDR),
                "POST",
                "/api/v1/opaque/register",
                Some(json!({ "clinic": clinic, "user": admin, "request": b64(&start.message.serialize()) })),
                &[(CLINIC_CREATION_HEADER, TOKEN)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{resp}");
        let response =
            RegistrationResponse::<Suite>::deserialize(&unb64(&resp["response"])).unwrap();
        let upload = start
            .state
            .finish(
                &mut OsRng,
                PASSWORD,
                response,
                ClientRegistrationFinishParameters::default(),
            )
            .unwrap()
            .message
            .serialize()
            .to_vec();
        let (status, body) = self
            .call(
                Some(ADMIN_ADDR),
                "POST",
                "/api/v1/clinics",
                Some(clinic_body(clinic, admin, &upload)),
                &[(CLINIC_CREATION_HEADER, TOKEN)],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (clinic, admin)
    }

    /// A login start the attacker makes: well-formed, with a guessed password, never finished.
    async fn start_only(&self, from: &str, clinic: ClinicId, login: &str) -> StatusCode {
        let start = ClientLogin::<Suite>::start(&mut OsRng, b"a guess").unwrap();
        self.call(
            Some(from),
            "POST",
            &format!("/api/v1/clinics/{clinic}/login/start"),
            Some(json!({ "login": login, "request": b64(&start.message.serialize()) })),
            &[],
        )
        .await
        .0
    }

    /// Both login rounds from `from`; the finish status and body.
    async fn login(
        &self,
        from: &str,
        clinic: ClinicId,
        login: &str,
        password: &[u8],
    ) -> (StatusCode, Value) {
        let start = ClientLogin::<Suite>::start(&mut OsRng, password).unwrap();
        let (status, challenge) = self
            .call(
                Some(from),
                "POST",
                &format!("/api/v1/clinics/{clinic}/login/start"),
                Some(json!({ "login": login, "request": b64(&start.message.serialize()) })),
                &[],
            )
            .await;
        if status != StatusCode::OK {
            return (status, challenge);
        }
        let response =
            CredentialResponse::<Suite>::deserialize(&unb64(&challenge["response"])).unwrap();
        let finalization = match start.state.finish(
            &mut OsRng,
            password,
            response,
            ClientLoginFinishParameters::default(),
        ) {
            Ok(done) => done.message.serialize().to_vec(),
            Err(_) => vec![0u8; 64],
        };
        self.call(
            Some(from),
            "POST",
            &format!("/api/v1/clinics/{clinic}/login/finish"),
            Some(json!({ "login_id": challenge["login_id"], "finalization": b64(&finalization) })),
            &[],
        )
        .await
    }

    /// Logs the admin in from their own address; the bearer header value.
    async fn admin_session(&self, clinic: ClinicId) -> String {
        let (status, session) = self.login(ADMIN_ADDR, clinic, ADMIN, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "the admin must get in: {session}");
        format!("Bearer {}", session["token"].as_str().unwrap())
    }

    /// The kinds of the clinic's alerts.
    async fn alert_kinds(&self, clinic: ClinicId, bearer: &str) -> Vec<String> {
        let (status, alerts) = self
            .call(
                Some(ADMIN_ADDR),
                "GET",
                &format!("/api/v1/clinics/{clinic}/alerts"),
                None,
                &[("authorization", bearer)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{alerts}");
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["kind"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &Value) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.as_str().unwrap())
        .unwrap()
}

fn clinic_body(clinic: ClinicId, admin: UserId, upload: &[u8]) -> Value {
    let keys = json!({
        "wrapped_account_key": b64(&[1; 129]),
        "wrapped_decryption_key": b64(&[2; 129]),
        "wrapped_signing_key": b64(&[3; 129]),
        "wrapped_cache_key": b64(&[4; 129]),
        "root_pin": b64(&[5; 129]),
        "encryption_public_key": b64(&[6; 1216]),
        "verifying_key": b64(&[7; 32]),
    });
    json!({
        "id": clinic,
        "manifest": crate::fixture::manifest(clinic, 1).0,
        "manifest_signature": crate::fixture::manifest(clinic, 1).1,
        "admin": {
            "id": admin, "login": ADMIN, "display_name": "Aino Admin", "keys": keys,
            "opaque_upload": b64(upload),
        },
        "certificate": { "body": b64(b"{\"v\":1}"), "signature": b64(&[9; 65]), "issuer_key": "00112233445566778899aabbccddeeff", "expires_at": 1_900_000_000 },
        "root_wraps": [
            { "scope": { "type": "root" }, "recipient": { "type": "user", "user": admin }, "recipient_key": "0102030405060708090a0b0c0d0e0f10", "wrap": b64(&[10; 1243]), "signature": b64(&[11; 65]) },
            { "scope": { "type": "root" }, "recipient": { "type": "escrow" }, "recipient_key": "1102030405060708090a0b0c0d0e0f10", "wrap": b64(&[12; 1243]), "signature": b64(&[13; 65]) },
        ],
    })
}

/// Declares `sqlite_<case>` and `postgres_<case>` for each `async fn case(h: &Harness)`.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let h = super::harness(super::Backend::Sqlite).await;
                    super::$case(&h).await;
                    h.clean_up().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let h = super::harness(super::Backend::Postgres).await;
                    super::$case(&h).await;
                    h.clean_up().await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_flood_naming_one_user_from_one_address_locks_out_only_the_attacker,
    forged_forwarded_for_headers_make_no_new_sources,
    a_flood_of_random_names_from_one_address_locks_out_only_the_attacker,
    junk_and_unknown_clinics_count_for_nothing,
    a_registration_probe_tells_nothing_about_login_names,
    a_stolen_session_cannot_change_the_password,
);

// ---- Finding 6: lock-outs without a password ----

/// The attacker sends well-formed and junk login starts naming the admin from one address, in a
/// bounded loop; the admin logs in from their own address throughout, and gets in every time.
async fn a_flood_naming_one_user_from_one_address_locks_out_only_the_attacker(h: &Harness) {
    let (clinic, _) = h.clinic().await;
    let mut refused = 0;
    for round in 0..5 {
        for _ in 0..40 {
            if h.start_only(ATTACKER, clinic, ADMIN).await == StatusCode::TOO_MANY_REQUESTS {
                refused += 1;
            }
            // Junk: a login request that is no OPAQUE message.
            let (status, _) = h
                .call(
                    Some(ATTACKER),
                    "POST",
                    &format!("/api/v1/clinics/{clinic}/login/start"),
                    Some(json!({ "login": ADMIN, "request": b64(b"junk") })),
                    &[],
                )
                .await;
            assert!(status.is_client_error(), "junk got {status}");
        }
        let (status, body) = h.login(ADMIN_ADDR, clinic, ADMIN, PASSWORD).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "round {round}: the admin was locked out: {body}"
        );
        // The next minute, the attacker starts again.
        h.now.fetch_add(61, Ordering::SeqCst);
    }
    assert!(refused > 0, "the attacker was never throttled");
    let bearer = h.admin_session(clinic).await;
    assert!(
        h.alert_kinds(clinic, &bearer)
            .await
            .iter()
            .any(|k| k == "failed_login_burst"),
        "a login flood must raise an alert"
    );
}

/// The attacker sends each start with a made-up `X-Forwarded-For`, hoping to be counted as many
/// sources. Without a proxy the header is ignored; behind one, only the right-most entry (the
/// one the proxy appends) counts. Either way the attacker is throttled and the admin gets in.
async fn forged_forwarded_for_headers_make_no_new_sources(h: &Harness) {
    for proxy in [false, true] {
        let h = &harness_with(h.backend, proxy).await;
        let (clinic, _) = h.clinic().await;
        let mut refused = 0;
        for i in 0..60u32 {
            let forged = format!("10.{}.{}.1", i / 256, i % 256);
            let header = if proxy {
                // The proxy appends the attacker's real address after whatever they sent.
                format!("{forged}, 203.0.113.66")
            } else {
                forged
            };
            let start = ClientLogin::<Suite>::start(&mut OsRng, b"a guess").unwrap();
            let (status, _) = h
                .call(
                    Some(if proxy { "127.0.0.1:9999" } else { ATTACKER }),
                    "POST",
                    &format!("/api/v1/clinics/{clinic}/login/start"),
                    Some(json!({ "login": ADMIN, "request": b64(&start.message.serialize()) })),
                    &[("x-forwarded-for", header.as_str())],
                )
                .await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                refused += 1;
            }
        }
        assert!(refused >= 50, "proxy {proxy}: only {refused} refused");
        // The admin, behind the same proxy from their own address, gets in.
        let (status, body) = if proxy {
            let start = ClientLogin::<Suite>::start(&mut OsRng, PASSWORD).unwrap();
            let (status, challenge) = h
                .call(
                    Some("127.0.0.1:9999"),
                    "POST",
                    &format!("/api/v1/clinics/{clinic}/login/start"),
                    Some(json!({ "login": ADMIN, "request": b64(&start.message.serialize()) })),
                    &[("x-forwarded-for", "198.51.100.7")],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{challenge}");
            (status, challenge)
        } else {
            h.login(ADMIN_ADDR, clinic, ADMIN, PASSWORD).await
        };
        assert!(status.is_success(), "proxy {proxy}: {body}");
        h.clean_up_ref().await;
    }
}

/// ~650 login starts with random names from one address within the same second: the whole
/// clinic must not be locked out, and the flood alerts.
async fn a_flood_of_random_names_from_one_address_locks_out_only_the_attacker(h: &Harness) {
    let (clinic, _) = h.clinic().await;
    for i in 0..650 {
        let name = format!("{}@clinic.example", random_hex());
        h.start_only(ATTACKER, clinic, &name).await;
        if i % 325 == 324 {
            let (status, body) = h.login(ADMIN_ADDR, clinic, ADMIN, PASSWORD).await;
            assert_eq!(status, StatusCode::OK, "after {i} starts: {body}");
        }
    }
    let bearer = h.admin_session(clinic).await;
    assert!(
        h.alert_kinds(clinic, &bearer)
            .await
            .iter()
            .any(|k| k == "failed_login_burst"),
        "a login flood must raise an alert"
    );
}

/// Malformed starts, and starts for clinics that do not exist, are not counted against anyone:
/// the attacker's own address still logs in as a user would (a shared office address, say).
async fn junk_and_unknown_clinics_count_for_nothing(h: &Harness) {
    let (clinic, _) = h.clinic().await;
    for _ in 0..100 {
        let (status, _) = h
            .call(
                Some(ADMIN_ADDR),
                "POST",
                &format!("/api/v1/clinics/{clinic}/login/start"),
                Some(json!({ "login": ADMIN, "request": b64(&[7u8; 96]) })),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let nowhere = ClinicId::generate().unwrap();
        assert_eq!(
            h.start_only(ADMIN_ADDR, nowhere, ADMIN).await,
            StatusCode::NOT_FOUND
        );
    }
    let (status, body) = h.login(ADMIN_ADDR, clinic, ADMIN, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A router without a socket (no `ConnectInfo`) answers rather than panics.
    let start = ClientLogin::<Suite>::start(&mut OsRng, PASSWORD).unwrap();
    let (status, _) = h
        .call(
            None,
            "POST",
            &format!("/api/v1/clinics/{clinic}/login/start"),
            Some(json!({ "login": ADMIN, "request": b64(&start.message.serialize()) })),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

// ---- Finding 8: account enumeration through registration ----

/// The attacker's OPRF comparison: the evaluated element of a login start for `login`, and of a
/// registration start (same blinded element) for the credential identifier an unknown name would
/// use. Equal means "this name does not exist". Returns `None` if registration was refused.
async fn probe(
    h: &Harness,
    clinic: ClinicId,
    login: &str,
    extra: Option<(&str, Value)>,
) -> Option<bool> {
    let start = ClientLogin::<Suite>::start(&mut OsRng, b"anything").unwrap();
    let request = start.message.serialize().to_vec();
    let blinded = &request[..32];
    let digest = sha2::Sha256::new()
        .chain_update(b"vaiti v1 unknown login")
        .chain_update(clinic.as_bytes())
        .chain_update(login.as_bytes())
        .finalize();
    let mut stand_in = [0u8; 16];
    stand_in.copy_from_slice(&digest[..16]);
    let mut body =
        json!({ "clinic": clinic, "user": UserId::from_bytes(stand_in), "request": b64(blinded) });
    if let Some((key, value)) = extra {
        body[key] = value;
    }
    let (status, registered) = h
        .call(
            Some(ATTACKER),
            "POST",
            "/api/v1/opaque/register",
            Some(body),
            &[],
        )
        .await;
    if status != StatusCode::OK {
        assert!(status.is_client_error(), "{status}: {registered}");
        assert!(registered["error"]["code"].is_string(), "{registered}");
        return None;
    }
    let (status, challenge) = h
        .call(
            Some(ATTACKER),
            "POST",
            &format!("/api/v1/clinics/{clinic}/login/start"),
            Some(json!({ "login": login, "request": b64(&request) })),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{challenge}");
    Some(unb64(&registered["response"])[..32] == unb64(&challenge["response"])[..32])
}

async fn a_registration_probe_tells_nothing_about_login_names(h: &Harness) {
    let (clinic, admin) = h.clinic().await;
    // Without an invite or the operator's token, registration is refused outright: for the
    // clinic's names, and for a clinic that does not exist yet alike.
    assert_eq!(
        probe(h, clinic, ADMIN, None).await,
        None,
        "no invite, no token"
    );
    assert_eq!(
        probe(h, clinic, "nobody@clinic.example", None).await,
        None,
        "no invite, no token"
    );
    // With an open invite (its id is the object of a log leaf), the probe runs, but says the
    // same of a real name and of an unknown one.
    let bearer = h.admin_session(clinic).await;
    let invite = "12".repeat(16);
    let now = h.now.load(Ordering::SeqCst);
    let signed = json!({
        "body": b64(json!({
            "v": 1, "clinic": clinic, "invite": invite, "kind": "staff", "roles": ["therapist"],
            "branches": [], "email": "t@clinic.example", "chart": null, "expires_at": now + 3600,
            "invite_key": "ab".repeat(32), "root_check": "cd".repeat(32), "inviter": admin,
        }).to_string().as_bytes()),
        "signature": b64(&[14; 65]),
    });
    let (status, body) = h
        .call(
            Some(ADMIN_ADDR),
            "POST",
            &format!("/api/v1/clinics/{clinic}/invites"),
            Some(signed),
            &[("authorization", bearer.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let known = probe(h, clinic, ADMIN, Some(("invite", json!(invite)))).await;
    let unknown = probe(
        h,
        clinic,
        "nobody@clinic.example",
        Some(("invite", json!(invite))),
    )
    .await;
    assert_eq!(
        known, unknown,
        "a registration probe must not tell a real login name from an unknown one"
    );
    // An invite that does not exist is no key either.
    assert_eq!(
        probe(h, clinic, ADMIN, Some(("invite", json!("34".repeat(16))))).await,
        None
    );
}

// ---- Finding 10: a password change needs the current password ----

/// The attacker holds a fresh session token of the admin (a device left unlocked, a token read
/// from a profile) but not the password, and tries to change the password to one of theirs.
async fn a_stolen_session_cannot_change_the_password(h: &Harness) {
    let (clinic, _) = h.clinic().await;
    let stolen = h.admin_session(clinic).await;
    let auth = [("authorization", stolen.as_str())];
    let new: &[u8] = b"the attacker's own password";
    let registration = ClientRegistration::<Suite>::start(&mut OsRng, new).unwrap();
    // The login half of the request, with a guess at the current password.
    let guess = ClientLogin::<Suite>::start(&mut OsRng, b"a guess").unwrap();
    let (status, started) = h
        .call(
            Some(ATTACKER),
            "POST",
            &format!("/api/v1/clinics/{clinic}/password/start"),
            Some(json!({
                "request": b64(&registration.message.serialize()),
                "login": b64(&guess.message.serialize()),
            })),
            &auth,
        )
        .await;
    if status == StatusCode::OK {
        let response =
            RegistrationResponse::<Suite>::deserialize(&unb64(&started["response"])).unwrap();
        let upload = registration
            .state
            .finish(
                &mut OsRng,
                new,
                response,
                ClientRegistrationFinishParameters::default(),
            )
            .unwrap();
        // The guess cannot finish the login: send what an attacker can, a made-up finalization.
        let (status, err) = h
            .call(
                Some(ATTACKER),
                "POST",
                &format!("/api/v1/clinics/{clinic}/password"),
                Some(json!({
                    "login_id": started["login_id"],
                    "finalization": b64(&[0u8; 64]),
                    "opaque_upload": b64(&upload.message.serialize()),
                    "wrapped_account_key": b64(&[1; 129]),
                })),
                &auth,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
        assert_eq!(err["error"]["code"], "login_failed");
    }
    // The password is unchanged: the attacker's does not work, the admin's does, and the stolen
    // session is still the admin's (it was not ended by a failed change).
    assert_eq!(
        h.login(ATTACKER, clinic, ADMIN, new).await.0,
        StatusCode::UNAUTHORIZED,
        "the attacker's password was set"
    );
    assert_eq!(
        h.login(ADMIN_ADDR, clinic, ADMIN, PASSWORD).await.0,
        StatusCode::OK
    );
}
