//! vaiti's HTTP API server.
//!
//! The server stores and logs what clients send — ids, public material and ciphertext — and
//! authorises every request, but holds no key that opens a record: this crate does not depend on
//! `vaiti-crypto` at all (an invariant `cargo xtask test` checks with `cargo tree`).
//!
//! Layout follows the axum examples: [`router`] builds the application from an [`AppState`], so
//! handlers can be tested with `oneshot` without a socket; [`serve`] binds a listener (TLS with
//! rustls, or plain HTTP on loopback or behind a TLS proxy) and shuts down gracefully.

#![forbid(unsafe_code)]

use std::net::SocketAddr;

use axum::Router;
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

mod access_log;
mod alerts;
mod auth;
mod charts;
pub mod config;
mod directory;
mod error;
mod extract;
mod invites;
pub mod limiter;
mod openapi;
pub mod policy;
mod release;
mod reports;
mod signature;
mod state;
mod web;
mod witness;

pub use alerts::{
    DEFAULT_CHART_OPENINGS_THRESHOLD, DEFAULT_CHART_OPENINGS_WINDOW_S,
    DEFAULT_FAILED_LOGINS_THRESHOLD, DEFAULT_FAILED_LOGINS_WINDOW_S, DetectionConfig,
};
pub use auth::{
    CLINIC_CREATION_HEADER, Caller, PATIENT_SESSION_S, PENDING_LOGIN_S, SESSION_COOKIE,
    STAFF_SESSION_S, WEB_CLIENT_HEADER, WEB_CLIENT_VALUE,
};
pub use config::{ConfigError, DEFAULT_HEADER_READ_TIMEOUT, ServerConfig, Transport};
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use openapi::openapi;
pub use state::{AppState, Clock, StartError, system_clock};
pub use web::{
    CONTENT_SECURITY_POLICY, INDEX_PATH, MANIFEST_PATH, STRICT_TRANSPORT_SECURITY, WebApp,
    WebAppError, WebFile, content_type_for, record_web_release,
};

/// The largest request body the API accepts (1 MiB + envelope overhead headroom). Notes are far
/// smaller; attachments will get their own, streamed endpoint.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The API's routes, each registered with its method and path so that [`registered_routes`]
/// can list them for the route-policy test.
struct Api {
    router: Router<AppState>,
    listed: Vec<(&'static str, &'static str)>,
}

impl Api {
    fn get<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        self.add("get", path, get(handler))
    }

    fn post<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        self.add("post", path, post(handler))
    }

    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        route: axum::routing::MethodRouter<AppState>,
    ) -> Self {
        self.router = self.router.route(path, route);
        self.listed.push((method, path));
        self
    }
}

/// Every API route: (method, path under `/api/v1`), with the router.
fn api() -> Api {
    Api {
        router: Router::new(),
        listed: Vec::new(),
    }
    .get("/health", health)
    .get("/openapi.json", openapi_json)
    .post("/opaque/register", auth::register_start)
    .post("/clinics", auth::create_clinic)
    .post("/clinics/{clinic}/login/start", auth::login_start)
    .post("/clinics/{clinic}/login/finish", auth::login_finish)
    .post("/clinics/{clinic}/logout", auth::logout)
    .get("/clinics/{clinic}/me", auth::me)
    .post("/clinics/{clinic}/password/start", auth::password_start)
    .post("/clinics/{clinic}/password", auth::change_password)
    .get("/clinics/{clinic}/directory", directory::directory)
    .get("/clinics/{clinic}/wraps", directory::my_wraps)
    .post("/clinics/{clinic}/branches", directory::create_branch)
    .post(
        "/clinics/{clinic}/certificates",
        directory::renew_certificate,
    )
    .post("/clinics/{clinic}/invites", invites::create_invite)
    .get("/clinics/{clinic}/invites", invites::list_invites)
    .get("/clinics/{clinic}/invites/{invite}", invites::lookup_invite)
    .post(
        "/clinics/{clinic}/invites/{invite}/complete",
        invites::complete_invite,
    )
    .post(
        "/clinics/{clinic}/invites/{invite}/revoke",
        invites::revoke_invite,
    )
    .post("/clinics/{clinic}/signup", invites::signup)
    .post("/clinics/{clinic}/charts", charts::create_chart)
    .get("/clinics/{clinic}/charts", charts::list_charts)
    .post("/clinics/{clinic}/charts/{chart}/release", release::release)
    .post(
        "/clinics/{clinic}/charts/{chart}/access-log",
        release::chart_access_log,
    )
    .get(
        "/clinics/{clinic}/charts/{chart}/access-log",
        release::chart_access_log_page,
    )
    .get("/clinics/{clinic}/log/leaves", release::leaves)
    .add(
        "post",
        "/clinics/{clinic}/charts/{chart}/reports",
        post(reports::file_report).layer(axum::extract::DefaultBodyLimit::max(
            reports::MAX_REPORT_BODY_BYTES,
        )),
    )
    .get("/clinics/{clinic}/reports", reports::list_reports)
    .post(
        "/clinics/{clinic}/charts/{chart}/state",
        charts::append_state,
    )
    .post("/clinics/{clinic}/charts/{chart}/wraps", charts::put_wraps)
    .post(
        "/clinics/{clinic}/charts/{chart}/records",
        charts::put_record,
    )
    .get(
        "/clinics/{clinic}/objects/{object}",
        charts::object_location,
    )
    .post("/clinics/{clinic}/manifest", directory::update_manifest)
    .get("/clinics/{clinic}/log/checkpoint", access_log::checkpoint)
    .get("/clinics/{clinic}/log/inclusion", access_log::inclusion)
    .get("/clinics/{clinic}/log/consistency", access_log::consistency)
    .get("/clinics/{clinic}/log/witness", witness::witness_checkpoint)
    .add(
        "post",
        "/clinics/{clinic}/log/cosignatures",
        post(witness::submit_cosignature).layer(axum::extract::DefaultBodyLimit::max(
            witness::MAX_SUBMISSION_BYTES,
        )),
    )
    .get("/clinics/{clinic}/alerts", alerts::list_alerts)
    .post(
        "/clinics/{clinic}/alerts/{alert}/acknowledge",
        alerts::acknowledge_alert,
    )
    .post("/clinics/{clinic}/decoys", alerts::register_decoy)
}

/// Every route the API serves, as (method, full path as the OpenAPI document writes it). The
/// route-policy test checks this against [`policy::ROUTES`].
pub fn registered_routes() -> Vec<(&'static str, String)> {
    api()
        .listed
        .into_iter()
        .map(|(method, path)| (method, format!("/api/v1{path}")))
        .collect()
}

/// The application: the API under `/api/v1`, the web app at `/` (`web`), and the security
/// headers on every response.
pub fn router(state: AppState) -> Router {
    let api = api()
        .router
        // The API's own fallback, so an unknown API path always gets the JSON error shape.
        .fallback(not_found);
    let secure = state.secure_transport;
    Router::new()
        .nest("/api/v1", api)
        .route("/", get(web::index))
        .route(web::INDEX_PATH, get(web::index))
        .fallback(web::fallback)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // The limit layer answers a declared length over the limit in plain text: our shape.
        .layer(axum::middleware::map_response(extract::json_too_large))
        // Request spans carry the method and path only: never bodies, never the client address.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
        }))
        // Outermost, so every answer gets them: errors of the layers above included.
        .layer(axum::middleware::map_response_with_state(
            secure,
            web::security_headers,
        ))
        .with_state(state)
}

/// The health answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

/// `GET /api/v1/health`: 200 once the server is ready (the store answered at start-up).
#[utoipa::path(
    get,
    path = "/api/v1/health",
    tag = "server",
    responses((status = 200, description = "The server is ready.", body = Health))
)]
async fn health() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

/// `GET /api/v1/openapi.json`: this API's OpenAPI document (also committed as `docs/openapi.json`).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "server",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.", body = Object))
)]
async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(openapi())
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// Binds `config.listen` and serves `state` until `shutdown` completes, then stops accepting and
/// lets requests in flight finish. `on_bound` is called with the bound address (useful with port 0).
pub async fn serve(
    config: ServerConfig,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(SocketAddr) + Send,
) -> Result<(), ConfigError> {
    config.check()?;
    let state = state
        .with_secure_transport(config.transport.is_secure())
        .with_proxy(matches!(config.transport, Transport::BehindTlsProxy));
    let sweeper = tokio::spawn(sweep_expired(state.clone()));
    // Handlers see the peer's address (`ConnectInfo`): the login limiter counts per source.
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let shutdown_handle = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        shutdown_handle.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    let listener = std::net::TcpListener::bind(config.listen)
        .map_err(|e| ConfigError::Bind(config.listen, e.to_string()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| ConfigError::Bind(config.listen, e.to_string()))?;
    let bound = listener
        .local_addr()
        .map_err(|e| ConfigError::Bind(config.listen, e.to_string()))?;
    on_bound(bound);
    let timeout = config.header_read_timeout;
    let served = match &config.transport {
        Transport::Tls { cert, key } => {
            let tls = config::rustls_config(cert, key).await?;
            let mut server = axum_server::from_tcp_rustls(listener, tls)
                .map_err(|e| ConfigError::Bind(bound, e.to_string()))?
                .handle(handle)
                .first_request_timeout(timeout);
            with_timeouts(server.http_builder(), timeout);
            server
                .serve(app)
                .await
                .map_err(|e| ConfigError::Serve(e.to_string()))
        }
        Transport::Plain | Transport::BehindTlsProxy => {
            let mut server = axum_server::from_tcp(listener)
                .map_err(|e| ConfigError::Bind(bound, e.to_string()))?
                .handle(handle)
                .first_request_timeout(timeout);
            with_timeouts(server.http_builder(), timeout);
            server
                .serve(app)
                .await
                .map_err(|e| ConfigError::Serve(e.to_string()))
        }
    };
    sweeper.abort();
    served
}

/// Closes connections that send nothing: HTTP/1 waits at most `timeout` for a request head (on a
/// new connection and between kept-alive requests; axum-server's own first-request timeout
/// covers the protocol detection before it), and HTTP/2 pings an idle peer and drops it when the
/// ping goes unanswered for as long.
fn with_timeouts(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    timeout: std::time::Duration,
) {
    builder.http1().header_read_timeout(timeout);
    builder
        .http2()
        .keep_alive_interval(timeout)
        .keep_alive_timeout(timeout);
}

/// How often expired sessions and pending logins are deleted.
pub const SWEEP_EVERY_S: u64 = 60;

/// Deletes expired sessions and pending logins every [`SWEEP_EVERY_S`] seconds, so the store
/// keeps no token hash or OPAQUE state longer than it is usable. (Reads already refuse expired
/// rows; this is housekeeping.) Errors are logged and the next round tries again.
async fn sweep_expired(state: AppState) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(SWEEP_EVERY_S));
    loop {
        every.tick().await;
        let now = state.now();
        match state.store.delete_expired_sessions(now).await {
            Ok(n) if n > 0 => tracing::debug!(sessions = n, "expired sessions deleted"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "deleting expired sessions failed"),
        }
        match state.store.delete_expired_pending_logins(now).await {
            Ok(n) if n > 0 => tracing::debug!(pending_logins = n, "expired pending logins deleted"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "deleting expired pending logins failed"),
        }
    }
}
