//! One error type for every HTTP answer that is not a success: RFC 9457
//! problem details. The server-side cause of an internal error is logged in
//! the request's span, never sent: the client sees a generic detail, and the
//! `X-Request-Id` header of the answer finds the log lines.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};

pub const PROBLEM_JSON: &str = "application/problem+json";
const PROBLEM_BASE: &str = "https://shop.example/problems/";

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URL whose last path segment is a stable code, e.g. `…/problems/insufficient_stock`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// The stable code at the end of `type`.
    pub fn code(&self) -> &str {
        self.problem_type.rsplit('/').next().unwrap_or_default()
    }
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: Cow<'static, str>,
    detail: String,
    errors: Vec<FieldError>,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> Self {
        Self { status, code: code.into(), detail: detail.into(), errors: Vec::new(), retry_after_secs: None }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_request", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn conflict(code: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 422 with one entry per invalid field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "the request has invalid fields",
        );
        e.errors = errors;
        e
    }

    /// 422 for one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError { field: field.to_owned(), message: message.into() }])
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many attempts; try again later",
        );
        e.retry_after_secs = Some(retry_after_secs.max(1));
        e
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", detail)
    }

    /// Logs `cause` with the request's span and answers a generic 500.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "an unexpected error occurred")
    }

    /// Attaches per-field (or per-item) details.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("{PROBLEM_BASE}{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl From<Problem> for ApiError {
    /// Rebuilds an error received from another service, so it passes through unchanged.
    fn from(p: Problem) -> Self {
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_GATEWAY);
        let mut e = Self::new(status, p.code().to_owned(), p.detail);
        e.errors = p.errors;
        e
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut fields: Vec<FieldError> = errors
            .field_errors()
            .into_iter()
            .flat_map(|(field, errs)| {
                errs.iter().map(move |e| FieldError {
                    field: field.to_string(),
                    message: e
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| format!("invalid ({})", e.code)),
                })
            })
            .collect();
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        Self::validation(fields)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        builder.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if let Some(secs) = self.retry_after_secs {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        builder.json(self.problem())
    }
}

/// OpenAPI responses that many endpoints share, described once.
pub mod responses {
    use super::Problem;

    /// Missing, malformed, expired or forged access token.
    #[derive(utoipa::ToResponse)]
    #[response(description = "Missing or bad access token", content_type = "application/problem+json")]
    pub struct Unauthorized(pub Problem);

    /// The caller is authenticated but lacks the admin role.
    #[derive(utoipa::ToResponse)]
    #[response(description = "Not an admin", content_type = "application/problem+json")]
    pub struct Forbidden(pub Problem);
}

/// Validates a request body with `validator` and maps failures to 422.
pub fn validate<T: validator::Validate>(value: &T) -> Result<(), ApiError> {
    value.validate().map_err(ApiError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn internal_errors_hide_their_cause() {
        let err = ApiError::internal("SELECT * FROM secrets failed: password=hunter2");
        let res = err.error_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().ok()),
            Some(Some(PROBLEM_JSON))
        );
        let body = to_bytes(res.into_body()).await.expect("body");
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("hunter2") && !text.contains("SELECT"), "{text}");
        let problem: Problem = serde_json::from_slice(&body).expect("problem json");
        assert_eq!(problem.code(), "internal");
        assert_eq!(problem.status, 500);
    }

    #[actix_web::test]
    async fn too_many_requests_carries_retry_after() {
        let res = ApiError::too_many_requests(30).error_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("30"));
    }

    #[test]
    fn a_problem_round_trips_through_another_service() {
        let original = ApiError::conflict("insufficient_stock", "2 lines cannot be served");
        let rebuilt = ApiError::from(original.problem());
        assert_eq!(rebuilt.status(), StatusCode::CONFLICT);
        assert_eq!(rebuilt.code(), "insufficient_stock");
    }
}
