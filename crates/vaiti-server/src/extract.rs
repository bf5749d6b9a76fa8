//! Extractors whose rejections use the API's error shape instead of axum's plain text: a JSON
//! body, path parameters and a query string. Every handler takes its input through these, so a
//! malformed request always gets `{ "error": { "code": "bad_request", … } }`.
//!
//! Also the typed query values whose bounds the OpenAPI document states exactly: [`Position`]
//! (an index or size in a list or the log, at most `i64::MAX`, what both stores can hold) and
//! [`Limit`] (a page size from 1 to a hard maximum).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::IntoResponse as _;
use serde::de::DeserializeOwned;
use vaiti_core::api::MAX_POSITION;

use crate::error::ApiError;

/// Like `axum::Json`, but a malformed, oversized or mistyped body becomes an [`ApiError`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(JsonRejection::BytesRejection(_)) => Err(too_large()),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::bad_request(
                "the request body must be JSON (Content-Type: application/json)",
            )),
            Err(other) => Err(ApiError::bad_request(format!(
                "malformed request body: {}",
                other.body_text()
            ))),
        }
    }
}

/// 413 `too_large`, the answer to any body over its route's limit.
pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "the request body is too large",
    )
}

/// Like `axum::extract::Path`, but an id that does not parse (not 32 lowercase hex characters,
/// say) is a 400 `bad_request` in the API's shape.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            // A route whose handler asks for parameters it does not have is the server's fault.
            Err(rejection) if rejection.status().is_server_error() => {
                Err(ApiError::internal(rejection.body_text()))
            }
            Err(rejection) => Err(ApiError::bad_request(format!(
                "malformed path: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// Like `axum::extract::Query`, but a malformed, missing or out-of-range parameter is a 400
/// `bad_request` in the API's shape.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(ApiError::bad_request(format!(
                "malformed query string: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// Turns the body-limit layer's plain-text 413 into the API's JSON shape. (Bodies read through
/// [`Json`] already get it; this catches a `Content-Length` refused before any handler runs.)
pub(crate) async fn json_too_large(response: axum::response::Response) -> axum::response::Response {
    let plain = response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE
        && response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_none_or(|t| !t.as_bytes().starts_with(b"application/json"));
    if plain {
        too_large().into_response()
    } else {
        response
    }
}

/// An index or size in a list or in the access log, from 0 to [`MAX_POSITION`]. Anything else
/// in a query string is a 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(try_from = "u64")]
pub(crate) struct Position(u64);

impl Position {
    /// The value.
    pub(crate) fn get(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for Position {
    type Error = String;

    fn try_from(n: u64) -> Result<Self, Self::Error> {
        if n > MAX_POSITION {
            return Err(format!("a position is at most {MAX_POSITION}"));
        }
        Ok(Position(n))
    }
}

/// A page size from 1 to `MAX`. Anything else in a query string is a 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "u32")]
pub(crate) struct Limit<const MAX: u32>(u32);

impl<const MAX: u32> Limit<MAX> {
    /// The value.
    pub(crate) fn get(self) -> u32 {
        self.0
    }
}

impl<const MAX: u32> TryFrom<u32> for Limit<MAX> {
    type Error = String;

    fn try_from(n: u32) -> Result<Self, Self::Error> {
        if n == 0 || n > MAX {
            return Err(format!("a limit is from 1 to {MAX}"));
        }
        Ok(Limit(n))
    }
}
