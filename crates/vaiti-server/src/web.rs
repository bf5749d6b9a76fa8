//! The browser app's files, served at `/`, and the security headers every response carries.
//!
//! The web app is a set of static files made by the bundler (`cargo xtask build`): `index.html`,
//! a small module that loads the wasm-bindgen glue, the wasm module, a style sheet, and an asset
//! manifest (`/asset-manifest.json`) that lists every file with its hash. The server holds a
//! release in memory as a [`WebApp`] and serves it with a strict Content-Security-Policy; the
//! SHA-256 of the manifest names the release, and [`record_web_release`] writes it into every
//! clinic's access log, so what browser code a server was serving, and from when, is on the
//! record that clients and witnesses check.
//!
//! A browser client is served by the server, so a taken-over server can serve a malicious one:
//! the headers here narrow what a page can do (no inline script, no other origin, no framing),
//! and the logged release hash makes a swapped release visible; neither removes that risk.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};
use vaiti_log::{Action, Leaf, Purpose};

use crate::error::ApiError;
use crate::state::{AppState, StartError};

/// The Content-Security-Policy of every response. Scripts come only from this origin, and only
/// as files (no inline script, no `eval`); `'wasm-unsafe-eval'` lets the page compile its wasm
/// module and nothing else. Styles come only from files of this origin. The page may talk only
/// to this origin, may not be framed, and may not post forms elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// `Strict-Transport-Security`, sent only when the server is reached over TLS (its own, or a
/// TLS proxy's): a year, this host only (the operator decides about subdomains and preloading).
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// The path of the app's page.
pub const INDEX_PATH: &str = "/index.html";

/// The path of the asset manifest, whose SHA-256 names the release.
pub const MANIFEST_PATH: &str = "/asset-manifest.json";

/// Cache-Control of a content-addressed file (its name carries its hash): kept for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache-Control of the page, the manifest and every API answer: never stored, so a new release
/// (or a logout) takes effect on the next load.
const NO_STORE: &str = "no-store";
/// Cache-Control of any other file: stored, but checked (ETag) before each use, because its name
/// does not change when its content does.
const REVALIDATE: &str = "no-cache";

/// The page `GET /` answers when this build has no web app: no script, no style.
const NO_WEB_APP_PAGE: &str = "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>vaiti</title></head>\n<body>\n<h1>vaiti</h1>\n<p>This server was built without the web app. The API is at <code>/api/v1</code> and works with the <code>vaiti</code> command-line client.</p>\n<p>To serve the web app, build the server with <code>cargo xtask build</code>.</p>\n</body>\n</html>\n";

/// One file of the web app release.
#[derive(Clone)]
pub struct WebFile {
    /// Where it is served, e.g. `/app-3f2a9c1d.wasm`: starts with `/`.
    pub path: String,
    /// Its bytes: borrowed for files embedded in the binary (`include_bytes!`), owned otherwise.
    pub body: Cow<'static, [u8]>,
    /// Its `Content-Type`, e.g. `application/wasm` ([`content_type_for`] picks one by extension).
    pub content_type: String,
}

impl WebFile {
    /// A file whose content type follows from its extension ([`content_type_for`]).
    pub fn new(path: impl Into<String>, body: impl Into<Cow<'static, [u8]>>) -> Self {
        let path = path.into();
        let content_type = content_type_for(&path).to_owned();
        Self {
            path,
            body: body.into(),
            content_type,
        }
    }
}

impl std::fmt::Debug for WebFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebFile")
            .field("path", &self.path)
            .field("len", &self.body.len())
            .field("content_type", &self.content_type)
            .finish()
    }
}

/// The content type of a web app file, by its extension: `application/wasm`, `text/javascript`,
/// `text/css`, `application/json`, `text/html`, a few image and font types, and
/// `application/octet-stream` for anything else (which `nosniff` keeps a browser from running).
pub fn content_type_for(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript",
        "css" => "text/css",
        "json" | "map" => "application/json",
        "html" => "text/html; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webmanifest" => "application/manifest+json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Why a set of files is not a web app release.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebAppError {
    /// There is no `/index.html`.
    #[error("the web app has no {INDEX_PATH}")]
    MissingIndex,
    /// There is no `/asset-manifest.json`.
    #[error("the web app has no {MANIFEST_PATH}")]
    MissingManifest,
    /// A path is not a plain absolute path (`/`, then non-empty segments of printable ASCII with
    /// no `.` or `..`, `?`, `#`, `%` or `\`), or lies under `/api`, which the API owns.
    #[error("the web app file path {0:?} is not allowed")]
    BadPath(String),
    /// Two files have the same path.
    #[error("the web app has two files at {0:?}")]
    Duplicate(String),
    /// A content type is not a valid header value.
    #[error("the web app file {0:?} has an invalid content type")]
    BadContentType(String),
}

/// One file, ready to answer with.
struct Served {
    body: Bytes,
    content_type: HeaderValue,
    cache_control: &'static str,
    /// A strong validator (hex SHA-256), for files browsers revalidate.
    etag: HeaderValue,
}

/// A web app release: its files, and the SHA-256 of its asset manifest (the file at
/// `/asset-manifest.json`, whose bytes list every file with its hash).
pub struct WebApp {
    files: HashMap<String, Served>,
    manifest_hash: [u8; 32],
}

impl std::fmt::Debug for WebApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebApp")
            .field("files", &self.files.len())
            .field("manifest_hash", &self.manifest_hash_hex())
            .finish()
    }
}

impl WebApp {
    /// A release of `files`. It must have `/index.html` and `/asset-manifest.json`, and every path
    /// must be a plain absolute path outside `/api` (see [`WebAppError::BadPath`]).
    ///
    /// Files whose name ends in `-` and at least 8 hex digits before the extension (the
    /// bundler's `app-3f2a9c1d.wasm`) are content-addressed and cached for a year; the page and
    /// the manifest are never cached; any other file is cached but revalidated on each use, so
    /// a release that keeps a file name still takes effect at once.
    pub fn new(files: Vec<WebFile>) -> Result<Self, WebAppError> {
        let mut served = HashMap::with_capacity(files.len());
        for file in files {
            if !is_plain_path(&file.path) {
                return Err(WebAppError::BadPath(file.path));
            }
            let content_type = HeaderValue::from_str(&file.content_type)
                .map_err(|_| WebAppError::BadContentType(file.path.clone()))?;
            let cache_control = if file.path == INDEX_PATH || file.path == MANIFEST_PATH {
                NO_STORE
            } else if is_content_addressed(&file.path) {
                IMMUTABLE
            } else {
                REVALIDATE
            };
            let body = match file.body {
                Cow::Borrowed(b) => Bytes::from_static(b),
                Cow::Owned(b) => Bytes::from(b),
            };
            let etag = HeaderValue::from_str(&format!("\"{}\"", hex(&Sha256::digest(&body))))
                .map_err(|_| WebAppError::BadPath(file.path.clone()))?;
            let entry = Served {
                body,
                content_type,
                cache_control,
                etag,
            };
            if served.insert(file.path.clone(), entry).is_some() {
                return Err(WebAppError::Duplicate(file.path));
            }
        }
        if !served.contains_key(INDEX_PATH) {
            return Err(WebAppError::MissingIndex);
        }
        let manifest_hash = served
            .get(MANIFEST_PATH)
            .map(|m| Sha256::digest(&m.body).into())
            .ok_or(WebAppError::MissingManifest)?;
        Ok(Self {
            files: served,
            manifest_hash,
        })
    }

    /// The SHA-256 of the asset manifest: the name of this release.
    pub fn manifest_hash(&self) -> [u8; 32] {
        self.manifest_hash
    }

    /// [`manifest_hash`](Self::manifest_hash) as lowercase hex.
    pub fn manifest_hash_hex(&self) -> String {
        hex(&self.manifest_hash)
    }

    /// How many files the release has.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the release has no files (never true: it has at least the page and manifest).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `/`, then non-empty segments of printable ASCII without `.`/`..` segments or characters that
/// a URL would decode or split on; not `/api` or under it.
fn is_plain_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    !rest.is_empty()
        && rest
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
        && path
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#' | b'%' | b'\\'))
        && !is_api_path(path)
}

/// Whether the file's name is `stem-HEX.ext` with at least 8 hex digits.
fn is_content_addressed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some((stem, _extension)) = name.rsplit_once('.') else {
        return false;
    };
    stem.rsplit_once('-').is_some_and(|(base, hash)| {
        !base.is_empty() && hash.len() >= 8 && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Whether `path` belongs to the API (which answers its own JSON errors).
fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Whether the last segment of `path` has an extension (then it names a file, and an unknown
/// one is a 404 rather than the app's page).
fn has_extension(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|name| name.contains('.'))
}

/// `GET /` and `GET /index.html`: the app's page, or a note that this build has none.
pub(crate) async fn index(State(state): State<AppState>, req: Request) -> Response {
    page(&state, req.method(), req.headers())
}

/// Everything the routes do not match. Under `/api/`: the API's JSON 404. Otherwise a file of
/// the release, or — for a path without an extension, which is one of the app's own routes —
/// the app's page; an unknown file is a plain 404.
pub(crate) async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path();
    if is_api_path(path) {
        return ApiError::not_found().into_response();
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
            "method not allowed\n",
        )
            .into_response();
    }
    if let Some(file) = state.web.as_ref().and_then(|w| w.files.get(path)) {
        return answer(file, req.method(), req.headers());
    }
    if has_extension(path) {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    page(&state, req.method(), req.headers())
}

fn page(state: &AppState, method: &Method, headers: &HeaderMap) -> Response {
    match state.web.as_ref().and_then(|w| w.files.get(INDEX_PATH)) {
        Some(index) => answer(index, method, headers),
        None => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, NO_STORE),
            ],
            if method == Method::HEAD {
                ""
            } else {
                NO_WEB_APP_PAGE
            },
        )
            .into_response(),
    }
}

fn answer(file: &Served, method: &Method, headers: &HeaderMap) -> Response {
    let not_modified = file.cache_control != NO_STORE
        && headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .any(|v| etag_matches(v, &file.etag));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(file.body.clone())
        };
        let mut r = Response::new(body);
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, file.content_type.clone());
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(file.body.len()));
        r
    };
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(file.cache_control),
    );
    if file.cache_control != NO_STORE {
        h.insert(header::ETAG, file.etag.clone());
    }
    response
}

/// `If-None-Match`: `*` or a list of entity tags (weak comparison, as RFC 9110 asks for it).
fn etag_matches(value: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    value.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

/// The headers every response carries, the API's included (see `docs/protocol.md`). A response
/// that set no `Cache-Control` gets `no-store`: API answers carry session-bound data and must
/// never sit in a shared or disk cache.
pub(crate) async fn security_headers(
    State(secure): State<bool>,
    mut response: Response,
) -> Response {
    const FIXED: [(HeaderName, &str); 7] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
    ];
    let headers = response.headers_mut();
    for (name, value) in FIXED {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    }
    if secure {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
    // This server grants no cross-origin access, whatever a handler or layer might add.
    let cors: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for name in cors {
        headers.remove(name);
    }
    response
}

impl AppState {
    /// Serves `web` at `/`. Call [`record_web_release`] afterwards, before serving, so every
    /// clinic's access log names the release.
    pub fn with_web(mut self, web: WebApp) -> Self {
        self.web = Some(Arc::new(web));
        self
    }

    /// The web app release served, if any.
    pub fn web(&self) -> Option<&WebApp> {
        self.web.as_deref()
    }
}

/// Appends an [`Action::AppRelease`] leaf (no actor, no chart; detail = the manifest's SHA-256)
/// to the log of every clinic whose newest `AppRelease` leaf does not already name the release
/// being served, so a restart with the same release appends nothing and a new release appends
/// one leaf per clinic. Returns how many clinics got a leaf; does nothing without a web app.
///
/// Called once at start-up, before serving. Limits: a clinic created while this server runs
/// gets its leaf at the next start (its log shows no release until then); two servers starting
/// together on one database with a new release may both append one (two leaves naming the same
/// release, which is harmless); the leaf records when this server began serving the release,
/// not a proxy or cache that serves older files.
pub async fn record_web_release(state: &AppState) -> Result<usize, StartError> {
    let Some(web) = state.web.as_deref() else {
        return Ok(0);
    };
    let release = web.manifest_hash;
    let mut appended = 0;
    for clinic in state.store.clinic_ids().await? {
        let newest = state
            .store
            .last_log_leaf_with_action(clinic, Action::AppRelease.to_byte())
            .await?;
        let already = match newest {
            Some(stored) => match Leaf::decode(stored.leaf.as_bytes()) {
                Ok(leaf) => leaf.detail == release,
                Err(e) => {
                    // Recorded again below: a fresh leaf is better than trusting a broken one.
                    tracing::warn!(clinic = %clinic, index = stored.index, error = %e, "a stored app release leaf does not decode");
                    false
                }
            },
            None => false,
        };
        if already {
            continue;
        }
        let mut entry = crate::access_log::Entry::new(Action::AppRelease, Purpose::None, None);
        entry.detail = release;
        let index = crate::access_log::apply_logged(state, clinic, Vec::new(), entry)
            .await
            .map_err(|e| StartError::AccessLog {
                clinic,
                reason: e.describe(),
            })?;
        tracing::info!(clinic = %clinic, index, release = %web.manifest_hash_hex(), "web app release recorded");
        appended += 1;
    }
    Ok(appended)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

    use super::*;

    fn release() -> Vec<WebFile> {
        vec![
            WebFile::new(INDEX_PATH, &b"<!doctype html>"[..]),
            WebFile::new(MANIFEST_PATH, b"{}".to_vec()),
        ]
    }

    #[test]
    fn a_release_needs_its_page_and_manifest() {
        assert!(matches!(
            WebApp::new(vec![WebFile::new(MANIFEST_PATH, &b"{}"[..])]),
            Err(WebAppError::MissingIndex)
        ));
        assert!(matches!(
            WebApp::new(vec![WebFile::new(INDEX_PATH, &b"x"[..])]),
            Err(WebAppError::MissingManifest)
        ));
        let app = WebApp::new(release()).unwrap();
        assert_eq!(app.manifest_hash(), <[u8; 32]>::from(Sha256::digest(b"{}")));
        assert_eq!(
            app.manifest_hash_hex(),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(app.len(), 2);
    }

    #[test]
    fn paths_must_be_plain_and_unique_and_outside_the_api() {
        for bad in [
            "app.js",
            "/",
            "//app.js",
            "/a//b.js",
            "/../etc/passwd",
            "/a/./b.js",
            "/app.js?v=1",
            "/app.js#x",
            "/app%2ejs",
            "/a\\b.js",
            "/a b.js",
            "/ä.js",
            "/api",
            "/api/v1/health",
        ] {
            let mut files = release();
            files.push(WebFile::new(bad, &b""[..]));
            assert!(
                matches!(WebApp::new(files), Err(WebAppError::BadPath(p)) if p == bad),
                "{bad:?}"
            );
        }
        let mut files = release();
        files.push(WebFile::new("/apis.js", &b""[..]));
        files.push(WebFile::new("/assets/app-0123abcd.js", &b""[..]));
        assert!(WebApp::new(files).is_ok());

        let mut files = release();
        files.push(WebFile::new(INDEX_PATH, &b"again"[..]));
        assert!(matches!(WebApp::new(files), Err(WebAppError::Duplicate(_))));

        let mut files = release();
        files.push(WebFile {
            path: "/x.js".into(),
            body: Cow::Borrowed(b""),
            content_type: "text/javascript\n".into(),
        });
        assert!(matches!(
            WebApp::new(files),
            Err(WebAppError::BadContentType(_))
        ));
    }

    #[test]
    fn content_types_and_cache_classes() {
        assert_eq!(content_type_for("/app-1.wasm"), "application/wasm");
        assert_eq!(content_type_for("/main.JS"), "text/javascript");
        assert_eq!(content_type_for("/style.css"), "text/css");
        assert_eq!(content_type_for("/asset-manifest.json"), "application/json");
        assert_eq!(content_type_for("/README"), "application/octet-stream");
        assert_eq!(
            content_type_for("/dir.d/README"),
            "application/octet-stream"
        );
        assert!(is_content_addressed("/app-3f2a9c1d.wasm"));
        assert!(is_content_addressed("/app_bg-3F2A9C1D00.wasm"));
        assert!(!is_content_addressed("/app-3f2a9c1.wasm"), "7 digits");
        assert!(!is_content_addressed("/app-3f2a9c1z.wasm"), "not hex");
        assert!(!is_content_addressed("/main.js"));
        assert!(!is_content_addressed("/-3f2a9c1d.js"), "no base name");
        assert!(!is_content_addressed("/app-3f2a9c1d"), "no extension");
        assert!(!is_content_addressed("/x-3f2a9c1d.d/app.js"), "a directory");
    }

    #[test]
    fn etags_match_lists_weak_tags_and_star() {
        let tag = HeaderValue::from_static("\"abc\"");
        for (given, matches) in [
            ("\"abc\"", true),
            ("W/\"abc\"", true),
            ("\"x\", \"abc\"", true),
            ("*", true),
            ("\"abcd\"", false),
            ("abc", false),
        ] {
            assert_eq!(
                etag_matches(&HeaderValue::from_static(given), &tag),
                matches,
                "{given}"
            );
        }
    }
}
