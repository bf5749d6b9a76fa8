//! The one error type of the API, and its JSON shape: `{ "error": { "code", "message" } }`.
//!
//! The message is for the user and never says whether another user's record exists; the detail
//! for the operator goes to the log, and carries ids, never content.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The body of every error answer: `{ "error": { "code", "message" } }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The inside of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A machine-readable code: `bad_request`, `unauthenticated`, `csrf` (a session cookie
    /// without the `x-vaiti-client: web` header), `login_failed`, `forbidden`, `not_found`,
    /// `conflict`, `too_large`, `rate_limited` or `internal`.
    pub code: String,
    /// A message for the user. It never says whether another user's record exists.
    pub message: String,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// For the server log only.
    detail: Option<String>,
}

impl ApiError {
    /// A new error with a user-facing message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            detail: None,
        }
    }

    /// Adds a detail for the log (never shown to the client).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 — also used for things that exist but the caller may not see, so that existence does
    /// not leak.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "not found")
    }

    /// 500, with the cause logged.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete the request",
        )
        .with_detail(detail)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The log detail if there is one, else the user-facing message: for errors that end up in
    /// the operator's hands rather than a client's (start-up work).
    pub(crate) fn describe(&self) -> String {
        self.detail.clone().unwrap_or_else(|| self.message.clone())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(detail) = &self.detail {
            tracing::warn!(code = self.code, status = self.status.as_u16(), detail = %detail, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<vaiti_store::StoreError> for ApiError {
    fn from(e: vaiti_store::StoreError) -> Self {
        match e {
            vaiti_store::StoreError::Conflict(why) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the request conflicts with the current state",
            )
            .with_detail(why),
            vaiti_store::StoreError::NotFound(_) => ApiError::not_found(),
            other => ApiError::internal(other.to_string()),
        }
    }
}
