//! The API's contract as a strict client reads it: every error answer is the JSON shape
//! `{ "error": { "code", "message" } }` (a malformed id in a path, a malformed query string, a
//! body over the limit included); the OpenAPI document declares query parameters as query
//! parameters, with their exact bounds; a connection that sends nothing is closed.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt as _;
use vaiti_server::AppState;
use vaiti_store::SqliteStore;

const CLINIC: &str = "0123456789abcdef0123456789abcdef";

struct App {
    app: axum::Router,
    dir: std::path::PathBuf,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn app() -> App {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).unwrap();
    let dir = std::env::temp_dir().join(format!("vaiti-contract-test-{}", u64::from_le_bytes(r)));
    let store = Arc::new(SqliteStore::open(&dir).await.unwrap());
    let state = AppState::new(store, None, vaiti_server::system_clock())
        .await
        .unwrap();
    App {
        app: vaiti_server::router(state),
        dir,
    }
}

/// Sends `request` and returns the status and the body, which must be the JSON error shape.
async fn json_error(app: &App, request: Request<Body>) -> (StatusCode, String) {
    let what = format!("{} {}", request.method(), request.uri());
    let response = app.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{what}: {status} answered as {content_type:?}, not JSON: {}",
        String::from_utf8_lossy(&body)
    );
    let body: Value = serde_json::from_slice(&body).unwrap();
    let code = body["error"]["code"].as_str().unwrap_or_else(|| {
        panic!("{what}: {status} without the error shape: {body}");
    });
    assert!(body["error"]["message"].is_string(), "{what}: {body}");
    (status, code.to_owned())
}

fn get(uri: &str) -> Request<Body> {
    Request::builder().uri(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn a_malformed_id_in_a_path_is_a_json_400() {
    let app = app().await;
    for uri in [
        "/api/v1/clinics/not-a-clinic/log/witness".to_owned(),
        format!("/api/v1/clinics/{CLINIC}/invites/XYZ"),
        format!("/api/v1/clinics/{CLINIC}/invites/{}", &CLINIC[..31]),
    ] {
        assert_eq!(
            json_error(&app, get(&uri)).await,
            (StatusCode::BAD_REQUEST, "bad_request".to_owned()),
            "{uri}"
        );
    }
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/clinics/nope/login/start")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"login":"a","request":"AAAA"}"#))
        .unwrap();
    assert_eq!(
        json_error(&app, request).await,
        (StatusCode::BAD_REQUEST, "bad_request".to_owned())
    );
}

#[tokio::test]
async fn a_malformed_query_string_is_a_json_400() {
    let app = app().await;
    for query in [
        "from=minus-one",
        "from=-1",
        "from=18446744073709551616",
        // Beyond what a signed 64-bit column holds: refused, not a store error.
        "from=9223372036854775808",
    ] {
        let uri = format!("/api/v1/clinics/{CLINIC}/log/witness?{query}");
        assert_eq!(
            json_error(&app, get(&uri)).await,
            (StatusCode::BAD_REQUEST, "bad_request".to_owned()),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_json_413() {
    let app = app().await;
    let big = vec![b' '; vaiti_server::MAX_BODY_BYTES + 1];
    // With its length declared (refused before any handler runs) and without (refused while
    // the body is read).
    for declared in [true, false] {
        let mut request = Request::builder()
            .method("POST")
            .uri("/api/v1/clinics")
            .header("content-type", "application/json");
        if declared {
            request = request.header("content-length", big.len());
        }
        let body = Body::from(big.clone());
        assert_eq!(
            json_error(&app, request.body(body).unwrap()).await,
            (StatusCode::PAYLOAD_TOO_LARGE, "too_large".to_owned()),
            "declared length: {declared}"
        );
    }
}

/// Every parameter the document declares is where the router reads it: a path parameter names a
/// `{…}` of its path, and the query parameters of the list and log routes are query parameters
/// with exact bounds.
#[test]
fn parameters_are_declared_where_they_are_read() {
    let doc = serde_json::to_value(vaiti_server::openapi()).unwrap();
    let mut query = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for p in operation["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                match p["in"].as_str().unwrap() {
                    "path" => assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: `{name}` is declared a path parameter but is not in the path"
                    ),
                    "query" => query.push(format!("{method} {path} {name}")),
                    _ => {}
                }
            }
        }
    }
    for expected in [
        "get /api/v1/clinics/{clinic}/alerts limit",
        "get /api/v1/clinics/{clinic}/charts branch",
        "get /api/v1/clinics/{clinic}/log/consistency from",
        "get /api/v1/clinics/{clinic}/log/consistency to",
        "get /api/v1/clinics/{clinic}/log/inclusion index",
        "get /api/v1/clinics/{clinic}/log/inclusion size",
        "get /api/v1/clinics/{clinic}/log/leaves start",
        "get /api/v1/clinics/{clinic}/log/leaves end",
        "get /api/v1/clinics/{clinic}/log/witness from",
        "get /api/v1/clinics/{clinic}/wraps chart",
    ] {
        assert!(
            query.iter().any(|q| q == expected),
            "`{expected}` is not a query parameter"
        );
    }
    let from = &doc["paths"]["/api/v1/clinics/{clinic}/log/witness"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "from")
        .unwrap()["schema"];
    assert_eq!(from["minimum"], 0, "{from}");
    assert_eq!(from["maximum"], i64::MAX, "{from}");
}

/// A client that connects and sends nothing is disconnected after the header-read timeout,
/// instead of holding a connection (and its task) forever.
#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    use tokio::io::AsyncReadExt as _;
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).unwrap();
    let dir = std::env::temp_dir().join(format!("vaiti-idle-test-{}", u64::from_le_bytes(r)));
    let store = Arc::new(SqliteStore::open(&dir).await.unwrap());
    let state = AppState::new(store, None, vaiti_server::system_clock())
        .await
        .unwrap();
    let mut config = vaiti_server::ServerConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        vaiti_server::Transport::Plain,
    );
    config.header_read_timeout = std::time::Duration::from_millis(300);
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(vaiti_server::serve(
        config,
        state,
        async move {
            let _ = stop_rx.await;
        },
        move |addr| {
            let _ = bound_tx.send(addr);
        },
    ));
    let addr = bound_rx.await.unwrap();
    // Silent from the start, and silent after one answered request (an idle keep-alive).
    for first_request in [false, true] {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        if first_request {
            use tokio::io::AsyncWriteExt as _;
            stream
                .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut answer = [0u8; 1024];
            let n = stream.read(&mut answer).await.unwrap();
            assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
        }
        let mut buf = [0u8; 64];
        // Well past the 300 ms timeout; the server's own default is far longer.
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "a silent connection (after a request: {first_request}) was kept open: {read:?}"
        );
    }
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
