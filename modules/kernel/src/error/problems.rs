//! Problem types: each a stable code (the last segment of a problem's `type`
//! URL, which clients match on) with its HTTP status. The kernel's own are
//! here; each contract crate declares its module's in its `PROBLEMS`, and the
//! composition root gathers them all into one registry (`docs/api.md` lists
//! it, and a test holds the two together).

use actix_web::http::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemType {
    pub code: &'static str,
    pub status: u16,
}

impl ProblemType {
    pub const fn new(code: &'static str, status: u16) -> Self {
        Self { code, status }
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

pub const MALFORMED_REQUEST: ProblemType = ProblemType::new("malformed_request", 400);
pub const UNAUTHORIZED: ProblemType = ProblemType::new("unauthorized", 401);
pub const FORBIDDEN: ProblemType = ProblemType::new("forbidden", 403);
pub const NOT_FOUND: ProblemType = ProblemType::new("not_found", 404);
pub const METHOD_NOT_ALLOWED: ProblemType = ProblemType::new("method_not_allowed", 405);
pub const REQUEST_IN_PROGRESS: ProblemType = ProblemType::new("request_in_progress", 409);
pub const PAYLOAD_TOO_LARGE: ProblemType = ProblemType::new("payload_too_large", 413);
pub const UNSUPPORTED_MEDIA_TYPE: ProblemType = ProblemType::new("unsupported_media_type", 415);
pub const VALIDATION_FAILED: ProblemType = ProblemType::new("validation_failed", 422);
/// An `Idempotency-Key` (or a charge's key) sent again with another request.
pub const IDEMPOTENCY_KEY_REUSED: ProblemType = ProblemType::new("idempotency_key_reused", 422);
pub const TOO_MANY_REQUESTS: ProblemType = ProblemType::new("too_many_requests", 429);
pub const INTERNAL: ProblemType = ProblemType::new("internal", 500);
pub const SERVICE_UNAVAILABLE: ProblemType = ProblemType::new("service_unavailable", 503);
/// Answered by the gateway, never by shop itself.
pub const GATEWAY_TIMEOUT: ProblemType = ProblemType::new("gateway_timeout", 504);

/// The problems any module may answer.
pub const PROBLEMS: &[ProblemType] = &[
    MALFORMED_REQUEST,
    UNAUTHORIZED,
    FORBIDDEN,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    REQUEST_IN_PROGRESS,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION_FAILED,
    IDEMPOTENCY_KEY_REUSED,
    TOO_MANY_REQUESTS,
    INTERNAL,
    SERVICE_UNAVAILABLE,
    GATEWAY_TIMEOUT,
];
