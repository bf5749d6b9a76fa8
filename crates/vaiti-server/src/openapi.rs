//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and the API
//! types of `vaiti-core`. A copy is committed as `docs/openapi.json`; `tests/openapi.rs` fails
//! when the two drift apart.

use utoipa::OpenApi as _;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};

use crate::auth::{self, CLINIC_CREATION_HEADER, SESSION_COOKIE};
use crate::error::{ErrorBody, ErrorDetail};
use crate::{access_log, alerts, charts, directory, invites, release, reports, witness};

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        crate::health,
        crate::openapi_json,
        auth::register_start,
        auth::create_clinic,
        auth::login_start,
        auth::login_finish,
        auth::logout,
        auth::me,
        auth::password_start,
        auth::change_password,
        directory::directory,
        directory::my_wraps,
        directory::create_branch,
        directory::renew_certificate,
        directory::update_manifest,
        invites::create_invite,
        invites::list_invites,
        invites::lookup_invite,
        invites::signup,
        invites::complete_invite,
        invites::revoke_invite,
        charts::create_chart,
        charts::list_charts,
        release::release,
        release::chart_access_log,
        release::chart_access_log_page,
        release::leaves,
        reports::file_report,
        reports::list_reports,
        charts::append_state,
        charts::put_wraps,
        charts::put_record,
        charts::object_location,
        access_log::checkpoint,
        access_log::inclusion,
        access_log::consistency,
        witness::witness_checkpoint,
        witness::submit_cosignature,
        alerts::list_alerts,
        alerts::acknowledge_alert,
        alerts::register_decoy,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&SecuritySchemes, &CommonErrors),
    tags(
        (name = "server", description = "Health and this document."),
        (name = "accounts", description = "OPAQUE registration and login, sessions."),
        (name = "clinics", description = "Clinic creation (operator only)."),
        (name = "directory", description = "The signed manifest, certificates, key wraps and branches."),
        (name = "invites", description = "Staff and patient invites, sign-up and completing a join."),
        (name = "charts", description = "Charts, their signed state, key wraps, identity records and notes."),
        (name = "log", description = "The clinic's access log: signed checkpoints and proofs."),
        (name = "detection", description = "Alerts and decoy charts (admins and auditors)."),
    )
)]
struct ApiDoc;

/// Adds the ways a request proves who sent it: a session as a bearer token (the CLI) or as the
/// browser app's cookie, and the operator's clinic-creation token.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token from login/finish (32 bytes, base64url without padding).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The browser app's session, set by login/finish when the request carries \
                 `x-vaiti-client: web`. It counts only on requests that also carry \
                 `x-vaiti-client: web` (a cross-site page cannot add that header without a CORS \
                 preflight, which this server never grants); without it the answer is 401 `csrf`.",
            ))),
        );
        // Wherever a bearer session is accepted, the cookie session is too (the same extractor):
        // one alternative requirement per operation, added here so no handler can forget it.
        let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
        let cookie = SecurityRequirement::new("session_cookie", Vec::<String>::new());
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                if let Some(security) = operation.security.as_mut()
                    && security.contains(&bearer)
                    && !security.contains(&cookie)
                {
                    security.push(cookie.clone());
                }
            }
        }
        components.add_security_scheme(
            "clinic_creation_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                CLINIC_CREATION_HEADER,
                "The operator's clinic-creation token, found in the server's data directory.",
            ))),
        );
    }
}

/// Adds the error answers every operation can give because of how requests are read, where a
/// handler's own list leaves them out: 400 `bad_request` wherever a path, query or body is
/// parsed (a malformed id, query string or JSON body), and 413 `too_large` wherever a body is
/// read. One place, so no handler can forget them.
struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let has_body = operation.request_body.is_some();
                let responses = &mut operation.responses.responses;
                if has_parameters || has_body {
                    responses.entry("400".to_owned()).or_insert_with(|| {
                        error("`bad_request`: a malformed id in the path, query string or body.")
                            .into()
                    });
                }
                if has_body {
                    responses.entry("413".to_owned()).or_insert_with(|| {
                        error("`too_large`: the request body is too large.").into()
                    });
                }
            }
        }
    }
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.title = "vaiti API".to_owned();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}
