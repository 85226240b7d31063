//! One error type for every HTTP answer that is not a success: RFC 9457
//! problem details. Constructors only describe the problem; the answer logs
//! it once, with its cause chain, when it is a server-side failure (5xx). The
//! cause of an internal error is never sent: the client sees a generic
//! detail, and the `X-Request-Id` of the answer finds the log line.

mod contract;
mod problems;

use std::borrow::Cow;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use contract::ContractError;
pub use problems::*;

/// The shared variants' answers, for contract crates' `From<…Error> for ApiError`.
pub mod shared {
    pub use super::contract::{internal, invalid, unavailable};
}

pub const PROBLEM_JSON: &str = "application/problem+json";
const PROBLEM_BASE: &str = "https://shop.example/problems/";

/// The cause of a failure, for the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// The body of every error response. Problem types that carry data put it in
/// extension members (RFC 9457 §3.2), e.g. `shortfalls` on `insufficient_stock`.
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
    #[serde(flatten)]
    #[schema(ignore)]
    pub extensions: Map<String, Value>,
}

impl Problem {
    /// The stable code at the end of `type`.
    pub fn code(&self) -> &str {
        self.problem_type.rsplit('/').next().unwrap_or_default()
    }

    /// Whether this problem is of `kind`.
    pub fn is(&self, kind: &ProblemType) -> bool {
        self.code() == kind.code && self.status == kind.status
    }

    /// A typed extension member.
    pub fn extension<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        serde_json::from_value(self.extensions.get(name)?.clone()).ok()
    }
}

/// Boxed so that `Result<T, ApiError>` stays one pointer wide on the happy path.
pub struct ApiError(Box<Details>);

struct Details {
    status: StatusCode,
    code: Cow<'static, str>,
    detail: String,
    errors: Vec<FieldError>,
    extensions: Map<String, Value>,
    retry_after_secs: Option<u64>,
    cause: Option<Cause>,
}

impl ApiError {
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self(Box::new(Details {
            status: kind.status_code(),
            code: Cow::Borrowed(kind.code),
            detail: detail.into(),
            errors: Vec::new(),
            extensions: Map::new(),
            retry_after_secs: None,
            cause: None,
        }))
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(MALFORMED_REQUEST, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(UNAUTHORIZED, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(FORBIDDEN, detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(NOT_FOUND, format!("{what} not found"))
    }

    /// 422 with one entry per invalid field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self::new(VALIDATION_FAILED, "the request has invalid fields").with_errors(errors)
    }

    /// 422 for one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut e = Self::new(TOO_MANY_REQUESTS, "too many attempts; try again later");
        e.0.retry_after_secs = Some(retry_after_secs.max(1));
        e
    }

    /// 503: a database or another module is unavailable; `cause` goes to the log.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(SERVICE_UNAVAILABLE, detail)
    }

    /// 500 with a generic detail; `cause` goes to the log when it is answered.
    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::new(INTERNAL, "an unexpected error occurred").caused_by(cause)
    }

    /// Keeps the server-side reason, logged with the answer, never sent.
    pub fn caused_by(mut self, cause: impl Into<Cause>) -> Self {
        self.0.cause = Some(cause.into());
        self
    }

    /// Attaches per-field (or per-item) details.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.0.errors = errors;
        self
    }

    /// Adds a typed extension member to the problem.
    pub fn with_extension(mut self, name: &str, value: impl Serialize) -> Self {
        if let Ok(value) = serde_json::to_value(value) {
            self.0.extensions.insert(name.to_owned(), value);
        }
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.0.retry_after_secs = Some(secs.max(1));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    pub fn is(&self, kind: &ProblemType) -> bool {
        self.0.code == kind.code && self.0.status.as_u16() == kind.status
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.0.errors
    }

    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("{PROBLEM_BASE}{}", self.0.code),
            title: self.0.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.0.status.as_u16(),
            detail: self.0.detail.clone(),
            errors: self.0.errors.clone(),
            extensions: self.0.extensions.clone(),
        }
    }

    /// Logs a server-side failure with its cause chain (once: where it is answered).
    fn log(&self) {
        if !self.0.status.is_server_error() {
            return;
        }
        let cause = self.0.cause.as_deref().map(|c| chain(c)).unwrap_or_default();
        if self.0.status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(code = %self.0.code, detail = %self.0.detail, cause = %cause, "internal error");
        } else {
            tracing::warn!(status = self.0.status.as_u16(), code = %self.0.code, detail = %self.0.detail, cause = %cause, "unavailable");
        }
    }
}

/// `error: its source: its source …`
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        text.push_str(": ");
        text.push_str(&next.to_string());
        source = next.source();
    }
    text
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.0.status.as_u16())
            .field("code", &self.0.code)
            .field("detail", &self.0.detail)
            .field("errors", &self.0.errors)
            .field("cause", &self.0.cause.as_deref().map(|c| chain(c)))
            .finish()
    }
}

impl From<Problem> for ApiError {
    /// Rebuilds an error received from another service, so it passes through unchanged.
    fn from(p: Problem) -> Self {
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_GATEWAY);
        let code = p.code().to_owned();
        Self(Box::new(Details {
            status,
            code: Cow::Owned(code),
            detail: p.detail,
            errors: p.errors,
            extensions: p.extensions,
            retry_after_secs: None,
            cause: None,
        }))
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
        write!(f, "{} {}: {}", self.0.status.as_u16(), self.0.code, self.0.detail)?;
        if let Some(cause) = &self.0.cause {
            write!(f, " ({})", chain(cause.as_ref()))?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.cause.as_deref().map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let mut builder = HttpResponse::build(self.0.status);
        builder.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if let Some(secs) = self.0.retry_after_secs {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        builder.json(self.problem())
    }
}

/// OpenAPI responses that many endpoints share, described once.
pub mod responses {
    use super::Problem;

    /// Malformed JSON.
    #[derive(utoipa::ToResponse)]
    #[response(description = "Malformed JSON", content_type = "application/problem+json")]
    pub struct BadRequest(pub Problem);

    /// Missing, malformed, expired or forged access token.
    #[derive(utoipa::ToResponse)]
    #[response(description = "Missing or bad access token", content_type = "application/problem+json")]
    pub struct Unauthorized(pub Problem);

    /// The caller is authenticated but lacks the admin role.
    #[derive(utoipa::ToResponse)]
    #[response(description = "Not an admin", content_type = "application/problem+json")]
    pub struct Forbidden(pub Problem);

    /// No such resource (or not the caller's).
    #[derive(utoipa::ToResponse)]
    #[response(description = "No such resource of the caller", content_type = "application/problem+json")]
    pub struct NotFound(pub Problem);

    /// The resource's state does not allow the request; `type` says why.
    #[derive(utoipa::ToResponse)]
    #[response(description = "Conflict with the resource's state", content_type = "application/problem+json")]
    pub struct Conflict(pub Problem);

    /// A body over 256 KiB.
    #[derive(utoipa::ToResponse)]
    #[response(description = "Body larger than 256 KiB", content_type = "application/problem+json")]
    pub struct PayloadTooLarge(pub Problem);

    /// A body that is not `application/json`.
    #[derive(utoipa::ToResponse)]
    #[response(description = "Body is not application/json", content_type = "application/problem+json")]
    pub struct UnsupportedMediaType(pub Problem);

    /// Invalid fields, listed in `errors`.
    #[derive(utoipa::ToResponse)]
    #[response(description = "Invalid fields, listed in errors", content_type = "application/problem+json")]
    pub struct Invalid(pub Problem);

    /// Too many attempts; `Retry-After` says when to try again.
    #[derive(utoipa::ToResponse)]
    #[response(description = "Too many attempts; see Retry-After", content_type = "application/problem+json")]
    pub struct TooManyRequests(pub Problem);

    /// A database or another module is unavailable; retrying later is safe.
    #[derive(utoipa::ToResponse)]
    #[response(
        description = "A dependency is unavailable; retry later",
        content_type = "application/problem+json"
    )]
    pub struct Unavailable(pub Problem);
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
        assert!(problem.is(&INTERNAL));
    }

    #[actix_web::test]
    async fn too_many_requests_carries_retry_after() {
        let res = ApiError::too_many_requests(30).error_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("30"));
    }

    #[test]
    fn a_problem_round_trips_through_another_service() {
        let kind = ProblemType::new("insufficient_stock", 409);
        let original = ApiError::new(kind, "2 lines cannot be served").with_extension("lines", 2);
        let rebuilt = ApiError::from(original.problem());
        assert!(rebuilt.is(&kind));
        assert_eq!(rebuilt.problem().extension::<u32>("lines"), Some(2));
    }
}
