//! Accounts through the HTTP API, driven with `oneshot` on a real SQLite store: clinic creation,
//! OPAQUE registration and login, sessions, and the ways each is refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::body::Body;
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
use vaiti_store::SqliteStore;

const TOKEN: &str = "operator-token-operator-token-operator-token";

struct Harness {
    app: axum::Router,
    now: Arc<AtomicI64>,
    dir: std::path::PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn harness_with(token: Option<&str>) -> Harness {
    harness_over(token, false).await
}

/// A harness whose server believes it is reached over TLS (its own, or a proxy's).
async fn harness_secure() -> Harness {
    harness_over(Some(TOKEN), true).await
}

async fn harness_over(token: Option<&str>, secure: bool) -> Harness {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).unwrap();
    let dir = std::env::temp_dir().join(format!("vaiti-auth-test-{}", u64::from_le_bytes(r)));
    let store = Arc::new(SqliteStore::open(&dir).await.unwrap());
    let now = Arc::new(AtomicI64::new(1_800_000_000));
    let clock_now = now.clone();
    let state = AppState::new(
        store,
        token.map(|t| sha2::Sha256::digest(t.as_bytes()).into()),
        Arc::new(move || clock_now.load(Ordering::SeqCst)),
    )
    .await
    .unwrap()
    .with_secure_transport(secure);
    Harness {
        app: vaiti_server::router(state),
        now,
        dir,
    }
}

async fn harness() -> Harness {
    harness_with(Some(TOKEN)).await
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

impl Harness {
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let (status, _, value) = self.call_full(method, path, body, headers).await;
        (status, value)
    }

    /// [`call`](Self::call), also returning the answer's headers.
    async fn call_full(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string()))
                .unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, headers, value)
    }

    /// Registers with OPAQUE and creates a clinic whose first admin logs in as `email`.
    async fn create_clinic(
        &self,
        clinic: ClinicId,
        admin: UserId,
        email: &str,
        password: &[u8],
    ) -> (StatusCode, Value) {
        let upload = self.register(clinic, admin, password).await;
        let body = clinic_body(clinic, admin, email, &upload);
        self.call(
            "POST",
            "/api/v1/clinics",
            Some(body),
            &[(CLINIC_CREATION_HEADER, TOKEN)],
        )
        .await
    }

    /// Registers a new clinic's first admin (with the operator's token).
    async fn register(&self, clinic: ClinicId, user: UserId, password: &[u8]) -> Vec<u8> {
        self.register_with(clinic, user, password, None).await
    }

    /// Registers a new account: with `invite`, an invitee's; without, a new clinic's first
    /// admin's (with the operator's token).
    async fn register_with(
        &self,
        clinic: ClinicId,
        user: UserId,
        password: &[u8],
        invite: Option<&str>,
    ) -> Vec<u8> {
        self.try_register(clinic, user, password, invite)
            .await
            .unwrap_or_else(|(status, resp)| panic!("{status}: {resp}"))
    }

    /// [`register_with`](Self::register_with), or the refusal.
    async fn try_register(
        &self,
        clinic: ClinicId,
        user: UserId,
        password: &[u8],
        invite: Option<&str>,
    ) -> Result<Vec<u8>, (StatusCode, Value)> {
        let start = ClientRegistration::<Suite>::start(&mut OsRng, password).unwrap();
        let mut body =
            json!({ "clinic": clinic, "user": user, "request": b64(&start.message.serialize()) });
        let headers: &[(&str, &str)] = match invite {
            Some(invite) => {
                body["invite"] = json!(invite);
                &[]
            }
            None => &[(CLINIC_CREATION_HEADER, TOKEN)],
        };
        let (status, resp) = self
            .call("POST", "/api/v1/opaque/register", Some(body), headers)
            .await;
        if status != StatusCode::OK {
            return Err((status, resp));
        }
        let response =
            RegistrationResponse::<Suite>::deserialize(&unb64(&resp["response"])).unwrap();
        let finish = start
            .state
            .finish(
                &mut OsRng,
                password,
                response,
                ClientRegistrationFinishParameters::default(),
            )
            .unwrap();
        Ok(finish.message.serialize().to_vec())
    }

    /// Runs both login rounds; returns the finish status and body.
    async fn login(&self, clinic: ClinicId, login: &str, password: &[u8]) -> (StatusCode, Value) {
        let (status, _, body) = self.login_with(clinic, login, password, &[]).await;
        (status, body)
    }

    /// Runs both login rounds, `finish_headers` on the second; returns its status, headers and
    /// body.
    async fn login_with(
        &self,
        clinic: ClinicId,
        login: &str,
        password: &[u8],
        finish_headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let start = ClientLogin::<Suite>::start(&mut OsRng, password).unwrap();
        let (status, challenge) = self
            .call(
                "POST",
                &format!("/api/v1/clinics/{clinic}/login/start"),
                Some(json!({ "login": login, "request": b64(&start.message.serialize()) })),
                &[],
            )
            .await;
        if status != StatusCode::OK {
            return (status, axum::http::HeaderMap::new(), challenge);
        }
        let response =
            CredentialResponse::<Suite>::deserialize(&unb64(&challenge["response"])).unwrap();
        // A wrong password already fails on the client: send garbage then, as an attacker would.
        let finalization = match start.state.finish(
            &mut OsRng,
            password,
            response,
            ClientLoginFinishParameters::default(),
        ) {
            Ok(done) => done.message.serialize().to_vec(),
            Err(_) => vec![0u8; 64],
        };
        self.call_full(
            "POST",
            &format!("/api/v1/clinics/{clinic}/login/finish"),
            Some(json!({ "login_id": challenge["login_id"], "finalization": b64(&finalization) })),
            finish_headers,
        )
        .await
    }
}

fn fake_keys() -> Value {
    json!({
        "wrapped_account_key": b64(&[1; 129]),
        "wrapped_decryption_key": b64(&[2; 129]),
        "wrapped_signing_key": b64(&[3; 129]),
        "wrapped_cache_key": b64(&[4; 129]),
        "root_pin": b64(&[5; 129]),
        "encryption_public_key": b64(&[6; 1216]),
        "verifying_key": b64(&[7; 32]),
    })
}

fn clinic_body(clinic: ClinicId, admin: UserId, email: &str, upload: &[u8]) -> Value {
    json!({
        "id": clinic,
        "manifest": crate::fixture::manifest(clinic, 1).0,
        "manifest_signature": crate::fixture::manifest(clinic, 1).1,
        "admin": {
            "id": admin,
            "login": email,
            "display_name": "Aino Admin",
            "keys": fake_keys(),
            "opaque_upload": b64(upload),
        },
        "certificate": { "body": b64(b"{\"v\":1}"), "signature": b64(&[9; 65]), "issuer_key": "00112233445566778899aabbccddeeff", "expires_at": 1_900_000_000 },
        "root_wraps": [
            { "scope": { "type": "root" }, "recipient": { "type": "user", "user": admin }, "recipient_key": "0102030405060708090a0b0c0d0e0f10", "wrap": b64(&[10; 1243]), "signature": b64(&[11; 65]) },
            { "scope": { "type": "root" }, "recipient": { "type": "escrow" }, "recipient_key": "1102030405060708090a0b0c0d0e0f10", "wrap": b64(&[12; 1243]), "signature": b64(&[13; 65]) },
        ],
    })
}

fn ids() -> (ClinicId, UserId) {
    (ClinicId::generate().unwrap(), UserId::generate().unwrap())
}

#[tokio::test]
async fn create_clinic_log_in_see_own_account_and_log_out() {
    let h = harness().await;
    let (clinic, admin) = ids();
    let (status, body) = h
        .create_clinic(
            clinic,
            admin,
            "aino@clinic.example",
            b"pw and secret key input",
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["clinic"], json!(clinic));

    let (status, session) = h
        .login(clinic, "aino@clinic.example", b"pw and secret key input")
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["user"], json!(admin));
    assert_eq!(
        session["expires_at"],
        json!(1_800_000_000i64 + vaiti_server::STAFF_SESSION_S)
    );
    let bearer = format!("Bearer {}", session["token"].as_str().unwrap());
    let auth = [("authorization", bearer.as_str())];

    let (status, me) = h
        .call("GET", &format!("/api/v1/clinics/{clinic}/me"), None, &auth)
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["account"]["login"], "aino@clinic.example");
    assert_eq!(me["account"]["roles"], json!(["admin"]));
    assert_eq!(me["keys"]["verifying_key"], json!(b64(&[7; 32])));
    assert_eq!(me["certificates"].as_array().unwrap().len(), 1);
    assert_eq!(me["clinic"]["manifest_version"], 1);

    let (status, _) = h
        .call(
            "POST",
            &format!("/api/v1/clinics/{clinic}/logout"),
            None,
            &auth,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = h
        .call("GET", &format!("/api/v1/clinics/{clinic}/me"), None, &auth)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error"]["code"], "unauthenticated");
}

#[tokio::test]
async fn wrong_password_and_unknown_name_look_the_same() {
    let h = harness().await;
    let (clinic, admin) = ids();
    assert_eq!(
        h.create_clinic(clinic, admin, "aino@clinic.example", b"right")
            .await
            .0,
        StatusCode::CREATED
    );
    let wrong = h.login(clinic, "aino@clinic.example", b"wrong").await;
    let unknown = h.login(clinic, "nobody@clinic.example", b"right").await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong, unknown,
        "an unknown login name must be indistinguishable from a wrong password"
    );
    assert_eq!(wrong.1["error"]["code"], "login_failed");
}

#[tokio::test]
async fn a_login_attempt_is_single_use_and_expires() {
    let h = harness().await;
    let (clinic, admin) = ids();
    h.create_clinic(clinic, admin, "aino@clinic.example", b"pw")
        .await;
    let start = ClientLogin::<Suite>::start(&mut OsRng, b"pw").unwrap();
    let (_, challenge) = h
        .call(
            "POST",
            &format!("/api/v1/clinics/{clinic}/login/start"),
            Some(json!({ "login": "aino@clinic.example", "request": b64(&start.message.serialize()) })),
            &[],
        )
        .await;
    let response =
        CredentialResponse::<Suite>::deserialize(&unb64(&challenge["response"])).unwrap();
    let done = start
        .state
        .finish(
            &mut OsRng,
            b"pw",
            response,
            ClientLoginFinishParameters::default(),
        )
        .unwrap();
    let finish = json!({ "login_id": challenge["login_id"], "finalization": b64(&done.message.serialize()) });
    let path = format!("/api/v1/clinics/{clinic}/login/finish");
    // Too late: the pending login expired.
    h.now
        .fetch_add(vaiti_server::PENDING_LOGIN_S, Ordering::SeqCst);
    assert_eq!(
        h.call("POST", &path, Some(finish.clone()), &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    // And a fresh, successful one cannot be replayed.
    let (status, _) = h.login(clinic, "aino@clinic.example", b"pw").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        h.call("POST", &path, Some(finish), &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sessions_expire_and_work_only_for_their_clinic() {
    let h = harness().await;
    let (a, admin_a) = ids();
    let (b, admin_b) = ids();
    h.create_clinic(a, admin_a, "aino@a.example", b"pw-a").await;
    h.create_clinic(b, admin_b, "bea@b.example", b"pw-b").await;
    let (_, session) = h.login(a, "aino@a.example", b"pw-a").await;
    let bearer = format!("Bearer {}", session["token"].as_str().unwrap());
    let auth = [("authorization", bearer.as_str())];
    assert_eq!(
        h.call("GET", &format!("/api/v1/clinics/{a}/me"), None, &auth)
            .await
            .0,
        StatusCode::OK
    );
    // Clinic A's session says nothing about clinic B.
    assert_eq!(
        h.call("GET", &format!("/api/v1/clinics/{b}/me"), None, &auth)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    // Clinic B's admin is not a login name in clinic A.
    assert_eq!(
        h.login(a, "bea@b.example", b"pw-b").await.0,
        StatusCode::UNAUTHORIZED
    );
    // After a working day the session is over.
    h.now
        .fetch_add(vaiti_server::STAFF_SESSION_S, Ordering::SeqCst);
    assert_eq!(
        h.call("GET", &format!("/api/v1/clinics/{a}/me"), None, &auth)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    // Garbage tokens and missing headers are refused the same way.
    for header in ["Bearer", "Bearer !!!", "Basic abc", "Bearer AAAA"] {
        let (status, _) = h
            .call(
                "GET",
                &format!("/api/v1/clinics/{a}/me"),
                None,
                &[("authorization", header)],
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{header}");
    }
    assert_eq!(
        h.call("GET", &format!("/api/v1/clinics/{a}/me"), None, &[])
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn only_the_operator_creates_clinics_and_only_once() {
    let h = harness().await;
    let (clinic, admin) = ids();
    let upload = h.register(clinic, admin, b"pw").await;
    let body = clinic_body(clinic, admin, "aino@clinic.example", &upload);
    let (status, err) = h
        .call("POST", "/api/v1/clinics", Some(body.clone()), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["error"]["code"], "forbidden");
    let wrong = [(CLINIC_CREATION_HEADER, "not-the-token")];
    assert_eq!(
        h.call("POST", "/api/v1/clinics", Some(body.clone()), &wrong)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let ok = [(CLINIC_CREATION_HEADER, TOKEN)];
    assert_eq!(
        h.call("POST", "/api/v1/clinics", Some(body.clone()), &ok)
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        h.call("POST", "/api/v1/clinics", Some(body), &ok).await.0,
        StatusCode::CONFLICT
    );
    // Registering again for an existing account is refused: it would be an OPRF oracle for it.
    // Without an invite the clinic now exists, so the token no longer opens registration.
    let start = ClientRegistration::<Suite>::start(&mut OsRng, b"pw").unwrap();
    let again =
        json!({ "clinic": clinic, "user": admin, "request": b64(&start.message.serialize()) });
    assert_eq!(
        h.call("POST", "/api/v1/opaque/register", Some(again), &ok)
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // A server that creates no clinics registers no first admins either.
    let disabled = harness_with(None).await;
    let (clinic, admin) = ids();
    let start = ClientRegistration::<Suite>::start(&mut OsRng, b"pw").unwrap();
    let (status, err) = disabled
        .call(
            "POST",
            "/api/v1/opaque/register",
            Some(json!({ "clinic": clinic, "user": admin, "request": b64(&start.message.serialize()) })),
            &ok,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    let body = clinic_body(clinic, admin, "aino@clinic.example", &upload);
    assert_eq!(
        disabled
            .call("POST", "/api/v1/clinics", Some(body), &ok)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn malformed_clinic_creation_is_refused_and_writes_nothing() {
    let h = harness().await;
    let (clinic, admin) = ids();
    let upload = h.register(clinic, admin, b"pw").await;
    let ok = [(CLINIC_CREATION_HEADER, TOKEN)];
    let mut cases = Vec::new();
    let mut c = clinic_body(clinic, admin, "not an email", &upload);
    cases.push(("login is not an email", c.clone()));
    c = clinic_body(clinic, admin, "aino@clinic.example", &upload);
    c["root_wraps"].as_array_mut().unwrap().pop();
    cases.push(("no escrow wrap", c.clone()));
    c = clinic_body(clinic, admin, "aino@clinic.example", &upload);
    c["root_wraps"][0]["recipient"]["user"] = json!(UserId::generate().unwrap());
    cases.push(("root key wrapped to a stranger", c.clone()));
    c = clinic_body(clinic, admin, "aino@clinic.example", &upload);
    c["admin"]["keys"]["verifying_key"] = json!(b64(&[1; 31]));
    cases.push(("short public key", c.clone()));
    c = clinic_body(clinic, admin, "aino@clinic.example", &upload);
    c["admin"]["opaque_upload"] = json!(b64(b"garbage"));
    cases.push(("garbage OPAQUE upload", c.clone()));
    // The first manifest, as a creation-token holder might forge it: every client would refuse
    // the clinic, and every later manifest check would have no root key to check against.
    c = clinic_body(clinic, admin, "aino@clinic.example", &upload);
    c["manifest"] = json!(b64(b"{\"v\":1}"));
    cases.push(("a manifest that is not one", c.clone()));
    c = clinic_body(clinic, admin, "aino@clinic.example", &upload);
    c["manifest_signature"] = json!(b64(&[8; 65]));
    cases.push(("an unsigned manifest", c.clone()));
    c = clinic_body(clinic, admin, "aino@clinic.example", &upload);
    c["manifest_signature"] = crate::fixture::manifest(clinic, 2).1.into();
    cases.push(("another manifest's signature", c.clone()));
    let other = ClinicId::generate().unwrap();
    let (manifest, signature) = crate::fixture::manifest(other, 1);
    c = clinic_body(clinic, admin, "aino@clinic.example", &upload);
    (c["manifest"], c["manifest_signature"]) = (manifest.into(), signature.into());
    cases.push(("another clinic's manifest", c.clone()));
    let (manifest, signature) = crate::fixture::manifest(clinic, 2);
    c = clinic_body(clinic, admin, "aino@clinic.example", &upload);
    (c["manifest"], c["manifest_signature"]) = (manifest.into(), signature.into());
    cases.push(("a first manifest claiming version 2", c.clone()));
    for (what, body) in cases {
        let (status, err) = h.call("POST", "/api/v1/clinics", Some(body), &ok).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {err}");
        assert!(err["error"]["message"].is_string(), "{what}");
    }
    // Nothing was written: the well-formed request still succeeds with the same ids.
    let (status, _) = h
        .call(
            "POST",
            "/api/v1/clinics",
            Some(clinic_body(clinic, admin, "aino@clinic.example", &upload)),
            &ok,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn bad_bodies_get_the_error_shape() {
    let h = harness().await;
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/opaque/register")
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let resp = h.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(
        &axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["error"]["code"], "bad_request");

    let huge = "x".repeat(vaiti_server::MAX_BODY_BYTES + 1);
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/opaque/register")
        .header("content-type", "application/json")
        .body(Body::from(format!("{{\"pad\":\"{huge}\"}}")))
        .unwrap();
    let resp = h.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_name() {
    let h = harness().await;
    let (clinic, admin) = ids();
    h.create_clinic(clinic, admin, "aino@clinic.example", b"pw")
        .await;
    for _ in 0..vaiti_server::limiter::PER_NAME {
        assert_eq!(
            h.login(clinic, "aino@clinic.example", b"guess").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, err) = h.login(clinic, "aino@clinic.example", b"pw").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(err["error"]["code"], "rate_limited");
    // A minute later the right password works again.
    h.now
        .fetch_add(vaiti_server::limiter::WINDOW_S, Ordering::SeqCst);
    assert_eq!(
        h.login(clinic, "aino@clinic.example", b"pw").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn directory_wraps_and_branch_checks() {
    let h = harness().await;
    let (clinic, admin) = ids();
    h.create_clinic(clinic, admin, "aino@clinic.example", b"pw")
        .await;
    let (_, session) = h.login(clinic, "aino@clinic.example", b"pw").await;
    let bearer = format!("Bearer {}", session["token"].as_str().unwrap());
    let auth = [("authorization", bearer.as_str())];

    let (status, dir) = h
        .call(
            "GET",
            &format!("/api/v1/clinics/{clinic}/directory"),
            None,
            &auth,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dir["certificates"].as_array().unwrap().len(), 1);
    // Only the wrap addressed to the admin comes back, not escrow's.
    let (_, wraps) = h
        .call(
            "GET",
            &format!("/api/v1/clinics/{clinic}/wraps"),
            None,
            &auth,
        )
        .await;
    let wraps = wraps["wraps"].as_array().unwrap();
    assert_eq!(wraps.len(), 1);
    assert_eq!(wraps[0]["recipient"]["user"], json!(admin));
    assert_eq!(wraps[0]["scope"]["type"], "root");

    let branch = vaiti_core::BranchId::generate().unwrap();
    let wrap = |recipient: Value| {
        json!({ "scope": { "type": "directory", "branch": branch, "epoch": 1 }, "recipient": recipient,
                "recipient_key": "0102030405060708090a0b0c0d0e0f10", "wrap": b64(&[1; 1243]), "signature": b64(&[2; 65]) })
    };
    let body = |wraps: Vec<Value>, expected: u64| {
        let (manifest, signature) = crate::fixture::manifest(clinic, expected + 1);
        json!({ "expected_manifest_version": expected, "manifest": manifest, "manifest_signature": signature, "wraps": wraps })
    };
    let path = format!("/api/v1/clinics/{clinic}/branches");
    // The directory key must also go to escrow.
    let (status, _) = h
        .call(
            "POST",
            &path,
            Some(body(vec![wrap(json!({"type": "user", "user": admin}))], 1)),
            &auth,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Not to an account that does not exist.
    let stranger = json!({"type": "user", "user": UserId::generate().unwrap()});
    let (status, _) = h
        .call(
            "POST",
            &path,
            Some(body(
                vec![wrap(json!({"type": "escrow"})), wrap(stranger)],
                1,
            )),
            &auth,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A next manifest not signed by the clinic's root, or not the next version, is refused.
    let mut forged = body(
        vec![
            wrap(json!({"type": "escrow"})),
            wrap(json!({"type": "user", "user": admin})),
        ],
        1,
    );
    forged["manifest_signature"] = json!(b64(&[3; 65]));
    let (status, err) = h.call("POST", &path, Some(forged), &auth).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let mut skipped = body(
        vec![
            wrap(json!({"type": "escrow"})),
            wrap(json!({"type": "user", "user": admin})),
        ],
        1,
    );
    (skipped["manifest"], skipped["manifest_signature"]) = {
        let (m, s) = crate::fixture::manifest(clinic, 3);
        (m.into(), s.into())
    };
    let (status, err) = h.call("POST", &path, Some(skipped), &auth).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    // A stale manifest version conflicts; the current one is accepted.
    let good = vec![
        wrap(json!({"type": "escrow"})),
        wrap(json!({"type": "user", "user": admin})),
    ];
    assert_eq!(
        h.call("POST", &path, Some(body(good.clone(), 7)), &auth)
            .await
            .0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        h.call("POST", &path, Some(body(good, 1)), &auth).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, dir) = h
        .call(
            "GET",
            &format!("/api/v1/clinics/{clinic}/directory"),
            None,
            &auth,
        )
        .await;
    assert_eq!(dir["clinic"]["manifest_version"], 2);
    // Without a session, nothing.
    assert_eq!(
        h.call("GET", &format!("/api/v1/clinics/{clinic}/wraps"), None, &[])
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

/// A staff invite body as an admin's client would sign it (the server reads, never verifies).
/// The key an invite's secret would derive (here: from the invite id, so the test's signup can
/// sign with the key its invite names).
fn invite_key(invite: &str) -> vaiti_crypto::SigningKey {
    vaiti_crypto::SigningKey::from_seed(
        &sha2::Sha256::digest(format!("test invite key {invite}").as_bytes()).into(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn staff_invite(
    clinic: ClinicId,
    invite: &str,
    inviter: UserId,
    email: &str,
    expires_at: i64,
) -> Value {
    let invite_key = hex(&invite_key(invite).verifying_key().to_bytes());
    json!({
        "body": b64(json!({
            "v": 1, "clinic": clinic, "invite": invite, "kind": "staff", "roles": ["therapist"],
            "branches": [], "email": email, "chart": null, "expires_at": expires_at,
            "invite_key": invite_key, "root_check": "cd".repeat(32), "inviter": inviter,
        }).to_string().as_bytes()),
        "signature": b64(&[14; 65]),
    })
}

impl Harness {
    /// Signs up a new staff account with `invite`; returns the status.
    async fn signup(
        &self,
        clinic: ClinicId,
        invite: &str,
        email: &str,
        password: &[u8],
    ) -> (StatusCode, UserId) {
        let user = UserId::generate().unwrap();
        // Registration itself needs an open invite.
        let upload = match self
            .try_register(clinic, user, password, Some(invite))
            .await
        {
            Ok(upload) => upload,
            Err((status, _)) => return (status, user),
        };
        let binding = json!({
            "v": 1, "clinic": clinic, "invite": invite, "user": user, "kind": "staff",
            "login": email, "encryption_key": b64(&[6; 1216]), "verifying_key": "07".repeat(32),
        });
        let signature = invite_key(invite)
            .sign(
                vaiti_crypto::SignatureDomain::InviteBinding,
                binding.to_string().as_bytes(),
            )
            .to_bytes();
        let (status, _) = self
            .call(
                "POST",
                &format!("/api/v1/clinics/{clinic}/signup"),
                Some(json!({
                    "invite": invite, "user": user, "login": email, "display_name": null,
                    "keys": fake_keys(), "opaque_upload": b64(&upload),
                    "binding": b64(binding.to_string().as_bytes()),
                    "binding_signature": b64(&signature),
                })),
                &[],
            )
            .await;
        (status, user)
    }
}

#[tokio::test]
async fn invites_are_single_use_expire_and_only_admins_invite_staff() {
    let h = harness().await;
    let (clinic, admin) = ids();
    h.create_clinic(clinic, admin, "admin@clinic.example", b"pw")
        .await;
    let (_, logged) = h.login(clinic, "admin@clinic.example", b"pw").await;
    let bearer = format!("Bearer {}", logged["token"].as_str().unwrap());
    let auth = [("authorization", bearer.as_str())];
    let now = h.now.load(Ordering::SeqCst);
    let invites = format!("/api/v1/clinics/{clinic}/invites");

    // Longer than 30 days, or already expired: refused.
    for expires in [now + 31 * 86400, now] {
        let id = "10".repeat(16);
        let (status, _) = h
            .call(
                "POST",
                &invites,
                Some(staff_invite(
                    clinic,
                    &id,
                    admin,
                    "t@clinic.example",
                    expires,
                )),
                &auth,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    // An invite signed in another user's name: refused.
    let (status, _) = h
        .call(
            "POST",
            &invites,
            Some(staff_invite(
                clinic,
                &"11".repeat(16),
                UserId::generate().unwrap(),
                "t@clinic.example",
                now + 3600,
            )),
            &auth,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let first = "12".repeat(16);
    let (status, body) = h
        .call(
            "POST",
            &invites,
            Some(staff_invite(
                clinic,
                &first,
                admin,
                "t@clinic.example",
                now + 3600,
            )),
            &auth,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // The invitee looks it up without a session (the id comes from the secret).
    let (status, found) = h
        .call("GET", &format!("{invites}/{first}"), None, &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["invite"]["state"], "open");
    let (status, _) = h
        .call("GET", &format!("{invites}/{}", "99".repeat(16)), None, &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Another email than the invited one: refused. Then used once; a second use is refused.
    assert_eq!(
        h.signup(clinic, &first, "other@clinic.example", b"t")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let (status, therapist) = h.signup(clinic, &first, "t@clinic.example", b"t").await;
    assert_eq!(status, StatusCode::CREATED);
    // (Registration needs an open invite: a bound one no longer lets anyone register.)
    assert_eq!(
        h.signup(clinic, &first, "t@clinic.example", b"t2").await.0,
        StatusCode::FORBIDDEN
    );
    let (_, found) = h
        .call("GET", &format!("{invites}/{first}"), None, &[])
        .await;
    assert_eq!(found["invite"]["state"], "bound");
    assert_eq!(found["invite"]["invitee"], json!(therapist));

    // Expired: refused, and no account is left behind.
    let second = "13".repeat(16);
    h.call(
        "POST",
        &invites,
        Some(staff_invite(
            clinic,
            &second,
            admin,
            "late@clinic.example",
            now + 3600,
        )),
        &auth,
    )
    .await;
    h.now.store(now + 3600, Ordering::SeqCst);
    assert_eq!(
        h.signup(clinic, &second, "late@clinic.example", b"l")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, _) = h.login(clinic, "late@clinic.example", b"l").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The new therapist can log in, but cannot invite staff.
    let (status, t) = h.login(clinic, "t@clinic.example", b"t").await;
    assert_eq!(status, StatusCode::OK);
    let tb = format!("Bearer {}", t["token"].as_str().unwrap());
    let (status, _) = h
        .call(
            "POST",
            &invites,
            Some(staff_invite(
                clinic,
                &"14".repeat(16),
                therapist,
                "x@clinic.example",
                now + 7200,
            )),
            &[("authorization", tb.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Revoking the account ends its sessions.
    let (status, _) = h
        .call(
            "POST",
            &format!("{invites}/{first}/revoke"),
            Some(json!({ "revoke_account": true })),
            &auth,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = h
        .call(
            "GET",
            &format!("/api/v1/clinics/{clinic}/me"),
            None,
            &[("authorization", tb.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.login(clinic, "t@clinic.example", b"t").await.0,
        StatusCode::UNAUTHORIZED
    );
}

impl Harness {
    /// Changes the password of the session's account, proving `current`; the status and body of
    /// the second request (or of the first, if it failed).
    async fn change_password(
        &self,
        clinic: ClinicId,
        bearer: &str,
        current: &[u8],
        new: &[u8],
    ) -> (StatusCode, Value) {
        let auth = [("authorization", bearer)];
        let login = ClientLogin::<Suite>::start(&mut OsRng, current).unwrap();
        let registration = ClientRegistration::<Suite>::start(&mut OsRng, new).unwrap();
        let (status, started) = self
            .call(
                "POST",
                &format!("/api/v1/clinics/{clinic}/password/start"),
                Some(json!({
                    "login": b64(&login.message.serialize()),
                    "request": b64(&registration.message.serialize()),
                })),
                &auth,
            )
            .await;
        if status != StatusCode::OK {
            return (status, started);
        }
        let login_response =
            CredentialResponse::<Suite>::deserialize(&unb64(&started["login_response"])).unwrap();
        let finalization = match login.state.finish(
            &mut OsRng,
            current,
            login_response,
            ClientLoginFinishParameters::default(),
        ) {
            Ok(done) => done.message.serialize().to_vec(),
            Err(_) => vec![0u8; 64],
        };
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
        self.call(
            "POST",
            &format!("/api/v1/clinics/{clinic}/password"),
            Some(json!({
                "login_id": started["login_id"],
                "finalization": b64(&finalization),
                "opaque_upload": b64(&upload.message.serialize()),
                "wrapped_account_key": b64(&[1; 129]),
            })),
            &auth,
        )
        .await
    }
}

#[tokio::test]
async fn a_password_change_proves_the_current_password_and_ends_every_session() {
    let h = harness().await;
    let (clinic, admin) = ids();
    h.create_clinic(clinic, admin, "admin@clinic.example", b"old")
        .await;
    let (_, old_session) = h.login(clinic, "admin@clinic.example", b"old").await;
    let old = format!("Bearer {}", old_session["token"].as_str().unwrap());
    let (_, other) = h.login(clinic, "admin@clinic.example", b"old").await;
    let other = format!("Bearer {}", other["token"].as_str().unwrap());
    // The session's age does not matter; the proof of the current password does.
    h.now.fetch_add(3600, Ordering::SeqCst);

    // A wrong current password changes nothing, and ends no session.
    let (status, err) = h.change_password(clinic, &old, b"wrong", b"new").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    assert_eq!(err["error"]["code"], "login_failed");
    assert_eq!(
        h.call(
            "GET",
            &format!("/api/v1/clinics/{clinic}/me"),
            None,
            &[("authorization", old.as_str())]
        )
        .await
        .0,
        StatusCode::OK
    );
    // A request without the proof is malformed.
    let start = ClientRegistration::<Suite>::start(&mut OsRng, b"new").unwrap();
    let (status, err) = h
        .call(
            "POST",
            &format!("/api/v1/clinics/{clinic}/password/start"),
            Some(json!({ "request": b64(&start.message.serialize()) })),
            &[("authorization", old.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error"]["code"], "bad_request");

    let (status, body) = h.change_password(clinic, &old, b"old", b"new").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for session in [&old, &other] {
        let (status, _) = h
            .call(
                "GET",
                &format!("/api/v1/clinics/{clinic}/me"),
                None,
                &[("authorization", session.as_str())],
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        h.login(clinic, "admin@clinic.example", b"old").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.login(clinic, "admin@clinic.example", b"new").await.0,
        StatusCode::OK
    );
}

// ---- Browser sessions: the HttpOnly cookie and the x-vaiti-client header ----

const WEB: (&str, &str) = (vaiti_server::WEB_CLIENT_HEADER, "web");

/// The one `Set-Cookie` of an answer, and the session token it carries.
fn set_cookie(headers: &axum::http::HeaderMap) -> (String, String) {
    let all: Vec<&str> = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(all.len(), 1, "one Set-Cookie: {all:?}");
    let value = all[0].to_owned();
    let token = value
        .strip_prefix("vaiti_session=")
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("not the session cookie: {value}"))
        .to_owned();
    (value, token)
}

/// A clinic whose admin has logged in from the browser app; returns the clinic and the cookie
/// header a browser would send back.
async fn web_login(h: &Harness) -> (ClinicId, String, axum::http::HeaderMap, Value) {
    let (clinic, admin) = ids();
    assert_eq!(
        h.create_clinic(clinic, admin, "aino@clinic.example", b"pw")
            .await
            .0,
        StatusCode::CREATED
    );
    let (status, headers, body) = h
        .login_with(clinic, "aino@clinic.example", b"pw", &[WEB])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, token) = set_cookie(&headers);
    (clinic, format!("vaiti_session={token}"), headers, body)
}

#[tokio::test]
async fn a_web_login_sets_an_http_only_cookie_and_returns_no_token() {
    let h = harness().await;
    let (_, _, headers, body) = web_login(&h).await;
    assert_eq!(body["token"], "", "page scripts must never see the token");
    assert_eq!(
        body["expires_at"],
        json!(1_800_000_000i64 + vaiti_server::STAFF_SESSION_S)
    );
    let (cookie, token) = set_cookie(&headers);
    assert_eq!(unb64(&json!(token)).len(), 32, "a whole session token");
    assert_eq!(
        cookie,
        format!(
            "vaiti_session={token}; Path=/api/v1/; HttpOnly; SameSite=Strict; Max-Age={}",
            vaiti_server::STAFF_SESSION_S
        ),
        "no Secure over plain HTTP on loopback"
    );
}

#[tokio::test]
async fn over_tls_the_cookie_is_secure() {
    let h = harness_secure().await;
    let (_, _, headers, _) = web_login(&h).await;
    let (cookie, _) = set_cookie(&headers);
    assert!(
        cookie.ends_with("; HttpOnly; SameSite=Strict; Max-Age=43200; Secure"),
        "{cookie}"
    );
    assert!(cookie.contains("; Path=/api/v1/;"), "{cookie}");
}

#[tokio::test]
async fn a_cli_login_sets_no_cookie_and_its_bearer_token_works() {
    let h = harness().await;
    let (clinic, admin) = ids();
    h.create_clinic(clinic, admin, "aino@clinic.example", b"pw")
        .await;
    let (status, headers, body) = h
        .login_with(clinic, "aino@clinic.example", b"pw", &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("set-cookie").is_none());
    let bearer = format!("Bearer {}", body["token"].as_str().unwrap());
    let me = format!("/api/v1/clinics/{clinic}/me");
    assert_eq!(
        h.call("GET", &me, None, &[("authorization", &bearer)])
            .await
            .0,
        StatusCode::OK
    );
    // Another header value is not the web app.
    let (_, headers, body) = h
        .login_with(clinic, "aino@clinic.example", b"pw", &[(WEB.0, "Web")])
        .await;
    assert!(headers.get("set-cookie").is_none());
    assert_ne!(body["token"], "");
}

#[tokio::test]
async fn the_cookie_counts_only_with_the_web_header() {
    let h = harness().await;
    let (clinic, cookie, _, _) = web_login(&h).await;
    let me = format!("/api/v1/clinics/{clinic}/me");
    let (status, body) = h.call("GET", &me, None, &[("cookie", &cookie), WEB]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["account"]["login"], "aino@clinic.example");
    // Among other cookies, in any order.
    let (status, _) = h
        .call(
            "GET",
            &me,
            None,
            &[("cookie", &format!("theme=dark; {cookie}; lang=fi")), WEB],
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = h.call("GET", &me, None, &[("cookie", &cookie)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "csrf");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("x-vaiti-client: web"),
        "{body}"
    );
    let (status, body) = h
        .call("GET", &me, None, &[("cookie", &cookie), (WEB.0, "cli")])
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("csrf"))
    );
    // The header alone proves nothing.
    let (status, body) = h.call("GET", &me, None, &[WEB]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    // A made-up or malformed cookie is no session.
    for forged in ["vaiti_session=AAAA", "vaiti_session=", "vaiti_session=!!"] {
        let (status, body) = h.call("GET", &me, None, &[("cookie", forged), WEB]).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
            "{forged}"
        );
    }
    // A second, planted session cookie: neither counts.
    let (_, other_cookie, _, _) = web_login(&h).await;
    let (status, body) = h
        .call(
            "GET",
            &me,
            None,
            &[("cookie", &format!("{cookie}; {other_cookie}")), WEB],
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    // A bearer token, when present, is what counts (here a wrong one).
    let (status, _) = h
        .call(
            "GET",
            &me,
            None,
            &[("cookie", &cookie), WEB, ("authorization", "Bearer AAAA")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Another clinic's path: not found, as with a bearer token.
    let (status, _) = h
        .call(
            "GET",
            &format!("/api/v1/clinics/{}/me", ClinicId::generate().unwrap()),
            None,
            &[("cookie", &cookie), WEB],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// What another site's page can send: its form posts carry the cookie (were it not SameSite)
/// but no custom header and no JSON content type.
#[tokio::test]
async fn a_cross_site_form_post_is_refused_before_anything_happens() {
    let h = harness().await;
    let (clinic, cookie, _, _) = web_login(&h).await;
    for (path, content_type, body) in [
        ("logout", "application/x-www-form-urlencoded", "x=1"),
        ("branches", "application/x-www-form-urlencoded", "name=Evil"),
        ("branches", "text/plain", "{\"name\":\"Evil\"}"),
        ("password", "multipart/form-data; boundary=x", "--x--"),
    ] {
        let req = Request::builder()
            .method("POST")
            .uri(format!("/api/v1/clinics/{clinic}/{path}"))
            .header("cookie", &cookie)
            .header("content-type", content_type)
            .header("origin", "https://evil.example")
            .body(Body::from(body))
            .unwrap();
        let resp = h.app.clone().oneshot(req).await.unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::UNAUTHORIZED,
            "{path} {content_type}"
        );
        assert!(resp.headers().get("access-control-allow-origin").is_none());
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"]["code"], "csrf", "{path}");
    }
    // The session was not ended by the forged logout.
    let (status, _) = h
        .call(
            "GET",
            &format!("/api/v1/clinics/{clinic}/me"),
            None,
            &[("cookie", &cookie), WEB],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_web_logout_clears_the_cookie_and_ends_the_session() {
    for secure in [false, true] {
        let h = if secure {
            harness_secure().await
        } else {
            harness().await
        };
        let (clinic, cookie, _, _) = web_login(&h).await;
        let logout = format!("/api/v1/clinics/{clinic}/logout");
        let (status, headers, _) = h
            .call_full("POST", &logout, None, &[("cookie", &cookie), WEB])
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (cleared, token) = set_cookie(&headers);
        assert_eq!(token, "");
        let secure_attr = if secure { "; Secure" } else { "" };
        assert_eq!(
            cleared,
            format!(
                "vaiti_session=; Path=/api/v1/; HttpOnly; SameSite=Strict; Max-Age=0{secure_attr}"
            )
        );
        // A browser that kept the cookie anyway holds a dead session.
        let (status, body) = h
            .call(
                "GET",
                &format!("/api/v1/clinics/{clinic}/me"),
                None,
                &[("cookie", &cookie), WEB],
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
        );
        // Logging out again (a stale tab): still told to drop the cookie.
        let (status, headers, _) = h
            .call_full("POST", &logout, None, &[("cookie", &cookie), WEB])
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(set_cookie(&headers).1, "");
    }
    // The CLI's logout sets no cookie.
    let h = harness().await;
    let (clinic, admin) = ids();
    h.create_clinic(clinic, admin, "aino@clinic.example", b"pw")
        .await;
    let (_, body) = h.login(clinic, "aino@clinic.example", b"pw").await;
    let bearer = format!("Bearer {}", body["token"].as_str().unwrap());
    let (status, headers, _) = h
        .call_full(
            "POST",
            &format!("/api/v1/clinics/{clinic}/logout"),
            None,
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(headers.get("set-cookie").is_none());
}
