//! The web app at `/`, the security headers on every answer, and the release leaf in every
//! clinic's access log — driven with `oneshot` on a real SQLite store.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use sha2::Digest as _;
use tower::ServiceExt as _;
use vaiti_core::{Clinic, ClinicId, Sealed};
use vaiti_log::{Action, Frontier, Leaf, Purpose};
use vaiti_server::{AppState, WebApp, WebFile};
use vaiti_store::{SqliteStore, Store, Write};

const WASM: &[u8] = b"\0asm\x01\0\0\0";

fn release(manifest: &str) -> WebApp {
    WebApp::new(vec![
        WebFile::new(
            "/index.html",
            &b"<!doctype html><script type=\"module\" src=\"/main.js\"></script>"[..],
        ),
        WebFile::new("/main.js", &b"import init from '/app-0123abcd.js';"[..]),
        WebFile::new("/app-0123abcd.js", &b"export default 1;"[..]),
        WebFile::new("/app_bg-89abcdef.wasm", WASM),
        WebFile::new("/style-00ff00ff.css", &b"body{}"[..]),
        WebFile::new("/asset-manifest.json", manifest.as_bytes().to_vec()),
    ])
    .unwrap()
}

struct Harness {
    store: Arc<SqliteStore>,
    dir: std::path::PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Harness {
    async fn new() -> Self {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).unwrap();
        let dir = std::env::temp_dir().join(format!("vaiti-web-test-{}", u64::from_le_bytes(r)));
        let store = Arc::new(SqliteStore::open(&dir).await.unwrap());
        Self { store, dir }
    }

    /// A state over the store, as one server start would make it.
    async fn state(&self) -> AppState {
        AppState::new(self.store.clone(), None, vaiti_server::system_clock())
            .await
            .unwrap()
    }
}

async fn get(
    app: &axum::Router,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    send(app, "GET", path, headers).await
}

async fn send(
    app: &axum::Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    (status, headers, body)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// The headers every answer carries; HSTS exactly when the transport is secure.
fn assert_security_headers(headers: &HeaderMap, secure: bool, what: &str) {
    assert_eq!(
        header(headers, "content-security-policy"),
        Some(vaiti_server::CONTENT_SECURITY_POLICY),
        "{what}"
    );
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        ),
    ] {
        assert_eq!(header(headers, name), Some(value), "{what}: {name}");
    }
    assert_eq!(
        header(headers, "strict-transport-security"),
        secure.then_some("max-age=31536000"),
        "{what}"
    );
    assert!(
        headers
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-")),
        "{what}: no CORS grant"
    );
}

#[test]
fn the_policy_is_the_documented_one() {
    assert_eq!(
        vaiti_server::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    );
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_hsts_only_over_tls() {
    let h = Harness::new().await;
    for secure in [false, true] {
        let state = h
            .state()
            .await
            .with_web(release("{}"))
            .with_secure_transport(secure);
        let app = vaiti_server::router(state);
        let checks = [
            ("/", StatusCode::OK),
            ("/app_bg-89abcdef.wasm", StatusCode::OK),
            ("/api/v1/health", StatusCode::OK),
            (
                "/api/v1/clinics/0123456789abcdef0123456789abcdef/me",
                StatusCode::UNAUTHORIZED,
            ),
            ("/api/v1/nowhere", StatusCode::NOT_FOUND),
            ("/missing.js", StatusCode::NOT_FOUND),
        ];
        for (path, expected) in checks {
            let (status, headers, _) = get(&app, path, &[]).await;
            assert_eq!(status, expected, "{path}");
            assert_security_headers(&headers, secure, path);
        }
        // API answers, errors included, are never stored.
        for path in ["/api/v1/health", "/api/v1/nowhere"] {
            let (_, headers, _) = get(&app, path, &[]).await;
            assert_eq!(
                header(&headers, "cache-control"),
                Some("no-store"),
                "{path}"
            );
        }
        // A wrong method, and an oversized body (rejected by a layer), too.
        let (status, headers, _) = send(&app, "DELETE", "/api/v1/health", &[]).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_security_headers(&headers, secure, "405");
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/opaque/register")
            .header("content-type", "application/json")
            .body(Body::from(vec![b' '; vaiti_server::MAX_BODY_BYTES + 1]))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_security_headers(resp.headers(), secure, "413");
    }
}

#[tokio::test]
async fn the_app_files_are_served_with_their_types_and_cache_rules() {
    let h = Harness::new().await;
    let app = vaiti_server::router(h.state().await.with_web(release("{\"v\":1}")));
    for path in ["/", "/index.html"] {
        let (status, headers, body) = get(&app, path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body.starts_with(b"<!doctype html><script"), "{path}");
        assert_eq!(
            header(&headers, "content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(
            header(&headers, "cache-control"),
            Some("no-store"),
            "{path}"
        );
    }
    let immutable = Some("public, max-age=31536000, immutable");
    for (path, content_type, cache, body) in [
        ("/app_bg-89abcdef.wasm", "application/wasm", immutable, WASM),
        (
            "/app-0123abcd.js",
            "text/javascript",
            immutable,
            &b"export default 1;"[..],
        ),
        ("/style-00ff00ff.css", "text/css", immutable, b"body{}"),
        (
            "/main.js",
            "text/javascript",
            Some("no-cache"),
            b"import init from '/app-0123abcd.js';",
        ),
        (
            "/asset-manifest.json",
            "application/json",
            Some("no-store"),
            b"{\"v\":1}",
        ),
    ] {
        let (status, headers, got) = get(&app, path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(got, body, "{path}");
        assert_eq!(
            header(&headers, "content-type"),
            Some(content_type),
            "{path}"
        );
        assert_eq!(header(&headers, "cache-control"), cache, "{path}");
        assert_eq!(
            header(&headers, "content-length"),
            Some(body.len().to_string().as_str())
        );
    }
    // A revalidated file answers 304 to its own ETag, and the whole file to another.
    let (_, headers, _) = get(&app, "/main.js", &[]).await;
    let etag = header(&headers, "etag").unwrap().to_owned();
    assert_eq!(
        etag,
        format!(
            "\"{}\"",
            sha2::Sha256::digest(b"import init from '/app-0123abcd.js';")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    );
    let (status, headers, body) = get(&app, "/main.js", &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(header(&headers, "etag"), Some(etag.as_str()));
    assert_security_headers(&headers, false, "304");
    let (status, _, _) = get(&app, "/main.js", &[("if-none-match", "\"other\"")]).await;
    assert_eq!(status, StatusCode::OK);
    // The page is never answered 304: it is not stored, and a new release must load at once.
    let (status, _, body) = get(&app, "/", &[("if-none-match", "*")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.is_empty());
    // HEAD: the headers without the body.
    let (status, headers, body) = send(&app, "HEAD", "/app_bg-89abcdef.wasm", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_empty());
    assert_eq!(header(&headers, "content-type"), Some("application/wasm"));
}

#[tokio::test]
async fn app_routes_get_the_page_unknown_files_404_and_the_api_keeps_its_json() {
    let h = Harness::new().await;
    let app = vaiti_server::router(h.state().await.with_web(release("{}")));
    let (_, _, page) = get(&app, "/index.html", &[]).await;
    for path in [
        "/login",
        "/clinics/abc/charts",
        "/deep/ly/nested/route/",
        "/apix",
    ] {
        let (status, headers, body) = get(&app, path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body, page, "{path}: the app's page (SPA fallback)");
        assert_eq!(
            header(&headers, "cache-control"),
            Some("no-store"),
            "{path}"
        );
    }
    for path in [
        "/missing.js",
        "/app-0123abcd.wasm",
        "/favicon.ico",
        "/a/b.css",
        "/.env",
    ] {
        let (status, headers, body) = get(&app, path, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body, b"not found\n", "{path}: a plain 404, not the page");
        assert_ne!(
            header(&headers, "content-type"),
            Some("text/html; charset=utf-8")
        );
    }
    for path in [
        "/api",
        "/api/",
        "/api/v1",
        "/api/v1/",
        "/api/v1/nowhere",
        "/api/v2/health",
        "/api/index.html",
        "/api/v1/clinics",
    ] {
        let (status, headers, body) = get(&app, path, &[]).await;
        let expected = if path == "/api/v1/clinics" {
            StatusCode::METHOD_NOT_ALLOWED
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(status, expected, "{path}");
        if expected == StatusCode::NOT_FOUND {
            assert_eq!(
                header(&headers, "content-type"),
                Some("application/json"),
                "{path}"
            );
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["error"]["code"], "not_found", "{path}");
        }
    }
    // Outside the API only GET and HEAD exist.
    let (status, headers, _) = send(&app, "POST", "/login", &[]).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_security_headers(&headers, false, "POST /login");
    let (status, _, _) = send(&app, "POST", "/", &[]).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn without_a_web_app_the_root_says_how_to_build_one() {
    let h = Harness::new().await;
    let app = vaiti_server::router(h.state().await);
    for path in ["/", "/index.html", "/some/app/route"] {
        let (status, headers, body) = get(&app, path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_security_headers(&headers, false, path);
        assert_eq!(
            header(&headers, "content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(header(&headers, "cache-control"), Some("no-store"));
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("without the web app"), "{text}");
        assert!(text.contains("cargo xtask build"), "{text}");
        assert!(
            !text.contains("<script") && !text.contains("style"),
            "{text}"
        );
    }
    for path in ["/main.js", "/asset-manifest.json"] {
        assert_eq!(
            get(&app, path, &[]).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(get(&app, "/api/v1/health", &[]).await.0, StatusCode::OK);
}

/// A CORS preflight from another site gets no grant: no `Access-Control-Allow-*` header, and no
/// success status, on the API or off it.
#[tokio::test]
async fn a_cors_preflight_is_never_granted() {
    let h = Harness::new().await;
    let app = vaiti_server::router(h.state().await.with_web(release("{}")));
    for path in [
        "/api/v1/clinics/0123456789abcdef0123456789abcdef/me",
        "/api/v1/clinics/0123456789abcdef0123456789abcdef/branches",
        "/api/v1/clinics/0123456789abcdef0123456789abcdef/login/finish",
        "/api/v1/nowhere",
        "/",
        "/main.js",
    ] {
        let (status, headers, _) = send(
            &app,
            "OPTIONS",
            path,
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "x-vaiti-client, content-type",
                ),
            ],
        )
        .await;
        assert!(!status.is_success(), "{path}: {status}");
        assert_security_headers(&headers, false, path);
    }
}

// ---- The release in the access log ----

async fn new_clinic(store: &dyn Store) -> ClinicId {
    let id = ClinicId::generate().unwrap();
    store
        .apply(vec![Write::CreateClinic(Clinic {
            id,
            manifest: Sealed(b"{}".to_vec()),
            manifest_signature: Sealed(vec![1; 65]),
            manifest_version: 1,
            created_at: 1_800_000_000,
        })])
        .await
        .unwrap();
    id
}

/// Every leaf of the clinic's log, decoded; and checks that the stored subtree hashes are the
/// ones the leaves make (what `vaiti log verify` recomputes).
async fn leaves(store: &dyn Store, clinic: ClinicId) -> Vec<Leaf> {
    let size = store.log_size(clinic).await.unwrap();
    let stored = store.log_leaves(clinic, 0, size).await.unwrap();
    assert_eq!(stored.len() as u64, size);
    let mut frontier = Frontier::default();
    let mut made = Vec::new();
    let mut decoded = Vec::new();
    for (i, l) in stored.iter().enumerate() {
        assert_eq!(l.index, i as u64);
        let leaf = Leaf::decode(l.leaf.as_bytes()).unwrap();
        assert_eq!(leaf.hash(), l.leaf_hash);
        assert_eq!(leaf.clinic, *clinic.as_bytes());
        frontier
            .append_leaf_hash_with(l.leaf_hash, |id, h| made.push(((id.level, id.index), *h)))
            .unwrap();
        decoded.push(leaf);
    }
    let ids: Vec<(u8, u64)> = made.iter().map(|(id, _)| *id).collect();
    let found = store.log_nodes(clinic, &ids).await.unwrap();
    for ((id, hash), stored) in made.iter().zip(found) {
        assert_eq!(stored, Some(*hash), "node {id:?}");
    }
    decoded
}

fn releases(leaves: &[Leaf]) -> Vec<[u8; 32]> {
    leaves
        .iter()
        .filter(|l| l.action == Action::AppRelease)
        .map(|l| l.detail)
        .collect()
}

#[tokio::test]
async fn each_clinic_logs_each_release_once() {
    let h = Harness::new().await;
    let (a, b) = (new_clinic(&*h.store).await, new_clinic(&*h.store).await);

    // No web app: nothing to record.
    assert_eq!(
        vaiti_server::record_web_release(&h.state().await)
            .await
            .unwrap(),
        0
    );
    assert_eq!(h.store.log_size(a).await.unwrap(), 0);

    let first = release("{\"release\":1}");
    let first_hash = first.manifest_hash();
    assert_eq!(
        first_hash,
        <[u8; 32]>::from(sha2::Sha256::digest(b"{\"release\":1}"))
    );
    let state = h.state().await.with_web(first);
    assert_eq!(vaiti_server::record_web_release(&state).await.unwrap(), 2);
    for clinic in [a, b] {
        let log = leaves(&*h.store, clinic).await;
        assert_eq!(releases(&log), vec![first_hash]);
        let leaf = &log[0];
        assert_eq!(leaf.purpose, Purpose::None);
        assert_eq!(leaf.actor, [0; 16], "no actor");
        assert_eq!(leaf.chart, [0; 16], "no chart");
        assert_eq!(leaf.chart_previous, None);
        assert_eq!(leaf.request_signature, [0; 65]);
    }

    // A restart with the same release appends nothing, even after other leaves.
    let state = h.state().await.with_web(release("{\"release\":1}"));
    assert_eq!(vaiti_server::record_web_release(&state).await.unwrap(), 0);
    // A clinic created since gets its leaf at the next start; the others do not get another.
    let c = new_clinic(&*h.store).await;
    assert_eq!(vaiti_server::record_web_release(&state).await.unwrap(), 1);
    assert_eq!(releases(&leaves(&*h.store, c).await), vec![first_hash]);
    assert_eq!(releases(&leaves(&*h.store, a).await), vec![first_hash]);

    // A new release: one more leaf each; going back to the first is a change again.
    let second = release("{\"release\":2}");
    let second_hash = second.manifest_hash();
    let state = h.state().await.with_web(second);
    assert_eq!(vaiti_server::record_web_release(&state).await.unwrap(), 3);
    assert_eq!(vaiti_server::record_web_release(&state).await.unwrap(), 0);
    let state = h.state().await.with_web(release("{\"release\":1}"));
    assert_eq!(vaiti_server::record_web_release(&state).await.unwrap(), 3);
    for clinic in [a, b, c] {
        assert_eq!(
            releases(&leaves(&*h.store, clinic).await),
            vec![first_hash, second_hash, first_hash]
        );
    }
}
