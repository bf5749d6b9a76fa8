//! Accounts: OPAQUE registration and login, sessions, clinic creation, and the authenticated
//! caller extractor. See `docs/protocol.md`.
//!
//! The server never sees a password or a Secret Key: OPAQUE gives it only a registration record,
//! and the client's keys arrive sealed under keys derived from both secrets.

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use vaiti_core::{
    Account, AccountKeys, AccountKind, AccountStatus, Certificate, Clinic, ClinicId, InviteState,
    KeyWrap, Recipient, Role, Sealed, Session, UserId, WrapScope,
};
use vaiti_opaque::opaque_ke::{
    CredentialFinalization, CredentialRequest, RegistrationRequest, RegistrationUpload,
    ServerLogin, ServerLoginParameters, ServerRegistration,
};
use vaiti_opaque::{OsRng, VaitiOpaqueSuite as Suite};
use vaiti_store::{PendingLogin, Write};

use vaiti_core::api::{
    ChangePassword, ClinicCreated, CreateClinic, LoggedIn, LoginChallenge, LoginFinish, LoginStart,
    Me, PasswordChallenge, PasswordStart, RegisterResponse, RegisterStart,
};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path};
use crate::limiter::Source;
use crate::state::AppState;

/// How long a staff session lasts: a working day.
pub const STAFF_SESSION_S: i64 = 12 * 60 * 60;
/// How long a patient session lasts.
pub const PATIENT_SESSION_S: i64 = 60 * 60;
/// How long the server waits between the two login messages.
pub const PENDING_LOGIN_S: i64 = 60;
/// The header that carries the operator's clinic-creation token.
pub const CLINIC_CREATION_HEADER: &str = "x-vaiti-clinic-creation-token";
/// The header the browser app sends on every call, with the value [`WEB_CLIENT_VALUE`]. On
/// `login/finish` it asks for the session as an `HttpOnly` cookie instead of a token in the body;
/// on every other call it is what makes that cookie count. A page of another site cannot add a
/// custom header (nor an `application/json` content type) to a request to this origin without a
/// CORS preflight, which this server never grants, so a request carrying the header comes from
/// this origin's own page (or from a non-browser client, which has no victim's cookie to ride).
pub const WEB_CLIENT_HEADER: &str = "x-vaiti-client";
/// The value of [`WEB_CLIENT_HEADER`].
pub const WEB_CLIENT_VALUE: &str = "web";
/// The browser session cookie: `HttpOnly` (page scripts never read the token), `SameSite=Strict`,
/// scoped to the API's path, and `Secure` whenever the server is reached over TLS.
pub const SESSION_COOKIE: &str = "vaiti_session";
/// The path the session cookie is sent to.
const SESSION_COOKIE_PATH: &str = "/api/v1/";

const XWING_PUBLIC_KEY_LEN: usize = 1216;
const ED25519_PUBLIC_KEY_LEN: usize = 32;
const MAX_LOGIN_LEN: usize = 254;
const MAX_DISPLAY_NAME_LEN: usize = 200;

/// Whether the request comes from the browser app (it carries `x-vaiti-client: web`).
fn is_web_client(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(WEB_CLIENT_HEADER)
        .iter()
        .any(|v| v.as_bytes() == WEB_CLIENT_VALUE.as_bytes())
}

/// A `Set-Cookie` value for the session cookie: `token` for `max_age` seconds (an empty token and
/// 0 clear it).
fn session_cookie(
    token: &str,
    max_age: i64,
    secure: bool,
) -> Result<axum::http::HeaderValue, ApiError> {
    let secure = if secure { "; Secure" } else { "" };
    axum::http::HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path={SESSION_COOKIE_PATH}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .map_err(|_| ApiError::internal("a session cookie is not a valid header"))
}

/// Every value of the session cookie among the request's `Cookie` headers.
fn session_cookies(headers: &axum::http::HeaderMap) -> Vec<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .collect()
}

/// Where a request comes from, for the login limiter: the peer's address (`ConnectInfo`, which
/// [`crate::serve`] provides), or behind a TLS proxy the right-most `X-Forwarded-For` entry —
/// the one the proxy itself appended; entries left of it are the client's to choose. Without
/// either (a router driven without a socket) every request is one unknown source.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientSource(pub(crate) Source);

impl FromRequestParts<AppState> for ClientSource {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = if state.behind_proxy {
            forwarded_for(&parts.headers)
        } else {
            None
        };
        Ok(ClientSource(
            forwarded.or(peer).map_or(Source::Unknown, Source::of),
        ))
    }
}

/// The right-most address of the request's `X-Forwarded-For` headers, if it parses.
fn forwarded_for(headers: &axum::http::HeaderMap) -> Option<std::net::IpAddr> {
    let last = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()?
        .to_str()
        .ok()?
        .rsplit(',')
        .next()?
        .trim();
    last.parse::<std::net::IpAddr>()
        .ok()
        .or_else(|| last.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

/// OPAQUE's credential identifier for an account: clinic id || user id.
fn credential_id(clinic: ClinicId, user: UserId) -> [u8; 32] {
    let mut id = [0u8; 32];
    id[..16].copy_from_slice(clinic.as_bytes());
    id[16..].copy_from_slice(user.as_bytes());
    id
}

/// A stable stand-in identifier for a login name that does not exist, so an unknown name is
/// answered exactly like a wrong password (no account enumeration). It is longer than an
/// account's identifier (`"vaiti v1 unknown login" || clinic || SHA-256(login)`, 70 bytes
/// against 32) and so can never be one: no registration, whatever user id it names, gets an OPRF
/// evaluation under an unknown name's key, to compare with that name's login answer.
fn unknown_credential_id(clinic: ClinicId, login: &str) -> Vec<u8> {
    let mut id = b"vaiti v1 unknown login".to_vec();
    id.extend_from_slice(clinic.as_bytes());
    id.extend_from_slice(&Sha256::digest(login.as_bytes()));
    id
}

fn login_failed() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "login_failed",
        "wrong login name, password or Secret Key",
    )
}

fn malformed(what: &str) -> ApiError {
    ApiError::bad_request(format!("malformed {what}"))
}

/// First round of OPAQUE registration, for a new account only (an existing account changes its
/// password through an authenticated route). Stateless. Only for an invitee, naming an open
/// invite of the clinic, or for a new clinic's first admin, with the operator's clinic-creation
/// token: anyone else would get an OPRF evaluation to compare with login answers.
#[utoipa::path(
    post,
    path = "/api/v1/opaque/register",
    tag = "accounts",
    request_body = RegisterStart,
    params(("x-vaiti-clinic-creation-token" = Option<String>, Header, description = "The operator's clinic-creation token: needed without `invite`, for a new clinic's first admin.")),
    responses(
        (status = 200, description = "The OPAQUE registration response.", body = RegisterResponse),
        (status = 400, description = "`bad_request`: a malformed body or registration request.", body = ErrorBody),
        (status = 403, description = "`forbidden`: no open invite of the clinic is named, and no valid clinic-creation token comes with a clinic not yet stored (one answer for every case).", body = ErrorBody),
        (status = 409, description = "`conflict`: the account is already registered.", body = ErrorBody),
        (status = 413, description = "`too_large`: the request body is too large.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn register_start(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Json(req): Json<RegisterStart>,
) -> Result<axum::Json<RegisterResponse>, ApiError> {
    let allowed = match req.invite {
        Some(invite) => state
            .store
            .invite(req.clinic, invite)
            .await?
            .is_some_and(|i| i.state == InviteState::Open && state.now() < i.expires_at),
        None => {
            has_creation_token(&state, &headers) && state.store.clinic(req.clinic).await?.is_none()
        }
    };
    if !allowed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "registration needs an open invite (sign up with your invite code) or, for a new clinic, the operator's clinic-creation token",
        ));
    }
    if state.store.account(req.clinic, req.user).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "this account is already registered",
        ));
    }
    let request = RegistrationRequest::<Suite>::deserialize(req.request.as_bytes())
        .map_err(|_| malformed("registration request"))?;
    let response = ServerRegistration::<Suite>::start(
        &state.opaque,
        request,
        &credential_id(req.clinic, req.user),
    )
    .map_err(|_| malformed("registration request"))?;
    Ok(axum::Json(RegisterResponse {
        response: Sealed(response.message.serialize().to_vec()),
    }))
}

/// Whether the request carries the operator's clinic-creation token.
fn has_creation_token(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    let Some(expected) = state.clinic_creation_token_hash else {
        return false;
    };
    headers
        .get(CLINIC_CREATION_HEADER)
        .map(|v| Sha256::digest(v.as_bytes()))
        .is_some_and(|p| bool::from(p.as_slice().ct_eq(&expected)))
}

/// Checks the shape of an email-like staff login name (the mailbox itself is the clinic's affair).
pub(crate) fn check_staff_login(login: &str) -> Result<(), ApiError> {
    let ok = login.len() <= MAX_LOGIN_LEN
        && login
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !login.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request("the login must be an email address"))
    }
}

pub(crate) fn check_account_keys(keys: &AccountKeys) -> Result<(), ApiError> {
    if keys.encryption_public_key.as_bytes().len() != XWING_PUBLIC_KEY_LEN
        || keys.verifying_key.as_bytes().len() != ED25519_PUBLIC_KEY_LEN
    {
        return Err(ApiError::bad_request(
            "the account's public keys have the wrong length",
        ));
    }
    let sealed = [
        &keys.wrapped_account_key,
        &keys.wrapped_decryption_key,
        &keys.wrapped_signing_key,
        &keys.wrapped_cache_key,
        &keys.root_pin,
    ];
    if sealed
        .iter()
        .any(|s| s.as_bytes().is_empty() || s.as_bytes().len() > 4096)
    {
        return Err(ApiError::bad_request(
            "the account's sealed keys are missing or too large",
        ));
    }
    Ok(())
}

/// Creates a clinic with its first admin, in one transaction. Only the operator, who holds the
/// clinic-creation token, may do this.
#[utoipa::path(
    post,
    path = "/api/v1/clinics",
    tag = "clinics",
    request_body = CreateClinic,
    security(("clinic_creation_token" = [])),
    responses(
        (status = 201, description = "The clinic and its first admin were created.", body = ClinicCreated),
        (status = 400, description = "`bad_request`: a malformed body, login name, key or OPAQUE upload, a manifest that is not version 1 of this clinic signed by the root key it names, or root wraps not to the admin and escrow.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the clinic-creation token is missing or wrong, or this server does not create clinics.", body = ErrorBody),
        (status = 409, description = "`conflict`: the clinic or account already exists.", body = ErrorBody),
        (status = 413, description = "`too_large`: the request body is too large.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn create_clinic(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Json(req): Json<CreateClinic>,
) -> Result<(StatusCode, axum::Json<ClinicCreated>), ApiError> {
    let Some(expected) = state.clinic_creation_token_hash else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this server does not create clinics",
        ));
    };
    let presented = headers
        .get(CLINIC_CREATION_HEADER)
        .map(|v| Sha256::digest(v.as_bytes()));
    if !presented.is_some_and(|p| bool::from(p.as_slice().ct_eq(&expected))) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a valid clinic-creation token is required (the operator finds it in the server's data directory)",
        ));
    }
    check_staff_login(&req.admin.login)?;
    if req
        .admin
        .display_name
        .as_ref()
        .is_some_and(|n| n.len() > MAX_DISPLAY_NAME_LEN)
    {
        return Err(ApiError::bad_request("the display name is too long"));
    }
    check_account_keys(&req.admin.keys)?;
    crate::directory::check_first_manifest(req.id, &req.manifest, &req.manifest_signature)?;
    let upload = RegistrationUpload::<Suite>::deserialize(req.admin.opaque_upload.as_bytes())
        .map_err(|_| malformed("OPAQUE registration"))?;
    let record = ServerRegistration::<Suite>::finish(upload)
        .serialize()
        .to_vec();
    let now = state.now();
    let admin = req.admin.id;
    // The root key goes to the admin and to escrow, and nowhere else.
    let recipients_ok = req.root_wraps.iter().all(|w| {
        w.scope == WrapScope::Root
            && match w.recipient {
                Recipient::User { user } => user == admin,
                Recipient::Escrow => true,
            }
    }) && req
        .root_wraps
        .iter()
        .any(|w| w.recipient == Recipient::Escrow)
        && req
            .root_wraps
            .iter()
            .any(|w| w.recipient == Recipient::User { user: admin });
    if !recipients_ok {
        return Err(ApiError::bad_request(
            "the root key must be wrapped to the first admin and to escrow",
        ));
    }
    let mut writes = vec![
        Write::CreateClinic(Clinic {
            id: req.id,
            manifest: req.manifest,
            manifest_signature: req.manifest_signature,
            manifest_version: 1,
            created_at: now,
        }),
        Write::CreateAccount {
            account: Account {
                clinic: req.id,
                id: admin,
                kind: AccountKind::Staff,
                login: req.admin.login,
                display_name: req.admin.display_name,
                roles: vec![Role::Admin],
                branches: Vec::new(),
                status: AccountStatus::Active,
                created_at: now,
            },
            keys: req.admin.keys,
            opaque_record: record,
        },
        Write::PutCertificate(Certificate {
            clinic: req.id,
            user: admin,
            serial: 1,
            body: req.certificate.body,
            signature: req.certificate.signature,
            issuer_key: req.certificate.issuer_key,
            expires_at: req.certificate.expires_at,
            revoked_at: None,
            revocation: None,
        }),
    ];
    writes.extend(req.root_wraps.into_iter().map(|w| {
        Write::PutKeyWrap(KeyWrap {
            clinic: req.id,
            scope: w.scope,
            recipient: w.recipient,
            recipient_key: w.recipient_key,
            wrap: w.wrap,
            signature: w.signature,
            wrapped_by: admin,
            created_at: now,
        })
    }));
    crate::access_log::apply_logged(
        &state,
        req.id,
        writes,
        crate::access_log::Entry::new(
            vaiti_log::Action::DirectoryChange,
            vaiti_log::Purpose::Administration,
            Some(admin),
        )
        .object(*admin.as_bytes()),
    )
    .await?;
    tracing::info!(clinic = %req.id, admin = %admin, "clinic created");
    Ok((
        StatusCode::CREATED,
        axum::Json(ClinicCreated {
            clinic: req.id,
            admin,
        }),
    ))
}

/// First round of an OPAQUE login.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/login/start",
    tag = "accounts",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    request_body = LoginStart,
    responses(
        (status = 200, description = "The OPAQUE credential response and the id of this login attempt.", body = LoginChallenge),
        (status = 400, description = "`bad_request`: a malformed body, login name or login request.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such clinic.", body = ErrorBody),
        (status = 413, description = "`too_large`: the request body is too large.", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many login attempts from this address, for this name or at this clinic (`docs/protocol.md`, \"Login limits\").", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn login_start(
    State(state): State<AppState>,
    Path(clinic): Path<ClinicId>,
    source: ClientSource,
    Json(req): Json<LoginStart>,
) -> Result<axum::Json<LoginChallenge>, ApiError> {
    if req.login.is_empty() || req.login.len() > MAX_LOGIN_LEN {
        return Err(ApiError::bad_request("the login name is empty or too long"));
    }
    // Only a well-formed request for a clinic that exists is counted: junk and made-up clinic
    // ids cost the limiter nothing and lock no one out.
    let request = CredentialRequest::<Suite>::deserialize(req.request.as_bytes())
        .map_err(|_| malformed("login request"))?;
    if state.store.clinic(clinic).await?.is_none() {
        return Err(ApiError::not_found());
    }
    let now = state.now();
    if let Err(refusal) = state
        .login_limiter
        .check(clinic.as_bytes(), &req.login, source.0, now)
    {
        // A refused start is a failed login for detection: a flood raises an alert (and the
        // alert's log line), while the refusal itself writes nothing that a flood could grow.
        tracing::debug!(clinic = %clinic, ?refusal, "login start refused by the rate limiter");
        crate::alerts::login_failed(&state, clinic).await;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many login attempts; wait a minute and try again",
        ));
    }
    let account = state
        .store
        .account_by_login(clinic, &req.login)
        .await?
        .filter(|a| a.status == AccountStatus::Active);
    let (user, record, cred_id) = match account {
        Some(a) => {
            let record = state.store.opaque_record(clinic, a.id).await?;
            let record = match record {
                Some(r) => Some(ServerRegistration::<Suite>::deserialize(&r).map_err(|_| {
                    ApiError::internal(format!("corrupt OPAQUE record for {}", a.id))
                })?),
                None => None,
            };
            (Some(a.id), record, credential_id(clinic, a.id).to_vec())
        }
        None => (None, None, unknown_credential_id(clinic, &req.login)),
    };
    let started = ServerLogin::start(
        &mut OsRng,
        &state.opaque,
        record,
        request,
        &cred_id,
        ServerLoginParameters::default(),
    )
    .map_err(|_| malformed("login request"))?;
    let mut id = [0u8; 16];
    getrandom::fill(&mut id)
        .map_err(|_| ApiError::internal("OS random number generator failed"))?;
    state
        .store
        .put_pending_login(&PendingLogin {
            id,
            clinic,
            user,
            state: started.state.serialize().to_vec(),
            expires_at: now + PENDING_LOGIN_S,
        })
        .await?;
    Ok(axum::Json(LoginChallenge {
        login_id: URL_SAFE_NO_PAD.encode(id),
        response: Sealed(started.message.serialize().to_vec()),
    }))
}

/// Second round of an OPAQUE login: on success, a new session.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/login/finish",
    tag = "accounts",
    params(
        ("clinic" = ClinicId, Path, description = "The clinic."),
        ("x-vaiti-client" = Option<String>, Header, description = "`web` from the browser app: the session then comes as the `vaiti_session` cookie (HttpOnly, SameSite=Strict, Path=/api/v1/, Secure over TLS) and the body's token is empty."),
    ),
    request_body = LoginFinish,
    responses(
        (status = 200, description = "A new session: its token in the body, or (with `x-vaiti-client: web`) in the `vaiti_session` cookie with an empty token in the body.", body = LoggedIn,
            headers(("Set-Cookie" = String, description = "With `x-vaiti-client: web` only: `vaiti_session=<token>; Path=/api/v1/; HttpOnly; SameSite=Strict; Max-Age=<session seconds>`, and `; Secure` over TLS."))),
        (status = 400, description = "`bad_request`: a malformed body or login id.", body = ErrorBody),
        (status = 401, description = "`login_failed`: wrong login name, password or Secret Key (one answer for all), or the attempt expired.", body = ErrorBody),
        (status = 413, description = "`too_large`: the request body is too large.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn login_finish(
    State(state): State<AppState>,
    Path(clinic): Path<ClinicId>,
    source: ClientSource,
    headers: axum::http::HeaderMap,
    Json(req): Json<LoginFinish>,
) -> Result<axum::response::Response, ApiError> {
    let id: [u8; 16] = URL_SAFE_NO_PAD
        .decode(req.login_id.as_bytes())
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| malformed("login id"))?;
    let now = state.now();
    let pending = state
        .store
        .take_pending_login(clinic, &id, now)
        .await?
        .ok_or_else(login_failed)?;
    let server_login = ServerLogin::<Suite>::deserialize(&pending.state)
        .map_err(|_| ApiError::internal("corrupt pending login state"))?;
    // Every failure below is one answer to the client, and one leaf in the clinic's log naming
    // the account tried (if the name has one) — never the name typed.
    let proven = CredentialFinalization::<Suite>::deserialize(req.finalization.as_bytes())
        .ok()
        .and_then(|f| {
            server_login
                .finish(f, ServerLoginParameters::default())
                .ok()
        })
        .is_some();
    let account = match pending.user {
        Some(user) if proven => state.store.account(clinic, user).await?,
        _ => None,
    };
    let Some(account) = account.filter(|a| a.status == AccountStatus::Active) else {
        crate::access_log::apply_logged(
            &state,
            clinic,
            Vec::new(),
            crate::access_log::Entry::new(
                vaiti_log::Action::LoginFailed,
                vaiti_log::Purpose::None,
                pending.user,
            ),
        )
        .await?;
        crate::alerts::login_failed(&state, clinic).await;
        return Err(login_failed());
    };
    let user = account.id;
    crate::access_log::apply_logged(
        &state,
        clinic,
        Vec::new(),
        crate::access_log::Entry::new(
            vaiti_log::Action::Login,
            vaiti_log::Purpose::None,
            Some(user),
        ),
    )
    .await?;
    let mut token = [0u8; 32];
    getrandom::fill(&mut token)
        .map_err(|_| ApiError::internal("OS random number generator failed"))?;
    let lifetime = match account.kind {
        AccountKind::Staff => STAFF_SESSION_S,
        AccountKind::Patient => PATIENT_SESSION_S,
    };
    let session = Session {
        token_hash: Sha256::digest(token).into(),
        clinic,
        user,
        created_at: now,
        expires_at: now + lifetime,
    };
    state.store.create_session(&session).await?;
    tracing::info!(clinic = %clinic, user = %user, "login");
    // A proven password gives back this name's login attempts: the limit is for guessing, and a
    // user running many commands in a minute logs in for each.
    state
        .login_limiter
        .succeeded(clinic.as_bytes(), &account.login, source.0, now);
    let token = URL_SAFE_NO_PAD.encode(token);
    if !is_web_client(&headers) {
        return Ok(axum::response::IntoResponse::into_response(axum::Json(
            LoggedIn {
                token,
                user,
                expires_at: session.expires_at,
            },
        )));
    }
    // The browser app: the token goes only into an HttpOnly cookie, out of reach of any script
    // on the page (an injected one included).
    let cookie = session_cookie(&token, lifetime, state.secure_transport)?;
    let mut response = axum::response::IntoResponse::into_response(axum::Json(LoggedIn {
        token: String::new(),
        user,
        expires_at: session.expires_at,
    }));
    response
        .headers_mut()
        .append(axum::http::header::SET_COOKIE, cookie);
    Ok(response)
}

/// The caller of an authenticated request: a live session of an active account, for the clinic
/// named in the path. The session's token comes from `Authorization: Bearer` (the CLI), or else
/// from the [`SESSION_COOKIE`] — counted only on a request that also carries
/// `x-vaiti-client: web`, which a cross-site page cannot add (see [`WEB_CLIENT_HEADER`]); a
/// cookie without it is refused with `401 csrf`.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The session.
    pub session: Session,
    /// The account.
    pub account: Account,
    /// Whether the account holds a live certificate (issued, not revoked, not expired). Until
    /// it does, it holds no role on the server (`policy`).
    pub certified: bool,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthenticated = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "log in again: the session is missing or has ended",
            )
        };
        let token = match parts.headers.get(axum::http::header::AUTHORIZATION) {
            Some(authorization) => authorization
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .and_then(|t| URL_SAFE_NO_PAD.decode(t.trim().as_bytes()).ok())
                .ok_or_else(unauthenticated)?,
            None => {
                let cookies = session_cookies(&parts.headers);
                let [cookie] = cookies.as_slice() else {
                    if cookies.is_empty() {
                        return Err(unauthenticated());
                    }
                    // Two session cookies: one was planted (by a sibling host, say). Which
                    // session this is cannot be told, so neither counts.
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthenticated",
                        "more than one session cookie was sent; log out and log in again",
                    ));
                };
                if !is_web_client(&parts.headers) {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "csrf",
                        "a session cookie counts only on requests from the vaiti web app (with the header x-vaiti-client: web); this request may come from another site and was refused",
                    ));
                }
                URL_SAFE_NO_PAD
                    .decode(cookie.as_bytes())
                    .map_err(|_| unauthenticated())?
            }
        };
        let hash: [u8; 32] = Sha256::digest(&token).into();
        let session = state
            .store
            .session(&hash, state.now())
            .await?
            .ok_or_else(unauthenticated)?;
        let Path(params) =
            Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::not_found())?;
        let path_clinic = params
            .get("clinic")
            .and_then(|c| c.parse::<ClinicId>().ok());
        if path_clinic != Some(session.clinic) {
            // A session works only for its own clinic; say nothing about the other one.
            return Err(ApiError::not_found());
        }
        let account = state
            .store
            .account(session.clinic, session.user)
            .await?
            .filter(|a| a.status == AccountStatus::Active)
            .ok_or_else(unauthenticated)?;
        let certified = crate::policy::is_certified(state, session.clinic, session.user).await?;
        Ok(Caller {
            session,
            account,
            certified,
        })
    }
}

/// Ends the caller's session.
///
/// From the browser app (`x-vaiti-client: web`) the answer also clears the session cookie — an
/// error answer too, so a dead session's cookie does not linger.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/logout",
    tag = "accounts",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session has ended.",
            headers(("Set-Cookie" = String, description = "With `x-vaiti-client: web` only: clears `vaiti_session` (`Max-Age=0`, same attributes as at login)."))),
        (status = 401, description = "`unauthenticated`: the session is missing or has ended; `csrf`: a session cookie without `x-vaiti-client: web`.", body = ErrorBody),
        (status = 404, description = "`not_found`: the session belongs to another clinic.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    caller: Result<Caller, ApiError>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let ended = match caller {
        Ok(caller) => state
            .store
            .delete_session(&caller.session.token_hash)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let mut response = match ended {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    };
    if is_web_client(&headers) {
        match session_cookie("", 0, state.secure_transport) {
            Ok(clear) => {
                response
                    .headers_mut()
                    .append(axum::http::header::SET_COOKIE, clear);
            }
            Err(e) => return e.into_response(),
        }
    }
    response
}

/// Starts a password change for the caller's own account: a login with the current password,
/// counted like any login start, and an OPAQUE registration for the new one. A session alone
/// (a stolen token, an unlocked device) cannot change the password.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/password/start",
    tag = "accounts",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    request_body = PasswordStart,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The OPAQUE login and registration responses, and the attempt's id.", body = PasswordChallenge),
        (status = 400, description = "`bad_request`: a malformed body, login or registration request.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session.", body = ErrorBody),
        (status = 404, description = "`not_found`: not the session's clinic.", body = ErrorBody),
        (status = 413, description = "`too_large`: the request body is too large.", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many login attempts from this address or for this account.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn password_start(
    State(state): State<AppState>,
    source: ClientSource,
    caller: Caller,
    Json(req): Json<PasswordStart>,
) -> Result<axum::Json<PasswordChallenge>, ApiError> {
    let clinic = caller.session.clinic;
    let user = caller.session.user;
    let login = CredentialRequest::<Suite>::deserialize(req.login.as_bytes())
        .map_err(|_| malformed("login request"))?;
    let registration = RegistrationRequest::<Suite>::deserialize(req.request.as_bytes())
        .map_err(|_| malformed("registration request"))?;
    let now = state.now();
    // Proving the current password is a guess at it like any login: counted the same way.
    if let Err(refusal) =
        state
            .login_limiter
            .check(clinic.as_bytes(), &caller.account.login, source.0, now)
    {
        tracing::debug!(clinic = %clinic, ?refusal, "password change refused by the rate limiter");
        crate::alerts::login_failed(&state, clinic).await;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many login attempts; wait a minute and try again",
        ));
    }
    let record = state
        .store
        .opaque_record(clinic, user)
        .await?
        .ok_or_else(|| ApiError::internal(format!("account {user} has no OPAQUE record")))?;
    let record = ServerRegistration::<Suite>::deserialize(&record)
        .map_err(|_| ApiError::internal(format!("corrupt OPAQUE record for {user}")))?;
    let cred_id = credential_id(clinic, user);
    let started = ServerLogin::start(
        &mut OsRng,
        &state.opaque,
        Some(record),
        login,
        &cred_id,
        ServerLoginParameters::default(),
    )
    .map_err(|_| malformed("login request"))?;
    let registered = ServerRegistration::<Suite>::start(&state.opaque, registration, &cred_id)
        .map_err(|_| malformed("registration request"))?;
    let mut id = [0u8; 16];
    getrandom::fill(&mut id)
        .map_err(|_| ApiError::internal("OS random number generator failed"))?;
    state
        .store
        .put_pending_login(&PendingLogin {
            id,
            clinic,
            user: Some(user),
            state: started.state.serialize().to_vec(),
            expires_at: now + PENDING_LOGIN_S,
        })
        .await?;
    Ok(axum::Json(PasswordChallenge {
        login_id: URL_SAFE_NO_PAD.encode(id),
        login_response: Sealed(started.message.serialize().to_vec()),
        response: Sealed(registered.message.serialize().to_vec()),
    }))
}

/// Finishes a password change: the current password proven by finishing the login of
/// `password/start`, then the new OPAQUE record and the re-wrapped Account Key, in one
/// transaction that also ends every session of the account. A failed proof is a failed login
/// (a leaf naming the account, counted for detection) and changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/clinics/{clinic}/password",
    tag = "accounts",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    request_body = ChangePassword,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed; every session of the account has ended."),
        (status = 400, description = "`bad_request`: a malformed body, login id, registration or key.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no live session; `login_failed`: the current password or Secret Key is wrong, or the attempt expired or is not this account's (nothing was changed).", body = ErrorBody),
        (status = 404, description = "`not_found`: not the session's clinic.", body = ErrorBody),
        (status = 413, description = "`too_large`: the request body is too large.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    source: ClientSource,
    caller: Caller,
    Json(req): Json<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    let clinic = caller.session.clinic;
    let user = caller.session.user;
    let size = req.wrapped_account_key.as_bytes().len();
    if size == 0 || size > 4096 {
        return Err(ApiError::bad_request(
            "the wrapped Account Key is missing or too large",
        ));
    }
    let upload = RegistrationUpload::<Suite>::deserialize(req.opaque_upload.as_bytes())
        .map_err(|_| malformed("OPAQUE registration"))?;
    let id: [u8; 16] = URL_SAFE_NO_PAD
        .decode(req.login_id.as_bytes())
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| malformed("login id"))?;
    let now = state.now();
    let pending = state
        .store
        .take_pending_login(clinic, &id, now)
        .await?
        .filter(|p| p.user == Some(user));
    let proven = pending.is_some_and(|pending| {
        ServerLogin::<Suite>::deserialize(&pending.state)
            .ok()
            .zip(CredentialFinalization::<Suite>::deserialize(req.finalization.as_bytes()).ok())
            .and_then(|(server_login, f)| {
                server_login
                    .finish(f, ServerLoginParameters::default())
                    .ok()
            })
            .is_some()
    });
    if !proven {
        crate::access_log::apply_logged(
            &state,
            clinic,
            Vec::new(),
            crate::access_log::Entry::new(
                vaiti_log::Action::LoginFailed,
                vaiti_log::Purpose::None,
                Some(user),
            ),
        )
        .await?;
        crate::alerts::login_failed(&state, clinic).await;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "login_failed",
            "the current password or Secret Key is wrong; nothing was changed",
        ));
    }
    state
        .login_limiter
        .succeeded(clinic.as_bytes(), &caller.account.login, source.0, now);
    let record = ServerRegistration::<Suite>::finish(upload)
        .serialize()
        .to_vec();
    crate::access_log::apply_logged(
        &state,
        clinic,
        vec![Write::UpdateCredentials {
            clinic,
            user,
            opaque_record: record,
            wrapped_account_key: req.wrapped_account_key,
        }],
        crate::access_log::Entry::new(
            vaiti_log::Action::DirectoryChange,
            vaiti_log::Purpose::None,
            Some(user),
        )
        .object(*user.as_bytes()),
    )
    .await?;
    tracing::info!(clinic = %clinic, user = %user, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account, sealed keys, certificates and the clinic manifest.
#[utoipa::path(
    get,
    path = "/api/v1/clinics/{clinic}/me",
    tag = "accounts",
    params(("clinic" = ClinicId, Path, description = "The clinic.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account, sealed keys, certificates and the clinic manifest.", body = Me),
        (status = 401, description = "`unauthenticated`: the session is missing or has ended.", body = ErrorBody),
        (status = 404, description = "`not_found`: the session belongs to another clinic.", body = ErrorBody),
        (status = 500, description = "`internal`: the server could not complete the request.", body = ErrorBody),
    )
)]
pub(crate) async fn me(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Me>, ApiError> {
    let clinic = caller.session.clinic;
    let user = caller.session.user;
    let keys = state
        .store
        .account_keys(clinic, user)
        .await?
        .ok_or_else(|| ApiError::internal(format!("account {user} has no keys")))?;
    let certificates = state
        .store
        .certificates(clinic)
        .await?
        .into_iter()
        .filter(|c| c.user == user)
        .collect();
    let clinic_row = state
        .store
        .clinic(clinic)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(Me {
        account: caller.account,
        keys,
        certificates,
        clinic: clinic_row,
    }))
}
