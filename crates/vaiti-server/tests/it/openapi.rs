//! The committed OpenAPI document (`docs/openapi.json`) is the one the code generates, and it
//! describes every route of the router.
//!
//! After changing a handler or an API type, update it with
//! `VAITI_UPDATE_OPENAPI=1 cargo test -p vaiti-server --test it openapi::` and commit the result.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;
use vaiti_server::AppState;
use vaiti_store::SqliteStore;

const UPDATE_HINT: &str = "VAITI_UPDATE_OPENAPI=1 cargo test -p vaiti-server --test it openapi::";

/// Every route of `vaiti_server::router`, as (method, OpenAPI path). Add new routes here.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/health"),
    ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/opaque/register"),
    ("post", "/api/v1/clinics"),
    ("post", "/api/v1/clinics/{clinic}/login/start"),
    ("post", "/api/v1/clinics/{clinic}/login/finish"),
    ("post", "/api/v1/clinics/{clinic}/logout"),
    ("get", "/api/v1/clinics/{clinic}/me"),
    ("post", "/api/v1/clinics/{clinic}/password/start"),
    ("post", "/api/v1/clinics/{clinic}/password"),
    ("get", "/api/v1/clinics/{clinic}/directory"),
    ("get", "/api/v1/clinics/{clinic}/wraps"),
    ("post", "/api/v1/clinics/{clinic}/branches"),
    ("post", "/api/v1/clinics/{clinic}/certificates"),
    ("post", "/api/v1/clinics/{clinic}/manifest"),
    ("post", "/api/v1/clinics/{clinic}/invites"),
    ("get", "/api/v1/clinics/{clinic}/invites"),
    ("get", "/api/v1/clinics/{clinic}/invites/{invite}"),
    ("post", "/api/v1/clinics/{clinic}/invites/{invite}/complete"),
    ("post", "/api/v1/clinics/{clinic}/invites/{invite}/revoke"),
    ("post", "/api/v1/clinics/{clinic}/signup"),
    ("post", "/api/v1/clinics/{clinic}/charts"),
    ("get", "/api/v1/clinics/{clinic}/charts"),
    ("post", "/api/v1/clinics/{clinic}/charts/{chart}/release"),
    ("post", "/api/v1/clinics/{clinic}/charts/{chart}/access-log"),
    ("get", "/api/v1/clinics/{clinic}/charts/{chart}/access-log"),
    ("get", "/api/v1/clinics/{clinic}/log/leaves"),
    ("post", "/api/v1/clinics/{clinic}/charts/{chart}/reports"),
    ("get", "/api/v1/clinics/{clinic}/reports"),
    ("post", "/api/v1/clinics/{clinic}/charts/{chart}/state"),
    ("post", "/api/v1/clinics/{clinic}/charts/{chart}/wraps"),
    ("post", "/api/v1/clinics/{clinic}/charts/{chart}/records"),
    ("get", "/api/v1/clinics/{clinic}/objects/{object}"),
    ("get", "/api/v1/clinics/{clinic}/log/checkpoint"),
    ("get", "/api/v1/clinics/{clinic}/log/inclusion"),
    ("get", "/api/v1/clinics/{clinic}/log/consistency"),
    ("get", "/api/v1/clinics/{clinic}/log/witness"),
    ("post", "/api/v1/clinics/{clinic}/log/cosignatures"),
    ("get", "/api/v1/clinics/{clinic}/alerts"),
    (
        "post",
        "/api/v1/clinics/{clinic}/alerts/{alert}/acknowledge",
    ),
    ("post", "/api/v1/clinics/{clinic}/decoys"),
];

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

fn generated() -> String {
    let mut json = vaiti_server::openapi().to_pretty_json().unwrap();
    json.push('\n');
    json
}

#[test]
fn committed_document_matches_the_code() {
    let generated = generated();
    let path = committed_path();
    if std::env::var_os("VAITI_UPDATE_OPENAPI").is_some_and(|v| !v.is_empty() && v != "0") {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "at the end".to_owned(),
                |i| format!("first difference at line {}", i + 1),
            );
        panic!(
            "docs/openapi.json is out of date with the code ({line}).\n\
             Regenerate it with `{UPDATE_HINT}` and commit the result."
        );
    }
}

#[test]
fn document_describes_every_route() {
    let doc = serde_json::to_value(vaiti_server::openapi()).unwrap();
    assert_eq!(doc["info"]["title"], "vaiti API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{} {path} is routed but missing from the OpenAPI document",
            method.to_uppercase()
        );
    }
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                assert!(
                    ROUTES.contains(&(method.as_str(), path.as_str())),
                    "{} {path} is in the OpenAPI document but not in this test's route list",
                    method.to_uppercase()
                );
            }
        }
    }
}

/// The route list above is the router's: each listed route reaches a handler (the fallback would
/// answer 404 `not_found`, and a wrong method 405).
#[tokio::test]
async fn listed_routes_are_routed() {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).unwrap();
    let dir = std::env::temp_dir().join(format!("vaiti-openapi-test-{}", u64::from_le_bytes(r)));
    let store = Arc::new(SqliteStore::open(&dir).await.unwrap());
    let state = AppState::new(store, None, vaiti_server::system_clock())
        .await
        .unwrap();
    let app = vaiti_server::router(state);
    let clinic = "0123456789abcdef0123456789abcdef";
    for (method, path) in ROUTES {
        let uri = path.replace("{clinic}", clinic);
        let response = app
            .clone()
            .oneshot(
                Request::builder()
                    .method(method.to_uppercase().as_str())
                    .uri(&uri)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        // A public handler may answer 404 itself for the unknown clinic; the fallback's 404 says
        // only "not found".
        let handler_404 = status == StatusCode::NOT_FOUND && {
            let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            body["error"]["message"] != "not found"
        };
        assert!(
            handler_404
                || (status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED),
            "{} {uri} is in the route list but the router answers {status}",
            method.to_uppercase()
        );
    }
    let response = app
        .oneshot(
            Request::builder()
                .uri("/api/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let served: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        served,
        serde_json::to_value(vaiti_server::openapi()).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
