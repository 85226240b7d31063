//! Makes every error answer problem+json, including the ones actix produces
//! itself (malformed JSON, oversized bodies, unknown routes, wrong methods).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, HttpRequest, ResponseError};

use crate::error::{
    ApiError, ProblemType, INTERNAL, MALFORMED_REQUEST, METHOD_NOT_ALLOWED, NOT_FOUND, PAYLOAD_TOO_LARGE,
    PROBLEM_JSON, UNSUPPORTED_MEDIA_TYPE,
};

/// The largest JSON body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// JSON bodies: 413 over the limit, 400 when not JSON, 422 when JSON of the wrong shape.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(|err, _req: &HttpRequest| json_error(&err).into())
}

fn json_error(err: &JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::new(PAYLOAD_TOO_LARGE, format!("the body is larger than {} KiB", MAX_BODY_BYTES / 1024))
        }
        JsonPayloadError::ContentType => {
            ApiError::new(UNSUPPORTED_MEDIA_TYPE, "send the body as application/json")
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::invalid_field(field_of(&e.to_string()), e.to_string())
        }
        JsonPayloadError::Deserialize(e) => ApiError::bad_request(format!("malformed JSON: {e}")),
        other => ApiError::bad_request(format!("cannot read the body: {other}")),
    }
}

/// serde names the field in "missing field `x`" (and unknown/duplicate); other
/// data errors name no field, so they are reported on "body".
fn field_of(message: &str) -> &str {
    ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next())
        .unwrap_or("body")
}

/// Query strings of the wrong shape are 422.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req| {
        ApiError::invalid_field("query", err.to_string()).into()
    })
}

/// A path segment that does not parse names nothing that exists: 404.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_err: PathError, _req| ApiError::not_found("resource").into())
}

/// Rewrites any error response that is not already problem+json
/// (actix's 404 and 405, panics turned 500, …) into one.
pub fn problem_responses<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(|res: ServiceResponse<B>| {
        let is_problem = res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
        if is_problem {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        let status = res.status();
        let error = match status {
            StatusCode::NOT_FOUND => ApiError::new(NOT_FOUND, "no such resource"),
            StatusCode::METHOD_NOT_ALLOWED => {
                ApiError::new(METHOD_NOT_ALLOWED, "this method is not allowed on this resource")
            }
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(PAYLOAD_TOO_LARGE, "the request is too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ApiError::new(UNSUPPORTED_MEDIA_TYPE, "unsupported body type")
            }
            // The status stays what the framework chose; the code says what kind it is.
            s if s.is_server_error() => {
                ApiError::new(ProblemType { status: s.as_u16(), ..INTERNAL }, "an unexpected error occurred")
            }
            s => ApiError::new(
                ProblemType { status: s.as_u16(), ..MALFORMED_REQUEST },
                s.canonical_reason().unwrap_or("bad request").to_lowercase(),
            ),
        };
        let (req, mut original) = res.into_parts();
        let mut response = error.error_response();
        // Keep headers such as Allow and Retry-After from the original answer.
        for (name, value) in original.headers_mut().drain().filter_map(|(n, v)| n.map(|n| (n, v))) {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                response.headers_mut().insert(name, value);
            }
        }
        let res = ServiceResponse::new(req, response.map_body(|_, b| BoxBody::new(b)));
        Ok(ErrorHandlerResponse::Response(res.map_into_right_body()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_from_serde_messages() {
        assert_eq!(field_of("missing field `email` at line 1 column 2"), "email");
        assert_eq!(field_of("invalid type: string \"x\", expected u32"), "body");
        assert_eq!(field_of("invalid type: integer `42`, expected a string"), "body");
    }
}
