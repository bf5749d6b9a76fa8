//! Detection (`docs/access-log.md` "Detection"): decoy charts, bulk chart openings, failed-login
//! bursts and patients' reports raise alerts. An alert is stored (ids, kind, counts, time — never
//! plaintext, never a chart id) and, when a webhook is configured, POSTed to it from a spawned
//! task within seconds; the request that caused it is never held up by the webhook.
//!
//! Other handlers call the hooks here:
//! - [`chart_named`] at the top of [`crate::charts::access`] (and anywhere else a request names a
//!   chart before it is authorised), so a request naming a decoy alerts whether it is granted or
//!   refused;
//! - [`key_released`] wherever case keys are released (chart openings, never listings): more than
//!   the threshold of distinct charts per account within the window raises one alert per window;
//! - [`login_failed`] for every failed login: a burst at a clinic raises one alert per window;
//! - [`patient_report`] when a patient flags an access-log entry.
//!
//! The decoy list lives outside the database ([`decoys`]); the sliding windows live in memory,
//! per server process (several app servers each count their own requests). With
//! [`DetectionConfig::lock_on_alert`], a decoy access or a bulk-opening alert also ends every
//! session of the account that caused it.

mod decoys;
mod webhook;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use vaiti_core::alert::{AlertList, RegisterDecoy};
use vaiti_core::api::MAX_ALERTS_PAGE;
use vaiti_core::{Alert, AlertId, AlertKind, ChartId, ClinicId, UserId};
use vaiti_store::Write;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Limit, Path, Position, Query};
use crate::policy::{Admin, LogReader};
use crate::state::{AppState, StartError};

use decoys::{DecoyError, Decoys};
use webhook::Webhook;

/// Default: more than this many distinct charts opened by one account within the window alerts.
pub const DEFAULT_CHART_OPENINGS_THRESHOLD: u32 = 30;
/// Default window for chart openings: 10 minutes.
pub const DEFAULT_CHART_OPENINGS_WINDOW_S: u64 = 10 * 60;
/// Default: this many failed logins at one clinic within the window alert.
pub const DEFAULT_FAILED_LOGINS_THRESHOLD: u32 = 10;
/// Default window for failed logins: 5 minutes.
pub const DEFAULT_FAILED_LOGINS_WINDOW_S: u64 = 5 * 60;
/// The most failed-login times kept per clinic (a flood cannot grow memory without bound).
const MAX_FAILURES_KEPT: usize = 100_000;
/// Requests by one account naming decoys within this many seconds of its last decoy alert are
/// part of that alert (a handler and the `access` it calls both check; a scraper is one alert,
/// not hundreds). The lock, when configured, still applies to each.
const DECOY_QUIET_S: i64 = 10;

/// How detection is configured (`vaiti serve --alert-webhook URL --decoys FILE ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectionConfig {
    /// The decoy list (JSON, outside the database); `None` keeps none and refuses registrations.
    pub decoys_file: Option<PathBuf>,
    /// Where alerts are POSTed: an `https://` URL, or `http://` to a loopback address.
    pub webhook: Option<String>,
    /// More than this many distinct charts opened by one account within the window alerts.
    pub chart_openings_threshold: u32,
    /// The chart-openings window, in seconds.
    pub chart_openings_window_s: u64,
    /// This many failed logins at one clinic within the window alert.
    pub failed_logins_threshold: u32,
    /// The failed-logins window, in seconds.
    pub failed_logins_window_s: u64,
    /// End every session of the account behind a decoy-access or bulk-opening alert.
    pub lock_on_alert: bool,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        Self {
            decoys_file: None,
            webhook: None,
            chart_openings_threshold: DEFAULT_CHART_OPENINGS_THRESHOLD,
            chart_openings_window_s: DEFAULT_CHART_OPENINGS_WINDOW_S,
            failed_logins_threshold: DEFAULT_FAILED_LOGINS_THRESHOLD,
            failed_logins_window_s: DEFAULT_FAILED_LOGINS_WINDOW_S,
            lock_on_alert: false,
        }
    }
}

/// One account's recent chart openings.
#[derive(Debug, Default)]
struct Openings {
    /// Each distinct chart opened within the window, with the time of its latest opening.
    charts: HashMap<ChartId, i64>,
    /// When this account last raised a bulk-opening alert.
    last_alert: Option<i64>,
}

/// One clinic's recent failed logins.
#[derive(Debug, Default)]
struct Failures {
    times: VecDeque<i64>,
    last_alert: Option<i64>,
}

/// Detection's state in one server process.
#[derive(Debug)]
pub(crate) struct Detection {
    config: DetectionConfig,
    decoys: Decoys,
    webhook: Option<Webhook>,
    openings: Mutex<HashMap<(ClinicId, UserId), Openings>>,
    failures: Mutex<HashMap<ClinicId, Failures>>,
    /// When each account last raised a decoy alert.
    decoy_alerts: Mutex<HashMap<(ClinicId, UserId), i64>>,
}

impl Default for Detection {
    /// Default thresholds, no decoy list, no webhook.
    fn default() -> Self {
        Self {
            config: DetectionConfig::default(),
            decoys: Decoys::none(),
            webhook: None,
            openings: Mutex::default(),
            failures: Mutex::default(),
            decoy_alerts: Mutex::default(),
        }
    }
}

impl AppState {
    /// Configures detection: loads the decoy list (a missing file is an empty list; an unreadable
    /// one is an error) and checks the webhook URL. Without this call the state detects with the
    /// default thresholds, keeps no decoys and posts no webhook.
    pub fn with_detection(mut self, config: DetectionConfig) -> Result<Self, StartError> {
        if config.chart_openings_window_s == 0 || config.failed_logins_window_s == 0 {
            return Err(StartError::Detection(
                "detection windows must be at least one second".into(),
            ));
        }
        let decoys = match &config.decoys_file {
            Some(path) => {
                Decoys::load(path.clone()).map_err(|e| StartError::Detection(e.to_string()))?
            }
            None => Decoys::none(),
        };
        let webhook = config
            .webhook
            .as_deref()
            .map(Webhook::new)
            .transpose()
            .map_err(|e| StartError::Detection(e.to_string()))?;
        self.detection = std::sync::Arc::new(Detection {
            config,
            decoys,
            webhook,
            openings: Mutex::default(),
            failures: Mutex::default(),
            decoy_alerts: Mutex::default(),
        });
        Ok(self)
    }
}

/// What was detected, before it becomes a stored [`Alert`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Detected {
    /// What.
    pub(crate) kind: AlertKind,
    /// Who caused it.
    pub(crate) actor: Option<UserId>,
    /// What was counted (1 for a single event).
    pub(crate) count: u64,
    /// Over how many seconds (0 for a single event).
    pub(crate) window_s: u64,
    /// The access-log entry concerned (never for a decoy).
    pub(crate) log_index: Option<u64>,
}

/// Stores an alert and, if a webhook is configured, hands it to a delivery task. Never fails the
/// caller's request: a store failure is logged and the webhook still gets the alert. Returns the
/// alert as stored (or as it would have been).
pub(crate) async fn raise(state: &AppState, clinic: ClinicId, detected: Detected) -> Alert {
    let id = AlertId::generate().unwrap_or_else(|_| {
        // The OS RNG failing is not a reason to lose an alert: fall back to a time-based id.
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&state.now().to_be_bytes());
        bytes[8..].copy_from_slice(&(detected.count).to_be_bytes());
        AlertId::from_bytes(bytes)
    });
    let alert = Alert {
        clinic,
        id,
        kind: detected.kind,
        actor: detected.actor,
        count: detected.count,
        window_s: detected.window_s,
        log_index: detected.log_index,
        created_at: state.now(),
        acknowledged_by: None,
        acknowledged_at: None,
    };
    // Ids only: which chart a decoy alert concerns is deliberately not logged either, so the
    // event is detached from the request's span (whose path names the chart).
    tracing::warn!(
        parent: None,
        clinic = %clinic,
        alert = %alert.id,
        kind = %alert.kind,
        actor = ?alert.actor,
        count = alert.count,
        "detection alert"
    );
    if let Err(e) = state
        .store
        .apply(vec![Write::RaiseAlert(alert.clone())])
        .await
    {
        tracing::error!(parent: None, clinic = %clinic, alert = %alert.id, error = %e, "storing an alert failed");
    }
    if let Some(hook) = &state.detection.webhook {
        hook.spawn_delivery(&alert);
    }
    alert
}

/// With `lock_on_alert`, ends every session of `user` (they must log in again; the account stays
/// active). Failures are logged.
async fn lock(state: &AppState, clinic: ClinicId, user: UserId) {
    if !state.detection.config.lock_on_alert {
        return;
    }
    match state
        .store
        .apply(vec![Write::EndSessions { clinic, user }])
        .await
    {
        Ok(()) => {
            tracing::warn!(parent: None, clinic = %clinic, user = %user, "sessions ended by a detection alert")
        }
        Err(e) => {
            tracing::error!(parent: None, clinic = %clinic, user = %user, error = %e, "ending sessions after an alert failed");
        }
    }
}

/// Whether `chart` is a decoy of `clinic` (for leaving it out of listings).
pub(crate) fn is_decoy(state: &AppState, clinic: ClinicId, chart: ChartId) -> bool {
    state.detection.decoys.contains(clinic, chart)
}

/// A request by `actor` names `chart`: if it is a decoy, alert (and lock, if configured). Call it
/// before authorising the request, so a refused request alerts too.
pub(crate) async fn chart_named(state: &AppState, clinic: ClinicId, chart: ChartId, actor: UserId) {
    if !is_decoy(state, clinic, chart) {
        return;
    }
    let now = state.now();
    let quiet = {
        let mut recent = state
            .detection
            .decoy_alerts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        recent.retain(|_, t| now.saturating_sub(*t) < DECOY_QUIET_S);
        let quiet = recent.contains_key(&(clinic, actor));
        if !quiet {
            recent.insert((clinic, actor), now);
        }
        quiet
    };
    if !quiet {
        raise(
            state,
            clinic,
            Detected {
                kind: AlertKind::DecoyAccess,
                actor: Some(actor),
                count: 1,
                window_s: 0,
                log_index: None,
            },
        )
        .await;
    }
    lock(state, clinic, actor).await;
}

/// `actor` was released the case keys of `chart` (a chart opening; listings never call this).
/// More than the threshold of distinct charts within the window raises one alert per window.
pub(crate) async fn key_released(
    state: &AppState,
    clinic: ClinicId,
    actor: UserId,
    chart: ChartId,
) {
    let config = &state.detection.config;
    let window = i64::try_from(config.chart_openings_window_s).unwrap_or(i64::MAX);
    let now = state.now();
    let fired = {
        let mut all = state
            .detection
            .openings
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mine = all.entry((clinic, actor)).or_default();
        mine.charts.retain(|_, t| now.saturating_sub(*t) < window);
        mine.charts.insert(chart, now);
        let distinct = mine.charts.len();
        let fire = distinct > config.chart_openings_threshold as usize
            && mine
                .last_alert
                .is_none_or(|t| now.saturating_sub(t) >= window);
        if fire {
            mine.last_alert = Some(now);
        }
        // Forget accounts with nothing left in their window.
        all.retain(|_, o| {
            o.charts.values().any(|t| now.saturating_sub(*t) < window)
                || o.last_alert.is_some_and(|t| now.saturating_sub(t) < window)
        });
        fire.then_some(distinct)
    };
    if let Some(distinct) = fired {
        raise(
            state,
            clinic,
            Detected {
                kind: AlertKind::ChartOpeningRate,
                actor: Some(actor),
                count: distinct as u64,
                window_s: config.chart_openings_window_s,
                log_index: None,
            },
        )
        .await;
        lock(state, clinic, actor).await;
    }
}

/// A login at `clinic` failed. Reaching the threshold within the window raises one alert per
/// window (naming no account: a failed login does not say whose it was).
pub(crate) async fn login_failed(state: &AppState, clinic: ClinicId) {
    let config = &state.detection.config;
    let window = i64::try_from(config.failed_logins_window_s).unwrap_or(i64::MAX);
    let now = state.now();
    let fired = {
        let mut all = state
            .detection
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mine = all.entry(clinic).or_default();
        while mine
            .times
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= window)
        {
            mine.times.pop_front();
        }
        mine.times.push_back(now);
        if mine.times.len() > MAX_FAILURES_KEPT {
            mine.times.pop_front();
        }
        let count = mine.times.len();
        let fire = count >= config.failed_logins_threshold as usize
            && mine
                .last_alert
                .is_none_or(|t| now.saturating_sub(t) >= window);
        if fire {
            mine.last_alert = Some(now);
        }
        all.retain(|_, f| {
            f.times
                .back()
                .is_some_and(|t| now.saturating_sub(*t) < window)
                || f.last_alert.is_some_and(|t| now.saturating_sub(t) < window)
        });
        fire.then_some(count)
    };
    if let Some(count) = fired {
        raise(
            state,
            clinic,
            Detected {
                kind: AlertKind::FailedLoginBurst,
                actor: None,
                count: count as u64,
                window_s: config.failed_logins_window_s,
                log_index: None,
            },
        )
        .await;
    }
}

/// A patient reported an access-log entry they do not recognise (the entry's index, if known).
/// Every report is an alert; the patient's words are not part of it.
pub(crate) async fn patient_report(
    state: &AppState,
    clinic: ClinicId,
    patient: UserId,
    log_index: Option<u64>,
) -> Alert {
    raise(
        state,
        clinic,
        Detected {
            kind: AlertKind::PatientReport,
            actor: Some(patient),
            count: 1,
            window_s: 0,
            log_index,
        },
    )
    .await
}

// ---- Endpoints ----

impl From<DecoyError> for ApiError {
    fn from(e: DecoyError) -> Self {
        match e {
            DecoyError::NoFile => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "this server keeps no decoy list; its operator must start it with a data directory or --decoys FILE",
            ),
            other => ApiError::internal(other.to_string()),
        }
    }
}

/// Filter of `GET /alerts`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlertsQuery {
    /// At most this many (default 100, at most 1000), newest first.
    #[param(value_type = u32, required = false, minimum = 1, maximum = 1000)]
    limit: Option<Limit<MAX_ALERTS_PAGE>>,
    /// Skip this many of the newest (the previous page's `next`; default 0).
    #[param(value_type = u64, required = false, minimum = 0, maximum = 9223372036854775807_u64)]
    position: Option<Position>,
}

/// The clinic's alerts, newest first. Admins and auditors.
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/alerts",
    tag = "detection",
    params(("clinic" = ClinicId, Path, description = "The clinic."), AlertsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the alerts, newest first, and `next` when more remain.", body = AlertList),
        (status = 400, description = "`bad_request`: a malformed or out-of-range `limit` or `position`.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 403, description = "`forbidden`: only admins and auditors read alerts.", body = ErrorBody),
        (status = 404, description = "`not_found`: not the session's clinic.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn list_alerts(
    State(state): State<AppState>,
    LogReader { caller, .. }: LogReader,
    Query(query): Query<AlertsQuery>,
) -> Result<axum::Json<AlertList>, ApiError> {
    let limit = query.limit.map_or(100, Limit::get);
    let position = query.position.map_or(0, Position::get);
    // One more than the page, to know whether another follows. (The store lists newest first
    // from the start, so a page deep in a long list reads the rows before it too; alerts are
    // few, and rate-limited by what raises them.)
    let Some(upto) = position
        .checked_add(u64::from(limit) + 1)
        .and_then(|n| u32::try_from(n).ok())
    else {
        return Ok(axum::Json(AlertList {
            alerts: Vec::new(),
            next: None,
        }));
    };
    let mut alerts = state.store.alerts(caller.session.clinic, upto).await?;
    let more = alerts.len() as u64 > position + u64::from(limit);
    alerts.truncate(upto as usize - 1);
    let alerts: Vec<Alert> = alerts.into_iter().skip(position as usize).collect();
    let next = more.then_some(position + u64::from(limit));
    Ok(axum::Json(AlertList { alerts, next }))
}

/// Marks an alert acknowledged (the first acknowledgement is kept). Admins.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/alerts/{alert}/acknowledge",
    tag = "detection",
    params(
        ("clinic" = ClinicId, Path, description = "The clinic."),
        ("alert" = AlertId, Path, description = "The alert."),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The alert is acknowledged."),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 403, description = "`forbidden`: only admins acknowledge alerts.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such alert in the clinic.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn acknowledge_alert(
    State(state): State<AppState>,
    Admin { caller, .. }: Admin,
    Path((_clinic, alert)): Path<(ClinicId, AlertId)>,
) -> Result<StatusCode, ApiError> {
    let clinic = caller.session.clinic;
    crate::access_log::apply_logged(
        &state,
        clinic,
        vec![Write::AcknowledgeAlert {
            clinic,
            id: alert,
            by: caller.session.user,
            at: state.now(),
        }],
        crate::access_log::Entry::new(
            vaiti_log::Action::AdminAction,
            vaiti_log::Purpose::Administration,
            Some(caller.session.user),
        )
        .object(*alert.as_bytes()),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Registers a chart as a decoy. Admins. The chart is made by the admin's client exactly like a
/// patient's; the server keeps the list outside its database and never lists a decoy again. The
/// access-log leaf of the registration names no chart: its detail is a salted hash of the chart
/// id, the salt kept in the decoy file. Registering a decoy again changes nothing (and, like any
/// request naming a decoy, alerts).
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/decoys",
    tag = "detection",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    request_body = RegisterDecoy,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The chart is a decoy."),
        (status = 400, description = "`bad_request`: a malformed body.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 403, description = "`forbidden`: only admins register decoys.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such chart in the clinic.", body = ErrorBody),
        (status = 409, description = "`conflict`: this server keeps no decoy list.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn register_decoy(
    State(state): State<AppState>,
    Admin { caller, .. }: Admin,
    Json(req): Json<RegisterDecoy>,
) -> Result<StatusCode, ApiError> {
    let clinic = caller.session.clinic;
    let admin = caller.session.user;
    chart_named(&state, clinic, req.chart, admin).await;
    if !state.detection.decoys.enabled() {
        return Err(DecoyError::NoFile.into());
    }
    if state.store.chart(clinic, req.chart).await?.is_none() {
        return Err(ApiError::not_found());
    }
    let salt = state.detection.decoys.salt();
    let leaf = crate::access_log::apply_logged(
        &state,
        clinic,
        Vec::new(),
        crate::access_log::Entry::new(
            vaiti_log::Action::AdminAction,
            vaiti_log::Purpose::Administration,
            Some(admin),
        )
        .detail(&[b"decoy", &salt, req.chart.as_bytes()]),
    );
    let added = state
        .detection
        .decoys
        .add(clinic, req.chart, async { leaf.await.map(|_| ()) })
        .await?;
    if added {
        tracing::info!(parent: None, clinic = %clinic, by = %admin, "decoy registered");
    }
    Ok(StatusCode::NO_CONTENT)
}
