//! A JSON extractor whose rejections use the API's error shape instead of axum's plain text.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};

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
            Err(JsonRejection::BytesRejection(_)) => Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the request body is too large",
            )),
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
